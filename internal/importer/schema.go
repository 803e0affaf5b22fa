package importer

import (
	"reflect"
	"strings"

	"github.com/custody-dev/custody"
)

// vtype is how a source value is converted for a record field.
type vtype uint8

const (
	tString vtype = iota // text, trimmed
	tInt                 // a whole number
	tFloat               // a decimal number (a decimal comma is accepted)
	tBool                // true/false, yes/no, 1/0, так/ні
	tList                // a list of text: a JSON array, or values separated by ";"
	tObject              // a nested object: mapped by its fields, or whole as JSON text
	tRaw                 // anything else (lists of objects, polygons): JSON text
)

func (t vtype) String() string {
	return [...]string{"text", "whole number", "number", "true/false", "list", "object", "JSON value"}[t]
}

// field is one field of a record kind's data, as its JSON names it.
type field struct {
	name     string // JSON key
	path     string // dotted path from the record's top
	typ      vtype
	order    int          // position among its siblings
	goType   reflect.Type // the field's type without pointers
	children []*field     // tObject
}

func (f *field) child(name string) *field {
	for _, c := range f.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// lookup returns the field at a dotted path, or nil.
func (f *field) lookup(path string) *field {
	cur := f
	for part := range strings.SplitSeq(path, ".") {
		if cur.typ != tObject {
			return nil
		}
		if cur = cur.child(part); cur == nil {
			return nil
		}
	}
	return cur
}

// kindType returns the Go type of a record kind's data.
func kindType(kind string) reflect.Type {
	switch kind {
	case custody.KindLocality:
		return reflect.TypeFor[custody.LocalityInfo]()
	case custody.KindSite:
		return reflect.TypeFor[custody.Site]()
	case custody.KindRemains:
		return reflect.TypeFor[custody.Remains]()
	case custody.KindPerson:
		return reflect.TypeFor[custody.Person]()
	case custody.KindTestimony:
		return reflect.TypeFor[custody.Testimony]()
	case custody.KindIncident:
		return reflect.TypeFor[custody.Incident]()
	case custody.KindTeam:
		return reflect.TypeFor[custody.Team]()
	case custody.KindTask:
		return reflect.TypeFor[custody.Task]()
	case custody.KindCase:
		return reflect.TypeFor[custody.Case]()
	}
	return nil
}

// schema describes a kind's data as a tree of fields, from its Go struct
// and JSON tags (so that it cannot drift from custody.ParseRecordData).
func schema(kind string) *field {
	t := kindType(kind)
	if t == nil {
		return nil
	}
	return structField("", "", t)
}

func structField(name, path string, t reflect.Type) *field {
	f := &field{name: name, path: path, typ: tObject, goType: t}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		key, _, _ := strings.Cut(tag, ",")
		if !sf.IsExported() || key == "-" {
			continue
		}
		if key == "" {
			key = sf.Name
		}
		p := key
		if path != "" {
			p = path + "." + key
		}
		c := typedField(key, p, sf.Type)
		c.order = len(f.children)
		f.children = append(f.children, c)
	}
	return f
}

func typedField(name, path string, t reflect.Type) *field {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	f := &field{name: name, path: path, goType: t}
	switch t.Kind() {
	case reflect.String:
		f.typ = tString
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		f.typ = tInt
	case reflect.Float32, reflect.Float64:
		f.typ = tFloat
	case reflect.Bool:
		f.typ = tBool
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			f.typ = tList
		} else {
			f.typ = tRaw
		}
	case reflect.Struct:
		s := structField(name, path, t)
		s.goType = t
		return s
	default:
		f.typ = tRaw
	}
	return f
}

// Fields lists the dotted paths a mapping may name for a kind: every field
// and every field of a nested object. It returns nil for an unknown kind.
func Fields(kind string) []string {
	root := schema(kind)
	if root == nil {
		return nil
	}
	var out []string
	var walk func(f *field)
	walk = func(f *field) {
		for _, c := range f.children {
			out = append(out, c.path)
			if c.typ == tObject {
				walk(c)
			}
		}
	}
	walk(root)
	return out
}

func topFields(root *field) string {
	names := make([]string, len(root.children))
	for i, c := range root.children {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}
