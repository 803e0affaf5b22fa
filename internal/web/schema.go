package web

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/custody-dev/custody"
)

// The record forms and record pages are built from one schema per kind,
// derived by reflection from the kind's Go type (custody.Site, Remains,
// ...) and annotated below with what the type does not say: enumerations,
// references, dates, long texts, required fields and sections. A form's
// values travel as url.Values keyed by the field's path ("injuries.0.region");
// build turns them into the record's JSON, which the service validates
// strictly, and flatten turns a record's JSON back into values.

type fieldKind int

const (
	fText fieldKind = iota
	fTextarea
	fInt      // int
	fOptInt   // *int: empty is absent
	fFloat    // float64 (a coordinate)
	fDate     // YYYY-MM-DD
	fSelect   // one of an enumeration
	fMulti    // several of an enumeration
	fCheck    // bool
	fLines    // []string, one per line
	fGroup    // a struct or a pointer to one
	fList     // a slice of structs
	fPolygon  // [][2]float64 as "lat, lon" lines
	fTimeText // an RFC 3339 time or a date, as text
)

var kindNames = map[fieldKind]string{fText: "text", fTextarea: "textarea", fInt: "number", fOptInt: "number", fFloat: "float",
	fDate: "date", fSelect: "select", fMulti: "multi", fCheck: "check", fLines: "lines", fGroup: "group", fList: "list",
	fPolygon: "polygon", fTimeText: "text"}

// fieldSpec describes one field of a kind's data.
type fieldSpec struct {
	Name     string // the JSON name
	Path     string // dotted path without indices ("injuries.region"), for the annotations
	Kind     fieldKind
	Enum     string   // the enumeration's name in the catalogues
	Values   []string // its values
	Ref      string   // "locality", "item", a record kind, or "any"
	Required bool
	Hint     string // catalogue key of a hint
	Fields   []*fieldSpec
	Always   bool // written even when false (a bool without omitempty)
}

type enumDef struct {
	name   string
	values []string
}

var personStatuses = []string{"missing", "found_alive", "found_dead"}

// enums maps kind.path to the enumeration of a field.
var enums = map[string]enumDef{
	"site.type":                     {"site_type", custody.SiteTypes},
	"site.status":                   {"site_status", custody.SiteStatuses},
	"remains.condition":             {"condition", custody.Conditions},
	"remains.sex":                   {"sex", custody.Sexes},
	"remains.injuries.region":       {"region", custody.BodyRegions},
	"remains.injuries.type":         {"injury", custody.InjuryTypes},
	"remains.torture.grade":         {"grade", custody.IstanbulGrades},
	"remains.manner_of_death":       {"manner", custody.MannersOfDeath},
	"remains.identification.status": {"id_status", custody.IDStatuses},
	"remains.identification.method": {"id_method", custody.IDMethods},
	"person.roles":                  {"person_role", custody.PersonRoles},
	"person.sex":                    {"sex", custody.Sexes},
	"person.protection":             {"protection", custody.ProtectionLevels},
	"person.status":                 {"person_status", personStatuses},
	"testimony.consent.scope":       {"consent_scope", custody.ConsentScopes},
	"incident.type":                 {"incident_type", custody.IncidentTypes},
	"incident.precision":            {"precision", custody.TimePrecisions},
	"incident.weapon":               {"weapon", custody.Weapons},
	"incident.protected_object":     {"protected_object", custody.ProtectedObjects},
	"team.type":                     {"team_type", custody.TeamTypes},
	"team.members.role":             {"member_role", custody.MemberRoles},
	"task.status":                   {"task_status", custody.TaskStates},
	"case.status":                   {"case_status", custody.CaseStates},
}

// refs maps kind.path to what a field refers to.
var refs = map[string]string{
	"locality.code": "locality",
	"site.locality": "locality", "site.team": "team", "site.case": "case",
	"remains.site": "site", "remains.injuries.photos": "item", "remains.torture.photos": "item", "remains.samples": "item",
	"remains.identification.person": "person", "remains.case": "case",
	"person.locality":   "locality",
	"testimony.witness": "person", "testimony.locality": "locality", "testimony.recordings": "item",
	"testimony.incidents": "incident", "testimony.persons": "person", "testimony.case": "case",
	"incident.locality": "locality", "incident.site": "site", "incident.evidence": "item", "incident.remains": "remains",
	"incident.testimonies": "testimony", "incident.persons": "person", "incident.case": "case",
	"team.localities": "locality", "team.members.person": "person",
	"task.team": "team", "task.site": "site", "task.locality": "locality", "task.produced": "any",
	"case.incidents": "incident", "case.persons": "person", "case.items": "item",
}

var dateFields = map[string]bool{"locality.occupied_on": true, "locality.liberated_on": true, "site.found_on": true,
	"remains.identification.date": true, "testimony.date": true, "task.due": true, "case.opened_on": true}

var timeFields = map[string]string{"remains.recovered_at": "hint.time_or_date", "person.ante_mortem.last_seen_at": "hint.time_or_date",
	"incident.time": "hint.incident_time"}

var hints = map[string]string{"person.born_on": "hint.born_on", "case.qualification": "hint.qualification",
	"testimony.language": "hint.language", "remains.commingled": "hint.commingled", "remains.torture.grade": "hint.grade",
	"remains.identification.method": "hint.id_method", "locality.code": "hint.katotth", "site.location.polygon": "hint.polygon",
	"case.number": "hint.case_number"}

var longFields = map[string]bool{"description": true, "notes": true, "evacuation_notes": true, "clothing": true, "effects": true,
	"cause_of_death": true, "transcript": true, "dental": true, "medical": true}

var required = map[string]bool{"locality.code": true,
	"site.name": true, "site.type": true, "site.locality": true, "site.status": true,
	"remains.site": true, "remains.body": true, "remains.injuries.region": true, "remains.injuries.type": true,
	"remains.torture.sign": true, "remains.torture.grade": true, "remains.identification.status": true,
	"person.name": true, "testimony.witness": true, "testimony.interviewer": true, "testimony.date": true, "testimony.language": true,
	"incident.type": true, "incident.time": true, "incident.precision": true, "incident.locality": true,
	"team.name": true, "team.type": true, "team.members.name": true, "team.members.role": true,
	"task.title": true, "task.team": true, "task.status": true, "case.number": true, "case.title": true}

// section is a group of top-level fields shown under one heading.
type section struct {
	key    string // catalogue key "section.<key>"
	fields []string
}

// sections orders the forms. The remains form follows the post-mortem
// record of the Minnesota Protocol: recovery, external examination,
// injuries, signs of torture (graded on the Istanbul Protocol scale),
// cause and manner of death, samples, identification.
var sections = map[string][]section{
	custody.KindRemains: {
		{"recovery", []string{"site", "grave", "body", "recovered_at", "grid_position"}},
		{"external", []string{"condition", "sex", "age_min", "age_max", "clothing", "effects", "commingled", "mni"}},
		{"injuries", []string{"injuries"}},
		{"torture", []string{"torture"}},
		{"death", []string{"cause_of_death", "manner_of_death", "pathologist"}},
		{"samples", []string{"samples"}},
		{"identification", []string{"identification"}},
		{"case_notes", []string{"case", "notes"}},
	},
	custody.KindSite: {
		{"site", []string{"name", "type", "status", "locality", "found_on", "team", "case"}},
		{"location", []string{"location", "survey_datum", "grid", "graves"}},
		{"notes", []string{"description"}},
	},
	custody.KindPerson: {
		{"identity", []string{"roles", "name", "sex", "born_on", "locality", "unit", "protection", "status"}},
		{"ante_mortem", []string{"ante_mortem"}},
		{"notes", []string{"notes"}},
	},
	custody.KindTestimony: {
		{"interview", []string{"witness", "interviewer", "date", "place", "locality", "language", "interpreter"}},
		{"consent", []string{"consent"}},
		{"account", []string{"transcript", "recordings"}},
		{"links", []string{"incidents", "persons", "case"}},
	},
	custody.KindIncident: {
		{"what", []string{"type", "time", "precision", "locality", "site", "location"}},
		{"means", []string{"weapon", "munition", "protected_object", "suspected_unit"}},
		{"casualties", []string{"killed_confirmed", "killed_estimated", "injured_confirmed", "injured_estimated"}},
		{"account", []string{"description"}},
		{"links", []string{"evidence", "remains", "testimonies", "persons", "case"}},
	},
}

var kindTypes = map[string]reflect.Type{
	custody.KindLocality:  reflect.TypeFor[custody.LocalityInfo](),
	custody.KindSite:      reflect.TypeFor[custody.Site](),
	custody.KindRemains:   reflect.TypeFor[custody.Remains](),
	custody.KindPerson:    reflect.TypeFor[custody.Person](),
	custody.KindTestimony: reflect.TypeFor[custody.Testimony](),
	custody.KindIncident:  reflect.TypeFor[custody.Incident](),
	custody.KindTeam:      reflect.TypeFor[custody.Team](),
	custody.KindTask:      reflect.TypeFor[custody.Task](),
	custody.KindCase:      reflect.TypeFor[custody.Case](),
}

var schemaOnce = sync.OnceValue(func() map[string][]*fieldSpec {
	out := map[string][]*fieldSpec{}
	for kind, t := range kindTypes {
		out[kind] = specsOf(kind, "", t)
	}
	return out
})

// schema returns the fields of a kind's data.
func schema(kind string) []*fieldSpec { return schemaOnce()[kind] }

func specsOf(kind, prefix string, t reflect.Type) []*fieldSpec {
	var out []*fieldSpec
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		p := name
		if prefix != "" {
			p = prefix + "." + name
		}
		key := kind + "." + p
		f := &fieldSpec{Name: name, Path: p, Required: required[key], Hint: hints[key], Ref: refs[key],
			Always: sf.Type.Kind() == reflect.Bool && !strings.Contains(opts, "omitempty")}
		ft := sf.Type
		switch {
		case ft == reflect.TypeFor[[][2]float64]():
			f.Kind = fPolygon
		case ft.Kind() == reflect.String:
			switch {
			case enums[key].name != "":
				f.Kind, f.Enum, f.Values = fSelect, enums[key].name, enums[key].values
			case dateFields[key]:
				f.Kind = fDate
			case timeFields[key] != "":
				f.Kind, f.Hint = fTimeText, timeFields[key]
			case longFields[name]:
				f.Kind = fTextarea
			default:
				f.Kind = fText
			}
		case ft.Kind() == reflect.Int:
			f.Kind = fInt
		case ft.Kind() == reflect.Float64:
			f.Kind = fFloat
		case ft.Kind() == reflect.Bool:
			f.Kind = fCheck
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Int:
			f.Kind = fOptInt
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct:
			f.Kind, f.Fields = fGroup, specsOf(kind, p, ft.Elem())
		case ft.Kind() == reflect.Struct:
			f.Kind, f.Fields = fGroup, specsOf(kind, p, ft)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.String:
			if e := enums[key]; e.name != "" {
				f.Kind, f.Enum, f.Values = fMulti, e.name, e.values
			} else {
				f.Kind = fLines
			}
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			f.Kind, f.Fields = fList, specsOf(kind, p, ft.Elem())
		default:
			panic(fmt.Sprintf("web: schema of %s: field %s has unsupported type %s", kind, p, ft))
		}
		out = append(out, f)
	}
	return out
}

// flatten turns a record's data into form values.
func flatten(kind string, data json.RawMessage) (url.Values, error) {
	out := url.Values{}
	if len(data) == 0 {
		return out, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("decode %s data: %w", kind, err)
	}
	flattenInto(schema(kind), "", obj, out)
	return out, nil
}

func flattenInto(specs []*fieldSpec, prefix string, obj map[string]any, out url.Values) {
	for _, f := range specs {
		v, ok := obj[f.Name]
		if !ok || v == nil {
			continue
		}
		name := prefix + f.Name
		switch f.Kind {
		case fGroup:
			if m, ok := v.(map[string]any); ok {
				flattenInto(f.Fields, name+".", m, out)
			}
		case fList:
			if rows, ok := v.([]any); ok {
				for i, row := range rows {
					if m, ok := row.(map[string]any); ok {
						flattenInto(f.Fields, name+"."+strconv.Itoa(i)+".", m, out)
					}
				}
			}
		case fMulti:
			if xs, ok := v.([]any); ok {
				for _, x := range xs {
					out.Add(name, fmt.Sprint(x))
				}
			}
		case fLines:
			if xs, ok := v.([]any); ok {
				var lines []string
				for _, x := range xs {
					lines = append(lines, fmt.Sprint(x))
				}
				out.Set(name, strings.Join(lines, "\n"))
			}
		case fPolygon:
			if xs, ok := v.([]any); ok {
				var lines []string
				for _, x := range xs {
					if pair, ok := x.([]any); ok && len(pair) == 2 {
						lines = append(lines, fmt.Sprintf("%v, %v", pair[1], pair[0]))
					}
				}
				out.Set(name, strings.Join(lines, "\n"))
			}
		case fCheck:
			if b, ok := v.(bool); ok && b {
				out.Set(name, "on")
			}
		default:
			out.Set(name, fmt.Sprint(v))
		}
	}
}

// formError is a value a form could not turn into data (a letter in a
// number): EINVALID, naming the field by its label.
func formError(l *localizer, f *fieldSpec, v string) error {
	return &custody.Error{Code: custody.EINVALID, Message: l.T("form.bad_value", l.T("field."+f.Name), truncate(v, 40))}
}

// build turns form values into a record's data, leaving out what is empty.
func build(l *localizer, kind string, vals url.Values) (json.RawMessage, error) {
	obj, err := buildInto(l, schema(kind), "", vals)
	if err != nil {
		return nil, err
	}
	return json.Marshal(obj)
}

func buildInto(l *localizer, specs []*fieldSpec, prefix string, vals url.Values) (map[string]any, error) {
	obj := map[string]any{}
	for _, f := range specs {
		name := prefix + f.Name
		v := vals.Get(name)
		switch f.Kind {
		case fText, fSelect, fDate, fTimeText:
			if v = strings.TrimSpace(v); v != "" {
				obj[f.Name] = v
			}
		case fTextarea:
			v = strings.ReplaceAll(v, "\r\n", "\n")
			if strings.TrimSpace(v) != "" {
				obj[f.Name] = strings.TrimRight(v, " \n\t")
			}
		case fInt, fOptInt:
			if v = strings.TrimSpace(v); v != "" {
				n, err := strconv.Atoi(strings.ReplaceAll(strings.ReplaceAll(v, nbsp, ""), " ", ""))
				if err != nil {
					return nil, formError(l, f, v)
				}
				obj[f.Name] = n
			}
		case fFloat:
			if v = strings.TrimSpace(v); v != "" {
				x, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64)
				if err != nil {
					return nil, formError(l, f, v)
				}
				obj[f.Name] = x
			}
		case fCheck:
			if v == "on" || v == "true" {
				obj[f.Name] = true
			} else if f.Always {
				obj[f.Name] = false
			}
		case fMulti:
			var xs []string
			for _, x := range vals[name] {
				for _, ok := range f.Values {
					if x == ok {
						xs = append(xs, x)
					}
				}
			}
			if len(xs) > 0 {
				obj[f.Name] = xs
			}
		case fLines:
			var xs []string
			for _, line := range strings.Split(v, "\n") {
				if line = strings.TrimSpace(line); line != "" {
					xs = append(xs, line)
				}
			}
			if len(xs) > 0 {
				obj[f.Name] = xs
			}
		case fPolygon:
			var ring [][2]float64
			for _, line := range strings.Split(v, "\n") {
				if line = strings.TrimSpace(line); line == "" {
					continue
				}
				parts := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == ';' || r == '\t' || r == ',' })
				if len(parts) != 2 {
					return nil, formError(l, f, line)
				}
				lat, err1 := strconv.ParseFloat(parts[0], 64)
				lon, err2 := strconv.ParseFloat(parts[1], 64)
				if err1 != nil || err2 != nil {
					return nil, formError(l, f, line)
				}
				ring = append(ring, [2]float64{lon, lat})
			}
			if len(ring) > 0 {
				obj[f.Name] = ring
			}
		case fGroup:
			sub, err := buildInto(l, f.Fields, name+".", vals)
			if err != nil {
				return nil, err
			}
			if len(sub) > 0 {
				obj[f.Name] = sub
			}
		case fList:
			var rows []map[string]any
			for _, i := range rowIndexes(vals, name+".") {
				sub, err := buildInto(l, f.Fields, name+"."+strconv.Itoa(i)+".", vals)
				if err != nil {
					return nil, err
				}
				if len(sub) > 0 {
					rows = append(rows, sub)
				}
			}
			if len(rows) > 0 {
				obj[f.Name] = rows
			}
		}
	}
	return obj, nil
}

// rowIndexes returns the row numbers present in vals under prefix
// ("injuries.3.region" gives 3), in order.
func rowIndexes(vals url.Values, prefix string) []int {
	seen := map[int]bool{}
	for k := range vals {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		if i, err := strconv.Atoi(num); err == nil && i >= 0 && i < 10000 {
			seen[i] = true
		}
	}
	out := make([]int, 0, len(seen))
	for i := range seen {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}
