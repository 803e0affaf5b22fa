package web

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/custody-dev/custody"
)

// formField is one control of a record form, ready for the template.
type formField struct {
	Name     string // the input's name: the field's path with row numbers
	ID       string
	Label    string
	Kind     string // text, textarea, number, float, date, select, multi, check, lines, group, list, polygon
	Value    string
	Hint     string
	Ref      string // what the value refers to, for the lookup helper
	Required bool   // the browser checks it (top-level fields only)
	Star     bool   // marked as required: in a row or group, required when it is filled in
	Options  []option
	Children []*formField // group
	Rows     []formRow    // list
	Blank    *formRow     // list: the row that "add" copies (row number __i__)
	AddLabel string
	Wide     bool
	Solo     bool // alone in its section, whose heading already names it
}

type formRow struct {
	Index  string
	Legend string
	Fields []*formField
}

type option struct {
	Value, Label string
	Selected     bool
}

type formSection struct {
	Key    string
	Title  string
	Fields []*formField
}

// makeForm lays out the form of a kind with the given values.
func makeForm(l *localizer, kind string, vals url.Values) []formSection {
	specs := schema(kind)
	byName := map[string]*fieldSpec{}
	for _, f := range specs {
		byName[f.Name] = f
	}
	used := map[string]bool{}
	var out []formSection
	for _, sec := range sections[kind] {
		fs := formSection{Key: sec.key, Title: l.T("section." + sec.key)}
		for _, n := range sec.fields {
			if f, ok := byName[n]; ok {
				fs.Fields = append(fs.Fields, formFieldOf(l, f, "", vals))
				used[n] = true
			}
		}
		if len(fs.Fields) == 1 {
			fs.Fields[0].Solo = true
		}
		out = append(out, fs)
	}
	rest := formSection{Key: "details", Title: l.T("section.details")}
	for _, f := range specs {
		if !used[f.Name] {
			rest.Fields = append(rest.Fields, formFieldOf(l, f, "", vals))
		}
	}
	if len(rest.Fields) > 0 {
		out = append(out, rest)
	}
	return out
}

func fieldID(name string) string {
	return "f-" + strings.NewReplacer(".", "-", "_", "-").Replace(name)
}

func formFieldOf(l *localizer, f *fieldSpec, prefix string, vals url.Values) *formField {
	name := prefix + f.Name
	ff := &formField{Name: name, ID: fieldID(name), Label: l.T("field." + f.Name), Kind: kindNames[f.Kind],
		Value: vals.Get(name), Required: f.Required && prefix == "", Star: f.Required, Ref: f.Ref}
	if f.Hint != "" {
		ff.Hint = l.T(f.Hint)
	}
	switch f.Kind {
	case fTextarea, fLines, fPolygon, fGroup, fList, fMulti:
		ff.Wide = true
	}
	switch f.Kind {
	case fSelect:
		ff.Options = append(ff.Options, option{Value: "", Label: "—", Selected: ff.Value == ""})
		for _, v := range f.Values {
			ff.Options = append(ff.Options, option{Value: v, Label: l.Enum(f.Enum, v), Selected: v == ff.Value})
		}
	case fMulti:
		chosen := map[string]bool{}
		for _, v := range vals[name] {
			chosen[v] = true
		}
		for _, v := range f.Values {
			ff.Options = append(ff.Options, option{Value: v, Label: l.Enum(f.Enum, v), Selected: chosen[v]})
		}
	case fCheck:
		if ff.Value == "on" || ff.Value == "true" {
			ff.Value = "on"
		}
	case fGroup:
		for _, sub := range f.Fields {
			ff.Children = append(ff.Children, formFieldOf(l, sub, name+".", vals))
		}
	case fList:
		idx := rowIndexes(vals, name+".")
		next := 0
		for _, i := range idx {
			ff.Rows = append(ff.Rows, listRow(l, f, name, strconv.Itoa(i), len(ff.Rows)+1, vals))
			next = i + 1
		}
		// One empty row, for adding without JavaScript; empty rows are
		// dropped when the form is read.
		ff.Rows = append(ff.Rows, listRow(l, f, name, strconv.Itoa(next), len(ff.Rows)+1, vals))
		blank := listRow(l, f, name, "__i__", 0, url.Values{})
		blank.Legend = l.T("row." + f.Name)
		ff.Blank = &blank
		ff.AddLabel = l.T("form.add_row." + f.Name)
	}
	return ff
}

func listRow(l *localizer, f *fieldSpec, name, index string, n int, vals url.Values) formRow {
	row := formRow{Index: index, Legend: l.T("row."+f.Name) + " " + strconv.Itoa(n)}
	for _, sub := range f.Fields {
		row.Fields = append(row.Fields, formFieldOf(l, sub, name+"."+index+".", vals))
	}
	return row
}

// recordForm is the data of the record form page.
type recordForm struct {
	Kind     string
	Record   *custody.Record // nil for a new record
	Sections []formSection
	Problem  string
	Warnings []string
	Reason   string
	Action   string
	Base     int
}
