package geo

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func load(t testing.TB) *Map {
	t.Helper()
	m, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var izium = Point{Lat: 49.2128, Lon: 37.2566}

func TestLoad(t *testing.T) {
	m := load(t)
	obs := m.Oblasts()
	// geoBoundaries' ADM1 of Ukraine: 24 oblasts, Crimea, Kyiv, Sevastopol.
	if len(obs) != 27 {
		t.Fatalf("%d units, want 27", len(obs))
	}
	ua := Bounds{MinLat: 44, MinLon: 22, MaxLat: 52.5, MaxLon: 40.3}
	positions := 0
	for i, o := range obs {
		if i > 0 && obs[i-1].ISO >= o.ISO {
			t.Errorf("not sorted by ISO code: %s before %s", obs[i-1].ISO, o.ISO)
		}
		if !strings.HasPrefix(o.ISO, "UA-") || len(o.Code) != 19 || o.Name == "" || o.NameEN == "" {
			t.Errorf("unit %+v lacks a code or a name", o.ISO)
		}
		if len(o.Rings) == 0 {
			t.Errorf("%s has no rings", o.ISO)
		}
		for j, r := range o.Rings {
			positions += len(r)
			if len(r) < 4 {
				t.Errorf("%s ring %d: %d positions", o.ISO, j, len(r))
			}
			if r[0] != r[len(r)-1] {
				t.Errorf("%s ring %d not closed", o.ISO, j)
			}
			for _, p := range r {
				if !ua.Contains(p) || !o.Bounds.Contains(p) {
					t.Fatalf("%s ring %d: %v outside its bounds", o.ISO, j, p)
				}
				if math.Abs(p.Lat*1e4-math.Round(p.Lat*1e4)) > 1e-6 || math.Abs(p.Lon*1e4-math.Round(p.Lon*1e4)) > 1e-6 {
					t.Fatalf("%s: %v has more than 4 decimals", o.ISO, p)
				}
			}
		}
	}
	t.Logf("%d units, %d positions, %d bytes embedded", len(obs), positions, len(embedded))
	if len(embedded) > 150_000 {
		t.Errorf("embedded boundaries are %d bytes, want under 150 KB", len(embedded))
	}
	// The slice is the caller's.
	obs[0].Name = "changed"
	if m.Oblasts()[0].Name == "changed" {
		t.Error("Oblasts returns the Map's own slice")
	}
}

func TestNames(t *testing.T) {
	m := load(t)
	for _, tc := range []struct{ code, iso, name, en string }{
		{"UA-63", "UA-63", "Харківська область", "Kharkiv Oblast"},
		{"UA63000000000041885", "UA-63", "Харківська область", "Kharkiv Oblast"},
		{"UA63040090010029555", "UA-63", "Харківська область", "Kharkiv Oblast"}, // Izium, a city within it
		{"ua-43", "UA-43", "Автономна Республіка Крим", "Autonomous Republic of Crimea"},
		{"UA01000000000013043", "UA-43", "Автономна Республіка Крим", "Autonomous Republic of Crimea"},
		{"UA-30", "UA-30", "Київ", "Kyiv"},
		{"UA80000000000093317", "UA-30", "Київ", "Kyiv"},
		{"UA-32", "UA-32", "Київська область", "Kyiv Oblast"},
		{"UA-40", "UA-40", "Севастополь", "Sevastopol"},
		{"UA-51", "UA-51", "Одеська область", "Odesa Oblast"},
		{"UA-09", "UA-09", "Луганська область", "Luhansk Oblast"},
		{"UA-77", "UA-77", "Чернівецька область", "Chernivtsi Oblast"},
	} {
		o, ok := m.Oblast(tc.code)
		if !ok || o.ISO != tc.iso || o.Name != tc.name || o.NameEN != tc.en {
			t.Errorf("Oblast(%q) = %s %q %q, %v; want %s %q %q", tc.code, o.ISO, o.Name, o.NameEN, ok, tc.iso, tc.name, tc.en)
		}
	}
	for _, bad := range []string{"", "UA", "UA-99", "UA99000000000000000", "RU-BEL", "63"} {
		if o, ok := m.Oblast(bad); ok {
			t.Errorf("Oblast(%q) = %s, want none", bad, o.ISO)
		}
	}
}

func TestLocate(t *testing.T) {
	m := load(t)
	for _, tc := range []struct {
		name string
		p    Point
		iso  string // "" for outside
	}{
		{"Izium", izium, "UA-63"},
		{"Kharkiv", Point{49.9935, 36.2304}, "UA-63"},
		{"Kyiv, Khreshchatyk", Point{50.4501, 30.5234}, "UA-30"}, // inside the hole of Kyiv Oblast
		{"Bila Tserkva", Point{49.7968, 30.1311}, "UA-32"},
		{"Bucha", Point{50.5436, 30.2124}, "UA-32"},
		{"Lviv", Point{49.8397, 24.0297}, "UA-46"},
		{"Odesa", Point{46.4825, 30.7233}, "UA-51"},
		{"Simferopol", Point{44.9521, 34.1024}, "UA-43"},
		{"Sevastopol", Point{44.6054, 33.5221}, "UA-40"},
		{"Mariupol", Point{47.0971, 37.5434}, "UA-14"},
		{"Kherson", Point{46.6354, 32.6169}, "UA-65"},
		{"Uzhhorod", Point{48.6208, 22.2879}, "UA-21"},
		{"Slavutych (exclave of Kyiv Oblast)", Point{51.5226, 30.7568}, "UA-32"},
		{"Warsaw", Point{52.2297, 21.0122}, ""},
		{"Belgorod", Point{50.5997, 36.5983}, ""},
		{"Black Sea", Point{43.8, 32.0}, ""},
		{"Minsk", Point{53.9006, 27.5590}, ""},
		{"Chisinau", Point{47.0105, 28.8638}, ""},
		{"NaN", Point{math.NaN(), 30}, ""},
	} {
		o, ok := m.Locate(tc.p)
		if got := o.ISO; got != tc.iso || ok != (tc.iso != "") {
			t.Errorf("Locate(%s %v) = %q, %v; want %q", tc.name, tc.p, got, ok, tc.iso)
		}
	}
}

func TestNearest(t *testing.T) {
	m := load(t)
	if o, km := m.Nearest(izium); o.ISO != "UA-63" || km != 0 {
		t.Errorf("Nearest(Izium) = %s, %v km", o.ISO, km)
	}
	// Belgorod lies about 35 km north of the border with Kharkiv Oblast.
	if o, km := m.Nearest(Point{50.5997, 36.5983}); o.ISO != "UA-63" || km < 20 || km > 50 {
		t.Errorf("Nearest(Belgorod) = %s, %.1f km; want UA-63, about 35 km", o.ISO, km)
	}
	// Przemyśl, Poland: about 10 km from Lviv Oblast.
	if o, km := m.Nearest(Point{49.7838, 22.7678}); o.ISO != "UA-46" || km < 3 || km > 20 {
		t.Errorf("Nearest(Przemyśl) = %s, %.1f km; want UA-46, about 10 km", o.ISO, km)
	}
}

// TestNoOverlap checks that the simplification kept neighbours' shared
// borders identical: no point of a fine grid over the country lies in two
// units, and almost every point inside the land border lies in one.
func TestNoOverlap(t *testing.T) {
	m := load(t)
	obs := m.Oblasts()
	b := m.Bounds()
	in, steps := 0, 0
	for lat := b.MinLat; lat <= b.MaxLat; lat += 0.05 {
		for lon := b.MinLon; lon <= b.MaxLon; lon += 0.05 {
			p := Point{lat, lon}
			var hits []string
			for _, o := range obs {
				if o.Contains(p) {
					hits = append(hits, o.ISO)
				}
			}
			if len(hits) > 1 {
				t.Errorf("%v lies in %v", p, hits)
			}
			in += len(hits)
			steps++
		}
	}
	t.Logf("%d of %d grid points in a unit", in, steps)
}

func TestProjection(t *testing.T) {
	m := load(t)
	p := m.Projection()
	b := m.Bounds()
	x, y := p.Project(Point{Lat: b.MaxLat, Lon: b.MinLon})
	if math.Abs(x) > 1e-9 || math.Abs(y) > 1e-9 {
		t.Errorf("north-west corner at (%v, %v), want (0, 0)", x, y)
	}
	x, y = p.Project(Point{Lat: b.MinLat, Lon: b.MaxLon})
	if math.Abs(x-ViewWidth) > 1e-9 || math.Abs(y-p.Height) > 1e-9 || p.Height < 500 || p.Height > 800 {
		t.Errorf("south-east corner at (%v, %v), height %v", x, y, p.Height)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		pt := Point{Lat: -85 + 170*r.Float64(), Lon: -180 + 360*r.Float64()}
		x, y := p.Project(pt)
		got := p.Unproject(x, y)
		if math.Abs(got.Lat-pt.Lat) > 1e-9 || math.Abs(got.Lon-pt.Lon) > 1e-9 {
			t.Fatalf("Unproject(Project(%v)) = %v", pt, got)
		}
	}
	// Mercator: a degree of latitude is longer in the north.
	_, y1 := p.Project(Point{Lat: 45, Lon: 30})
	_, y2 := p.Project(Point{Lat: 46, Lon: 30})
	_, y3 := p.Project(Point{Lat: 51, Lon: 30})
	_, y4 := p.Project(Point{Lat: 52, Lon: 30})
	if !(y1 > y2 && y2 > y3 && y3 > y4 && y3-y4 > y1-y2) {
		t.Errorf("latitudes 45, 46, 51, 52 at y %v %v %v %v", y1, y2, y3, y4)
	}
	// ViewBox and Bounds are inverses.
	vb := Bounds{MinLat: 48, MinLon: 35, MaxLat: 50, MaxLon: 38}
	got := p.Bounds(p.ViewBox(vb))
	if math.Abs(got.MinLat-vb.MinLat)+math.Abs(got.MaxLat-vb.MaxLat)+math.Abs(got.MinLon-vb.MinLon)+math.Abs(got.MaxLon-vb.MaxLon) > 1e-9 {
		t.Errorf("Bounds(ViewBox(%v)) = %v", vb, got)
	}
}

func TestZoom(t *testing.T) {
	m := load(t)
	p := m.Projection()
	whole := p.Zoom(izium, 0)
	if d := math.Abs(whole.MinLat-m.Bounds().MinLat) + math.Abs(whole.MaxLon-m.Bounds().MaxLon); d > 1e-9 {
		t.Errorf("Zoom(0) = %v, want the map's bounds %v", whole, m.Bounds())
	}
	for level := 1; level <= 6; level++ {
		v := p.Zoom(izium, level)
		_, _, w, h := p.ViewBox(v)
		if math.Abs(w-ViewWidth/float64(int(1)<<level)) > 1e-6 || math.Abs(h-p.Height/float64(int(1)<<level)) > 1e-6 {
			t.Errorf("Zoom(%d): %v × %v units", level, w, h)
		}
		if level >= 2 && !v.Contains(izium) {
			t.Errorf("Zoom(Izium, %d) = %v leaves Izium out", level, v)
		}
	}
	// Near the edge, the view moves to stay on the map.
	v := p.Zoom(Point{Lat: 52.3, Lon: 22.2}, 2)
	if x, y, _, _ := p.ViewBox(v); math.Abs(x) > 1e-6 || math.Abs(y) > 1e-6 {
		t.Errorf("Zoom at the north-west corner starts at (%v, %v), want (0, 0)", x, y)
	}
}

func TestTiles(t *testing.T) {
	m := load(t)
	p := m.Projection()
	ts := p.Tiles(m.Bounds(), 1000)
	if len(ts) == 0 || len(ts) > maxTiles {
		t.Fatalf("%d tiles", len(ts))
	}
	// Ukraine at 1000 px: zoom 6 (a zoom-6 world is 16384 px, Ukraine 1/20 of it).
	if ts[0].Z != 6 {
		t.Errorf("zoom %d, want 6", ts[0].Z)
	}
	// Tiles cover the view and have the size of 1/2^z of the world.
	x, y, w, h := p.ViewBox(m.Bounds())
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, tl := range ts {
		if math.Abs(tl.Size-p.Scale/64) > 1e-9 {
			t.Fatalf("tile size %v", tl.Size)
		}
		// The tile's north-west corner is where Web Mercator puts it.
		n := math.Exp2(float64(tl.Z))
		lon := float64(tl.X)/n*360 - 180
		lat := math.Atan(math.Sinh(math.Pi*(1-2*float64(tl.Y)/n))) * 180 / math.Pi
		cx, cy := p.Project(Point{Lat: lat, Lon: lon})
		if math.Abs(cx-tl.Left) > 1e-6 || math.Abs(cy-tl.Top) > 1e-6 {
			t.Fatalf("tile %d/%d/%d at (%v, %v), want (%v, %v)", tl.Z, tl.X, tl.Y, tl.Left, tl.Top, cx, cy)
		}
		minX, minY = min(minX, tl.Left), min(minY, tl.Top)
		maxX, maxY = max(maxX, tl.Left+tl.Size), max(maxY, tl.Top+tl.Size)
	}
	if minX > x || minY > y || maxX < x+w || maxY < y+h {
		t.Errorf("tiles cover (%v,%v)-(%v,%v), view (%v,%v)-(%v,%v)", minX, minY, maxX, maxY, x, y, x+w, y+h)
	}
	if p.Tiles(Bounds{}, 1000) != nil {
		t.Error("tiles for an empty view")
	}
}

func TestDecodeErrors(t *testing.T) {
	good := `{"type":"Feature","properties":{"iso":"UA-63","code":"UA63000000000041885","name":"Харківська область","name_en":"Kharkiv Oblast"},"geometry":{"type":"Polygon","coordinates":[[[36,49],[37,49],[37,50],[36,49]]]}}`
	if obs, err := decode([]byte(`{"type":"FeatureCollection","features":[` + good + `]}`)); err != nil || len(obs) != 1 || obs[0].Bounds != (Bounds{49, 36, 50, 37}) {
		t.Fatalf("decode(good) = %+v, %v", obs, err)
	}
	for name, in := range map[string]string{
		"not json":    `{`,
		"not a fc":    `{"type":"Feature","features":[` + good + `]}`,
		"no features": `{"type":"FeatureCollection","features":[]}`,
		"open ring":   strings.Replace(good, `[36,49]]]`, `[36,49.5]]]`, 1),
		"short ring":  strings.Replace(good, `[37,49],[37,50],`, `[37,49],`, 1),
		"bad lat":     strings.Replace(good, `[37,50]`, `[37,91]`, 1),
		"bad iso":     strings.Replace(good, `"UA-63"`, `"63"`, 1),
		"bad code":    strings.Replace(good, `"UA63000000000041885"`, `"UA63"`, 1),
		"no name":     strings.Replace(good, `"Харківська область"`, `""`, 1),
		"point":       strings.Replace(good, `"Polygon"`, `"Point"`, 1),
		"no rings":    strings.Replace(good, `[[[36,49],[37,49],[37,50],[36,49]]]`, `[]`, 1),
		"repeated":    `{"type":"FeatureCollection","features":[` + good + `,` + good + `]}`,
	} {
		if !strings.HasPrefix(in, `{"type":"FeatureCollection"`) && name != "not json" && name != "not a fc" {
			in = `{"type":"FeatureCollection","features":[` + in + `]}`
		}
		if _, err := decode([]byte(in)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// FuzzDecode checks that decode never panics and that what it accepts
// holds its invariants.
func FuzzDecode(f *testing.F) {
	f.Add(embedded)
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"iso":"UA-63","code":"UA63000000000041885","name":"x"},"geometry":{"type":"MultiPolygon","coordinates":[[[[36,49],[37,49],[37,50],[36,49]]]]}}]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"iso":"UA-63","code":"UA63000000000041885","name":"x"},"geometry":{"type":"Polygon","coordinates":[[[1e999,49],[37,49],[37,50],[36,49]]]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		obs, err := decode(data)
		if err != nil {
			return
		}
		for _, o := range obs {
			for _, r := range o.Rings {
				if len(r) < 4 || r[0] != r[len(r)-1] {
					t.Fatalf("%s: bad ring accepted", o.ISO)
				}
				for _, p := range r {
					if !p.Valid() || !o.Bounds.Contains(p) {
						t.Fatalf("%s: %v accepted", o.ISO, p)
					}
				}
			}
		}
		m := newMap(obs)
		_ = m.proj.path(obs[0].Rings)
	})
}

func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := Load(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLocate(b *testing.B) {
	m := load(b)
	r := rand.New(rand.NewPCG(1, 2))
	pts := make([]Point, 1024)
	for i := range pts {
		pts[i] = Point{Lat: 44 + 8.5*r.Float64(), Lon: 22 + 18*r.Float64()}
	}
	i := 0
	for b.Loop() {
		m.Locate(pts[i%len(pts)])
		i++
	}
}
