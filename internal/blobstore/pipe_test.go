package blobstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func TestCopyHashedSizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, copyBufferSize - 1, copyBufferSize, copyBufferSize + 1, pipeDepth*copyBufferSize + 7, 9*copyBufferSize + 3} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		f, err := os.Create(filepath.Join(t.TempDir(), "out"))
		if err != nil {
			t.Fatal(err)
		}
		// A reader that returns short reads, to exercise the filling of chunks.
		n, sum, err := copyHashed(context.Background(), f, io.MultiReader(bytes.NewReader(data[:size/3]), bytes.NewReader(data[size/3:])))
		f.Close()
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		want := sha256.Sum256(data)
		if n != int64(size) || !bytes.Equal(sum, want[:]) {
			t.Errorf("size %d: got n=%d sum=%x, want %x", size, n, sum, want)
		}
		got, _ := os.ReadFile(f.Name())
		if !bytes.Equal(got, data) {
			t.Errorf("size %d: the file differs from the content", size)
		}
	}
}

type failingReader struct {
	left int
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, r.err
	}
	n := min(len(p), r.left)
	r.left -= n
	return n, nil
}

func TestCopyHashedErrors(t *testing.T) {
	boom := errors.New("connection reset")
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, _, err := copyHashed(context.Background(), f, &failingReader{left: 5*copyBufferSize + 10, err: boom}); !errors.Is(err, boom) {
		t.Errorf("read error: got %v, want %v", err, boom)
	}

	ro, err := os.Open(f.Name()) // read-only: every write fails
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, _, err := copyHashed(context.Background(), ro, io.LimitReader(zeros{}, 20*copyBufferSize)); err == nil {
		t.Error("write to a read-only file: no error")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := copyHashed(ctx, f, io.LimitReader(zeros{}, 3*copyBufferSize)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestCopyHashedTmpfs writes where O_DIRECT may be refused (tmpfs): the
// copy must fall back to buffered writes, not fail.
func TestCopyHashedTmpfs(t *testing.T) {
	dir, err := os.MkdirTemp("/dev/shm", "custody-test-")
	if err != nil {
		t.Skip("no /dev/shm:", err)
	}
	defer os.RemoveAll(dir)
	f, err := os.Create(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := bytes.Repeat([]byte("evidence"), copyBufferSize/2+5)
	n, sum, err := copyHashed(context.Background(), f, bytes.NewReader(data))
	want := sha256.Sum256(data)
	if err != nil || n != int64(len(data)) || !bytes.Equal(sum, want[:]) {
		t.Fatalf("copyHashed on tmpfs: n=%d err=%v", n, err)
	}
	if got, _ := os.ReadFile(f.Name()); !bytes.Equal(got, data) {
		t.Error("the file differs from the content")
	}
}

// TestCopyHashedCutShort: a source cut short (io.ErrUnexpectedEOF, as
// net/http reports a truncated body) fails the copy.
func TestCopyHashedCutShort(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, _, err := copyHashed(context.Background(), f, &failingReader{left: 3*copyBufferSize + 5, err: io.ErrUnexpectedEOF}); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("got %v, want io.ErrUnexpectedEOF", err)
	}
}
