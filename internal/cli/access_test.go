package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// accessStore is a store with an investigator, a reviewer, a case, a team
// and a protected witness (a general record).
type accessStore struct {
	dir                          string
	caseID, team, witness, other string
}

func newAccessStore(t *testing.T) accessStore {
	t.Helper()
	dir, _ := initStore(t)
	for _, u := range [][2]string{{"inv", "investigator"}, {"rev", "reviewer"}} {
		if r := run(t, nil, "user", "add", u[0], "--role", u[1], "--data", dir); r.code != 0 {
			t.Fatalf("user add %s: %d %s", u[0], r.code, r.stderr)
		}
	}
	create := func(kind, data string) string {
		t.Helper()
		r := run(t, nil, "record", "create", kind, "--data", dir, "--json", "--data-file", writeFile(t, kind+".json", data))
		if r.code != 0 {
			t.Fatalf("record create %s: %d %s", kind, r.code, r.stderr)
		}
		var rec struct{ ID string }
		if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil || rec.ID == "" {
			t.Fatalf("record create %s: %v %s", kind, err, r.stdout)
		}
		return rec.ID
	}
	return accessStore{
		dir:     dir,
		caseID:  create("case", `{"number":"12022220000000123","title":"Shelling of a school <b>","status":"open"}`),
		team:    create("team", `{"name":"Mobile group 7","type":"mobile"}`),
		witness: create("person", `{"roles":["witness"],"name":"Olena Testwitness","protection":"high"}`),
		// A second protected witness: revealing one leaves the other's
		// name replaced, and must not leave the one revealed redacted.
		other: create("person", `{"roles":["witness"],"name":"Petro Otherwitness","protection":"low","notes":"neighbour of Olena Testwitness"}`),
	}
}

func TestGrantCommands(t *testing.T) {
	s := newAccessStore(t)
	dir := s.dir
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no compartment", []string{"grant", "rev"}, 2, "", "name a user and a case or team"},
		{"not an administrator", []string{"grant", "rev", s.caseID, "--as", "inv"}, 1, "", "only an administrator may grant"},
		{"no such user", []string{"grant", "nobody", s.caseID}, 1, "", `no user "nobody"`},
		{"no such case", []string{"grant", "rev", "99999"}, 1, "", `no case numbered "99999" and no team named "99999"`},
		{"not a case or team", []string{"grant", "rev", s.witness}, 1, "", "is not a case or a team"},
		{"by case number", []string{"grant", "rev", "12022220000000123", "--reason", "court review"}, 0, "granted rev: case", ""},
		{"again", []string{"grant", "rev", s.caseID}, 0, "", "already holds a grant"},
		{"team by name", []string{"grant", "rev", "mobile GROUP 7"}, 0, `granted rev: team "Mobile group 7"`, ""},
		{"revoke", []string{"grant", "rev", s.team, "--revoke", "--reason", "left the team"}, 0, "revoked rev", ""},
		{"revoke again", []string{"grant", "rev", s.team, "--revoke"}, 1, "", "holds no grant"},
		{"grants of another, not an administrator", []string{"grants", "rev", "--as", "inv"}, 1, "", "only an administrator"},
		{"own grants", []string{"grants", "inv", "--as", "inv"}, 0, "", "inv holds no case or team"},
		{"grants without a user", []string{"grants"}, 2, "", "name one user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, append(tt.args, "--data", dir)...)
			if r.code != tt.code || !strings.Contains(r.stdout, tt.stdout) || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit %d\nstdout %q\nstderr %q\nwant %d, %q, %q", r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderr)
			}
			if strings.Contains(r.stderr, "detail:") {
				t.Errorf("a user error reported as internal: %q", r.stderr)
			}
		})
	}
	r := run(t, nil, "grants", "rev", "--data", dir)
	if r.code != 0 || !strings.Contains(r.stdout, s.caseID) || !strings.Contains(r.stdout, "granted") || strings.Contains(r.stdout, s.team) {
		t.Errorf("grants rev: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "does not see general records") {
		t.Errorf("grants rev does not say that a reviewer sees no general records: %q", r.stderr)
	}
	r = run(t, nil, "grants", "rev", "--json", "--data", dir)
	var rows []struct{ User, Compartment, Source, Kind, Title, How string }
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 1 || rows[0].Compartment != s.caseID ||
		rows[0].Source != "grant" || rows[0].Kind != "case" || rows[0].Title == "" {
		t.Errorf("grants --json: %v %+v\n%s", err, rows, r.stdout)
	}
	// The grant is what lets the reviewer see the case; the witness (a
	// general record) stays hidden from a reviewer.
	if r := run(t, nil, "record", "show", s.caseID, "--as", "rev", "--data", dir); r.code != 0 {
		t.Errorf("the reviewer does not see the granted case: %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "record", "show", s.witness, "--as", "rev", "--data", dir); r.code != 1 || !strings.Contains(r.stderr, "no record") {
		t.Errorf("the reviewer sees a general record: %d %s", r.code, r.stderr)
	}
	// Membership of a team is not revoked by --revoke: it says so.
	team := `{"name":"Mobile group 7","type":"mobile","members":[{"name":"Synthetic Member","role":"police","user":"rev"}]}`
	if r := run(t, nil, "record", "update", s.team, "--base", "1", "--data", dir, "--data-file", writeFile(t, "team2.json", team)); r.code != 0 {
		t.Fatalf("team update: %d %s", r.code, r.stderr)
	}
	run(t, nil, "grant", "rev", s.team, "--data", dir)
	r = run(t, nil, "grant", "rev", s.team, "--revoke", "--data", dir)
	if r.code != 0 || !strings.Contains(r.stderr, "still holds it (member)") {
		t.Errorf("revoke of a member: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if v := run(t, nil, "verify", "--data", dir); v.code != 0 {
		t.Errorf("verify: %d %s%s", v.code, v.stdout, v.stderr)
	}
}

func TestClearanceAndReveal(t *testing.T) {
	s := newAccessStore(t)
	dir := s.dir
	steps := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"default clearance", []string{"user", "clearance", "inv"}, 0, "clearance of inv: medium (the default of role investigator); may reveal protected identities up to that level", ""},
		{"unknown level", []string{"user", "clearance", "inv", "top-secret"}, 1, "", `unknown clearance "top-secret"`},
		{"set by a non-administrator", []string{"user", "clearance", "inv", "high", "--as", "inv"}, 1, "", "only an administrator may set clearances"},
		{"another's, by a non-administrator", []string{"user", "clearance", "rev", "--as", "inv"}, 1, "", "only an administrator"},
		{"no user", []string{"user", "clearance"}, 2, "", "name a user"},
		{"reveal without a reason", []string{"reveal", s.witness, "--as", "inv"}, 2, "", "give --reason"},
		{"reveal over the clearance", []string{"reveal", s.witness, "--as", "inv", "--reason", "interview"}, 1, "", "needs clearance high; yours is medium"},
		{"reveal by a reviewer", []string{"reveal", s.witness, "--as", "rev", "--reason", "x"}, 1, "", "role reviewer may not reveal"},
		{"show hides the name", []string{"record", "show", s.witness, "--as", "inv"}, 0, "Witness W-", ""},
		{"raise the clearance", []string{"user", "clearance", "inv", "high", "--reason", "assigned to the case"}, 0, "clearance of inv: high", ""},
		{"clearance set", []string{"user", "clearance", "inv", "--as", "inv"}, 0, "high (set by an administrator)", ""},
		{"reveal", []string{"reveal", s.witness, "--as", "inv", "--reason", "summons to court"}, 0, "Olena Testwitness", "the reveal and its reason are in the log"},
		{"access, not an administrator", []string{"access", s.witness, "--as", "inv"}, 1, "", "only an administrator"},
		{"access of nothing", []string{"access", "0190b3c2-0000-7000-8000-000000000000"}, 1, "", "no record or item"},
		{"access of an unread record", []string{"access", s.caseID}, 0, "", "nobody has read"},
		{"access", []string{"access", s.witness}, 0, "summons to court", ""},
	}
	for _, tt := range steps {
		r := run(t, nil, append(tt.args, "--data", dir)...)
		if r.code != tt.code || !strings.Contains(r.stdout, tt.stdout) || !strings.Contains(r.stderr, tt.stderr) {
			t.Errorf("%s: exit %d\nstdout %q\nstderr %q\nwant %d, %q, %q", tt.name, r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderr)
		}
		if tt.name == "show hides the name" && strings.Contains(r.stdout, "Olena") {
			t.Errorf("record show reveals the protected name:\n%s", r.stdout)
		}
	}
	r := run(t, nil, "access", s.witness, "--json", "--data", dir)
	var evs []struct {
		Action, Reason string
		ActorName      string `json:"actor_name"`
		LogIndex       uint64 `json:"log_index"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &evs); err != nil {
		t.Fatalf("access --json: %v\n%s", err, r.stdout)
	}
	var reveal bool
	for _, e := range evs {
		if e.Action == "reveal" && e.Reason == "summons to court" && e.ActorName == "inv" && e.LogIndex > 0 {
			reveal = true
		}
	}
	if !reveal {
		t.Errorf("access --json lacks the reveal: %s", r.stdout)
	}
	r = run(t, nil, "reveal", s.witness, "--as", "inv", "--reason", "again", "--json", "--data", dir)
	var rec struct {
		Title, Protection string
		Data              json.RawMessage
	}
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil || rec.Title != "Olena Testwitness" || rec.Protection != "high" ||
		!strings.Contains(string(rec.Data), "Olena Testwitness") {
		t.Errorf("reveal --json: %v %+v", err, rec)
	}
	// The other witness revealed: its own name shown, the first one's (a
	// mention in its notes) still replaced.
	r = run(t, nil, "reveal", s.other, "--as", "inv", "--reason", "interview", "--data", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "Petro Otherwitness") || strings.Contains(r.stdout, "Olena") ||
		!strings.Contains(r.stdout, "neighbour of Witness W-") {
		t.Errorf("reveal of the second witness: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if v := run(t, nil, "verify", "--data", dir); v.code != 0 {
		t.Errorf("verify: %d %s%s", v.code, v.stdout, v.stderr)
	}
}
