package blobstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/custody-dev/custody"
)

// newEncrypted returns an encrypted store in a fresh directory, with a new
// key ring in dir/keys and the blobs in dir/blobs.
func newEncrypted(t testing.TB) (*Encrypted, *FSBackend, string) {
	t.Helper()
	dir, ring := newRing(t)
	b, err := NewFSBackend(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return NewEncrypted(b, ring), b, dir
}

func TestEncrypted(t *testing.T) {
	backends := map[*Encrypted]*FSBackend{}
	var mu sync.Mutex
	testBlobStore(t, blobHarness{
		open: func(t *testing.T) custody.BlobStore {
			e, b, _ := newEncrypted(t)
			mu.Lock()
			backends[e] = b
			mu.Unlock()
			return e
		},
		corrupt: func(t *testing.T, s custody.BlobStore, ref custody.Ref) {
			mu.Lock()
			b := backends[s.(*Encrypted)]
			mu.Unlock()
			flipByteAt(t, b.Path(ref), -1) // the last tag
		},
		temps: func(t *testing.T, s custody.BlobStore) []string {
			mu.Lock()
			b := backends[s.(*Encrypted)]
			mu.Unlock()
			return dirNames(t, b.tmpDir())
		},
		exactDedup: true,
	})
}

// TestEncryptedSizes round-trips sizes around age's 64 KiB chunks: the
// reference is the SHA-256 of the plaintext, Stat is exact, the stored file
// is an age file of the expected size that does not hold the plaintext.
func TestEncryptedSizes(t *testing.T) {
	ctx := context.Background()
	e, b, _ := newEncrypted(t)
	pattern := []byte("mass grave, 49.1947 N 37.2816 E; ")
	for _, size := range []int{0, 1, 64<<10 - 1, 64 << 10, 64<<10 + 1, 2 << 17, 5<<20 + 3} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			plain := bytes.Repeat(pattern, size/len(pattern)+1)[:size]
			info, err := e.Put(ctx, bytes.NewReader(plain))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(plain)
			if want := custody.RefFromDigest(sum[:]); info.Ref != want || info.Size != int64(size) || info.Existed {
				t.Fatalf("Put = %+v, want Ref %s Size %d", info, want, size)
			}
			if got := readBlob(t, e, info.Ref); !bytes.Equal(got, plain) {
				t.Fatalf("Open read %d bytes differing from the %d put", len(got), size)
			}
			if n, err := e.Stat(ctx, info.Ref); err != nil || n != int64(size) {
				t.Errorf("Stat = %d, %v; want %d", n, err, size)
			}
			stored, err := os.ReadFile(b.Path(info.Ref))
			if err != nil {
				t.Fatal(err)
			}
			chunks := max(1, (size+64<<10-1)/(64<<10))
			if want := SealOverhead - 16 + 16*chunks + size; len(stored) != want {
				t.Errorf("stored %d bytes, want %d (header, nonce, %d tags, plaintext)", len(stored), want, chunks)
			}
			if !bytes.HasPrefix(stored, []byte("age-encryption.org/v1\n")) {
				t.Error("the stored file is not an age file")
			}
			if size >= 16 && bytes.Contains(stored, plain[:16]) || bytes.Contains(stored, []byte("49.1947")) {
				t.Error("the stored file contains plaintext")
			}
		})
	}
	// Nothing under the store's directory holds the plaintext.
	filepath.WalkDir(b.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if data, _ := os.ReadFile(path); bytes.Contains(data, []byte("mass grave")) {
			t.Errorf("%s contains plaintext", path)
		}
		return nil
	})
}

// TestEncryptedTampered damages the stored age file in several ways: every
// one is ETAMPERED, and no byte is returned that age has not authenticated.
func TestEncryptedTampered(t *testing.T) {
	ctx := context.Background()
	const chunk = 64<<10 + 16
	plain := make([]byte, 3*64<<10) // exactly three full chunks
	io.ReadFull(newStream(5), plain)
	for _, tc := range []struct {
		name string
		// damage changes the file; prefix is the most plaintext Open may
		// return before failing.
		damage func(t *testing.T, path string, payload int64)
		prefix int
	}{
		{"SecondChunkByte", func(t *testing.T, path string, payload int64) {
			flipByteAt(t, path, payload+16+chunk+100)
		}, 64 << 10},
		{"FirstChunkTag", func(t *testing.T, path string, payload int64) {
			flipByteAt(t, path, payload+16+chunk-1)
		}, 0},
		{"Nonce", func(t *testing.T, path string, payload int64) {
			flipByteAt(t, path, payload+3)
		}, 0},
		{"TruncatedByOneByte", func(t *testing.T, path string, payload int64) {
			truncateBy(t, path, 1)
		}, 2 * 64 << 10},
		{"TruncatedByOneChunk", func(t *testing.T, path string, payload int64) {
			truncateBy(t, path, chunk)
		}, 2 * 64 << 10},
		{"TrailingData", func(t *testing.T, path string, payload int64) {
			appendBytes(t, path, []byte("x"))
		}, 3 * 64 << 10},
		{"ChunksSwapped", func(t *testing.T, path string, payload int64) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			a := payload + 16
			first := bytes.Clone(data[a : a+chunk])
			copy(data[a:], data[a+chunk:a+2*chunk])
			copy(data[a+chunk:], first)
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, b, _ := newEncrypted(t)
			info, err := e.Put(ctx, bytes.NewReader(plain))
			if err != nil {
				t.Fatal(err)
			}
			path := b.Path(info.Ref)
			tc.damage(t, path, int64(SealOverhead-32)) // the header's length, one recipient
			rc, err := e.Open(ctx, info.Ref)
			if err != nil {
				if custody.ErrorCode(err) != custody.ETAMPERED {
					t.Fatalf("Open: %v, want ETAMPERED", err)
				}
				return
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if custody.ErrorCode(err) != custody.ETAMPERED {
				t.Errorf("read: %v, want ETAMPERED", err)
			}
			if len(got) > tc.prefix || !bytes.Equal(got, plain[:len(got)]) {
				t.Errorf("read %d bytes before failing, want at most the %d authenticated ones, unchanged", len(got), tc.prefix)
			}
		})
	}

	t.Run("Header", func(t *testing.T) {
		e, b, _ := newEncrypted(t)
		info, err := e.Put(ctx, bytes.NewReader(plain))
		if err != nil {
			t.Fatal(err)
		}
		for _, off := range []int64{7, 40, SealOverhead - 40} { // intro, stanza, MAC
			flipByteAt(t, b.Path(info.Ref), off)
			_, err := e.Open(ctx, info.Ref)
			if custody.ErrorCode(err) != custody.ETAMPERED && !errors.Is(err, ErrNoKey) {
				t.Errorf("Open with header byte %d flipped: %v, want ETAMPERED or ErrNoKey", off, err)
			}
			flipByteAt(t, b.Path(info.Ref), off)
		}
		if got := readBlob(t, e, info.Ref); !bytes.Equal(got, plain) {
			t.Error("content differs after restoring the header")
		}
		truncateBy(t, b.Path(info.Ref), int64(len(plain)))
		truncateBy(t, b.Path(info.Ref), 3*16+16+20)
		if _, err := e.Stat(ctx, info.Ref); custody.ErrorCode(err) != custody.ETAMPERED {
			t.Errorf("Stat of a file cut inside its header: %v, want ETAMPERED", err)
		}
	})

	t.Run("ExistingCopyDamaged", func(t *testing.T) {
		// Storing content again reports a damaged copy instead of hiding it.
		e, b, _ := newEncrypted(t)
		info, err := e.Put(ctx, bytes.NewReader(plain))
		if err != nil {
			t.Fatal(err)
		}
		truncateBy(t, b.Path(info.Ref), chunk)
		if _, err := e.Put(ctx, bytes.NewReader(plain)); custody.ErrorCode(err) != custody.ETAMPERED {
			t.Errorf("Put over a truncated copy: %v, want ETAMPERED", err)
		}
		if temps := dirNames(t, b.tmpDir()); len(temps) != 0 {
			t.Errorf("temporary files left behind: %q", temps)
		}
	})
}

func TestEncryptedWrongKey(t *testing.T) {
	ctx := context.Background()
	e, b, _ := newEncrypted(t)
	info, err := e.Put(ctx, bytes.NewReader([]byte("interview transcript")))
	if err != nil {
		t.Fatal(err)
	}
	_, other := newRing(t)
	wrong := NewEncrypted(b, other)
	_, err = wrong.Open(ctx, info.Ref)
	if !errors.Is(err, ErrNoKey) {
		t.Fatalf("Open with another store's keys: %v, want ErrNoKey", err)
	}
	var noMatch *age.NoIdentityMatchError
	if !errors.As(err, &noMatch) || custody.ErrorCode(err) != custody.EINTERNAL {
		t.Errorf("error %v: want age's NoIdentityMatchError in the chain, code EINTERNAL", err)
	}
	// Stat needs no key.
	if n, err := wrong.Stat(ctx, info.Ref); err != nil || n != int64(len("interview transcript")) {
		t.Errorf("Stat without the key = %d, %v", n, err)
	}
}

// TestEncryptedRotation: data written before a rotation stays readable;
// Reencrypt moves it to the new key, after which the old key is not needed.
func TestEncryptedRotation(t *testing.T) {
	ctx := context.Background()
	e1, b, dir := newEncrypted(t)
	old, err := e1.Put(ctx, bytes.NewReader([]byte("before rotation")))
	if err != nil {
		t.Fatal(err)
	}
	big, err := e1.Put(ctx, io.LimitReader(newStream(6), 3<<20+5))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Rotate(dir); err != nil {
		t.Fatal(err)
	}
	ring2, err := LoadKeyRing(dir)
	if err != nil {
		t.Fatal(err)
	}
	e2 := NewEncrypted(b, ring2)
	if got := readBlob(t, e2, old.Ref); string(got) != "before rotation" {
		t.Errorf("after rotation read %q", got)
	}
	fresh, err := e2.Put(ctx, bytes.NewReader([]byte("after rotation")))
	if err != nil {
		t.Fatal(err)
	}
	// The new blob is encrypted to the new key only: a ring loaded before
	// the rotation (another node's) finds it in the key directory.
	if got := readBlob(t, e1, fresh.Ref); string(got) != "after rotation" {
		t.Errorf("old ring opening a blob written after rotation: %q", got)
	}
	hdr, _ := os.ReadFile(b.Path(fresh.Ref))
	if _, err := age.Decrypt(bytes.NewReader(hdr), e1.ring.Identities()...); err == nil {
		t.Error("the old identity decrypts a blob written after rotation")
	}

	n, err := e2.Reencrypt(ctx, false)
	if err != nil || n != 2 {
		t.Fatalf("Reencrypt = %d, %v; want 2 (the blobs written before rotation)", n, err)
	}
	if n, err := e2.Reencrypt(ctx, false); err != nil || n != 0 {
		t.Errorf("Reencrypt again = %d, %v; want 0", n, err)
	}
	// A ring holding only the new key reads everything.
	if err := os.Remove(filepath.Join(KeyDir(dir), "age-1.key")); err != nil {
		t.Fatal(err)
	}
	ring3, err := LoadKeyRing(dir)
	if err != nil || ring3.Len() != 1 {
		t.Fatal(err)
	}
	e3 := NewEncrypted(b, ring3)
	if got := readBlob(t, e3, old.Ref); string(got) != "before rotation" {
		t.Errorf("after re-encryption read %q", got)
	}
	rc, err := e3.Open(ctx, big.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, rc); err != nil || n != big.Size {
		t.Errorf("after re-encryption read %d bytes, %v; want %d", n, err, big.Size)
	}
	rc.Close()
	if temps := dirNames(t, b.tmpDir()); len(temps) != 0 {
		t.Errorf("temporary files left behind: %q", temps)
	}

	t.Run("DamagedBlobLeftAlone", func(t *testing.T) {
		e, b, dir := newEncrypted(t)
		good, _ := e.Put(ctx, bytes.NewReader([]byte("good")))
		bad, _ := e.Put(ctx, bytes.NewReader(bytes.Repeat([]byte("bad"), 1000)))
		flipByteAt(t, b.Path(bad.Ref), -1)
		before, _ := os.ReadFile(b.Path(bad.Ref))
		if _, err := Rotate(dir); err != nil {
			t.Fatal(err)
		}
		ring, _ := LoadKeyRing(dir)
		n, err := NewEncrypted(b, ring).Reencrypt(ctx, false)
		if n != 1 || custody.ErrorCode(err) != custody.ETAMPERED {
			t.Errorf("Reencrypt with a damaged blob = %d, %v; want 1 and ETAMPERED", n, err)
		}
		if after, _ := os.ReadFile(b.Path(bad.Ref)); !bytes.Equal(before, after) {
			t.Error("the damaged blob was rewritten")
		}
		if got := readBlob(t, NewEncrypted(b, ring), good.Ref); string(got) != "good" {
			t.Errorf("read %q", got)
		}
	})
}

// TestEncryptedBackupRecipient: with a backup recipient in recipients.txt,
// its identity alone decrypts the stored files, with plain age; Reencrypt
// with all extends that to blobs stored before the recipient was added.
func TestEncryptedBackupRecipient(t *testing.T) {
	ctx := context.Background()
	e, b, dir := newEncrypted(t)
	before, err := e.Put(ctx, bytes.NewReader([]byte("stored before the backup key")))
	if err != nil {
		t.Fatal(err)
	}
	backup, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	if err := AddRecipient(dir, backup.Recipient().String()); err != nil {
		t.Fatal(err)
	}
	ring, err := LoadKeyRing(dir)
	if err != nil {
		t.Fatal(err)
	}
	e = NewEncrypted(b, ring)
	content := bytes.Repeat([]byte("photo "), 50000)
	info, err := e.Put(ctx, bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	decryptWith := func(ref custody.Ref, id age.Identity) ([]byte, error) {
		f, err := os.Open(b.Path(ref))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		r, err := age.Decrypt(f, id)
		if err != nil {
			return nil, err
		}
		return io.ReadAll(r)
	}
	if got, err := decryptWith(info.Ref, backup); err != nil || !bytes.Equal(got, content) {
		t.Errorf("backup identity decrypting a new blob: %d bytes, %v", len(got), err)
	}
	if _, err := decryptWith(before.Ref, backup); err == nil {
		t.Error("backup identity decrypts a blob stored before it was added")
	}
	if n, err := e.Reencrypt(ctx, true); err != nil || n != 2 {
		t.Fatalf("Reencrypt(all) = %d, %v; want 2", n, err)
	}
	if got, err := decryptWith(before.Ref, backup); err != nil || string(got) != "stored before the backup key" {
		t.Errorf("backup identity after Reencrypt(all): %q, %v", got, err)
	}
}

// TestEncryptedFlatMemory checks that Put and Open stream: Put allocates
// about its fixed buffers whatever the size, and the live heap stays small
// while a 64 MiB blob is read (age allocates 64 KiB per chunk it decrypts,
// which the garbage collector reclaims as it goes).
func TestEncryptedFlatMemory(t *testing.T) {
	const size = 64 << 20
	ctx := context.Background()
	e, _, _ := newEncrypted(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	info, err := e.Put(ctx, io.LimitReader(newStream(9), size))
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 12<<20 {
		t.Errorf("Put of %d MiB allocated %d MiB", size>>20, alloc>>20)
	}

	defer debug.SetGCPercent(debug.SetGCPercent(20))
	runtime.GC()
	runtime.ReadMemStats(&before)
	rc, err := e.Open(ctx, info.Ref)
	if err != nil {
		t.Fatal(err)
	}
	var peak uint64
	buf := make([]byte, 64<<10)
	for i := 0; ; i++ {
		_, err := rc.Read(buf)
		if i%64 == 0 {
			runtime.ReadMemStats(&after)
			peak = max(peak, after.HeapInuse)
		}
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	rc.Close()
	if grew := int64(peak) - int64(before.HeapInuse); grew > 24<<20 {
		t.Errorf("reading %d MiB grew the heap by %d MiB", size>>20, grew>>20)
	}
}

// TestEncryptedCloseEarly: closing a reader before EOF stops decryption.
func TestEncryptedCloseEarly(t *testing.T) {
	ctx := context.Background()
	e, _, _ := newEncrypted(t)
	info, err := e.Put(ctx, io.LimitReader(newStream(4), 16<<20))
	if err != nil {
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()
	for range 3 {
		rc, err := e.Open(ctx, info.Ref)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rc.Read(make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
		if err := rc.Close(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Errorf("%d goroutines after closing readers, %d before", n, base)
	}
}

// failingBackend's objects fail to write with err after limit bytes.
type failingBackend struct {
	*FSBackend
	limit     int64
	err       error
	discarded int
}

func (f *failingBackend) Create(ctx context.Context) (TempObject, error) {
	t, err := f.FSBackend.Create(ctx)
	return &failingTemp{TempObject: t, b: f}, err
}

type failingTemp struct {
	TempObject
	b *failingBackend
	n int64
}

func (t *failingTemp) Write(p []byte) (int, error) {
	if t.n+int64(len(p)) > t.b.limit {
		return 0, &fs.PathError{Op: "write", Path: "x", Err: t.b.err}
	}
	t.n += int64(len(p))
	return t.TempObject.Write(p)
}

func (t *failingTemp) Discard() error {
	t.b.discarded++
	return t.TempObject.Discard()
}

func TestEncryptedDiskFull(t *testing.T) {
	_, ring := newRing(t)
	b, err := NewFSBackend(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fb := &failingBackend{FSBackend: b, limit: 3 << 20, err: syscall.ENOSPC}
	e := NewEncrypted(fb, ring)
	_, err = e.Put(context.Background(), io.LimitReader(newStream(7), 20<<20))
	if custody.ErrorCode(err) != custody.ENOSPACE || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Put on a full disk: %v (code %q), want ENOSPACE", err, custody.ErrorCode(err))
	}
	if fb.discarded != 1 || len(dirNames(t, b.tmpDir())) != 0 || len(listRefs(t, e)) != 0 {
		t.Errorf("after a failed Put: %d discards, temps %v, refs %v", fb.discarded, dirNames(t, b.tmpDir()), listRefs(t, e))
	}
}

// TestEncryptedPutTruncatedSource: io.ErrUnexpectedEOF from the source (a
// client that hung up mid-body) fails Put instead of ending the content, and
// so does copying a truncated blob from one store into another.
func TestEncryptedPutTruncatedSource(t *testing.T) {
	ctx := context.Background()
	e, b, _ := newEncrypted(t)
	r := io.MultiReader(io.LimitReader(newStream(8), 3<<20+5), errReader{io.ErrUnexpectedEOF})
	if _, err := e.Put(ctx, r); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Put from a truncated source: %v, want io.ErrUnexpectedEOF", err)
	}
	if refs := listRefs(t, e); len(refs) != 0 {
		t.Errorf("refs after a failed Put: %v", refs)
	}

	info, err := e.Put(ctx, io.LimitReader(newStream(8), 5*64<<10))
	if err != nil {
		t.Fatal(err)
	}
	truncateBy(t, b.Path(info.Ref), 64<<10+16)
	rc, err := e.Open(ctx, info.Ref)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	other, _, _ := newEncrypted(t)
	if _, err := other.Put(ctx, rc); custody.ErrorCode(err) != custody.ETAMPERED || errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Put from a truncated blob: %v, want ETAMPERED not wrapping io.ErrUnexpectedEOF", err)
	}
	if refs := listRefs(t, other); len(refs) != 0 {
		t.Errorf("refs after a failed Put: %v", refs)
	}
	if temps := dirNames(t, b.tmpDir()); len(temps) != 0 {
		t.Errorf("temporary files left behind: %q", temps)
	}
}

func TestPlaintextSize(t *testing.T) {
	// Against age itself, for sizes around chunk boundaries.
	_, ring := newRing(t)
	for _, size := range []int{0, 1, 64<<10 - 1, 64 << 10, 64<<10 + 1, 128 << 10, 128<<10 + 1} {
		sealed, err := ring.Seal(make([]byte, size))
		if err != nil {
			t.Fatal(err)
		}
		hdr, err := age.ExtractHeader(bytes.NewReader(sealed))
		if err != nil {
			t.Fatal(err)
		}
		got, err := plaintextSize(int64(len(sealed) - len(hdr)))
		if err != nil || got != int64(size) {
			t.Errorf("plaintextSize for %d bytes = %d, %v", size, got, err)
		}
	}
	for _, n := range []int64{0, 16, 31, 16 + 64<<10 + 16 + 16} { // too short; an empty last chunk
		if got, err := plaintextSize(n); err == nil {
			t.Errorf("plaintextSize(%d) = %d, want an error", n, got)
		}
	}
}

// BenchmarkPutEncrypted takes in the same 1 GiB file (from the page cache)
// into an unencrypted FS and into an Encrypted store over FSBackend, in
// alternation, and reports both throughputs and the overhead of encryption
// (extra time per byte, in percent of the unencrypted time):
//
//	CUSTODY_BENCH_BIG=1 go test -run '^$' -bench BenchmarkPutEncrypted -benchtime 3x -timeout 30m ./internal/blobstore/
//
// Skipped under -short and unless CUSTODY_BENCH_BIG=1. Each stored blob is
// removed after its Put (untimed), so every Put writes and fsyncs.
func BenchmarkPutEncrypted(b *testing.B) {
	if testing.Short() || os.Getenv("CUSTODY_BENCH_BIG") != "1" {
		b.Skip("set CUSTODY_BENCH_BIG=1 (and no -short) to take in a 1 GiB file")
	}
	const size = 1 << 30
	dir := b.TempDir()
	path := filepath.Join(dir, "big.bin")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(f, newStream(11), size); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	plain, err := NewFS(filepath.Join(dir, "plain"))
	if err != nil {
		b.Fatal(err)
	}
	enc, eb, _ := newEncrypted(b)
	ctx := context.Background()
	put := func(s custody.BlobStore, remove func(custody.Ref) string) (wall, cpu time.Duration) {
		src, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer src.Close()
		cpu0 := processCPU()
		start := time.Now()
		info, err := s.Put(ctx, src)
		wall = time.Since(start)
		cpu = processCPU() - cpu0
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := os.Remove(remove(info.Ref)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		return wall, cpu
	}
	// Warm the page cache with the source file.
	put(plain, plain.Path)
	var tPlain, tEnc, cPlain, cEnc time.Duration
	b.SetBytes(2 * size)
	b.ResetTimer()
	for b.Loop() {
		w, c := put(plain, plain.Path)
		tPlain, cPlain = tPlain+w, cPlain+c
		w, c = put(enc, eb.Path)
		tEnc, cEnc = tEnc+w, cEnc+c
	}
	mbps := func(d time.Duration) float64 { return float64(b.N) * size / d.Seconds() / 1e6 }
	b.ReportMetric(mbps(tPlain), "plain-MB/s")
	b.ReportMetric(mbps(tEnc), "encrypted-MB/s")
	b.ReportMetric(100*(tEnc.Seconds()/tPlain.Seconds()-1), "overhead-%")
	if cPlain > 0 {
		// CPU seconds (user + system, all threads) per GiB: unlike the
		// throughputs, barely affected by other load on the machine.
		b.ReportMetric(cPlain.Seconds()/float64(b.N), "plain-cpu-s/GiB")
		b.ReportMetric(cEnc.Seconds()/float64(b.N), "encrypted-cpu-s/GiB")
	}
}

// BenchmarkOpenEncrypted reads the same 1 GiB blob back, verified, from an
// unencrypted FS and from an Encrypted store, in alternation, and reports
// both throughputs and the overhead of decryption:
//
//	CUSTODY_BENCH_BIG=1 go test -run '^$' -bench BenchmarkOpenEncrypted -benchtime 3x -timeout 30m ./internal/blobstore/
func BenchmarkOpenEncrypted(b *testing.B) {
	if testing.Short() || os.Getenv("CUSTODY_BENCH_BIG") != "1" {
		b.Skip("set CUSTODY_BENCH_BIG=1 (and no -short) to read a 1 GiB blob")
	}
	const size = 1 << 30
	ctx := context.Background()
	plain, err := NewFS(filepath.Join(b.TempDir(), "plain"))
	if err != nil {
		b.Fatal(err)
	}
	enc, _, _ := newEncrypted(b)
	var ref custody.Ref
	for _, s := range []custody.BlobStore{plain, enc} {
		info, err := s.Put(ctx, io.LimitReader(newStream(12), size))
		if err != nil {
			b.Fatal(err)
		}
		ref = info.Ref
	}
	buf := make([]byte, 1<<20)
	read := func(s custody.BlobStore) (wall, cpu time.Duration) {
		cpu0 := processCPU()
		start := time.Now()
		rc, err := s.Open(ctx, ref)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, rc, buf)
		rc.Close()
		if err != nil || n != size {
			b.Fatalf("read %d bytes, %v", n, err)
		}
		return time.Since(start), processCPU() - cpu0
	}
	var tPlain, tEnc, cPlain, cEnc time.Duration
	b.SetBytes(2 * size)
	for b.Loop() {
		w, c := read(plain)
		tPlain, cPlain = tPlain+w, cPlain+c
		w, c = read(enc)
		tEnc, cEnc = tEnc+w, cEnc+c
	}
	mbps := func(d time.Duration) float64 { return float64(b.N) * size / d.Seconds() / 1e6 }
	b.ReportMetric(mbps(tPlain), "plain-MB/s")
	b.ReportMetric(mbps(tEnc), "encrypted-MB/s")
	b.ReportMetric(100*(tEnc.Seconds()/tPlain.Seconds()-1), "overhead-%")
	if cPlain > 0 {
		b.ReportMetric(cPlain.Seconds()/float64(b.N), "plain-cpu-s/GiB")
		b.ReportMetric(cEnc.Seconds()/float64(b.N), "encrypted-cpu-s/GiB")
	}
}

// processCPU returns the CPU time (user + system) of this process so far,
// read from /proc/self/stat, or 0 where there is none.
func processCPU() time.Duration {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th, in clock ticks of 1/100 s on Linux.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	f := bytes.Fields(data[i+1:])
	if len(f) < 13 {
		return 0
	}
	var utime, stime int64
	fmt.Sscan(string(f[11]), &utime)
	fmt.Sscan(string(f[12]), &stime)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// flipByteAt flips the byte at off, or at size+off if off is negative.
func flipByteAt(t *testing.T, name string, off int64) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if off < 0 {
		fi, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		off += fi.Size()
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x01
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func truncateBy(t *testing.T, name string, n int64) {
	t.Helper()
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(name, fi.Size()-n); err != nil {
		t.Fatal(err)
	}
}

func appendBytes(t *testing.T, name string, p []byte) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(p); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
