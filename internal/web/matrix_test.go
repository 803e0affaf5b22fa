package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/web"
)

// seedCase records a case (as the administrator: cases are the
// prosecutors', and a case is its own compartment) charging wilful
// killing, its first element supported by source alone (one source: a gap)
// and the others by nothing, with markup in the case's title and in a
// reason to check escaping.
func (e *env) seedCase(t testing.TB, source string) string {
	t.Helper()
	data := `{"number":"12022220000000001","title":"Killings <b>in</b> Izium","charges":[{"crime":"RS 8(2)(a)(i)","support":[` +
		`{"element":"RS 8(2)(a)(i)/1","source":"` + source + `","reason":"<img src=x onerror=alert(1)> the burial site","verified":true}]}]}`
	recs, err := e.svc.CreateRecords(context.Background(), e.admin, []custody.RecordInput{{Kind: custody.KindCase, Data: json.RawMessage(data)}})
	if err != nil {
		t.Fatal(err)
	}
	return recs[0].ID
}

// The case's page links to its matrix; the matrix shows each element of
// each charge in an accessible table, with what supports it, who linked it
// and why, and the gaps marked in words, in both languages, with text from
// the store escaped.
func TestCaseMatrixPage(t *testing.T) {
	e := newEnv(t)
	site := e.seedSite(t)
	cs := e.seedCase(t, site)
	c := e.signedIn("admin", adminPassword)

	r := c.get("/records/" + cs)
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, `href="/records/`+cs+`/matrix" id="case-matrix">Case matrix</a>`) {
		t.Error("the case's page has no link to its matrix")
	}
	if r := c.get("/records/" + site); strings.Contains(r.body, `id="case-matrix"`) {
		t.Error("a site's page links to a case matrix")
	}

	r = c.get("/records/" + cs + "/matrix")
	wantStatus(t, r, http.StatusOK)
	for _, want := range []string{
		`<h1 id="matrix-title">Case matrix: Killings &lt;b&gt;in&lt;/b&gt; Izium</h1>`,
		`<caption>Elements of RS 8(2)(a)(i) and what supports them`,
		`<th scope="col">Element</th><th scope="col">Kind</th><th scope="col">Supporting sources</th><th scope="col">Gap</th>`,
		`<th scope="row"><span class="mono">RS 8(2)(a)(i)/1</span>`,
		`<tr class="gap gap-single-source">`, `a single source`,
		`<tr class="gap gap-unsupported">`, `no source`,
		`<a href="/records/` + site + `">Forest burial site</a> <small>(Site)</small> <span class="badge ok">verified</span>`,
		`&lt;img src=x onerror=alert(1)&gt; the burial site`,
		`linked by admin`,
		`Elements with a gap:`,
		`lang="en">The perpetrator killed`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the matrix page lacks %s", want)
		}
	}
	for _, bad := range []string{"<b>in</b>", "<img src=x"} {
		if strings.Contains(r.body, bad) {
			t.Errorf("markup from the store is not escaped: %s", bad)
		}
	}
	// Nothing inline that the Content-Security-Policy would block.
	if m := regexp.MustCompile(`(?i)<script>|<style|<[^>]*\s(?:style|on[a-z]+)\s*=`).FindString(r.body); m != "" {
		t.Errorf("inline script or style: %q", m)
	}
	if r.Header.Get("Content-Security-Policy") != web.ContentSecurityPolicy || r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", r.Header)
	}
	// Every element of the crime is a row, with a header cell.
	if n := len(regexp.MustCompile(`<th scope="row">`).FindAllString(r.body, -1)); n < 3 {
		t.Errorf("%d element rows, want every element of wilful killing", n)
	}

	// In Ukrainian.
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/records/"+cs+"/matrix", nil)
	req.Header.Set("Accept-Language", "uk")
	r = c.do(req)
	wantStatus(t, r, http.StatusOK)
	for _, want := range []string{"Матриця провадження", "лише одне джерело", "Джерела, що підтверджують", `<html lang="uk">`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the Ukrainian matrix page lacks %q", want)
		}
	}

	// Not a case; no such record.
	wantStatus(t, c.get("/records/"+site+"/matrix"), http.StatusBadRequest)
	wantStatus(t, c.get("/records/0193a4b0-0000-7000-8000-000000000001/matrix"), http.StatusNotFound)
	// Without a session: the sign-in form, and back.
	if r := e.client().get("/records/" + cs + "/matrix"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin?next=") {
		t.Errorf("without a session: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
}
