// Package geo draws Ukraine's map without a tile server: the boundaries of
// its 27 first-level units (24 oblasts, the Autonomous Republic of Crimea
// and the cities of Kyiv and Sevastopol) ship inside the binary, and the
// package renders them as an inline SVG with markers for sites and
// incidents, clustered on a grid when they are dense.
//
// # Using it
//
// Load the boundaries once and share the *Map (it is immutable and safe for
// concurrent use):
//
//	m, err := geo.Load()
//	o, ok := m.Locate(geo.Point{Lat: 49.2128, Lon: 37.2566}) // Kharkiv Oblast
//
// To draw a map, pick the area shown (the whole country, or a zoomed view
// from Projection.Zoom), cluster what lies in it, and write the SVG:
//
//	view := m.Projection().Zoom(center, 2)
//	grid := geo.GridFor(view, 1000, 40) // 1000 px wide, cells of about 40 px
//	clusters := grid.Cluster(markers)  // or, at scale, in SQL: see Grid.SQL
//	opts := geo.SVGOptions{View: view}
//	for _, c := range clusters {
//		opts.Markers = append(opts.Markers, c.Marker)
//	}
//	err = m.SVG(w, opts)
//
// With a million records, cluster in the database, not in Go: Grid.SQL gives
// the cell expressions of a GROUP BY whose rows MergeCells turns into
// clusters, so that at most a few thousand markers ever reach the page.
//
// # Coordinates
//
// Positions are WGS 84 degrees (Point; it converts to and from
// custody.Point). The SVG uses Web Mercator, so that map tiles, when a tile
// server is configured (SVGOptions.TileURL), line up with the boundaries;
// without one the boundaries are drawn alone. The whole country spans
// ViewWidth (1000) SVG units across; Projection converts both ways and is
// written into the SVG's data attributes for scripts (see SVG).
//
// # Invariants
//
//   - The embedded boundaries hold 27 units, each with its ISO 3166-2 code,
//     its KATOTTH level-1 code and its Ukrainian and English names; every
//     ring is closed (first position equals last) and has at least 4
//     positions. Inside an oblast means inside an odd number of its rings
//     (holes, such as the city of Kyiv within Kyiv Oblast, are rings too).
//   - Boundaries are simplified to within 0.75 SVG units at the scale above
//     (under a kilometre on the ground): Locate near a border can be wrong by
//     that much; Nearest tells how far outside a point lies.
//   - Neighbouring oblasts share their simplified border exactly: no gaps.
//   - The same inputs give the same SVG bytes.
//
// The boundaries derive from geoBoundaries; see data/README.md, and show
// Attribution wherever the map is shown.
package geo

import (
	_ "embed"
	"fmt"
	"math"
	"strings"
)

//go:generate go run ./gen -data ../../../shared/data -out data

// Attribution credits the source of the boundaries; show it with the map.
const Attribution = "Boundaries: geoBoundaries (www.geoboundaries.org), simplified"

//go:embed data/oblasts.geojson
var embedded []byte // read-only; parsed by Load

// Point is a WGS 84 position in degrees. It has the fields of custody.Point,
// so each converts to the other: geo.Point(p).
type Point struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Valid reports whether p is a position on Earth (finite, latitude within
// ±90, longitude within ±180).
func (p Point) Valid() bool {
	return p.Lat >= -90 && p.Lat <= 90 && p.Lon >= -180 && p.Lon <= 180
}

// Bounds is a box of latitudes and longitudes, edges included. The zero
// Bounds stands for "no box" where an option takes one.
type Bounds struct {
	MinLat, MinLon, MaxLat, MaxLon float64
}

// IsZero reports whether b is the zero Bounds.
func (b Bounds) IsZero() bool { return b == Bounds{} }

// Contains reports whether p lies in b.
func (b Bounds) Contains(p Point) bool {
	return p.Lat >= b.MinLat && p.Lat <= b.MaxLat && p.Lon >= b.MinLon && p.Lon <= b.MaxLon
}

// Center returns the middle of b (in degrees, not in projected units).
func (b Bounds) Center() Point {
	return Point{Lat: (b.MinLat + b.MaxLat) / 2, Lon: (b.MinLon + b.MaxLon) / 2}
}

// extend returns b grown to include p; the zero Bounds grows from p alone.
func (b Bounds) extend(p Point, first bool) Bounds {
	if first {
		return Bounds{p.Lat, p.Lon, p.Lat, p.Lon}
	}
	return Bounds{min(b.MinLat, p.Lat), min(b.MinLon, p.Lon), max(b.MaxLat, p.Lat), max(b.MaxLon, p.Lon)}
}

// Ring is a closed line of positions: the first equals the last.
type Ring []Point

// Oblast is one first-level unit of Ukraine: an oblast, the Autonomous
// Republic of Crimea, or Kyiv or Sevastopol (cities with special status).
// Its rings are shared with the Map: do not modify them.
type Oblast struct {
	ISO    string // ISO 3166-2 code, "UA-63"
	Code   string // KATOTTH level-1 code, "UA63000000000041885"
	Name   string // official Ukrainian name, "Харківська область"
	NameEN string // English name, "Kharkiv Oblast"
	// Rings are the outer boundaries and the holes alike; a point is inside
	// when it is inside an odd number of them.
	Rings  []Ring
	Bounds Bounds
}

// Contains reports whether p lies inside o (even-odd rule over its rings).
// Points exactly on a boundary may go either way.
func (o Oblast) Contains(p Point) bool {
	if !o.Bounds.Contains(p) {
		return false
	}
	in := false
	for _, r := range o.Rings {
		if r.contains(p) {
			in = !in
		}
	}
	return in
}

// contains is the ray-crossing test: a ray from p eastwards crosses r an
// odd number of times when p is inside.
func (r Ring) contains(p Point) bool {
	in := false
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		a, b := r[i], r[j]
		if (a.Lat > p.Lat) != (b.Lat > p.Lat) &&
			p.Lon < (b.Lon-a.Lon)*(p.Lat-a.Lat)/(b.Lat-a.Lat)+a.Lon {
			in = !in
		}
	}
	return in
}

// Map holds the boundaries, their projection and their SVG paths. It is
// immutable: safe for concurrent use.
type Map struct {
	oblasts []Oblast // sorted by ISO code
	paths   []string // SVG path data of each oblast, in the projection below
	bounds  Bounds
	proj    Projection
}

// Load parses the embedded boundaries. It takes a few milliseconds and
// under a megabyte; call it once and share the Map.
func Load() (*Map, error) {
	obs, err := decode(embedded)
	if err != nil {
		return nil, fmt.Errorf("geo: embedded boundaries: %w", err)
	}
	return newMap(obs), nil
}

func newMap(obs []Oblast) *Map {
	m := &Map{oblasts: obs}
	for i, o := range obs {
		if i == 0 {
			m.bounds = o.Bounds
		} else {
			m.bounds = m.bounds.extend(Point{o.Bounds.MinLat, o.Bounds.MinLon}, false).
				extend(Point{o.Bounds.MaxLat, o.Bounds.MaxLon}, false)
		}
	}
	m.proj = newProjection(m.bounds)
	m.paths = make([]string, len(obs))
	for i, o := range obs {
		m.paths[i] = m.proj.path(o.Rings)
	}
	return m
}

// Oblasts returns every unit, sorted by ISO 3166-2 code. The slice is the
// caller's; the rings in it are shared.
func (m *Map) Oblasts() []Oblast {
	return append([]Oblast(nil), m.oblasts...)
}

// Oblast finds a unit by its ISO 3166-2 code ("UA-63") or by a KATOTTH code
// of the unit or of anything within it ("UA63000000000041885",
// "UA63040090010029555"; the first four characters decide).
func (m *Map) Oblast(code string) (Oblast, bool) {
	if i := m.index(code); i >= 0 {
		return m.oblasts[i], true
	}
	return Oblast{}, false
}

func (m *Map) index(code string) int {
	code = strings.ToUpper(strings.TrimSpace(code))
	iso := strings.HasPrefix(code, "UA-")
	if !iso && (len(code) < 4 || !strings.HasPrefix(code, "UA")) {
		return -1
	}
	for i, o := range m.oblasts {
		if iso && o.ISO == code || !iso && o.Code[:4] == code[:4] {
			return i
		}
	}
	return -1
}

// Bounds returns the box around every unit.
func (m *Map) Bounds() Bounds { return m.bounds }

// Projection returns the projection of the map's SVG.
func (m *Map) Projection() Projection { return m.proj }

// Locate returns the unit that p lies in, or false when p lies in none
// (outside Ukraine, or in the sea). Near a border the answer is only as good
// as the simplified boundaries (see the package invariants).
func (m *Map) Locate(p Point) (Oblast, bool) {
	for _, o := range m.oblasts {
		if o.Contains(p) {
			return o, true
		}
	}
	return Oblast{}, false
}

// Nearest returns the unit that p lies in, with distance 0, or else the
// unit whose boundary is nearest to p and the distance to it in kilometres
// (on a sphere of radius 6371 km, in a local flat approximation that is
// good to a fraction of a percent over tens of kilometres). It is meant for
// the check "is this position in Ukraine, give or take a kilometre".
func (m *Map) Nearest(p Point) (Oblast, float64) {
	if o, ok := m.Locate(p); ok {
		return o, 0
	}
	best, bestKm := 0, math.Inf(1)
	kx := math.Cos(p.Lat*math.Pi/180) * earthKmPerDeg // km per degree of longitude at p
	for i, o := range m.oblasts {
		for _, r := range o.Rings {
			for j := 1; j < len(r); j++ {
				ax, ay := (r[j-1].Lon-p.Lon)*kx, (r[j-1].Lat-p.Lat)*earthKmPerDeg
				bx, by := (r[j].Lon-p.Lon)*kx, (r[j].Lat-p.Lat)*earthKmPerDeg
				if d := originToSegment(ax, ay, bx, by); d < bestKm {
					best, bestKm = i, d
				}
			}
		}
	}
	return m.oblasts[best], bestKm
}

// earthKmPerDeg is the length of a degree of latitude on a sphere of
// radius 6371 km.
const earthKmPerDeg = 6371 * math.Pi / 180

// originToSegment returns the distance from (0, 0) to the segment a–b.
func originToSegment(ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	t := 0.0
	if l2 := dx*dx + dy*dy; l2 > 0 {
		t = max(0, min(1, -(ax*dx+ay*dy)/l2))
	}
	return math.Hypot(ax+t*dx, ay+t*dy)
}
