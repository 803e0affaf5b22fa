package web_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/blobstore"
	"github.com/custody-dev/custody/internal/evidence"
	"github.com/custody-dev/custody/internal/ledger"
	"github.com/custody-dev/custody/internal/locality"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
	"github.com/custody-dev/custody/internal/web"
	"github.com/google/uuid"
)

// Passwords of the test users (12 characters at least).
const (
	adminPassword    = "admin password 1"
	investigatorPass = "investigator pass"
	reviewerPassword = "reviewer password"
)

var loadGazetteer = sync.OnceValues(locality.Load)

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Microsecond)
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a store with users and the web application served on loopback.
type env struct {
	t        testing.TB
	dir      string
	db       *sqlstore.DB
	svc      *evidence.Service
	web      *web.Server
	srv      *httptest.Server
	clock    *clock
	admin    *custody.User
	inv      *custody.User
	reviewer *custody.User
	reused   bool // CUSTODY_WEB_DB named an existing store
	dsn      string
	cfg      web.Config
}

type envOptions struct {
	dialect   string
	tus       bool
	realClock bool
}

func newEnv(t testing.TB, opts ...envOptions) *env {
	t.Helper()
	o := envOptions{dialect: "sqlite", tus: true}
	if len(opts) > 0 {
		o = opts[0]
		if o.dialect == "" {
			o.dialect = "sqlite"
		}
	}
	ctx := context.Background()
	e := &env{t: t, dir: t.TempDir(), clock: &clock{t: time.Now().UTC()}}
	now := e.clock.Now
	if o.realClock {
		now = time.Now
	}
	storeID := uuid.Must(uuid.NewV7()).String()
	origin := "custody.test/" + storeID
	skey, vkey, err := ledger.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	dsn := sqltest.DSN(t, o.dialect)
	reuse := false
	if p := os.Getenv("CUSTODY_WEB_DB"); p != "" && o.dialect == "sqlite" {
		dsn = "sqlite:" + p // kept after the test, and reused by the next
		_, err := os.Stat(p)
		reuse = err == nil
	}
	e.dsn = dsn
	e.db, err = sqlstore.Open(ctx, dsn, sqlstore.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.db.Close() })
	blobs, err := blobstore.NewFS(filepath.Join(e.dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := blobstore.NewFSObjects(filepath.Join(e.dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := blobstore.NewFSObjects(filepath.Join(e.dir, "private"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := loadGazetteer()
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = evidence.New(evidence.Config{StoreID: storeID, Origin: origin, SignerKey: skey, VerifierKey: vkey,
		DB: e.db, Blobs: blobs, Public: pub, Private: priv, Now: now, Localities: g})
	if err != nil {
		t.Fatal(err)
	}
	if reuse {
		for name, dst := range map[string]**custody.User{"admin": &e.admin, "o.kovalenko": &e.inv, "court": &e.reviewer} {
			if *dst, err = e.db.UserByName(ctx, name); err != nil {
				t.Fatal(err)
			}
		}
	} else {
		if err := e.db.SetMeta(ctx, "store_id", storeID); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Init(ctx, "web test store"); err != nil {
			t.Fatal(err)
		}
		e.admin, _, err = e.svc.CreateUser(ctx, custody.SystemActor, "admin", custody.RoleAdmin, adminPassword)
		if err != nil {
			t.Fatal(err)
		}
		e.inv, _, err = e.svc.CreateUser(ctx, e.admin, "o.kovalenko", custody.RoleInvestigator, investigatorPass)
		if err != nil {
			t.Fatal(err)
		}
		e.reviewer, _, err = e.svc.CreateUser(ctx, e.admin, "court", custody.RoleAnalyst, reviewerPassword)
		if err != nil {
			t.Fatal(err)
		}
	}
	e.reused = reuse
	cfg := web.Config{Now: now, Location: time.UTC}
	if os.Getenv("CUSTODY_WEB_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if o.tus {
		cfg.UploadDir = filepath.Join(e.dir, "uploads")
	}
	e.cfg = cfg
	e.web, err = web.New(e.svc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.web)
	t.Cleanup(e.srv.Close)
	return e
}

// client is a browser without JavaScript: it keeps cookies and does not
// follow redirects (tests look at them).
type client struct {
	t    testing.TB
	e    *env
	http *http.Client
	csrf string
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, e: e, http: &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type response struct {
	*http.Response
	body string
}

func (c *client) do(req *http.Request) *response {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	r := &response{Response: resp, body: string(b)}
	if m := csrfRe.FindStringSubmatch(r.body); m != nil {
		c.csrf = m[1]
	}
	return r
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) get(path string) *response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.e.srv.URL+path, nil)
	req.Header.Set("Accept-Language", "en")
	return c.do(req)
}

// post sends a form; the CSRF token of the last page is added unless the
// form has one.
func (c *client) post(path string, form url.Values) *response {
	c.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, c.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", "en")
	return c.do(req)
}

// signIn signs in and fails the test unless it works.
func (c *client) signIn(name, password string) {
	c.t.Helper()
	c.get("/signin")
	r := c.post("/signin", url.Values{"name": {name}, "password": {password}, "next": {"/"}})
	if r.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("sign-in as %s: %d\n%s", name, r.StatusCode, r.body)
	}
	c.get("/") // for the session's CSRF token
}

func (e *env) signedIn(name, password string) *client {
	c := e.client()
	c.signIn(name, password)
	return c
}

func wantStatus(t testing.TB, r *response, want int) {
	t.Helper()
	if r.StatusCode != want {
		body := r.body
		if len(body) > 3000 {
			body = body[:3000]
		}
		t.Fatalf("%s %s: status %d, want %d\n%s", r.Request.Method, r.Request.URL.Path, r.StatusCode, want, body)
	}
}

// fresh returns a client of a new web server over the same store: nothing
// cached, signed in without loading a page.
func (e *env) fresh(name, password string) *client {
	e.t.Helper()
	w, err := web.New(e.svc, e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	e.t.Cleanup(srv.Close)
	c := (&env{t: e.t, srv: srv}).client()
	c.get("/signin")
	r := c.post("/signin", url.Values{"name": {name}, "password": {password}, "next": {"/"}})
	if r.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign-in: %d", r.StatusCode)
	}
	return c
}
