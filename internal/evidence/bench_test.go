package evidence_test

import (
	"context"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/custody-dev/custody"
)

// BenchmarkIntake1GiB takes in a 1 GiB file from a temporary file: hashing,
// writing and fsyncing the blob, sniffing and the durable log append. Its
// MB/s compare with hashing alone:
//
//	CUSTODY_BENCH_BIG=1 go test -run '^$' -bench BenchmarkIntake1GiB -benchtime 3x -timeout 30m ./internal/evidence/
//	openssl dgst -sha256 <the same file>   # e.g. time it on a 1 GiB file from head -c 1G /dev/urandom
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
