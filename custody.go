// Package custody holds Custody's domain: evidence items, log entries, custody
// events, users and roles, the storage interfaces the adapters implement, and
// the Error type with its codes.
//
// Invariants:
//   - This package imports the standard library only. Adapters (internal/...)
//     import it; it imports none of them.
//   - Identifiers are globally unique (UUIDv7 strings), never per-store counters,
//     so stores made on different machines can later be merged.
//   - Every state change is a log Entry; database rows are an index derived
//     from the log and can be rebuilt from it.
package custody

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Error codes. They are stable: API clients and scripts match on them.
const (
	EINVALID      = "invalid"      // bad input; nothing was changed
	ENOTFOUND     = "not_found"    // no such record
	ECONFLICT     = "conflict"     // the request conflicts with current state
	EUNAUTHORIZED = "unauthorized" // no or bad credentials
	EFORBIDDEN    = "forbidden"    // authenticated but not allowed
	ETOOLARGE     = "too_large"    // body or field over its limit
	EUNAVAILABLE  = "unavailable"  // temporarily unable; retry later
	EINTERNAL     = "internal"     // a bug or an I/O fault; details are logged, not shown
	ETAMPERED     = "tampered"     // stored data does not match its hash or proof
	EUNSUPPORTED  = "unsupported"  // a store or format version this build does not know
	ENOSPACE      = "no_space"     // the disk or quota is full; nothing was half-written
)

// Error is an error meant for a user: Code is one of the E* constants and
// Message is safe to show. Internal errors are wrapped with fmt.Errorf and are
// reported as EINTERNAL with a generic message.
type Error struct {
	Code    string
	Message string
	// Hint, when set, tells the user what to do ("did you mean ...?").
	Hint string
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Hint != "" {
		return fmt.Sprintf("%s (%s)", e.Message, e.Hint)
	}
	return e.Message
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of the first *Error in err's
// chain, or a generic message for internal errors (whose text may leak
// internals and must not be shown).
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Error()
	}
	return "internal error"
}

// Ref is a content reference: "sha256-" followed by 64 lowercase hex digits.
// It is comparable and safe to use as a map key.
type Ref string

// RefPrefix starts every Ref.
const RefPrefix = "sha256-"

// ParseRef checks s and returns it as a Ref.
func ParseRef(s string) (Ref, error) {
	if len(s) != len(RefPrefix)+64 || s[:len(RefPrefix)] != RefPrefix {
		return "", Errorf(EINVALID, "malformed content reference %q: want sha256-<64 hex digits>", truncate(s, 80))
	}
	for _, c := range s[len(RefPrefix):] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", Errorf(EINVALID, "malformed content reference %q: want lowercase hex", truncate(s, 80))
		}
	}
	return Ref(s), nil
}

// RefFromDigest returns the Ref of a SHA-256 digest.
func RefFromDigest(sum []byte) Ref {
	const hexdigits = "0123456789abcdef"
	b := make([]byte, 0, len(RefPrefix)+64)
	b = append(b, RefPrefix...)
	for _, c := range sum {
		b = append(b, hexdigits[c>>4], hexdigits[c&15])
	}
	return Ref(b)
}

// Hex returns the hex digest part of the reference.
func (r Ref) Hex() string {
	if len(r) <= len(RefPrefix) {
		return ""
	}
	return string(r[len(RefPrefix):])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// BlobInfo describes a stored blob.
type BlobInfo struct {
	Ref  Ref
	Size int64
	// Existed is true when identical content was already stored; the bytes
	// were not written again.
	Existed bool
}

// BlobStore keeps content-addressed blobs.
//
// Implementations MUST hash while streaming (never buffer a whole blob),
// MUST make a blob durable (fsync or the backend's equivalent) before Put
// returns, MUST NOT leave a partial blob under its final name on any error,
// and MUST verify the hash of every byte stream they return: a reader from
// Open returns an error wrapping ETAMPERED at EOF if the content does not
// match its reference.
type BlobStore interface {
	// Put stores the content of r and returns its reference and size.
	// Errors: EINVALID (empty content when not allowed), ENOSPACE, EINTERNAL.
	Put(ctx context.Context, r io.Reader) (BlobInfo, error)
	// Open returns a verifying reader of the blob. Errors: ENOTFOUND.
	Open(ctx context.Context, ref Ref) (io.ReadCloser, error)
	// Stat returns the blob's size. Errors: ENOTFOUND.
	Stat(ctx context.Context, ref Ref) (int64, error)
	// Refs calls fn for every stored blob; it stops at the first error fn returns.
	Refs(ctx context.Context, fn func(Ref) error) error
}

// ObjectStore keeps small named objects: the log's tiles, entry bundles and
// checkpoints. Names are slash-separated relative paths such as
// "tile/0/x001/234" or "checkpoint".
//
// Put MUST be atomic (a reader sees the old or the new object, never a part)
// and durable before it returns.
type ObjectStore interface {
	// Get returns the object's bytes. Errors: ENOTFOUND.
	Get(ctx context.Context, name string) ([]byte, error)
	// Put creates or replaces the object.
	Put(ctx context.Context, name string, data []byte) error
}
