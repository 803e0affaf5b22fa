// Package s3test starts a real S3-compatible server for tests: VersityGW
// (Apache-2.0) serving a plain directory on loopback. .ci/versitygw.sh
// installs the pinned version; without it the tests that need S3 are
// skipped, or fail when CI=true.
package s3test

import (
	"fmt"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a VersityGW S3 gateway serving a posix directory, started
// for one test.
type Server struct {
	Root     string // posix backend directory: one subdirectory per bucket
	Endpoint string // http://127.0.0.1:<port>

	mu      sync.Mutex
	buckets int
}

// Credentials of the test server.
const (
	AccessKey = "custody-test"
	SecretKey = "custody-test-secret"
)

// find returns the versitygw binary, skipping the test if it is not
// installed (failing it when CI=true: CI must run .ci/versitygw.sh).
func find(t testing.TB) string {
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

// Start starts a gateway on a free loopback port and stops it when
// the test ends. It points the AWS SDK's environment at it.
func Start(t testing.TB) *Server {
	bin := find(t)
	root := t.TempDir()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	var out strings.Builder
	cmd := exec.Command(bin,
		"--access", AccessKey, "--secret", SecretKey,
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
	g := &Server{Root: root, Endpoint: "http://" + addr}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(g.Endpoint + "/")
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

	t.Setenv("AWS_ACCESS_KEY_ID", AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", SecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(root, "no-aws-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(root, "no-aws-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return g
}

// NewBucket creates an empty bucket: the posix backend maps buckets to the
// top-level directories of its root.
func (g *Server) NewBucket(t testing.TB) string {
	t.Helper()
	g.mu.Lock()
	g.buckets++
	name := fmt.Sprintf("custody-%d", g.buckets)
	g.mu.Unlock()
	if err := os.Mkdir(filepath.Join(g.Root, name), 0o755); err != nil {
		t.Fatal(err)
	}
	return name
}

func (g *Server) BucketURL(bucket string) string {
	return fmt.Sprintf("s3://%s?endpoint=%s&region=us-east-1&use_path_style=true&prefix=custody/", bucket, g.Endpoint)
}
