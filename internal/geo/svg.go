package geo

import (
	"bufio"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
)

// SVGOptions says what Map.SVG draws. The zero value draws the whole
// country's boundaries, with no markers and no tiles.
type SVGOptions struct {
	// View is the area shown (see Projection.Zoom); zero: the whole map.
	View Bounds
	// Width and Height are the size attributes of the <svg> element, in
	// pixels; zero leaves them out, and the SVG then fills its container.
	Width, Height int
	// Title names the map for screen readers; default "Україна — Ukraine".
	Title string
	// ID prefixes the element ids of the SVG (its title's id is ID+"title",
	// each oblast's ID+"UA-63"), so that two maps can share a page;
	// default "map-".
	ID string
	// Class is added to the <svg> element's class "geo-map".
	Class string
	// Selected lists units to mark with the class "selected" (ISO or KATOTTH
	// codes, as Map.Oblast takes).
	Selected []string
	// OblastHref, if set, links each unit (for filtering without script);
	// an empty result leaves that unit unlinked.
	OblastHref func(Oblast) string
	// Markers are drawn over the boundaries, in order; markers outside the
	// view are left out.
	Markers []Marker
	// MarkerRadius is the radius, in screen pixels, of a single record's
	// marker; default 5. A cluster's grows with the logarithm of its count.
	MarkerRadius float64
	// TileURL, if set, draws web map tiles under the boundaries: a template
	// such as "https://tiles.example.org/{z}/{x}/{y}.png". Empty: no tiles,
	// the boundaries alone (the map needs no tile server).
	TileURL string
}

// SVG writes the map as an inline <svg> element (no XML declaration, no
// styles: style it with CSS). Its structure, for stylesheets and scripts:
//
//	<svg class="geo-map" viewBox="…" data-scale="…" data-x0="…" data-y0="…">  the Projection
//	  <title id="map-title">…</title>
//	  <g class="tiles"><image class="tile" href="…" …/>…</g>                    only with TileURL
//	  <g class="oblasts">
//	    <path class="oblast [selected]" id="map-UA-63" data-iso="UA-63"
//	          data-code="UA63000000000041885" data-name="…" fill-rule="evenodd" d="…">
//	      <title>Харківська область (Kharkiv Oblast)</title></path>        (in <a href> with OblastHref)
//	  </g>
//	  <g class="markers">
//	    <circle class="marker kind-site" cx="…" cy="…" r="…" data-kind="site"
//	            data-id="…" data-lat="…" data-lon="…"><title>…</title></circle>   (in <a href> with Href)
//	    <g class="cluster kind-incident" data-kind="incident" data-count="1234" data-lat="…" data-lon="…">
//	      <circle cx="…" cy="…" r="…"/><text x="…" y="…" font-size="…">1.2k</text><title>1234</title></g>
//	  </g>
//	</svg>
//
// Stroke widths are the stylesheet's; give paths vector-effect:
// non-scaling-stroke so that zooming does not thicken them. Every text and
// attribute value is escaped. SVG writes the boundaries from paths computed
// once by Load: about 50 KB in some 50 µs; each marker adds 150 to 300
// bytes.
func (m *Map) SVG(w io.Writer, opts SVGOptions) error {
	view := opts.View
	if view.IsZero() {
		view = m.bounds
	}
	if !(view.MaxLat > view.MinLat && view.MaxLon > view.MinLon) {
		return errors.New("geo: SVG: empty view")
	}
	vx, vy, vw, vh := m.proj.ViewBox(view)
	if opts.View.IsZero() { // a margin around the whole country
		pad := vw / 100
		vx, vy, vw, vh = vx-pad, vy-pad, vw+2*pad, vh+2*pad
	}
	pxWidth := float64(opts.Width)
	if pxWidth <= 0 {
		pxWidth = ViewWidth
	}
	unitsPerPx := vw / pxWidth
	id := opts.ID
	if id == "" {
		id = "map-"
	}
	title := opts.Title
	if title == "" {
		title = "Україна — Ukraine"
	}
	selected := make([]bool, len(m.oblasts))
	for _, c := range opts.Selected {
		if i := m.index(c); i >= 0 {
			selected[i] = true
		}
	}

	s := svgWriter{w: bufio.NewWriterSize(w, 32<<10)}
	s.str(`<svg xmlns="http://www.w3.org/2000/svg" class="geo-map`)
	if opts.Class != "" {
		s.str(" ")
		s.esc(opts.Class)
	}
	s.str(`" viewBox="`)
	s.num(vx, 2)
	s.str(" ")
	s.num(vy, 2)
	s.str(" ")
	s.num(vw, 2)
	s.str(" ")
	s.num(vh, 2)
	s.str(`"`)
	if opts.Width > 0 {
		s.attrInt("width", opts.Width)
	}
	if opts.Height > 0 {
		s.attrInt("height", opts.Height)
	}
	s.str(` role="img" aria-labelledby="`)
	s.esc(id)
	s.str(`title" data-scale="`)
	s.num(m.proj.Scale, -1)
	s.str(`" data-x0="`)
	s.num(m.proj.X0, -1)
	s.str(`" data-y0="`)
	s.num(m.proj.Y0, -1)
	s.str(`"><title id="`)
	s.esc(id)
	s.str(`title">`)
	s.esc(title)
	s.str("</title>\n")

	if opts.TileURL != "" {
		s.str(`<g class="tiles">`)
		for _, t := range m.proj.Tiles(view, pxWidth) {
			u := strings.NewReplacer("{z}", strconv.Itoa(t.Z), "{x}", strconv.Itoa(t.X), "{y}", strconv.Itoa(t.Y)).Replace(opts.TileURL)
			s.str(`<image class="tile" href="`)
			s.esc(u)
			s.str(`" x="`)
			s.num(t.Left, 2)
			s.str(`" y="`)
			s.num(t.Top, 2)
			s.str(`" width="`)
			s.num(t.Size, 2)
			s.str(`" height="`)
			s.num(t.Size, 2)
			s.str(`"/>`)
		}
		s.str("</g>\n")
	}

	s.str(`<g class="oblasts">` + "\n")
	for i, o := range m.oblasts {
		href := ""
		if opts.OblastHref != nil {
			href = opts.OblastHref(o)
		}
		if href != "" {
			s.str(`<a href="`)
			s.esc(href)
			s.str(`">`)
		}
		s.str(`<path class="oblast`)
		if selected[i] {
			s.str(" selected")
		}
		s.str(`" id="`)
		s.esc(id)
		s.esc(o.ISO)
		s.str(`" data-iso="`)
		s.esc(o.ISO)
		s.str(`" data-code="`)
		s.esc(o.Code)
		s.str(`" data-name="`)
		s.esc(o.Name)
		s.str(`" fill-rule="evenodd" d="`)
		s.str(m.paths[i])
		s.str(`"><title>`)
		s.esc(o.Name)
		if o.NameEN != "" {
			s.str(" (")
			s.esc(o.NameEN)
			s.str(")")
		}
		s.str("</title></path>")
		if href != "" {
			s.str("</a>")
		}
		s.str("\n")
	}
	s.str("</g>\n")

	if len(opts.Markers) > 0 {
		base := opts.MarkerRadius
		if base <= 0 {
			base = 5
		}
		// Leave out markers more than a cluster's radius outside the view.
		margin := 4 * base * unitsPerPx
		s.str(`<g class="markers">` + "\n")
		for _, mk := range opts.Markers {
			if !mk.Valid() {
				continue
			}
			x, y := m.proj.Project(mk.Point)
			if x < vx-margin || x > vx+vw+margin || y < vy-margin || y > vy+vh+margin {
				continue
			}
			s.marker(mk, x, y, base*unitsPerPx)
		}
		s.str("</g>\n")
	}
	s.str("</svg>\n")
	if s.err != nil {
		return s.err
	}
	return s.w.Flush()
}

// svgWriter writes to a buffered writer and keeps the first error.
type svgWriter struct {
	w   *bufio.Writer
	err error
	buf []byte
}

func (s *svgWriter) str(v string) {
	if s.err == nil {
		_, s.err = s.w.WriteString(v)
	}
}

// esc writes v escaped for both text and attribute values.
func (s *svgWriter) esc(v string) {
	if s.err == nil {
		s.err = xml.EscapeText(s.w, []byte(v))
	}
}

// num writes v with prec decimals (-1: as many as needed), trailing zeros
// dropped.
func (s *svgWriter) num(v float64, prec int) {
	if prec >= 0 {
		p := math.Pow10(prec)
		v = math.Round(v*p) / p
	}
	if v == 0 {
		v = 0 // no "-0"
	}
	s.buf = strconv.AppendFloat(s.buf[:0], v, 'f', -1, 64)
	if s.err == nil {
		_, s.err = s.w.Write(s.buf)
	}
}

func (s *svgWriter) attrInt(name string, v int) {
	s.str(" " + name + `="` + strconv.Itoa(v) + `"`)
}

func (s *svgWriter) attrNum(name string, v float64, prec int) {
	s.str(" " + name + `="`)
	s.num(v, prec)
	s.str(`"`)
}

func (s *svgWriter) attr(name, v string) {
	s.str(" " + name + `="`)
	s.esc(v)
	s.str(`"`)
}

func (s *svgWriter) marker(mk Marker, x, y, r float64) {
	n := mk.count()
	if mk.Href != "" {
		s.str(`<a href="`)
		s.esc(mk.Href)
		s.str(`">`)
	}
	cls := ""
	if mk.Kind != "" {
		cls = " kind-" + className(mk.Kind)
	}
	if n == 1 {
		s.str(`<circle class="marker` + cls + `"`)
		s.attrNum("cx", x, 2)
		s.attrNum("cy", y, 2)
		s.attrNum("r", r, 3)
	} else {
		r *= 1 + math.Log10(float64(n))
		s.str(`<g class="cluster` + cls + `"`)
		s.attrInt("data-count", n)
	}
	if mk.Kind != "" {
		s.attr("data-kind", mk.Kind)
	}
	if mk.ID != "" {
		s.attr("data-id", mk.ID)
	}
	s.attrNum("data-lat", mk.Lat, 5)
	s.attrNum("data-lon", mk.Lon, 5)
	s.str(">")
	if n > 1 {
		s.str("<circle")
		s.attrNum("cx", x, 2)
		s.attrNum("cy", y, 2)
		s.attrNum("r", r, 3)
		s.str("/><text")
		s.attrNum("x", x, 2)
		s.attrNum("y", y, 2)
		s.attrNum("font-size", r, 3)
		s.str(` text-anchor="middle" dominant-baseline="central">` + shortCount(n) + "</text>")
	}
	label := mk.Label
	if label == "" && n > 1 {
		label = strconv.Itoa(n)
	}
	if label != "" {
		s.str("<title>")
		s.esc(label)
		s.str("</title>")
	}
	if n == 1 {
		s.str("</circle>")
	} else {
		s.str("</g>")
	}
	if mk.Href != "" {
		s.str("</a>")
	}
	s.str("\n")
}

// className keeps letters, digits, '-' and '_' of kind and replaces
// anything else with '_'.
func className(kind string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, kind)
}

// shortCount writes a count in at most four characters: 999, 1.2k, 12k,
// 1.2M.
func shortCount(n int) string {
	switch {
	case n < 1000:
		return strconv.Itoa(n)
	case n < 10_000:
		return strconv.FormatFloat(math.Floor(float64(n)/100)/10, 'f', -1, 64) + "k"
	case n < 1_000_000:
		return strconv.Itoa(n/1000) + "k"
	case n < 10_000_000:
		return strconv.FormatFloat(math.Floor(float64(n)/100_000)/10, 'f', -1, 64) + "M"
	default:
		return strconv.Itoa(n/1_000_000) + "M"
	}
}
