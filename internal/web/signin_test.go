package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custody-dev/custody/internal/evidence"
	"github.com/custody-dev/custody/internal/web"
)

// guarded returns a client of a web server over e's store with the
// service's sign-in guard, as custody serve wires it.
func (e *env) guarded() *client {
	e.t.Helper()
	cfg := e.cfg
	cfg.SignInGuard = e.svc.SignInGuard
	w, err := web.New(e.svc, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	e.t.Cleanup(srv.Close)
	return (&env{t: e.t, srv: srv}).client()
}

func (c *client) signinPost(form url.Values, lang string) *response {
	c.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, c.e.srv.URL+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", lang)
	return c.do(req)
}

func hasCookie(r *response, name string) bool {
	for _, ck := range r.Cookies() {
		if ck.Name == name && ck.Value != "" && ck.MaxAge >= 0 {
			return true
		}
	}
	return false
}

func TestSignInLockOutPage(t *testing.T) {
	e := newEnv(t)
	c := e.guarded()
	c.get("/signin")
	for i := range evidence.MaxSignInFailures {
		r := c.post("/signin", url.Values{"name": {"o.kovalenko"}, "password": {"wrong password!"}})
		wantStatus(t, r, http.StatusUnauthorized)
		if !strings.Contains(r.body, "Wrong name or password.") {
			t.Fatalf("failure %d: %s", i+1, r.body)
		}
	}
	// Locked: the right password is refused, with a translated message.
	r := c.post("/signin", url.Values{"name": {"o.kovalenko"}, "password": {investigatorPass}})
	wantStatus(t, r, http.StatusTooManyRequests)
	if !strings.Contains(r.body, "this account is locked until") || hasCookie(r, "custody_session") {
		t.Errorf("locked sign-in page:\n%s", r.body)
	}
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 14*60 || s > 15*60 {
		t.Errorf("Retry-After %q, want about 15 minutes", r.Header.Get("Retry-After"))
	}
	r = c.signinPost(url.Values{"name": {"o.kovalenko"}, "password": {investigatorPass}}, "uk")
	wantStatus(t, r, http.StatusTooManyRequests)
	if !strings.Contains(r.body, "обліковий запис заблоковано до") {
		t.Errorf("Ukrainian page:\n%s", r.body)
	}
	// Another user is not affected.
	c2 := e.guarded()
	c2.get("/signin")
	wantStatus(t, c2.post("/signin", url.Values{"name": {"court"}, "password": {reviewerPassword}}), http.StatusSeeOther)

	// Unlocked by an administrator, the password works again.
	if _, err := e.svc.Unlock(context.Background(), e.admin, "o.kovalenko"); err != nil {
		t.Fatal(err)
	}
	r = c.post("/signin", url.Values{"name": {"o.kovalenko"}, "password": {investigatorPass}, "next": {"/items"}})
	wantStatus(t, r, http.StatusSeeOther)
	if r.Header.Get("Location") != "/items" {
		t.Errorf("after unlock: to %q", r.Header.Get("Location"))
	}
}

func TestSignInAddressLimitPage(t *testing.T) {
	e := newEnv(t)
	c := e.guarded()
	c.get("/signin")
	// 20 attempts from one address (four per name: no name is locked).
	for i := range evidence.AddrBurst {
		r := c.post("/signin", url.Values{"name": {"name" + strconv.Itoa(i/4)}, "password": {"wrong password!"}})
		wantStatus(t, r, http.StatusUnauthorized)
	}
	r := c.post("/signin", url.Values{"name": {"o.kovalenko"}, "password": {investigatorPass}})
	wantStatus(t, r, http.StatusTooManyRequests)
	if !strings.Contains(r.body, "Too many sign-in attempts from your network") || r.Header.Get("Retry-After") == "" {
		t.Errorf("rate-limited page (Retry-After %q):\n%s", r.Header.Get("Retry-After"), r.body)
	}
	e.clock.advance(31 * time.Second)
	wantStatus(t, c.post("/signin", url.Values{"name": {"o.kovalenko"}, "password": {investigatorPass}}), http.StatusSeeOther)
}

func TestSignInSecondFactor(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	enr, err := e.svc.EnrolTOTP(ctx, e.admin, "o.kovalenko")
	if err != nil {
		t.Fatal(err)
	}
	c := e.guarded()
	c.get("/signin?next=/items")
	// The password: the form asks for the code next, no session yet.
	r := c.post("/signin", url.Values{"name": {"o.kovalenko"}, "password": {investigatorPass}, "next": {"/items"}})
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, `name="code"`) || !strings.Contains(r.body, `autocomplete="one-time-code"`) ||
		!strings.Contains(r.body, `name="step" value="code"`) || strings.Contains(r.body, `name="password"`) ||
		strings.Contains(r.body, investigatorPass) || !strings.Contains(r.body, `name="next" value="/items"`) {
		t.Fatalf("code form:\n%s", r.body)
	}
	if hasCookie(r, "custody_session") || !hasCookie(r, "custody_challenge") {
		t.Fatalf("cookies after the password: %v", r.Cookies())
	}
	// A wrong code: asked again.
	now := e.clock.Now()
	code, _ := evidence.TOTPCode(enr.Secret, now)
	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	r = c.post("/signin", url.Values{"step": {"code"}, "name": {"o.kovalenko"}, "code": {wrong}, "next": {"/items"}})
	wantStatus(t, r, http.StatusUnauthorized)
	if !strings.Contains(r.body, "Wrong code.") || !strings.Contains(r.body, `name="code"`) {
		t.Fatalf("wrong code page:\n%s", r.body)
	}
	// The right one: signed in, sent on.
	r = c.post("/signin", url.Values{"step": {"code"}, "name": {"o.kovalenko"}, "code": {code}, "next": {"/items"}})
	wantStatus(t, r, http.StatusSeeOther)
	if r.Header.Get("Location") != "/items" || !hasCookie(r, "custody_session") {
		t.Fatalf("after the code: to %q, cookies %v", r.Header.Get("Location"), r.Cookies())
	}
	wantStatus(t, c.get("/items"), http.StatusOK)

	// The same code in another browser: refused as used.
	c2 := e.guarded()
	c2.get("/signin")
	wantStatus(t, c2.post("/signin", url.Values{"name": {"o.kovalenko"}, "password": {investigatorPass}}), http.StatusOK)
	r = c2.post("/signin", url.Values{"step": {"code"}, "name": {"o.kovalenko"}, "code": {code}})
	wantStatus(t, r, http.StatusUnauthorized)
	if !strings.Contains(r.body, "used already") {
		t.Errorf("reused code page:\n%s", r.body)
	}
	// A code without the password first: back to the password.
	c3 := e.guarded()
	c3.get("/signin")
	r = c3.post("/signin", url.Values{"step": {"code"}, "name": {"o.kovalenko"}, "code": {code}})
	wantStatus(t, r, http.StatusUnauthorized)
	if !strings.Contains(r.body, "Enter your name and password again") || !strings.Contains(r.body, `name="password"`) {
		t.Errorf("code without a challenge:\n%s", r.body)
	}
	// In Ukrainian, the code step is translated.
	c4 := e.guarded()
	c4.get("/signin")
	r = c4.signinPost(url.Values{"name": {"o.kovalenko"}, "password": {investigatorPass}}, "uk")
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, "Одноразовий код") {
		t.Errorf("Ukrainian code form:\n%s", r.body)
	}
}

// A session an administrator revokes is refused at its next request.
func TestRevokedSession(t *testing.T) {
	e := newEnv(t)
	c := e.signedIn("o.kovalenko", investigatorPass)
	wantStatus(t, c.get("/items"), http.StatusOK)
	other := e.signedIn("court", reviewerPassword)
	n, err := e.svc.RevokeUserSessions(context.Background(), e.admin, "o.kovalenko")
	if err != nil || n != 1 {
		t.Fatalf("RevokeUserSessions = %d, %v", n, err)
	}
	r := c.get("/items")
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "/signin?next=") {
		t.Errorf("revoked session sent to %q", loc)
	}
	r = c.post("/records", url.Values{"kind": {"site"}})
	wantStatus(t, r, http.StatusForbidden)
	wantStatus(t, other.get("/items"), http.StatusOK)
}
