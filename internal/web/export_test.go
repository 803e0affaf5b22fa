package web

import (
	"encoding/json"
	"io/fs"
	"net/url"
	"strings"
)

// Exported for the tests of package web_test.

// Flatten and Build convert a record's data to form values and back.
func Flatten(kind string, data json.RawMessage) (url.Values, error) { return flatten(kind, data) }

func Build(lang, kind string, vals url.Values) (json.RawMessage, error) {
	cats, err := loadCatalogues()
	if err != nil {
		return nil, err
	}
	return build(&localizer{lang: lang, msgs: cats[lang].msgs}, kind, vals)
}

// Catalogues returns the message catalogues.
func Catalogues() (map[string]map[string]string, error) {
	cats, err := loadCatalogues()
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]string{}
	for l, c := range cats {
		out[l] = c.msgs
	}
	return out, nil
}

// Languages lists the languages.
var Languages = languages

// TemplateSources returns the text of every template.
func TemplateSources() (map[string]string, error) {
	out := map[string]string{}
	err := fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templateFS.ReadFile(p)
		out[p] = string(b)
		return err
	})
	return out, err
}

// StaticSizes returns the size of each embedded static file.
func StaticSizes() (map[string]int, error) {
	a, err := loadAssets()
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for n, as := range a.byName {
		out[n] = len(as.body)
	}
	return out, nil
}

// MessageKeys lists the catalogue keys the code builds from the schema and
// the enumerations: every field, section, row, enumeration value and kind.
func MessageKeys() []string {
	var keys []string
	add := func(k string) { keys = append(keys, k) }
	var walk func(fs []*fieldSpec)
	walk = func(fs []*fieldSpec) {
		for _, f := range fs {
			add("field." + f.Name)
			for _, v := range f.Values {
				add("enum." + f.Enum + "." + v)
			}
			if f.Hint != "" {
				add(f.Hint)
			}
			if f.Kind == fList {
				add("row." + f.Name)
				add("form.add_row." + f.Name)
			}
			walk(f.Fields)
		}
	}
	for kind := range kindTypes {
		add("kind." + kind)
		add("kinds." + kind)
		walk(schema(kind))
		for _, s := range sections[kind] {
			add("section." + s.key)
		}
	}
	for _, kf := range kindFilter {
		for _, e := range []enumDef{kf.typ, kf.status} {
			for _, v := range e.values {
				add("enum." + e.name + "." + v)
			}
		}
	}
	for _, so := range []string{"id", "-updated", "date", "-date", "title"} {
		add("sort." + so)
	}
	for _, c := range []string{"create", "update", "withdraw"} {
		add("change." + c)
	}
	for _, ev := range []string{"intake", "handover", "access", "export"} {
		add("event." + ev)
	}
	for _, k := range []string{"digital", "physical"} {
		add("item.kind." + k)
	}
	for _, k := range []string{"not_found", "forbidden", "invalid", "conflict", "internal"} {
		add("error.title." + k)
	}
	for _, r := range []string{"admin", "prosecutor", "investigator", "forensic", "sapper", "analyst", "reviewer"} {
		add("enum.role." + r)
	}
	for _, c := range "OKPHMTCXB" {
		add("locality.category." + string(c))
	}
	for _, k := range []string{"lat", "lon"} {
		add("upload." + k)
	}
	add("section.details")
	return keys
}

// LocalPath is the check of sign-in's next parameter.
var LocalPath = localPath

// Format formats with a language's localizer: num, date, datetime.
func Format(lang, what, v string) string {
	l := &localizer{lang: lang}
	l.loc = mustKyiv()
	switch what {
	case "date":
		return l.Date(v)
	case "datetime":
		return l.DateTime(v)
	case "month":
		return l.MonthKey(v)
	}
	return strings.TrimSpace(v)
}

// FormatNum formats an integer in a language.
func FormatNum(lang string, n int) string { return (&localizer{lang: lang}).Num(n) }
