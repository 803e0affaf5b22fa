package blobstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"filippo.io/age"
	"github.com/custody-dev/custody"
)

// Encrypted is a custody.BlobStore that keeps blob content encrypted at rest
// with age (X25519 recipients, ChaCha20-Poly1305 in 64 KiB chunks), to the
// recipients of a KeyRing. See docs/keys.md.
//
// Invariants, in addition to the package's:
//
//   - A blob's reference is the SHA-256 of its plaintext, as with every other
//     store: proofs, log entries and bundles do not change when a store is
//     encrypted, and identical content is stored once.
//   - The stored object is a standard age file: with the key file, the age
//     command-line tool decrypts it (age -d -i keys/age-1.key).
//   - Put hashes and encrypts while streaming, in constant memory; nothing
//     of the plaintext reaches the backend.
//   - Open authenticates every 64 KiB chunk before returning any of its
//     bytes (a reader never sees unauthenticated plaintext), and checks the
//     plaintext's size and SHA-256 at EOF, failing with ETAMPERED as FS does.
//   - Stat needs no key: the plaintext size follows exactly from the size of
//     the object and of its age header.
type Encrypted struct {
	b    EncryptedBackend
	ring *KeyRing
}

var _ custody.BlobStore = (*Encrypted)(nil)

// EncryptedBackend keeps the ciphertext objects of an Encrypted store, each
// under the reference of its plaintext. FSBackend is the file system's;
// S3.EncryptedBackend uploads to a temporary key in Create, completes the
// upload and copies it to its final key in Commit (checking first whether
// the key exists), and aborts or deletes the temporary key in Discard.
type EncryptedBackend interface {
	// Create starts a new object under a temporary name.
	Create(ctx context.Context) (TempObject, error)
	// Open returns the object stored under ref and its size in bytes.
	// Errors: ENOTFOUND.
	Open(ctx context.Context, ref custody.Ref) (io.ReadCloser, int64, error)
	// List calls fn for every stored object; it stops at the first error fn
	// returns.
	List(ctx context.Context, fn func(custody.Ref) error) error
}

// TempObject is an object being written.
type TempObject interface {
	// Write appends p. Encrypted calls it from one goroutine at a time, with
	// buffers aligned for direct I/O of 1 MiB each, except the last one;
	// the buffer is reused once Write returns.
	Write(p []byte) (int, error)
	// Commit makes the written bytes durable and stores them under ref. If
	// an object is stored under ref already, Commit leaves it in place and
	// reports existed, unless replace is true: then it atomically replaces
	// it (readers see the old or the new object, never a part). Errors:
	// ENOSPACE.
	Commit(ctx context.Context, ref custody.Ref, replace bool) (existed bool, err error)
	// Discard removes the temporary object. It MUST be called after Commit
	// too, and it MUST NOT remove a committed object.
	Discard() error
}

// NewEncrypted returns a blob store keeping its content in inner, encrypted
// to ring's recipients and decrypted with ring's identities. It panics if
// either is nil, which is a programming error.
func NewEncrypted(inner EncryptedBackend, ring *KeyRing) *Encrypted {
	if inner == nil || ring == nil || len(ring.ids) == 0 {
		panic("blobstore: NewEncrypted: nil backend or empty key ring")
	}
	return &Encrypted{b: inner, ring: ring}
}

// Put implements custody.BlobStore. It streams r through SHA-256 and age
// encryption at once (read, hash, encrypt and write run as a pipeline, in
// about 10 MiB of buffers) into a temporary object, then commits it under
// the plaintext's reference, unless content with that reference is stored
// already: then the new copy is dropped and Existed reported. Any error or
// cancellation of ctx discards the temporary object. Errors: ENOSPACE,
// ETAMPERED (the stored copy's plaintext size differs: it is reported, not
// replaced), EINTERNAL.
func (e *Encrypted) Put(ctx context.Context, r io.Reader) (info custody.BlobInfo, err error) {
	if err := ctx.Err(); err != nil {
		return info, fmt.Errorf("put blob: %w", err)
	}
	n, c, err := e.write(ctx, r, func(ref custody.Ref, t TempObject) (bool, error) {
		return t.Commit(ctx, ref, false)
	})
	if err != nil {
		return custody.BlobInfo{}, err
	}
	info = custody.BlobInfo{Ref: c.ref, Size: n, Existed: c.existed}
	if info.Existed {
		size, err := e.Stat(ctx, info.Ref)
		if err != nil {
			return custody.BlobInfo{}, fmt.Errorf("put blob: %w", err)
		}
		if size != n {
			return custody.BlobInfo{}, fmt.Errorf("put blob: %w",
				tampered(info.Ref, fmt.Sprintf("stored copy has %d bytes, new content %d", size, n)))
		}
	}
	return info, nil
}

type committed struct {
	ref     custody.Ref
	existed bool
}

// write encrypts r into a new temporary object, then calls commit with the
// plaintext's reference; the temporary object is discarded in any case.
func (e *Encrypted) write(ctx context.Context, r io.Reader,
	commit func(custody.Ref, TempObject) (bool, error)) (n int64, c committed, err error) {
	t, err := e.b.Create(ctx)
	if err != nil {
		return 0, c, putErr("create temporary object", err)
	}
	defer func() {
		if dErr := t.Discard(); dErr != nil && err == nil {
			err = fmt.Errorf("put blob: discard temporary object: %w", dErr)
		}
	}()
	n, digest, err := encryptHashed(ctx, t, r, e.ring.recipients)
	if err != nil {
		var werr *writeError
		switch {
		case errors.As(err, &werr):
			return n, c, putErr("write", werr.err)
		case ctx.Err() != nil && errors.Is(err, ctx.Err()):
			return n, c, fmt.Errorf("put blob: %w", err)
		}
		return n, c, fmt.Errorf("put blob: read content: %w", err)
	}
	c.ref = custody.RefFromDigest(digest)
	c.existed, err = commit(c.ref, t)
	if err != nil {
		return n, c, putErr("commit "+string(c.ref), err)
	}
	return n, c, nil
}

func putErr(op string, err error) error {
	if isNoSpace(err) {
		return errNoSpace("put blob: "+op, err)
	}
	return fmt.Errorf("put blob: %s: %w", op, err)
}

// writeError marks an error of the backend's Write, as opposed to one of
// the reader or of encryption.
type writeError struct{ err error }

func (w *writeError) Error() string { return w.err.Error() }
func (w *writeError) Unwrap() error { return w.err }

// Open implements custody.BlobStore. The reader returns only plaintext that
// age has authenticated, chunk by chunk, and fails with ETAMPERED at the
// first chunk that fails (or, at EOF, if size or hash differ from the
// reference). Decryption runs ahead in a goroutine while the caller's reads
// hash; Close stops it. Errors: EINVALID, ENOTFOUND, ETAMPERED (a damaged
// header), an error wrapping ErrNoKey (no key of the ring decrypts it).
func (e *Encrypted) Open(ctx context.Context, ref custody.Ref) (io.ReadCloser, error) {
	if err := parseRef(ref); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open blob %s: %w", ref, err)
	}
	rc, size, head, err := e.openHeader(ctx, ref)
	if err != nil {
		return nil, err
	}
	// age unwraps the file key from the header (and checks its MAC); the
	// payload is opened here, chunk by chunk into the reader's buffers
	// (see stream.go), knowing from the size where the last chunk is.
	fileKey, err := age.DecryptHeader(head.read[:head.len], e.ring.identities...)
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) {
		// Encrypted to a key added since the ring was loaded?
		if newer := e.ring.newer(); newer != nil {
			fileKey, err = age.DecryptHeader(head.read[:head.len], newer.identities...)
		}
	}
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("open blob %s: %w", ref, classifyAgeErr(err, &errRecorder{}, "blob "+string(ref)))
	}
	src := &errRecorder{r: io.MultiReader(bytes.NewReader(head.read[head.len:]), rc)}
	open, err := newStreamOpener(fileKey, src, ref, size)
	clear(fileKey)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("open blob %s: %w", ref, err)
	}
	return newVerifyReader(ctx, newDecryptReader(open, rc), ref, size), nil
}

// header is the start of a stored object: its age header's length and the
// bytes read so far (the header and possibly some payload).
type header struct {
	len  int
	read []byte
}

// openHeader opens the object of ref and reads its age header; it returns
// the object (positioned after the bytes in header.read) and the
// plaintext's size. No key is needed.
func (e *Encrypted) openHeader(ctx context.Context, ref custody.Ref) (io.ReadCloser, int64, header, error) {
	rc, encSize, err := e.b.Open(ctx, ref)
	if err != nil {
		return nil, 0, header{}, err
	}
	var read bytes.Buffer
	src := &errRecorder{r: io.TeeReader(rc, &read)}
	hdr, err := age.ExtractHeader(src)
	if err == nil && !bytes.HasPrefix(read.Bytes(), hdr) {
		// age's encoding is canonical: what it re-encodes is what it read.
		err = errors.New("header is not in canonical encoding")
	}
	if err != nil {
		rc.Close()
		if src.err != nil {
			return nil, 0, header{}, fmt.Errorf("open blob %s: %w", ref, src.err)
		}
		return nil, 0, header{}, fmt.Errorf("open blob %s: %w", ref, tampered(ref, "damaged age header: "+err.Error()))
	}
	size, err := plaintextSize(encSize - int64(len(hdr)))
	if err != nil {
		rc.Close()
		return nil, 0, header{}, fmt.Errorf("open blob %s: %w", ref, tampered(ref, err.Error()))
	}
	return rc, size, header{len: len(hdr), read: read.Bytes()}, nil
}

// age's payload: a 16-byte nonce, then chunks of ageChunk bytes of
// plaintext, each followed by a 16-byte tag; the last chunk may be short,
// and is empty only if the whole plaintext is.
const (
	ageNonce = 16
	ageTag   = 16
	ageChunk = 64 << 10
)

// plaintextSize returns the size of the plaintext of an age payload
// (nonce and chunks) of n bytes.
func plaintextSize(n int64) (int64, error) {
	enc := n - ageNonce
	if enc < ageTag {
		return 0, fmt.Errorf("age payload of %d bytes is too short", n)
	}
	chunks := (enc + ageChunk + ageTag - 1) / (ageChunk + ageTag)
	plain := enc - chunks*ageTag
	want := (plain + ageChunk - 1) / ageChunk
	if plain == 0 {
		want = 1
	}
	if want != chunks {
		return 0, fmt.Errorf("age payload of %d bytes ends in an empty chunk", n)
	}
	return plain, nil
}

// Decryption runs ahead of the caller by at most openDepth buffers of
// openBufferSize bytes: enough to keep two cores busy, little enough for
// many readers at once (a server streaming downloads).
const (
	openBufferSize = 256 << 10
	openDepth      = 4
)

// decryptReader runs a decrypting function (next: fill buf with the next
// authenticated plaintext, io.EOF at the end) in a goroutine, ahead of the
// caller, in openDepth buffers of openBufferSize bytes.
type decryptReader struct {
	ch      chan chunkErr
	free    chan []byte
	stop    chan struct{}
	done    chan struct{}
	closer  io.Closer
	cur     chunkErr
	off     int
	err     error
	stopped bool
}

type chunkErr struct {
	buf []byte
	n   int
	err error
}

func newDecryptReader(next func(buf []byte) (int, error), closer io.Closer) *decryptReader {
	d := &decryptReader{
		ch:     make(chan chunkErr, openDepth-1),
		free:   make(chan []byte, openDepth),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		closer: closer,
	}
	for range openDepth {
		d.free <- make([]byte, openBufferSize)
	}
	go func() {
		defer close(d.done)
		defer close(d.ch)
		for {
			var buf []byte
			select {
			case buf = <-d.free:
			case <-d.stop:
				return
			}
			n, err := next(buf)
			select {
			case d.ch <- chunkErr{buf, n, err}:
			case <-d.stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return d
}

// fill reads into buf until it is full or r returns an error, which it
// returns with the bytes read: io.EOF (exactly) at the end of r.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (d *decryptReader) Read(p []byte) (int, error) {
	for d.off == d.cur.n {
		if d.err != nil {
			return 0, d.err
		}
		if d.cur.buf != nil {
			d.free <- d.cur.buf
			d.cur = chunkErr{}
		}
		c, ok := <-d.ch
		if !ok {
			return 0, io.ErrUnexpectedEOF // not reached: the goroutine sends its error first
		}
		d.cur, d.off, d.err = c, 0, c.err
	}
	n := copy(p, d.cur.buf[d.off:d.cur.n])
	d.off += n
	return n, nil
}

func (d *decryptReader) Close() error {
	if !d.stopped {
		d.stopped = true
		close(d.stop)
		<-d.done
	}
	return d.closer.Close()
}

// Stat implements custody.BlobStore: the plaintext's size, read from the
// object's size and header, without a key. Errors: EINVALID, ENOTFOUND,
// ETAMPERED (a damaged header).
func (e *Encrypted) Stat(ctx context.Context, ref custody.Ref) (int64, error) {
	if err := parseRef(ref); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", ref, err)
	}
	rc, size, _, err := e.openHeader(ctx, ref)
	if err != nil {
		return 0, err
	}
	if err := rc.Close(); err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", ref, err)
	}
	return size, nil
}

// Refs implements custody.BlobStore.
func (e *Encrypted) Refs(ctx context.Context, fn func(custody.Ref) error) error {
	return e.b.List(ctx, fn)
}

// Reencrypt rewrites stored blobs to the key ring's current recipients: with
// all false, only those the current identity cannot decrypt (after Rotate);
// with all true, every blob (after adding a recipient to recipients.txt, so
// that it can decrypt older blobs too). Each blob is decrypted and verified
// in full before its new ciphertext atomically replaces the old one, so a
// damaged blob is reported (ETAMPERED) and left as it is; Reencrypt then
// goes on with the others and returns the errors joined. It is safe to run
// while the store is in use, and to interrupt: run it again to finish. It
// returns how many blobs it rewrote. Old key files may be retired only once
// a run with all false rewrites none and reports no error.
func (e *Encrypted) Reencrypt(ctx context.Context, all bool) (int, error) {
	var refs []custody.Ref
	if err := e.Refs(ctx, func(ref custody.Ref) error { refs = append(refs, ref); return nil }); err != nil {
		return 0, fmt.Errorf("re-encrypt: %w", err)
	}
	rewritten := 0
	var errs []error
	for _, ref := range refs {
		if err := ctx.Err(); err != nil {
			return rewritten, errors.Join(append(errs, fmt.Errorf("re-encrypt: %w", err))...)
		}
		if !all {
			current, err := e.isCurrent(ctx, ref)
			if err != nil {
				errs = append(errs, fmt.Errorf("re-encrypt %s: %w", ref, err))
				continue
			}
			if current {
				continue
			}
		}
		if err := e.rewrite(ctx, ref); err != nil {
			errs = append(errs, fmt.Errorf("re-encrypt %s: %w", ref, err))
			continue
		}
		rewritten++
	}
	return rewritten, errors.Join(errs...)
}

// isCurrent reports whether the ring's current identity decrypts the header
// of ref's object.
func (e *Encrypted) isCurrent(ctx context.Context, ref custody.Ref) (bool, error) {
	rc, _, head, err := e.openHeader(ctx, ref)
	if err != nil {
		return false, err
	}
	rc.Close()
	_, err = age.DecryptHeader(head.read[:head.len], e.ring.current())
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) {
		return false, nil
	}
	if err != nil {
		return false, tampered(ref, "damaged age header: "+err.Error())
	}
	return true, nil
}

// rewrite re-encrypts ref's object; the new object replaces it only if the
// old one decrypted in full to the content of ref.
func (e *Encrypted) rewrite(ctx context.Context, ref custody.Ref) error {
	rc, err := e.Open(ctx, ref)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, _, err = e.write(ctx, rc, func(got custody.Ref, t TempObject) (bool, error) {
		if got != ref {
			// Not reached: the verifying reader fails at EOF first.
			return false, tampered(ref, "content hash "+got.Hex())
		}
		return t.Commit(ctx, ref, true)
	})
	return err
}

// FSBackend is an EncryptedBackend in a local directory, with the same
// guarantees as FS: a temporary file written with direct I/O where the
// file system allows it, fsynced, then hard-linked under its final name
// (never replacing one, except to re-encrypt) and the directory fsynced.
// Layout:
//
//	<dir>/age/<first 2 hex digits>/<64 hex digits>.age   blobs (age files)
//	<dir>/tmp/                                            writes in progress
//
// It can share a directory with FS (which uses <dir>/sha256/), so a store
// can hold both plain and encrypted blobs while it is being migrated.
type FSBackend struct {
	dir string // absolute
}

var _ EncryptedBackend = (*FSBackend)(nil)

// NewFSBackend opens the directory dir, creating it and its layout if
// needed, and removes temporary files older than StaleTempAge.
func NewFSBackend(dir string) (*FSBackend, error) {
	if dir == "" {
		return nil, custody.Errorf(custody.EINVALID, "blob store directory is empty")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", dir, err)
	}
	b := &FSBackend{dir: abs}
	for _, d := range []string{abs, filepath.Join(abs, "age"), b.tmpDir()} {
		if err := mkdirSync(d); err != nil {
			return nil, fmt.Errorf("open blob store %s: %w", dir, err)
		}
	}
	if _, err := cleanTemp(context.Background(), b.tmpDir(), time.Now().Add(-StaleTempAge)); err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", dir, err)
	}
	return b, nil
}

func (b *FSBackend) tmpDir() string { return filepath.Join(b.dir, "tmp") }

// Path returns the file name of ref's object, whether or not it is stored,
// or "" if ref is malformed.
func (b *FSBackend) Path(ref custody.Ref) string {
	if parseRef(ref) != nil {
		return ""
	}
	h := ref.Hex()
	return filepath.Join(b.dir, "age", h[:2], h+".age")
}

// Create implements EncryptedBackend.
func (b *FSBackend) Create(ctx context.Context) (TempObject, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(b.tmpDir(), "put-*")
	if err != nil {
		return nil, err
	}
	return &fsTemp{b: b, f: f, name: f.Name(), direct: startDirect(f)}, nil
}

type fsTemp struct {
	b      *FSBackend
	f      *os.File // nil once closed
	name   string
	off    int64
	direct bool
}

func (t *fsTemp) Write(p []byte) (int, error) {
	if t.f == nil {
		return 0, errors.New("write after commit")
	}
	if t.direct && len(p)%directAlign != 0 {
		t.direct = stopDirect(t.f) // the tail: not a whole number of blocks
	}
	n, err := t.f.WriteAt(p, t.off)
	if err != nil && t.direct && errors.Is(err, syscall.EINVAL) {
		// The file system took O_DIRECT but refuses the writes (tmpfs,
		// some FUSE), or p is not aligned: write through the cache.
		t.direct = stopDirect(t.f)
		n, err = t.f.WriteAt(p, t.off)
	}
	if err == nil && !t.direct {
		startWriteback(t.f, t.off, int64(n))
	}
	t.off += int64(n)
	return n, err
}

func (t *fsTemp) Commit(ctx context.Context, ref custody.Ref, replace bool) (bool, error) {
	final := t.b.Path(ref)
	if final == "" {
		return false, parseRef(ref)
	}
	if t.f == nil {
		return false, errors.New("commit twice")
	}
	if err := t.f.Sync(); err != nil {
		return false, fmt.Errorf("sync temporary file: %w", err)
	}
	err := t.f.Close()
	t.f = nil
	if err != nil {
		return false, fmt.Errorf("close temporary file: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	shard := filepath.Dir(final)
	if err := os.Mkdir(shard, 0o750); err == nil {
		if err := syncDir(filepath.Dir(shard)); err != nil {
			return false, fmt.Errorf("sync directory: %w", err)
		}
	} else if !errors.Is(err, fs.ErrExist) {
		return false, fmt.Errorf("create directory: %w", err)
	}
	if replace {
		if err := os.Rename(t.name, final); err != nil {
			return false, fmt.Errorf("rename temporary file: %w", err)
		}
	} else {
		// A hard link never replaces an existing file, so of several
		// concurrent Puts of the same content exactly one commits.
		err := os.Link(t.name, final)
		switch {
		case errors.Is(err, fs.ErrExist):
			return true, nil
		case err != nil:
			// The file system may not support hard links: fall back to a
			// rename, which is atomic but replaces (equivalent) content.
			if _, statErr := os.Lstat(final); statErr == nil {
				return true, nil
			}
			if err := os.Rename(t.name, final); err != nil {
				return false, fmt.Errorf("rename temporary file: %w", err)
			}
		}
	}
	if err := syncDir(shard); err != nil {
		return false, fmt.Errorf("sync directory: %w", err)
	}
	return false, nil
}

func (t *fsTemp) Discard() error {
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
	if err := os.Remove(t.name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Open implements EncryptedBackend. Errors: EINVALID, ENOTFOUND.
func (b *FSBackend) Open(ctx context.Context, ref custody.Ref) (io.ReadCloser, int64, error) {
	if err := parseRef(ref); err != nil {
		return nil, 0, err
	}
	f, err := os.Open(b.Path(ref))
	if err != nil {
		return nil, 0, notFound(ref, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("open blob %s: %w", ref, err)
	}
	return f, fi.Size(), nil
}

// List implements EncryptedBackend. It visits objects in order of their
// references; files whose names are not references are skipped.
func (b *FSBackend) List(ctx context.Context, fn func(custody.Ref) error) error {
	root := filepath.Join(b.dir, "age")
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
			hex, ok := strings.CutSuffix(name, ".age")
			if !ok {
				continue
			}
			ref, err := custody.ParseRef(custody.RefPrefix + hex)
			if err != nil || hex[:2] != shard.Name() {
				continue
			}
			if err := fn(ref); err != nil {
				return err
			}
		}
	}
	return nil
}
