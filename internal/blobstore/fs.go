package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/custody-dev/custody"
)

// StaleTempAge is how old a temporary file must be before NewFS removes it.
// Uploads in progress are younger; older ones were left by a crash.
const StaleTempAge = time.Hour

// FS is a custody.BlobStore in a local directory. It is safe for concurrent
// use, also by several processes sharing the directory.
type FS struct {
	dir string // absolute
}

var _ custody.BlobStore = (*FS)(nil)

// NewFS opens the blob store in dir, creating it and its layout if needed,
// and removes temporary files older than StaleTempAge.
func NewFS(dir string) (*FS, error) {
	if dir == "" {
		return nil, custody.Errorf(custody.EINVALID, "blob store directory is empty")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", dir, err)
	}
	s := &FS{dir: abs}
	for _, d := range []string{abs, filepath.Join(abs, "sha256"), s.tmpDir()} {
		if err := mkdirSync(d); err != nil {
			return nil, fmt.Errorf("open blob store %s: %w", dir, err)
		}
	}
	if _, err := s.CleanTemp(context.Background(), time.Now().Add(-StaleTempAge)); err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", dir, err)
	}
	return s, nil
}

func (s *FS) tmpDir() string { return filepath.Join(s.dir, "tmp") }

// Path returns the file name of the blob ref, whether or not it is stored,
// or "" if ref is malformed. The file MUST NOT be modified; readers that
// bypass Open MUST verify the hash themselves.
func (s *FS) Path(ref custody.Ref) string {
	if parseRef(ref) != nil {
		return ""
	}
	h := ref.Hex()
	return filepath.Join(s.dir, "sha256", h[:2], h)
}

// Put implements custody.BlobStore. It streams r through SHA-256 into a
// temporary file, fsyncs it, and links it under its final name (fsyncing the
// directory) unless that name exists already. Any error or cancellation of
// ctx removes the temporary file. Errors: ENOSPACE, ETAMPERED (the stored
// copy has a different size: it is reported, not replaced), EINTERNAL.
func (s *FS) Put(ctx context.Context, r io.Reader) (info custody.BlobInfo, err error) {
	f, err := os.CreateTemp(s.tmpDir(), "put-*")
	if err != nil {
		return info, s.putErr("create temporary file", err)
	}
	tmp := f.Name()
	defer func() {
		if f != nil {
			f.Close()
		}
		if rmErr := os.Remove(tmp); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) && err == nil {
			err = fmt.Errorf("put blob: remove temporary file: %w", rmErr)
		}
	}()

	n, digest, err := copyHashed(ctx, f, r)
	if err != nil {
		if isNoSpace(err) {
			return info, errNoSpace("put blob", err)
		}
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return info, fmt.Errorf("put blob: %w", err)
		}
		return info, fmt.Errorf("put blob: read content: %w", err)
	}
	if err := f.Sync(); err != nil {
		return info, s.putErr("sync temporary file", err)
	}
	err = f.Close()
	f = nil
	if err != nil {
		return info, s.putErr("close temporary file", err)
	}
	if err := ctx.Err(); err != nil {
		return info, fmt.Errorf("put blob: %w", err)
	}

	ref := custody.RefFromDigest(digest)
	info = custody.BlobInfo{Ref: ref, Size: n}
	final := s.Path(ref)
	shard := filepath.Dir(final)
	if err := os.Mkdir(shard, 0o750); err == nil {
		if err := syncDir(filepath.Dir(shard)); err != nil {
			return custody.BlobInfo{}, s.putErr("sync directory", err)
		}
	} else if !errors.Is(err, fs.ErrExist) {
		return custody.BlobInfo{}, s.putErr("create directory", err)
	}

	// A hard link never replaces an existing file, so of several concurrent
	// Puts of the same content exactly one reports Existed == false.
	err = os.Link(tmp, final)
	switch {
	case errors.Is(err, fs.ErrExist):
		return s.existing(info, final)
	case err != nil:
		// The file system may not support hard links: fall back to a rename,
		// which is atomic but replaces (identical) content.
		if _, statErr := os.Lstat(final); statErr == nil {
			return s.existing(info, final)
		}
		if err := os.Rename(tmp, final); err != nil {
			return custody.BlobInfo{}, s.putErr("rename temporary file", err)
		}
	}
	if err := syncDir(shard); err != nil {
		return custody.BlobInfo{}, s.putErr("sync directory", err)
	}
	return info, nil
}

// existing reports content that was already stored at final. A stored copy
// whose size differs has been damaged: it is reported, not overwritten.
func (s *FS) existing(info custody.BlobInfo, final string) (custody.BlobInfo, error) {
	fi, err := os.Stat(final)
	if err != nil {
		return custody.BlobInfo{}, fmt.Errorf("put blob %s: %w", info.Ref, err)
	}
	if fi.Size() != info.Size {
		return custody.BlobInfo{}, fmt.Errorf("put blob: %w",
			tampered(info.Ref, fmt.Sprintf("stored copy has %d bytes, new content %d", fi.Size(), info.Size)))
	}
	info.Existed = true
	return info, nil
}

func (s *FS) putErr(op string, err error) error {
	if isNoSpace(err) {
		return errNoSpace("put blob: "+op, err)
	}
	return fmt.Errorf("put blob: %s: %w", op, err)
}

// Open implements custody.BlobStore. The reader verifies size and hash and
// fails with ETAMPERED at EOF on a mismatch. Errors: EINVALID, ENOTFOUND.
func (s *FS) Open(ctx context.Context, ref custody.Ref) (io.ReadCloser, error) {
	if err := parseRef(ref); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open blob %s: %w", ref, err)
	}
	f, err := os.Open(s.Path(ref))
	if err != nil {
		return nil, notFound(ref, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open blob %s: %w", ref, err)
	}
	return newVerifyReader(ctx, f, ref, fi.Size()), nil
}

// Stat implements custody.BlobStore. Errors: EINVALID, ENOTFOUND.
func (s *FS) Stat(ctx context.Context, ref custody.Ref) (int64, error) {
	if err := parseRef(ref); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", ref, err)
	}
	fi, err := os.Stat(s.Path(ref))
	if err != nil {
		return 0, notFound(ref, err)
	}
	return fi.Size(), nil
}

func notFound(ref custody.Ref, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %w", custody.Errorf(custody.ENOTFOUND, "blob %s not found", ref), err)
	}
	return fmt.Errorf("open blob %s: %w", ref, err)
}

// Refs implements custody.BlobStore. It visits blobs in order of their
// references. Files whose names are not references are skipped.
func (s *FS) Refs(ctx context.Context, fn func(custody.Ref) error) error {
	root := filepath.Join(s.dir, "sha256")
	shards, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("list blobs: %w", err)
	}
	for _, shard := range shards {
		if !shard.IsDir() || len(shard.Name()) != 2 {
			continue
		}
		names, err := readDirNames(filepath.Join(root, shard.Name()))
		if err != nil {
			return fmt.Errorf("list blobs: %w", err)
		}
		for _, name := range names {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("list blobs: %w", err)
			}
			ref, err := custody.ParseRef(custody.RefPrefix + name)
			if err != nil || name[:2] != shard.Name() {
				continue
			}
			if err := fn(ref); err != nil {
				return err
			}
		}
	}
	return nil
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// CleanTemp removes temporary files last modified before cutoff: uploads
// interrupted by a crash. It returns how many it removed. Calling it with a
// recent cutoff may break uploads in progress.
func (s *FS) CleanTemp(ctx context.Context, cutoff time.Time) (int, error) {
	return cleanTemp(ctx, s.tmpDir(), cutoff)
}

func cleanTemp(ctx context.Context, dir string, cutoff time.Time) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("clean temporary files: %w", err)
	}
	removed := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return removed, fmt.Errorf("clean temporary files: %w", err)
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // finished meanwhile
		} else if err != nil {
			return removed, fmt.Errorf("clean temporary files: %w", err)
		}
		if !fi.ModTime().Before(cutoff) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return removed, fmt.Errorf("clean temporary files: %w", err)
		}
		removed++
	}
	return removed, nil
}

// mkdirSync creates dir if missing and, if it did, fsyncs its parent so the
// new entry survives a crash.
func mkdirSync(dir string) error {
	err := os.Mkdir(dir, 0o750)
	if errors.Is(err, fs.ErrExist) {
		fi, statErr := os.Stat(dir)
		if statErr != nil {
			return statErr
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	} else if errors.Is(err, fs.ErrNotExist) {
		if err := mkdirSync(filepath.Dir(dir)); err != nil {
			return err
		}
		err = os.Mkdir(dir, 0o750)
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
	}
	if err != nil {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

// syncDir fsyncs a directory, making renames and links in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return d.Close()
}
