package importer_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/importer"
	"github.com/google/go-cmp/cmp"
)

const izium = "UA63040090010029555"

// readAll decodes every row: the records' data (as compact JSON strings)
// and the row errors' texts.
func readAll(t *testing.T, r io.Reader, o importer.Options) (data, errs []string, fatal error) {
	t.Helper()
	dec, err := importer.NewDecoder(r, o)
	if err != nil {
		return nil, nil, err
	}
	for {
		row, err := dec.Next()
		if err == io.EOF {
			return data, errs, nil
		}
		var re *importer.RowError
		if errors.As(err, &re) {
			errs = append(errs, re.Error())
			continue
		}
		if err != nil {
			return data, errs, err
		}
		if !json.Valid(row.Data) {
			t.Fatalf("%s: invalid JSON %s", row.Pos, row.Data)
		}
		data = append(data, string(row.Data))
	}
}

func mustRead(t *testing.T, input string, o importer.Options) []string {
	t.Helper()
	data, errs, err := readAll(t, strings.NewReader(input), o)
	if err != nil {
		t.Fatalf("fatal error: %v", err)
	}
	if len(errs) > 0 {
		t.Fatalf("row errors:\n%s", strings.Join(errs, "\n"))
	}
	return data
}

func TestCSVIdentity(t *testing.T) {
	in := "type,time,precision,locality,killed_confirmed,location.lat,location.lon,weapon,description\n" +
		"strike,2022-03-05,day," + izium + ",3,49.2088,37.2485,artillery,\"shelling of the centre, \"\"Hostynnyi Dvir\"\"\"\n" +
		"killing,2022-04,month," + izium + ",,,,,\n"
	got := mustRead(t, in, importer.Options{Kind: custody.KindIncident, Format: importer.CSV})
	want := []string{
		`{"type":"strike","time":"2022-03-05","precision":"day","locality":"` + izium + `","location":{"lat":49.2088,"lon":37.2485},"weapon":"artillery","killed_confirmed":3,"description":"shelling of the centre, \"Hostynnyi Dvir\""}`,
		`{"type":"killing","time":"2022-04","precision":"month","locality":"` + izium + `"}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMappingAndConversions(t *testing.T) {
	in := "Name;Roles;Born;Last seen;Where;Notes;Protection\n" +
		"Witness A;witness; 1961 ;;;;medium\n" +
		"Missing B;\"missing ; victim\";;2022-03-20T08:00:00+02:00;near the bridge;\"two\nlines\";\n"
	maps, err := importer.ParseMapping("name=Name, roles=Roles,born_on=Born,ante_mortem.last_seen_at=Last seen,ante_mortem.last_seen_place=Where,notes=Notes,protection=Protection")
	if err != nil {
		t.Fatal(err)
	}
	got := mustRead(t, in, importer.Options{Kind: custody.KindPerson, Format: importer.CSV, Mapping: maps})
	want := []string{
		`{"roles":["witness"],"name":"Witness A","born_on":"1961","protection":"medium"}`,
		`{"roles":["missing","victim"],"name":"Missing B","ante_mortem":{"last_seen_at":"2022-03-20T08:00:00+02:00","last_seen_place":"near the bridge"},"notes":"two\nlines"}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestTypedValues(t *testing.T) {
	// Remains have ints, *ints, bools and lists of objects (JSON in a cell).
	site := "0192f000-0000-7000-8000-000000000001"
	in := "site,body,age_min,age_max,commingled,mni,injuries\n" +
		site + ",1, 30 ,40,,,\n" +
		site + ",2,,,так,3,\"[{\"\"region\"\":\"\"head\"\",\"\"type\"\":\"\"gunshot\"\"}]\"\n" +
		site + ",3,,,yes,2.0,\n"
	got := mustRead(t, in, importer.Options{Kind: custody.KindRemains, Format: importer.CSV})
	want := []string{
		`{"site":"` + site + `","body":"1","age_min":30,"age_max":40}`,
		`{"site":"` + site + `","body":"2","commingled":true,"mni":3,"injuries":[{"region":"head","type":"gunshot"}]}`,
		`{"site":"` + site + `","body":"3","commingled":true,"mni":2}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestConversionErrors(t *testing.T) {
	tests := []struct {
		name, header, row, want string
	}{
		{"int", "killed_confirmed", "three", `line 2: incident.killed_confirmed (column "killed_confirmed"): "three" is not a whole number`},
		{"fraction", "killed_confirmed", "2.5", `"2.5" is not a whole number`},
		{"float", "location.lat", "north", `incident.location.lat (column "location.lat"): "north" is not a number`},
		{"hex float", "location.lat", "0x1p3", `is not a number`},
		{"json cell", "persons", "x", ``}, // a list of text: "x" is a list of one
		{"enum", "weapon", "bazooka", `line 2: incident.weapon: "bazooka" is not one of`},
		{"utf8", "description", "caf\xe9", `is not valid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := "type,time,precision,locality," + tt.header + "\nstrike,2022-03-05,day," + izium + "," + tt.row + "\n"
			_, errs, err := readAll(t, strings.NewReader(in), importer.Options{Kind: custody.KindIncident, Format: importer.CSV})
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				// persons=["x"] is refused by the kind's checks, not by conversion.
				if len(errs) != 1 || !strings.Contains(errs[0], "incident.persons[0]") {
					t.Errorf("errors %q", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0], tt.want) {
				t.Errorf("errors %q, want one with %q", errs, tt.want)
			}
		})
	}
}

func TestCSVLineNumbers(t *testing.T) {
	// Row 1 spans three lines (a quoted field with newlines); an empty line
	// and a line of empty fields are skipped; rows 3 and 5 are bad.
	in := "\ufefftype,time,precision,locality,description\n" + // line 1, with a BOM
		"strike,2022-03-05,day," + izium + ",\"first\nsecond\nthird\"\n" + // lines 2-4
		"\n" + // 5
		"strike,2022-03-06,day," + izium + ",\n" + // 6
		"strik,2022-03-07,day," + izium + ",\n" + // 7: bad type
		",,,,\n" + // 8
		"strike,2022-03-08,day," + izium + "\n" + // 9: a field short
		"strike,2022-03-09,day," + izium + ",\"bare \"quote\n" + // 10: malformed
		"strike,2022-13-01,day," + izium + ",ok\n" // 11: bad date
	data, errs, err := readAll(t, strings.NewReader(in), importer.Options{Kind: custody.KindIncident, Format: importer.CSV})
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 2 || !strings.Contains(data[0], `"first\nsecond\nthird"`) {
		t.Errorf("data %q", data)
	}
	wantPrefixes := []string{"line 7: incident.type", "line 9: 4 fields, but the header has 5", "line 10: malformed CSV", "line 11: incident.time"}
	if len(errs) != len(wantPrefixes) {
		t.Fatalf("errors:\n%s", strings.Join(errs, "\n"))
	}
	for i, p := range wantPrefixes {
		if !strings.HasPrefix(errs[i], p) {
			t.Errorf("error %d: %q, want prefix %q", i, errs[i], p)
		}
	}
}

func TestCSVDelimitersAndDecimalComma(t *testing.T) {
	for name, in := range map[string]string{
		"semicolon": "type;time;precision;locality;location.lat;location.lon\nstrike;2022-03-05;day;" + izium + ";49,2088;37,2485\n",
		"tab":       "type\ttime\tprecision\tlocality\tlocation.lat\tlocation.lon\nstrike\t2022-03-05\tday\t" + izium + "\t49.2088\t37.2485\n",
		"crlf":      "type,time,precision,locality,location.lat,location.lon\r\nstrike,2022-03-05,day," + izium + ",49.2088,37.2485\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			got := mustRead(t, in, importer.Options{Kind: custody.KindIncident, Format: importer.CSV})
			want := `{"type":"strike","time":"2022-03-05","precision":"day","locality":"` + izium + `","location":{"lat":49.2088,"lon":37.2485}}`
			if len(got) != 1 || got[0] != want {
				t.Errorf("got %q", got)
			}
		})
	}
}

func TestHeaderErrors(t *testing.T) {
	maps := func(s string) []importer.Map {
		m, err := importer.ParseMapping(s)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		name, in string
		mapping  []importer.Map
		want     string
	}{
		{"empty", "", nil, "the file is empty"},
		{"only blank lines", "\n\n,,\n", nil, "the file is empty"},
		{"unknown column", "type,killed_confirmd\n", nil, `column "killed_confirmd" of the header is not a field of incident records (did you mean "killed_confirmed"?`},
		{"unknown columns", "type,a,b\n", nil, `columns "a", "b" of the header are not fields of incident records (map the columns`},
		{"duplicate column", "type,type\n", nil, `names column "type" twice`},
		{"unknown field", "A\n", maps("kiled=A"), `incident records have no field "kiled"`},
		{"missing column", "A\n", maps("type=B"), `names column "B", which the header does not have (the columns are: A)`},
		{"twice", "A,B\n", maps("type=A,type=B"), "type is mapped twice"},
		{"whole and part", "A,B\n", maps("location=A,location.lat=B"), "location is mapped whole"},
		{"part and whole", "A,B\n", maps("location.lat=B,location=A"), "fields of location are mapped"},
		{"below a leaf", "A\n", maps("type.x=A"), `no field "type.x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := importer.NewDecoder(strings.NewReader(tt.in), importer.Options{Kind: custody.KindIncident, Format: importer.CSV, Mapping: tt.mapping})
			if err == nil || !strings.Contains(custody.ErrorMessage(err), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
			if custody.ErrorCode(err) != custody.EINVALID {
				t.Errorf("code %q", custody.ErrorCode(err))
			}
		})
	}
	if _, err := importer.NewDecoder(strings.NewReader("a\n"), importer.Options{Kind: "incidnet", Format: importer.CSV}); err == nil {
		t.Error("unknown kind accepted")
	}
	if _, err := importer.NewDecoder(strings.NewReader("a\n"), importer.Options{Kind: "incident", Format: "xls"}); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestMappingSyntax(t *testing.T) {
	for _, bad := range []string{"type", "=A", "type=", "a=b,c"} {
		if _, err := importer.ParseMapping(bad); err == nil {
			t.Errorf("ParseMapping(%q) accepted", bad)
		}
	}
	got, err := importer.ParseMapping(" type = Incident type ,,time=Date=Time")
	want := []importer.Map{{Field: "type", Source: "Incident type"}, {Field: "time", Source: "Date=Time"}}
	if err != nil || !cmp.Equal(got, want) {
		t.Errorf("got %v %v", got, err)
	}
	for name, file := range map[string]string{
		"json":  "\ufeff{\"type\": \"Incident type\", \"time\": \"Date=Time\"}\n",
		"lines": "# incidents\ntype=Incident type\n\ntime = Date=Time\n",
	} {
		got, err := importer.ReadMapping(strings.NewReader(file))
		if err != nil || !cmp.Equal(got, want) {
			t.Errorf("%s: got %v %v", name, got, err)
		}
	}
	for _, bad := range []string{`{"type": 1}`, `{"type": "A"} x`, `{"type": `, "type\n"} {
		if _, err := importer.ReadMapping(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadMapping(%q) accepted", bad)
		}
	}
}

func TestJSON(t *testing.T) {
	in := `[
  {"type": "strike", "time": "2022-03-05", "precision": "day", "locality": "` + izium + `", "killed_confirmed": "3", "location": {"lat": 49.2, "lon": 37.2}},
  {"type": "strike", "time": "2022-03-05", "precision": "day", "locality": "` + izium + `", "killed_confirmed": 2.5},
  42,
  {"type": "strike", "time": "2022-03-05", "precision": "day", "locality": "` + izium + `", "colour": "red"},
  {"Type": "detention", "time": "2022-03-05", "precision": "day", "locality": "` + izium + `", "persons": null, "Description": 17}
]`
	data, errs, err := readAll(t, strings.NewReader(in), importer.Options{Kind: custody.KindIncident, Format: importer.JSON})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"type":"strike","time":"2022-03-05","precision":"day","locality":"` + izium + `","location":{"lat":49.2,"lon":37.2},"killed_confirmed":3}`,
		`{"type":"detention","time":"2022-03-05","precision":"day","locality":"` + izium + `","description":"17"}`,
	}
	if diff := cmp.Diff(want, data); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	wantErrs := []string{
		`[1]: incident.killed_confirmed (property "killed_confirmed"): "2.5" is not a whole number`,
		`[2]: is not an object`,
		`[3]: "colour" is not a field of incident records`,
	}
	if len(errs) != len(wantErrs) {
		t.Fatalf("errors:\n%s", strings.Join(errs, "\n"))
	}
	for i, w := range wantErrs {
		if !strings.HasPrefix(errs[i], w) {
			t.Errorf("error %d: %q, want %q", i, errs[i], w)
		}
	}
}

func TestJSONMappingNested(t *testing.T) {
	in := `[{"who": {"name": "B", "roles": ["missing"]}, "seen": {"at": "2022-03-20"}, "ignored": true}]`
	maps, _ := importer.ParseMapping("name=who.name,roles=who.roles,ante_mortem.last_seen_at=seen.at")
	got := mustRead(t, in, importer.Options{Kind: custody.KindPerson, Format: importer.JSON, Mapping: maps})
	want := `{"roles":["missing"],"name":"B","ante_mortem":{"last_seen_at":"2022-03-20"}}`
	if len(got) != 1 || got[0] != want {
		t.Errorf("got %q", got)
	}
}

func TestMalformedJSON(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"syntax", "[\n {\"type\": \"strike\"},\n {\"type\" \"strike\"}\n]", "malformed JSON at line 3, column 10 (after 1 records)"},
		{"truncated", "[\n {\"type\": \"strike\"},\n {\"type\": ", "the JSON ends early"},
		{"object", `{"type": "strike"}`, "a JSON import is an array of objects"},
		{"scalar", `"x"`, "a JSON import is an array of objects"},
		{"empty", "  ", "the file is empty"},
		{"trailing", `[] []`, "the JSON ends at line 1, column 2, but more data follows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAll(t, strings.NewReader(tt.in), importer.Options{Kind: custody.KindIncident, Format: importer.JSON})
			if err == nil || !strings.Contains(custody.ErrorMessage(err), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	// Without io.ReaderAt, the position is a byte offset.
	_, _, err := readAll(t, io.MultiReader(strings.NewReader("[1,]")), importer.Options{Kind: custody.KindIncident, Format: importer.JSON})
	if err == nil || !strings.Contains(err.Error(), "in the record after byte 2") {
		t.Errorf("error %v", err)
	}
}

const geojson = `{
  "type": "FeatureCollection",
  "name": "incidents",
  "features": [
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [37.2485, 49.2088]},
     "properties": {"Type": "strike", "Date": "2022-03-05", "Killed": 3}},
    {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[37.2, 49.2], [37.3, 49.3]]},
     "properties": {"Type": "strike", "Date": "2022-03-05"}},
    {"type": "Feature", "geometry": null, "properties": {"Type": "killing", "Date": "2022-03-06"}},
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [37.2]}, "properties": {"Type": "killing", "Date": "2022-03-06"}}
  ]
}`

func TestGeoJSON(t *testing.T) {
	maps, _ := importer.ParseMapping("type=Type,time=Date,killed_confirmed=Killed")
	// precision and locality come from nowhere: map them from constant
	// properties would need a column; use a file where they exist instead.
	in := strings.ReplaceAll(geojson, `"Date":`, `"precision": "day", "locality": "`+izium+`", "Date":`)
	maps = append(maps, importer.Map{Field: "precision", Source: "precision"}, importer.Map{Field: "locality", Source: "locality"})
	data, errs, err := readAll(t, strings.NewReader(in), importer.Options{Kind: custody.KindIncident, Format: importer.GeoJSON, Mapping: maps})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"type":"strike","time":"2022-03-05","precision":"day","locality":"` + izium + `","location":{"lat":49.2088,"lon":37.2485},"killed_confirmed":3}`,
		`{"type":"killing","time":"2022-03-06","precision":"day","locality":"` + izium + `"}`,
	}
	if diff := cmp.Diff(want, data); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	wantErrs := []string{
		"features[1]: incident.location: the geometry is a LineString; location takes a Point",
		"features[3]: incident.location: the Point's coordinates are not [longitude, latitude]",
	}
	if diff := cmp.Diff(wantErrs, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestGeoJSONSitePolygonAndIdentity(t *testing.T) {
	in := `{"features": [
	  {"type": "Feature", "properties": {"name": "Forest burial site", "type": "mass_burial", "status": "completed", "locality": "` + izium + `"},
	   "geometry": {"type": "Polygon", "coordinates": [[[37.28, 49.19], [37.29, 49.19], [37.29, 49.2], [37.28, 49.19]]]}},
	  {"type": "Feature", "properties": {"name": "Grave", "type": "grave", "status": "reported", "locality": "` + izium + `", "location": {}},
	   "geometry": {"type": "Point", "coordinates": [37.28, 49.19, 120]}},
	  {"type": "Feature", "properties": null, "geometry": {"type": "MultiPolygon", "coordinates": []}},
	  {"type": "Point"}
	], "type": "FeatureCollection"}`
	data, errs, err := readAll(t, strings.NewReader(in), importer.Options{Kind: custody.KindSite, Format: importer.GeoJSON})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`{"name":"Forest burial site","type":"mass_burial","locality":"` + izium + `","location":{"polygon":[[37.28,49.19],[37.29,49.19],[37.29,49.2],[37.28,49.19]]},"status":"completed"}`}
	if diff := cmp.Diff(want, data); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	wantErrs := []string{
		`features[1]: a property "location": the location comes from the feature's geometry`,
		`features[2]: site.location: the geometry is a MultiPolygon; location takes a Point or a Polygon`,
		`features[3]: type is "Point", not "Feature"`,
	}
	if diff := cmp.Diff(wantErrs, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestGeoJSONPersonsHaveNoLocation(t *testing.T) {
	in := `{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "A", "roles": "witness"}, "geometry": {"type": "Point", "coordinates": [37, 49]}}]}`
	_, errs, err := readAll(t, strings.NewReader(in), importer.Options{Kind: custody.KindPerson, Format: importer.GeoJSON})
	if err != nil || len(errs) != 1 || !strings.Contains(errs[0], "person records have no location") {
		t.Errorf("%v %q", err, errs)
	}
}

func TestGeoJSONNotACollection(t *testing.T) {
	for in, want := range map[string]string{
		`{"type": "Feature", "properties": {}}`:    "a single Feature",
		`{"type": "Topology", "features": []}`:     `type is "Topology"`,
		`{"name": "x"}`:                            "has no features",
		`[]`:                                       "a FeatureCollection object",
		`{"type": "FeatureCollection", "features"`: "ends early",
		`{"features": {}}`:                         "features is not an array",
		`{"features": [], "features": []}`:         "features is given twice",
	} {
		_, _, err := readAll(t, strings.NewReader(in), importer.Options{Kind: custody.KindIncident, Format: importer.GeoJSON})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", in, err, want)
		}
	}
}

func TestFieldsAndFormat(t *testing.T) {
	fields := importer.Fields(custody.KindPerson)
	for _, f := range []string{"roles", "name", "ante_mortem", "ante_mortem.last_seen_at"} {
		if !strings.Contains(" "+strings.Join(fields, " ")+" ", " "+f+" ") {
			t.Errorf("Fields(person) lacks %s: %v", f, fields)
		}
	}
	for _, k := range custody.RecordKinds {
		if len(importer.Fields(k)) == 0 {
			t.Errorf("no fields for %s", k)
		}
	}
	for name, want := range map[string]importer.Format{"a.CSV": importer.CSV, "b.tsv": importer.CSV, "c.json": importer.JSON, "d.geojson": importer.GeoJSON} {
		if f, ok := importer.FormatOf(name); !ok || f != want {
			t.Errorf("FormatOf(%s) = %s", name, f)
		}
	}
	if _, ok := importer.FormatOf("x.xlsx"); ok {
		t.Error("xlsx has a format")
	}
}

// TestStreaming reads a large CSV through a reader that fails if the
// decoder reads far ahead of the rows it returned.
func TestStreaming(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("type,time,precision,locality\n")
	const rows = 20000
	for range rows {
		b.WriteString("strike,2022-03-05,day," + izium + "\n")
	}
	lr := &limitAhead{r: bytes.NewReader(b.Bytes())}
	dec, err := importer.NewDecoder(lr, importer.Options{Kind: custody.KindIncident, Format: importer.CSV})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := dec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if lr.read > int64(n+1)*50+128<<10 {
			t.Fatalf("read %d bytes for %d rows", lr.read, n)
		}
	}
	if n != rows {
		t.Errorf("%d rows", n)
	}
}

type limitAhead struct {
	r    io.Reader
	read int64
}

func (l *limitAhead) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.read += int64(n)
	return n, err
}

// TestJSONPositionsInFile checks line numbers through an *os.File.
func TestJSONPositionsInFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.json")
	os.WriteFile(p, []byte("\ufeff[\n  {},\n  {,}\n]"), 0o600)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, _, err = readAll(t, f, importer.Options{Kind: custody.KindIncident, Format: importer.JSON})
	if err == nil || !strings.Contains(err.Error(), "malformed JSON at line 3, column 4 (after 1 records): invalid character ','") {
		t.Errorf("error %v", err)
	}
}

func TestConstants(t *testing.T) {
	set := func(f, v string) importer.Map { return importer.Map{Field: f, Source: v, Const: true} }
	// CSV without a mapping: columns by name (any case, spaces for
	// underscores) and constants for what the file lacks.
	in := "Type,Time,Killed confirmed\nstrike,2022-03-05,2\nkilling,2022-03-06,\n"
	got := mustRead(t, in, importer.Options{Kind: custody.KindIncident, Format: importer.CSV,
		Mapping: []importer.Map{set("precision", "day"), set("locality", izium)}})
	want := []string{
		`{"type":"strike","time":"2022-03-05","precision":"day","locality":"` + izium + `","killed_confirmed":2}`,
		`{"type":"killing","time":"2022-03-06","precision":"day","locality":"` + izium + `"}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// JSON without a mapping: a constant field must not be in the file too.
	jin := `[{"type": "strike", "time": "2022-03"}, {"type": "strike", "time": "2022-03", "precision": "day"}]`
	data, errs, err := readAll(t, strings.NewReader(jin), importer.Options{Kind: custody.KindIncident, Format: importer.JSON,
		Mapping: []importer.Map{set("precision", "month"), set("locality", izium)}})
	if err != nil || len(data) != 1 || len(errs) != 1 || !strings.Contains(errs[0], `[1]: "precision" is given both by the file and as a constant`) {
		t.Errorf("%v %q %q", err, data, errs)
	}
	// With a mapping.
	got = mustRead(t, "A\n2022-03-05\n", importer.Options{Kind: custody.KindIncident, Format: importer.CSV,
		Mapping: []importer.Map{{Field: "time", Source: "A"}, set("type", "strike"), set("precision", "day"), set("locality", izium), set("persons", "")}})
	if len(got) != 1 || got[0] != `{"type":"strike","time":"2022-03-05","precision":"day","locality":"`+izium+`"}` {
		t.Errorf("got %q", got)
	}
	for _, tt := range []struct {
		maps []importer.Map
		want string
		skip string // of the header
	}{
		{[]importer.Map{{Field: "time", Source: "A"}, set("killed_confirmed", "many")}, `the value of killed_confirmed: "many" is not a whole number`, ""},
		{[]importer.Map{{Field: "type", Source: "A"}, set("type", "strike")}, "type is mapped twice", ""},
		{[]importer.Map{{Field: "time", Source: "A"}, set("typo", "x")}, `no field "typo"`, ""},
		{[]importer.Map{set("time", "2022")}, "time is mapped twice", "A,"},
	} {
		_, err := importer.NewDecoder(strings.NewReader("A,time\nx\n"[len(tt.skip):]), importer.Options{Kind: custody.KindIncident, Format: importer.CSV, Mapping: tt.maps})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want %q", tt.maps, err, tt.want)
		}
	}
}
