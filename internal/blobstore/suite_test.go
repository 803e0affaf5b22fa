package blobstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/google/go-cmp/cmp"
)

// blobHarness adapts a backend to the conformance suite.
type blobHarness struct {
	// open returns a fresh, empty store.
	open func(t *testing.T) custody.BlobStore
	// corrupt flips one byte of the stored copy of ref, keeping its size.
	corrupt func(t *testing.T, s custody.BlobStore, ref custody.Ref)
	// temps lists the temporary files or keys of uploads.
	temps func(t *testing.T, s custody.BlobStore) []string
	// exactDedup is true if, of concurrent Puts of the same content, exactly
	// one reports Existed == false (otherwise: at least one).
	exactDedup bool
}

// testBlobStore is the conformance suite every custody.BlobStore passes.
func testBlobStore(t *testing.T, h blobHarness) {
	ctx := context.Background()

	t.Run("RoundTrip", func(t *testing.T) {
		s := h.open(t)
		content := []byte("photograph of site 14, north trench")
		info, err := s.Put(ctx, bytes.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		want := custody.BlobInfo{Ref: refOf(content), Size: int64(len(content))}
		if diff := cmp.Diff(want, info); diff != "" {
			t.Errorf("Put info (-want +got):\n%s", diff)
		}
		if got := readBlob(t, s, info.Ref); !bytes.Equal(got, content) {
			t.Errorf("Open read %q, want %q", got, content)
		}
		size, err := s.Stat(ctx, info.Ref)
		if err != nil || size != int64(len(content)) {
			t.Errorf("Stat = %d, %v; want %d, nil", size, err, len(content))
		}
		checkNoTemps(t, h, s)
	})

	t.Run("Dedup", func(t *testing.T) {
		s := h.open(t)
		content := []byte("same bytes twice")
		first, err := s.Put(ctx, bytes.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		second, err := s.Put(ctx, bytes.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		if first.Existed || !second.Existed || first.Ref != second.Ref || second.Size != int64(len(content)) {
			t.Errorf("Put twice: %+v then %+v; want Existed false then true, same Ref and Size", first, second)
		}
		if diff := cmp.Diff([]custody.Ref{first.Ref}, listRefs(t, s)); diff != "" {
			t.Errorf("Refs (-want +got):\n%s", diff)
		}
		checkNoTemps(t, h, s)
	})

	t.Run("Empty", func(t *testing.T) {
		// Empty content is a valid blob; the intake layer rejects empty files.
		s := h.open(t)
		info, err := s.Put(ctx, bytes.NewReader(nil))
		if err != nil {
			t.Fatal(err)
		}
		const emptyRef = "sha256-e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
		if info.Ref != emptyRef || info.Size != 0 {
			t.Errorf("Put(empty) = %+v, want Ref %s, Size 0", info, emptyRef)
		}
		if got := readBlob(t, s, info.Ref); len(got) != 0 {
			t.Errorf("Open(empty) read %d bytes", len(got))
		}
	})

	t.Run("FailingReaderLeavesNothing", func(t *testing.T) {
		s := h.open(t)
		errBroken := errors.New("camera card unplugged")
		r := io.MultiReader(io.LimitReader(newStream(1), 20<<20), errReader{errBroken})
		_, err := s.Put(ctx, r)
		if !errors.Is(err, errBroken) {
			t.Fatalf("Put from failing reader: err = %v, want it to wrap %v", err, errBroken)
		}
		if refs := listRefs(t, s); len(refs) != 0 {
			t.Errorf("Refs after failed Put = %v, want none", refs)
		}
		checkNoTemps(t, h, s)
	})

	t.Run("CancelledMidway", func(t *testing.T) {
		s := h.open(t)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		r := &cancelAfter{r: newStream(2), n: 20 << 20, cancel: cancel} // past the first multipart part
		_, err := s.Put(cctx, r)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Put with cancelled ctx: err = %v, want context.Canceled", err)
		}
		if refs := listRefs(t, s); len(refs) != 0 {
			t.Errorf("Refs after cancelled Put = %v, want none", refs)
		}
		checkNoTemps(t, h, s)
	})

	t.Run("CancelledBefore", func(t *testing.T) {
		s := h.open(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Put(cctx, bytes.NewReader([]byte("x"))); !errors.Is(err, context.Canceled) {
			t.Fatalf("Put with cancelled ctx: err = %v, want context.Canceled", err)
		}
		if refs := listRefs(t, s); len(refs) != 0 {
			t.Errorf("Refs after cancelled Put = %v, want none", refs)
		}
		checkNoTemps(t, h, s)
	})

	t.Run("CorruptionDetected", func(t *testing.T) {
		s := h.open(t)
		content := bytes.Repeat([]byte("witness statement "), 1000)
		info, err := s.Put(ctx, bytes.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		h.corrupt(t, s, info.Ref)
		rc, err := s.Open(ctx, info.Ref)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		_, err = io.Copy(io.Discard, rc)
		if code := custody.ErrorCode(err); code != custody.ETAMPERED {
			t.Errorf("reading corrupted blob: err = %v (code %q), want code %q", err, code, custody.ETAMPERED)
		}
		// The error is sticky.
		if _, err2 := rc.Read(make([]byte, 1)); custody.ErrorCode(err2) != custody.ETAMPERED {
			t.Errorf("Read after ETAMPERED = %v, want ETAMPERED again", err2)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		s := h.open(t)
		ref := refOf([]byte("never stored"))
		if _, err := s.Open(ctx, ref); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("Open(missing) err = %v, want ENOTFOUND", err)
		}
		if _, err := s.Stat(ctx, ref); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("Stat(missing) err = %v, want ENOTFOUND", err)
		}
		for _, bad := range []custody.Ref{"", "sha256-../../etc/passwd", custody.Ref("sha256-" + string(bytes.Repeat([]byte("A"), 64)))} {
			if _, err := s.Open(ctx, bad); custody.ErrorCode(err) != custody.EINVALID {
				t.Errorf("Open(%q) err = %v, want EINVALID", bad, err)
			}
			if _, err := s.Stat(ctx, bad); custody.ErrorCode(err) != custody.EINVALID {
				t.Errorf("Stat(%q) err = %v, want EINVALID", bad, err)
			}
		}
	})

	t.Run("RefsListsAll", func(t *testing.T) {
		s := h.open(t)
		var want []custody.Ref
		for i := range 12 {
			info, err := s.Put(ctx, bytes.NewReader(fmt.Appendf(nil, "item %d", i)))
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, info.Ref)
		}
		slices.Sort(want)
		if diff := cmp.Diff(want, listRefs(t, s)); diff != "" {
			t.Errorf("Refs (-want +got):\n%s", diff)
		}
		stop := errors.New("stop")
		calls := 0
		err := s.Refs(ctx, func(custody.Ref) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("Refs with failing fn: %d calls, err %v; want 1 call, err %v", calls, err, stop)
		}
	})

	t.Run("LargeStreamed", func(t *testing.T) {
		const size = 64 << 20
		s := h.open(t)
		want := sha256.New()
		io.Copy(want, io.LimitReader(newStream(3), size))
		info, err := s.Put(ctx, io.LimitReader(newStream(3), size))
		if err != nil {
			t.Fatal(err)
		}
		if wantRef := custody.RefFromDigest(want.Sum(nil)); info.Ref != wantRef || info.Size != size {
			t.Fatalf("Put = %+v, want Ref %s Size %d", info, wantRef, size)
		}
		rc, err := s.Open(ctx, info.Ref)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if n, err := io.Copy(io.Discard, rc); err != nil || n != size {
			t.Errorf("reading large blob: %d bytes, %v; want %d, nil", n, err, size)
		}
		checkNoTemps(t, h, s)
	})

	t.Run("ConcurrentSameContent", func(t *testing.T) {
		s := h.open(t)
		content := bytes.Repeat([]byte{0xab}, 1<<20+17)
		const n = 6
		infos := make([]custody.BlobInfo, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { infos[i], errs[i] = s.Put(ctx, bytes.NewReader(content)) })
		}
		wg.Wait()
		fresh := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("Put %d: %v", i, errs[i])
			}
			if infos[i].Ref != refOf(content) {
				t.Errorf("Put %d: ref %s, want %s", i, infos[i].Ref, refOf(content))
			}
			if !infos[i].Existed {
				fresh++
			}
		}
		if fresh == 0 || h.exactDedup && fresh != 1 {
			t.Errorf("%d of %d concurrent Puts reported Existed == false", fresh, n)
		}
		if got := readBlob(t, s, refOf(content)); !bytes.Equal(got, content) {
			t.Error("content differs after concurrent Puts")
		}
		checkNoTemps(t, h, s)
	})
}

// testObjectStore is the conformance suite every custody.ObjectStore passes.
func testObjectStore(t *testing.T, open func(t *testing.T) custody.ObjectStore) {
	ctx := context.Background()

	t.Run("RoundTrip", func(t *testing.T) {
		s := open(t)
		if _, err := s.Get(ctx, "checkpoint"); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("Get(missing) err = %v, want ENOTFOUND", err)
		}
		objects := map[string][]byte{
			"checkpoint":        []byte("custody.example/log\n42\nabc=\n"),
			"tile/0/x001/234":   bytes.Repeat([]byte{1}, 8192),
			"tile/0/x001/234.p": []byte("partial"),
			"tile/entries/000":  {},
		}
		for name, data := range objects {
			if err := s.Put(ctx, name, data); err != nil {
				t.Fatalf("Put(%q): %v", name, err)
			}
		}
		for name, want := range objects {
			got, err := s.Get(ctx, name)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("Get(%q) = %d bytes, %v; want %d bytes", name, len(got), err, len(want))
			}
		}
		if _, err := s.Get(ctx, "tile/0"); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("Get(directory-like name) err = %v, want ENOTFOUND", err)
		}
		if err := s.Put(ctx, "checkpoint", []byte("43")); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, "checkpoint"); err != nil || string(got) != "43" {
			t.Errorf("Get after replace = %q, %v; want %q", got, err, "43")
		}
	})

	t.Run("InvalidNames", func(t *testing.T) {
		s := open(t)
		for _, name := range []string{
			"", "/etc/passwd", "..", "../x", "a/../../x", "a/./b", "a//b", "a/", "/", "a\\b",
			`..\x`, ".tmp/x", "a/.hidden", "a\x00b",
		} {
			if err := s.Put(ctx, name, []byte("x")); custody.ErrorCode(err) != custody.EINVALID {
				t.Errorf("Put(%q) err = %v, want EINVALID", name, err)
			}
			if _, err := s.Get(ctx, name); custody.ErrorCode(err) != custody.EINVALID {
				t.Errorf("Get(%q) err = %v, want EINVALID", name, err)
			}
		}
	})

	t.Run("AtomicReplace", func(t *testing.T) {
		s := open(t)
		a, b := bytes.Repeat([]byte("a"), 64<<10), bytes.Repeat([]byte("b"), 96<<10)
		if err := s.Put(ctx, "checkpoint", a); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			for i := range 20 {
				if err := s.Put(ctx, "checkpoint", [][]byte{a, b}[i%2]); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		for reading := true; reading; {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				reading = false
			default:
			}
			got, err := s.Get(ctx, "checkpoint")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, a) && !bytes.Equal(got, b) {
				t.Fatalf("Get during replace returned %d bytes that are neither version", len(got))
			}
		}
	})
}

func refOf(b []byte) custody.Ref {
	sum := sha256.Sum256(b)
	return custody.RefFromDigest(sum[:])
}

func readBlob(t *testing.T, s custody.BlobStore, ref custody.Ref) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read blob %s: %v", ref, err)
	}
	return b
}

func listRefs(t *testing.T, s custody.BlobStore) []custody.Ref {
	t.Helper()
	var refs []custody.Ref
	if err := s.Refs(context.Background(), func(r custody.Ref) error { refs = append(refs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return refs
}

func checkNoTemps(t *testing.T, h blobHarness, s custody.BlobStore) {
	t.Helper()
	if temps := h.temps(t, s); len(temps) != 0 {
		t.Errorf("temporary files left behind: %q", temps)
	}
}

// newStream returns an endless deterministic pseudo-random byte stream.
func newStream(seed uint64) io.Reader {
	var s [32]byte
	s[0] = byte(seed)
	return rand.NewChaCha8(s)
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// cancelAfter calls cancel once n bytes have been read, then keeps reading.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n -= int64(n)
	if c.n <= 0 {
		c.cancel()
	}
	return n, err
}
