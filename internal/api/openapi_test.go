package api

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/google/go-cmp/cmp"
)

// openAPIDoc returns the document, decoded.
func openAPIDoc(t *testing.T) map[string]any {
	t.Helper()
	raw, err := openAPIDocument()
	if err != nil {
		t.Fatalf("build the OpenAPI document: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("the OpenAPI document is not JSON: %v", err)
	}
	return doc
}

// at follows a path of keys (and array indexes) into a decoded document.
func at(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for i, k := range keys {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[k]; !ok {
				t.Fatalf("no %q at %s", k, strings.Join(keys[:i], "."))
			}
		case []any:
			n, err := strconv.Atoi(k)
			if err != nil || n >= len(x) {
				t.Fatalf("no index %q at %s", k, strings.Join(keys[:i], "."))
			}
			v = x[n]
		default:
			t.Fatalf("%s is not an object or array", strings.Join(keys[:i], "."))
		}
	}
	return v
}

func strs(t *testing.T, v any) []string {
	t.Helper()
	a, ok := v.([]any)
	if !ok {
		t.Fatalf("%v is not an array", v)
	}
	out := make([]string, len(a))
	for i, x := range a {
		s, ok := x.(string)
		if !ok {
			t.Fatalf("%v is not a string", x)
		}
		out[i] = s
	}
	return out
}

var methods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

// TestOpenAPIRoutes: the document describes exactly the registered routes.
func TestOpenAPIRoutes(t *testing.T) {
	s := New(nil, nil)
	registered := map[string]bool{}
	for _, rt := range s.apiRoutes() {
		if registered[rt.pattern] {
			t.Errorf("route %s is listed twice", rt.pattern)
		}
		registered[rt.pattern] = true
		// The mux must route a request of this shape to this very pattern.
		method, path, _ := strings.Cut(rt.pattern, " ")
		req := httptest.NewRequest(method, fillPath(path), nil)
		if _, p := s.mux.Handler(req); p != rt.pattern {
			t.Errorf("%s %s is routed to %q, not %q", method, fillPath(path), p, rt.pattern)
		}
	}
	doc := openAPIDoc(t)
	documented := map[string]bool{}
	for path, item := range at(t, doc, "paths").(map[string]any) {
		for m := range item.(map[string]any) {
			if !slices.Contains(methods, m) {
				continue
			}
			documented[strings.ToUpper(m)+" "+path] = true
		}
	}
	for p := range registered {
		if !documented[p] {
			t.Errorf("route %s is registered but not in the OpenAPI document", p)
		}
	}
	for p := range documented {
		if !registered[p] {
			t.Errorf("the OpenAPI document describes %s, which is not registered", p)
		}
	}
}

// fillPath puts sample values in a pattern's wildcards.
func fillPath(p string) string {
	return regexp.MustCompile(`\{[a-z_]+\}`).ReplaceAllStringFunc(p, func(w string) string {
		if w == "{index}" {
			return "0"
		}
		return "0192f000-0000-7000-8000-00000000000a"
	})
}

// TestNoRouteOutsideTheList fails on an /api/v1 route registered with
// Handle or HandleFunc directly instead of through apiRoutes (it would be
// missing from the document, and from TestOpenAPIRoutes).
func TestNoRouteOutsideTheList(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc" {
				return true
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING && strings.Contains(lit.Value, "/api/v1") {
				t.Errorf("%s: route %s is registered outside apiRoutes", fset.Position(lit.Pos()), lit.Value)
			}
			return true
		})
	}
}

// TestEveryRouteAuthenticates: no token, no answer, on every route.
func TestEveryRouteAuthenticates(t *testing.T) {
	s := New(nil, nil) // no service: a route that reached it would panic
	for _, rt := range s.apiRoutes() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		req := httptest.NewRequest(method, fillPath(path), strings.NewReader("{}"))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s: status %d without a token, want 401", rt.pattern, w.Code)
		}
	}
}

// TestOpenAPIEnums: the enumerations of the document are the domain's.
func TestOpenAPIEnums(t *testing.T) {
	doc := openAPIDoc(t)
	schemas := at(t, doc, "components", "schemas").(map[string]any)
	var roles []string
	for _, r := range custody.Roles {
		roles = append(roles, string(r))
	}
	var categories []string
	for _, s := range []string{"oblast", "city with special status", "raion", "hromada", "city", "urban-type settlement", "village", "settlement", "city district"} {
		categories = append(categories, s)
	}
	want := map[string][]string{
		"Site.type":                 custody.SiteTypes,
		"Site.status":               custody.SiteStatuses,
		"Injury.region":             custody.BodyRegions,
		"Injury.type":               custody.InjuryTypes,
		"TortureFinding.grade":      custody.IstanbulGrades,
		"Remains.sex":               custody.Sexes,
		"Remains.condition":         custody.Conditions,
		"Remains.manner_of_death":   custody.MannersOfDeath,
		"Identification.status":     custody.IDStatuses,
		"Identification.method":     custody.IDMethods,
		"Person.roles":              custody.PersonRoles,
		"Person.sex":                custody.Sexes,
		"Person.protection":         custody.ProtectionLevels,
		"Person.status":             {"missing", "found_alive", "found_dead"}, // checked against the validator below
		"Consent.scope":             custody.ConsentScopes,
		"Incident.type":             custody.IncidentTypes,
		"Incident.weapon":           custody.Weapons,
		"Incident.precision":        custody.TimePrecisions,
		"Incident.protected_object": custody.ProtectedObjects,
		"Team.type":                 custody.TeamTypes,
		"Member.role":               custody.MemberRoles,
		"Task.status":               custody.TaskStates,
		"Case.status":               custody.CaseStates,
		"Record.kind":               custody.RecordKinds,
		"RecordInput.kind":          custody.RecordKinds,
		"RecordLink.kind":           custody.RecordKinds,
		"RecordLink.target":         {"record", "item", "locality", "any"},
		"RecordVersion.change":      {"create", "update", "withdraw"},
		"SearchHit.kind":            custody.RecordKinds,
		"MonthCount.type":           custody.IncidentTypes,
		"User.role":                 roles,
		"Item.kind":                 {custody.KindDigital, custody.KindPhysical},
		"LocalityUnit.category":     categories,
		"LocalityRef.category":      categories,
	}
	// Every enumeration in the schemas must be in the table above.
	seen := map[string]bool{}
	for name, s := range schemas {
		props, _ := s.(map[string]any)["properties"].(map[string]any)
		for field, p := range props {
			p := p.(map[string]any)
			var enum any
			if e, ok := p["enum"]; ok {
				enum = e
			} else if items, ok := p["items"].(map[string]any); ok {
				enum = items["enum"]
			}
			if enum == nil {
				continue
			}
			key := name + "." + field
			seen[key] = true
			w, ok := want[key]
			if !ok {
				t.Errorf("%s has an enumeration this test does not check: add it", key)
				continue
			}
			if diff := cmp.Diff(w, strs(t, enum)); diff != "" {
				t.Errorf("%s enum differs from the Go list (-go +document):\n%s", key, diff)
			}
		}
	}
	for key := range want {
		if !seen[key] {
			t.Errorf("%s has no enumeration in the document", key)
		}
	}
	var codes []string
	for _, c := range errorCodes {
		codes = append(codes, c)
	}
	if diff := cmp.Diff(codes, strs(t, at(t, schemas, "Error", "properties", "error", "properties", "code", "enum"))); diff != "" {
		t.Errorf("error codes (-go +document):\n%s", diff)
	}
	for _, c := range codes {
		if c != custody.EINTERNAL && c != custody.ETAMPERED && statusOf(c) == http.StatusInternalServerError {
			t.Errorf("error code %s has no HTTP status of its own", c)
		}
	}

	// The person statuses, which have no Go list, are the validator's.
	for _, st := range want["Person.status"] {
		data := `{"roles":["missing"],"name":"Mykola Bondarenko","status":"` + st + `"}`
		if _, _, err := custody.ParseRecordData(custody.KindPerson, []byte(data)); err != nil {
			t.Errorf("person status %s: %v", st, err)
		}
	}
	if _, _, err := custody.ParseRecordData(custody.KindPerson, []byte(`{"roles":["missing"],"name":"M","status":"dead"}`)); err == nil {
		t.Error("person status dead accepted")
	}

	// The listing filters take the same values.
	filters := map[string]struct{ types, statuses []string }{
		"sites":     {custody.SiteTypes, custody.SiteStatuses},
		"remains":   {nil, custody.IDStatuses},
		"persons":   {custody.PersonRoles, want["Person.status"]},
		"incidents": {custody.IncidentTypes, nil},
		"teams":     {custody.TeamTypes, nil},
		"tasks":     {nil, custody.TaskStates},
		"cases":     {nil, custody.CaseStates},
	}
	for plural, f := range filters {
		params := map[string][]string{}
		for _, p := range at(t, doc, "paths", "/api/v1/"+plural, "get", "parameters").([]any) {
			p := p.(map[string]any)
			if e, ok := p["schema"].(map[string]any)["enum"]; ok {
				params[p["name"].(string)] = strs(t, e)
			}
		}
		if diff := cmp.Diff(f.types, params["type"]); diff != "" {
			t.Errorf("GET /api/v1/%s type filter (-go +document):\n%s", plural, diff)
		}
		if diff := cmp.Diff(f.statuses, params["status"]); diff != "" {
			t.Errorf("GET /api/v1/%s status filter (-go +document):\n%s", plural, diff)
		}
	}
}

// minimalData is the least valid data of each kind (references are
// well-formed IDs; the validator does not look them up).
var minimalData = map[string]string{
	custody.KindLocality:  `{"code":"UA63040090010029555"}`,
	custody.KindSite:      `{"name":"Forest burial site, Pishchanska street","type":"mass_burial","locality":"UA63040090010029555","status":"reported"}`,
	custody.KindRemains:   `{"site":"0192f000-0000-7000-8000-00000000000a","body":"17"}`,
	custody.KindPerson:    `{"roles":["witness"],"name":"Olha Petrenko"}`,
	custody.KindTestimony: `{"witness":"0192f000-0000-7000-8000-00000000000a","interviewer":"O. Kovalenko","date":"2022-09-20","language":"uk"}`,
	custody.KindIncident:  `{"type":"strike","time":"2022-03-09","precision":"day","locality":"UA63040090010029555"}`,
	custody.KindTeam:      `{"name":"Mobile group 7","type":"mobile"}`,
	custody.KindTask:      `{"title":"Survey the burial site","team":"0192f000-0000-7000-8000-00000000000a","status":"open"}`,
	custody.KindCase:      `{"number":"12022220000000123","title":"Killings of civilians in Izium"}`,
}

// TestOpenAPIRequired: the required fields of each kind's schema are those
// the validator requires.
func TestOpenAPIRequired(t *testing.T) {
	doc := openAPIDoc(t)
	for _, k := range kindPaths {
		name := kindData[k.kind].Name()
		required := strs(t, at(t, doc, "components", "schemas", name, "required"))
		var data map[string]any
		if err := json.Unmarshal([]byte(minimalData[k.kind]), &data); err != nil {
			t.Fatal(err)
		}
		if _, _, err := custody.ParseRecordData(k.kind, []byte(minimalData[k.kind])); err != nil {
			t.Errorf("%s: minimal data rejected: %v", k.kind, err)
			continue
		}
		var keys []string
		for key := range data {
			keys = append(keys, key)
		}
		if diff := cmp.Diff(slices.Sorted(slices.Values(keys)), slices.Sorted(slices.Values(required))); diff != "" {
			t.Errorf("%s: required fields (-minimal data +document):\n%s", name, diff)
		}
		for _, r := range required {
			d := map[string]any{}
			for k, v := range data {
				if k != r {
					d[k] = v
				}
			}
			b, _ := json.Marshal(d)
			if _, _, err := custody.ParseRecordData(k.kind, b); custody.ErrorCode(err) != custody.EINVALID {
				t.Errorf("%s without %s: err %v, want invalid", k.kind, r, err)
			}
		}
		// Every property is a field the decoder knows.
		for field := range at(t, doc, "components", "schemas", name, "properties").(map[string]any) {
			if field == "code" && k.kind == custody.KindLocality {
				continue
			}
			d := map[string]any{}
			for k, v := range data {
				d[k] = v
			}
			d[field] = nil
			b, _ := json.Marshal(d)
			if _, _, err := custody.ParseRecordData(k.kind, b); err != nil && strings.Contains(err.Error(), "unknown field") {
				t.Errorf("%s.%s: %v", name, field, err)
			}
		}
	}
}

// TestOpenAPIWellFormed: every reference resolves, every path parameter is
// declared, every operation has a unique ID and a success response.
func TestOpenAPIWellFormed(t *testing.T) {
	doc := openAPIDoc(t)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v", doc["openapi"])
	}
	if at(t, doc, "components", "securitySchemes", "bearer", "scheme") != "bearer" {
		t.Error("no bearer security scheme")
	}
	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["$ref"].(string); ok {
				parts := strings.Split(strings.TrimPrefix(r, "#/"), "/")
				if !strings.HasPrefix(r, "#/components/") {
					t.Errorf("%s: reference %s outside the components", where, r)
				} else if c, _ := doc["components"].(map[string]any)[parts[1]].(map[string]any); c == nil || c[parts[2]] == nil {
					t.Errorf("%s: reference %s does not resolve", where, r)
				}
			}
			for k, e := range x {
				walk(where+"."+k, e)
			}
		case []any:
			for i, e := range x {
				walk(where+"["+strconv.Itoa(i)+"]", e)
			}
		}
	}
	walk("", doc)
	ids := map[string]string{}
	for path, item := range at(t, doc, "paths").(map[string]any) {
		want := regexp.MustCompile(`\{([a-z_]+)\}`).FindAllStringSubmatch(path, -1)
		for m, op := range item.(map[string]any) {
			op := op.(map[string]any)
			where := strings.ToUpper(m) + " " + path
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s: no operationId", where)
			} else if other, dup := ids[id]; dup {
				t.Errorf("%s and %s share the operationId %s", where, other, id)
			}
			ids[id] = where
			declared := map[string]bool{}
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				p := p.(map[string]any)
				if p["in"] == "path" {
					declared[p["name"].(string)] = true
				}
			}
			for _, w := range want {
				if !declared[w[1]] {
					t.Errorf("%s: path parameter %s is not declared", where, w[1])
				}
			}
			if len(declared) != len(want) {
				t.Errorf("%s: %d path parameters declared, %d in the path", where, len(declared), len(want))
			}
			ok := false
			for status := range op["responses"].(map[string]any) {
				ok = ok || strings.HasPrefix(status, "2")
			}
			if !ok {
				t.Errorf("%s: no success response", where)
			}
		}
	}
}

// TestKindPaths: one collection per kind, in the domain's order.
func TestKindPaths(t *testing.T) {
	var kinds []string
	for _, k := range kindPaths {
		kinds = append(kinds, k.kind)
		if _, ok := kindFilters[k.kind]; !ok {
			t.Errorf("no filters for %s", k.kind)
		}
		if kindData[k.kind] == nil {
			t.Errorf("no data type for %s", k.kind)
		}
	}
	if diff := cmp.Diff(custody.RecordKinds, kinds); diff != "" {
		t.Errorf("kinds (-domain +collections):\n%s", diff)
	}
}
