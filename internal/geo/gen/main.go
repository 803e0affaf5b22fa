// Command gen derives internal/geo/data/oblasts.geojson, the oblast
// boundaries that package geo embeds, from the shared reference data:
//
//	go run ./internal/geo/gen                      # from the repository root
//	go run ./internal/geo/gen -data ../shared/data -out internal/geo/data -tolerance 0.75
//
// It reads the geoBoundaries ADM1 file of Ukraine (shapes, ISO 3166-2 codes,
// English names) and the KATOTTH codifier (official Ukrainian names and
// level-1 codes), then:
//
//  1. rounds every coordinate to 4 decimals (about 11 m) and drops the
//     repeated vertices that rounding makes;
//  2. splits every ring into arcs at its junctions (vertices where three or
//     more boundaries meet), so that a border shared by two oblasts is one arc;
//  3. simplifies each arc once, with Douglas–Peucker in Web Mercator at the
//     scale package geo draws (1000 units across the country), so neighbours
//     keep the same border and no gap or overlap opens between them;
//  4. writes one GeoJSON feature per line, with properties iso, code, name
//     and name_en.
//
// The output is deterministic: the same inputs give the same bytes.
package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const (
	boundariesPath = "geo/ukraine-adm1-simplified.geojson"
	katotthPath    = "katotth/kodifikator-2025-05-16.csv"
	outName        = "oblasts.geojson"
	// viewWidth is the width, in SVG user units, that package geo gives the
	// whole country; the tolerance is in these units.
	viewWidth = 1000.0
)

// isoToKATOTTH maps the ISO 3166-2:UA numbers that differ from the KATOTTH
// level-1 code prefix (the others are equal).
var isoToKATOTTH = map[string]string{"09": "44", "30": "80", "40": "85", "43": "01", "77": "73"}

// englishNames corrects geoBoundaries' English names to the official
// romanisation (Resolution No. 55 of the Cabinet of Ministers of Ukraine,
// 2010) where they differ; keyed by ISO 3166-2 code.
var englishNames = map[string]string{
	"UA-51": "Odesa Oblast",
	"UA-23": "Zaporizhzhia Oblast",
}

func main() {
	data := flag.String("data", "../shared/data", "reference data directory")
	out := flag.String("out", "internal/geo/data", "output directory")
	tol := flag.Float64("tolerance", 0.75, "Douglas–Peucker tolerance, in SVG units of a 1000-unit-wide map")
	flag.Parse()
	if err := run(*data, *out, *tol, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

type pt [2]float64 // lon, lat

type feature struct {
	ISO, Code, Name, NameEN string
	Polys                   [][][]pt // polygons → rings → closed positions
}

func run(dataDir, outDir string, tol float64, log io.Writer) error {
	units, err := readUnits(filepath.Join(dataDir, katotthPath))
	if err != nil {
		return err
	}
	feats, err := readBoundaries(filepath.Join(dataDir, boundariesPath), units)
	if err != nil {
		return err
	}
	before := countPoints(feats)
	round(feats)
	rounded := countPoints(feats)
	if err := simplify(feats, tol); err != nil {
		return err
	}
	after := countPoints(feats)
	var buf bytes.Buffer
	if err := write(&buf, feats); err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	dst := filepath.Join(outDir, outName)
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(log, "%s: %d units, %d positions (%d after rounding, %d in the source), %d bytes\n",
		dst, len(feats), after, rounded, before, buf.Len())
	return nil
}

// unit is a first-level KATOTTH unit.
type unit struct{ code, name string }

// readUnits returns the codes and Ukrainian names of the oblasts and
// special-status cities, keyed by the 2-digit KATOTTH level-1 prefix ("63").
func readUnits(path string) (map[string]unit, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.Comma = ';'
	r.FieldsPerRecord = 7
	units := map[string]unit{}
	for first := true; ; first = false {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if first {
			continue
		}
		code, cat, name := rec[0], rec[5], strings.TrimSpace(rec[6])
		if rec[1] != "" || len(code) < 4 {
			continue
		}
		switch cat {
		case "O":
			if !strings.Contains(name, " ") { // "Харківська"; not "Автономна Республіка Крим"
				name += " область"
			}
		case "K":
		default:
			continue
		}
		units[code[2:4]] = unit{code, name}
	}
	if len(units) != 27 {
		return nil, fmt.Errorf("%s: %d oblasts and special-status cities, want 27", path, len(units))
	}
	return units, nil
}

func readBoundaries(path string, units map[string]unit) ([]feature, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var fc struct {
		Features []struct {
			Properties struct {
				ShapeName string `json:"shapeName"`
				ShapeISO  string `json:"shapeISO"`
			} `json:"properties"`
			Geometry struct {
				Type        string          `json:"type"`
				Coordinates json.RawMessage `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var feats []feature
	for _, f := range fc.Features {
		iso := f.Properties.ShapeISO
		n, ok := strings.CutPrefix(iso, "UA-")
		if !ok || len(n) != 2 {
			return nil, fmt.Errorf("%s: bad shapeISO %q", path, iso)
		}
		if k, ok := isoToKATOTTH[n]; ok {
			n = k
		}
		u, ok := units[n]
		if !ok {
			return nil, fmt.Errorf("%s: %s has no KATOTTH unit %s", path, iso, n)
		}
		ft := feature{ISO: iso, Code: u.code, Name: u.name, NameEN: f.Properties.ShapeName}
		if en, ok := englishNames[iso]; ok {
			ft.NameEN = en
		}
		switch f.Geometry.Type {
		case "Polygon":
			var p [][]pt
			if err := json.Unmarshal(f.Geometry.Coordinates, &p); err != nil {
				return nil, fmt.Errorf("%s %s: %w", path, iso, err)
			}
			ft.Polys = [][][]pt{p}
		case "MultiPolygon":
			if err := json.Unmarshal(f.Geometry.Coordinates, &ft.Polys); err != nil {
				return nil, fmt.Errorf("%s %s: %w", path, iso, err)
			}
		default:
			return nil, fmt.Errorf("%s %s: geometry %s", path, iso, f.Geometry.Type)
		}
		for _, p := range ft.Polys {
			for _, r := range p {
				if len(r) < 4 || r[0] != r[len(r)-1] {
					return nil, fmt.Errorf("%s %s: ring not closed", path, iso)
				}
			}
		}
		feats = append(feats, ft)
	}
	slices.SortFunc(feats, func(a, b feature) int { return strings.Compare(a.ISO, b.ISO) })
	return feats, nil
}

func countPoints(feats []feature) int {
	n := 0
	for _, f := range feats {
		for _, p := range f.Polys {
			for _, r := range p {
				n += len(r)
			}
		}
	}
	return n
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// round rounds every position to 4 decimals and drops consecutive repeats.
func round(feats []feature) {
	for i := range feats {
		for j := range feats[i].Polys {
			for k, r := range feats[i].Polys[j] {
				out := r[:0:0]
				for _, p := range r {
					q := pt{round4(p[0]), round4(p[1])}
					if len(out) == 0 || out[len(out)-1] != q {
						out = append(out, q)
					}
				}
				feats[i].Polys[j][k] = out
			}
		}
	}
}

// simplify simplifies every ring arc by arc; see the package comment.
func simplify(feats []feature, tol float64) error {
	// Neighbours of every vertex over all rings: a vertex with more than
	// two distinct neighbours is a junction.
	neigh := map[pt][]pt{}
	add := func(p, q pt) {
		if !slices.Contains(neigh[p], q) {
			neigh[p] = append(neigh[p], q)
		}
	}
	var minLon, maxLon = math.Inf(1), math.Inf(-1)
	eachRing(feats, func(rp *[]pt) {
		r := *rp
		n := len(r) - 1 // r[n] == r[0]
		for i := 0; i < n; i++ {
			add(r[i], r[(i+1)%n])
			add(r[i], r[(i+n-1)%n])
			minLon, maxLon = min(minLon, r[i][0]), max(maxLon, r[i][0])
		}
	})
	scale := viewWidth / ((maxLon - minLon) / 360) // SVG units per unit of Mercator x
	proj := func(p pt) [2]float64 {
		lat := p[1] * math.Pi / 180
		return [2]float64{(p[0] + 180) / 360 * scale, (1 - math.Asinh(math.Tan(lat))/math.Pi) / 2 * scale}
	}
	cache := map[string][]pt{}
	var err error
	eachRing(feats, func(rp *[]pt) {
		if err != nil {
			return
		}
		ring := (*rp)[:len(*rp)-1]
		var js []int
		for i, p := range ring {
			if len(neigh[p]) > 2 {
				js = append(js, i)
			}
		}
		if len(js) == 0 { // a ring shared whole (an enclave and its hole) or not at all
			m := 0
			for i, p := range ring {
				if less(p, ring[m]) {
					m = i
				}
			}
			js = []int{m}
		}
		rot := append(slices.Clone(ring[js[0]:]), ring[:js[0]]...)
		for i := range js {
			js[i] -= js[0]
			if js[i] < 0 {
				js[i] += len(ring)
			}
		}
		rot = append(rot, rot[0])
		js = append(js, len(ring))
		out := []pt{rot[0]}
		for i := 0; i+1 < len(js); i++ {
			arc := rot[js[i] : js[i+1]+1]
			s := simplifyArc(arc, tol, proj, cache)
			out = append(out, s[1:]...)
		}
		if len(out) < 4 {
			err = fmt.Errorf("ring at %v collapses to %d positions at tolerance %v", ring[0], len(out), tol)
			return
		}
		*rp = out
	})
	return err
}

func less(a, b pt) bool { return a[0] < b[0] || a[0] == b[0] && a[1] < b[1] }

// eachRing calls fn with every ring of every feature, in order; fn may
// replace the ring.
func eachRing(feats []feature, fn func(r *[]pt)) {
	for i := range feats {
		for j := range feats[i].Polys {
			for k := range feats[i].Polys[j] {
				fn(&feats[i].Polys[j][k])
			}
		}
	}
}

// simplifyArc simplifies arc (from one junction to the next, both kept)
// in a canonical direction, so that the two rings sharing an arc, which
// run it in opposite directions, get the same result.
func simplifyArc(arc []pt, tol float64, proj func(pt) [2]float64, cache map[string][]pt) []pt {
	rev := slices.Clone(arc)
	slices.Reverse(rev)
	canon, reversed := arc, false
	for i := range arc {
		if arc[i] != rev[i] {
			if less(rev[i], arc[i]) {
				canon, reversed = rev, true
			}
			break
		}
	}
	var key strings.Builder
	for _, p := range canon {
		key.WriteString(strconv.FormatFloat(p[0], 'f', -1, 64))
		key.WriteByte(',')
		key.WriteString(strconv.FormatFloat(p[1], 'f', -1, 64))
		key.WriteByte(' ')
	}
	s, ok := cache[key.String()]
	if !ok {
		closed := canon[0] == canon[len(canon)-1]
		for t := tol; ; t /= 2 {
			s = douglasPeucker(canon, t, proj)
			// A closed arc is a whole ring: keep at least a triangle.
			if !closed || len(s) >= 4 || len(s) == len(canon) {
				break
			}
		}
		cache[key.String()] = s
	}
	if reversed {
		s = slices.Clone(s)
		slices.Reverse(s)
	}
	return s
}

// douglasPeucker keeps the ends of line and every point farther than tol
// (in projected units) from the chord of the stretch it lies in.
func douglasPeucker(line []pt, tol float64, proj func(pt) [2]float64) []pt {
	if len(line) <= 2 {
		return slices.Clone(line)
	}
	xy := make([][2]float64, len(line))
	for i, p := range line {
		xy[i] = proj(p)
	}
	keep := make([]bool, len(line))
	keep[0], keep[len(line)-1] = true, true
	type span struct{ a, b int }
	stack := []span{{0, len(line) - 1}}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		far, dmax := -1, tol
		for i := s.a + 1; i < s.b; i++ {
			if d := segDist(xy[i], xy[s.a], xy[s.b]); d > dmax {
				far, dmax = i, d
			}
		}
		if far >= 0 {
			keep[far] = true
			stack = append(stack, span{s.a, far}, span{far, s.b})
		}
	}
	var out []pt
	for i, k := range keep {
		if k {
			out = append(out, line[i])
		}
	}
	return out
}

// segDist is the distance from p to the segment a–b.
func segDist(p, a, b [2]float64) float64 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = max(0, min(1, ((p[0]-a[0])*dx+(p[1]-a[1])*dy)/l2))
	}
	return math.Hypot(p[0]-a[0]-t*dx, p[1]-a[1]-t*dy)
}

// write writes feats as a GeoJSON FeatureCollection, one feature a line.
func write(w *bytes.Buffer, feats []feature) error {
	w.WriteString(`{"type":"FeatureCollection","features":[` + "\n")
	for i, f := range feats {
		props, err := json.Marshal(struct {
			ISO    string `json:"iso"`
			Code   string `json:"code"`
			Name   string `json:"name"`
			NameEN string `json:"name_en"`
		}{f.ISO, f.Code, f.Name, f.NameEN})
		if err != nil {
			return err
		}
		typ := "Polygon"
		if len(f.Polys) > 1 {
			typ = "MultiPolygon"
		}
		fmt.Fprintf(w, `{"type":"Feature","properties":%s,"geometry":{"type":"%s","coordinates":`, props, typ)
		if typ == "MultiPolygon" {
			w.WriteByte('[')
		}
		for j, p := range f.Polys {
			if j > 0 {
				w.WriteByte(',')
			}
			w.WriteByte('[')
			for k, r := range p {
				if k > 0 {
					w.WriteByte(',')
				}
				w.WriteByte('[')
				for l, q := range r {
					if l > 0 {
						w.WriteByte(',')
					}
					fmt.Fprintf(w, "[%s,%s]", strconv.FormatFloat(q[0], 'f', -1, 64), strconv.FormatFloat(q[1], 'f', -1, 64))
				}
				w.WriteByte(']')
			}
			w.WriteByte(']')
		}
		if typ == "MultiPolygon" {
			w.WriteByte(']')
		}
		w.WriteString("}}")
		if i+1 < len(feats) {
			w.WriteByte(',')
		}
		w.WriteByte('\n')
	}
	w.WriteString("]}\n")
	return nil
}
