package upload

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custody-dev/custody"
)

const prefix = "/api/v1/uploads/"

// completion is one call of Complete, as the test saw it.
type completion struct {
	up      Upload
	content []byte
}

type fixture struct {
	t   *testing.T
	h   *Handler
	srv *httptest.Server
	dir string

	served chan string // the method of each request served, once served

	mu       sync.Mutex
	now      time.Time
	calls    []completion
	failNext error // Complete's next error
}

func newFixture(t *testing.T, maxSize int64) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: filepath.Join(t.TempDir(), "uploads"), now: time.Date(2022, 9, 16, 10, 4, 0, 0, time.UTC),
		served: make(chan string, 1000)}
	h, err := New(f.config(maxSize))
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	f.serve()
	return f
}

// serve starts a test server for f.h.
func (f *fixture) serve() {
	h := f.h
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		select {
		case f.served <- r.Method:
		default:
		}
	}))
	f.t.Cleanup(f.srv.Close)
}

func (f *fixture) config(maxSize int64) Config {
	return Config{
		Dir:     f.dir,
		Path:    prefix,
		MaxSize: maxSize,
		Expiry:  time.Hour,
		Owner: func(r *http.Request) (string, error) {
			u := r.Header.Get("X-Test-User")
			if u == "" {
				return "", custody.Errorf(custody.EUNAUTHORIZED, "who are you?")
			}
			return u, nil
		},
		Complete: func(ctx context.Context, up Upload, content *os.File) (any, error) {
			b, err := io.ReadAll(content)
			if err != nil {
				return nil, err
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			f.calls = append(f.calls, completion{up, b})
			if err := f.failNext; err != nil {
				f.failNext = nil
				return nil, err
			}
			return map[string]any{"item": "item-" + up.ID[:8], "name": up.Metadata["filename"], "bytes": len(b)}, nil
		},
		Now: func() time.Time {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.now
		},
	}
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func (f *fixture) completions() []completion {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]completion(nil), f.calls...)
}

// req sends a request as user with the tus header set (unless hdr sets it);
// hdr is "Name: value" lines.
func (f *fixture) req(method, path, user string, body io.Reader, hdr ...string) *http.Response {
	f.t.Helper()
	r, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	r.Header.Set("Tus-Resumable", Version)
	if user != "" {
		r.Header.Set("X-Test-User", user)
	}
	for _, h := range hdr {
		k, v, _ := strings.Cut(h, ": ")
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	if b, ok := body.(*bytes.Reader); ok {
		r.ContentLength = int64(b.Len())
	}
	resp, err := f.srv.Client().Do(r)
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func (f *fixture) create(user string, length int, md map[string]string) string {
	f.t.Helper()
	resp := f.req("POST", prefix, user, nil, "Upload-Length: "+strconv.Itoa(length), "Upload-Metadata: "+EncodeMetadata(md))
	if resp.StatusCode != http.StatusCreated {
		f.t.Fatalf("create: %s", resp.Status)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, prefix) || !validID(strings.TrimPrefix(loc, prefix)) {
		f.t.Fatalf("Location %q", loc)
	}
	return loc
}

func (f *fixture) patch(loc, user string, offset int, chunk []byte, hdr ...string) *http.Response {
	f.t.Helper()
	return f.req("PATCH", loc, user, bytes.NewReader(chunk),
		append([]string{"Content-Type: " + contentType, "Upload-Offset: " + strconv.Itoa(offset)}, hdr...)...)
}

func (f *fixture) offset(loc, user string) int {
	f.t.Helper()
	resp := f.req("HEAD", loc, user, nil)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("HEAD: %s", resp.Status)
	}
	n, err := strconv.Atoi(resp.Header.Get("Upload-Offset"))
	if err != nil {
		f.t.Fatalf("HEAD Upload-Offset: %v", err)
	}
	return n
}

func content(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func wantStatus(t *testing.T, what string, resp *http.Response, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: %s, want %d", what, resp.Status, status)
	}
	if resp.Header.Get("Tus-Resumable") != Version {
		t.Errorf("%s: no Tus-Resumable in the response", what)
	}
}

func TestOptions(t *testing.T) {
	f := newFixture(t, 1<<30)
	resp := f.req("OPTIONS", prefix, "", nil, "Tus-Resumable: ") // discovery needs neither
	wantStatus(t, "OPTIONS", resp, http.StatusNoContent)
	for k, v := range map[string]string{
		"Tus-Version": "1.0.0", "Tus-Max-Size": "1073741824", "Tus-Checksum-Algorithm": "sha256",
		"Tus-Extension": "creation,creation-with-upload,termination,expiration,checksum",
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}

func TestUploadInChunks(t *testing.T) {
	f := newFixture(t, 1<<30)
	data := content(1<<20+12345, 1)
	md := map[string]string{"filename": "VID_0013 Ізюм.mp4", "filetype": "video/mp4", "case": "12022220000000123",
		"collector": "Mobile group 7", "lat": "49.1947", "lon": "37.2816"}
	loc := f.create("ok", len(data), md)

	resp := f.req("HEAD", loc, "ok", nil)
	wantStatus(t, "HEAD", resp, http.StatusOK)
	if resp.Header.Get("Upload-Offset") != "0" || resp.Header.Get("Upload-Length") != strconv.Itoa(len(data)) ||
		resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Upload-SHA256") != "" {
		t.Errorf("HEAD headers %v", resp.Header)
	}
	if got, err := ParseMetadata(resp.Header.Get("Upload-Metadata")); err != nil || !reflect.DeepEqual(got, md) {
		t.Errorf("HEAD Upload-Metadata = %v, %v", got, err)
	}
	if exp, err := http.ParseTime(resp.Header.Get("Upload-Expires")); err != nil || !exp.Equal(f.now.Add(time.Hour)) {
		t.Errorf("Upload-Expires %q", resp.Header.Get("Upload-Expires"))
	}

	cuts := []int{0, 300_000, 700_000, 1_000_000, len(data)}
	for i := 0; i+1 < len(cuts); i++ {
		resp := f.patch(loc, "ok", cuts[i], data[cuts[i]:cuts[i+1]])
		wantStatus(t, fmt.Sprintf("PATCH %d", i), resp, http.StatusNoContent)
		if got := resp.Header.Get("Upload-Offset"); got != strconv.Itoa(cuts[i+1]) {
			t.Fatalf("PATCH %d: Upload-Offset %s, want %d", i, got, cuts[i+1])
		}
		last := i+2 == len(cuts)
		if last != (resp.Header.Get("Upload-SHA256") != "") {
			t.Errorf("PATCH %d: Upload-SHA256 %q", i, resp.Header.Get("Upload-SHA256"))
		}
		if !last {
			if got := f.offset(loc, "ok"); got != cuts[i+1] {
				t.Fatalf("HEAD after PATCH %d: offset %d", i, got)
			}
			if n := len(f.completions()); n != 0 {
				t.Fatalf("Complete called before the last byte")
			}
			continue
		}
		if got := resp.Header.Get("Upload-SHA256"); got != sha(data) {
			t.Errorf("Upload-SHA256 %s, want %s", got, sha(data))
		}
		var result struct {
			Item, Name string
			Bytes      int
		}
		if err := json.Unmarshal([]byte(resp.Header.Get("Upload-Result")), &result); err != nil ||
			result.Name != md["filename"] || result.Bytes != len(data) || !strings.HasPrefix(result.Item, "item-") {
			t.Errorf("Upload-Result %q: %+v, %v", resp.Header.Get("Upload-Result"), result, err)
		}
		for _, c := range resp.Header.Get("Upload-Result") {
			if c >= 0x80 {
				t.Fatalf("non-ASCII in Upload-Result")
			}
		}
	}
	calls := f.completions()
	if len(calls) != 1 {
		t.Fatalf("Complete called %d times", len(calls))
	}
	c := calls[0]
	if !bytes.Equal(c.content, data) {
		t.Error("Complete got other bytes")
	}
	if c.up.ID != strings.TrimPrefix(loc, prefix) || c.up.Owner != "ok" || c.up.Length != int64(len(data)) ||
		c.up.Offset != int64(len(data)) || c.up.SHA256 != sha(data) || !reflect.DeepEqual(c.up.Metadata, md) {
		t.Errorf("Complete got %+v", c.up)
	}
	// The data is gone; the record of the finished upload stays, and HEAD
	// gives its result to a client that lost the last response.
	if _, err := os.Stat(f.h.dataPath(c.up.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data kept after Complete: %v", err)
	}
	resp = f.req("HEAD", loc, "ok", nil)
	wantStatus(t, "HEAD after the end", resp, http.StatusOK)
	if resp.Header.Get("Upload-Offset") != strconv.Itoa(len(data)) || resp.Header.Get("Upload-SHA256") != sha(data) ||
		!strings.Contains(resp.Header.Get("Upload-Result"), `"item":"item-`) || resp.Header.Get("Upload-Expires") != "" {
		t.Errorf("HEAD after the end: %v", resp.Header)
	}
	// Repeating the last PATCH (its response was lost) does not call Complete again.
	resp = f.patch(loc, "ok", len(data), nil)
	wantStatus(t, "repeated final PATCH", resp, http.StatusNoContent)
	if resp.Header.Get("Upload-Result") == "" || len(f.completions()) != 1 {
		t.Errorf("repeated final PATCH: %v, %d calls", resp.Header, len(f.completions()))
	}
	// But sending more is refused.
	wantStatus(t, "PATCH past the end", f.patch(loc, "ok", len(data), []byte("x")), http.StatusRequestEntityTooLarge)
}

// rawPatch sends a PATCH over a raw connection, announcing the whole rest
// of data but sending only send bytes of it, then closing the connection;
// it returns once the server has handled the request.
func rawPatch(t *testing.T, f *fixture, loc string, offset int, rest []byte, send int, hdr ...string) {
	t.Helper()
	for len(f.served) > 0 {
		<-f.served
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "PATCH %s HTTP/1.1\r\nHost: test\r\nTus-Resumable: 1.0.0\r\nX-Test-User: ok\r\n", loc)
	fmt.Fprintf(w, "Content-Type: %s\r\nUpload-Offset: %d\r\nContent-Length: %d\r\n", contentType, offset, len(rest))
	for _, h := range hdr {
		fmt.Fprintf(w, "%s\r\n", h)
	}
	fmt.Fprintf(w, "\r\n")
	w.Write(rest[:send])
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// Let the server read what was sent before the connection drops (it
	// gets it all either way, but then it sees the cut mid-read).
	time.Sleep(20 * time.Millisecond)
	conn.Close()
	select {
	case m := <-f.served:
		if m != "PATCH" {
			t.Fatalf("served %s", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the cut PATCH was not handled")
	}
}

func TestInterruptedPatch(t *testing.T) {
	f := newFixture(t, 1<<30)
	data := content(3<<20, 2)
	loc := f.create("ok", len(data), map[string]string{"filename": "a.mp4"})
	wantStatus(t, "PATCH 1", f.patch(loc, "ok", 0, data[:1<<20]), http.StatusNoContent)

	// The client sends half of the next chunk, then the link drops.
	half := 1<<20 + 700_001
	rawPatch(t, f, loc, 1<<20, data[1<<20:], half-1<<20)

	// The offset covers exactly what arrived, and it is on disk.
	got := f.offset(loc, "ok")
	if got != half {
		t.Fatalf("offset after the cut %d, want %d", got, half)
	}
	onDisk, err := os.ReadFile(f.h.dataPath(strings.TrimPrefix(loc, prefix)))
	if err != nil || !bytes.Equal(onDisk, data[:half]) {
		t.Fatalf("data on disk: %d bytes, %v", len(onDisk), err)
	}
	if len(f.completions()) != 0 {
		t.Fatal("Complete called for an unfinished upload")
	}

	// Resuming from HEAD's offset finishes the upload.
	resp := f.patch(loc, "ok", got, data[got:])
	wantStatus(t, "resume", resp, http.StatusNoContent)
	if resp.Header.Get("Upload-SHA256") != sha(data) {
		t.Errorf("hash after resume %s, want %s", resp.Header.Get("Upload-SHA256"), sha(data))
	}
	calls := f.completions()
	if len(calls) != 1 || !bytes.Equal(calls[0].content, data) {
		t.Fatalf("Complete: %d calls", len(calls))
	}
}

func TestInterruptedPatchWithChecksum(t *testing.T) {
	f := newFixture(t, 1<<30)
	data := content(500_000, 3)
	loc := f.create("ok", len(data), nil)
	sum := sha256.Sum256(data)
	rawPatch(t, f, loc, 0, data, 200_000, "Upload-Checksum: sha256 "+base64.StdEncoding.EncodeToString(sum[:]))
	// A chunk that cannot be checked is dropped whole.
	if got := f.offset(loc, "ok"); got != 0 {
		t.Fatalf("offset %d after a cut chunk with a checksum, want 0", got)
	}
	resp := f.patch(loc, "ok", 0, data, "Upload-Checksum: sha256 "+base64.StdEncoding.EncodeToString(sum[:]))
	wantStatus(t, "PATCH with checksum", resp, http.StatusNoContent)
	if resp.Header.Get("Upload-SHA256") != sha(data) {
		t.Error("wrong hash")
	}
}

func TestChecksum(t *testing.T) {
	f := newFixture(t, 1<<30)
	data := content(100_000, 4)
	loc := f.create("ok", len(data), nil)
	sum := func(b []byte) string { s := sha256.Sum256(b); return base64.StdEncoding.EncodeToString(s[:]) }
	wantStatus(t, "good checksum", f.patch(loc, "ok", 0, data[:40_000], "Upload-Checksum: sha256 "+sum(data[:40_000])), http.StatusNoContent)
	wantStatus(t, "bad checksum", f.patch(loc, "ok", 40_000, data[40_000:], "Upload-Checksum: sha256 "+sum(data[:40_000])), 460)
	if got := f.offset(loc, "ok"); got != 40_000 {
		t.Fatalf("offset %d after a bad checksum, want 40000", got)
	}
	wantStatus(t, "md5", f.patch(loc, "ok", 40_000, data[40_000:], "Upload-Checksum: md5 "+sum(nil)[:24]), http.StatusBadRequest)
	wantStatus(t, "not base64", f.patch(loc, "ok", 40_000, data[40_000:], "Upload-Checksum: sha256 !!!"), http.StatusBadRequest)
	wantStatus(t, "the rest", f.patch(loc, "ok", 40_000, data[40_000:], "Upload-Checksum: sha256 "+sum(data[40_000:])), http.StatusNoContent)
	if c := f.completions(); len(c) != 1 || !bytes.Equal(c[0].content, data) {
		t.Fatal("Complete got other bytes")
	}
}

func TestOffsetMismatch(t *testing.T) {
	f := newFixture(t, 1<<30)
	data := content(1000, 5)
	loc := f.create("ok", len(data), nil)
	wantStatus(t, "PATCH", f.patch(loc, "ok", 0, data[:400]), http.StatusNoContent)
	for _, off := range []int{0, 399, 401, 1000} {
		resp := f.patch(loc, "ok", off, data[off:min(off+100, 1000)])
		wantStatus(t, fmt.Sprintf("PATCH at %d", off), resp, http.StatusConflict)
		if resp.Header.Get("Upload-Offset") != "400" {
			t.Errorf("409 names offset %q, want 400", resp.Header.Get("Upload-Offset"))
		}
	}
	for _, bad := range []string{"-1", "abc", "", "1e3", "99999999999999999999"} {
		wantStatus(t, "Upload-Offset "+bad, f.req("PATCH", loc, "ok", bytes.NewReader(nil), "Content-Type: "+contentType, "Upload-Offset: "+bad), http.StatusBadRequest)
	}
	if got := f.offset(loc, "ok"); got != 400 {
		t.Fatalf("offset %d, want 400", got)
	}
}

func TestOtherOwner(t *testing.T) {
	f := newFixture(t, 1<<30)
	data := content(1000, 6)
	loc := f.create("alice", len(data), nil)
	wantStatus(t, "PATCH", f.patch(loc, "alice", 0, data[:500]), http.StatusNoContent)
	wantStatus(t, "HEAD by bob", f.req("HEAD", loc, "bob", nil), http.StatusNotFound)
	wantStatus(t, "PATCH by bob", f.patch(loc, "bob", 500, data[500:]), http.StatusNotFound)
	wantStatus(t, "DELETE by bob", f.req("DELETE", loc, "bob", nil), http.StatusNotFound)
	wantStatus(t, "HEAD by nobody", f.req("HEAD", loc, "", nil), http.StatusUnauthorized)
	wantStatus(t, "POST by nobody", f.req("POST", prefix, "", nil, "Upload-Length: 10"), http.StatusUnauthorized)
	if got := f.offset(loc, "alice"); got != 500 {
		t.Fatalf("offset %d after bob's attempts", got)
	}
	wantStatus(t, "PATCH by alice", f.patch(loc, "alice", 500, data[500:]), http.StatusNoContent)
}

func TestTooLarge(t *testing.T) {
	f := newFixture(t, 10_000)
	wantStatus(t, "over MaxSize", f.req("POST", prefix, "ok", nil, "Upload-Length: 10001"), http.StatusRequestEntityTooLarge)
	loc := f.create("ok", 1000, nil)
	data := content(1200, 7)
	// Announced too long.
	wantStatus(t, "Content-Length past the end", f.patch(loc, "ok", 0, data), http.StatusRequestEntityTooLarge)
	// Chunked, so only found out while reading: nothing is kept.
	resp := f.req("PATCH", loc, "ok", io.MultiReader(bytes.NewReader(data)), "Content-Type: "+contentType, "Upload-Offset: 0")
	wantStatus(t, "chunked body past the end", resp, http.StatusRequestEntityTooLarge)
	if got := f.offset(loc, "ok"); got != 0 {
		t.Fatalf("offset %d after a refused body", got)
	}
	if fi, err := os.Stat(f.h.dataPath(strings.TrimPrefix(loc, prefix))); err != nil || fi.Size() != 0 {
		t.Fatalf("data file after a refused body: %v, %v", fi, err)
	}
	// Chunked and exactly right.
	resp = f.req("PATCH", loc, "ok", io.MultiReader(bytes.NewReader(data[:1000])), "Content-Type: "+contentType, "Upload-Offset: 0")
	wantStatus(t, "chunked body", resp, http.StatusNoContent)
	if c := f.completions(); len(c) != 1 || !bytes.Equal(c[0].content, data[:1000]) {
		t.Fatal("Complete got other bytes")
	}
}

func TestTusResumable(t *testing.T) {
	f := newFixture(t, 1<<30)
	loc := f.create("ok", 10, nil)
	for _, v := range []string{"", "0.2.2", "1.0"} {
		for _, m := range []string{"POST", "HEAD", "PATCH", "DELETE"} {
			path := loc
			if m == "POST" {
				path = prefix
			}
			resp := f.req(m, path, "ok", bytes.NewReader(nil), "Tus-Resumable: "+v, "Upload-Length: 10", "Content-Type: "+contentType, "Upload-Offset: 0")
			wantStatus(t, m+" with Tus-Resumable "+v, resp, http.StatusPreconditionFailed)
			if resp.Header.Get("Tus-Version") != "1.0.0" {
				t.Errorf("412 without Tus-Version")
			}
		}
	}
	if got := f.offset(loc, "ok"); got != 0 {
		t.Fatal("upload changed")
	}
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t, 1<<30)
	for name, hdr := range map[string][]string{
		"no Upload-Length":    nil,
		"Upload-Length 0":     {"Upload-Length: 0"},
		"negative length":     {"Upload-Length: -5"},
		"deferred length":     {"Upload-Defer-Length: 1"},
		"bad metadata":        {"Upload-Length: 10", "Upload-Metadata: filename !!!"},
		"duplicate metadata":  {"Upload-Length: 10", "Upload-Metadata: a YQ==,a Yg=="},
		"bad key in metadata": {"Upload-Length: 10", "Upload-Metadata: ключ YQ=="},
	} {
		wantStatus(t, name, f.req("POST", prefix, "ok", nil, hdr...), http.StatusBadRequest)
	}
	loc := f.create("ok", 10, nil)
	wantStatus(t, "PATCH without Content-Type", f.req("PATCH", loc, "ok", bytes.NewReader([]byte("abc")), "Upload-Offset: 0"), http.StatusUnsupportedMediaType)
	wantStatus(t, "PATCH as JSON", f.req("PATCH", loc, "ok", bytes.NewReader([]byte("abc")), "Upload-Offset: 0", "Content-Type: application/json"), http.StatusUnsupportedMediaType)
	wantStatus(t, "GET", f.req("GET", loc, "ok", nil), http.StatusMethodNotAllowed)
	wantStatus(t, "PUT", f.req("PUT", prefix, "ok", nil), http.StatusMethodNotAllowed)
	// The error body is the API's.
	resp, err := f.srv.Client().Do(func() *http.Request {
		r, _ := http.NewRequest("POST", f.srv.URL+prefix, nil)
		r.Header.Set("Tus-Resumable", Version)
		r.Header.Set("X-Test-User", "ok")
		r.Header.Set("Upload-Length", "x")
		return r
	}())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct{ Code, Message string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error.Code != "invalid" || !strings.Contains(body.Error.Message, "Upload-Length") {
		t.Errorf("error body %+v, %v", body, err)
	}
}

func TestIDs(t *testing.T) {
	f := newFixture(t, 1<<30)
	seen := map[string]bool{}
	for range 50 {
		id := strings.TrimPrefix(f.create("ok", 10, nil), prefix)
		if len(id) != 32 || seen[id] {
			t.Fatalf("ID %q", id)
		}
		seen[id] = true
	}
	// Nothing but an ID reaches a file.
	secret := filepath.Join(filepath.Dir(f.dir), "secret.json")
	os.WriteFile(secret, []byte(`{"id":"../secret","owner":"ok","length":10}`), 0o600)
	for _, p := range []string{"../secret", "..%2Fsecret", "%2e%2e%2fsecret", "..", ".", "x", strings.Repeat("A", 32), strings.Repeat("0", 31) + "/",
		strings.Repeat("0", 33), strings.Repeat("0", 32) + "/..", "../" + strings.Repeat("0", 32)} {
		resp := f.req("HEAD", prefix+p, "ok", nil)
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMovedPermanently {
			t.Errorf("HEAD %s: %s", p, resp.Status)
		}
	}
	for _, id := range []string{"", "0123456789abcdef0123456789abcdeF", "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcde/", "../../../../etc/passwd0000000000"} {
		if validID(id) {
			t.Errorf("validID(%q)", id)
		}
	}
}

func TestTermination(t *testing.T) {
	f := newFixture(t, 1<<30)
	loc := f.create("ok", 1000, nil)
	wantStatus(t, "PATCH", f.patch(loc, "ok", 0, content(500, 8)), http.StatusNoContent)
	wantStatus(t, "DELETE", f.req("DELETE", loc, "ok", nil), http.StatusNoContent)
	wantStatus(t, "HEAD after DELETE", f.req("HEAD", loc, "ok", nil), http.StatusNotFound)
	wantStatus(t, "PATCH after DELETE", f.patch(loc, "ok", 500, content(500, 8)), http.StatusNotFound)
	if entries, _ := os.ReadDir(f.dir); len(entries) != 0 {
		t.Errorf("files left: %v", entries)
	}
	// X-HTTP-Method-Override, for clients that can only POST.
	loc = f.create("ok", 1000, nil)
	wantStatus(t, "POST as DELETE", f.req("POST", loc, "ok", nil, "X-HTTP-Method-Override: DELETE"), http.StatusNoContent)
	wantStatus(t, "HEAD after POST as DELETE", f.req("HEAD", loc, "ok", nil), http.StatusNotFound)
	// ... but only from POST.
	loc = f.create("ok", 1000, nil)
	wantStatus(t, "GET as DELETE", f.req("GET", loc, "ok", nil, "X-HTTP-Method-Override: DELETE"), http.StatusMethodNotAllowed)
	wantStatus(t, "HEAD", f.req("HEAD", loc, "ok", nil), http.StatusOK)
}

func TestExpiry(t *testing.T) {
	f := newFixture(t, 1<<30)
	old := f.create("ok", 1000, nil)
	wantStatus(t, "PATCH", f.patch(old, "ok", 0, content(100, 9)), http.StatusNoContent)
	done := f.create("ok", 10, nil)
	wantStatus(t, "PATCH", f.patch(done, "ok", 0, content(10, 9)), http.StatusNoContent)
	f.advance(40 * time.Minute)
	active := f.create("ok", 1000, nil)
	// Activity extends an upload's life.
	f.advance(10 * time.Minute)
	wantStatus(t, "PATCH", f.patch(active, "ok", 0, content(100, 9)), http.StatusNoContent)
	resp := f.req("HEAD", active, "ok", nil)
	if exp, _ := http.ParseTime(resp.Header.Get("Upload-Expires")); !exp.Equal(f.now.Add(time.Hour)) {
		t.Errorf("Upload-Expires %v, want %v", exp, f.now.Add(time.Hour))
	}
	// A stray data file (a crash during creation), and a leftover temporary.
	stray := strings.Repeat("ab", 16)
	os.WriteFile(f.h.dataPath(stray), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(f.dir, "notes.txt"), []byte("not ours"), 0o600)

	f.advance(15 * time.Minute) // old and done are 65 minutes idle, active 15
	wantStatus(t, "HEAD of an expired upload", f.req("HEAD", old, "ok", nil), http.StatusGone)
	wantStatus(t, "PATCH of an expired upload", f.patch(old, "ok", 100, content(10, 1)), http.StatusGone)
	wantStatus(t, "HEAD of a live upload", f.req("HEAD", active, "ok", nil), http.StatusOK)

	n, err := f.h.Clean(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("Clean = %d, %v; want 2", n, err)
	}
	wantStatus(t, "HEAD after Clean", f.req("HEAD", old, "ok", nil), http.StatusNotFound)
	wantStatus(t, "HEAD of the finished upload after Clean", f.req("HEAD", done, "ok", nil), http.StatusNotFound)
	wantStatus(t, "HEAD of a live upload after Clean", f.req("HEAD", active, "ok", nil), http.StatusOK)
	if _, err := os.Stat(f.h.dataPath(stray)); err != nil {
		t.Errorf("young stray file removed: %v", err)
	}
	// Files' times are the real clock's: move the test clock past them.
	f.mu.Lock()
	f.now = time.Now().Add(2 * time.Hour)
	f.mu.Unlock()
	if n, err := f.h.Clean(context.Background()); err != nil || n != 2 { // stray and active
		t.Fatalf("second Clean = %d, %v; want 2", n, err)
	}
	entries, _ := os.ReadDir(f.dir)
	if len(entries) != 1 || entries[0].Name() != "notes.txt" {
		t.Errorf("left after Clean: %v", entries)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.create("ok", 10, nil)
	if _, err := f.h.Clean(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Clean with a cancelled context: %v", err)
	}
}

// slowBody is a request body that the test feeds by hand.
type slowBody struct {
	r *io.PipeReader
	w *io.PipeWriter
}

func newSlowBody() *slowBody {
	r, w := io.Pipe()
	return &slowBody{r, w}
}

func TestConcurrentPatch(t *testing.T) {
	f := newFixture(t, 1<<30)
	data := content(200_000, 10)
	loc := f.create("ok", len(data), nil)
	f.h.checkpoint = 50_000 // make progress durable within the PATCH

	body := newSlowBody()
	first := make(chan *http.Response, 1)
	go func() {
		r, _ := http.NewRequest("PATCH", f.srv.URL+loc, body.r)
		r.Header.Set("Tus-Resumable", Version)
		r.Header.Set("X-Test-User", "ok")
		r.Header.Set("Content-Type", contentType)
		r.Header.Set("Upload-Offset", "0")
		resp, err := f.srv.Client().Do(r)
		if err != nil {
			t.Error(err)
			first <- nil
			return
		}
		resp.Body.Close()
		first <- resp
	}()
	body.w.Write(data[:120_000])
	// The first PATCH holds the upload: others wait their turn.
	id := strings.TrimPrefix(loc, prefix)
	for f.h.lock(id) {
		f.h.unlock(id)
		time.Sleep(time.Millisecond)
	}
	wantStatus(t, "second PATCH", f.patch(loc, "ok", 0, data), http.StatusLocked)
	wantStatus(t, "DELETE meanwhile", f.req("DELETE", loc, "ok", nil), http.StatusLocked)
	wantStatus(t, "bob's PATCH meanwhile", f.patch(loc, "bob", 0, data), http.StatusNotFound)
	// Progress is durable, and visible, before the PATCH ends.
	deadline := time.Now().Add(5 * time.Second)
	for f.offset(loc, "ok") < 100_000 {
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint: offset %d", f.offset(loc, "ok"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	body.w.Write(data[120_000:])
	body.w.Close()
	resp := <-first
	if resp == nil {
		t.FailNow()
	}
	wantStatus(t, "first PATCH", resp, http.StatusNoContent)
	if c := f.completions(); len(c) != 1 || !bytes.Equal(c[0].content, data) || c[0].up.SHA256 != sha(data) {
		t.Fatal("Complete got other bytes")
	}
}

// TestOverflowAfterCheckpoint checks that a body found too long after a
// checkpoint keeps what was checkpointed, on disk and in the state alike.
func TestOverflowAfterCheckpoint(t *testing.T) {
	f := newFixture(t, 1<<30)
	data := content(150_000, 15)
	loc := f.create("ok", 100_000, nil)
	f.h.checkpoint = 50_000
	body := newSlowBody()
	done := make(chan int, 1)
	go func() {
		r, _ := http.NewRequest("PATCH", f.srv.URL+loc, body.r)
		r.Header.Set("Tus-Resumable", Version)
		r.Header.Set("X-Test-User", "ok")
		r.Header.Set("Content-Type", contentType)
		r.Header.Set("Upload-Offset", "0")
		resp, err := f.srv.Client().Do(r)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	body.w.Write(data[:60_000])
	for deadline := time.Now().Add(5 * time.Second); f.offset(loc, "ok") < 50_000; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint")
		}
	}
	go func() { body.w.Write(data[60_000:]); body.w.Close() }()
	if status := <-done; status != http.StatusRequestEntityTooLarge {
		t.Fatalf("PATCH past the end: %d", status)
	}
	off := f.offset(loc, "ok")
	onDisk, err := os.ReadFile(f.h.dataPath(strings.TrimPrefix(loc, prefix)))
	if err != nil || off < 50_000 || len(onDisk) != off || !bytes.Equal(onDisk, data[:off]) {
		t.Fatalf("offset %d, %d bytes on disk, %v", off, len(onDisk), err)
	}
	resp := f.patch(loc, "ok", off, data[off:100_000])
	wantStatus(t, "the rest", resp, http.StatusNoContent)
	if resp.Header.Get("Upload-SHA256") != sha(data[:100_000]) {
		t.Error("wrong hash")
	}
}

// TestManyConcurrentPatches races PATCHes at one upload: each either
// lands or is refused, and the result is the file.
func TestManyConcurrentPatches(t *testing.T) {
	f := newFixture(t, 1<<30)
	data := content(64_000, 11)
	loc := f.create("ok", len(data), nil)
	const chunk = 4000
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				r, _ := http.NewRequest("HEAD", f.srv.URL+loc, nil)
				r.Header.Set("Tus-Resumable", Version)
				r.Header.Set("X-Test-User", "ok")
				resp, err := f.srv.Client().Do(r)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				off, _ := strconv.Atoi(resp.Header.Get("Upload-Offset"))
				if off >= len(data) {
					return
				}
				end := min(off+chunk, len(data))
				r, _ = http.NewRequest("PATCH", f.srv.URL+loc, bytes.NewReader(data[off:end]))
				r.Header.Set("Tus-Resumable", Version)
				r.Header.Set("X-Test-User", "ok")
				r.Header.Set("Content-Type", contentType)
				r.Header.Set("Upload-Offset", strconv.Itoa(off))
				resp, err = f.srv.Client().Do(r)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusNoContent, http.StatusConflict, http.StatusLocked:
				default:
					t.Errorf("PATCH: %s", resp.Status)
				}
			}
		}()
	}
	wg.Wait()
	c := f.completions()
	if len(c) != 1 || !bytes.Equal(c[0].content, data) {
		t.Fatalf("Complete called %d times", len(c))
	}
}

func TestCompleteFails(t *testing.T) {
	f := newFixture(t, 1<<30)
	data := content(5000, 12)
	loc := f.create("ok", len(data), map[string]string{"filename": "x.jpg"})
	f.failNext = custody.Errorf(custody.EUNAVAILABLE, "the database is busy")
	resp := f.patch(loc, "ok", 0, data)
	wantStatus(t, "PATCH when Complete fails", resp, http.StatusServiceUnavailable)
	// All bytes are in and hashed, but the upload is not finished.
	resp = f.req("HEAD", loc, "ok", nil)
	if resp.Header.Get("Upload-Offset") != "5000" || resp.Header.Get("Upload-SHA256") != sha(data) || resp.Header.Get("Upload-Result") != "" {
		t.Errorf("HEAD after a failed Complete: %v", resp.Header)
	}
	// An internal error is not shown.
	f.failNext = errors.New("pq: connection refused at 10.0.0.7")
	resp2, err := http.DefaultClient.Do(func() *http.Request {
		r, _ := http.NewRequest("PATCH", f.srv.URL+loc, nil)
		r.Header.Set("Tus-Resumable", Version)
		r.Header.Set("X-Test-User", "ok")
		r.Header.Set("Content-Type", contentType)
		r.Header.Set("Upload-Offset", "5000")
		return r
	}())
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusInternalServerError || bytes.Contains(msg, []byte("10.0.0.7")) {
		t.Errorf("internal error: %s %s", resp2.Status, msg)
	}
	// The retry: an empty PATCH at the end.
	resp = f.patch(loc, "ok", 5000, nil)
	wantStatus(t, "retry", resp, http.StatusNoContent)
	if !strings.Contains(resp.Header.Get("Upload-Result"), `"name":"x.jpg"`) {
		t.Errorf("Upload-Result %q", resp.Header.Get("Upload-Result"))
	}
	c := f.completions()
	if len(c) != 3 {
		t.Fatalf("Complete called %d times, want 3 (two failures, one success)", len(c))
	}
	for _, x := range c {
		if !bytes.Equal(x.content, data) {
			t.Fatal("Complete got other bytes")
		}
	}
}

func TestCreationWithUpload(t *testing.T) {
	f := newFixture(t, 1<<30)
	data := content(3000, 13)
	md := EncodeMetadata(map[string]string{"filename": "a.wav"})
	resp := f.req("POST", prefix, "ok", bytes.NewReader(data[:1000]), "Upload-Length: 3000", "Upload-Metadata: "+md, "Content-Type: "+contentType)
	wantStatus(t, "POST with a body", resp, http.StatusCreated)
	loc := resp.Header.Get("Location")
	if resp.Header.Get("Upload-Offset") != "1000" || f.offset(loc, "ok") != 1000 {
		t.Fatalf("POST with a body: offset %q", resp.Header.Get("Upload-Offset"))
	}
	wantStatus(t, "PATCH", f.patch(loc, "ok", 1000, data[1000:]), http.StatusNoContent)

	// The whole file in the POST.
	resp = f.req("POST", prefix, "ok", bytes.NewReader(data), "Upload-Length: 3000", "Content-Type: "+contentType)
	wantStatus(t, "POST with the whole file", resp, http.StatusCreated)
	if resp.Header.Get("Upload-SHA256") != sha(data) || resp.Header.Get("Upload-Result") == "" || resp.Header.Get("Location") == "" {
		t.Errorf("POST with the whole file: %v", resp.Header)
	}
	if c := f.completions(); len(c) != 2 || !bytes.Equal(c[0].content, data) || !bytes.Equal(c[1].content, data) {
		t.Fatal("Complete got other bytes")
	}
}

// TestRestart checks that an upload survives the handler: a new Handler on
// the same Dir resumes it, hash included, and that bytes written past the
// recorded offset (a crash between writing and recording) are cut off.
func TestRestart(t *testing.T) {
	f := newFixture(t, 1<<30)
	data := content(100_000, 14)
	loc := f.create("ok", len(data), nil)
	wantStatus(t, "PATCH", f.patch(loc, "ok", 0, data[:30_000]), http.StatusNoContent)

	// Crash debris: bytes that were written but never recorded.
	fh, err := os.OpenFile(f.h.dataPath(strings.TrimPrefix(loc, prefix)), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	fh.Write([]byte("garbage that was never acknowledged"))
	fh.Close()

	h2, err := New(f.config(1 << 30))
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Close()
	f.h = h2
	f.serve()
	if got := f.offset(loc, "ok"); got != 30_000 {
		t.Fatalf("offset after restart %d", got)
	}
	resp := f.patch(loc, "ok", 30_000, data[30_000:])
	wantStatus(t, "PATCH after restart", resp, http.StatusNoContent)
	if resp.Header.Get("Upload-SHA256") != sha(data) {
		t.Errorf("hash after restart %s, want %s", resp.Header.Get("Upload-SHA256"), sha(data))
	}
	if c := f.completions(); len(c) != 1 || !bytes.Equal(c[0].content, data) {
		t.Fatal("Complete got other bytes")
	}
}

// TestLostHashState checks that an upload whose saved SHA-256 state cannot
// be read back (another Go, a hand-edited file) is hashed again from disk.
func TestLostHashState(t *testing.T) {
	f := newFixture(t, 1<<30)
	data := content(70_000, 16)
	loc := f.create("ok", len(data), nil)
	wantStatus(t, "PATCH", f.patch(loc, "ok", 0, data[:30_000]), http.StatusNoContent)
	id := strings.TrimPrefix(loc, prefix)
	st, err := f.h.read(id)
	if err != nil {
		t.Fatal(err)
	}
	st.Hash = []byte("not a sha256 state")
	if err := f.h.save(st); err != nil {
		t.Fatal(err)
	}
	resp := f.patch(loc, "ok", 30_000, data[30_000:])
	wantStatus(t, "PATCH", resp, http.StatusNoContent)
	if resp.Header.Get("Upload-SHA256") != sha(data) {
		t.Error("wrong hash")
	}
}

func TestNew(t *testing.T) {
	ok := Config{Dir: t.TempDir(), Path: "/u/", MaxSize: 1,
		Owner:    func(*http.Request) (string, error) { return "x", nil },
		Complete: func(context.Context, Upload, *os.File) (any, error) { return nil, nil }}
	if _, err := New(ok); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Config){
		"no dir":        func(c *Config) { c.Dir = "" },
		"relative path": func(c *Config) { c.Path = "u/" },
		"no slash":      func(c *Config) { c.Path = "/u" },
		"no max":        func(c *Config) { c.MaxSize = 0 },
		"no owner":      func(c *Config) { c.Owner = nil },
		"no complete":   func(c *Config) { c.Complete = nil },
		"neg expiry":    func(c *Config) { c.Expiry = -1 },
	} {
		c := ok
		mut(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCollectionWithoutSlash(t *testing.T) {
	f := newFixture(t, 1<<30)
	resp := f.req("POST", strings.TrimSuffix(prefix, "/"), "ok", nil, "Upload-Length: 5")
	wantStatus(t, "POST without the slash", resp, http.StatusCreated)
	wantStatus(t, "elsewhere", f.req("POST", "/api/v1/other/", "ok", nil, "Upload-Length: 5"), http.StatusNotFound)
}

func TestASCIIJSON(t *testing.T) {
	b, _ := json.Marshal(map[string]string{"name": "Ізюм 🎥 \"q\" <x>"})
	s := asciiJSON(b)
	for _, c := range s {
		if c >= 0x80 || c < 0x20 {
			t.Fatalf("%q not ASCII", s)
		}
	}
	var back map[string]string
	if err := json.Unmarshal([]byte(s), &back); err != nil || back["name"] != "Ізюм 🎥 \"q\" <x>" {
		t.Errorf("round trip: %v, %v", back, err)
	}
}
