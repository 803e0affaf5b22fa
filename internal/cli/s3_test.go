package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custody-dev/custody/internal/blobstore/s3test"
)

// TestS3Store runs a store whose blobs, published log and private bundles
// live in S3-compatible object storage (a real VersityGW on loopback):
// init, add, show the content's hash, history, verify, and tampering in the
// bucket detected.
func TestS3Store(t *testing.T) {
	g := s3test.Start(t)
	bucket := g.NewBucket(t)
	url := g.BucketURL(bucket)
	dir := filepath.Join(t.TempDir(), "data")
	r := run(t, nil, "init", "--data", dir, "--blobs", url, "--name", "office")
	if r.code != 0 {
		t.Fatalf("init --blobs s3: %d %s", r.code, r.stderr)
	}
	photo := writeFile(t, "grave-17.jpg", "not really a photo of grave 17")
	if r = run(t, nil, "add", "--data", dir, "--collector", "o.kovalenko", photo); r.code != 0 {
		t.Fatalf("add: %d %s", r.code, r.stderr)
	}
	items := itemsJSON(t, dir)
	if len(items) != 1 {
		t.Fatalf("%d items", len(items))
	}
	hex := items[0].Blob.Hex()
	// Stores are encrypted by default: the bucket holds an age file.
	blob := filepath.Join(g.Root, bucket, "custody", "age", hex+".age")
	if _, err := os.Stat(blob); err != nil {
		t.Fatalf("the blob is not in the bucket: %v", err)
	}
	if b, _ := os.ReadFile(blob); strings.Contains(string(b), "grave 17") {
		t.Error("the bucket holds the plaintext")
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs")); err == nil {
		t.Error("an S3 store also wrote a local blobs directory")
	}
	if r = run(t, nil, "verify", "--data", dir); r.code != 0 {
		t.Fatalf("verify: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// A byte changed in the bucket is found and named.
	b, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	b[0] ^= 1
	if err := os.WriteFile(blob, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, nil, "verify", "--data", dir)
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, items[0].ID) {
		t.Errorf("verify after tampering in the bucket: code %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
