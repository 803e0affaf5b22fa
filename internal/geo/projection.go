package geo

import (
	"math"
	"strconv"
)

// ViewWidth is the width of the whole country in SVG user units.
const ViewWidth = 1000.0

// maxMercatorLat is where Web Mercator stops (85.0511°).
var maxMercatorLat = math.Atan(math.Sinh(math.Pi)) * 180 / math.Pi

// Projection maps WGS 84 positions to SVG user units with Web Mercator
// (EPSG:3857, the projection of web map tiles), scaled and shifted:
//
//	mx = (lon + 180) / 360                       // 0..1, west to east
//	my = (1 - asinh(tan(lat·π/180)) / π) / 2     // 0..1, north to south
//	x  = mx·Scale - X0
//	y  = my·Scale - Y0
//
// For the Map's projection, x runs from 0 to Width (= ViewWidth) and y from
// 0 to Height over the country's box. The zero Projection is unusable.
type Projection struct {
	Scale, X0, Y0 float64
	// Width and Height are the size of the whole map in SVG units.
	Width, Height float64
}

func newProjection(b Bounds) Projection {
	scale := ViewWidth / (mercX(b.MaxLon) - mercX(b.MinLon))
	p := Projection{Scale: scale, X0: mercX(b.MinLon) * scale, Y0: mercY(b.MaxLat) * scale, Width: ViewWidth}
	_, p.Height = p.Project(Point{Lat: b.MinLat, Lon: b.MinLon})
	return p
}

func mercX(lon float64) float64 { return (lon + 180) / 360 }

func mercY(lat float64) float64 {
	lat = max(-maxMercatorLat, min(maxMercatorLat, lat))
	return (1 - math.Asinh(math.Tan(lat*math.Pi/180))/math.Pi) / 2
}

// Project returns the SVG coordinates of pt. Latitudes beyond ±85.0511°
// are clamped to it.
func (p Projection) Project(pt Point) (x, y float64) {
	return mercX(pt.Lon)*p.Scale - p.X0, mercY(pt.Lat)*p.Scale - p.Y0
}

// Unproject is the inverse of Project.
func (p Projection) Unproject(x, y float64) Point {
	mx, my := (x+p.X0)/p.Scale, (y+p.Y0)/p.Scale
	return Point{
		Lat: math.Atan(math.Sinh(math.Pi*(1-2*my))) * 180 / math.Pi,
		Lon: mx*360 - 180,
	}
}

// ViewBox returns the SVG rectangle (left, top, width, height) that shows
// the box b.
func (p Projection) ViewBox(b Bounds) (x, y, w, h float64) {
	x0, y0 := p.Project(Point{Lat: b.MaxLat, Lon: b.MinLon})
	x1, y1 := p.Project(Point{Lat: b.MinLat, Lon: b.MaxLon})
	return x0, y0, x1 - x0, y1 - y0
}

// Bounds returns the box that the SVG rectangle (x, y, w, h) shows; it is
// the inverse of ViewBox.
func (p Projection) Bounds(x, y, w, h float64) Bounds {
	nw, se := p.Unproject(x, y), p.Unproject(x+w, y+h)
	return Bounds{MinLat: se.Lat, MinLon: nw.Lon, MaxLat: nw.Lat, MaxLon: se.Lon}
}

// Zoom returns the box shown at a zoom level around center: level 0 is the
// whole map (whatever the center), and each level halves the width and
// height, keeping the map's proportions. Levels are clamped to 0..16; the
// box is moved, not cut, to stay within the map where it can.
func (p Projection) Zoom(center Point, level int) Bounds {
	level = max(0, min(16, level))
	w, h := p.Width/float64(uint(1)<<level), p.Height/float64(uint(1)<<level)
	cx, cy := p.Project(center)
	x := max(0, min(p.Width-w, cx-w/2))
	y := max(0, min(p.Height-h, cy-h/2))
	return p.Bounds(x, y, w, h)
}

// Tile is one web map tile (XYZ scheme, 256 pixels square, Web Mercator)
// and where it lies in SVG units.
type Tile struct {
	Z, X, Y int
	// Left, Top and Size place the tile in SVG units.
	Left, Top, Size float64
}

// maxTiles bounds the tiles of one view.
const maxTiles = 64

// Tiles returns the tiles that cover the box b when it is rendered widthPx
// pixels wide, at the zoom whose tile pixels are closest to screen pixels
// (at most 64 tiles, zooms 0 to 19).
func (p Projection) Tiles(b Bounds, widthPx float64) []Tile {
	x, y, w, h := p.ViewBox(b)
	if !(w > 0 && h > 0 && widthPx > 0) {
		return nil
	}
	// Screen pixels per unit of mx are widthPx/w·Scale; a zoom-z world is
	// 256·2^z pixels across.
	z := int(math.Round(math.Log2(widthPx / w * p.Scale / 256)))
	z = max(0, min(19, z))
	for ; ; z-- {
		n := float64(int(1) << z)
		size := p.Scale / n
		tx0, tx1 := math.Floor((x+p.X0)/size), math.Ceil((x+w+p.X0)/size)
		ty0, ty1 := math.Floor((y+p.Y0)/size), math.Ceil((y+h+p.Y0)/size)
		tx0, ty0 = max(0, tx0), max(0, ty0)
		tx1, ty1 = min(n, tx1), min(n, ty1)
		if (tx1-tx0)*(ty1-ty0) > maxTiles && z > 0 {
			continue
		}
		var ts []Tile
		for ty := ty0; ty < ty1; ty++ {
			for tx := tx0; tx < tx1; tx++ {
				ts = append(ts, Tile{Z: z, X: int(tx), Y: int(ty), Left: tx*size - p.X0, Top: ty*size - p.Y0, Size: size})
			}
		}
		return ts
	}
}

// path returns SVG path data for rings: coordinates rounded to 0.1 unit,
// the first of each ring absolute, the others relative to the previous
// rounded position (so rounding errors do not add up).
func (p Projection) path(rings []Ring) string {
	var b []byte
	for _, r := range rings {
		var px, py int64
		n := 0
		for i, pt := range r[:len(r)-1] { // the closing position is Z
			x, y := p.Project(pt)
			ix, iy := int64(math.Round(x*10)), int64(math.Round(y*10))
			switch {
			case i == 0:
				b = append(b, 'M')
				b = appendTenths(b, ix)
				b = appendSigned(b, iy)
			case ix == px && iy == py:
				continue
			default:
				if n == 1 {
					b = append(b, 'l')
					b = appendTenths(b, ix-px)
				} else {
					b = appendSigned(b, ix-px)
				}
				b = appendSigned(b, iy-py)
			}
			px, py = ix, iy
			n++
		}
		b = append(b, 'z')
	}
	return string(b)
}

// appendSigned appends v tenths with a separator: a space before a
// non-negative number, the minus sign otherwise.
func appendSigned(b []byte, v int64) []byte {
	if v >= 0 {
		b = append(b, ' ')
	}
	return appendTenths(b, v)
}

// appendTenths appends v/10 in the shortest decimal form ("12.3", "-0.5",
// "7").
func appendTenths(b []byte, v int64) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	b = strconv.AppendInt(b, v/10, 10)
	if f := v % 10; f != 0 {
		b = append(b, '.', byte('0'+f))
	}
	return b
}
