package geo

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Limits on what decode accepts, so that a malformed file cannot make Load
// allocate without bound.
const (
	maxUnits     = 100
	maxPositions = 1_000_000
)

// decode parses a GeoJSON FeatureCollection in the shape gen writes: each
// feature a Polygon or MultiPolygon with properties iso, code, name and
// name_en. It checks every ring (closed, at least 4 positions, valid
// positions) and returns the units sorted by ISO code.
func decode(data []byte) ([]Oblast, error) {
	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			Type       string `json:"type"`
			Properties struct {
				ISO    string `json:"iso"`
				Code   string `json:"code"`
				Name   string `json:"name"`
				NameEN string `json:"name_en"`
			} `json:"properties"`
			Geometry struct {
				Type        string          `json:"type"`
				Coordinates json.RawMessage `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		return nil, err
	}
	if fc.Type != "FeatureCollection" {
		return nil, fmt.Errorf("type %q, want FeatureCollection", fc.Type)
	}
	if len(fc.Features) == 0 || len(fc.Features) > maxUnits {
		return nil, fmt.Errorf("%d features", len(fc.Features))
	}
	var obs []Oblast
	total := 0
	for i, f := range fc.Features {
		p := f.Properties
		if f.Type != "Feature" {
			return nil, fmt.Errorf("feature %d: type %q", i, f.Type)
		}
		if !strings.HasPrefix(p.ISO, "UA-") || len(p.ISO) != 5 || len(p.Code) != 19 || !strings.HasPrefix(p.Code, "UA") || p.Name == "" {
			return nil, fmt.Errorf("feature %d: bad properties %q %q %q", i, p.ISO, p.Code, p.Name)
		}
		var polys [][][][2]float64
		switch f.Geometry.Type {
		case "Polygon":
			var poly [][][2]float64
			if err := json.Unmarshal(f.Geometry.Coordinates, &poly); err != nil {
				return nil, fmt.Errorf("%s: %w", p.ISO, err)
			}
			polys = [][][][2]float64{poly}
		case "MultiPolygon":
			if err := json.Unmarshal(f.Geometry.Coordinates, &polys); err != nil {
				return nil, fmt.Errorf("%s: %w", p.ISO, err)
			}
		default:
			return nil, fmt.Errorf("%s: geometry %q", p.ISO, f.Geometry.Type)
		}
		o := Oblast{ISO: p.ISO, Code: p.Code, Name: p.Name, NameEN: p.NameEN}
		for _, poly := range polys {
			for _, r := range poly {
				if total += len(r); total > maxPositions {
					return nil, errors.New("too many positions")
				}
				ring, err := toRing(r)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", p.ISO, err)
				}
				for j, q := range ring {
					o.Bounds = o.Bounds.extend(q, len(o.Rings) == 0 && j == 0)
				}
				o.Rings = append(o.Rings, ring)
			}
		}
		if len(o.Rings) == 0 {
			return nil, fmt.Errorf("%s: no rings", p.ISO)
		}
		obs = append(obs, o)
	}
	slices.SortFunc(obs, func(a, b Oblast) int { return strings.Compare(a.ISO, b.ISO) })
	for i := 1; i < len(obs); i++ {
		if obs[i].ISO == obs[i-1].ISO || obs[i].Code[:4] == obs[i-1].Code[:4] {
			return nil, fmt.Errorf("%s: repeated", obs[i].ISO)
		}
	}
	return obs, nil
}

// toRing converts GeoJSON positions ([lon, lat]) to a Ring, checking that
// they are valid positions and that the ring is closed.
func toRing(r [][2]float64) (Ring, error) {
	if len(r) < 4 {
		return nil, fmt.Errorf("ring of %d positions", len(r))
	}
	ring := make(Ring, len(r))
	for i, c := range r {
		ring[i] = Point{Lat: c[1], Lon: c[0]}
		if !ring[i].Valid() {
			return nil, fmt.Errorf("position %v out of range", c)
		}
	}
	if ring[0] != ring[len(ring)-1] {
		return nil, errors.New("ring not closed")
	}
	return ring, nil
}
