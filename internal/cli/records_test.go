package cli_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/custody-dev/custody"
)

// mustRun runs custody and fails the test unless it exits 0.
func mustRun(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	r := runMain(t, stdin, false, args...)
	if r.code != 0 {
		t.Fatalf("custody %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

func recordJSON(t *testing.T, out string) custody.Record {
	t.Helper()
	var r custody.Record
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.ID == "" {
		t.Fatalf("not a record: %v\n%s", err, out)
	}
	return r
}

func listJSON(t *testing.T, dir string, args ...string) custody.RecordPage {
	t.Helper()
	r := mustRun(t, "", append([]string{"record", "list", "--data", dir, "--json"}, args...)...)
	var p custody.RecordPage
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		t.Fatalf("record list --json: %v\n%s", err, r.stdout)
	}
	return p
}

const siteJSON = `{"name": "Forest burial site", "type": "mass_burial", "locality": "` + izium + `", "status": "reported"}`

func TestRecordLifecycle(t *testing.T) {
	dir, _ := initStore(t)
	// From a file, and from standard input.
	f := writeFile(t, "site.json", siteJSON)
	r := mustRun(t, "", "record", "create", "site", "--data", dir, "--data-file", f)
	if !regexp.MustCompile(`^created site [0-9a-f-]{36}  version 1  log #\d+  "Forest burial site"\n$`).MatchString(r.stdout) {
		t.Errorf("create: %q", r.stdout)
	}
	r = mustRun(t, strings.Replace(siteJSON, "Forest", "Second", 1), "record", "create", "site", "--data", dir, "--json", "--reason", "from the field notes")
	site := recordJSON(t, r.stdout)
	if site.Kind != "site" || site.Version != 1 || site.Title != "Second burial site" {
		t.Errorf("created %+v", site)
	}

	// Update: from the version read, and refused from a stale one.
	upd := strings.Replace(siteJSON, `"reported"`, `"excavation"`, 1)
	r = mustRun(t, upd, "record", "update", site.ID, "--base", "1", "--reason", "exhumation started", "--data", dir, "--json")
	if got := recordJSON(t, r.stdout); got.Version != 2 || !strings.Contains(string(got.Data), "excavation") {
		t.Errorf("updated %+v", got)
	}
	r = runMain(t, upd, false, "record", "update", site.ID, "--base", "1", "--data", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "is at version 2; this change was made from version 1") {
		t.Errorf("stale update: %d %q", r.code, r.stderr)
	}
	r = runMain(t, upd, false, "record", "update", site.ID, "--data", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "give --base N") || !strings.Contains(r.stderr, "custody record show "+site.ID) {
		t.Errorf("update without --base: %d %q", r.code, r.stderr)
	}

	// Withdraw: needs a reason; the record stays readable.
	r = runMain(t, "", false, "record", "withdraw", site.ID, "--base", "2", "--data", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "give --reason") {
		t.Errorf("withdraw without a reason: %d %q", r.code, r.stderr)
	}
	mustRun(t, "", "record", "withdraw", site.ID, "--base", "2", "--reason", "duplicate of the first", "--data", dir)

	r = mustRun(t, "", "record", "show", site.ID, "--data", dir, "--json")
	var shown struct {
		Record  custody.Record
		History []custody.RecordVersion
	}
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil {
		t.Fatal(err)
	}
	if !shown.Record.Withdrawn || shown.Record.Version != 3 || len(shown.History) != 3 {
		t.Fatalf("show: %+v", shown)
	}
	changes := []string{shown.History[0].Change, shown.History[1].Change, shown.History[2].Change}
	if strings.Join(changes, ",") != "create,update,withdraw" || shown.History[0].Reason != "from the field notes" || shown.History[1].Reason != "exhumation started" {
		t.Errorf("history %+v", shown.History)
	}
	r = mustRun(t, "", "record", "show", site.ID, "--data", dir)
	for _, want := range []string{"site " + site.ID + "  version 3", "WITHDRAWN: duplicate of the first", `"status": "excavation"`,
		"v2   update", "by admin", "reason: exhumation started"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show lacks %q:\n%s", want, r.stdout)
		}
	}

	if p := listJSON(t, dir); len(p.Records) != 1 {
		t.Errorf("list shows %d records, want 1 (the other is withdrawn)", len(p.Records))
	}
	if p := listJSON(t, dir, "--withdrawn"); len(p.Records) != 2 {
		t.Errorf("list --withdrawn shows %d records", len(p.Records))
	}
	r = runMain(t, "", false, "record", "show", "0192f000-0000-7000-8000-00000000dead", "--data", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "no record") || strings.Contains(r.stderr, "detail:") {
		t.Errorf("show unknown: %d %q", r.code, r.stderr)
	}
}

func TestRecordCreateRefusals(t *testing.T) {
	dir, _ := initStore(t)
	mustRun(t, "", "user", "add", "rita", "--role", "reviewer", "--data", dir)
	tests := []struct {
		name, stdin string
		args        []string
		code        int
		stderr      string
	}{
		{"no data", "", []string{"site"}, 1, "no record data on standard input"},
		{"not JSON", `{"name": `, []string{"site"}, 1, "is not JSON"},
		{"unknown field", `{"name": "x", "colour": "red"}`, []string{"site"}, 1, `unknown field "colour"`},
		{"invalid", strings.Replace(siteJSON, "mass_burial", "mass_grave", 1), []string{"site"}, 1, `site.type: "mass_grave" is not one of`},
		{"unknown locality", strings.Replace(siteJSON, izium, "UA63040090010029554", 1), []string{"site"}, 1, "no locality UA63040090010029554 in the KATOTTH codifier"},
		{"kind typo", siteJSON, []string{"stie"}, 1, `unknown record kind "stie" (did you mean "site"?)`},
		{"no kind", siteJSON, nil, 2, "name the kind"},
		{"reviewer", siteJSON, []string{"site", "--as", "rita"}, 1, "role reviewer may not create records"},
		{"unknown user", siteJSON, []string{"site", "--as", "nobody"}, 1, `no user "nobody"`},
		{"missing file", "", []string{"site", "--data-file", "/nonexistent/x.json"}, 1, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runMain(t, tt.stdin, false, append([]string{"record", "create", "--data", dir}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit %d stderr %q, want %d and %q", r.code, r.stderr, tt.code, tt.stderr)
			}
			if strings.Contains(r.stderr, "detail:") {
				t.Errorf("a user error reported as internal: %q", r.stderr)
			}
		})
	}
	if p := listJSON(t, dir); len(p.Records) != 0 {
		t.Errorf("%d records created by refused commands", len(p.Records))
	}
}

func TestSiteAndIncidentAdd(t *testing.T) {
	dir, _ := initStore(t)
	// A name is not taken for a code: the hint names the candidates.
	r := runMain(t, "", false, "site", "add", "--name", "Forest burial site", "--type", "mass_burial", "--locality", "Izyum", "--data", dir)
	if r.code != 1 || !strings.Contains(r.stderr, `--locality "Izyum" is not a KATOTTH code`) || !strings.Contains(r.stderr, "did you mean "+izium+" (Izium, city, Kharkivska oblast)") {
		t.Errorf("site add by name: %d %q", r.code, r.stderr)
	}
	r = mustRun(t, "", "site", "add", "--name", "Forest burial site", "--type", "mass_burial", "--locality", izium,
		"--lat", "49.1947", "--lon", "37.2816", "--found-on", "2022-09-15", "--status", "excavation", "--data", dir, "--json")
	site := recordJSON(t, r.stdout)
	var s custody.Site
	json.Unmarshal(site.Data, &s)
	if s.Location == nil || s.Location.Point == nil || s.Location.Point.Lat != 49.1947 || s.Location.Point.Lon != 37.2816 || s.Status != "excavation" || s.FoundOn != "2022-09-15" {
		t.Errorf("site %+v", s)
	}
	r = runMain(t, "", false, "site", "add", "--name", "x", "--type", "grave", "--locality", izium, "--lat", "49.1", "--data", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "give --lat and --lon together") {
		t.Errorf("lat alone: %d %q", r.code, r.stderr)
	}

	// Incidents: the precision follows from the form of the time.
	for _, tt := range []struct{ time, precision string }{
		{"2022-03-09T16:40:00+02:00", "exact"}, {"2022-03-09", "day"}, {"2022-03", "month"},
	} {
		r = mustRun(t, "", "incident", "add", "--type", "strike", "--time", tt.time, "--locality", izium, "--weapon", "air",
			"--killed-confirmed", "52", "--killed-estimated", "3", "--site", site.ID, "--description", "air strike on a five-storey building", "--data", dir, "--json")
		var in custody.Incident
		json.Unmarshal(recordJSON(t, r.stdout).Data, &in)
		if in.Precision != tt.precision || in.Time != tt.time || in.KilledConfirmed != 52 || in.KilledEstimated != 3 || in.Site != site.ID || in.Weapon != "air" {
			t.Errorf("incident %+v", in)
		}
	}
	r = mustRun(t, "", "incident", "add", "--type", "killing", "--time", "2022-04-01", "--precision", "day", "--locality", izium, "--data", dir)
	if !strings.HasPrefix(r.stdout, "created incident ") || !strings.Contains(r.stdout, `"killing, 2022-04-01"`) {
		t.Errorf("incident add: %q", r.stdout)
	}
	for _, tt := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"--type", "shelling", "--time", "2022-03-09", "--locality", izium}, `incident.type: "shelling" is not one of`},
		{[]string{"--type", "detention", "--time", "2022-03-09", "--locality", izium, "--weapon", "air"}, "incident.weapon: applies to strikes"},
		{[]string{"--type", "strike", "--time", "yesterday", "--locality", izium}, `incident.time: "yesterday" is not an RFC 3339 time`},
		{[]string{"--type", "strike", "--time", "2022-03-09"}, "incident.locality: is required"},
		{[]string{"--type", "strike", "--time", "2022-03-09", "--locality", izium, "--site", "0192f000-0000-7000-8000-00000000dead"}, "no site"},
	} {
		r := runMain(t, "", false, append([]string{"incident", "add", "--data", dir}, tt.args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, tt.stderr) {
			t.Errorf("%v: exit %d stderr %q, want %q", tt.args, r.code, r.stderr, tt.stderr)
		}
	}
	if p := listJSON(t, dir, "--kind", "incident"); len(p.Records) != 4 {
		t.Errorf("%d incidents", len(p.Records))
	}
}

func TestRecordList(t *testing.T) {
	dir, _ := initStore(t)
	for _, in := range []struct{ typ, time string }{
		{"strike", "2022-03-05"}, {"strike", "2022-04-10"}, {"killing", "2022-03-20"}, {"detention", "2022-05-01"}, {"strike", "2022-09-01"},
	} {
		mustRun(t, "", "incident", "add", "--type", in.typ, "--time", in.time, "--locality", izium, "--data", dir)
	}
	mustRun(t, "", "site", "add", "--name", "School No. 2", "--type", "building", "--locality", izium, "--data", dir)

	titles := func(p custody.RecordPage) string {
		var ts []string
		for _, r := range p.Records {
			ts = append(ts, r.Title)
		}
		return strings.Join(ts, "; ")
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--kind", "incident", "--type", "strike"}, "strike, 2022-03-05; strike, 2022-04-10; strike, 2022-09-01"},
		{[]string{"--kind", "incident", "--from", "2022-03-10", "--to", "2022-05-01", "--sort", "date"}, "killing, 2022-03-20; strike, 2022-04-10; detention, 2022-05-01"},
		{[]string{"--kind", "incident", "--sort", "-date", "--limit", "2"}, "strike, 2022-09-01; detention, 2022-05-01"},
		{[]string{"--kind", "site"}, "School No. 2"},
		{[]string{"--locality", izium, "--type", "killing"}, "killing, 2022-03-20"},
		{[]string{"--kind", "person"}, ""},
	}
	for _, tt := range tests {
		if got := titles(listJSON(t, dir, tt.args...)); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.args, got, tt.want)
		}
	}
	// Pages: the text form prints the cursor on stderr.
	r := mustRun(t, "", "record", "list", "--kind", "incident", "--sort", "date", "--limit", "2", "--data", dir)
	m := regexp.MustCompile(`more records: add --after (\S+)`).FindStringSubmatch(r.stderr)
	if m == nil || strings.Count(r.stdout, "\n") != 2 || !strings.Contains(r.stdout, "incident  v1   strike, 2022-03-05") {
		t.Fatalf("page 1: %q %q", r.stdout, r.stderr)
	}
	r = mustRun(t, "", "record", "list", "--kind", "incident", "--sort", "date", "--limit", "2", "--after", m[1], "--data", dir)
	if !strings.Contains(r.stdout, "strike, 2022-04-10") || !strings.Contains(r.stdout, "detention, 2022-05-01") {
		t.Errorf("page 2: %q", r.stdout)
	}
	for _, tt := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"--sort", "colour"}, `cannot sort by "colour"`},
		{[]string{"--from", "05.03.2022"}, `--from "05.03.2022" is not a date`},
		{[]string{"--limit", "5000"}, "--limit 5000: give 1 to 1000"},
		{[]string{"--kind", "incidents"}, `did you mean "incident"`},
		{[]string{"--after", "garbage"}, "malformed cursor"},
	} {
		r := runMain(t, "", false, append([]string{"record", "list", "--data", dir}, tt.args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, tt.stderr) {
			t.Errorf("%v: exit %d stderr %q, want %q", tt.args, r.code, r.stderr, tt.stderr)
		}
	}
}

func TestLocalityFind(t *testing.T) {
	for _, q := range []string{"Ізюм", "Izium", "Izyum", "izyum"} {
		r := mustRun(t, "", "locality", "find", q)
		first, _, _ := strings.Cut(r.stdout, "\n")
		if !strings.HasPrefix(first, izium+"  city") || !strings.Contains(first, "Ізюм (Izium)") || !strings.Contains(first, "Kharkivska oblast > Iziumskyi raion > Iziumska hromada") {
			t.Errorf("%s: first line %q", q, first)
		}
	}
	r := mustRun(t, "", "locality", "find", "Nova", "Kakhovka", "--json", "--limit", "1")
	var units []struct {
		Code, Category, Name string
		NameLatin            string `json:"name_latin"`
		Within               []string
	}
	if err := json.Unmarshal([]byte(r.stdout), &units); err != nil || len(units) != 1 || units[0].NameLatin != "Nova Kakhovka" {
		t.Errorf("--json: %v %s", err, r.stdout)
	}
	r = runMain(t, "", false, "locality", "find", "Xyzzyplugh")
	if r.code != 1 || !strings.Contains(r.stderr, `no locality named "Xyzzyplugh"`) {
		t.Errorf("no match: %d %q", r.code, r.stderr)
	}
	if r := runMain(t, "", false, "locality", "find"); r.code != 2 {
		t.Errorf("no query: %d", r.code)
	}
	if r := runMain(t, "", false, "locality", "fnd", "x"); r.code != 2 || !strings.Contains(r.stderr, `did you mean "find"`) {
		t.Errorf("typo: %d %q", r.code, r.stderr)
	}
}

func TestSearchAndStats(t *testing.T) {
	dir, _ := initStore(t)
	mustRun(t, "", "incident", "add", "--type", "strike", "--time", "2022-03-09", "--locality", izium, "--weapon", "air",
		"--killed-confirmed", "52", "--description", "air strike on a five-storey building on Pershotravneva street", "--data", dir)
	mustRun(t, "", "incident", "add", "--type", "killing", "--time", "2022-04-02", "--locality", izium,
		"--killed-confirmed", "2", "--killed-estimated", "1", "--description", "two men shot at the checkpoint", "--data", dir)
	r := mustRun(t, "", "search", "five-storey", "--data", dir)
	if !strings.Contains(r.stdout, "incident  strike (air), 2022-03-09") || !strings.Contains(r.stdout, "«") {
		t.Errorf("search: %q", r.stdout)
	}
	r = mustRun(t, "", "search", "checkpoint", "--kind", "site", "--data", dir)
	if r.stdout != "" || !strings.Contains(r.stderr, `no records match "checkpoint"`) {
		t.Errorf("search --kind site: %q %q", r.stdout, r.stderr)
	}
	r = mustRun(t, "", "search", "checkpoint", "--json", "--data", dir)
	var hits []custody.SearchHit
	if err := json.Unmarshal([]byte(r.stdout), &hits); err != nil || len(hits) != 1 || hits[0].Kind != "incident" {
		t.Errorf("search --json: %v %s", err, r.stdout)
	}
	if r := runMain(t, "", false, "search", "--data", dir); r.code != 2 {
		t.Errorf("search without words: %d", r.code)
	}

	r = mustRun(t, "", "stats", "--data", dir, "--json")
	var st custody.Stats
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatal(err)
	}
	if st.KilledConfirmed != 54 || st.KilledEstimated != 1 || st.Records["incident"] != 2 || st.LocalitiesTotal < 25000 ||
		len(st.PerLocality) != 1 || st.PerLocality[0].Name != "Ізюм" || st.PerLocality[0].Incidents != 2 {
		t.Errorf("stats %+v", st)
	}
	r = mustRun(t, "", "stats", "--locality", izium, "--data", dir)
	for _, want := range []string{"locality " + izium, "killed, confirmed                54", "records: incident 2", "2022-03  strike"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stats lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runMain(t, "", false, "stats", "--locality", "Izium", "--data", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "did you mean "+izium) {
		t.Errorf("stats --locality Izium: %d %q", r.code, r.stderr)
	}
}

func TestRecordUsage(t *testing.T) {
	dir, _ := initStore(t)
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"record"}, 2, "Usage: custody record create | show"},
		{[]string{"record", "lst"}, 2, `did you mean "list"`},
		{[]string{"record", "-h"}, 0, "Usage"},
		{[]string{"record", "show", "--data", dir}, 2, "Usage"},
		{[]string{"record", "list", "extra", "--data", dir}, 2, `unexpected argument "extra"`},
		{[]string{"record", "withdraw", "x", "--data", dir}, 1, "give --base N"},
		{[]string{"site"}, 2, "Usage: custody site add"},
		{[]string{"site", "add", "--name", "a", "b", "--data", dir}, 2, "quote a name with spaces"},
		{[]string{"incident", "ad"}, 2, `did you mean "add"`},
		{[]string{"incident", "add", "--killed-confirmed", "many"}, 2, "invalid value"},
		{[]string{"import"}, 2, "give the kind and the file"},
		{[]string{"import", "person", "-h"}, 0, "Fields of person records, for --map and --set:\n  roles, name,"},
		{[]string{"import", "-h"}, 0, "custody import KIND -h lists the fields of a kind"},
		{[]string{"stats", "x", "--data", dir}, 2, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runMain(t, "", false, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit %d stderr %q, want %d and %q", r.code, r.stderr, tt.code, tt.stderr)
			}
		})
	}
	r := runMain(t, "", false, "help")
	for _, c := range []string{"record", "site", "incident", "locality", "search", "stats", "import"} {
		if !regexp.MustCompile(`(?m)^  ` + c + ` +\S`).MatchString(r.stdout) {
			t.Errorf("help lacks %s:\n%s", c, r.stdout)
		}
	}
}
