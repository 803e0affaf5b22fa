package blobstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/custody-dev/custody"
)

func fsHarness() blobHarness {
	return blobHarness{
		open: func(t *testing.T) custody.BlobStore {
			s, err := NewFS(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		corrupt: func(t *testing.T, s custody.BlobStore, ref custody.Ref) {
			flipByte(t, s.(*FS).Path(ref))
		},
		temps: func(t *testing.T, s custody.BlobStore) []string {
			return dirNames(t, s.(*FS).tmpDir())
		},
		exactDedup: true,
	}
}

func TestFS(t *testing.T) { testBlobStore(t, fsHarness()) }

func TestFSObjects(t *testing.T) {
	testObjectStore(t, func(t *testing.T) custody.ObjectStore {
		s, err := NewFSObjects(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if temps := dirNames(t, s.tmpDir()); len(temps) != 0 {
				t.Errorf("temporary files left behind: %q", temps)
			}
		})
		return s
	})
}

func TestFSLayout(t *testing.T) {
	dir := t.TempDir()
	s, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Put(context.Background(), bytes.NewReader([]byte("layout")))
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "sha256", info.Ref.Hex()[:2], info.Ref.Hex())
	if got := s.Path(info.Ref); got != want {
		t.Errorf("Path = %s, want %s", got, want)
	}
	if b, err := os.ReadFile(want); err != nil || string(b) != "layout" {
		t.Errorf("stored file: %q, %v", b, err)
	}
	if got := s.Path("sha256-nothex"); got != "" {
		t.Errorf("Path(malformed) = %q, want empty", got)
	}
}

func TestFSTruncatedDetected(t *testing.T) {
	ctx := context.Background()
	s, err := NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Put(ctx, bytes.NewReader(bytes.Repeat([]byte("x"), 10000)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(s.Path(info.Ref), 9999); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Open(ctx, info.Ref)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadAll(rc); custody.ErrorCode(err) != custody.ETAMPERED {
		t.Errorf("reading truncated blob: err = %v, want ETAMPERED", err)
	}
	// Re-storing the content reports the damaged copy instead of hiding it.
	if _, err := s.Put(ctx, bytes.NewReader(bytes.Repeat([]byte("x"), 10000))); custody.ErrorCode(err) != custody.ETAMPERED {
		t.Errorf("Put over a truncated copy: err = %v, want ETAMPERED", err)
	}
	if temps := dirNames(t, s.tmpDir()); len(temps) != 0 {
		t.Errorf("temporary files left behind: %q", temps)
	}
}

func TestFSCleansStaleTemps(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewFS(dir); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "tmp", "put-stale")
	fresh := filepath.Join(dir, "tmp", "put-fresh")
	for _, name := range []string{stale, fresh} {
		if err := os.WriteFile(name, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * StaleTempAge)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFS(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file not removed: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temporary file removed: %v", err)
	}
}

func TestNoSpaceMapped(t *testing.T) {
	s := &FS{dir: t.TempDir()}
	err := s.putErr("write", &os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC})
	if custody.ErrorCode(err) != custody.ENOSPACE || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("putErr(ENOSPC) = %v (code %q), want ENOSPACE wrapping ENOSPC", err, custody.ErrorCode(err))
	}
	if got := custody.ErrorMessage(err); got != "disk full: nothing was stored" {
		t.Errorf("message = %q", got)
	}
}

// TestFSFlatMemory checks that Put and Open stream: a 64 MiB blob must not
// cost anywhere near 64 MiB of allocations.
func TestFSFlatMemory(t *testing.T) {
	const size = 64 << 20
	ctx := context.Background()
	s, err := NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	info, err := s.Put(ctx, io.LimitReader(newStream(9), size))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.Open(ctx, info.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyBuffer(io.Discard, rc, make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("Put+Open of %d MiB allocated %d MiB", size>>20, alloc>>20)
	}
}

func BenchmarkFSPut(b *testing.B) {
	const size = 256 << 20
	s, err := NewFS(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.SetBytes(size)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// Distinct content each time, so every Put writes and fsyncs.
		info, err := s.Put(ctx, io.LimitReader(newStream(uint64(100+i)), size))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.Remove(s.Path(info.Ref))
		b.StartTimer()
	}
}

func flipByte(t *testing.T, name string) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, 7); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x01
	if _, err := f.WriteAt(b, 7); err != nil {
		t.Fatal(err)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
