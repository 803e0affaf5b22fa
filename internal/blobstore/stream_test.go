package blobstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"testing/iotest"

	"filippo.io/age"
	"github.com/custody-dev/custody"
)

// TestAgeCompatible: what Put stores is a standard age file. The age
// library decrypts it with the store's key file and with a backup
// identity alone; so does the age command where it is installed (go
// install filippo.io/age/cmd/age@v1.3.2). Sizes cover age's 64 KiB chunks
// and the 1 MiB buffers of the pipeline, where the last chunk must be
// found by looking ahead; sources deliver data in odd pieces and with EOF.
func TestAgeCompatible(t *testing.T) {
	ctx := context.Background()
	e, b, dir := newEncrypted(t)
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
	ageCmd, _ := exec.LookPath("age")
	if ageCmd == "" {
		t.Log("age command not installed: checking with the age library only")
	}
	const mib = 1 << 20
	sizes := []int{0, 1, 64<<10 - 1, 64 << 10, 64<<10 + 1, 15 * 64 << 10, mib - 1, mib, mib + 1,
		2 * mib, 2*mib + 64<<10, 3*mib + 5}
	sources := map[string]func(io.Reader) io.Reader{
		"plain":   func(r io.Reader) io.Reader { return r },
		"half":    iotest.HalfReader,
		"dataEOF": iotest.DataErrReader,
	}
	for _, size := range sizes {
		for name, wrap := range sources {
			if name != "plain" && size > 2*mib+64<<10 {
				continue
			}
			t.Run(fmt.Sprintf("%d/%s", size, name), func(t *testing.T) {
				plain := make([]byte, size)
				io.ReadFull(newStream(uint64(size)), plain)
				info, err := e.Put(ctx, wrap(bytes.NewReader(plain)))
				if err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(plain)
				if info.Ref != custody.RefFromDigest(sum[:]) || info.Size != int64(size) {
					t.Fatalf("Put = %+v", info)
				}
				path := b.Path(info.Ref)
				stored, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				for _, id := range []age.Identity{ring.Identities()[0], backup} {
					r, err := age.Decrypt(bytes.NewReader(stored), id)
					if err != nil {
						t.Fatalf("age.Decrypt: %v", err)
					}
					got, err := io.ReadAll(r)
					if err != nil || !bytes.Equal(got, plain) {
						t.Fatalf("age.Decrypt read %d bytes, %v; want the %d put", len(got), err, size)
					}
				}
				if got := readBlob(t, e, info.Ref); !bytes.Equal(got, plain) {
					t.Fatalf("Open read %d bytes, want %d", len(got), size)
				}
				if ageCmd != "" && name == "plain" {
					out, err := exec.Command(ageCmd, "-d", "-i", filepath.Join(KeyDir(dir), "age-1.key"), path).Output()
					if err != nil || !bytes.Equal(out, plain) {
						t.Fatalf("age -d: %d bytes, %v", len(out), err)
					}
				}
				// Removed, so that the next source stores it again.
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestEncryptedPutFreshKeys: every Put draws a new file key and nonce, so
// the same content stored twice (in two stores) differs entirely.
func TestEncryptedPutFreshKeys(t *testing.T) {
	ctx := context.Background()
	e, b, _ := newEncrypted(t)
	content := bytes.Repeat([]byte("x"), 200<<10)
	info, err := e.Put(ctx, bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(b.Path(info.Ref))
	os.Remove(b.Path(info.Ref))
	if _, err := e.Put(ctx, bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(b.Path(info.Ref))
	if len(first) != len(second) || bytes.Equal(first[len(first)-1000:], second[len(second)-1000:]) {
		t.Error("two encryptions of the same content share ciphertext")
	}
}

// writeLog records the lengths of writes, keeping the bytes.
type writeLog struct {
	bytes.Buffer
	lens []int
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.lens = append(w.lens, len(p))
	return w.Buffer.Write(p)
}

// TestEncryptWholeBuffers: the age file is written in whole buffers of
// copyBufferSize bytes (disks take aligned, whole-MiB writes fastest),
// the last one excepted, whatever the header's size and the content's.
func TestEncryptWholeBuffers(t *testing.T) {
	ids := make([]*age.X25519Identity, 3)
	var recipients []age.Recipient
	for i := range ids {
		ids[i], _ = age.GenerateX25519Identity()
		recipients = append(recipients, ids[i].Recipient())
	}
	for _, nr := range []int{1, 3} {
		for _, size := range []int{0, 5, copyBufferSize - 300, copyBufferSize, 3*copyBufferSize + 77, 17 * copyBufferSize} {
			plain := make([]byte, size)
			io.ReadFull(newStream(uint64(size+nr)), plain)
			var w writeLog
			n, sum, err := encryptHashed(context.Background(), &w, bytes.NewReader(plain), recipients[:nr])
			if err != nil || n != int64(size) || !bytes.Equal(sum, sha256Of(plain)) {
				t.Fatalf("%d bytes, %d recipients: n %d, %v", size, nr, n, err)
			}
			for i, l := range w.lens {
				if i < len(w.lens)-1 && l != copyBufferSize || l == 0 || l > copyBufferSize {
					t.Errorf("%d bytes, %d recipients: write %d of %d has %d bytes", size, nr, i, len(w.lens), l)
				}
			}
			r, err := age.Decrypt(bytes.NewReader(w.Bytes()), ids[nr-1])
			if err != nil {
				t.Fatal(err)
			}
			if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, plain) {
				t.Errorf("%d bytes, %d recipients: age decrypts %d bytes, %v", size, nr, len(got), err)
			}
		}
	}
}

func sha256Of(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
