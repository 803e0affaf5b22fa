package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/httpx"
	"github.com/custody-dev/custody/internal/web"
)

// pages lists a GET of every page handler (with {site} and {item} filled
// in), for the tests that go through all of them.
func (e *env) pages(t *testing.T) []string {
	t.Helper()
	site := e.seedSite(t)
	it := e.intake(t, "IMG_0001.jpg", exifJPEG(t, 49.1947, 37.2816))
	return []string{"/", "/map", "/map?z=3&lat=49.5&lon=36.5&kind=site&type=mass_burial&from=2022", "/map/view?z=2",
		"/records", "/records?kind=site", "/records?kind=remains&status=unidentified", "/records/" + site,
		"/records/" + site + "/edit", "/records/new?kind=remains&site=" + site, "/records/new?kind=person",
		"/items", "/items?case=12022220000000123", "/items/" + it.ID, "/upload", "/search", "/search?q=forest",
		"/localities?q=Ізюм", "/lookup?kind=site&q=forest", "/session/alive"}
}

func (e *env) intake(t testing.TB, name string, content []byte) *custody.Item {
	t.Helper()
	it, err := e.svc.Intake(context.Background(), e.inv, custody.IntakeRequest{Name: name, Case: "12022220000000123",
		Collector: "Mobile group 7", Content: bytes.NewReader(content)})
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// Every page needs a session: without one, a GET goes to the sign-in form
// with the page to come back to; anything else is refused.
func TestNeedsSession(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for _, p := range append(e.pages(t), "/items/x/content", "/no/such/page") {
		r := c.get(p)
		if p == "/localities?q=Ізюм" || p == "/lookup?kind=site&q=forest" || p == "/session/alive" {
			// Script requests: a status, not a redirect.
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+p, nil)
			req.Header.Set("Accept", "application/json")
			r = c.do(req)
			wantStatus(t, r, http.StatusUnauthorized)
			continue
		}
		wantStatus(t, r, http.StatusSeeOther)
		u, err := url.Parse(r.Header.Get("Location"))
		if err != nil || u.Path != "/signin" {
			t.Fatalf("GET %s: redirected to %q, want /signin", p, r.Header.Get("Location"))
		}
		if next := u.Query().Get("next"); next != r.Request.URL.RequestURI() {
			t.Errorf("GET %s: next=%q, want the page", p, next)
		}
	}
	for _, p := range []string{"/signout", "/records", "/records/x", "/records/x/withdraw", "/items/x/handover", "/upload"} {
		r := c.post(p, url.Values{"csrf": {"anything"}})
		wantStatus(t, r, http.StatusForbidden)
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/upload/files/", nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", "10")
	wantStatus(t, c.do(req), http.StatusUnauthorized)
}

func TestSignIn(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	r := c.get("/signin?next=/records%3Fkind%3Dsite")
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, `name="next" value="/records?kind=site"`) {
		t.Error("the form does not carry the page to come back to")
	}
	// Wrong password, unknown user, user without a password: one answer.
	for _, tc := range [][2]string{{"o.kovalenko", "wrong password!"}, {"nobody", investigatorPass}, {"", ""}} {
		r := c.post("/signin", url.Values{"name": {tc[0]}, "password": {tc[1]}})
		wantStatus(t, r, http.StatusUnauthorized)
		if !strings.Contains(r.body, "Wrong name or password.") {
			t.Errorf("sign-in as %q: no generic message", tc[0])
		}
		if strings.Contains(r.body, tc[1]) && tc[1] != "" {
			t.Errorf("sign-in as %q: the password is echoed", tc[0])
		}
	}
	// The form's token must match its cookie.
	r = c.post("/signin", url.Values{"name": {"o.kovalenko"}, "password": {investigatorPass}, "csrf": {"forged"}})
	wantStatus(t, r, http.StatusForbidden)

	c.get("/signin")
	r = c.post("/signin", url.Values{"name": {"o.kovalenko"}, "password": {investigatorPass}, "next": {"/records?kind=site"}})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/records?kind=site" {
		t.Errorf("after sign-in: to %q", loc)
	}
	var sess *http.Cookie
	for _, ck := range r.Cookies() {
		if ck.Name == "custody_session" {
			sess = ck
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" || sess.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/, not Secure on plain HTTP", sess)
	}
	if len(sess.Value) != 43 {
		t.Errorf("session token %q: want 256 random bits", sess.Value)
	}
	wantStatus(t, c.get("/records"), http.StatusOK)
	// Signed in, the form sends you on.
	wantStatus(t, c.get("/signin?next=/items"), http.StatusSeeOther)

	// next never leaves the site.
	for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "evil", "/signin?next=//x"} {
		c2 := e.client()
		c2.get("/signin")
		r := c2.post("/signin", url.Values{"name": {"o.kovalenko"}, "password": {investigatorPass}, "next": {next}})
		wantStatus(t, r, http.StatusSeeOther)
		if loc := r.Header.Get("Location"); loc != "/" {
			t.Errorf("next=%q: redirected to %q, want /", next, loc)
		}
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/records?kind=site": "/records?kind=site", "/": "/", "": "/", "//evil.example": "/", "/\\evil": "/",
		"http://evil.example/": "/", "records": "/", "/items/x#frag": "/items/x", "/signout": "/", "/a\nb": "/",
	} {
		if got := web.LocalPath(in); got != want {
			t.Errorf("LocalPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSecureCookies(t *testing.T) {
	e := newEnv(t)
	srv, err := web.New(e.svc, web.Config{Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	w := &recorder{header: http.Header{}}
	pre := httptestRequest(http.MethodGet, "/signin", nil)
	srv.ServeHTTP(w, pre)
	var tok, cookie string
	for _, ck := range (&http.Response{Header: w.header}).Cookies() {
		if ck.Name == "custody_pre" {
			tok, cookie = ck.Value, ck.Name+"="+ck.Value
			if !ck.Secure {
				t.Error("pre-session cookie not Secure with Config.Secure")
			}
		}
	}
	form := url.Values{"name": {"o.kovalenko"}, "password": {investigatorPass}, "csrf": {tok}}
	req := httptestRequest(http.MethodPost, "/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", cookie)
	w = &recorder{header: http.Header{}}
	srv.ServeHTTP(w, req)
	if w.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", w.status)
	}
	found := false
	for _, ck := range (&http.Response{Header: w.header}).Cookies() {
		if ck.Name == "__Host-custody_session" {
			found = ck.Secure && ck.HttpOnly && ck.Path == "/" && ck.Domain == ""
		}
	}
	if !found {
		t.Errorf("no Secure __Host- session cookie: %v", w.header["Set-Cookie"])
	}
}

// A change without the session's CSRF token, or from another site, is
// refused and changes nothing.
func TestCSRF(t *testing.T) {
	e := newEnv(t)
	site := e.seedSite(t)
	c := e.signedIn("o.kovalenko", investigatorPass)
	before, _ := e.db.LogSize(context.Background())
	form := func() url.Values {
		return url.Values{"kind": {"site"}, "name": {"Basement"}, "type": {"torture"}, "locality": {"UA63040090010029555"}, "status": {"reported"}}
	}
	for name, f := range map[string]url.Values{
		"no token":    form(),
		"wrong token": func() url.Values { v := form(); v.Set("csrf", "x"+c.csrf[1:]); return v }(),
		"empty token": func() url.Values { v := form(); v.Set("csrf", ""); return v }(),
	} {
		if name == "no token" {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/records", strings.NewReader(f.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			wantStatus(t, c.do(req), http.StatusForbidden)
			continue
		}
		wantStatus(t, c.post("/records", f), http.StatusForbidden)
	}
	// Withdrawal, handover and sign-out too.
	wantStatus(t, c.post("/records/"+site+"/withdraw", url.Values{"csrf": {"bad"}, "base": {"1"}, "reason": {"x"}}), http.StatusForbidden)
	wantStatus(t, c.post("/signout", url.Values{"csrf": {"bad"}}), http.StatusForbidden)
	// The right token from another site.
	f := form()
	f.Set("csrf", c.csrf)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/records", strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	wantStatus(t, c.do(req), http.StatusForbidden)
	req, _ = http.NewRequest(http.MethodPost, e.srv.URL+"/records", strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	wantStatus(t, c.do(req), http.StatusForbidden)
	// A tus request without the header.
	req, _ = http.NewRequest(http.MethodPost, e.srv.URL+"/upload/files/", nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", "10")
	wantStatus(t, c.do(req), http.StatusForbidden)
	if after, _ := e.db.LogSize(context.Background()); after != before {
		t.Errorf("refused requests appended %d entries", after-before)
	}
	// And with the token it works.
	wantStatus(t, c.post("/records", form()), http.StatusSeeOther)
}

// A reviewer reads everything and changes nothing.
func TestReadOnlyRole(t *testing.T) {
	e := newEnv(t)
	pages := e.pages(t)
	c := e.signedIn("court", reviewerPassword)
	site := e.seedSite(t)
	for _, p := range pages {
		r := c.get(p)
		switch {
		case strings.HasSuffix(p, "/edit"), strings.HasPrefix(p, "/records/new"), p == "/upload":
			wantStatus(t, r, http.StatusForbidden)
		case p == "/session/alive":
			wantStatus(t, r, http.StatusNoContent)
		default:
			wantStatus(t, r, http.StatusOK)
		}
	}
	r := c.get("/records/" + site)
	if strings.Contains(r.body, "/edit") || strings.Contains(r.body, "/withdraw") || strings.Contains(r.body, `href="/upload"`) {
		t.Error("a reviewer's page offers changes")
	}
	for _, p := range []string{"/records", "/records/" + site, "/records/" + site + "/withdraw", "/upload"} {
		r := c.post(p, url.Values{"kind": {"site"}, "base": {"1"}, "reason": {"x"}, "name": {"x"}})
		wantStatus(t, r, http.StatusForbidden)
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/upload/files/", nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", "10")
	req.Header.Set("X-CSRF-Token", c.csrf)
	wantStatus(t, c.do(req), http.StatusForbidden)
}

// Text from the store is text: a record named like a script renders as
// its characters, everywhere it shows.
func TestEscaping(t *testing.T) {
	e := newEnv(t)
	const evil = `<script>alert(1)</script>`
	recs, err := e.svc.CreateRecords(context.Background(), e.inv, []custody.RecordInput{{Kind: custody.KindSite,
		Data: json.RawMessage(`{"name":"` + evil + ` grave","type":"grave","locality":"UA63040090010029555","status":"reported",` +
			`"description":"\"><img src=x onerror=alert(2)> script","location":{"point":{"lat":49.2,"lon":37.3}}}`)}})
	if err != nil {
		t.Fatal(err)
	}
	id := recs[0].ID
	it, err := e.svc.Intake(context.Background(), e.inv, custody.IntakeRequest{Name: evil + ".jpg", Description: evil,
		Collector: evil, Content: strings.NewReader("not really a photo")})
	if err != nil {
		t.Fatal(err)
	}
	c := e.signedIn("o.kovalenko", investigatorPass)
	for _, p := range []string{"/records/" + id, "/records?kind=site", "/records/" + id + "/edit", "/search?q=script",
		"/items", "/items/" + it.ID, "/map?z=8&lat=49.2&lon=37.3", "/search?q=" + url.QueryEscape(evil)} {
		r := c.get(p)
		wantStatus(t, r, http.StatusOK)
		if strings.Contains(r.body, "<script>alert") || strings.Contains(r.body, "<img src=x") {
			t.Errorf("%s: markup from the store is not escaped", p)
		}
		if !strings.Contains(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: the name is not shown as text", p)
		}
	}
}

// Pages carry the security headers, and no inline script or style that the
// Content-Security-Policy would block.
func TestHeadersAndCSP(t *testing.T) {
	e := newEnv(t)
	pages := e.pages(t)
	c := e.signedIn("o.kovalenko", investigatorPass)
	inline := regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>|\sstyle\s*=|\son[a-z]+\s*=|javascript:`)
	for _, p := range append(pages, "/signin") {
		r := c.get(p)
		if p == "/session/alive" {
			wantStatus(t, r, http.StatusNoContent)
		} else if p != "/signin" {
			wantStatus(t, r, http.StatusOK)
		}
		h := r.Header
		if got := h.Get("Content-Security-Policy"); got != web.ContentSecurityPolicy {
			t.Errorf("%s: CSP %q", p, got)
		}
		if strings.Contains(h.Get("Content-Security-Policy"), "unsafe-inline") {
			t.Errorf("%s: CSP allows inline code", p)
		}
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
			"Cross-Origin-Opener-Policy": "same-origin", "Permissions-Policy": httpx.PermissionsPolicy} {
			if h.Get(k) != want {
				t.Errorf("%s: %s = %q, want %q", p, k, h.Get(k), want)
			}
		}
		if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			continue
		}
		if h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", p, h.Get("Cache-Control"))
		}
		for _, m := range inline.FindAllString(r.body, -1) {
			if strings.Contains(m, "<script") && regexp.MustCompile(`<script src="/static/[0-9a-f]{16}/app\.js" defer>`).MatchString(m) {
				continue
			}
			t.Errorf("%s: inline script or style: %q", p, m)
		}
		if strings.Contains(r.body, "http://") && !strings.Contains(p, "map") {
			for _, u := range regexp.MustCompile(`(?:src|href)="(https?://[^"]+)"`).FindAllStringSubmatch(r.body, -1) {
				t.Errorf("%s: loads %s from elsewhere", p, u[1])
			}
		}
	}
}

func TestStatic(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	r := c.get("/signin")
	m := regexp.MustCompile(`href="(/static/([0-9a-f]{16})/app\.css)"`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatal("no checksum URL of app.css on the sign-in page")
	}
	r = c.get(m[1])
	wantStatus(t, r, http.StatusOK)
	if r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") {
		t.Errorf("static headers: %v", r.Header)
	}
	sum := sha256.Sum256([]byte(r.body))
	if hex.EncodeToString(sum[:8]) != m[2] {
		t.Error("the URL does not name the file's checksum")
	}
	wantStatus(t, c.get("/static/0000000000000000/app.css"), http.StatusNotFound)
	wantStatus(t, c.get("/static/"+m[2]+"/nothing.js"), http.StatusNotFound)
	wantStatus(t, c.get("/favicon.ico"), http.StatusMovedPermanently)
}

// The JavaScript and CSS a page loads stay under 300 KB together.
func TestPageWeight(t *testing.T) {
	sizes, err := web.StaticSizes()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for name, n := range sizes {
		if strings.HasSuffix(name, ".js") || strings.HasSuffix(name, ".css") {
			total += n
			t.Logf("%s: %d bytes", name, n)
		}
	}
	t.Logf("JavaScript and CSS: %d bytes (%.1f KB)", total, float64(total)/1024)
	if total > 300*1024 {
		t.Errorf("JavaScript and CSS weigh %d bytes, over 300 KB", total)
	}
}

func TestIdleTimeout(t *testing.T) {
	e := newEnv(t)
	c := e.signedIn("o.kovalenko", investigatorPass)
	for range 3 {
		e.clock.advance(20 * time.Minute)
		wantStatus(t, c.get("/items"), http.StatusOK) // activity renews the session
	}
	e.clock.advance(31 * time.Minute)
	r := c.get("/items")
	wantStatus(t, r, http.StatusSeeOther)
	if !strings.HasPrefix(r.Header.Get("Location"), "/signin?next=") {
		t.Errorf("after 31 idle minutes: to %q", r.Header.Get("Location"))
	}
	// Absolute timeout.
	c = e.signedIn("o.kovalenko", investigatorPass)
	for range 36 {
		e.clock.advance(20 * time.Minute)
		c.get("/items")
	}
	wantStatus(t, c.get("/items"), http.StatusSeeOther)
}

func TestSignOut(t *testing.T) {
	e := newEnv(t)
	c := e.signedIn("o.kovalenko", investigatorPass)
	r := c.post("/signout", url.Values{})
	wantStatus(t, r, http.StatusSeeOther)
	if r.Header.Get("Location") != "/signin?out=1" {
		t.Errorf("after sign-out: to %q", r.Header.Get("Location"))
	}
	wantStatus(t, c.get("/"), http.StatusSeeOther)
	r = c.get("/signin?out=1")
	if !strings.Contains(r.body, "You have signed out.") {
		t.Error("no notice after sign-out")
	}
}

// recorder is a minimal http.ResponseWriter.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(s int) { r.status = s }

func httptestRequest(method, target string, body *strings.Reader) *http.Request {
	var req *http.Request
	if body == nil {
		req, _ = http.NewRequest(method, "http://custody.test"+target, nil)
	} else {
		req, _ = http.NewRequest(method, "http://custody.test"+target, body)
	}
	req.RemoteAddr = "127.0.0.1:1234"
	req.RequestURI = target
	return req
}

// multipartUpload builds a form as the no-script upload page sends it:
// the CSRF token first, then the fields, then the files.
func multipartUpload(csrf string, fields map[string]string, files map[string][]byte) (string, *bytes.Buffer) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if csrf != "" {
		mw.WriteField("csrf", csrf)
	}
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for name, b := range files {
		w, _ := mw.CreateFormFile("file", name)
		w.Write(b)
	}
	mw.Close()
	return mw.FormDataContentType(), &buf
}
