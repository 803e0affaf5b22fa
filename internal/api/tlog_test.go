package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/verify"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"
)

// addPhysical appends n entries quickly (physical items carry no blob).
func (e *env) addPhysical(n int, secret string) {
	e.t.Helper()
	ctx := context.Background()
	for i := range n {
		_, err := e.svc.Intake(ctx, custody.SystemActor, custody.IntakeRequest{Kind: custody.KindPhysical,
			Description: fmt.Sprintf("%s %d", secret, i), Seal: fmt.Sprintf("S-%d", i)})
		if err != nil {
			e.t.Fatal(err)
		}
	}
	if _, err := e.svc.Publish(ctx); err != nil {
		e.t.Fatal(err)
	}
}

// TestTlogTilesClient reads the public log with tessera's own client only:
// nothing of ours is trusted but the verifier key.
func TestTlogTilesClient(t *testing.T) {
	if testing.Short() {
		t.Skip("adds hundreds of entries")
	}
	e := newEnv(t)
	ctx := context.Background()
	const secret = "PRIVATE-DESCRIPTION-7f3a"
	e.addPhysical(600, secret)

	root, _ := url.Parse(e.srv.URL + "/log/")
	f, err := client.NewHTTPFetcher(root, e.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(e.vkey)
	if err != nil {
		t.Fatal(err)
	}
	origin := e.svc.Origin()
	cp1, _, _, err := client.FetchCheckpoint(ctx, f.ReadCheckpoint, v, origin)
	if err != nil {
		t.Fatalf("FetchCheckpoint: %v", err)
	}
	if cp1.Size < 600 {
		t.Fatalf("checkpoint size %d, want >= 600", cp1.Size)
	}
	if cp1.Size%256 == 0 {
		t.Fatalf("size %d: want partial tiles in this test", cp1.Size)
	}
	pb, err := client.NewProofBuilder(ctx, cp1.Size, f.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	checkInclusion := func(pb *client.ProofBuilder, size uint64, rootHash []byte, idx uint64) []byte {
		t.Helper()
		bundle, err := client.GetEntryBundle(ctx, f.ReadEntryBundle, idx/256, size)
		if err != nil {
			t.Fatalf("GetEntryBundle(%d): %v", idx/256, err)
		}
		entry := bundle.Entries[idx%256]
		hashes, err := pb.InclusionProof(ctx, idx)
		if err != nil {
			t.Fatalf("InclusionProof(%d): %v", idx, err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, idx, size, rfc6962.DefaultHasher.HashLeaf(entry), hashes, rootHash); err != nil {
			t.Errorf("entry %d of %d does not verify: %v", idx, size, err)
		}
		if _, err := verify.ParseEntry(entry); err != nil {
			t.Errorf("entry %d: %v", idx, err)
		}
		if bytes.Contains(entry, []byte(secret)) {
			t.Errorf("entry %d carries private payload text", idx)
		}
		return entry
	}
	for _, idx := range []uint64{0, 1, 255, 256, 511, 512, cp1.Size - 2, cp1.Size - 1} {
		checkInclusion(pb, cp1.Size, cp1.Hash, idx)
	}
	// The entry bytes agree with the authenticated API's proof.
	r := e.do("GET", "/api/v1/log/proof/300", e.reviewer, "", nil)
	if r.status != 200 {
		t.Fatalf("proof 300: %d %s", r.status, r.body)
	}

	size1, root1 := cp1.Size, cp1.Hash
	e.addPhysical(300, secret)
	cp2, _, _, err := client.FetchCheckpoint(ctx, f.ReadCheckpoint, v, origin)
	if err != nil {
		t.Fatal(err)
	}
	if cp2.Size != size1+300 {
		t.Fatalf("second checkpoint size %d, want %d", cp2.Size, size1+300)
	}
	pb2, err := client.NewProofBuilder(ctx, cp2.Size, f.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := pb2.ConsistencyProof(ctx, size1, cp2.Size)
	if err != nil {
		t.Fatalf("ConsistencyProof: %v", err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, size1, cp2.Size, cons, root1, cp2.Hash); err != nil {
		t.Errorf("consistency %d -> %d: %v", size1, cp2.Size, err)
	}
	// The API's consistency proof agrees.
	r = e.do("GET", fmt.Sprintf("/api/v1/log/consistency?from=%d&to=%d", size1, cp2.Size), e.reviewer, "", nil)
	if r.status != 200 {
		t.Fatalf("consistency: %d %s", r.status, r.body)
	}
	for _, idx := range []uint64{5, size1 - 1, size1, cp2.Size - 1} {
		checkInclusion(pb2, cp2.Size, cp2.Hash, idx)
	}

	// Full tiles are immutable; partial ones are not cached.
	resp, err := e.srv.Client().Get(e.srv.URL + "/log/tile/0/000")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("full tile: %d Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	partial := verify.TilePath(0, cp2.Size/256, int(cp2.Size%256))
	resp, err = e.srv.Client().Get(e.srv.URL + "/log/" + partial)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("partial tile %s: %d Cache-Control %q", partial, resp.StatusCode, resp.Header.Get("Cache-Control"))
	}

	// Nothing published carries the private payloads.
	filepath.WalkDir(filepath.Join(e.dir, "log"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(secret)) {
				t.Errorf("public object %s holds private payload text", p)
			}
		}
		return nil
	})
}

func TestTilePathsRejected(t *testing.T) {
	e := newEnv(t)
	e.addPhysical(3, "secret")
	// A private payload bundle exists on disk; no URL may reach it.
	var payloads []string
	filepath.WalkDir(filepath.Join(e.dir, "private"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(filepath.Join(e.dir, "private"), p)
			payloads = append(payloads, filepath.ToSlash(rel))
		}
		return nil
	})
	if len(payloads) == 0 {
		t.Log("no private objects on disk")
	}
	paths := []string{
		"/log/tile/0/1",
		"/log/tile/0/0000",
		"/log/tile/00/000",
		"/log/tile/0/x000/000",
		"/log/tile/0/000.p/0",
		"/log/tile/0/000.p/256",
		"/log/tile/0/000.p/abc",
		"/log/tile/0/000.p/",
		"/log/tile/64/000",
		"/log/tile/-1/000",
		"/log/tile/entries/00a",
		"/log/tile/entries/000/",
		"/log/tile/entries/",
		"/log/tile/",
		"/log/tile/../private/checkpoint",
		"/log/tile/%2e%2e/%2e%2e/private/checkpoint",
		"/log/tile/payload/tile/entries/000.p/6",
		"/log/payload/tile/entries/000.p/6",
		"/log/private/checkpoint",
		"/log/tile/0/000.p/3/../../../../private",
	}
	for _, p := range payloads {
		paths = append(paths, "/log/"+p, "/log/tile/"+p, "/log/tile/../../private/"+p)
	}
	for _, p := range paths {
		req, _ := http.NewRequest("GET", e.srv.URL+p, nil)
		tr := &http.Transport{}
		resp, err := (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tr.CloseIdleConnections()
		if resp.StatusCode == 200 {
			t.Errorf("GET %s: 200 (%d bytes)", p, len(b))
		} else if resp.StatusCode != 404 && resp.StatusCode != 301 && resp.StatusCode != 307 && resp.StatusCode != 400 {
			t.Errorf("GET %s: status %d", p, resp.StatusCode)
		}
		if bytes.Contains(b, []byte("secret")) {
			t.Errorf("GET %s served private text", p)
		}
	}
	// Canonical but absent resources are 404 too.
	for _, p := range []string{"/log/tile/0/999", "/log/tile/entries/x001/000", "/log/tile/0/000.p/200"} {
		resp, err := e.srv.Client().Get(e.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
	// The checkpoint needs no authentication and verifies.
	resp, err := e.srv.Client().Get(e.srv.URL + "/log/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if cp, err := verify.OpenCheckpoint(b, e.vkey); err != nil || cp.Size != e.logSize() {
		t.Errorf("public checkpoint: %v (size %d, log %d)", err, cp.Size, e.logSize())
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("no CORS header on the checkpoint")
	}
}
