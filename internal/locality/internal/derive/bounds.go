package derive

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
)

// BorderKm is how far outside its (simplified) oblast outline a postal point
// may lie and still be used.
const BorderKm = 3.0

// Bounds holds oblast outlines, keyed by KATOTTH level-1 code, used to reject
// postal points that lie outside the oblast GeoNames assigns them to (the
// postal file has such errors: a village geocoded to a namesake elsewhere).
type Bounds map[string][][][2]float64 // code → rings of (lon, lat)

// isoToKATOTTH maps ISO 3166-2:UA numbers that differ from the KATOTTH
// level-1 code prefix.
var isoToKATOTTH = map[string]string{"30": "80", "40": "85", "43": "01"}

// ReadBounds parses the geoBoundaries ADM1 GeoJSON of Ukraine.
func ReadBounds(r io.Reader) (Bounds, error) {
	var fc struct {
		Features []struct {
			Properties struct {
				ShapeISO string `json:"shapeISO"`
			} `json:"properties"`
			Geometry struct {
				Type        string          `json:"type"`
				Coordinates json.RawMessage `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	if err := json.NewDecoder(r).Decode(&fc); err != nil {
		return nil, fmt.Errorf("bounds: %w", err)
	}
	b := Bounds{}
	for _, f := range fc.Features {
		n, ok := strings.CutPrefix(f.Properties.ShapeISO, "UA-")
		if !ok || len(n) != 2 {
			return nil, fmt.Errorf("bounds: bad shapeISO %q", f.Properties.ShapeISO)
		}
		if k, ok := isoToKATOTTH[n]; ok {
			n = k
		}
		var polys [][][][2]float64
		switch f.Geometry.Type {
		case "Polygon":
			var p [][][2]float64
			if err := json.Unmarshal(f.Geometry.Coordinates, &p); err != nil {
				return nil, fmt.Errorf("bounds %s: %w", n, err)
			}
			polys = append(polys, p)
		case "MultiPolygon":
			if err := json.Unmarshal(f.Geometry.Coordinates, &polys); err != nil {
				return nil, fmt.Errorf("bounds %s: %w", n, err)
			}
		default:
			return nil, fmt.Errorf("bounds %s: geometry %s", n, f.Geometry.Type)
		}
		code := "UA" + n
		for _, p := range polys {
			if len(p) > 0 {
				b[code] = append(b[code], p[0]) // outer ring; holes ignored
			}
		}
	}
	return b, nil
}

// Near reports whether (lat, lon) lies inside the outline of the oblast whose
// KATOTTH code starts with prefix (4 characters, "UA63"), or within BorderKm
// of it. It reports true for an oblast it has no outline for.
func (b Bounds) Near(prefix string, lat, lon float64) bool {
	rings, ok := b[prefix]
	if !ok {
		return true
	}
	kx := 111.32 * math.Cos(lat*math.Pi/180) // km per degree of longitude
	const ky = 110.57
	for _, ring := range rings {
		in := false
		for i, j := 0, len(ring)-1; i < len(ring); j, i = i, i+1 {
			xi, yi, xj, yj := ring[i][0], ring[i][1], ring[j][0], ring[j][1]
			if (yi > lat) != (yj > lat) && lon < (xj-xi)*(lat-yi)/(yj-yi)+xi {
				in = !in
			}
			// Distance to the edge, in a local flat projection.
			ax, ay := (xj-lon)*kx, (yj-lat)*ky
			bx, by := (xi-lon)*kx, (yi-lat)*ky
			dx, dy := bx-ax, by-ay
			t := 0.0
			if l := dx*dx + dy*dy; l > 0 {
				t = max(0, min(1, -(ax*dx+ay*dy)/l))
			}
			if math.Hypot(ax+t*dx, ay+t*dy) < BorderKm {
				return true
			}
		}
		if in {
			return true
		}
	}
	return false
}
