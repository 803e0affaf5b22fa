package evidence_test

import (
	"context"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/custody-dev/custody"
)

// BenchmarkIntake1GiB takes in a 1 GiB file from a temporary file: hashing,
// writing and fsyncing the blob, sniffing and the durable log append
// (sub-benchmark "custody"); side by side, "openssl" runs
// `openssl dgst -sha256` over the same file (skipped without openssl), so
// the two MB/s compare directly:
//
//	CUSTODY_BENCH_BIG=1 go test -run '^$' -bench BenchmarkIntake1GiB -benchtime 3x -timeout 30m ./internal/evidence/
//
// Skipped under -short and unless CUSTODY_BENCH_BIG=1. Every iteration
// changes the first 8 bytes, so each is a new blob, not a duplicate.
func BenchmarkIntake1GiB(b *testing.B) {
	if testing.Short() || os.Getenv("CUSTODY_BENCH_BIG") != "1" {
		b.Skip("set CUSTODY_BENCH_BIG=1 (and no -short) to take in a 1 GiB file")
	}
	const size = 1 << 30
	path := filepath.Join(b.TempDir(), "big.bin")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{1})
	if _, err := io.CopyN(f, rng, size); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	b.Run("openssl", func(b *testing.B) {
		if _, err := exec.LookPath("openssl"); err != nil {
			b.Skip("no openssl")
		}
		b.SetBytes(size)
		for b.Loop() {
			if out, err := exec.Command("openssl", "dgst", "-sha256", path).CombinedOutput(); err != nil {
				b.Fatalf("openssl: %v: %s", err, out)
			}
		}
	})
	b.Run("custody", func(b *testing.B) { benchIntake(b, path, size) })
}

func benchIntake(b *testing.B, path string, size int64) {
	e := newService(b, "sqlite")
	ctx := context.Background()
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			b.Fatal(err)
		}
		var head [8]byte
		binary.BigEndian.PutUint64(head[:], uint64(i)+1)
		if _, err := f.WriteAt(head[:], 0); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		it, err := e.svc.Intake(ctx, e.admin, custody.IntakeRequest{Name: "big.bin", Content: f})
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		if it.Size != size || it.Duplicate {
			b.Fatalf("item size %d duplicate %v", it.Size, it.Duplicate)
		}
		b.StopTimer()
		os.Remove(e.blobs.Path(it.Blob)) // keep the disk use to one blob
		b.StartTimer()
	}
}

// BenchmarkVerify4GiB runs `custody verify`'s checks (Service.Verify with
// two workers: every blob re-hashed, the log, checkpoints and index) over a
// store of 32 blobs of 128 MiB, side by side with `openssl dgst -sha256`
// over the same blob files in one process (one core). The blobs are read
// once before timing, so both hash from the page cache.
//
//	CUSTODY_BENCH_BIG=1 go test -run '^$' -bench BenchmarkVerify4GiB -benchtime 3x -timeout 30m ./internal/evidence/
func BenchmarkVerify4GiB(b *testing.B) {
	if testing.Short() || os.Getenv("CUSTODY_BENCH_BIG") != "1" {
		b.Skip("set CUSTODY_BENCH_BIG=1 (and no -short) to build a 4 GiB store")
	}
	const files, size = 32, 128 << 20
	e := newService(b, "sqlite")
	ctx := context.Background()
	rng := rand.NewChaCha8([32]byte{2})
	var paths []string
	for range files {
		it, err := e.svc.Intake(ctx, e.admin, custody.IntakeRequest{Name: "part.bin", Content: io.LimitReader(rng, size)})
		if err != nil {
			b.Fatal(err)
		}
		p := e.blobs.Path(it.Blob)
		paths = append(paths, p)
		f, err := os.Open(p) // into the page cache
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, f)
		f.Close()
	}
	if _, err := e.svc.Publish(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("openssl", func(b *testing.B) {
		if _, err := exec.LookPath("openssl"); err != nil {
			b.Skip("no openssl")
		}
		b.SetBytes(files * size)
		for b.Loop() {
			if out, err := exec.Command("openssl", append([]string{"dgst", "-sha256"}, paths...)...).CombinedOutput(); err != nil {
				b.Fatalf("openssl: %v: %s", err, out)
			}
		}
	})
	b.Run("custody", func(b *testing.B) {
		b.SetBytes(files * size)
		for b.Loop() {
			rep, err := e.svc.Verify(ctx, 2, nil)
			if err != nil {
				b.Fatal(err)
			}
			if !rep.OK() || rep.BlobBytes != files*size {
				b.Fatalf("verify: %+v", rep)
			}
		}
	})
}
