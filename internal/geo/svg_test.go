package geo

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
)

// element is a parsed SVG element: enough of a DOM to check structure.
type element struct {
	name     string
	attrs    map[string]string
	children []*element
	text     string
}

func (e *element) all(name string) []*element {
	var out []*element
	var walk func(*element)
	walk = func(x *element) {
		if x.name == name {
			out = append(out, x)
		}
		for _, c := range x.children {
			walk(c)
		}
	}
	walk(e)
	return out
}

func (e *element) child(name string) *element {
	for _, c := range e.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// parseSVG walks the document with encoding/xml's decoder, which fails on
// anything that is not well-formed.
func parseSVG(t *testing.T, data []byte) *element {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	var stack []*element
	var root *element
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := &element{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, e)
			} else if root != nil {
				t.Fatal("two root elements")
			} else {
				root = e
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tok)
			}
		}
	}
	if root == nil || root.name != "svg" {
		t.Fatal("no <svg> root")
	}
	return root
}

func render(t *testing.T, m *Map, opts SVGOptions) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := m.SVG(&b, opts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSVG(t *testing.T) {
	m := load(t)
	out := render(t, m, SVGOptions{})
	t.Logf("whole map: %d bytes", len(out))
	root := parseSVG(t, out)
	if root.attrs["role"] != "img" || root.attrs["aria-labelledby"] != "map-title" || root.attrs["class"] != "geo-map" {
		t.Errorf("svg attributes %v", root.attrs)
	}
	if title := root.child("title"); title == nil || title.attrs["id"] != "map-title" || title.text != "Україна — Ukraine" {
		t.Errorf("svg title %+v", title)
	}
	if _, ok := root.attrs["width"]; ok {
		t.Error("width set without Width")
	}
	// The projection is in data attributes, exactly.
	p := m.Projection()
	for name, want := range map[string]float64{"data-scale": p.Scale, "data-x0": p.X0, "data-y0": p.Y0} {
		if got, err := strconv.ParseFloat(root.attrs[name], 64); err != nil || got != want {
			t.Errorf("%s = %q, want %v", name, root.attrs[name], want)
		}
	}
	paths := root.all("path")
	if len(paths) != 27 {
		t.Fatalf("%d paths, want 27", len(paths))
	}
	for _, path := range paths {
		o, ok := m.Oblast(path.attrs["data-iso"])
		if !ok || path.attrs["class"] != "oblast" || path.attrs["id"] != "map-"+o.ISO || path.attrs["data-code"] != o.Code ||
			path.attrs["data-name"] != o.Name || path.attrs["fill-rule"] != "evenodd" {
			t.Errorf("path attributes %v", path.attrs)
		}
		if title := path.child("title"); title == nil || title.text != o.Name+" ("+o.NameEN+")" {
			t.Errorf("%s: title %+v", o.ISO, title)
		}
	}
	if len(root.all("g")) != 1 || len(root.all("circle")) != 0 || len(root.all("image")) != 0 {
		t.Error("markers or tiles drawn without being asked for")
	}
	if !bytes.Equal(out, render(t, m, SVGOptions{})) {
		t.Error("two renderings differ")
	}
}

// TestSVGPathIzium checks the drawn path itself: Izium, projected, lies
// inside Kharkiv Oblast's path and outside its neighbours'.
func TestSVGPathIzium(t *testing.T) {
	m := load(t)
	root := parseSVG(t, render(t, m, SVGOptions{}))
	x, y := m.Projection().Project(izium)
	for _, path := range root.all("path") {
		rings := parsePath(t, path.attrs["d"])
		in := false
		for _, r := range rings {
			if r.contains(Point{Lat: y, Lon: x}) { // Ring works on any plane
				in = !in
			}
		}
		if want := path.attrs["data-iso"] == "UA-63"; in != want {
			t.Errorf("Izium inside %s's path: %v", path.attrs["data-iso"], in)
		}
	}
}

// parsePath reads the path data that Projection.path writes (M, l, z).
func parsePath(t *testing.T, d string) []Ring {
	t.Helper()
	var rings []Ring
	var cur Ring
	var x, y float64
	rel := false
	var nums []float64
	flush := func() {
		for i := 0; i+1 < len(nums); i += 2 {
			if rel || len(cur) > 0 {
				x, y = x+nums[i], y+nums[i+1]
			} else {
				x, y = nums[i], nums[i+1]
			}
			cur = append(cur, Point{Lat: y, Lon: x})
		}
		if len(nums)%2 != 0 {
			t.Fatalf("odd number of coordinates in %q", d[:min(len(d), 80)])
		}
		nums = nums[:0]
	}
	for i := 0; i < len(d); {
		c := d[i]
		switch {
		case c == 'M':
			flush()
			rel, cur = false, nil
			i++
		case c == 'l':
			flush()
			rel = true
			i++
		case c == 'z':
			flush()
			cur = append(cur, cur[0])
			rings = append(rings, cur)
			cur = nil
			i++
		case c == ' ':
			i++
		default:
			j := i + 1
			for j < len(d) && (d[j] >= '0' && d[j] <= '9' || d[j] == '.') {
				j++
			}
			v, err := strconv.ParseFloat(d[i:j], 64)
			if err != nil {
				t.Fatalf("path: %v", err)
			}
			nums = append(nums, v)
			i = j
		}
	}
	if len(rings) == 0 {
		t.Fatal("empty path")
	}
	return rings
}

func TestSVGMarkersAndEscaping(t *testing.T) {
	m := load(t)
	evil := `</title><script>alert("x")</script>&amp;'`
	view := m.Projection().Zoom(izium, 3)
	out := render(t, m, SVGOptions{
		View:     view,
		Width:    800,
		Height:   600,
		ID:       `m"1`,
		Title:    evil,
		Class:    `big" onload="x`,
		Selected: []string{"UA-63", "UA14000000000091971", "nonsense"},
		OblastHref: func(o Oblast) string {
			if o.ISO == "UA-65" {
				return ""
			}
			return "/map?oblast=" + o.ISO + "&x=<y>"
		},
		Markers: []Marker{
			{Point: izium, Kind: `site" x="1`, ID: evil, Label: evil, Href: `/records/1?a=1&b="2"`},
			{Point: Point{49.25, 37.3}, Kind: "incident", Count: 1234},
			{Point: Point{50.45, 30.52}, Kind: "site", ID: "far"}, // Kyiv: outside the view
			{Point: Point{math.NaN(), 1}, Kind: "site", ID: "nan"},
			{Point: Point{49.2, 37.2}, ID: "nokind"},
		},
	})
	if bytes.Contains(out, []byte("<script")) || bytes.Contains(out, []byte(`onload="`)) {
		t.Fatal("unescaped markup in the SVG")
	}
	root := parseSVG(t, out)
	if root.attrs["width"] != "800" || root.attrs["height"] != "600" || root.attrs["class"] != `geo-map big" onload="x` {
		t.Errorf("svg attributes %v", root.attrs)
	}
	if title := root.child("title"); title.text != evil || title.attrs["id"] != `m"1title` {
		t.Errorf("title %+v", title)
	}
	vx, vy, vw, vh := m.Projection().ViewBox(view)
	f := strings.Fields(root.attrs["viewBox"])
	if len(f) != 4 {
		t.Fatalf("viewBox %q", root.attrs["viewBox"])
	}
	for i, want := range []float64{vx, vy, vw, vh} {
		if got, _ := strconv.ParseFloat(f[i], 64); math.Abs(got-want) > 0.01 {
			t.Errorf("viewBox[%d] = %v, want %v", i, got, want)
		}
	}
	// Oblasts: selected ones marked, links where OblastHref gives one.
	links := 0
	for _, a := range root.all("a") {
		if p := a.child("path"); p != nil {
			links++
			if want := "/map?oblast=" + p.attrs["data-iso"] + "&x=<y>"; a.attrs["href"] != want {
				t.Errorf("oblast link %q, want %q", a.attrs["href"], want)
			}
		}
	}
	if links != 26 {
		t.Errorf("%d oblast links, want 26", links)
	}
	selected := 0
	for _, p := range root.all("path") {
		if strings.Contains(p.attrs["class"], "selected") {
			selected++
			if iso := p.attrs["data-iso"]; iso != "UA-63" && iso != "UA-14" {
				t.Errorf("%s selected", iso)
			}
		}
	}
	if selected != 2 {
		t.Errorf("%d selected, want 2", selected)
	}
	// Markers: the single record, linked, with its attributes escaped.
	circles := root.all("circle")
	if len(circles) != 3 { // the record, the cluster's circle, the kindless record
		t.Fatalf("%d circles, want 3: %s", len(circles), out)
	}
	rec := circles[0]
	if rec.attrs["class"] != `marker kind-site__x__1` || rec.attrs["data-kind"] != `site" x="1` || rec.attrs["data-id"] != evil ||
		rec.attrs["data-lat"] != "49.2128" || rec.attrs["data-lon"] != "37.2566" {
		t.Errorf("record marker %v", rec.attrs)
	}
	if rec.child("title").text != evil {
		t.Errorf("record title %q", rec.child("title").text)
	}
	x, y := m.Projection().Project(izium)
	if cx, _ := strconv.ParseFloat(rec.attrs["cx"], 64); math.Abs(cx-x) > 0.01 {
		t.Errorf("cx %v, want %v", cx, x)
	}
	if cy, _ := strconv.ParseFloat(rec.attrs["cy"], 64); math.Abs(cy-y) > 0.01 {
		t.Errorf("cy %v, want %v", cy, y)
	}
	// r is 5 screen pixels: the view is vw units over 800 px.
	if r, _ := strconv.ParseFloat(rec.attrs["r"], 64); math.Abs(r-5*vw/800) > 0.001 {
		t.Errorf("r %v, want %v", r, 5*vw/800)
	}
	var recLink *element
	for _, a := range root.all("a") {
		if a.child("circle") != nil {
			recLink = a
		}
	}
	if recLink == nil || recLink.attrs["href"] != `/records/1?a=1&b="2"` {
		t.Errorf("record link %+v", recLink)
	}
	var cluster *element
	for _, g := range root.all("g") {
		if strings.HasPrefix(g.attrs["class"], "cluster") {
			cluster = g
		}
	}
	if cluster == nil || cluster.attrs["class"] != "cluster kind-incident" || cluster.attrs["data-count"] != "1234" ||
		cluster.child("text").text != "1.2k" || cluster.child("title").text != "1234" {
		t.Errorf("cluster %+v", cluster)
	}
	if circles[2].attrs["class"] != "marker" || circles[2].attrs["data-id"] != "nokind" {
		t.Errorf("kindless marker %v", circles[2].attrs)
	}
	if bytes.Contains(out, []byte(`data-id="far"`)) || bytes.Contains(out, []byte(`data-id="nan"`)) {
		t.Error("markers outside the view drawn")
	}
}

func TestSVGTiles(t *testing.T) {
	m := load(t)
	out := render(t, m, SVGOptions{TileURL: "https://tiles.example.org/{z}/{x}/{y}.png?k=a&b"})
	root := parseSVG(t, out)
	imgs := root.all("image")
	ts := m.Projection().Tiles(m.Bounds(), ViewWidth)
	if len(imgs) != len(ts) || len(imgs) == 0 {
		t.Fatalf("%d images, %d tiles", len(imgs), len(ts))
	}
	want := "https://tiles.example.org/" + strconv.Itoa(ts[0].Z) + "/" + strconv.Itoa(ts[0].X) + "/" + strconv.Itoa(ts[0].Y) + ".png?k=a&b"
	if imgs[0].attrs["href"] != want {
		t.Errorf("tile href %q, want %q", imgs[0].attrs["href"], want)
	}
	// Tiles come before (under) the boundaries.
	if bytes.Index(out, []byte("<image")) > bytes.Index(out, []byte("<path")) {
		t.Error("tiles drawn over the boundaries")
	}
}

func TestSVGErrors(t *testing.T) {
	m := load(t)
	if err := m.SVG(io.Discard, SVGOptions{View: Bounds{MinLat: 50, MaxLat: 50, MinLon: 30, MaxLon: 31}}); err == nil {
		t.Error("empty view accepted")
	}
	if err := m.SVG(failWriter{}, SVGOptions{}); err == nil {
		t.Error("write error lost")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestShortCount(t *testing.T) {
	for n, want := range map[int]string{1: "1", 999: "999", 1000: "1k", 1234: "1.2k", 9999: "9.9k", 12345: "12k",
		999_999: "999k", 1_000_000: "1M", 1_250_000: "1.2M", 25_000_000: "25M"} {
		if got := shortCount(n); got != want {
			t.Errorf("shortCount(%d) = %q, want %q", n, got, want)
		}
	}
}

func BenchmarkSVG(b *testing.B) {
	m := load(b)
	g := GridFor(m.Bounds(), 1000, 20)
	var opts SVGOptions
	for _, c := range g.Cluster(randomMarkers(100_000, 4)) {
		opts.Markers = append(opts.Markers, c.Marker)
	}
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := m.SVG(&buf, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(opts.Markers)), "markers")
	b.ReportMetric(float64(buf.Len()), "bytes")
}

func BenchmarkSVGBoundaries(b *testing.B) {
	m := load(b)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := m.SVG(&buf, SVGOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes")
}
