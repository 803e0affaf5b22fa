// Package upload receives files over a bad link: a server of the tus
// resumable upload protocol 1.0.0 (https://tus.io/protocols/resumable-upload)
// with the creation, creation-with-upload, termination, expiration and
// checksum (sha256) extensions.
//
// A client creates an upload (POST with Upload-Length and Upload-Metadata),
// then sends its bytes in one or more PATCH requests, each starting at the
// offset the server holds; after a dropped connection it asks for that
// offset (HEAD) and goes on from there. When the last byte has landed, the
// handler calls Config.Complete once with the finished file, and the upload
// is done.
//
// # Mounting
//
//	h, err := upload.New(upload.Config{Dir: ..., Path: "/api/v1/uploads/", ...})
//	mux.Handle("/api/v1/uploads/", h) // not under http.StripPrefix
//
// Requests, all but OPTIONS with Tus-Resumable: 1.0.0 (else 412):
//
//	OPTIONS <Path>        discovery: Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm
//	POST    <Path>        create; 201 with Location: <Path><id>
//	HEAD    <Path><id>    Upload-Offset, Upload-Length, Upload-Metadata, Cache-Control: no-store
//	PATCH   <Path><id>    append at Upload-Offset; 204 with the new Upload-Offset
//	DELETE  <Path><id>    terminate; 204
//
// A POST may carry X-HTTP-Method-Override: PATCH or DELETE for clients that
// cannot send those methods. Errors have the JSON API's body,
// {"error":{"code","message"}}, with the statuses tus prescribes: 400 bad
// header, 404 no such upload (or another user's), 409 wrong Upload-Offset,
// 410 expired, 412 wrong Tus-Resumable, 413 over Tus-Max-Size or
// Upload-Length, 415 wrong Content-Type, 423 another request busy on the
// upload, 460 checksum mismatch; and, for errors of Complete, the status of
// their custody error code.
//
// # The end of an upload
//
// The response to the request that brings the last byte (a PATCH, or a POST
// with creation-with-upload) is sent after Complete returns. It carries
//
//	Upload-SHA256: <hex>          the SHA-256 of the whole file
//	Upload-Result: <JSON>         Complete's result, JSON with non-ASCII escaped
//
// and has no body (tus requires 204 for PATCH). The same headers answer a
// HEAD of a finished upload, so a client that lost that response can get
// them; a finished upload is kept for Config.Expiry after it finished. If
// Complete fails, its error is the response, the bytes stay, and a PATCH
// with Upload-Offset equal to Upload-Length and an empty body calls
// Complete again (HEAD then shows all bytes received but no Upload-Result).
//
// # Durability
//
// Each upload is two files in Config.Dir: <id>.bin, the bytes, and
// <id>.json, its state: offset, metadata, owner, times, and the SHA-256
// state after offset bytes (crypto/sha256's digest marshalled), so that the
// hash is known the moment the last byte lands, without reading the file
// again. The rules:
//
//   - An offset MUST NOT be acknowledged (or shown by HEAD) before the bytes
//     up to it are fsynced: data is synced, then the state is written to a
//     temporary file, synced and renamed over <id>.json, and the directory
//     synced. The state file is the truth; bytes past its offset, left by a
//     crash, are cut off by the next PATCH.
//   - A PATCH cut off mid-body keeps what arrived: its bytes are synced and
//     the offset advanced to cover them, so the client resumes from there
//     (unless the PATCH carried Upload-Checksum, which then cannot be
//     checked: such a chunk is dropped whole). A long PATCH also makes its
//     progress durable every 64 MiB.
//   - Requests on one upload are serialised: a second one while the first
//     runs gets 423 Locked. The lock is in memory, so one process serves a
//     Dir.
//   - Complete is called once per upload by a process; a crash after it
//     returned but before the upload was recorded as finished can make a
//     later retry call it again, so it should be idempotent (intake of
//     content-addressed blobs is).
//
// IDs are 128 random bits in lowercase hex: URL-safe, the same on
// case-insensitive file systems, and checked before any file is named after
// one, so no request can reach a path outside Dir.
package upload

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/custody-dev/custody"
)

// Version is the tus protocol version served.
const Version = "1.0.0"

// Extensions lists the tus extensions served, as in Tus-Extension.
const Extensions = "creation,creation-with-upload,termination,expiration,checksum"

// DefaultExpiry is how long an upload is kept after its last activity when
// Config.Expiry is zero.
const DefaultExpiry = 72 * time.Hour

const (
	contentType     = "application/offset+octet-stream"
	checkpointEvery = 64 << 20 // bytes of a PATCH between durable checkpoints
	bufSize         = 256 << 10
	maxResultHeader = 8 << 10 // Upload-Result longer than this is left out
)

// Config configures a Handler. Dir, Path, MaxSize, Owner and Complete are
// required.
type Config struct {
	// Dir holds the uploads in progress (e.g. the store's tmp/uploads); it
	// is created if missing. Nothing else should write there.
	Dir string
	// Path is the URL path the handler is mounted at, ending in "/"
	// ("/api/v1/uploads/"); Location headers are Path + ID.
	Path string
	// MaxSize bounds Upload-Length (413 over it); it is sent as Tus-Max-Size.
	MaxSize int64
	// Expiry is how long an unfinished upload is kept after its last
	// activity, and a finished one after it finished (Clean removes them;
	// requests get 410 meanwhile). Zero means DefaultExpiry.
	Expiry time.Duration
	// Owner returns the ID of the authenticated user making the request.
	// Uploads belong to the user who created them: any other user gets 404.
	// An error is the response (a *custody.Error's code sets the status:
	// 401 for unauthorized, ...); so is the empty ID, as 401.
	Owner func(r *http.Request) (string, error)
	// Complete is called once when the last byte of an upload has been
	// durably written, with content open for reading at offset 0 (the
	// handler closes and then deletes it after Complete returns: take the
	// bytes during the call). Its context is the request's, without its
	// cancellation, so a client that hangs up does not abort the intake.
	// Its result is JSON-encoded into the Upload-Result header. An error is
	// the response, by its custody code (internal errors are logged and
	// shown as "internal"); see the package comment for the retry.
	Complete func(ctx context.Context, up Upload, content *os.File) (result any, err error)
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Rand is the source of IDs; default crypto/rand.Reader.
	Rand io.Reader
	// Logger receives internal errors; default: discarded.
	Logger *slog.Logger
}

// Upload describes an upload, as Complete sees it.
type Upload struct {
	ID       string
	Owner    string
	Length   int64             // Upload-Length
	Offset   int64             // bytes received and durable
	Metadata map[string]string // Upload-Metadata, decoded: filename, filetype, case, lat, ...
	SHA256   string            // lowercase hex, once Offset == Length
	Created  time.Time
	Updated  time.Time // last activity
}

// state is what <id>.json holds.
type state struct {
	ID       string            `json:"id"`
	Owner    string            `json:"owner"`
	Length   int64             `json:"length"`
	Offset   int64             `json:"offset"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Created  time.Time         `json:"created"`
	Updated  time.Time         `json:"updated"`
	Hash     []byte            `json:"hash"`             // marshalled sha256 state after Offset bytes
	SHA256   string            `json:"sha256,omitempty"` // hex, once Offset == Length
	Done     bool              `json:"done,omitempty"`   // Complete succeeded
	Result   json.RawMessage   `json:"result,omitempty"` // Complete's result
}

func (s *state) upload() Upload {
	md := make(map[string]string, len(s.Metadata))
	for k, v := range s.Metadata {
		md[k] = v
	}
	return Upload{ID: s.ID, Owner: s.Owner, Length: s.Length, Offset: s.Offset, Metadata: md,
		SHA256: s.SHA256, Created: s.Created, Updated: s.Updated}
}

// Handler serves the tus protocol; see the package comment. It is safe for
// concurrent use.
type Handler struct {
	cfg    Config
	logger *slog.Logger

	checkpoint int64 // bytes of a PATCH between durable checkpoints

	mu   sync.Mutex
	busy map[string]bool // uploads with a request in progress
}

var _ http.Handler = (*Handler)(nil)

// New checks cfg and creates its Dir.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Dir == "":
		return nil, errors.New("upload: Config.Dir is required")
	case !strings.HasPrefix(cfg.Path, "/") || !strings.HasSuffix(cfg.Path, "/"):
		return nil, fmt.Errorf("upload: Config.Path %q must start and end with /", cfg.Path)
	case cfg.MaxSize <= 0:
		return nil, errors.New("upload: Config.MaxSize must be positive")
	case cfg.Expiry < 0:
		return nil, errors.New("upload: Config.Expiry is negative")
	case cfg.Owner == nil || cfg.Complete == nil:
		return nil, errors.New("upload: Config.Owner and Config.Complete are required")
	}
	if cfg.Expiry == 0 {
		cfg.Expiry = DefaultExpiry
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	return &Handler{cfg: cfg, logger: logger, checkpoint: checkpointEvery, busy: map[string]bool{}}, nil
}

// ServeHTTP implements the protocol for requests under Config.Path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Tus-Resumable", Version)
	method := r.Method
	if o := r.Header.Get("X-HTTP-Method-Override"); o != "" && method == http.MethodPost {
		method = strings.ToUpper(o)
	}
	rest, ok := strings.CutPrefix(r.URL.Path, h.cfg.Path)
	if !ok {
		if r.URL.Path+"/" != h.cfg.Path {
			h.fail(w, r, http.StatusNotFound, custody.Errorf(custody.ENOTFOUND, "no such upload"))
			return
		}
		rest = ""
	}
	if method == http.MethodOptions {
		h.options(w)
		return
	}
	if v := r.Header.Get("Tus-Resumable"); v != Version {
		w.Header().Set("Tus-Version", Version)
		h.fail(w, r, http.StatusPreconditionFailed, custody.Errorf(custody.EINVALID, "Tus-Resumable %q is not supported: use %s", v, Version))
		return
	}
	if rest == "" {
		if method != http.MethodPost {
			w.Header().Set("Allow", "OPTIONS, POST")
			h.fail(w, r, http.StatusMethodNotAllowed, custody.Errorf(custody.EINVALID, "method %s not allowed here", method))
			return
		}
		h.create(w, r)
		return
	}
	if !validID(rest) {
		h.fail(w, r, http.StatusNotFound, custody.Errorf(custody.ENOTFOUND, "no such upload"))
		return
	}
	switch method {
	case http.MethodHead:
		h.head(w, r, rest)
	case http.MethodPatch:
		h.patch(w, r, rest)
	case http.MethodDelete:
		h.terminate(w, r, rest)
	default:
		w.Header().Set("Allow", "HEAD, PATCH, DELETE")
		h.fail(w, r, http.StatusMethodNotAllowed, custody.Errorf(custody.EINVALID, "method %s not allowed here", method))
	}
}

func (h *Handler) options(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Tus-Version", Version)
	hd.Set("Tus-Extension", Extensions)
	hd.Set("Tus-Max-Size", strconv.FormatInt(h.cfg.MaxSize, 10))
	hd.Set("Tus-Checksum-Algorithm", "sha256")
	w.WriteHeader(http.StatusNoContent)
}

// owner authenticates the request; on failure it has written the response.
func (h *Handler) owner(w http.ResponseWriter, r *http.Request) (string, bool) {
	who, err := h.cfg.Owner(r)
	if err == nil && who == "" {
		err = custody.Errorf(custody.EUNAUTHORIZED, "authentication required")
	}
	if err != nil {
		h.fail(w, r, 0, err)
		return "", false
	}
	return who, true
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	who, ok := h.owner(w, r)
	if !ok {
		return
	}
	if r.Header.Get("Upload-Defer-Length") != "" {
		h.fail(w, r, http.StatusBadRequest, custody.Errorf(custody.EINVALID, "Upload-Defer-Length is not supported: send Upload-Length"))
		return
	}
	length, err := parseSize(r.Header.Get("Upload-Length"))
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, custody.Errorf(custody.EINVALID, "Upload-Length: %v", err))
		return
	}
	if length == 0 {
		h.fail(w, r, http.StatusBadRequest, custody.Errorf(custody.EINVALID, "empty upload: Upload-Length is 0"))
		return
	}
	if length > h.cfg.MaxSize {
		h.fail(w, r, http.StatusRequestEntityTooLarge, custody.Errorf(custody.ETOOLARGE, "Upload-Length %d over the limit of %d bytes", length, h.cfg.MaxSize))
		return
	}
	md, err := ParseMetadata(r.Header.Get("Upload-Metadata"))
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, custody.Errorf(custody.EINVALID, "%v", err))
		return
	}
	// creation-with-upload: the body is the first chunk.
	withBody := mediaType(r.Header.Get("Content-Type")) == contentType
	id, err := h.newID()
	if err != nil {
		h.fail(w, r, 0, err)
		return
	}
	now := h.cfg.Now()
	hs, err := sha256.New().(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		h.fail(w, r, 0, err)
		return
	}
	st := &state{ID: id, Owner: who, Length: length, Metadata: md, Created: now, Updated: now, Hash: hs}
	if !h.lock(id) { // cannot happen for a fresh ID, but Clean must not see it half made
		h.fail(w, r, http.StatusLocked, custody.Errorf(custody.ECONFLICT, "upload busy"))
		return
	}
	defer h.unlock(id)
	f, err := os.OpenFile(h.dataPath(id), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err == nil {
		err = f.Close()
	}
	if err == nil {
		err = h.save(st)
	}
	if err != nil {
		os.Remove(h.dataPath(id))
		h.fail(w, r, 0, fmt.Errorf("create upload: %w", err))
		return
	}
	w.Header().Set("Location", h.cfg.Path+id)
	if !withBody {
		h.setExpires(w, st)
		w.WriteHeader(http.StatusCreated)
		return
	}
	h.receive(w, r, st, 0, http.StatusCreated)
}

func (h *Handler) head(w http.ResponseWriter, r *http.Request, id string) {
	who, ok := h.owner(w, r)
	if !ok {
		return
	}
	st, ok := h.load(w, r, id, who)
	if !ok {
		return
	}
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("Upload-Offset", strconv.FormatInt(st.Offset, 10))
	hd.Set("Upload-Length", strconv.FormatInt(st.Length, 10))
	if len(st.Metadata) > 0 {
		hd.Set("Upload-Metadata", EncodeMetadata(st.Metadata))
	}
	h.setExpires(w, st)
	h.setFinal(w, st)
	w.WriteHeader(http.StatusOK)
}

func (h *Handler) patch(w http.ResponseWriter, r *http.Request, id string) {
	if mediaType(r.Header.Get("Content-Type")) != contentType {
		h.fail(w, r, http.StatusUnsupportedMediaType, custody.Errorf(custody.EINVALID, "Content-Type must be %s", contentType))
		return
	}
	offset, err := parseSize(r.Header.Get("Upload-Offset"))
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, custody.Errorf(custody.EINVALID, "Upload-Offset: %v", err))
		return
	}
	st, ok := h.lockAndLoad(w, r, id)
	if !ok {
		return
	}
	defer h.unlock(id)
	h.receive(w, r, st, offset, http.StatusNoContent)
}

// receive appends the request body at offset and answers with status, or
// with an error. The upload is locked.
func (h *Handler) receive(w http.ResponseWriter, r *http.Request, st *state, offset int64, status int) {
	if offset != st.Offset {
		w.Header().Set("Upload-Offset", strconv.FormatInt(st.Offset, 10))
		h.fail(w, r, http.StatusConflict, custody.Errorf(custody.ECONFLICT, "Upload-Offset %d does not match the %d bytes received", offset, st.Offset))
		return
	}
	remaining := st.Length - st.Offset
	if r.ContentLength > remaining {
		h.fail(w, r, http.StatusRequestEntityTooLarge, custody.Errorf(custody.ETOOLARGE, "body of %d bytes past Upload-Length: %d bytes remain", r.ContentLength, remaining))
		return
	}
	var want []byte // Upload-Checksum of this chunk
	if c := r.Header.Get("Upload-Checksum"); c != "" {
		alg, sum, _ := strings.Cut(c, " ")
		if alg != "sha256" {
			h.fail(w, r, http.StatusBadRequest, custody.Errorf(custody.EINVALID, "Upload-Checksum algorithm %q is not supported: use sha256", alg))
			return
		}
		b, err := decodeValue(sum)
		if err != nil || len(b) != sha256.Size {
			h.fail(w, r, http.StatusBadRequest, custody.Errorf(custody.EINVALID, "Upload-Checksum is not a base64 SHA-256"))
			return
		}
		want = []byte(b)
	}
	if st.Done || remaining == 0 {
		// All bytes are in: a retry after a lost or failed final response.
		if n, _ := io.CopyN(io.Discard, r.Body, 1); n > 0 {
			h.fail(w, r, http.StatusRequestEntityTooLarge, custody.Errorf(custody.ETOOLARGE, "the upload already has its %d bytes", st.Length))
			return
		}
		h.finish(w, r, st, status)
		return
	}

	res, err := h.write(r, st, want)
	switch {
	case err != nil:
		h.fail(w, r, 0, err)
		return
	case res == tooLong:
		w.Header().Set("Upload-Offset", strconv.FormatInt(st.Offset, 10))
		h.fail(w, r, http.StatusRequestEntityTooLarge, custody.Errorf(custody.ETOOLARGE, "body past Upload-Length: %d bytes remain", st.Length-st.Offset))
		return
	case res == mismatch:
		h.fail(w, r, 460, custody.Errorf(custody.EINVALID, "Upload-Checksum does not match the body; the chunk was discarded"))
		return
	case res == cutOff:
		// The client is gone (or its body broke off); what arrived is kept.
		w.Header().Set("Upload-Offset", strconv.FormatInt(st.Offset, 10))
		h.fail(w, r, http.StatusBadRequest, custody.Errorf(custody.EINVALID, "request body cut off at offset %d", st.Offset))
		return
	}
	if st.Offset == st.Length {
		h.finish(w, r, st, status)
		return
	}
	w.Header().Set("Upload-Offset", strconv.FormatInt(st.Offset, 10))
	h.setExpires(w, st)
	w.WriteHeader(status)
}

type writeResult int

const (
	written  writeResult = iota
	cutOff               // the body broke off; what arrived is kept (without a checksum)
	tooLong              // the body went past Upload-Length; nothing kept after the last checkpoint
	mismatch             // Upload-Checksum did not match; nothing kept
)

// write appends the body of r to the upload's data and advances st,
// durably. The upload is locked.
func (h *Handler) write(r *http.Request, st *state, want []byte) (writeResult, error) {
	f, err := os.OpenFile(h.dataPath(st.ID), os.O_WRONLY, 0)
	if err != nil {
		return 0, fmt.Errorf("open upload %s: %w", st.ID, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat upload %s: %w", st.ID, err)
	}
	if fi.Size() < st.Offset {
		return 0, fmt.Errorf("upload %s: %d bytes on disk, %d recorded", st.ID, fi.Size(), st.Offset)
	}
	start := st.Offset
	// rollback drops what this request wrote since its last checkpoint
	// (all of it, without checkpoints).
	rollback := func() error {
		if err := f.Truncate(st.Offset); err != nil {
			return fmt.Errorf("truncate upload %s: %w", st.ID, err)
		}
		return nil
	}
	if fi.Size() > start { // left by a crash after writing, before recording
		if err := rollback(); err != nil {
			return 0, err
		}
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return 0, fmt.Errorf("seek upload %s: %w", st.ID, err)
	}
	dig := sha256.New()
	if err := dig.(encoding.BinaryUnmarshaler).UnmarshalBinary(st.Hash); err != nil {
		// A state this Go cannot read back (or none): hash the bytes again.
		dig = sha256.New()
		if err := rehash(dig, h.dataPath(st.ID), start); err != nil {
			return 0, fmt.Errorf("upload %s: hash state: %w", st.ID, err)
		}
	}
	chunk := sha256.New() // for Upload-Checksum
	remaining := st.Length - start
	body := io.LimitReader(r.Body, remaining+1)
	buf := make([]byte, bufSize)
	var n, synced int64 // bytes written by this request; of them, made durable
	var readErr error
	for {
		k, err := body.Read(buf)
		if n+int64(k) > remaining {
			if err := rollback(); err != nil {
				return 0, err
			}
			return tooLong, nil
		}
		if k > 0 {
			if _, werr := f.Write(buf[:k]); werr != nil {
				if rerr := rollback(); rerr != nil {
					h.logger.Error("upload: rollback", "id", st.ID, "err", rerr)
				}
				return 0, fmt.Errorf("write upload %s: %w", st.ID, werr)
			}
			dig.Write(buf[:k])
			if want != nil {
				chunk.Write(buf[:k])
			}
			n += int64(k)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
		if want == nil && n-synced >= h.checkpoint {
			if err := h.commit(f, st, dig, start+n); err != nil {
				return 0, err
			}
			synced = n
		}
	}
	if want != nil && (readErr != nil || string(chunk.Sum(nil)) != string(want)) {
		if err := rollback(); err != nil {
			return 0, err
		}
		if readErr != nil {
			return cutOff, nil
		}
		return mismatch, nil
	}
	if n > synced {
		if err := h.commit(f, st, dig, start+n); err != nil {
			return 0, err
		}
	}
	if readErr != nil {
		h.logger.Debug("upload: body cut off", "id", st.ID, "offset", st.Offset, "err", readErr)
		return cutOff, nil
	}
	return written, nil
}

// rehash feeds the first n bytes of the file at path to dig.
func rehash(dig hash.Hash, path string, n int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if k, err := io.Copy(dig, io.LimitReader(f, n)); err != nil || k != n {
		return fmt.Errorf("read %d of %d bytes: %v", k, n, err)
	}
	return nil
}

// commit makes offset durable: data synced first, then the state.
func (h *Handler) commit(f *os.File, st *state, dig hash.Hash, offset int64) error {
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync upload %s: %w", st.ID, err)
	}
	hs, err := dig.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return fmt.Errorf("upload %s: hash state: %w", st.ID, err)
	}
	next := *st
	next.Offset, next.Hash, next.Updated = offset, hs, h.cfg.Now()
	if offset == st.Length {
		next.SHA256 = hex.EncodeToString(dig.Sum(nil))
	}
	if err := h.save(&next); err != nil {
		return err
	}
	*st = next
	return nil
}

// finish calls Complete for an upload whose bytes are all in, unless an
// earlier call succeeded, and answers. The upload is locked.
func (h *Handler) finish(w http.ResponseWriter, r *http.Request, st *state, status int) {
	if !st.Done {
		f, err := os.Open(h.dataPath(st.ID))
		if err != nil {
			h.fail(w, r, 0, fmt.Errorf("open upload %s: %w", st.ID, err))
			return
		}
		result, err := h.cfg.Complete(context.WithoutCancel(r.Context()), st.upload(), f)
		f.Close()
		if err != nil {
			h.fail(w, r, 0, err)
			return
		}
		raw, err := json.Marshal(result)
		if err != nil {
			h.fail(w, r, 0, fmt.Errorf("upload %s: encode result: %w", st.ID, err))
			return
		}
		next := *st
		next.Done, next.Result, next.Updated, next.Hash = true, raw, h.cfg.Now(), nil
		if err := h.save(&next); err != nil {
			h.fail(w, r, 0, err)
			return
		}
		*st = next
		if err := os.Remove(h.dataPath(st.ID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			h.logger.Error("upload: remove finished data", "id", st.ID, "err", err)
		}
	}
	w.Header().Set("Upload-Offset", strconv.FormatInt(st.Offset, 10))
	h.setFinal(w, st)
	w.WriteHeader(status)
}

func (h *Handler) terminate(w http.ResponseWriter, r *http.Request, id string) {
	if _, ok := h.lockAndLoad(w, r, id); !ok {
		return
	}
	defer h.unlock(id)
	if err := h.remove(id); err != nil {
		h.fail(w, r, 0, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// load reads the state of upload id for user who; on failure it has
// written the response (404 for a missing upload or another user's, 410
// for an expired one).
func (h *Handler) load(w http.ResponseWriter, r *http.Request, id, who string) (*state, bool) {
	st, err := h.read(id)
	if errors.Is(err, fs.ErrNotExist) || err == nil && st.Owner != who {
		h.fail(w, r, http.StatusNotFound, custody.Errorf(custody.ENOTFOUND, "no such upload"))
		return nil, false
	}
	if err != nil {
		h.fail(w, r, 0, err)
		return nil, false
	}
	if h.expired(st) {
		h.fail(w, r, http.StatusGone, custody.Errorf(custody.ENOTFOUND, "upload expired"))
		return nil, false
	}
	return st, true
}

// lockAndLoad checks that the upload is the user's, locks it (423 if
// another request holds it) and reads its state again. On success the
// caller must unlock; on failure it has written the response.
func (h *Handler) lockAndLoad(w http.ResponseWriter, r *http.Request, id string) (*state, bool) {
	who, ok := h.owner(w, r)
	if !ok {
		return nil, false
	}
	if _, ok := h.load(w, r, id, who); !ok { // 404 before 423: another user learns nothing
		return nil, false
	}
	if !h.lock(id) {
		h.fail(w, r, http.StatusLocked, custody.Errorf(custody.ECONFLICT, "another request is writing this upload; retry when it ends"))
		return nil, false
	}
	st, ok := h.load(w, r, id, who)
	if !ok {
		h.unlock(id)
	}
	return st, ok
}

func (h *Handler) expired(st *state) bool {
	return h.cfg.Now().After(st.Updated.Add(h.cfg.Expiry))
}

func (h *Handler) read(id string) (*state, error) {
	b, err := os.ReadFile(h.statePath(id))
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("upload %s: state: %w", id, err)
	}
	if st.ID != id {
		return nil, fmt.Errorf("upload %s: state names %q", id, st.ID)
	}
	return &st, nil
}

// save writes st durably: a temporary file, synced, renamed over the state
// file, and the directory synced.
func (h *Handler) save(st *state) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("upload %s: encode state: %w", st.ID, err)
	}
	final := h.statePath(st.ID)
	tmp := final + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("upload %s: %w", st.ID, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err == nil {
		err = syncDir(h.cfg.Dir)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("upload %s: save state: %w", st.ID, err)
	}
	return nil
}

func (h *Handler) remove(id string) error {
	for _, p := range []string{h.dataPath(id), h.statePath(id), h.statePath(id) + ".tmp"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove upload %s: %w", id, err)
		}
	}
	return syncDir(h.cfg.Dir)
}

// Clean removes the uploads that have expired (Config.Expiry after their
// last activity, finished or not) and stray files older than that, skipping
// uploads with a request in progress. It returns how many uploads it
// removed. Call it now and then (hourly, say).
func (h *Handler) Clean(ctx context.Context) (int, error) {
	entries, err := os.ReadDir(h.cfg.Dir)
	if err != nil {
		return 0, fmt.Errorf("upload: clean: %w", err)
	}
	ids := map[string]bool{}
	for _, e := range entries {
		if id, _, ok := strings.Cut(e.Name(), "."); ok && validID(id) {
			ids[id] = true
		}
	}
	removed := 0
	for id := range ids {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		if !h.lock(id) {
			continue
		}
		gone, err := h.cleanOne(id)
		h.unlock(id)
		if err != nil {
			return removed, err
		}
		if gone {
			removed++
		}
	}
	return removed, nil
}

func (h *Handler) cleanOne(id string) (bool, error) {
	st, err := h.read(id)
	switch {
	case err == nil:
		if !h.expired(st) {
			return false, nil
		}
	case errors.Is(err, fs.ErrNotExist):
		// No state: a crash during creation, or a leftover. Remove once old.
		cutoff := h.cfg.Now().Add(-h.cfg.Expiry)
		for _, p := range []string{h.dataPath(id), h.statePath(id) + ".tmp"} {
			if fi, err := os.Stat(p); err == nil && fi.ModTime().After(cutoff) {
				return false, nil
			}
		}
	default: // unreadable state: leave it for a person to look at
		h.logger.Error("upload: clean", "id", id, "err", err)
		return false, nil
	}
	if err := h.remove(id); err != nil {
		return false, err
	}
	return true, nil
}

func (h *Handler) lock(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.busy[id] {
		return false
	}
	h.busy[id] = true
	return true
}

func (h *Handler) unlock(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.busy, id)
}

func (h *Handler) dataPath(id string) string  { return filepath.Join(h.cfg.Dir, id+".bin") }
func (h *Handler) statePath(id string) string { return filepath.Join(h.cfg.Dir, id+".json") }

func (h *Handler) newID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(h.cfg.Rand, b[:]); err != nil {
		return "", fmt.Errorf("upload: random ID: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// validID accepts exactly what newID makes: 32 lowercase hex digits.
func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (h *Handler) setExpires(w http.ResponseWriter, st *state) {
	if !st.Done {
		w.Header().Set("Upload-Expires", st.Updated.Add(h.cfg.Expiry).UTC().Format(http.TimeFormat))
	}
}

// setFinal sets Upload-SHA256 once all bytes are in and Upload-Result once
// Complete has succeeded.
func (h *Handler) setFinal(w http.ResponseWriter, st *state) {
	if st.SHA256 != "" {
		w.Header().Set("Upload-SHA256", st.SHA256)
	}
	if st.Done && len(st.Result) > 0 {
		if v := asciiJSON(st.Result); len(v) <= maxResultHeader {
			w.Header().Set("Upload-Result", v)
		}
	}
}

// asciiJSON rewrites JSON with every non-ASCII character escaped (\uXXXX),
// fit for a header value: JSON strings already escape control characters.
func asciiJSON(b []byte) string {
	var s strings.Builder
	for _, r := range string(b) {
		switch {
		case r < utf8.RuneSelf:
			s.WriteRune(r)
		case r > 0xffff:
			r1, r2 := utf16Pair(r)
			fmt.Fprintf(&s, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(&s, `\u%04x`, r)
		}
	}
	return s.String()
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

// parseSize parses a non-negative decimal integer header.
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("missing")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%q is not a non-negative integer", truncate(s))
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range", truncate(s))
	}
	return n, nil
}

func mediaType(v string) string {
	t, _, _ := strings.Cut(v, ";")
	return strings.ToLower(strings.TrimSpace(t))
}

// fail writes an error response. A status of 0 takes the status of err's
// custody code; internal errors are logged and shown as "internal".
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	if errors.Is(err, syscall.ENOSPC) {
		err = custody.Errorf(custody.ENOSPACE, "no space left for uploads")
	}
	code := custody.ErrorCode(err)
	if code == custody.EINTERNAL {
		h.logger.Error("upload: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == 0 {
		status = statusOf(code)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message = code, custody.ErrorMessage(err)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		json.NewEncoder(w).Encode(body) // the client may be gone: nothing to do about an error
	}
}

// statusOf maps custody error codes to HTTP statuses for errors that tus
// does not assign one, as the JSON API does.
func statusOf(code string) int {
	switch code {
	case custody.EINVALID:
		return http.StatusBadRequest
	case custody.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case custody.EFORBIDDEN:
		return http.StatusForbidden
	case custody.ENOTFOUND:
		return http.StatusNotFound
	case custody.ECONFLICT:
		return http.StatusConflict
	case custody.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case custody.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case custody.ENOSPACE:
		return http.StatusInsufficientStorage
	case custody.EUNSUPPORTED:
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

// syncDir fsyncs a directory, making renames and removals in it durable.
// Windows cannot sync a directory; there it is a no-op.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
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
