package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/custody-dev/custody"
)

// witnessName is a protected witness's name, with characters a page must
// escape.
const witnessName = `Olena <b>Test</b> & "Witness"`

// accessFixture creates, as the administrator, two protected witnesses
// (general records) and a testimony of the first.
func accessFixture(t *testing.T, e *env) (medium, high, testimony string) {
	t.Helper()
	ctx := context.Background()
	mk := func(kind string, v any) string {
		t.Helper()
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := e.svc.CreateRecords(ctx, e.admin, []custody.RecordInput{{Kind: kind, Data: data}})
		if err != nil {
			t.Fatalf("create %s: %v", kind, err)
		}
		return recs[0].ID
	}
	medium = mk(custody.KindPerson, custody.Person{Roles: []string{"witness"}, Name: witnessName, Protection: "medium"})
	high = mk(custody.KindPerson, custody.Person{Roles: []string{"witness"}, Name: "Petro Highprotected", Protection: "high"})
	testimony = mk(custody.KindTestimony, custody.Testimony{Witness: medium, Interviewer: "Synthetic Interviewer", Date: "2022-09-20",
		Language: "uk", Consent: custody.Consent{Given: true, Scope: []string{"national_court"}},
		Transcript: witnessName + " saw the strike from the window."})
	return medium, high, testimony
}

// escaped is s as html/template writes it in text.
func escaped(s string) string {
	r := strings.NewReplacer(`&`, "&amp;", `<`, "&lt;", `>`, "&gt;", `"`, "&#34;", `'`, "&#39;")
	return r.Replace(s)
}

func wantNoName(t *testing.T, what string, r *response) {
	t.Helper()
	for _, s := range []string{witnessName, escaped(witnessName), "Olena", "Highprotected"} {
		if strings.Contains(r.body, s) {
			t.Errorf("%s: the protected name is in the page (%q)", what, s)
		}
	}
}

func TestRevealWitness(t *testing.T) {
	e := newEnv(t)
	medium, high, _ := accessFixture(t, e)
	inv := e.signedIn("o.kovalenko", investigatorPass)

	// Before: the pseudonym, the level, the notice, the form.
	r := inv.get("/records/" + medium)
	wantStatus(t, r, http.StatusOK)
	wantNoName(t, "record page", r)
	for _, want := range []string{"Witness W-", `id="protection-level">medium<`, "Protected identities are replaced by pseudonyms",
		`action="/records/` + medium + `/reveal"`, `name="reason"`, "required", "Reveal identity", `id="your-clearance">medium<`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the record page lacks %q", want)
		}
	}
	if strings.Contains(r.body, "who-read") {
		t.Error("an investigator is offered the access log")
	}
	if strings.Contains(r.body, "style=") || strings.Contains(r.body, "<script>") {
		t.Error("inline style or script on the record page")
	}

	// Refusals: no CSRF token, a wrong one, no reason, a blank one.
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		msg    string
	}{
		{"no csrf", url.Values{"csrf": {""}, "reason": {"court summons"}}, http.StatusForbidden, ""},
		{"wrong csrf", url.Values{"csrf": {"x" + inv.csrf}, "reason": {"court summons"}}, http.StatusForbidden, ""},
		{"no reason", url.Values{}, http.StatusBadRequest, "Give the reason for revealing the identity"},
		{"blank reason", url.Values{"reason": {"   \n "}}, http.StatusBadRequest, "Give the reason for revealing the identity"},
		{"long reason", url.Values{"reason": {strings.Repeat("я", 2001)}}, http.StatusBadRequest, "at most 2000 characters"},
	} {
		r := inv.post("/records/"+medium+"/reveal", tc.form)
		if r.StatusCode != tc.status || !strings.Contains(r.body, tc.msg) {
			t.Errorf("%s: status %d, want %d with %q", tc.name, r.StatusCode, tc.status, tc.msg)
		}
		wantNoName(t, tc.name, r)
	}
	if evs, _ := e.svc.AccessLog(context.Background(), e.admin, medium); countAction(evs, "reveal") != 0 {
		t.Errorf("refused reveals logged: %+v", evs)
	}

	// Above the clearance: refused, with the levels.
	r = inv.post("/records/"+high+"/reveal", url.Values{"reason": {"court summons"}})
	wantStatus(t, r, http.StatusForbidden)
	wantNoName(t, "reveal above the clearance", r)
	if !strings.Contains(r.body, "Revealing this identity needs clearance high; yours is medium.") || !strings.Contains(r.body, "court summons") {
		t.Error("the refusal does not explain the clearance, or loses the reason typed")
	}

	// The reveal: the name, escaped; the notice; no form.
	reason := `summons to court <script>alert(1)</script>`
	r = inv.post("/records/"+medium+"/reveal", url.Values{"reason": {reason}})
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, escaped(witnessName)) {
		i := strings.Index(r.body, "<main")
		t.Errorf("the revealed page lacks the name %q\n%s", escaped(witnessName), r.body[i:min(len(r.body), i+3000)])
	}
	if strings.Contains(r.body, witnessName) || strings.Contains(r.body, "<b>Test</b>") {
		t.Error("the name is not escaped")
	}
	if !strings.Contains(r.body, "Identity revealed. The reveal is recorded in the log") || strings.Contains(r.body, `id="reveal-form"`) || strings.Contains(r.body, `id="edit"`) ||
		strings.Contains(r.body, "Protected identities are replaced by pseudonyms") {
		t.Error("the revealed page: no notice, or still the form or the pseudonym notice")
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	// A page with pseudonyms cannot be edited: saving its form would
	// overwrite the identity.
	if r := inv.get("/records/" + medium); strings.Contains(r.body, `id="edit"`) {
		t.Error("a protected witness's page offers the edit form")
	}
	r = inv.get("/records/" + medium + "/edit")
	wantStatus(t, r, http.StatusConflict)
	wantNoName(t, "edit form", r)
	r = inv.post("/records/"+medium, url.Values{"base": {"1"}, "roles": {"witness"}, "name": {"Witness W-000000"}})
	wantStatus(t, r, http.StatusConflict)
	if rec, err := e.svc.DB().Record(context.Background(), medium); err != nil || rec.Version != 1 {
		t.Errorf("the protected witness was changed: %v %+v", err, rec)
	}
	// Afterwards the page shows the pseudonym again.
	r = inv.get("/records/" + medium)
	wantStatus(t, r, http.StatusOK)
	wantNoName(t, "record page after the reveal", r)

	// In Ukrainian.
	inv.get("/lang/uk?next=/")
	r = inv.get("/records/" + medium)
	if !strings.Contains(r.body, "Розкрити особу") || !strings.Contains(r.body, "Осіб під захистом замінено псевдонімами") {
		t.Error("the Ukrainian page lacks the reveal form or the notice")
	}
	r = inv.post("/records/"+medium+"/reveal", url.Values{"reason": {""}})
	wantStatus(t, r, http.StatusBadRequest)
	if !strings.Contains(r.body, "Зазначте підставу") {
		t.Error("the Ukrainian refusal is not translated")
	}

	// An analyst sees the witness (a general record) but may not reveal.
	an := e.signedIn("court", reviewerPassword)
	r = an.get("/records/" + medium)
	wantStatus(t, r, http.StatusOK)
	if strings.Contains(r.body, `id="reveal-form"`) || !strings.Contains(r.body, `id="protection-level"`) {
		t.Error("an analyst is offered the reveal form, or not shown the protection")
	}
	r = an.post("/records/"+medium+"/reveal", url.Values{"reason": {"curious"}})
	wantStatus(t, r, http.StatusForbidden)
	wantNoName(t, "reveal by an analyst", r)
	if !strings.Contains(r.body, "may not reveal protected identities") {
		t.Error("the analyst's refusal is not explained")
	}
	// A record that does not exist.
	wantStatus(t, inv.post("/records/0190b3c2-0000-7000-8000-000000000000/reveal", url.Values{"reason": {"x"}}), http.StatusNotFound)

	// The administrator: who read it, the reveal with its reason, escaped.
	adm := e.signedIn("admin", adminPassword)
	r = adm.get("/records/" + medium)
	if !strings.Contains(r.body, `href="/records/`+medium+`/access"`) || !strings.Contains(r.body, "Who read this") {
		t.Error("the administrator is not offered the access log")
	}
	r = adm.get("/records/" + medium + "/access")
	wantStatus(t, r, http.StatusOK)
	for _, want := range []string{"Who read this record", "o.kovalenko", "identity revealed", escaped(reason), "viewed"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the access log lacks %q", want)
		}
	}
	if strings.Contains(r.body, "<script>alert") {
		t.Error("the reason is not escaped")
	}
	wantNoName(t, "access log", r)
	wantStatus(t, inv.get("/records/"+medium+"/access"), http.StatusForbidden)
	wantStatus(t, adm.get("/records/0190b3c2-0000-7000-8000-000000000000/access"), http.StatusNotFound)
	r = adm.get("/records/" + high + "/access")
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, "viewed") {
		t.Error("the investigator's view of the second witness is not listed")
	}
}

func countAction(evs []custody.AccessEvent, action string) int {
	n := 0
	for _, e := range evs {
		if e.Action == action {
			n++
		}
	}
	return n
}

// A testimony naming a protected witness shows the pseudonym and the
// notice; revealing it shows the name in the transcript.
func TestRevealTestimony(t *testing.T) {
	e := newEnv(t)
	_, _, testimony := accessFixture(t, e)
	inv := e.signedIn("o.kovalenko", investigatorPass)
	r := inv.get("/records/" + testimony)
	wantStatus(t, r, http.StatusOK)
	wantNoName(t, "testimony", r)
	if !strings.Contains(r.body, "Protected identities are replaced by pseudonyms") || !strings.Contains(r.body, `id="reveal-form"`) ||
		strings.Contains(r.body, `id="protection-level"`) {
		t.Error("the testimony page: no notice or form, or a protection level of its own")
	}
	r = inv.post("/records/"+testimony+"/reveal", url.Values{"reason": {"preparing the hearing"}})
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, escaped(witnessName)+" saw the strike") {
		t.Error("the revealed testimony lacks the name")
	}
	// A record without protected identities has nothing to reveal.
	ctx := context.Background()
	data, _ := json.Marshal(custody.Person{Roles: []string{"victim"}, Name: "Synthetic Victim"})
	recs, err := e.svc.CreateRecords(ctx, e.admin, []custody.RecordInput{{Kind: custody.KindPerson, Data: data}})
	if err != nil {
		t.Fatal(err)
	}
	r = inv.get("/records/" + recs[0].ID)
	if strings.Contains(r.body, `id="reveal-form"`) || strings.Contains(r.body, "replaced by pseudonyms") || strings.Contains(r.body, `id="access"`) {
		t.Error("a record without protected identities offers a reveal")
	}
	r = inv.post("/records/"+recs[0].ID+"/reveal", url.Values{"reason": {"x"}})
	wantStatus(t, r, http.StatusBadRequest)
}
