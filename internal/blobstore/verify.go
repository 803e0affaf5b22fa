package blobstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"syscall"

	"github.com/custody-dev/custody"
)

// copyBufferSize is the size of the buffer Put streams through.
const copyBufferSize = 1 << 20

// ctxReader fails reads once its context is done. A Read already blocked
// in the underlying reader is not interrupted.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// verifyReader hashes what it reads and, at EOF, fails with ETAMPERED if the
// content does not match want or is not size bytes long.
type verifyReader struct {
	ctx  context.Context
	rc   io.ReadCloser
	ref  custody.Ref
	size int64 // expected size; -1 if unknown
	h    hash.Hash
	n    int64
	err  error // sticky error, returned by every later Read
}

func newVerifyReader(ctx context.Context, rc io.ReadCloser, ref custody.Ref, size int64) *verifyReader {
	return &verifyReader{ctx: ctx, rc: rc, ref: ref, size: size, h: sha256.New()}
}

func (v *verifyReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if err := v.ctx.Err(); err != nil {
		v.err = fmt.Errorf("read blob %s: %w", v.ref, err)
		return 0, v.err
	}
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.size >= 0 && v.n > v.size {
		v.err = tampered(v.ref, fmt.Sprintf("more than its recorded %d bytes", v.size))
		return n, v.err
	}
	switch {
	case err == io.EOF:
		if v.size >= 0 && v.n != v.size {
			v.err = tampered(v.ref, fmt.Sprintf("%d bytes, recorded size %d", v.n, v.size))
		} else if got := custody.RefFromDigest(v.h.Sum(nil)); got != v.ref {
			v.err = tampered(v.ref, "content hash "+got.Hex())
		} else {
			v.err = io.EOF
		}
		return n, v.err
	case err != nil:
		v.err = fmt.Errorf("read blob %s: %w", v.ref, err)
		return n, v.err
	}
	return n, nil
}

func (v *verifyReader) Close() error {
	if err := v.rc.Close(); err != nil {
		return fmt.Errorf("close blob %s: %w", v.ref, err)
	}
	return nil
}

func tampered(ref custody.Ref, detail string) error {
	return custody.Errorf(custody.ETAMPERED, "stored blob %s does not match its reference: %s", ref, detail)
}

// errNoSpace returns a custody.ENOSPACE error that also wraps cause.
func errNoSpace(op string, cause error) error {
	return fmt.Errorf("%s: %w: %w", op, custody.Errorf(custody.ENOSPACE, "disk full: nothing was stored"), cause)
}

// isNoSpace reports whether err is a full disk or an exhausted quota.
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// parseRef validates ref before it is turned into a path or a key.
func parseRef(ref custody.Ref) error {
	_, err := custody.ParseRef(string(ref))
	return err
}
