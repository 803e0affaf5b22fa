package geo

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func randomMarkers(n int, seed uint64) []Marker {
	r := rand.New(rand.NewPCG(seed, 7))
	kinds := []string{"site", "incident", "incident", "remains"}
	ms := make([]Marker, n)
	for i := range ms {
		ms[i] = Marker{
			Point: Point{Lat: 44.4 + 8*r.Float64(), Lon: 22.2 + 18*r.Float64()},
			Kind:  kinds[r.IntN(len(kinds))],
		}
	}
	return ms
}

func TestGridFor(t *testing.T) {
	m := load(t)
	whole := m.Bounds()
	g := GridFor(whole, 1000, 40)
	// 18.1° of longitude in 1000 px: 40 px is 0.72°, rounded to 1°.
	if g.DLon != 1 || g.DLat != LatPerLon {
		t.Errorf("GridFor(whole, 1000, 40) = %+v", g)
	}
	p := m.Projection()
	prev := g
	for level := 1; level <= 10; level++ {
		v := p.Zoom(izium, level)
		g := GridFor(v, 1000, 40)
		if g.DLon != prev.DLon/2 {
			t.Errorf("zoom %d: DLon %v, want half of %v", level, g.DLon, prev.DLon)
		}
		// Panning keeps the grid.
		if g2 := GridFor(p.Zoom(Point{Lat: 47, Lon: 30}, level), 1000, 40); g2 != g {
			t.Errorf("zoom %d: panning changes the grid from %+v to %+v", level, g, g2)
		}
		if k := math.Log2(g.DLon); k != math.Round(k) {
			t.Errorf("DLon %v is not a power of two", g.DLon)
		}
		prev = g
	}
	if g := GridFor(Bounds{}, 1000, 40); g.DLon != math.Exp2(-20) {
		t.Errorf("GridFor(empty view) = %+v", g)
	}
	if g := GridFor(Bounds{MinLon: -180, MaxLon: 180}, 10, 40); g.DLon != 16 {
		t.Errorf("GridFor(world in 10 px) = %+v", g)
	}
}

func TestCell(t *testing.T) {
	g := Grid{DLat: 0.625, DLon: 1}
	for _, tc := range []struct {
		p        Point
		row, col int
	}{
		{izium, 78, 37}, // 49.2128/0.625 = 78.74
		{Point{0, 0}, 0, 0},
		{Point{-0.1, -0.1}, -1, -1},
		{Point{0.625, 1}, 1, 1},
		{Point{-0.625, -1}, -1, -1},
		{Point{-0.6251, -1.0001}, -2, -2},
	} {
		row, col := g.Cell(tc.p)
		if row != tc.row || col != tc.col {
			t.Errorf("Cell(%v) = %d, %d; want %d, %d", tc.p, row, col, tc.row, tc.col)
		}
		if b := g.CellBounds(row, col); !b.Contains(tc.p) {
			t.Errorf("CellBounds(%d, %d) = %v leaves out %v", row, col, b, tc.p)
		}
	}
}

func TestCluster(t *testing.T) {
	ms := randomMarkers(50_000, 1)
	ms = append(ms,
		Marker{Point: Point{math.NaN(), 30}, Kind: "site"}, // left out
		Marker{Point: Point{91, 30}, Kind: "site"},         // left out
		Marker{Point: Point{10.1, 10.1}, Kind: "site", Count: 5},
		Marker{Point: Point{-10.1, -10.1}, Kind: "grave", ID: "r1", Label: "Grave 1", Href: "/records/r1"},
	)
	g := Grid{DLat: 0.3125, DLon: 0.5}
	cs := g.Cluster(ms)
	total := 0
	for i, c := range cs {
		total += c.Count
		if i > 0 && (cs[i-1].Row > c.Row || cs[i-1].Row == c.Row && cs[i-1].Col >= c.Col) {
			t.Fatalf("clusters out of order at %d", i)
		}
		if row, col := g.Cell(c.Point); row != c.Row || col != c.Col {
			t.Errorf("cluster (%d, %d) centred at %v in cell (%d, %d)", c.Row, c.Col, c.Point, row, col)
		}
		n, best := 0, 0
		for k, v := range c.Kinds {
			n += v
			if v > best || v == best && k < c.Kind {
				best = v
			}
		}
		if n != c.Count || c.Kinds[c.Kind] != best {
			t.Errorf("cluster (%d, %d): kinds %v, count %d, dominant %q", c.Row, c.Col, c.Kinds, c.Count, c.Kind)
		}
	}
	if want := 50_000 + 5 + 1; total != want {
		t.Errorf("clusters hold %d markers, want %d", total, want)
	}
	// Recount by cell, independently.
	want := map[[2]int]int{}
	for _, m := range ms {
		if m.Valid() {
			r, c := g.Cell(m.Point)
			want[[2]int{r, c}] += m.count()
		}
	}
	if len(want) != len(cs) {
		t.Errorf("%d clusters, %d non-empty cells", len(cs), len(want))
	}
	for _, c := range cs {
		if want[[2]int{c.Row, c.Col}] != c.Count {
			t.Errorf("cell (%d, %d): %d, want %d", c.Row, c.Col, c.Count, want[[2]int{c.Row, c.Col}])
		}
	}
	// A lone record keeps its identity and exact position; a pre-counted
	// marker does not pretend to be one record.
	for _, c := range cs {
		switch {
		case c.Lat < 0:
			if c.Count != 1 || c.ID != "r1" || c.Label != "Grave 1" || c.Href != "/records/r1" || c.Point != (Point{-10.1, -10.1}) || c.Kind != "grave" {
				t.Errorf("lone record's cluster = %+v", c)
			}
		case c.Lat < 20:
			if c.Count != 5 || c.ID != "" || c.Kind != "site" {
				t.Errorf("pre-counted marker's cluster = %+v", c)
			}
		}
	}
	if cs := g.Cluster(nil); len(cs) != 0 {
		t.Errorf("Cluster(nil) = %v", cs)
	}
	if cs := (Grid{}).Cluster(ms); len(cs) != 0 {
		t.Errorf("zero Grid: %d clusters", len(cs))
	}
}

func TestClusterDominantKind(t *testing.T) {
	g := Grid{DLat: 0.625, DLon: 1}
	at := func(kind string, n int) Marker { return Marker{Point: Point{49.1, 37.1}, Kind: kind, Count: n} }
	for _, tc := range []struct {
		ms   []Marker
		kind string
	}{
		{[]Marker{at("site", 1), at("incident", 1), at("incident", 1)}, "incident"},
		{[]Marker{at("site", 3), at("incident", 2)}, "site"},
		{[]Marker{at("site", 2), at("incident", 2)}, "incident"}, // tie: byte order
		{[]Marker{at("", 1)}, ""},
	} {
		cs := g.Cluster(tc.ms)
		if len(cs) != 1 || cs[0].Kind != tc.kind {
			t.Errorf("Cluster(%v) = %+v, want kind %q", tc.ms, cs, tc.kind)
		}
	}
}

// TestMergeCells checks that grouping in "SQL" (here: by cell and kind in
// Go, as the documented query does) and merging gives what Cluster gives.
func TestMergeCells(t *testing.T) {
	ms := randomMarkers(20_000, 2)
	g := GridFor(Bounds{MinLat: 44, MinLon: 22, MaxLat: 52.5, MaxLon: 40.3}, 1000, 30)
	type key struct {
		row, col int
		kind     string
	}
	groups := map[key]*Cell{}
	for _, m := range ms {
		r, c := g.Cell(m.Point)
		k := key{r, c, m.Kind}
		if groups[k] == nil {
			groups[k] = &Cell{Row: r, Col: c, Kind: m.Kind}
		}
		x := groups[k]
		x.Count++
		x.Lat += m.Lat
		x.Lon += m.Lon
	}
	var rows []Cell
	for _, x := range groups {
		x.Lat /= float64(x.Count)
		x.Lon /= float64(x.Count)
		rows = append(rows, *x)
	}
	rows = append(rows, Cell{Row: 1, Col: 1, Kind: "site", Count: 0}) // ignored
	got, want := MergeCells(rows), g.Cluster(ms)
	if len(got) != len(want) {
		t.Fatalf("%d clusters, want %d", len(got), len(want))
	}
	for i := range got {
		a, b := got[i], want[i]
		if a.Row != b.Row || a.Col != b.Col || a.Count != b.Count || a.Kind != b.Kind || !reflect.DeepEqual(a.Kinds, b.Kinds) ||
			math.Abs(a.Lat-b.Lat) > 1e-9 || math.Abs(a.Lon-b.Lon) > 1e-9 {
			t.Fatalf("cluster %d: %+v, want %+v", i, a, b)
		}
	}
}

func TestGridSQL(t *testing.T) {
	g := Grid{DLat: 0.078125, DLon: 0.125}
	row, col := g.SQL(SQLite, "lat", "r.lon")
	if want := "CAST(lat / 0.078125 AS INTEGER) - (lat / 0.078125 < CAST(lat / 0.078125 AS INTEGER))"; row != want {
		t.Errorf("SQLite row = %s", row)
	}
	if want := "CAST(r.lon / 0.125 AS INTEGER) - (r.lon / 0.125 < CAST(r.lon / 0.125 AS INTEGER))"; col != want {
		t.Errorf("SQLite col = %s", col)
	}
	row, col = g.SQL(Postgres, "lat", "lon")
	if row != "CAST(floor(lat / 0.078125) AS INTEGER)" || col != "CAST(floor(lon / 0.125) AS INTEGER)" {
		t.Errorf("Postgres = %s, %s", row, col)
	}
	// The smallest grid still prints as a plain decimal, exactly.
	tiny := GridFor(Bounds{}, 1000, 40)
	row, _ = tiny.SQL(Postgres, "lat", "lon")
	if row != "CAST(floor(lat / 0.00000059604644775390625) AS INTEGER)" {
		t.Errorf("tiny grid: %s", row)
	}
	for _, bad := range []string{"", "lat;DROP TABLE x", "1lat", "a..b", "lat)", "l at", "x.", strings.Repeat("a", 200)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("SQL(%q) did not panic", bad)
				}
			}()
			g.SQL(SQLite, bad, "lon")
		}()
	}
}

func BenchmarkCluster(b *testing.B) {
	ms := randomMarkers(1_000_000, 3)
	g := GridFor(Bounds{MinLat: 44, MinLon: 22, MaxLat: 52.5, MaxLon: 40.3}, 1000, 40)
	b.ResetTimer()
	for b.Loop() {
		cs := g.Cluster(ms)
		if len(cs) == 0 {
			b.Fatal("no clusters")
		}
	}
	b.ReportMetric(float64(len(ms)), "markers/op")
}

func BenchmarkClusterFine(b *testing.B) {
	// A fine grid: tens of thousands of cells.
	ms := randomMarkers(1_000_000, 3)
	g := Grid{DLat: 0.0390625, DLon: 0.0625}
	for b.Loop() {
		g.Cluster(ms)
	}
	b.ReportMetric(float64(len(g.Cluster(ms))), "clusters")
}
