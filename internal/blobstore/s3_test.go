package blobstore

import (
	"context"
	"fmt"
	"go/build"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custody-dev/custody"
	"gocloud.dev/blob"
)

// versityGW is a VersityGW S3 gateway serving a posix directory, started
// for one test.
type versityGW struct {
	root     string // posix backend directory: one subdirectory per bucket
	endpoint string // http://127.0.0.1:<port>

	mu      sync.Mutex
	buckets int
}

const (
	testAccessKey = "custody-test"
	testSecretKey = "custody-test-secret"
)

// findVersityGW returns the versitygw binary, skipping the test if it is not
// installed (failing it when CI=true: CI must run .ci/versitygw.sh).
func findVersityGW(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		gopath = build.Default.GOPATH
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "versitygw")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	msg := "versitygw not found on PATH or in $GOPATH/bin; install it with .ci/versitygw.sh to run the S3 tests"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// startVersityGW starts a gateway on a free loopback port and stops it when
// the test ends. It points the AWS SDK's environment at it.
func startVersityGW(t *testing.T) *versityGW {
	bin := findVersityGW(t)
	root := t.TempDir()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	var out strings.Builder
	cmd := exec.Command(bin,
		"--access", testAccessKey, "--secret", testSecretKey,
		"--port", addr, "--region", "us-east-1", "--quiet",
		"posix", root)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	// Wait until it answers HTTP (403 to an unsigned request is an answer).
	g := &versityGW{root: root, endpoint: "http://" + addr}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(g.endpoint + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case <-exited:
			t.Fatalf("versitygw exited early: %s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not answer on %s within 15s: %v\n%s", addr, err, out.String())
		}
	}

	t.Setenv("AWS_ACCESS_KEY_ID", testAccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(root, "no-aws-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(root, "no-aws-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return g
}

// newBucket creates an empty bucket: the posix backend maps buckets to the
// top-level directories of its root.
func (g *versityGW) newBucket(t *testing.T) string {
	t.Helper()
	g.mu.Lock()
	g.buckets++
	name := fmt.Sprintf("custody-%d", g.buckets)
	g.mu.Unlock()
	if err := os.Mkdir(filepath.Join(g.root, name), 0o755); err != nil {
		t.Fatal(err)
	}
	return name
}

func (g *versityGW) bucketURL(bucket string) string {
	return fmt.Sprintf("s3://%s?endpoint=%s&region=us-east-1&use_path_style=true&prefix=custody/", bucket, g.endpoint)
}

func (g *versityGW) open(t *testing.T) (*S3, string) {
	t.Helper()
	bucket := g.newBucket(t)
	s, err := OpenS3(context.Background(), g.bucketURL(bucket))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, bucket
}

func TestS3(t *testing.T) {
	g := startVersityGW(t)
	var mu sync.Mutex
	buckets := map[*S3]string{}
	testBlobStore(t, blobHarness{
		open: func(t *testing.T) custody.BlobStore {
			s, bucket := g.open(t)
			mu.Lock()
			buckets[s] = bucket
			mu.Unlock()
			return s
		},
		corrupt: func(t *testing.T, s custody.BlobStore, ref custody.Ref) {
			mu.Lock()
			bucket := buckets[s.(*S3)]
			mu.Unlock()
			flipByte(t, filepath.Join(g.root, bucket, "custody", "sha256", ref.Hex()))
		},
		temps: func(t *testing.T, s custody.BlobStore) []string {
			mu.Lock()
			bucket := buckets[s.(*S3)]
			mu.Unlock()
			var temps []string
			it := s.(*S3).bucket.List(&blob.ListOptions{Prefix: "tmp/"})
			for {
				obj, err := it.Next(context.Background())
				if err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
				temps = append(temps, obj.Key)
			}
			// Parts of unfinished multipart uploads.
			staging := filepath.Join(g.root, bucket, ".sgwtmp")
			filepath.WalkDir(staging, func(path string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					temps = append(temps, path)
				}
				return nil
			})
			return temps
		},
	})
}

func TestS3Objects(t *testing.T) {
	g := startVersityGW(t)
	testObjectStore(t, func(t *testing.T) custody.ObjectStore {
		s, _ := g.open(t)
		return s.Objects("log")
	})
}

func TestS3ObjectsBesideBlobs(t *testing.T) {
	g := startVersityGW(t)
	s, bucket := g.open(t)
	ctx := context.Background()
	if err := s.Objects("log/").Put(ctx, "checkpoint", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(g.root, bucket, "custody", "log", "checkpoint")); err != nil {
		t.Errorf("object not stored under the bucket prefix and objects prefix: %v", err)
	}
	if refs := listRefs(t, s); len(refs) != 0 {
		t.Errorf("objects listed as blobs: %v", refs)
	}
	for _, prefix := range []string{"", "sha256", "tmp/x", "../x"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Objects(%q) did not panic", prefix)
				}
			}()
			s.Objects(prefix)
		}()
	}
}

func TestOpenS3Errors(t *testing.T) {
	ctx := context.Background()
	for _, u := range []string{"gs://bucket", "://", "s3://bucket?unknown_param=1"} {
		if _, err := OpenS3(ctx, u); err == nil {
			t.Errorf("OpenS3(%q) succeeded", u)
		}
	}
	g := startVersityGW(t)
	if _, err := OpenS3(ctx, g.bucketURL("no-such-bucket")); custody.ErrorCode(err) != custody.ENOTFOUND {
		t.Errorf("OpenS3(missing bucket) err = %v, want ENOTFOUND", err)
	}
}
