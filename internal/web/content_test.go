package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Previews of audio and video seek with byte ranges: the content route
// answers them (206, Content-Range), logs one access event per viewing,
// not one per range, and still refuses a blob changed on disk.
func TestContentRanges(t *testing.T) {
	e := newEnv(t)
	data := make([]byte, 300_000)
	rand.Read(data)
	it := e.intake(t, "VID_0013.mp4", data)
	c := e.signedIn("o.kovalenko", investigatorPass)
	events := func() int {
		t.Helper()
		evs, err := e.svc.History(context.Background(), e.inv, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	get := func(rng string) *response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/items/"+it.ID+"/content", nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		return c.do(req)
	}
	before := events()
	r := get("bytes=0-")
	wantStatus(t, r, http.StatusPartialContent)
	if !bytes.Equal([]byte(r.body), data) || r.Header.Get("Content-Range") != "bytes 0-299999/300000" || r.Header.Get("Accept-Ranges") != "bytes" {
		t.Errorf("bytes=0-: %d bytes, %v", len(r.body), r.Header)
	}
	r = get("bytes=250000-250099")
	wantStatus(t, r, http.StatusPartialContent)
	if !bytes.Equal([]byte(r.body), data[250000:250100]) || r.Header.Get("Content-Range") != "bytes 250000-250099/300000" {
		t.Errorf("a seek: %d bytes, %v", len(r.body), r.Header)
	}
	if got := events(); got != before+1 {
		t.Errorf("one viewing in two ranges: %d access events, want 1", got-before)
	}
	wantStatus(t, get("bytes=300000-"), http.StatusRequestedRangeNotSatisfiable)
	// A download (no Range) is always logged.
	r = get("")
	wantStatus(t, r, http.StatusOK)
	if got := events(); got != before+2 {
		t.Errorf("after a whole read: %d access events, want 2", got-before)
	}

	// Changed on disk: refused, for a range too.
	p := filepath.Join(e.dir, "blobs", "sha256", it.Blob.Hex()[:2], it.Blob.Hex())
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{data[7] ^ 1}, 7)
	f.Close()
	later := time.Now().Add(2 * time.Second)
	os.Chtimes(p, later, later)
	r = get("bytes=0-99")
	if r.StatusCode != http.StatusInternalServerError || bytes.Contains([]byte(r.body), data[:50]) {
		t.Errorf("a tampered blob: %d, %d bytes", r.StatusCode, len(r.body))
	}
}
