package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/api"
	"github.com/custody-dev/custody/internal/blobstore"
	"github.com/custody-dev/custody/internal/evidence"
	"github.com/custody-dev/custody/internal/ledger"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/verify"
)

// env is a fresh store behind a real HTTP server.
type env struct {
	t        testing.TB
	dir      string
	db       *sqlstore.DB
	svc      *evidence.Service
	handler  *api.Server
	srv      *httptest.Server
	admin    string // token of an admin
	reviewer string // token of a read-only user: an analyst (a reviewer sees only the cases granted to it; access_test.go covers that)
	vkey     string
}

// newService wires a store the way internal/cli/store.go does, in dir.
func newService(t testing.TB, dir string) (*evidence.Service, *sqlstore.DB, string) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(dir, "custody.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blobstore.NewFS(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := blobstore.NewFSObjects(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := blobstore.NewFSObjects(filepath.Join(dir, "private"))
	if err != nil {
		t.Fatal(err)
	}
	origin := "custody.test/api"
	skey, vkey, err := ledger.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := evidence.New(evidence.Config{StoreID: "0192f000-0000-7000-8000-000000000001", Origin: origin, SignerKey: skey,
		VerifierKey: vkey, DB: db, Blobs: blobs, Public: pub, Private: priv})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Init(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	return svc, db, vkey
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, dir: t.TempDir()}
	e.svc, e.db, e.vkey = newService(t, e.dir)
	t.Cleanup(func() { e.db.Close() })
	adm, tok, err := e.svc.CreateUser(ctx, custody.SystemActor, "admin", custody.RoleAdmin, "")
	if err != nil {
		t.Fatal(err)
	}
	e.admin = tok
	if _, e.reviewer, err = e.svc.CreateUser(ctx, adm, "rev", custody.RoleAnalyst, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.CreateUser(ctx, adm, "ivan", custody.RoleInvestigator, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	e.handler = api.New(e.svc, nil)
	e.srv = httptest.NewServer(e.handler)
	t.Cleanup(e.srv.Close)
	return e
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) errCode() string {
	var b struct {
		Error struct{ Code, Message string }
	}
	json.Unmarshal(r.body, &b)
	return b.Error.Code
}

func (r response) errMessage() string {
	var b struct {
		Error struct{ Code, Message string }
	}
	json.Unmarshal(r.body, &b)
	return b.Error.Message
}

func (e *env) do(method, path, token, ctype string, body io.Reader) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	checkNoLeak(e.t, resp.StatusCode, b)
	return response{resp.StatusCode, resp.Header, b}
}

// checkNoLeak fails when an error response carries Go internals.
func checkNoLeak(t testing.TB, status int, body []byte) {
	t.Helper()
	if status < 400 {
		return
	}
	for _, s := range []string{"goroutine ", ".go:", "runtime.", "sqlite", "SQL", "sql:", "/tmp/", "no such file", "panic"} {
		if bytes.Contains(body, []byte(s)) {
			t.Errorf("error body (status %d) leaks %q: %s", status, s, body)
		}
	}
}

func (e *env) logSize() uint64 {
	e.t.Helper()
	n, err := e.db.LogSize(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) upload(content []byte, query string) *custody.Item {
	e.t.Helper()
	r := e.do("POST", "/api/v1/items?"+query, e.admin, "application/octet-stream", bytes.NewReader(content))
	if r.status != http.StatusCreated {
		e.t.Fatalf("upload: status %d: %s", r.status, r.body)
	}
	var it custody.Item
	if err := json.Unmarshal(r.body, &it); err != nil {
		e.t.Fatal(err)
	}
	return &it
}

func refOf(b []byte) custody.Ref {
	s := sha256.Sum256(b)
	return custody.RefFromDigest(s[:])
}

var pngHead = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde")

func TestHealthz(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/healthz", "", "", nil)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	checkSecurityHeaders(t, r.header)
}

func checkSecurityHeaders(t *testing.T, h http.Header) {
	t.Helper()
	for k, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q", h.Get("Content-Security-Policy"))
	}
}

var apiRoutes = []struct{ method, path string }{
	{"GET", "/api/v1/items"},
	{"POST", "/api/v1/items"},
	{"GET", "/api/v1/items/x"},
	{"GET", "/api/v1/items/x/content"},
	{"GET", "/api/v1/items/x/history"},
	{"GET", "/api/v1/items/x/proof"},
	{"POST", "/api/v1/items/x/handover"},
	{"GET", "/api/v1/log/checkpoint"},
	{"GET", "/api/v1/log/key"},
	{"GET", "/api/v1/log/proof/0"},
	{"GET", "/api/v1/log/consistency?from=0&to=1"},
	{"GET", "/api/v1/me"},
}

func TestAuthRequired(t *testing.T) {
	e := newEnv(t)
	before := e.logSize()
	for _, rt := range apiRoutes {
		for _, auth := range []struct{ name, header string }{
			{"none", ""},
			{"bad token", "Bearer not-a-token"},
			{"empty bearer", "Bearer "},
			{"basic", "Basic YWRtaW46YWRtaW4="},
		} {
			t.Run(rt.method+" "+rt.path+" "+auth.name, func(t *testing.T) {
				req, _ := http.NewRequest(rt.method, e.srv.URL+rt.path, strings.NewReader("data"))
				if auth.header != "" {
					req.Header.Set("Authorization", auth.header)
				}
				resp, err := e.srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("status %d, want 401: %s", resp.StatusCode, b)
				}
				if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
					t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
				}
				if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
				}
				if c := (response{body: b}).errCode(); c != custody.EUNAUTHORIZED {
					t.Errorf("code %q, want %q: %s", c, custody.EUNAUTHORIZED, b)
				}
				checkSecurityHeaders(t, resp.Header)
			})
		}
	}
	if after := e.logSize(); after != before {
		t.Errorf("log grew from %d to %d on unauthenticated requests", before, after)
	}
}

func TestUnknownAPIRoute(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/api/v1/nope", e.admin, "", nil)
	if r.status != 404 || r.errCode() != custody.ENOTFOUND {
		t.Fatalf("status %d code %q", r.status, r.errCode())
	}
}

func TestCreateItemRaw(t *testing.T) {
	e := newEnv(t)
	content := append(append([]byte{}, pngHead...), []byte("rest of the image")...)
	it := e.upload(content, "name=photo.png&collector=Olena&case=UA-1&lat=50.45&lon=30.52&collected_at=2022-09-16T10:04:00%2B03:00&description=crater")
	if it.Blob != refOf(content) {
		t.Errorf("blob %s, want %s", it.Blob, refOf(content))
	}
	if it.Size != int64(len(content)) {
		t.Errorf("size %d, want %d", it.Size, len(content))
	}
	if it.MediaType != "image/png" {
		t.Errorf("media type %q, want image/png", it.MediaType)
	}
	if it.Name != "photo.png" || it.Collector != "Olena" || it.Case != "UA-1" || it.Description != "crater" {
		t.Errorf("metadata not kept: %+v", it)
	}
	if it.Lat == nil || *it.Lat != 50.45 || it.Lon == nil || *it.Lon != 30.52 {
		t.Errorf("lat/lon not kept: %v %v", it.Lat, it.Lon)
	}
	if it.LogIndex == 0 || it.ID == "" {
		t.Errorf("no id or log index: %+v", it)
	}

	r := e.do("GET", "/api/v1/items/"+it.ID, e.reviewer, "", nil)
	if r.status != 200 {
		t.Fatalf("get item: %d %s", r.status, r.body)
	}
	var got custody.Item
	json.Unmarshal(r.body, &got)
	if got.Blob != it.Blob || got.ID != it.ID {
		t.Errorf("GET item = %+v, want %+v", got, it)
	}

	// Same content again: recorded again, flagged as a duplicate.
	dup := e.upload(content, "name=again.png")
	if !dup.Duplicate || dup.Blob != it.Blob || dup.ID == it.ID {
		t.Errorf("second upload: %+v", dup)
	}

	r = e.do("GET", "/api/v1/items", e.reviewer, "", nil)
	var list struct{ Items []custody.Item }
	json.Unmarshal(r.body, &list)
	if r.status != 200 || len(list.Items) != 2 {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
}

func TestCreateItemMultipart(t *testing.T) {
	e := newEnv(t)
	content := []byte("%PDF-1.4\n%some pdf\n")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("collector", "Petro")
	mw.WriteField("case", "UA-2")
	mw.WriteField("description", "report")
	fw, _ := mw.CreateFormFile("file", "report.pdf")
	fw.Write(content)
	mw.Close()
	r := e.do("POST", "/api/v1/items", e.admin, mw.FormDataContentType(), &buf)
	if r.status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if !strings.HasPrefix(r.header.Get("Location"), "/api/v1/items/") {
		t.Errorf("Location %q", r.header.Get("Location"))
	}
	var it custody.Item
	json.Unmarshal(r.body, &it)
	if it.Blob != refOf(content) || it.Size != int64(len(content)) || it.Name != "report.pdf" || it.Collector != "Petro" || it.Case != "UA-2" {
		t.Errorf("item %+v", it)
	}
	if it.MediaType != "application/pdf" {
		t.Errorf("media type %q, want application/pdf", it.MediaType)
	}
}

func TestHostileNames(t *testing.T) {
	e := newEnv(t)
	for i, name := range []string{
		"../../etc/passwd",
		"..\\..\\windows\\system32",
		"a\x00b\x1b[31mred\x07.jpg",
		"evil\u202egpj.exe",
		"/",
		"..",
		"C:\\boot.ini",
		strings.Repeat("x", 5000) + ".jpg",
	} {
		q := "name=" + urlQueryEscape(name)
		it := e.upload([]byte(fmt.Sprintf("content %d", i)), q)
		if strings.ContainsAny(it.Name, "/\\") || strings.HasPrefix(it.Name, ".") || it.Name == "" || len(it.Name) > 255 {
			t.Errorf("name %q stored as %q", name, it.Name)
		}
		for _, c := range it.Name {
			if unicode.IsControl(c) || unicode.Is(unicode.Cf, c) {
				t.Errorf("name %q stored as %q with control character %U", name, it.Name, c)
			}
		}
		// The download header must carry the sanitised name only.
		r := e.do("GET", "/api/v1/items/"+it.ID+"/content", e.admin, "", nil)
		if cd := r.header.Get("Content-Disposition"); strings.Contains(cd, "..") && strings.Contains(cd, "/") {
			t.Errorf("Content-Disposition %q", cd)
		}
	}
}

func urlQueryEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func TestCreateItemErrors(t *testing.T) {
	e := newEnv(t)
	goodMultipart := func(build func(mw *multipart.Writer)) (string, *bytes.Buffer) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		build(mw)
		mw.Close()
		return mw.FormDataContentType(), &buf
	}
	tests := []struct {
		name   string
		token  string
		query  string
		ctype  string
		body   func() io.Reader
		status int
		code   string
	}{
		{name: "empty body", query: "name=a", body: func() io.Reader { return http.NoBody }, status: 400, code: custody.EINVALID},
		{name: "unknown field", query: "name=a&colour=red", body: func() io.Reader { return strings.NewReader("x") }, status: 400, code: custody.EINVALID},
		{name: "bad lat", query: "lat=north&lon=1", body: func() io.Reader { return strings.NewReader("x") }, status: 400, code: custody.EINVALID},
		{name: "lat out of range", query: "lat=91&lon=1", body: func() io.Reader { return strings.NewReader("x") }, status: 400, code: custody.EINVALID},
		{name: "lat NaN", query: "lat=NaN&lon=1", body: func() io.Reader { return strings.NewReader("x") }, status: 400, code: custody.EINVALID},
		{name: "lat without lon", query: "lat=1", body: func() io.Reader { return strings.NewReader("x") }, status: 400, code: custody.EINVALID},
		{name: "bad collected_at", query: "collected_at=yesterday", body: func() io.Reader { return strings.NewReader("x") }, status: 400, code: custody.EINVALID},
		{name: "bad kind", query: "kind=spiritual", body: func() io.Reader { return strings.NewReader("x") }, status: 400, code: custody.EINVALID},
		{name: "reviewer may not write", token: e.reviewer, query: "name=a", body: func() io.Reader { return strings.NewReader("x") }, status: 403, code: custody.EFORBIDDEN},
		{name: "malformed multipart", ctype: "multipart/form-data; boundary=zzz", body: func() io.Reader { return strings.NewReader("--zzz\r\nbroken") }, status: 400, code: custody.EINVALID},
		{name: "multipart without boundary", ctype: "multipart/form-data", body: func() io.Reader { return strings.NewReader("x") }, status: 400, code: custody.EINVALID},
		{name: "multipart without file", body: nil, status: 400, code: custody.EINVALID},
		{name: "multipart unknown field", body: nil, status: 400, code: custody.EINVALID},
		{name: "multipart empty file", body: nil, status: 400, code: custody.EINVALID},
		{name: "multipart field too large", body: nil, status: 413, code: custody.ETOOLARGE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctype, body := tt.ctype, tt.body
			switch tt.name {
			case "multipart without file":
				c, b := goodMultipart(func(mw *multipart.Writer) { mw.WriteField("collector", "x") })
				ctype, body = c, func() io.Reader { return b }
			case "multipart unknown field":
				c, b := goodMultipart(func(mw *multipart.Writer) {
					mw.WriteField("colour", "x")
					w, _ := mw.CreateFormFile("file", "a")
					w.Write([]byte("x"))
				})
				ctype, body = c, func() io.Reader { return b }
			case "multipart empty file":
				c, b := goodMultipart(func(mw *multipart.Writer) { mw.CreateFormFile("file", "a") })
				ctype, body = c, func() io.Reader { return b }
			case "multipart field too large":
				c, b := goodMultipart(func(mw *multipart.Writer) {
					mw.WriteField("description", strings.Repeat("x", 9000))
					w, _ := mw.CreateFormFile("file", "a")
					w.Write([]byte("x"))
				})
				ctype, body = c, func() io.Reader { return b }
			}
			if ctype == "" {
				ctype = "application/octet-stream"
			}
			tok := tt.token
			if tok == "" {
				tok = e.admin
			}
			before := e.logSize()
			r := e.do("POST", "/api/v1/items?"+tt.query, tok, ctype, body())
			if r.status != tt.status || r.errCode() != tt.code {
				t.Errorf("status %d code %q, want %d %q: %s", r.status, r.errCode(), tt.status, tt.code, r.body)
			}
			if after := e.logSize(); after != before {
				t.Errorf("log grew from %d to %d on a refused upload", before, after)
			}
		})
	}
}

func TestHandoverAndHistory(t *testing.T) {
	e := newEnv(t)
	it := e.upload([]byte("evidence"), "name=e.txt")
	body := `{"to":"ivan","reason":"lab analysis","seal":"S-1","location":"locker 4"}`
	r := e.do("POST", "/api/v1/items/"+it.ID+"/handover", e.admin, "application/json", strings.NewReader(body))
	if r.status != http.StatusCreated {
		t.Fatalf("handover: %d %s", r.status, r.body)
	}
	var ev custody.Event
	json.Unmarshal(r.body, &ev)
	if ev.Type != "handover" || ev.To != "ivan" || ev.Item != it.ID {
		t.Errorf("event %+v", ev)
	}
	r = e.do("GET", "/api/v1/items/"+it.ID+"/history", e.reviewer, "", nil)
	if r.status != 200 {
		t.Fatalf("history: %d %s", r.status, r.body)
	}
	var h struct{ Events []custody.Event }
	json.Unmarshal(r.body, &h)
	if len(h.Events) != 2 || h.Events[0].Type != "intake" || h.Events[1].Type != "handover" || h.Events[1].Reason != "lab analysis" {
		t.Errorf("history %+v", h.Events)
	}
	r = e.do("GET", "/api/v1/items/"+it.ID, e.reviewer, "", nil)
	var got custody.Item
	json.Unmarshal(r.body, &got)
	if got.Seal != "S-1" || got.Location != "locker 4" {
		t.Errorf("item after handover: %+v", got)
	}
}

func TestHandoverErrors(t *testing.T) {
	e := newEnv(t)
	it := e.upload([]byte("evidence"), "name=e.txt")
	big := `{"to":"ivan","reason":"` + strings.Repeat("x", 2<<20) + `"}`
	tests := []struct {
		name, item, token, body string
		status                  int
		code                    string
	}{
		{"malformed json", it.ID, e.admin, `{"to":`, 400, custody.EINVALID},
		{"not json", it.ID, e.admin, `hello`, 400, custody.EINVALID},
		{"empty", it.ID, e.admin, ``, 400, custody.EINVALID},
		{"unknown field", it.ID, e.admin, `{"to":"ivan","reason":"r","colour":"red"}`, 400, custody.EINVALID},
		{"trailing data", it.ID, e.admin, `{"to":"ivan","reason":"r"} {}`, 400, custody.EINVALID},
		{"wrong type", it.ID, e.admin, `{"to":1}`, 400, custody.EINVALID},
		{"too large", it.ID, e.admin, big, 413, custody.ETOOLARGE},
		{"unknown item", "0192f000-0000-7000-8000-00000000dead", e.admin, `{"to":"ivan","reason":"r"}`, 404, custody.ENOTFOUND},
		{"reviewer", it.ID, e.reviewer, `{"to":"ivan","reason":"r"}`, 403, custody.EFORBIDDEN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.logSize()
			r := e.do("POST", "/api/v1/items/"+tt.item+"/handover", tt.token, "application/json", strings.NewReader(tt.body))
			if r.status != tt.status || r.errCode() != tt.code {
				t.Errorf("status %d code %q, want %d %q: %.300s", r.status, r.errCode(), tt.status, tt.code, r.body)
			}
			if after := e.logSize(); after != before {
				t.Errorf("log grew from %d to %d", before, after)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{
		"/api/v1/items/0192f000-0000-7000-8000-00000000dead",
		"/api/v1/items/nope/content",
		"/api/v1/items/nope/history",
		"/api/v1/items/nope/proof",
		"/api/v1/log/proof/99999",
	} {
		r := e.do("GET", p, e.admin, "", nil)
		if r.status != 404 || r.errCode() != custody.ENOTFOUND {
			t.Errorf("GET %s: status %d code %q: %s", p, r.status, r.errCode(), r.body)
		}
	}
	for _, p := range []string{"/api/v1/log/proof/-1", "/api/v1/log/proof/x", "/api/v1/log/consistency?from=a", "/api/v1/log/consistency?from=5&to=2", "/api/v1/items?limit=0", "/api/v1/items?blob=sha256-xyz"} {
		r := e.do("GET", p, e.admin, "", nil)
		if r.status != 400 || r.errCode() != custody.EINVALID {
			t.Errorf("GET %s: status %d code %q: %s", p, r.status, r.errCode(), r.body)
		}
	}
}

func TestProof(t *testing.T) {
	e := newEnv(t)
	var items []*custody.Item
	for i := range 5 {
		items = append(items, e.upload([]byte(fmt.Sprintf("item %d", i)), "name=f"))
	}
	for _, it := range items {
		r := e.do("GET", "/api/v1/items/"+it.ID+"/proof", e.reviewer, "", nil)
		if r.status != 200 {
			t.Fatalf("proof: %d %s", r.status, r.body)
		}
		var p evidence.Proof
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(err)
		}
		// Check with the key we hold, not the one the server sent.
		cp, err := verify.OpenCheckpoint([]byte(p.Checkpoint), e.vkey)
		if err != nil {
			t.Fatalf("checkpoint: %v", err)
		}
		if p.Index != it.LogIndex {
			t.Errorf("proof index %d, want %d", p.Index, it.LogIndex)
		}
		leaf := verify.LeafHash([]byte(p.Entry))
		if err := verify.VerifyInclusion(leaf, p.Index, cp.Size, p.Hashes, cp.Root); err != nil {
			t.Errorf("inclusion of %s: %v", it.ID, err)
		}
		entry, err := verify.ParseEntry([]byte(p.Entry))
		if err != nil {
			t.Errorf("entry: %v", err)
		}
		_ = entry
		// A proof with a flipped bit must not verify.
		if len(p.Hashes) > 0 {
			p.Hashes[0][0] ^= 1
			if verify.VerifyInclusion(leaf, p.Index, cp.Size, p.Hashes, cp.Root) == nil {
				t.Errorf("a corrupted proof verified")
			}
		}
	}
	// Consistency between two sizes, against the API's checkpoints.
	r := e.do("GET", "/api/v1/log/checkpoint", e.reviewer, "", nil)
	var c struct {
		Size uint64
		Note string
	}
	json.Unmarshal(r.body, &c)
	cp, err := verify.OpenCheckpoint([]byte(c.Note), e.vkey)
	if err != nil || cp.Size != c.Size {
		t.Fatalf("checkpoint %v %d/%d", err, cp.Size, c.Size)
	}
	r = e.do("GET", "/api/v1/log/key", e.reviewer, "", nil)
	var k struct {
		VerifierKey string `json:"verifier_key"`
	}
	json.Unmarshal(r.body, &k)
	if k.VerifierKey != e.vkey {
		t.Errorf("key %q, want %q", k.VerifierKey, e.vkey)
	}
}

func TestContent(t *testing.T) {
	e := newEnv(t)
	content := []byte("the original bytes\x00\xff")
	it := e.upload(content, "name=orig.bin")
	before := e.logSize()
	r := e.do("GET", "/api/v1/items/"+it.ID+"/content?reason=court", e.reviewer, "", nil)
	if r.status != 200 || !bytes.Equal(r.body, content) {
		t.Fatalf("content: %d %q", r.status, r.body)
	}
	if d := r.header.Get("Digest"); d != "sha-256="+it.Blob.Hex() {
		t.Errorf("Digest %q", d)
	}
	checkSecurityHeaders(t, r.header)
	if e.logSize() != before+1 {
		t.Errorf("log size %d after a read, want %d", e.logSize(), before+1)
	}
	// HEAD sends no content and records nothing.
	r = e.do("HEAD", "/api/v1/items/"+it.ID+"/content", e.reviewer, "", nil)
	if r.status != 200 || r.header.Get("Content-Length") != fmt.Sprint(len(content)) {
		t.Errorf("HEAD content: %d %v", r.status, r.header)
	}
	if e.logSize() != before+1 {
		t.Errorf("HEAD recorded an access event")
	}
	r = e.do("GET", "/api/v1/items/"+it.ID+"/history", e.admin, "", nil)
	var h struct{ Events []custody.Event }
	json.Unmarshal(r.body, &h)
	if len(h.Events) != 2 || h.Events[1].Type != "access" || h.Events[1].Reason != "court" {
		t.Errorf("history after access: %+v", h.Events)
	}
}

func TestInternalErrorsAreGeneric(t *testing.T) {
	e := newEnv(t)
	it := e.upload([]byte("x"), "name=x")
	e.db.Close()
	for _, rt := range []struct{ method, path, body string }{
		{"GET", "/api/v1/items", ""},
		{"GET", "/api/v1/items/" + it.ID, ""},
		{"POST", "/api/v1/items?name=a", "data"},
	} {
		r := e.do(rt.method, rt.path, e.admin, "application/octet-stream", strings.NewReader(rt.body))
		if r.status != 500 || r.errCode() != custody.EINTERNAL || r.errMessage() != "internal error" {
			t.Errorf("%s %s after closing the DB: status %d: %s", rt.method, rt.path, r.status, r.body)
		}
	}
	r := e.do("GET", "/healthz", "", "", nil)
	if r.status != 503 || r.header.Get("Retry-After") == "" {
		t.Errorf("healthz with a closed DB: %d %s", r.status, r.body)
	}
}

// TestLargeUpload streams 64 MiB through a pipe (chunked, no length).
func TestLargeUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("large upload")
	}
	e := newEnv(t)
	const size = 64 << 20
	pr, pw := io.Pipe()
	h := sha256.New()
	go func() {
		buf := make([]byte, 1<<20)
		var n int64
		for i := 0; n < size; i++ {
			for j := range buf {
				buf[j] = byte(i*7 + j)
			}
			h.Write(buf)
			if _, err := pw.Write(buf); err != nil {
				pw.CloseWithError(err)
				return
			}
			n += int64(len(buf))
		}
		pw.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/api/v1/items?name=big.bin", pr)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var it custody.Item
	json.Unmarshal(b, &it)
	if want := custody.RefFromDigest(h.Sum(nil)); it.Blob != want || it.Size != size {
		t.Errorf("item %s size %d, want %s size %d", it.Blob, it.Size, want, size)
	}
}

// TestTruncatedUpload: a client that gives up mid-body records nothing.
func TestTruncatedUpload(t *testing.T) {
	e := newEnv(t)
	before := e.logSize()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		pw.Write(bytes.Repeat([]byte("a"), 1<<16))
		time.Sleep(50 * time.Millisecond)
		cancel()
		pw.CloseWithError(io.ErrUnexpectedEOF)
	}()
	req, _ := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/api/v1/items?name=cut.bin", pr)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	req.ContentLength = 1 << 20
	if resp, err := e.srv.Client().Do(req); err == nil {
		resp.Body.Close()
	}
	time.Sleep(200 * time.Millisecond)
	if after := e.logSize(); after != before {
		t.Errorf("log grew from %d to %d after a truncated upload", before, after)
	}
}

// TestBearerSchemeCaseInsensitive: "bearer" and "BEARER" authenticate like
// "Bearer" (the scheme is case-insensitive, RFC 9110 11.1).
func TestBearerSchemeCaseInsensitive(t *testing.T) {
	e := newEnv(t)
	for _, scheme := range []string{"bearer", "BEARER", "Bearer"} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", scheme+" "+e.admin)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", scheme, resp.StatusCode)
		}
	}
}
