package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/custody-dev/custody"
)

// TestLogEdgeCases: boundary arguments are a 2xx or a 4xx, never a 5xx.
func TestLogEdgeCases(t *testing.T) {
	e := newEnv(t)
	for i := range 3 {
		e.upload([]byte(fmt.Sprintf("edge %d", i)), "name=e")
	}
	n := e.logSize()
	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/api/v1/log/consistency?from=0&to=0", 0},
		{"/api/v1/log/consistency?from=0&to=1", 0},
		{fmt.Sprintf("/api/v1/log/consistency?from=%d&to=%d", n, n), 200},
		{fmt.Sprintf("/api/v1/log/consistency?from=1&to=%d", n), 200},
		{fmt.Sprintf("/api/v1/log/consistency?from=1&to=%d", n+1), 400},
		{"/api/v1/log/consistency?from=18446744073709551615&to=18446744073709551615", 400},
		{"/api/v1/log/consistency?from=1&to=99999999999999999999", 400},
		{"/api/v1/log/proof/0", 200},
		{fmt.Sprintf("/api/v1/log/proof/%d", n-1), 200},
		{fmt.Sprintf("/api/v1/log/proof/%d", n), 404},
		{"/api/v1/log/proof/18446744073709551615", 404},
		{"/api/v1/items?limit=1000", 200},
		{"/api/v1/items?limit=1001", 400},
		{"/api/v1/items?after=zzz", 200},
		{"/api/v1/items?case=%00", 200},
		{"/api/v1/me", 200},
	} {
		r := e.do("GET", tt.path, e.admin, "", nil)
		if r.status >= 500 || (tt.status != 0 && r.status != tt.status) {
			t.Errorf("GET %s: %d, want %d: %s", tt.path, r.status, tt.status, r.body)
		}
	}
}

func TestListPagination(t *testing.T) {
	e := newEnv(t)
	want := map[string]bool{}
	for i := range 5 {
		want[e.upload([]byte(fmt.Sprintf("page %d", i)), "name=p&case=P").ID] = true
	}
	e.upload([]byte("other case"), "name=o&case=Q")
	got := map[string]bool{}
	after := ""
	for range 10 {
		r := e.do("GET", "/api/v1/items?case=P&limit=2&after="+after, e.reviewer, "", nil)
		var page struct {
			Items []custody.Item
			Next  string
		}
		if err := json.Unmarshal(r.body, &page); err != nil || r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		for _, it := range page.Items {
			if it.Case != "P" || got[it.ID] {
				t.Errorf("page item %+v (repeated: %v)", it, got[it.ID])
			}
			got[it.ID] = true
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if len(got) != len(want) {
		t.Errorf("paged through %d items, want %d", len(got), len(want))
	}
}

// TestTamperedContentIsNotServedWhole: a blob changed on disk aborts the
// download, so the client never sees bad bytes as a complete response.
func TestTamperedContentIsNotServedWhole(t *testing.T) {
	for _, tt := range []struct {
		name   string
		size   int
		tamper func([]byte) []byte
	}{
		{"flip last byte", 256 << 10, func(b []byte) []byte { b[len(b)-1] ^= 1; return b }},
		{"flip first byte", 256 << 10, func(b []byte) []byte { b[0] ^= 1; return b }},
		{"flip byte of a small blob", 10, func(b []byte) []byte { b[5] ^= 1; return b }},
		{"truncate", 100 << 10, func(b []byte) []byte { return b[:len(b)-1] }},
		{"extend", 64 << 10, func(b []byte) []byte { return append(b, 'x') }},
		{"extend by a chunk", 64 << 10, func(b []byte) []byte { return append(b, make([]byte, 64<<10)...) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			content := make([]byte, tt.size)
			for i := range content {
				content[i] = byte(i * 31)
			}
			it := e.upload(content, "name=t.bin")
			p := filepath.Join(e.dir, "blobs", "sha256", it.Blob.Hex()[:2], it.Blob.Hex())
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			os.Chmod(p, 0o600)
			if err := os.WriteFile(p, tt.tamper(raw), 0o600); err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/items/"+it.ID+"/content", nil)
			req.Header.Set("Authorization", "Bearer "+e.admin)
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				return // refused outright: fine
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && err == nil {
				t.Errorf("tampered blob served as a complete 200 response (%d bytes)", len(b))
			}
			checkNoLeak(t, resp.StatusCode, b)
		})
	}
}

func TestPhysicalItem(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/api/v1/items?kind=physical&seal=S-1&location=locker&description=rope", e.admin, "", http.NoBody)
	if r.status != 201 {
		t.Fatalf("physical item: %d %s", r.status, r.body)
	}
	var it custody.Item
	json.Unmarshal(r.body, &it)
	if it.Kind != custody.KindPhysical || it.Blob != "" || it.Seal != "S-1" {
		t.Errorf("item %+v", it)
	}
	r = e.do("GET", "/api/v1/items/"+it.ID+"/content", e.admin, "", nil)
	if r.status != 404 || r.errCode() != custody.ENOTFOUND {
		t.Errorf("content of a physical item without a photo: %d %s", r.status, r.body)
	}
	// With a photo.
	photo := e.upload(pngHead, "kind=physical&seal=S-2&name=rope.png")
	if photo.Kind != custody.KindPhysical || photo.Blob != refOf(pngHead) {
		t.Errorf("physical item with photo: %+v", photo)
	}
}
