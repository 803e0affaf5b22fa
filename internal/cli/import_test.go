package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/cli"
	"github.com/custody-dev/custody/internal/locality"
)

const izium = "UA63040090010029555"

// incidentMap maps the columns of the generated incident files.
const incidentMap = "type=Type,time=Date,precision=Precision,locality=Settlement,location.lat=Lat,location.lon=Lon,weapon=Weapon," +
	"killed_confirmed=Killed,killed_estimated=Killed (est.),injured_confirmed=Injured,description=Description"

// settlements returns the KATOTTH codes (with coordinates, where known) of
// the settlements of the Izium raion of Kharkiv oblast.
func settlements(t testing.TB) []locality.Locality {
	t.Helper()
	g, err := locality.Load()
	if err != nil {
		t.Fatal(err)
	}
	var out []locality.Locality
	for _, h := range g.Children("UA63040000000023521") { // Iziumskyi raion
		for _, s := range g.Children(h.Code) {
			switch s.Category {
			case locality.City, locality.UrbanSettlement, locality.Village, locality.Settlement:
				out = append(out, s)
			}
		}
	}
	if len(out) < 100 {
		t.Fatalf("only %d settlements in the Izium raion", len(out))
	}
	return out
}

// writeIncidents writes a CSV of n realistic incidents: their types,
// dates in the months of the occupation, settlements of the Izium raion,
// casualties and descriptions with commas, quotes and line breaks.
func writeIncidents(t testing.TB, path string, n int, places []locality.Locality) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := csv.NewWriter(bw)
	w.Write([]string{"Type", "Date", "Precision", "Settlement", "Lat", "Lon", "Weapon", "Killed", "Killed (est.)", "Injured", "Description"})
	rng := rand.New(rand.NewPCG(1, 2))
	types := []string{"strike", "strike", "strike", "killing", "killing", "torture", "detention", "disappearance", "looting", "destruction"}
	weapons := []string{"artillery", "mlrs", "air", "missile", "mortar", "cluster", "drone"}
	what := []string{"residential building", "school", "hospital", "shelter in a basement", "checkpoint on the road to Kharkiv",
		"private house", "bridge over the Siverskyi Donets", "grain store", "church", "filtration point"}
	start := time.Date(2022, 3, 1, 0, 0, 0, 0, time.FixedZone("EET", 2*3600))
	for i := range n {
		typ := types[rng.IntN(len(types))]
		at := start.Add(time.Duration(rng.IntN(200*24*60)) * time.Minute)
		date, precision := at.Format("2006-01-02"), "day"
		switch rng.IntN(10) {
		case 0:
			date, precision = at.Format(time.RFC3339), "exact"
		case 1:
			date, precision = at.Format("2006-01"), "month"
		}
		p := places[rng.IntN(len(places))]
		lat, lon := "", ""
		if p.HasCoord && rng.IntN(3) > 0 {
			lat = fmt.Sprintf("%.5f", p.Lat+(rng.Float64()-0.5)/50)
			lon = fmt.Sprintf("%.5f", p.Lon+(rng.Float64()-0.5)/50)
		}
		weapon, killed, est, injured := "", "", "", ""
		if typ == "strike" || typ == "destruction" {
			weapon = weapons[rng.IntN(len(weapons))]
		}
		if typ == "strike" || typ == "killing" {
			killed = fmt.Sprint(rng.IntN(12))
			if rng.IntN(4) == 0 {
				est = fmt.Sprint(rng.IntN(30))
			}
			injured = fmt.Sprint(rng.IntN(20))
		}
		desc := fmt.Sprintf("%s near the %s, %s; reported by witness no. %d", strings.ReplaceAll(typ, "_", " "),
			what[rng.IntN(len(what))], p.NameLatin, i%997)
		switch rng.IntN(8) {
		case 0:
			desc += "\nsecond account: \"the shelling began at dawn\""
		case 1:
			desc = "Обстріл: " + p.Name + ", " + desc
		}
		w.Write([]string{typ, date, precision, p.Code, lat, lon, weapon, killed, est, injured, desc})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// runMain runs custody in process with the given standard input and
// interactivity.
func runMain(t testing.TB, stdin string, interactive bool, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	m := &cli.Main{Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr,
		Getenv: func(string) string { return "" }, Now: time.Now, Interactive: interactive}
	code := m.Run(context.Background(), args)
	return result{code, stdout.String(), stderr.String()}
}

// BenchmarkImportIncidentsCSV imports 100,000 generated incidents (10,000
// with -short) from a CSV file through the custody command: "check" reads,
// converts and checks every row (--dry-run: the importer's own work);
// "import" also writes them into a fresh SQLite store, 5,000 per log
// append, and publishes the log.
//
//	go test -run '^$' -bench BenchmarkImportIncidentsCSV -benchtime 3x ./internal/cli/
func BenchmarkImportIncidentsCSV(b *testing.B) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	path := filepath.Join(b.TempDir(), "incidents.csv")
	writeIncidents(b, path, n, settlements(b))
	fi, _ := os.Stat(path)
	if r := runMain(b, "", false, "locality", "find", "Izium"); r.code != 0 { // the gazetteer, loaded once per process
		b.Fatal(r.stderr)
	}
	for _, sub := range []struct {
		name, flag, want string
	}{{"check", "--dry-run", "checked %d incident records"}, {"import", "--batch=5000", "imported %d incident records"}} {
		b.Run(sub.name, func(b *testing.B) {
			b.SetBytes(fi.Size())
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := filepath.Join(b.TempDir(), "data")
				if r := runMain(b, "", false, "init", "--data", dir); r.code != 0 {
					b.Fatalf("init: %s", r.stderr)
				}
				b.StartTimer()
				t0 := time.Now()
				r := runMain(b, "", false, "import", "incident", path, "--data", dir, "--map", incidentMap, sub.flag)
				total += time.Since(t0)
				if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf(sub.want, n)) {
					b.Fatalf("import: %d\n%s\n%s", r.code, r.stdout, r.stderr)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "records/s")
		})
	}
}

// TestGeneratedIncidentsImport imports a small generated file and checks
// that every row became the record it describes.
func TestGeneratedIncidentsImport(t *testing.T) {
	dir, _ := initStore(t)
	path := filepath.Join(t.TempDir(), "incidents.csv")
	writeIncidents(t, path, 1200, settlements(t))
	r := runMain(t, "", false, "import", "incident", path, "--data", dir, "--map", incidentMap, "--batch", "500", "--json")
	if r.code != 0 {
		t.Fatalf("import: %d\n%s", r.code, r.stderr)
	}
	var res struct {
		Rows, Imported int
		Records        []struct{ Pos, ID string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.Rows != 1200 || res.Imported != 1200 || len(res.Records) != 1200 {
		t.Fatalf("rows %d imported %d records %d", res.Rows, res.Imported, len(res.Records))
	}
	// Compare one row with its record.
	f, _ := os.Open(path)
	defer f.Close()
	cr := csv.NewReader(f)
	rows, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 599, 1199} {
		show := runMain(t, "", false, "record", "show", res.Records[i].ID, "--data", dir, "--json")
		var got struct{ Record custody.Record }
		if err := json.Unmarshal([]byte(show.stdout), &got); err != nil {
			t.Fatalf("show: %v %s", err, show.stderr)
		}
		var in custody.Incident
		json.Unmarshal(got.Record.Data, &in)
		row := rows[i+1]
		killed := row[7]
		if killed == "" {
			killed = "0"
		}
		if in.Type != row[0] || in.Time != row[1] || in.Precision != row[2] || in.Locality != row[3] || in.Description != row[10] ||
			fmt.Sprint(in.KilledConfirmed) != killed {
			t.Errorf("row %d %q became %+v", i, row, in)
		}
		if row[4] != "" && (in.Location == nil || fmt.Sprintf("%.5f", in.Location.Lat) != row[4] || fmt.Sprintf("%.5f", in.Location.Lon) != row[5]) {
			t.Errorf("row %d position %s,%s became %+v", i, row[4], row[5], in.Location)
		}
	}
}

// incidentsCSV has five incidents; the third (line 4) has an unknown type;
// the fourth spans lines 5 and 6.
const incidentsCSV = `Type,Date,Precision,Settlement,Killed,Notes
strike,2022-03-05,day,` + izium + `,3,"shelling of the centre, ""Hostynnyi Dvir"""
killing,2022-03-06,day,` + izium + `,1,shot at a checkpoint
strik,2022-03-07,day,` + izium + `,,
detention,2022-03-08,day,` + izium + `,,"held in the basement
of the police station"
torture,2022-03-09,day,` + izium + `,,
`

const incidentsMap = "type=Type,time=Date,precision=Precision,locality=Settlement,killed_confirmed=Killed,description=Notes"

func logSize(t *testing.T, dir string) string {
	t.Helper()
	r := mustRun(t, "", "log", "checkpoint", "--data", dir)
	return strings.Split(r.stdout, "\n")[1]
}

// TestImportBadRowWritesNothing: with row 3 (line 4) bad, no row is
// written, not even the batches before it.
func TestImportBadRowWritesNothing(t *testing.T) {
	dir, _ := initStore(t)
	f := writeFile(t, "incidents.csv", incidentsCSV)
	before := logSize(t, dir)
	for _, batch := range []string{"1", "5000"} {
		r := runMain(t, "", false, "import", "incident", f, "--map", incidentsMap, "--batch", batch, "--data", dir)
		if r.code != 1 || !strings.Contains(r.stderr, "custody import: 1 row rejected, nothing imported\n") ||
			!strings.Contains(r.stderr, `  line 4: incident.type: "strik" is not one of strike,`) || strings.Count(r.stderr, "line ") != 1 {
			t.Errorf("batch %s: exit %d\n%s", batch, r.code, r.stderr)
		}
	}
	if p := listJSON(t, dir); len(p.Records) != 0 {
		t.Errorf("%d records written", len(p.Records))
	}
	if after := logSize(t, dir); after != before {
		t.Errorf("log grew from %s to %s", before, after)
	}
	// --json lists the rejected rows.
	r := runMain(t, "", false, "import", "incident", f, "--map", incidentsMap, "--data", dir, "--json")
	var res struct {
		Rows, Imported, Rejected int
		Errors                   []struct{ Pos, Error string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 1 {
		t.Fatalf("--json: %d %v %s", r.code, err, r.stdout)
	}
	if res.Rows != 5 || res.Imported != 0 || res.Rejected != 1 || len(res.Errors) != 1 || res.Errors[0].Pos != "line 4" ||
		!strings.HasPrefix(res.Errors[0].Error, `incident.type: "strik"`) {
		t.Errorf("--json: %+v", res)
	}

	// Every bad row is reported, each with its line.
	bad := strings.NewReplacer("detention", "detained", ",3,", ",three,", izium+",1", "UA63040090010029554,1").Replace(incidentsCSV)
	r = runMain(t, "", false, "import", "incident", writeFile(t, "bad.csv", bad), "--map", incidentsMap, "--data", dir)
	for _, want := range []string{
		"4 rows rejected, nothing imported",
		`line 2: incident.killed_confirmed (column "Killed"): "three" is not a whole number`,
		"line 3: incident.locality: no locality UA63040090010029554 in the KATOTTH codifier",
		`line 4: incident.type: "strik"`,
		`line 5: incident.type: "detained"`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}

	// Fixed, the file imports whole.
	good := strings.Replace(incidentsCSV, "strik,", "strike,", 1)
	r = mustRun(t, "", "import", "incident", writeFile(t, "good.csv", good), "--map", incidentsMap, "--batch", "2", "--data", dir)
	if !regexp.MustCompile(`^imported 5 incident records from \S+good.csv in 3 batches \(log #\d+ to #\d+\), [\d.]+ s, \d+ records/s\n$`).MatchString(r.stdout) {
		t.Errorf("import: %q", r.stdout)
	}
	p := listJSON(t, dir)
	if len(p.Records) != 5 {
		t.Fatalf("%d records", len(p.Records))
	}
	var in custody.Incident
	json.Unmarshal(p.Records[1].Data, &in)
	if in.Type != "killing" || in.Description != "shot at a checkpoint" || in.KilledConfirmed != 1 || in.Precision != "day" {
		t.Errorf("row 2 became %+v", in)
	}
	in = custody.Incident{}
	json.Unmarshal(p.Records[3].Data, &in)
	if in.Type != "detention" || in.Description != "held in the basement\nof the police station" {
		t.Errorf("row 4 became %+v", in)
	}
	if r := mustRun(t, "", "verify", "--data", dir); !strings.Contains(r.stdout, "OK") {
		t.Errorf("verify: %s", r.stdout)
	}
}

func TestImportPersons(t *testing.T) {
	dir, _ := initStore(t)
	csvFile := writeFile(t, "missing.csv", "\ufeffПІБ;Роль;Рік народження;Населений пункт;Востаннє бачили;Де;Прикмети\n"+
		"Особа А;missing;1961;"+izium+";2022-03-20T08:00:00+02:00;біля мосту;\"шрам на лівій руці; зріст 175\"\n"+
		"Особа Б;victim, missing;1975;"+izium+";;;\n"+
		"Особа В;witness;;;;;\n")
	mapFile := writeFile(t, "persons.json", `{
  "name": "ПІБ", "roles": "Роль", "born_on": "Рік народження", "locality": "Населений пункт",
  "ante_mortem.last_seen_at": "Востаннє бачили", "ante_mortem.last_seen_place": "Де", "ante_mortem.description": "Прикмети"
}`)
	// "victim, missing" is one value: lists are separated by ";" (here,
	// inside a quoted cell).
	r := runMain(t, "", false, "import", "person", csvFile, "--map-file", mapFile, "--data", dir)
	if r.code != 1 || !strings.Contains(r.stderr, `line 3: person.roles[0]: "victim, missing" is not one of`) {
		t.Fatalf("import: %d %s", r.code, r.stderr)
	}
	fixed := strings.Replace(mustReadFile(t, csvFile), "victim, missing", `"victim;missing"`, 1)
	r = mustRun(t, "", "import", "person", writeFile(t, "fixed.csv", fixed), "--map-file", mapFile, "--data", dir, "--json")
	var res struct {
		Imported int
		Records  []struct{ Pos, ID string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Imported != 3 || res.Records[2].Pos != "line 4" {
		t.Fatalf("%v %s", err, r.stdout)
	}
	show := mustRun(t, "", "record", "show", res.Records[0].ID, "--data", dir, "--json")
	var got struct{ Record custody.Record }
	json.Unmarshal([]byte(show.stdout), &got)
	var p custody.Person
	json.Unmarshal(got.Record.Data, &p)
	if p.Name != "Особа А" || strings.Join(p.Roles, ",") != "missing" || p.BornOn != "1961" || p.AnteMortem == nil ||
		p.AnteMortem.LastSeenAt != "2022-03-20T08:00:00+02:00" || p.AnteMortem.Description != "шрам на лівій руці; зріст 175" {
		t.Errorf("person %+v %+v", p, p.AnteMortem)
	}
	show = mustRun(t, "", "record", "show", res.Records[1].ID, "--data", dir, "--json")
	json.Unmarshal([]byte(show.stdout), &got)
	p = custody.Person{}
	json.Unmarshal(got.Record.Data, &p)
	if strings.Join(p.Roles, ",") != "victim,missing" || p.AnteMortem != nil {
		t.Errorf("person %+v", p)
	}
}

func mustReadFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestImportJSONAndGeoJSON(t *testing.T) {
	dir, _ := initStore(t)
	site := recordJSON(t, mustRun(t, "", "site", "add", "--name", "School No. 2", "--type", "building", "--locality", izium, "--data", dir, "--json").stdout)
	js := writeFile(t, "incidents.json", `[
  {"type": "strike", "time": "2022-03-05", "precision": "day", "locality": "`+izium+`", "site": "`+site.ID+`", "killed_confirmed": 3},
  {"type": "strike", "time": "2022-03-06", "precision": "day", "locality": "`+izium+`", "site": "0192f000-0000-7000-8000-00000000dead"},
  {"type": "strike", "time": "2022-03-07", "precision": "day", "locality": "`+izium+`", "location": {"lat": 55.75, "lon": 37.61}}
]`)
	r := runMain(t, "", false, "import", "incident", js, "--data", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "1 row rejected") || !strings.Contains(r.stderr, "[1]: incident.site: no site 0192f000-0000-7000-8000-00000000dead in this store") {
		t.Errorf("json: %d %s", r.code, r.stderr)
	}

	// Accepted with a warning: a position outside Ukraine.
	js = writeFile(t, "incidents2.json", `[
  {"type": "strike", "time": "2022-03-05", "precision": "day", "locality": "`+izium+`", "site": "`+site.ID+`", "killed_confirmed": 3},
  {"type": "strike", "time": "2022-03-07", "precision": "day", "locality": "`+izium+`", "location": {"lat": 55.75, "lon": 37.61}}
]`)
	r = mustRun(t, "", "import", "incident", js, "--data", dir)
	if !strings.Contains(r.stdout, "imported 2 incident records") || !strings.Contains(r.stderr, "warning: [1]: incident.location: (55.75, 37.61) is outside Ukraine") {
		t.Errorf("json: %q %q", r.stdout, r.stderr)
	}

	// GeoJSON: properties by the mapping, constants for what they lack,
	// the Point for the location ([lon, lat] in GeoJSON).
	geo := writeFile(t, "incidents.geojson", `{"type": "FeatureCollection", "features": [
  {"type": "Feature", "geometry": {"type": "Point", "coordinates": [37.2485, 49.2088]}, "properties": {"kind": "strike", "date": "2022-03-05"}},
  {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[37.2, 49.2], [37.3, 49.3]]}, "properties": {"kind": "strike", "date": "2022-03-06"}},
  {"type": "Feature", "geometry": null, "properties": {"kind": "killing", "date": "2022-03-11"}}
]}`)
	args := []string{"import", "incident", geo, "--map", "type=kind,time=date", "--set", "precision=day", "--set", "locality=" + izium, "--data", dir}
	r = runMain(t, "", false, args...)
	if r.code != 1 || !strings.Contains(r.stderr, "features[1]: incident.location: the geometry is a LineString; location takes a Point") {
		t.Errorf("geojson: %d %s", r.code, r.stderr)
	}
	geoFixed := strings.Replace(mustReadFile(t, geo), `{"type": "LineString", "coordinates": [[37.2, 49.2], [37.3, 49.3]]}`, "null", 1)
	os.WriteFile(geo, []byte(geoFixed), 0o644)
	r = mustRun(t, "", append(args, "--json")...)
	var res struct{ Records []struct{ Pos, ID string } }
	json.Unmarshal([]byte(r.stdout), &res)
	if len(res.Records) != 3 || res.Records[0].Pos != "features[0]" {
		t.Fatalf("geojson: %s", r.stdout)
	}
	var got struct{ Record custody.Record }
	json.Unmarshal([]byte(mustRun(t, "", "record", "show", res.Records[0].ID, "--data", dir, "--json").stdout), &got)
	var in custody.Incident
	json.Unmarshal(got.Record.Data, &in)
	if in.Location == nil || in.Location.Lat != 49.2088 || in.Location.Lon != 37.2485 || in.Precision != "day" || in.Locality != izium {
		t.Errorf("feature 0 became %+v", in)
	}
	if n := len(listJSON(t, dir, "--kind", "incident").Records); n != 5 {
		t.Errorf("%d incidents", n)
	}
}

func TestImportRefusals(t *testing.T) {
	dir, _ := initStore(t)
	mustRun(t, "", "user", "add", "rita", "--role", "reviewer", "--data", dir)
	f := writeFile(t, "incidents.csv", strings.Replace(incidentsCSV, "strik,", "strike,", 1))
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"kind", []string{"incidnt", f}, 1, `unknown record kind "incidnt" (did you mean "incident"?)`},
		{"no file", []string{"incident"}, 2, "give the kind and the file"},
		{"missing", []string{"incident", "/nonexistent/x.csv"}, 1, "no such file"},
		{"extension", []string{"incident", writeFile(t, "x.xlsx", "PK")}, 1, "give --format csv, json or geojson"},
		{"format", []string{"incident", f, "--format", "xml"}, 1, `unknown format "xml"`},
		{"map syntax", []string{"incident", f, "--map", "type"}, 2, `mapping "type" is not FIELD=COLUMN`},
		{"map field", []string{"incident", f, "--map", "kind=Type"}, 1, `incident records have no field "kind"`},
		{"map column", []string{"incident", f, "--map", "type=Kind"}, 1, `the mapping names column "Kind", which the header does not have`},
		{"unmapped", []string{"incident", f}, 1, `columns "Date", "Settlement", "Killed", "Notes" of the header are not fields`},
		{"set", []string{"incident", f, "--map", incidentsMap, "--set", "precision"}, 2, "give FIELD=VALUE"},
		{"set twice", []string{"incident", f, "--map", incidentsMap, "--set", "precision=day"}, 1, "precision is mapped twice"},
		{"batch", []string{"incident", f, "--map", incidentsMap, "--batch", "20000"}, 1, "--batch 20000: give 1 to 10000"},
		{"reviewer", []string{"incident", f, "--map", incidentsMap, "--as", "rita"}, 1, "role reviewer may not create records"},
		{"empty", []string{"incident", writeFile(t, "e.csv", "Type\n")}, 1, "holds no records"},
		{"map file", []string{"incident", f, "--map-file", writeFile(t, "m.json", `{"type": 1}`)}, 1, `the column of "type" must be a string`},
		{"malformed json", []string{"incident", writeFile(t, "x.json", "[\n{\"type\": \"strike\"}\n{}]")}, 1, "x.json: malformed JSON at line 3, column 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runMain(t, "", false, append([]string{"import", "--data", dir}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit %d stderr %q, want %d and %q", r.code, r.stderr, tt.code, tt.stderr)
			}
			if strings.Contains(r.stderr, "detail:") {
				t.Errorf("a user error reported as internal: %q", r.stderr)
			}
		})
	}
	if n := len(listJSON(t, dir).Records); n != 0 {
		t.Errorf("%d records written by refused imports", n)
	}
	// A reviewer may check a file.
	r := mustRun(t, "", "import", "incident", f, "--map", incidentsMap, "--as", "rita", "--dry-run", "--data", dir)
	if r.stdout != "checked 5 incident records in "+f+": all valid; nothing imported (--dry-run)\n" {
		t.Errorf("dry run: %q", r.stdout)
	}
	if n := len(listJSON(t, dir).Records); n != 0 {
		t.Errorf("%d records written by a dry run", n)
	}
}

// TestImportProgress shows a progress bar on a terminal, and only the
// summary line otherwise.
func TestImportProgress(t *testing.T) {
	dir, _ := initStore(t)
	path := filepath.Join(t.TempDir(), "incidents.csv")
	writeIncidents(t, path, 3000, settlements(t))
	r := runMain(t, "", true, "import", "incident", path, "--map", incidentMap, "--batch", "1000", "--data", dir)
	if r.code != 0 || !strings.Contains(r.stderr, "\rcheck  [####################] 100.0%") || !strings.Contains(r.stderr, "\rimport [####################] 100.0%") {
		t.Errorf("terminal: %d %q", r.code, r.stderr)
	}
	r = runMain(t, "", false, "import", "incident", path, "--map", incidentMap, "--data", dir)
	if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "imported 3000 incident records") {
		t.Errorf("not a terminal: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

func TestImportLocalities(t *testing.T) {
	dir, _ := initStore(t)
	f := writeFile(t, "localities.csv", "code,occupied_on,liberated_on,population_before\n"+
		izium+",2022-04-01,2022-09-10,45000\n"+
		"UA63040090050043504,2022-03-10,2022-09-10,\n") // Zabavne
	if r := mustRun(t, "", "import", "locality", f, "--data", dir); !strings.HasPrefix(r.stdout, "imported 2 locality records") {
		t.Errorf("import: %q", r.stdout)
	}
	// Again: the records exist; twice in one file: refused too.
	r := runMain(t, "", false, "import", "locality", f, "--data", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "line 2: locality "+izium+" has a record already") {
		t.Errorf("again: %d %s", r.code, r.stderr)
	}
	twice := writeFile(t, "twice.csv", "code,notes\n"+"UA63040090010029555,a\nUA63040090010029555,b\n")
	r = runMain(t, "", false, "import", "locality", twice, "--data", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "line 3: locality UA63040090010029555 is also at line 2") {
		t.Errorf("twice: %d %s", r.code, r.stderr)
	}
	r = mustRun(t, "", "record", "show", izium, "--data", dir, "--json")
	if !strings.Contains(r.stdout, `"population_before": 45000`) {
		t.Errorf("show: %s", r.stdout)
	}
}
