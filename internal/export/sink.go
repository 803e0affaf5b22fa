package export

import (
	"archive/zip"
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/custody-dev/custody"
)

// sink is where a bundle is written: a directory or a zip archive, built
// under a temporary name and renamed into place by commit.
type sink interface {
	// create returns a writer for a new file of the bundle. A zip sink
	// allows one open file at a time; a directory sink any number.
	create(name string, size int64) (io.WriteCloser, error)
	put(name string, data []byte) error
	concurrent() bool
	commit() error
	abort()
}

func newSink(out string, mod time.Time) (sink, error) {
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := out + ".partial-" + hex.EncodeToString(rnd[:])
	if strings.HasSuffix(strings.ToLower(out), ".zip") {
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, ioErr("create the bundle", err)
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		return &zipSink{out: out, tmp: tmp, f: f, bw: bw, zw: zip.NewWriter(bw), mod: mod}, nil
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, ioErr("create the bundle", err)
	}
	return &dirSink{out: out, tmp: tmp, dirs: map[string]bool{".": true}}, nil
}

// ioErr maps a full disk to ENOSPACE.
func ioErr(op string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%s: %w: %w", op, custody.Errorf(custody.ENOSPACE, "disk full: the bundle was not written"), err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// syncDir fsyncs a directory, so that the names in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

type dirSink struct {
	out, tmp string
	mu       sync.Mutex
	dirs     map[string]bool // made under tmp, guarded by mu
}

func (s *dirSink) concurrent() bool { return true }

func (s *dirSink) mkdir(name string) error {
	dir := filepath.Dir(filepath.FromSlash(name))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dirs[dir] {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(s.tmp, dir), 0o700); err != nil {
		return ioErr("create "+dir, err)
	}
	s.dirs[dir] = true
	return nil
}

// syncFile fsyncs on Close.
type syncFile struct{ *os.File }

func (f syncFile) Close() error {
	err := f.File.Sync()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return ioErr("write "+f.Name(), err)
	}
	return nil
}

func (s *dirSink) create(name string, size int64) (io.WriteCloser, error) {
	if err := s.mkdir(name); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(s.tmp, filepath.FromSlash(name)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, ioErr("create "+name, err)
	}
	return syncFile{f}, nil
}

func (s *dirSink) put(name string, data []byte) error {
	w, err := s.create(name, int64(len(data)))
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return ioErr("write "+name, err)
	}
	return nil
}

func (s *dirSink) commit() error {
	for dir := range s.dirs {
		if err := syncDir(filepath.Join(s.tmp, dir)); err != nil {
			return ioErr("sync the bundle", err)
		}
	}
	if _, err := os.Lstat(s.out); err == nil {
		return custody.Errorf(custody.ECONFLICT, "%s appeared while the bundle was being written", s.out)
	}
	if err := os.Rename(s.tmp, s.out); err != nil {
		return ioErr("move the bundle into place", err)
	}
	return syncDir(filepath.Dir(s.out))
}

func (s *dirSink) abort() { os.RemoveAll(s.tmp) }

type zipSink struct {
	out, tmp string
	f        *os.File
	bw       *bufio.Writer
	zw       *zip.Writer
	mod      time.Time
}

func (s *zipSink) concurrent() bool { return false }

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// create adds a stored (uncompressed) entry: evidence media does not
// compress, and stored entries stream at disk speed.
func (s *zipSink) create(name string, size int64) (io.WriteCloser, error) {
	w, err := s.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: s.mod})
	if err != nil {
		return nil, ioErr("add "+name, err)
	}
	return nopCloser{w}, nil
}

func (s *zipSink) put(name string, data []byte) error {
	w, err := s.create(name, int64(len(data)))
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return ioErr("write "+name, err)
	}
	return nil
}

func (s *zipSink) commit() error {
	err := s.zw.Close()
	if err == nil {
		err = s.bw.Flush()
	}
	if err == nil {
		err = s.f.Sync()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(s.tmp)
		return ioErr("write the bundle", err)
	}
	if _, err := os.Lstat(s.out); err == nil {
		os.Remove(s.tmp)
		return custody.Errorf(custody.ECONFLICT, "%s appeared while the bundle was being written", s.out)
	}
	if err := os.Rename(s.tmp, s.out); err != nil {
		os.Remove(s.tmp)
		return ioErr("move the bundle into place", err)
	}
	return syncDir(filepath.Dir(s.out))
}

func (s *zipSink) abort() {
	s.f.Close()
	os.Remove(s.tmp)
}
