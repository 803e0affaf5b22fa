package blobstore

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"filippo.io/age"
	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/blobstore/s3test"
	"gocloud.dev/blob"
)

type versityGW struct{ *s3test.Server }

func startVersityGW(t *testing.T) *versityGW { return &versityGW{s3test.Start(t)} }

func (g *versityGW) open(t *testing.T) (*S3, string) {
	t.Helper()
	bucket := g.NewBucket(t)
	s, err := OpenS3(context.Background(), g.BucketURL(bucket))
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
			flipByte(t, filepath.Join(g.Root, bucket, "custody", "sha256", ref.Hex()))
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
			staging := filepath.Join(g.Root, bucket, ".sgwtmp")
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
	if _, err := os.Stat(filepath.Join(g.Root, bucket, "custody", "log", "checkpoint")); err != nil {
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
	if _, err := OpenS3(ctx, g.BucketURL("no-such-bucket")); custody.ErrorCode(err) != custody.ENOTFOUND {
		t.Errorf("OpenS3(missing bucket) err = %v, want ENOTFOUND", err)
	}
}

// TestS3Encrypted runs the conformance suite on an Encrypted store over
// S3, and checks that what the bucket holds is an age file of the content.
func TestS3Encrypted(t *testing.T) {
	g := startVersityGW(t)
	var mu sync.Mutex
	buckets := map[*Encrypted]string{}
	s3s := map[*Encrypted]*S3{}
	testBlobStore(t, blobHarness{
		open: func(t *testing.T) custody.BlobStore {
			s, bucket := g.open(t)
			_, ring := newRing(t)
			e := NewEncrypted(s.EncryptedBackend(), ring)
			mu.Lock()
			buckets[e], s3s[e] = bucket, s
			mu.Unlock()
			return e
		},
		corrupt: func(t *testing.T, s custody.BlobStore, ref custody.Ref) {
			mu.Lock()
			bucket := buckets[s.(*Encrypted)]
			mu.Unlock()
			flipByteAt(t, filepath.Join(g.Root, bucket, "custody", "age", ref.Hex()+".age"), -1)
		},
		temps: func(t *testing.T, s custody.BlobStore) []string {
			mu.Lock()
			bucket, s3 := buckets[s.(*Encrypted)], s3s[s.(*Encrypted)]
			mu.Unlock()
			var temps []string
			it := s3.bucket.List(&blob.ListOptions{Prefix: "tmp/"})
			for {
				obj, err := it.Next(context.Background())
				if err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
				temps = append(temps, obj.Key)
			}
			staging := filepath.Join(g.Root, bucket, ".sgwtmp")
			filepath.WalkDir(staging, func(path string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					temps = append(temps, path)
				}
				return nil
			})
			return temps
		},
	})

	t.Run("Ciphertext", func(t *testing.T) {
		s, bucket := g.open(t)
		_, ring := newRing(t)
		e := NewEncrypted(s.EncryptedBackend(), ring)
		ctx := context.Background()
		content := bytes.Repeat([]byte("statement of witness 7; "), 20000)
		info, err := e.Put(ctx, bytes.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		stored, err := os.ReadFile(filepath.Join(g.Root, bucket, "custody", "age", info.Ref.Hex()+".age"))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(stored, []byte("witness")) {
			t.Error("the bucket holds plaintext")
		}
		r, err := age.Decrypt(bytes.NewReader(stored), ring.Identities()...)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, content) {
			t.Errorf("age decrypts the object to %d bytes, %v", len(got), err)
		}
		if refs := listRefs(t, s); len(refs) != 0 {
			t.Errorf("encrypted blobs listed as plain blobs: %v", refs)
		}
	})
}
