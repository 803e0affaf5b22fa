package blobstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/custody-dev/custody"
	"github.com/google/uuid"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"
)

// S3 is a custody.BlobStore in an S3-compatible bucket. Put uploads to a
// temporary key tmp/<uuid> while hashing (large content goes up as a
// multipart upload, which S3 makes visible only when complete), then copies
// it to sha256/<hex> and deletes the temporary key.
//
// Limits: the server-side copy is a single CopyObject, which AWS S3 caps at
// 5 GiB; S3-compatible servers such as VersityGW have no such cap.
// Temporary keys left by a crash are not removed by this type: give the
// bucket a lifecycle rule expiring tmp/ after a day.
type S3 struct {
	bucket *blob.Bucket
}

var _ custody.BlobStore = (*S3)(nil)

// s3PartSize is the multipart upload part size; memory use per Put is about
// s3PartSize * s3Concurrency.
const (
	s3PartSize    = 8 << 20
	s3Concurrency = 4
)

// s3CleanupTimeout bounds cleanup requests sent after a Put failed or was
// cancelled.
const s3CleanupTimeout = time.Minute

// OpenS3 opens the bucket at bucketURL, a gocloud.dev/blob/s3blob URL such
// as
//
//	s3://BUCKET?endpoint=http://127.0.0.1:7070&region=us-east-1&use_path_style=true&prefix=custody/
//
// Supported query parameters: region, endpoint, use_path_style,
// disable_https, profile, anonymous, hostname_immutable, dualstack, fips,
// rate_limiter_capacity, role, request_checksum_calculation,
// response_checksum_validation, ssetype, kmskeyid, accelerate, and prefix
// (keys are stored below it). Credentials come from the AWS SDK's default
// chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, then shared config
// files, then instance roles. OpenS3 fails unless the bucket is reachable.
//
// response_checksum_validation defaults to when_required: the reader from
// Open verifies SHA-256 itself and reports ETAMPERED, whereas the SDK's CRC
// check would fail with an opaque internal error.
func OpenS3(ctx context.Context, bucketURL string) (*S3, error) {
	u, err := url.Parse(bucketURL)
	if err != nil {
		return nil, custody.Errorf(custody.EINVALID, "malformed bucket URL: %v", err)
	}
	if u.Scheme != s3blob.Scheme {
		return nil, custody.Errorf(custody.EINVALID, "bucket URL scheme is %q, want %q", u.Scheme, s3blob.Scheme)
	}
	// Our SHA-256 check covers every byte read and reports ETAMPERED; the
	// SDK's own CRC check would fail earlier with an opaque error instead.
	if q := u.Query(); !q.Has("response_checksum_validation") {
		q.Set("response_checksum_validation", "when_required")
		u.RawQuery = q.Encode()
	}
	// A private mux: no dependence on the package-global default mux.
	mux := new(blob.URLMux)
	mux.RegisterBucket(s3blob.Scheme, new(s3blob.URLOpener))
	b, err := mux.OpenBucketURL(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", u.Redacted(), err)
	}
	ok, err := b.IsAccessible(ctx)
	if err == nil && !ok {
		err = custody.Errorf(custody.ENOTFOUND, "bucket %s not found", u.Host)
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("open bucket %s: %w", u.Redacted(), err)
	}
	return &S3{bucket: b}, nil
}

// Close releases the bucket's resources.
func (s *S3) Close() error {
	if err := s.bucket.Close(); err != nil {
		return fmt.Errorf("close bucket: %w", err)
	}
	return nil
}

func blobKey(ref custody.Ref) string { return "sha256/" + ref.Hex() }

// Put implements custody.BlobStore. On any error or cancellation of ctx the
// upload is aborted and the temporary key deleted. Concurrent Puts of the
// same content may both report Existed == false (both copies are identical).
// Errors: ETAMPERED (the stored copy has a different size), EINTERNAL.
func (s *S3) Put(ctx context.Context, r io.Reader) (info custody.BlobInfo, err error) {
	tmpKey := "tmp/" + uuid.NewString()
	defer func() {
		// Whatever happened, the temporary key goes. Delete it even if ctx
		// is done.
		dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), s3CleanupTimeout)
		defer dcancel()
		if delErr := s.bucket.Delete(dctx, tmpKey); delErr != nil && gcerrors.Code(delErr) != gcerrors.NotFound {
			err = errors.Join(err, fmt.Errorf("put blob: delete temporary key: %w", delErr))
		}
	}()

	// The upload runs on a context that the caller's cancellation does not
	// reach directly: cancellation fails the next read of r instead, so the
	// uploader can still abort its multipart upload (with a cancelled
	// context the abort request would fail and leave the parts stored). If
	// the uploader is not reading, the upload is cut off after a grace period.
	uctx, ucancel := context.WithCancel(context.WithoutCancel(ctx))
	defer ucancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(s3CleanupTimeout, ucancel) })
	defer stop()

	h := sha256.New()
	counted := &countReader{r: ctxReader{ctx, r}}
	err = s.bucket.Upload(uctx, tmpKey, io.TeeReader(counted, h), &blob.WriterOptions{
		ContentType:    "application/octet-stream",
		BufferSize:     s3PartSize,
		MaxConcurrency: s3Concurrency,
	})
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return custody.BlobInfo{}, fmt.Errorf("put blob: %w: %w", ctxErr, err)
		}
		if counted.err != nil && !errors.Is(err, counted.err) {
			// Keep the reader's error visible to errors.Is.
			return custody.BlobInfo{}, s3Err("put blob: upload", fmt.Errorf("%w: %w", counted.err, err))
		}
		return custody.BlobInfo{}, s3Err("put blob: upload", err)
	}
	n := counted.n

	ref := custody.RefFromDigest(h.Sum(nil))
	info = custody.BlobInfo{Ref: ref, Size: n}
	key := blobKey(ref)
	attrs, err := s.bucket.Attributes(ctx, key)
	switch {
	case err == nil:
		if attrs.Size != n {
			return custody.BlobInfo{}, fmt.Errorf("put blob: %w",
				tampered(ref, fmt.Sprintf("stored copy has %d bytes, new content %d", attrs.Size, n)))
		}
		info.Existed = true
		return info, nil
	case gcerrors.Code(err) != gcerrors.NotFound:
		return custody.BlobInfo{}, s3Err("put blob "+string(ref)+": check existing", err)
	}
	if err := s.bucket.Copy(ctx, key, tmpKey, nil); err != nil {
		return custody.BlobInfo{}, s3Err("put blob "+string(ref)+": copy to final key", err)
	}
	return info, nil
}

// Open implements custody.BlobStore. The reader verifies size and hash and
// fails with ETAMPERED at EOF on a mismatch. Errors: EINVALID, ENOTFOUND.
func (s *S3) Open(ctx context.Context, ref custody.Ref) (io.ReadCloser, error) {
	if err := parseRef(ref); err != nil {
		return nil, err
	}
	r, err := s.bucket.NewReader(ctx, blobKey(ref), nil)
	if err != nil {
		return nil, s3RefErr("open blob", ref, err)
	}
	return newVerifyReader(ctx, r, ref, r.Size()), nil
}

// Stat implements custody.BlobStore. Errors: EINVALID, ENOTFOUND.
func (s *S3) Stat(ctx context.Context, ref custody.Ref) (int64, error) {
	if err := parseRef(ref); err != nil {
		return 0, err
	}
	attrs, err := s.bucket.Attributes(ctx, blobKey(ref))
	if err != nil {
		return 0, s3RefErr("stat blob", ref, err)
	}
	return attrs.Size, nil
}

// Refs implements custody.BlobStore. It visits blobs in order of their
// references. Keys that are not references are skipped.
func (s *S3) Refs(ctx context.Context, fn func(custody.Ref) error) error {
	it := s.bucket.List(&blob.ListOptions{Prefix: "sha256/"})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return nil
		} else if err != nil {
			return s3Err("list blobs", err)
		}
		ref, err := custody.ParseRef(custody.RefPrefix + strings.TrimPrefix(obj.Key, "sha256/"))
		if err != nil || obj.IsDir {
			continue
		}
		if err := fn(ref); err != nil {
			return err
		}
	}
}

// Objects returns an ObjectStore keeping its objects under prefix in the
// same bucket. The prefix is a valid object name (see ValidName) whose first
// segment is none of "sha256", "age" and "tmp"; Objects panics otherwise, as it is
// a programming error. Put is a single PUT request, which S3 applies
// atomically and durably.
func (s *S3) Objects(prefix string) custody.ObjectStore {
	prefix = strings.TrimSuffix(prefix, "/")
	if err := ValidName(prefix); err != nil {
		panic(fmt.Sprintf("blobstore: S3.Objects: %v", err))
	}
	if first, _, _ := strings.Cut(prefix, "/"); first == "sha256" || first == "age" || first == "tmp" {
		panic(fmt.Sprintf("blobstore: S3.Objects: prefix %q overlaps the blob keys", prefix))
	}
	return &s3Objects{bucket: s.bucket, prefix: prefix + "/"}
}

type s3Objects struct {
	bucket *blob.Bucket
	prefix string
}

func (o *s3Objects) Get(ctx context.Context, name string) ([]byte, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	b, err := o.bucket.ReadAll(ctx, o.prefix+name)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("%w: %w", custody.Errorf(custody.ENOTFOUND, "object %s not found", name), err)
	} else if err != nil {
		return nil, s3Err("get object "+name, err)
	}
	return b, nil
}

func (o *s3Objects) Put(ctx context.Context, name string, data []byte) error {
	if err := ValidName(name); err != nil {
		return err
	}
	err := o.bucket.WriteAll(ctx, o.prefix+name, data, &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return s3Err("put object "+name, err)
	}
	return nil
}

// countReader counts the bytes read and remembers the first read error.
type countReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

func s3RefErr(op string, ref custody.Ref, err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%w: %w", custody.Errorf(custody.ENOTFOUND, "blob %s not found", ref), err)
	}
	return s3Err(op+" "+string(ref), err)
}

func s3Err(op string, err error) error {
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		return fmt.Errorf("%s: %w: %w", op, custody.Errorf(custody.ENOTFOUND, "not found"), err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
