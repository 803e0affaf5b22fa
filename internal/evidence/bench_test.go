package evidence_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/evidence"
)

// BenchmarkIntake1GiB takes in a 1 GiB file from a temporary file: hashing,
// writing and fsyncing the blob, sniffing and the durable log append
// (sub-benchmark "custody"); side by side, "openssl" runs
// `openssl dgst -sha256` over the same file (skipped without openssl), so
// the two MB/s compare directly. Sub-benchmark "encryption" compares intake
// into an unencrypted and an encrypted store (see benchIntakeEncryption):
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
	b.Run("encryption", func(b *testing.B) { benchIntakeEncryption(b, path, size) })
}

// benchIntakeEncryption takes the file in, through Service.Intake, into an
// unencrypted store and into an encrypted one (age blobs, sealed payloads:
// as `custody init` makes them), in alternation and swapping the order on
// every iteration, and reports both throughputs, the overhead of encryption
// (extra wall time, in % of the unencrypted time; the goal is <= 15) and
// the CPU time (user + system, all threads) per GiB of each.
func benchIntakeEncryption(b *testing.B, path string, size int64) {
	plain := newService(b, "sqlite")
	enc := newEncryptedService(b, "sqlite")
	ctx := context.Background()
	i := 0
	intake := func(svc *evidence.Service, actor *custody.User, remove func(custody.Ref) string) (wall, cpu time.Duration) {
		b.StopTimer()
		i++
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		var head [8]byte
		binary.BigEndian.PutUint64(head[:], uint64(i))
		if _, err := f.WriteAt(head[:], 0); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		cpu0 := processCPU()
		start := time.Now()
		it, err := svc.Intake(ctx, actor, custody.IntakeRequest{Name: "big.bin", Content: f})
		wall, cpu = time.Since(start), processCPU()-cpu0
		if err != nil {
			b.Fatal(err)
		}
		if it.Size != size || it.Duplicate {
			b.Fatalf("item size %d duplicate %v", it.Size, it.Duplicate)
		}
		b.StopTimer()
		if err := os.Remove(remove(it.Blob)); err != nil { // keep the disk use to one blob
			b.Fatal(err)
		}
		b.StartTimer()
		return wall, cpu
	}
	runPlain := func() (time.Duration, time.Duration) { return intake(plain.svc, plain.admin, plain.blobs.Path) }
	runEnc := func() (time.Duration, time.Duration) { return intake(enc.svc, enc.admin, enc.backend.Path) }
	runPlain() // the file into the page cache
	var tPlain, tEnc, cPlain, cEnc time.Duration
	b.SetBytes(2 * size)
	b.ResetTimer()
	for n := 0; b.Loop(); n++ {
		var wp, cp, we, ce time.Duration
		if n%2 == 0 {
			wp, cp = runPlain()
			we, ce = runEnc()
		} else {
			we, ce = runEnc()
			wp, cp = runPlain()
		}
		tPlain, cPlain, tEnc, cEnc = tPlain+wp, cPlain+cp, tEnc+we, cEnc+ce
	}
	mbps := func(d time.Duration) float64 { return float64(b.N) * float64(size) / d.Seconds() / 1e6 }
	gib := float64(b.N) * float64(size) / (1 << 30)
	b.ReportMetric(mbps(tPlain), "plain-MB/s")
	b.ReportMetric(mbps(tEnc), "encrypted-MB/s")
	b.ReportMetric(100*(tEnc.Seconds()/tPlain.Seconds()-1), "overhead-%")
	if cPlain > 0 {
		b.ReportMetric(cPlain.Seconds()/gib, "plain-cpu-s/GiB")
		b.ReportMetric(cEnc.Seconds()/gib, "encrypted-cpu-s/GiB")
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
