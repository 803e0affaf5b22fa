package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/custody-dev/custody"
)

// Content streams the bytes of evidence items, for the API's and the web
// application's content routes: the blob store's verifying reader, a custody
// access event in the log before any byte leaves, and single byte ranges
// (RFC 9110, section 14) so that a browser can seek in a video.
//
// # How byte ranges stay safe
//
// Blob readers report a hash mismatch only at the end of the blob
// (custody.BlobStore.Open). Content therefore reads every response through
// the verifying reader from the blob's first byte (a range's leading bytes
// are read and hashed, not sent), and holds back the last chunk of what it
// sends until it knows the bytes are good:
//
//   - A response that runs to the blob's end — the whole content, or a range
//     "bytes=N-" as Chrome and Firefox ask for when playing and seeking —
//     reaches the end anyway: the held chunk is sent only once the reader has
//     ended with the right hash and size. A tampered blob is refused before
//     any byte when it is under one chunk, and otherwise cut short: the
//     connection is aborted, so the client sees an incomplete response, never
//     a complete one.
//   - A range that ends before the blob does ("bytes=0-1", as Safari probes)
//     is served at the cost of its own length only when the same blob was
//     read whole and matched its hash lately (Memory: 10 minutes, the blob's
//     size, and its file's modification time where the store keeps files)
//     and is unchanged since. Otherwise the rest of the blob is read and
//     checked before the held chunk goes out, exactly as above, and the blob
//     is remembered as verified for the ranges that follow. What remains
//     possible is a blob changed on disk with its size and modification time
//     put back, within 10 minutes of a verified read, served in bounded
//     ranges; any whole read, any range to the end, and custody verify still
//     find it.
//
// Reading up to a range's start costs I/O proportional to the offset (the
// store has no ranged reads): seeking near the end of a 2 GB video reads
// 2 GB from a local disk in about a second.
//
// # Which reads are logged
//
// Every read without a Range header is logged (a download, an image's
// preview). A media element asks for many ranges while one person watches
// one video; with a Memory, a range request is not logged again when the
// same user's read of the same item was logged by this process within the
// last 30 minutes, so a viewing is one event, and a viewing that lasts longer
// is logged again. A range request is never exempt on its own — whatever
// offset it starts at — so no one gets bytes without an event: a request for
// "bytes=1-" by a user who has not read the item lately is logged. Without a
// Memory (the API, whose clients read deliberately: downloads, resumptions),
// every read is logged.
type Content struct {
	Blobs  custody.BlobStore
	Logger *slog.Logger
	// Memory remembers verified blobs and logged viewings; nil turns both
	// off (every bounded range is then checked to the blob's end and every
	// read is logged).
	Memory *Memory
}

// ContentRequest is one read of an item's content.
type ContentRequest struct {
	// Item is the item read; it must have a blob.
	Item *custody.Item
	// User is who reads (the key of Memory's viewings).
	User *custody.User
	// Header sets the representation's own headers (Content-Type,
	// Content-Disposition, a Content-Security-Policy for the content). It is
	// called only when a response with content is about to be written, never
	// when Serve returns an error.
	Header func(http.Header)
	// Log records the read as a custody access event. It is called before any
	// byte of content leaves; its error refuses the read.
	Log func(ctx context.Context) error
}

// chunk is the size of reads and of the chunk held back until the blob is
// verified.
const chunk = 32 << 10

// Serve answers a GET or HEAD of an item's content. It returns an error
// (custody codes: ENOTFOUND, ETAMPERED, ...) only when nothing has been
// written, for the caller to report in its own format. Once the response
// has begun, a failure is logged here and the response aborted
// (http.ErrAbortHandler), so the client sees it incomplete.
func (c *Content) Serve(w http.ResponseWriter, r *http.Request, req ContentRequest) error {
	it := req.Item
	if it == nil || it.Blob == "" {
		return custody.Errorf(custody.ENOTFOUND, "no content")
	}
	ctx := r.Context()
	size := it.Size
	etag := `"` + string(it.Blob) + `"`
	rng, status := parseRange(r, size, etag)
	if status == http.StatusRequestedRangeNotSatisfiable {
		h := w.Header()
		h.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		return nil
	}
	ranged := status == http.StatusPartialContent
	out := &lazyWriter{w: w, commit: func() {
		h := w.Header()
		if req.Header != nil {
			req.Header(h)
		}
		h.Set("Accept-Ranges", "bytes")
		h.Set("Cache-Control", "no-store")
		h.Set("ETag", etag)
		h.Set("Digest", "sha-256="+it.Blob.Hex())
		h.Set("Content-Length", strconv.FormatInt(rng.length, 10))
		if ranged {
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", rng.start, rng.start+rng.length-1, size))
		}
		w.WriteHeader(status)
	}}
	if r.Method == http.MethodHead {
		// GET patterns also match HEAD: no content leaves, so no access
		// event is recorded.
		out.flush()
		return nil
	}
	st, err := c.stamp(ctx, it.Blob)
	if err != nil {
		return err
	}
	rc, err := c.Blobs.Open(ctx, it.Blob)
	if err != nil {
		return err
	}
	defer rc.Close()
	if !ranged || c.Memory == nil || !c.Memory.viewedLately(req.User, it.ID) {
		if err := req.Log(ctx); err != nil {
			return err
		}
		if c.Memory != nil {
			c.Memory.viewed(req.User, it.ID)
		}
	}
	toEnd := rng.start+rng.length == size
	trusted := !toEnd && c.Memory != nil && c.Memory.verifiedAs(it.Blob, st)
	err = stream(out, rc, size, rng, !trusted)
	switch {
	case err == nil:
		if !trusted && c.Memory != nil {
			c.Memory.verifiedNow(it.Blob, st)
		}
		if size == 0 {
			out.flush()
		}
		return nil
	case custody.ErrorCode(err) == custody.ETAMPERED && c.Memory != nil:
		c.Memory.forget(it.Blob)
	}
	if !out.started {
		return err
	}
	if out.werr != nil {
		// The client went away (a media element cancels ranges all the
		// time): nothing to report.
		c.logger().Debug("stream content: client gone", "item", it.ID, "err", out.werr)
	} else {
		c.logger().Error("stream content", "item", it.ID, "err", err)
	}
	panic(http.ErrAbortHandler)
}

func (c *Content) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// stream sends rng of the blob read by r (which verifies at its end),
// holding back the last chunk it sends. With verify, it then reads the
// blob to its end and releases the held chunk only when the reader ended
// cleanly with exactly size bytes.
func stream(w io.Writer, r io.Reader, size int64, rng byteRange, verify bool) error {
	if rng.start > 0 {
		n, err := io.CopyN(io.Discard, r, rng.start)
		if errors.Is(err, io.EOF) {
			return tampered(fmt.Sprintf("content is %d bytes, its record says %d", n, size))
		} else if err != nil {
			return err
		}
	}
	buf := make([]byte, chunk)
	held := make([]byte, 0, chunk)
	var sent int64
	for sent < rng.length {
		n, err := r.Read(buf[:min(int64(len(buf)), rng.length-sent)])
		if n > 0 {
			if len(held) > 0 {
				if _, werr := w.Write(held); werr != nil {
					return werr
				}
			}
			held = append(held[:0], buf[:n]...)
			sent += int64(n)
		}
		if errors.Is(err, io.EOF) {
			if rng.start+sent != size || sent != rng.length {
				return tampered(fmt.Sprintf("content is %d bytes, its record says %d", rng.start+sent, size))
			}
			break
		} else if err != nil {
			return err
		}
	}
	if verify {
		extra, err := io.Copy(io.Discard, r)
		if err != nil {
			return err
		}
		if rng.start+rng.length == size && extra > 0 {
			return tampered(fmt.Sprintf("content is longer than its record (%d bytes)", size))
		}
	}
	if len(held) == 0 {
		return nil
	}
	_, err := w.Write(held)
	return err
}

func tampered(detail string) error {
	return custody.Errorf(custody.ETAMPERED, "%s", detail)
}

// lazyWriter writes the status and headers (commit) at the first Write, so
// that an error found before any byte is sent can still be answered with an
// error response.
type lazyWriter struct {
	w       http.ResponseWriter
	commit  func()
	started bool
	werr    error // the first error writing to the client
}

func (l *lazyWriter) flush() {
	if !l.started {
		l.started = true
		l.commit()
	}
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	l.flush()
	n, err := l.w.Write(p)
	if err != nil && l.werr == nil {
		l.werr = err
	}
	return n, err
}

// byteRange is the part of the content a response carries.
type byteRange struct{ start, length int64 }

// parseRange reads a request's Range (RFC 9110, section 14.2): one range of
// bytes, honoured when If-Range, if any, names etag. It returns the range
// and 206, the whole content and 200 (no Range, one it ignores: several
// ranges, another unit, a malformed one, an empty content), or 416 when the
// range starts past the end.
func parseRange(r *http.Request, size int64, etag string) (byteRange, int) {
	whole := byteRange{0, size}
	v := r.Header.Get("Range")
	if v == "" || size == 0 {
		return whole, http.StatusOK
	}
	if ir := r.Header.Get("If-Range"); ir != "" && ir != etag {
		return whole, http.StatusOK
	}
	spec, ok := strings.CutPrefix(v, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return whole, http.StatusOK
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return whole, http.StatusOK
	}
	num := func(s string) (int64, bool) {
		if s == "" || len(s) > 19 || strings.Trim(s, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	if first == "" { // the last N bytes
		n, ok := num(last)
		if !ok {
			return whole, http.StatusOK
		}
		if n == 0 {
			return byteRange{}, http.StatusRequestedRangeNotSatisfiable
		}
		n = min(n, size)
		return byteRange{size - n, n}, http.StatusPartialContent
	}
	start, ok := num(first)
	if !ok {
		return whole, http.StatusOK
	}
	end := size - 1
	if last != "" {
		e, ok := num(last)
		if !ok || e < start {
			return whole, http.StatusOK
		}
		end = min(e, size-1)
	}
	if start >= size {
		return byteRange{}, http.StatusRequestedRangeNotSatisfiable
	}
	return byteRange{start, end - start + 1}, http.StatusPartialContent
}

// blobStamp is what is known of a stored blob without reading it: its size
// and, for stores that keep files, the file's modification time. A change
// of either after a verified read sends the next bounded range back to a
// full check.
type blobStamp struct {
	size int64
	mod  time.Time
}

// filePather is a blob store that keeps each blob in a local file
// (blobstore.FS): the file's metadata tells whether it was touched.
type filePather interface {
	Path(custody.Ref) string
}

func (c *Content) stamp(ctx context.Context, ref custody.Ref) (blobStamp, error) {
	size, err := c.Blobs.Stat(ctx, ref)
	if err != nil {
		return blobStamp{}, err
	}
	st := blobStamp{size: size}
	if fp, ok := c.Blobs.(filePather); ok {
		if fi, err := os.Stat(fp.Path(ref)); err == nil {
			st.mod = fi.ModTime()
		}
	}
	return st, nil
}
