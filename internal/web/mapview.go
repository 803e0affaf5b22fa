package web

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/evidence"
	"github.com/custody-dev/custody/internal/geo"
)

// The map: the oblasts' boundaries (embedded; no tile server) with sites
// and incidents as points, clustered on a grid in the database when dense.
// Zooming and panning are plain links (the page works without script);
// app.js swaps the map in place when it can.

// mapKinds are the kinds that have a position.
var mapKinds = []string{custody.KindSite, custody.KindIncident}

// maxPoints is the most records a view draws one by one (with their titles
// and links); beyond it, the database counts them by cell.
const maxPoints = 1500

// maxZoom bounds zooming in: level 12 shows about a four-hundredth of the
// country's width, a few hundred metres.
const maxZoom = 12

// mapState is a view of the map: zoom, centre and filters, all in the URL.
type mapState struct {
	Z        int
	Lat, Lon float64
	Kinds    []string
	Type     string
	From, To string
}

func parseMapState(q url.Values, m *geo.Map) mapState {
	c := m.Bounds().Center()
	st := mapState{Lat: c.Lat, Lon: c.Lon}
	st.Z, _ = strconv.Atoi(q.Get("z"))
	st.Z = max(0, min(maxZoom, st.Z))
	if v, err := strconv.ParseFloat(q.Get("lat"), 64); err == nil && v >= -85 && v <= 85 {
		st.Lat = v
	}
	if v, err := strconv.ParseFloat(q.Get("lon"), 64); err == nil && v >= -180 && v <= 180 {
		st.Lon = v
	}
	for _, k := range q["kind"] {
		for _, mk := range mapKinds {
			if k == mk {
				st.Kinds = append(st.Kinds, k)
			}
		}
	}
	if len(st.Kinds) == 0 {
		st.Kinds = mapKinds
	}
	st.Type = q.Get("type")
	if len(st.Type) > 64 {
		st.Type = ""
	}
	st.From, st.To = dateParam(q.Get("from")), dateParam(q.Get("to"))
	return st
}

// dateParam keeps a date (YYYY, YYYY-MM or YYYY-MM-DD) and drops anything
// else.
func dateParam(v string) string {
	for _, f := range []string{"2006-01-02", "2006-01", "2006"} {
		if _, err := time.Parse(f, v); err == nil && len(v) == len(f) {
			return v
		}
	}
	return ""
}

// url returns the map URL of the state at another zoom and centre.
func (st mapState) url(path string, z int, lat, lon float64) string {
	q := url.Values{}
	q.Set("z", strconv.Itoa(max(0, min(maxZoom, z))))
	q.Set("lat", strconv.FormatFloat(lat, 'f', 5, 64))
	q.Set("lon", strconv.FormatFloat(lon, 'f', 5, 64))
	if len(st.Kinds) != len(mapKinds) {
		for _, k := range st.Kinds {
			q.Add("kind", k)
		}
	}
	for k, v := range map[string]string{"type": st.Type, "from": st.From, "to": st.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return path + "?" + q.Encode()
}

func (st mapState) key() string { return st.url("", st.Z, st.Lat, st.Lon) }

// mapView is the rendered map and what it shows.
type mapView struct {
	SVG      template.HTML
	Total    int
	Clusters int
	PerKind  []tile
	Points   []mapPointRow // the records drawn one by one, as a list
	Nav      map[string]string
	Zoom     int
	Attrib   string
}

type mapPointRow struct {
	Href, Kind, Title, Where string
	Count                    int
}

// mapData is what a view of the map shows, in no language: computed from
// the store and cached (see figures).
type mapData struct {
	View     geo.Bounds
	Total    int
	PerKind  map[string]int
	Clusters []geo.Cluster
	Points   []evidence.MapPoint // the records, when few enough to draw one by one
}

// mapData computes (or reuses) the content of a map state.
func (s *Server) mapData(ctx context.Context, u *custody.User, st mapState) (*mapData, error) {
	return s.maps.get(ctx, s, scopeKey(u)+" "+st.key(), func(ctx context.Context) (*mapData, error) { return s.computeMap(ctx, u, st) })
}

func (s *Server) computeMap(ctx context.Context, u *custody.User, st mapState) (*mapData, error) {
	proj := s.geo.Projection()
	view := proj.Zoom(geo.Point{Lat: st.Lat, Lon: st.Lon}, st.Z)
	grid := geo.GridFor(view, 1000, 40)
	// A margin of a cell, so that clusters at the edges count what lies
	// just beyond them.
	f := evidence.MapFilter{Kinds: st.Kinds, Type: st.Type, From: st.From, To: st.To,
		MinLat: view.MinLat - grid.DLat, MaxLat: view.MaxLat + grid.DLat, MinLon: view.MinLon - grid.DLon, MaxLon: view.MaxLon + grid.DLon}
	cells, err := s.svc.MapCells(ctx, u, f, grid.DLat, grid.DLon)
	if err != nil {
		return nil, err
	}
	d := &mapData{View: view, PerKind: map[string]int{}}
	var gcells []geo.Cell
	for _, c := range cells {
		d.Total += c.Count
		d.PerKind[c.Kind] += c.Count
		gcells = append(gcells, geo.Cell{Row: c.Row, Col: c.Col, Kind: c.Kind, Count: c.Count, Lat: c.Lat, Lon: c.Lon})
	}
	if d.Total <= maxPoints {
		if d.Points, err = s.svc.MapPoints(ctx, u, f, maxPoints); err != nil {
			return nil, err
		}
		ms := make([]geo.Marker, 0, len(d.Points))
		for _, p := range d.Points {
			ms = append(ms, geo.Marker{Point: geo.Point{Lat: p.Lat, Lon: p.Lon}, Kind: p.Kind, ID: p.ID, Href: "/records/" + p.ID})
		}
		d.Clusters = grid.Cluster(ms)
	} else {
		d.Clusters = geo.MergeCells(gcells)
	}
	return d, nil
}

// renderMap draws a map state's content in a language.
func (s *Server) renderMap(l *localizer, st mapState, d *mapData) (*mapView, error) {
	v := &mapView{Zoom: st.Z, Attrib: geo.Attribution, Total: d.Total, Clusters: len(d.Clusters)}
	titles := make(map[string]evidence.MapPoint, len(d.Points))
	for _, p := range d.Points {
		titles[p.ID] = p
		if len(v.Points) < 200 {
			v.Points = append(v.Points, mapPointRow{Href: "/records/" + p.ID, Kind: l.Kind(p.Kind), Title: p.Title,
				Where: l.Decimal(p.Lat, 4) + ", " + l.Decimal(p.Lon, 4), Count: 1})
		}
	}
	opts := geo.SVGOptions{View: d.View, Title: l.T("map.svg_title"), ID: "map-"}
	if st.Z == 0 {
		opts.View = geo.Bounds{}
	}
	for _, c := range d.Clusters {
		mk := c.Marker
		if mk.Count > 1 || mk.Href == "" {
			// A cluster zooms in on itself.
			mk.Href = st.url("/map", st.Z+2, mk.Lat, mk.Lon)
			mk.Label = l.T("map.cluster", l.Num(max(1, mk.Count)))
		} else if p, ok := titles[mk.ID]; ok {
			mk.Label = l.Kind(p.Kind) + ": " + p.Title
		}
		opts.Markers = append(opts.Markers, mk)
	}
	opts.OblastHref = func(o geo.Oblast) string {
		c := o.Bounds.Center()
		return st.url("/map", max(st.Z, 2), c.Lat, c.Lon)
	}
	var buf bytes.Buffer
	if err := s.geo.SVG(&buf, opts); err != nil {
		return nil, fmt.Errorf("draw map: %w", err)
	}
	v.SVG = template.HTML(buf.String()) // geo escapes every text and attribute it writes
	for _, k := range mapKinds {
		v.PerKind = append(v.PerKind, tile{Label: l.Kinds(k), Value: l.Num(d.PerKind[k]), Class: "kind-" + k})
	}
	// Navigation: zoom and pan by half a view.
	dLat, dLon := (d.View.MaxLat-d.View.MinLat)/2, (d.View.MaxLon-d.View.MinLon)/2
	c := d.View.Center()
	if st.Z == 0 {
		c = geo.Point{Lat: st.Lat, Lon: st.Lon}
	}
	v.Nav = map[string]string{
		"in":    st.url("/map", st.Z+1, c.Lat, c.Lon),
		"out":   st.url("/map", st.Z-1, c.Lat, c.Lon),
		"north": st.url("/map", st.Z, c.Lat+dLat, c.Lon),
		"south": st.url("/map", st.Z, c.Lat-dLat, c.Lon),
		"west":  st.url("/map", st.Z, c.Lat, c.Lon-dLon),
		"east":  st.url("/map", st.Z, c.Lat, c.Lon+dLon),
		"all":   st.url("/map", 0, 0, 0),
	}
	return v, nil
}

// mapView computes or reuses a map state and draws it.
func (s *Server) mapView(ctx context.Context, u *custody.User, l *localizer, st mapState) (*mapView, error) {
	d, err := s.mapData(ctx, u, st)
	if err != nil {
		return nil, err
	}
	return s.renderMap(l, st, d)
}

type mapPage struct {
	State mapState
	View  *mapView
	Kinds []option
	Types []optgroup
	Z     int
	Lat   string
	Lon   string
}

type optgroup struct {
	Label   string
	Options []option
}

func (s *Server) mapPage(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	st := parseMapState(r.URL.Query(), s.geo)
	v, err := s.mapView(r.Context(), c.user, c.l, st)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	d := mapPage{State: st, View: v, Z: st.Z, Lat: strconv.FormatFloat(st.Lat, 'f', 5, 64), Lon: strconv.FormatFloat(st.Lon, 'f', 5, 64)}
	for _, k := range mapKinds {
		sel := false
		for _, x := range st.Kinds {
			sel = sel || x == k
		}
		d.Kinds = append(d.Kinds, option{Value: k, Label: c.l.Kinds(k), Selected: sel})
	}
	d.Types = []optgroup{{Label: c.l.Kinds(custody.KindSite)}, {Label: c.l.Kinds(custody.KindIncident)}}
	for _, t := range custody.SiteTypes {
		d.Types[0].Options = append(d.Types[0].Options, option{Value: t, Label: c.l.Enum("site_type", t), Selected: t == st.Type})
	}
	for _, t := range custody.IncidentTypes {
		d.Types[1].Options = append(d.Types[1].Options, option{Value: t, Label: c.l.Enum("incident_type", t), Selected: t == st.Type})
	}
	s.render(w, r, c, http.StatusOK, "map", &page{Title: c.l.T("map.title"), Nav: "map", Data: d})
}

// mapFragment returns the map alone, for app.js to swap in place.
func (s *Server) mapFragment(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	st := parseMapState(r.URL.Query(), s.geo)
	v, err := s.mapView(r.Context(), c.user, c.l, st)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	s.render(w, r, c, http.StatusOK, "mapview", &page{Data: mapPage{State: st, View: v}})
}

// mapInset is a small map around one position (a record's, an item's).
type mapInset struct {
	SVG    template.HTML
	Lat    string
	Lon    string
	Oblast string
	Href   string
}

// inset draws a small map of the region around a position, with a marker.
func (s *Server) inset(l *localizer, lat, lon float64) *mapInset {
	if math.IsNaN(lat) || math.IsNaN(lon) {
		return nil
	}
	p := geo.Point{Lat: lat, Lon: lon}
	if !p.Valid() {
		return nil
	}
	view := s.geo.Projection().Zoom(p, 3)
	var buf bytes.Buffer
	if err := s.geo.SVG(&buf, geo.SVGOptions{View: view, ID: "inset-", Class: "inset", MarkerRadius: 7, Width: 320,
		Markers: []geo.Marker{{Point: p, Kind: "here"}}}); err != nil {
		s.logger.Warn("draw inset map", "err", err)
		return nil
	}
	in := &mapInset{SVG: template.HTML(buf.String()), Lat: strconv.FormatFloat(lat, 'f', 5, 64), Lon: strconv.FormatFloat(lon, 'f', 5, 64),
		Href: mapState{Kinds: mapKinds}.url("/map", 6, lat, lon)}
	if o, ok := s.geo.Locate(p); ok {
		in.Oblast = o.Name
		if l.lang == "en" && o.NameEN != "" {
			in.Oblast = o.NameEN
		}
	}
	in.Lat, in.Lon = l.Decimal(lat, 5), l.Decimal(lon, 5)
	return in
}
