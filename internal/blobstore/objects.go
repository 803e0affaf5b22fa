package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/custody-dev/custody"
)

// FSObjects is a custody.ObjectStore in a local directory. Put writes a
// temporary file, fsyncs it, renames it over the name and fsyncs the
// directory, so readers see the old or the new object, never a part.
type FSObjects struct {
	dir string // absolute
}

var _ custody.ObjectStore = (*FSObjects)(nil)

// NewFSObjects opens the object store in dir, creating it if needed, and
// removes temporary files older than StaleTempAge.
func NewFSObjects(dir string) (*FSObjects, error) {
	if dir == "" {
		return nil, custody.Errorf(custody.EINVALID, "object store directory is empty")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open object store %s: %w", dir, err)
	}
	s := &FSObjects{dir: abs}
	for _, d := range []string{abs, s.tmpDir()} {
		if err := mkdirSync(d); err != nil {
			return nil, fmt.Errorf("open object store %s: %w", dir, err)
		}
	}
	if _, err := cleanTemp(context.Background(), s.tmpDir(), time.Now().Add(-StaleTempAge)); err != nil {
		return nil, fmt.Errorf("open object store %s: %w", dir, err)
	}
	return s, nil
}

func (s *FSObjects) tmpDir() string { return filepath.Join(s.dir, ".tmp") }

// Get implements custody.ObjectStore. Errors: EINVALID, ENOTFOUND.
func (s *FSObjects) Get(ctx context.Context, name string) ([]byte, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get object %s: %w", name, err)
	}
	b, err := os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(name)))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENOTDIR) {
		return nil, fmt.Errorf("%w: %w", custody.Errorf(custody.ENOTFOUND, "object %s not found", name), err)
	} else if err != nil {
		return nil, fmt.Errorf("get object %s: %w", name, err)
	}
	return b, nil
}

// Put implements custody.ObjectStore, creating parent directories as needed.
// Errors: EINVALID, ECONFLICT (a directory is in the way), ENOSPACE.
func (s *FSObjects) Put(ctx context.Context, name string, data []byte) (err error) {
	if err := ValidName(name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put object %s: %w", name, err)
	}
	final := filepath.Join(s.dir, filepath.FromSlash(name))
	parent := filepath.Dir(final)
	if err := mkdirSync(parent); err != nil {
		return s.putErr(name, "create directory", err)
	}

	f, err := os.CreateTemp(s.tmpDir(), "put-*")
	if err != nil {
		return s.putErr(name, "create temporary file", err)
	}
	tmp := f.Name()
	defer func() {
		if f != nil {
			f.Close()
		}
		if err != nil {
			os.Remove(tmp) // best effort: err already says what went wrong
		}
	}()
	if _, err := f.Write(data); err != nil {
		return s.putErr(name, "write", err)
	}
	if err := f.Sync(); err != nil {
		return s.putErr(name, "sync", err)
	}
	err = f.Close()
	f = nil
	if err != nil {
		return s.putErr(name, "close", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put object %s: %w", name, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return s.putErr(name, "rename", err)
	}
	if err := syncDir(parent); err != nil {
		return s.putErr(name, "sync directory", err)
	}
	return nil
}

func (s *FSObjects) putErr(name, op string, err error) error {
	switch {
	case isNoSpace(err):
		return errNoSpace("put object "+name+": "+op, err)
	case errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENOTDIR) ||
		errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY):
		return fmt.Errorf("put object %s: %s: %w: %w", name, op,
			custody.Errorf(custody.ECONFLICT, "object name %q conflicts with an existing directory or object", name), err)
	}
	return fmt.Errorf("put object %s: %s: %w", name, op, err)
}

// ValidName checks an object name: a slash-separated relative path of
// non-empty segments, none of which is "." or "..", starts with a dot, or
// contains a backslash or a NUL byte. Errors: EINVALID.
func ValidName(name string) error {
	bad := func(why string) error {
		return custody.Errorf(custody.EINVALID, "invalid object name %q: %s", truncate(name, 80), why)
	}
	switch {
	case name == "":
		return bad("empty")
	case len(name) > 1024:
		return bad("longer than 1024 bytes")
	case strings.HasPrefix(name, "/"):
		return bad("absolute path")
	case strings.ContainsAny(name, "\\\x00"):
		return bad("backslash or NUL byte")
	}
	for _, seg := range strings.Split(name, "/") {
		switch {
		case seg == "":
			return bad("empty path segment")
		case seg == "." || seg == "..":
			return bad(`"." or ".." segment`)
		case seg[0] == '.':
			return bad("segment starts with a dot")
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
