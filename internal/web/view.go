package web

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/locality"
)

// viewField is one field of a record page.
type viewField struct {
	Label    string
	Kind     string // text, long, links, group, list
	Text     string
	Links    []viewLink
	Children []*viewField
	Rows     []viewRow
}

type viewRow struct {
	Legend string
	Fields []*viewField
}

type viewLink struct {
	Href, Text, Sub string
	Missing         bool
}

type viewSection struct {
	Title  string
	Fields []*viewField
}

// resolver names the records, items and localities a page links to.
type resolver struct {
	s       *Server
	user    *custody.User
	l       *localizer
	records map[string]*custody.Record
	items   map[string]*custody.Item
}

// maxResolve bounds the lookups one page makes for the titles of linked
// records and items; beyond it, links show IDs.
const maxResolve = 200

func (s *Server) newResolver(u *custody.User, l *localizer) *resolver {
	return &resolver{s: s, user: u, l: l, records: map[string]*custody.Record{}, items: map[string]*custody.Item{}}
}

// load looks up the given record and item IDs.
func (rv *resolver) load(ctx context.Context, recordIDs, itemIDs []string) error {
	n := 0
	for _, id := range recordIDs {
		if _, ok := rv.records[id]; ok || n >= maxResolve {
			continue
		}
		n++
		r, err := rv.s.svc.Record(ctx, rv.user, id)
		if custody.ErrorCode(err) == custody.ENOTFOUND {
			rv.records[id] = nil
			continue
		} else if err != nil {
			return err
		}
		rv.records[id] = r
	}
	for _, id := range itemIDs {
		if _, ok := rv.items[id]; ok || n >= maxResolve {
			continue
		}
		n++
		it, err := rv.s.svc.Item(ctx, rv.user, id)
		if custody.ErrorCode(err) == custody.ENOTFOUND {
			rv.items[id] = nil
			continue
		} else if err != nil {
			return err
		}
		rv.items[id] = it
	}
	return nil
}

func (rv *resolver) link(target, id string) viewLink {
	switch target {
	case "locality":
		return viewLink{Href: "/records?" + fmt.Sprintf("locality=%s", id), Text: rv.s.localityName(rv.l, id), Sub: id}
	case "item":
		lk := viewLink{Href: "/items/" + id, Text: id}
		if it, ok := rv.items[id]; ok && it != nil {
			lk.Text = it.Name
			if lk.Text == "" {
				lk.Text = rv.l.T("item.physical")
			}
			lk.Sub = it.Blob.Hex()
			if len(lk.Sub) > 16 {
				lk.Sub = "sha256 " + lk.Sub[:16] + "…"
			}
		} else if ok {
			lk.Missing = true
		}
		return lk
	}
	if it, ok := rv.items[id]; ok && it != nil && rv.records[id] == nil {
		return rv.link("item", id)
	}
	lk := viewLink{Href: "/records/" + id, Text: id}
	if r, ok := rv.records[id]; ok && r != nil {
		lk.Text = rv.l.Kind(r.Kind) + ": " + r.Title
		if r.Withdrawn {
			lk.Sub = rv.l.T("record.withdrawn")
		}
	} else if ok {
		lk.Missing = true
	}
	return lk
}

// localityName names a KATOTTH unit with its oblast, in the page's
// language: "Ізюм, Харківська обл." or "Izium, Kharkivska oblast".
func (s *Server) localityName(l *localizer, code string) string {
	g := s.svc.Localities()
	if g == nil || code == "" {
		return code
	}
	path := g.Path(code)
	if len(path) == 0 {
		return code
	}
	name := func(u locality.Locality) string {
		if l.lang == "en" && u.NameLatin != "" {
			return u.NameLatin
		}
		return u.Name
	}
	u := path[len(path)-1]
	out := name(u)
	if len(path) > 1 && path[0].Category == locality.Oblast {
		out += ", " + l.T("locality.oblast", name(path[0]))
	}
	return out
}

// refIDs collects the record and item IDs a record's data refers to.
func refIDs(f *custody.RecordFacts) (records, items []string) {
	for _, r := range f.Refs {
		switch r.Target {
		case "record", "any":
			records = append(records, r.ID)
			if r.Target == "any" {
				items = append(items, r.ID)
			}
		case "item":
			items = append(items, r.ID)
		}
	}
	return records, items
}

// makeView lays out a record's data for its page.
func makeView(l *localizer, rv *resolver, kind string, data json.RawMessage) ([]viewSection, error) {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("decode %s data: %w", kind, err)
	}
	specs := schema(kind)
	byName := map[string]*fieldSpec{}
	for _, f := range specs {
		byName[f.Name] = f
	}
	used := map[string]bool{}
	var out []viewSection
	add := func(sec *viewSection, f *fieldSpec) {
		used[f.Name] = true
		if vf := viewFieldOf(l, rv, f, obj[f.Name]); vf != nil {
			sec.Fields = append(sec.Fields, vf)
		}
	}
	for _, sd := range sections[kind] {
		sec := viewSection{Title: l.T("section." + sd.key)}
		for _, n := range sd.fields {
			if f, ok := byName[n]; ok {
				add(&sec, f)
			}
		}
		if len(sec.Fields) > 0 {
			out = append(out, sec)
		}
	}
	rest := viewSection{Title: l.T("section.details")}
	for _, f := range specs {
		if !used[f.Name] {
			add(&rest, f)
		}
	}
	if len(rest.Fields) > 0 {
		out = append(out, rest)
	}
	return out, nil
}

func viewFieldOf(l *localizer, rv *resolver, f *fieldSpec, v any) *viewField {
	if v == nil {
		return nil
	}
	vf := &viewField{Label: l.T("field." + f.Name), Kind: "text"}
	str := func(x any) string { return fmt.Sprint(x) }
	switch f.Kind {
	case fSelect:
		vf.Text = l.Enum(f.Enum, str(v))
	case fMulti:
		xs, _ := v.([]any)
		var labels []string
		for _, x := range xs {
			labels = append(labels, l.Enum(f.Enum, str(x)))
		}
		vf.Text = strings.Join(labels, ", ")
	case fDate:
		vf.Text = l.Date(str(v))
	case fTimeText:
		s := str(v)
		if len(s) > 10 {
			vf.Text = l.DateTime(s)
		} else {
			vf.Text = l.Date(s)
		}
	case fCheck:
		if b, _ := v.(bool); b {
			vf.Text = l.T("common.yes")
		} else {
			vf.Text = l.T("common.no")
		}
	case fInt, fOptInt:
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				vf.Text = l.Num(i)
				break
			}
		}
		vf.Text = str(v)
	case fFloat:
		if n, ok := v.(json.Number); ok {
			if x, err := n.Float64(); err == nil {
				vf.Text = l.Decimal(x, 5)
				break
			}
		}
		vf.Text = str(v)
	case fTextarea:
		vf.Kind, vf.Text = "long", str(v)
	case fPolygon:
		xs, _ := v.([]any)
		vf.Text = l.T("field.polygon_points", l.Num(len(xs)))
	case fLines:
		xs, _ := v.([]any)
		if f.Ref != "" {
			vf.Kind = "links"
			for _, x := range xs {
				vf.Links = append(vf.Links, rv.link(targetOf(f.Ref), str(x)))
			}
		} else {
			var parts []string
			for _, x := range xs {
				parts = append(parts, str(x))
			}
			vf.Text = strings.Join(parts, "; ")
		}
	case fGroup:
		m, _ := v.(map[string]any)
		if len(f.Fields) == 2 && f.Fields[0].Name == "lat" && f.Fields[1].Name == "lon" {
			// A point: one line.
			lat, _ := m["lat"].(json.Number)
			lon, _ := m["lon"].(json.Number)
			la, err1 := lat.Float64()
			lo, err2 := lon.Float64()
			if err1 == nil && err2 == nil {
				vf.Text = l.Decimal(la, 5) + ", " + l.Decimal(lo, 5)
				break
			}
		}
		vf.Kind = "group"
		for _, sub := range f.Fields {
			if c := viewFieldOf(l, rv, sub, m[sub.Name]); c != nil {
				vf.Children = append(vf.Children, c)
			}
		}
		if len(vf.Children) == 0 {
			return nil
		}
	case fList:
		rows, _ := v.([]any)
		vf.Kind = "list"
		for i, row := range rows {
			m, _ := row.(map[string]any)
			vr := viewRow{Legend: fmt.Sprintf("%s %d", l.T("row."+f.Name), i+1)}
			for _, sub := range f.Fields {
				if c := viewFieldOf(l, rv, sub, m[sub.Name]); c != nil {
					vr.Fields = append(vr.Fields, c)
				}
			}
			vf.Rows = append(vf.Rows, vr)
		}
	default:
		vf.Text = str(v)
	}
	if f.Ref != "" && f.Kind == fText {
		vf.Kind = "links"
		vf.Links = []viewLink{rv.link(targetOf(f.Ref), str(v))}
	}
	return vf
}

func targetOf(ref string) string {
	switch ref {
	case "locality", "item":
		return ref
	}
	return "record"
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// topLevel returns the raw JSON of each top-level member of a record's
// data, to tell which fields a version changed.
func topLevel(data json.RawMessage) map[string]string {
	out := map[string]string{}
	if len(data) == 0 {
		return out
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return out
	}
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}
