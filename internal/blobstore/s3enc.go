package blobstore

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/custody-dev/custody"
	"github.com/google/uuid"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// EncryptedBackend returns an EncryptedBackend keeping its objects in the
// bucket of s, for an Encrypted store over S3. Layout, below the bucket
// URL's prefix:
//
//	age/<64 hex digits>.age   blobs (age files), under their plaintext's hash
//	tmp/<uuid>                uploads in progress
//
// Create streams the object to a temporary key (a multipart upload, which
// S3 makes visible only once complete); Commit completes it and copies it
// to its final key, unless that key exists (then existed is reported);
// Discard aborts the upload or deletes the temporary key. It can share a
// bucket with S3's own blobs (sha256/), so plain and encrypted blobs may
// coexist while a store is migrated.
func (s *S3) EncryptedBackend() EncryptedBackend { return &s3Backend{s: s} }

type s3Backend struct{ s *S3 }

func encKey(ref custody.Ref) string { return "age/" + ref.Hex() + ".age" }

// errDiscarded aborts an upload that is discarded before its commit.
var errDiscarded = errors.New("upload discarded")

func (b *s3Backend) Create(ctx context.Context) (TempObject, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t := &s3Temp{b: b, key: "tmp/" + uuid.NewString(), done: make(chan error, 1)}
	pr, pw := io.Pipe()
	t.pw = pw
	// As in S3.Put, the upload runs on a context that the caller's
	// cancellation does not reach: a discarded upload fails its body's next
	// read instead, so the uploader can still abort its multipart upload
	// (with a cancelled context the abort request would fail and leave the
	// parts stored). Discard cuts the upload off after a grace period.
	t.uctx, t.ucancel = context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		err := b.s.bucket.Upload(t.uctx, t.key, pr, &blob.WriterOptions{
			ContentType:    "application/octet-stream",
			BufferSize:     s3PartSize,
			MaxConcurrency: s3Concurrency,
		})
		// Unblock a writer if the upload stopped reading.
		pr.CloseWithError(errors.Join(err, errDiscarded))
		t.done <- err
	}()
	return t, nil
}

type s3Temp struct {
	b       *s3Backend
	key     string
	pw      *io.PipeWriter
	uctx    context.Context
	ucancel context.CancelFunc
	done    chan error // the upload's outcome, once
	ended   bool       // done has been received
	err     error      // the upload's outcome
}

func (t *s3Temp) Write(p []byte) (int, error) {
	if t.ended {
		return 0, errors.New("write after commit")
	}
	n, err := t.pw.Write(p)
	if err != nil {
		return n, s3Err("upload", err)
	}
	return n, nil
}

// wait ends the body of the upload (with an error to abort it) and waits
// for its outcome, at most s3CleanupTimeout after an abort.
func (t *s3Temp) wait(abort error) error {
	if t.ended {
		return t.err
	}
	if abort != nil {
		t.pw.CloseWithError(abort)
		timer := time.AfterFunc(s3CleanupTimeout, t.ucancel)
		defer timer.Stop()
	} else {
		t.pw.Close()
	}
	t.err = <-t.done
	t.ended = true
	return t.err
}

func (t *s3Temp) Commit(ctx context.Context, ref custody.Ref, replace bool) (bool, error) {
	if err := parseRef(ref); err != nil {
		return false, err
	}
	if t.ended {
		return false, errors.New("commit twice")
	}
	if err := t.wait(nil); err != nil {
		return false, s3Err("complete upload", err)
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	key := encKey(ref)
	if !replace {
		_, err := t.b.s.bucket.Attributes(ctx, key)
		switch {
		case err == nil:
			return true, nil
		case gcerrors.Code(err) != gcerrors.NotFound:
			return false, s3Err("check existing "+string(ref), err)
		}
	}
	if err := t.b.s.bucket.Copy(ctx, key, t.key, nil); err != nil {
		return false, s3Err("copy to final key", err)
	}
	return false, nil
}

func (t *s3Temp) Discard() error {
	defer t.ucancel()
	t.wait(errDiscarded) // an aborted upload reports errDiscarded: expected
	dctx, dcancel := context.WithTimeout(context.WithoutCancel(t.uctx), s3CleanupTimeout)
	defer dcancel()
	if err := t.b.s.bucket.Delete(dctx, t.key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return s3Err("delete temporary key", err)
	}
	return nil
}

// Open implements EncryptedBackend. Errors: EINVALID, ENOTFOUND.
func (b *s3Backend) Open(ctx context.Context, ref custody.Ref) (io.ReadCloser, int64, error) {
	if err := parseRef(ref); err != nil {
		return nil, 0, err
	}
	r, err := b.s.bucket.NewReader(ctx, encKey(ref), nil)
	if err != nil {
		return nil, 0, s3RefErr("open blob", ref, err)
	}
	return r, r.Size(), nil
}

// List implements EncryptedBackend. It visits objects in order of their
// references; keys that are not references are skipped.
func (b *s3Backend) List(ctx context.Context, fn func(custody.Ref) error) error {
	it := b.s.bucket.List(&blob.ListOptions{Prefix: "age/"})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return nil
		} else if err != nil {
			return s3Err("list blobs", err)
		}
		hex, ok := strings.CutSuffix(strings.TrimPrefix(obj.Key, "age/"), ".age")
		if !ok || obj.IsDir {
			continue
		}
		ref, err := custody.ParseRef(custody.RefPrefix + hex)
		if err != nil {
			continue
		}
		if err := fn(ref); err != nil {
			return err
		}
	}
}

var _ EncryptedBackend = (*s3Backend)(nil)
