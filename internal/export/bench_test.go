package export_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/export"
	"github.com/custody-dev/custody/verify"
)

// The bundle benchmarks export and verify a big case, side by side with
// `openssl dgst -sha256` over the same files (one process, one core: the
// reference the issue sets), and, for export, with a plain copy of the same
// files followed by fsync (the disk's own limit):
//
//	CUSTODY_BENCH_BIG=1 CUSTODY_BENCH_BUNDLE_GB=10 go test -run '^$' -bench 'Bundle' -benchtime 1x -timeout 60m ./internal/export/
//
// CUSTODY_BENCH_BUNDLE_GB is the size of the case in GB (10^9 bytes; default
// 4), taken in as files of 250 MB of random bytes. CUSTODY_BENCH_OUT is
// where bundles are written (default: the test's temporary directory; a
// tmpfs there measures export without the disk). Skipped under -short and
// unless CUSTODY_BENCH_BIG=1. Each needs about three times the case's size
// of free disk.

const benchCase = "BENCH-1"

type bigCase struct {
	store *store
	paths []string // the blob files
	total int64
	out   string
}

var (
	bigOnce sync.Once
	big     *bigCase
	bigErr  error
)

// bigFixture builds the store once per test binary: intake is not what is
// measured.
func bigFixture(b *testing.B) *bigCase {
	if testing.Short() || os.Getenv("CUSTODY_BENCH_BIG") != "1" {
		b.Skip("set CUSTODY_BENCH_BIG=1 (and no -short) to export a multi-gigabyte case")
	}
	bigOnce.Do(func() {
		gb := 4.0
		if v := os.Getenv("CUSTODY_BENCH_BUNDLE_GB"); v != "" {
			if gb, bigErr = strconv.ParseFloat(v, 64); bigErr != nil {
				return
			}
		}
		const fileSize = 250_000_000
		files := max(1, int(gb*1e9/fileSize))
		dir, err := os.MkdirTemp("", "custody-bench-")
		if err != nil {
			bigErr = err
			return
		}
		big = &bigCase{out: os.Getenv("CUSTODY_BENCH_OUT")}
		if big.out == "" {
			big.out = dir
		}
		// The store lives beyond this benchmark: a sub-benchmark's
		// TempDir would vanish with it. It is removed by TestMain.
		s := newStore(&keepTB{b, dir})
		inv := s.user("inv", custody.RoleInvestigator)
		rng := rand.NewChaCha8([32]byte{7})
		for i := range files {
			it := s.intake(inv, custody.IntakeRequest{Name: fmt.Sprintf("video-%03d.mp4", i), Case: benchCase, Collector: "Mobile group 7",
				Content: io.LimitReader(rng, fileSize)})
			big.paths = append(big.paths, s.blobs.Path(it.Blob))
			big.total += it.Size
		}
		big.store = s
		cleanups = append(cleanups, func() { os.RemoveAll(dir) })
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return big
}

var cleanups []func()

func TestMain(m *testing.M) {
	code := m.Run()
	for _, c := range cleanups {
		c()
	}
	os.Exit(code)
}

// keepTB is a testing.TB whose TempDir is a fixed directory that outlives
// the (sub-)benchmark, and whose Cleanup runs at the end of the binary.
type keepTB struct {
	*testing.B
	dir string
}

func (k *keepTB) TempDir() string {
	d, err := os.MkdirTemp(k.dir, "t")
	if err != nil {
		k.Fatal(err)
	}
	return d
}

func (k *keepTB) Cleanup(f func()) { cleanups = append(cleanups, f) }

func openssl(b *testing.B, paths []string, total int64) {
	if _, err := exec.LookPath("openssl"); err != nil {
		b.Skip("no openssl")
	}
	b.SetBytes(total)
	for b.Loop() {
		if out, err := exec.Command("openssl", append([]string{"dgst", "-sha256"}, paths...)...).CombinedOutput(); err != nil {
			b.Fatalf("openssl: %v: %s", err, out)
		}
	}
}

func readAll(b *testing.B, paths []string) {
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, f)
		f.Close()
	}
}

func BenchmarkExportBundle(b *testing.B) {
	c := bigFixture(b)
	ctx := context.Background()
	readAll(b, c.paths)
	b.Run("openssl", func(b *testing.B) { openssl(b, c.paths, c.total) })
	b.Run("copy+fsync", func(b *testing.B) {
		b.SetBytes(c.total)
		for b.Loop() {
			dst, err := os.MkdirTemp(c.out, "copy-")
			if err != nil {
				b.Fatal(err)
			}
			for i, p := range c.paths {
				if err := copyFile(p, filepath.Join(dst, strconv.Itoa(i))); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			os.RemoveAll(dst)
			b.StartTimer()
		}
	})
	for _, kind := range []string{"dir", "zip"} {
		b.Run(kind, func(b *testing.B) {
			b.SetBytes(c.total)
			for i := 0; b.Loop(); i++ {
				out := filepath.Join(c.out, fmt.Sprintf("bundle-%s-%d", kind, i))
				if kind == "zip" {
					out += ".zip"
				}
				res, err := export.Export(ctx, c.store.svc, export.Options{Case: benchCase, Out: out, Actor: c.store.admin})
				if err != nil {
					b.Fatal(err)
				}
				if res.Bytes != c.total {
					b.Fatalf("exported %d bytes, want %d", res.Bytes, c.total)
				}
				b.StopTimer()
				os.RemoveAll(out)
				b.StartTimer()
			}
		})
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func BenchmarkVerifyBundle(b *testing.B) {
	c := bigFixture(b)
	ctx := context.Background()
	for _, kind := range []string{"dir", "zip"} {
		b.Run(kind, func(b *testing.B) {
			out := filepath.Join(c.out, "verify-"+kind)
			if kind == "zip" {
				out += ".zip"
			}
			if _, err := export.Export(ctx, c.store.svc, export.Options{Case: benchCase, Out: out, Actor: c.store.admin}); err != nil {
				b.Fatal(err)
			}
			defer os.RemoveAll(out)
			var files []string
			var total int64
			if kind == "dir" {
				filepath.Walk(out, func(p string, fi os.FileInfo, err error) error {
					if err == nil && fi.Mode().IsRegular() {
						files, total = append(files, p), total+fi.Size()
					}
					return nil
				})
			} else {
				fi, err := os.Stat(out)
				if err != nil {
					b.Fatal(err)
				}
				files, total = []string{out}, fi.Size()
			}
			readAll(b, files)
			b.Run("openssl", func(b *testing.B) { openssl(b, files, total) })
			b.Run("custody", func(b *testing.B) {
				b.SetBytes(total)
				for b.Loop() {
					fsys, closer := openBundle(b, out)
					rep, err := verify.VerifyBundle(fsys, &verify.BundleOptions{Key: c.store.vkey})
					closer.Close()
					if err != nil {
						b.Fatal(err)
					}
					if !rep.OK() || rep.Bytes < c.total {
						b.Fatalf("verify: %+v", rep)
					}
				}
			})
		})
	}
}

// openBundle opens a bundle directory or zip.
func openBundle(t testing.TB, path string) (fs.FS, io.Closer) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.IsDir() {
		return os.DirFS(path), io.NopCloser(nil)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := verify.OpenBundleZip(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	return fsys, f
}
