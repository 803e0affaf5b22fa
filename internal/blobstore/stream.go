package blobstore

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"filippo.io/age"
	"github.com/custody-dev/custody"
	"golang.org/x/crypto/chacha20poly1305"
)

// Blobs are stored as age files (age-encryption.org/v1): a header that
// wraps a random 16-byte file key for each recipient, a 16-byte nonce, then
// the payload in the STREAM construction: chunks of 64 KiB of plaintext,
// each sealed with ChaCha20-Poly1305 under a key derived from the file key
// and the nonce (HKDF-SHA-256, info "payload"), with the 12-byte nonce
// "11-byte big-endian chunk counter || last-chunk flag".
//
// The header is written by the age library itself (age.Encrypt), so that
// its encoding, the wrapping of the file key and the header MAC are age's
// own; the payload is sealed here, chunk by chunk straight into the buffers
// the file is written from, instead of through age's io.Writer (which costs
// two copies of every byte and one core). The result is byte for byte the
// format age reads: TestAgeCompatible decrypts it with the age library and,
// where installed, with the age command.

// ageStream is an age file being written: its header and payload nonce
// (prefix, to be written first) and the AEAD sealing its chunks.
type ageStream struct {
	prefix  []byte
	aead    cipher.AEAD
	scratch [2][]byte // for chunks straddling two write buffers, one per sealing goroutine
}

// newAgeStream starts an age file encrypted to recipients.
func newAgeStream(recipients []age.Recipient) (*ageStream, error) {
	if len(recipients) == 0 {
		return nil, errors.New("no recipients")
	}
	// age.Encrypt draws the file key, wraps it for every recipient, and
	// writes the header and the payload nonce, nothing else; the writer it
	// returns is dropped unused. The file key is seen on its way to the
	// first recipient.
	var fileKey []byte
	wrapped := make([]age.Recipient, len(recipients))
	for i, r := range recipients {
		wrapped[i] = captureKey(r, &fileKey)
	}
	var buf bytes.Buffer
	if _, err := age.Encrypt(&buf, wrapped...); err != nil {
		return nil, err
	}
	defer clear(fileKey)
	// Check what age wrote: a header, then exactly the nonce.
	hdr, err := age.ExtractHeader(bytes.NewReader(buf.Bytes()))
	if err != nil || len(fileKey) != 16 || buf.Len() != len(hdr)+ageNonce || !bytes.HasPrefix(buf.Bytes(), hdr) {
		return nil, fmt.Errorf("age wrote an unexpected header (%d bytes, file key of %d bytes): %v", buf.Len(), len(fileKey), err)
	}
	nonce := buf.Bytes()[len(hdr):]
	key, err := hkdf.Key(sha256.New, fileKey, nonce, "payload", chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, err
	}
	return &ageStream{prefix: buf.Bytes(), aead: aead}, nil
}

// captureKey wraps r so that the file key it is asked to wrap is copied to
// *key (the first time).
func captureKey(r age.Recipient, key *[]byte) age.Recipient {
	c := keyCapture{r: r, key: key}
	if _, ok := r.(age.RecipientWithLabels); ok {
		return keyCaptureLabels{c}
	}
	return c
}

type keyCapture struct {
	r   age.Recipient
	key *[]byte
}

func (c keyCapture) see(fileKey []byte) {
	if *c.key == nil {
		*c.key = bytes.Clone(fileKey)
	}
}

func (c keyCapture) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	c.see(fileKey)
	return c.r.Wrap(fileKey)
}

type keyCaptureLabels struct{ keyCapture }

func (c keyCaptureLabels) WrapWithLabels(fileKey []byte) ([]*age.Stanza, []string, error) {
	c.see(fileKey)
	return c.r.(age.RecipientWithLabels).WrapWithLabels(fileKey)
}

// chunkNonce returns the STREAM nonce of chunk i.
func chunkNonce(nonce *[chacha20poly1305.NonceSize]byte, i uint64, last bool) []byte {
	*nonce = [chacha20poly1305.NonceSize]byte{}
	binary.BigEndian.PutUint64(nonce[3:11], i)
	if last {
		nonce[11] = 1
	}
	return nonce[:]
}

// chunksOf returns the number of STREAM chunks holding n bytes of
// plaintext at the end of the content, or before it (n a multiple of
// ageChunk).
func chunksOf(n int) int { return max(1, (n+ageChunk-1)/ageChunk) }

// sealInto seals the plaintext of c as chunks first, first+1, ... of the
// age payload, whose sealed bytes go at stream offset pos on: into win, the
// write buffers of copyBufferSize bytes covering that range, win[0] holding
// stream offsets base*copyBufferSize on. A sealed chunk that straddles two
// buffers is sealed aside and copied (about one chunk in sixteen). When c
// holds several chunks, half of them are sealed on another goroutine:
// hashing keeps one core busy, and sealing alone would leave the reads and
// writes to the other.
func (st *ageStream) sealInto(win [][]byte, base, pos int64, c plainChunk, first uint64) {
	const w = copyBufferSize
	chunks := chunksOf(c.n)
	sealRange := func(from, to int, scratch *[]byte) {
		var nonce [chacha20poly1305.NonceSize]byte
		for j := from; j < to; j++ {
			off := j * ageChunk
			end := min(off+ageChunk, c.n)
			p := pos + int64(j)*(ageChunk+ageTag)
			l := end - off + ageTag
			b, at := win[p/w-base], int(p%w)
			n := chunkNonce(&nonce, first+uint64(j), c.last && j == chunks-1)
			if at+l <= w {
				st.aead.Seal(b[at:at], n, c.buf[off:end], nil)
				continue
			}
			if *scratch == nil {
				*scratch = make([]byte, 0, ageChunk+ageTag)
			}
			sealed := st.aead.Seal((*scratch)[:0], n, c.buf[off:end], nil)
			k := copy(b[at:], sealed)
			copy(win[p/w-base+1], sealed[k:])
		}
	}
	if chunks >= 4 {
		var wg sync.WaitGroup
		wg.Go(func() { sealRange(chunks/2, chunks, &st.scratch[1]) })
		sealRange(0, chunks/2, &st.scratch[0])
		wg.Wait()
	} else {
		sealRange(0, chunks, &st.scratch[0])
	}
}

// newStreamOpener returns a function that fills a buffer of a multiple of
// ageChunk bytes with the next plaintext of an age payload read from src
// (positioned at its nonce), opened with the file key; size is the
// plaintext's size, known from the object's. It returns io.EOF with the
// last bytes, and only bytes that were authenticated: at a chunk that fails
// it returns the chunks before it and ETAMPERED. Failures to read src are
// passed on; a payload that ends early is ETAMPERED.
func newStreamOpener(fileKey []byte, src *errRecorder, ref custody.Ref, size int64) (func([]byte) (int, error), error) {
	var nonce [ageNonce]byte
	if _, err := io.ReadFull(src, nonce[:]); err != nil {
		if src.err != nil {
			return nil, src.err
		}
		return nil, tampered(ref, "ciphertext is truncated")
	}
	key, err := hkdf.Key(sha256.New, fileKey, nonce[:], "payload", chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, err
	}
	readErr := func(err error) error {
		if src.err != nil {
			return src.err
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return tampered(ref, "ciphertext is truncated")
		}
		return err
	}
	var cbuf []byte
	var counter uint64
	remaining := size
	started := false
	return func(buf []byte) (int, error) {
		if started && remaining == 0 {
			return 0, io.EOF
		}
		started = true
		plainN := int(min(remaining, int64(len(buf))))
		chunks := chunksOf(plainN)
		cn := plainN + chunks*ageTag
		if len(cbuf) < cn {
			cbuf = make([]byte, (len(buf)/ageChunk)*(ageChunk+ageTag))
		}
		if _, err := io.ReadFull(src, cbuf[:cn]); err != nil {
			return 0, readErr(err)
		}
		end := remaining == int64(plainN)
		var nonce [chacha20poly1305.NonceSize]byte
		n := 0
		for j := range chunks {
			ct := cbuf[j*(ageChunk+ageTag) : min((j+1)*(ageChunk+ageTag), cn)]
			out, err := aead.Open(buf[n:n], chunkNonce(&nonce, counter, end && j == chunks-1), ct, nil)
			if err != nil {
				return n, tampered(ref, "ciphertext fails authentication: it is damaged or was altered")
			}
			counter++
			n += len(out)
		}
		remaining -= int64(plainN)
		if !end {
			return n, nil
		}
		// Nothing may follow the last chunk.
		var one [1]byte
		switch k, err := io.ReadFull(src, one[:]); {
		case k > 0:
			return n, tampered(ref, "data after the end of the ciphertext")
		case err != io.EOF:
			return n, readErr(err)
		}
		return n, io.EOF
	}, nil
}

// plainChunk is a buffer of plaintext on its way through encryptHashed;
// last marks the end of the content.
type plainChunk struct {
	buf  []byte
	n    int
	last bool
	refs *atomic.Int32 // stages yet to finish with buf
}

// errStopped is returned by the stages of encryptHashed to one another once
// a stage has failed.
var errStopped = errors.New("pipeline stopped")

// encDepth plaintext buffers and as many ciphertext buffers, of
// copyBufferSize bytes each, are in flight in encryptHashed: the reader
// holds one back and the sealer up to three (see there); 10 MiB in all,
// whatever the size of the content.
const encDepth = 5

// encryptHashed copies src to dst as an age file encrypted to recipients,
// while hashing the plaintext with SHA-256. Four stages run at once: this
// goroutine reads buffers of copyBufferSize bytes and hands each to the
// hashing and to the sealing stage together; the sealer writes ciphertext
// straight into buffers aligned for direct I/O, and one more stage writes
// them. Every plaintext byte is read once by SHA-256 and once by
// ChaCha20-Poly1305 and copied by nobody; on two cores, throughput is bound
// by hashing (the one stage that cannot be split) and the disk, when the
// other core is free for the rest. Writes to dst are of exactly
// copyBufferSize bytes, except the last. Memory stays at 2*encDepth buffers
// whatever the size. It returns the plaintext's size and digest; errors of
// dst come wrapped in *writeError.
func encryptHashed(ctx context.Context, dst io.Writer, src io.Reader, recipients []age.Recipient) (int64, []byte, error) {
	st, err := newAgeStream(recipients)
	if err != nil {
		return 0, nil, fmt.Errorf("encrypt: %w", err)
	}
	if len(st.prefix) >= copyBufferSize {
		return 0, nil, fmt.Errorf("encrypt: an age header of %d bytes", len(st.prefix))
	}
	free := make(chan []byte, encDepth)    // plaintext buffers
	outFree := make(chan []byte, encDepth) // ciphertext buffers, aligned for direct I/O
	for range encDepth {
		free <- alignedBuffer(copyBufferSize) // page-aligned: the kernel copies into it fastest
		outFree <- alignedBuffer(copyBufferSize)
	}
	toHash := make(chan plainChunk, encDepth)
	toSeal := make(chan plainChunk, encDepth)
	send := func(c plainChunk) {
		c.refs = new(atomic.Int32)
		c.refs.Store(2)
		toHash <- c
		toSeal <- c
	}
	toWrite := make(chan chunk, encDepth)

	// stop is closed by the first stage to fail; the others then drain their
	// input, recycling buffers, so that no stage blocks.
	stop := make(chan struct{})
	var stopOnce sync.Once
	fail := func() { stopOnce.Do(func() { close(stop) }) }

	var wg sync.WaitGroup
	var sum []byte
	// A buffer read goes to the hashing and the sealing stages at once, and
	// back to the reader once both are done with it.
	release := func(c plainChunk) {
		if c.refs.Add(-1) == 0 {
			free <- c.buf
		}
	}
	wg.Go(func() { // hash
		h := sha256.New()
		for c := range toHash {
			h.Write(c.buf[:c.n])
			release(c)
		}
		sum = h.Sum(nil)
	})
	var sealErr error
	wg.Go(func() { // seal
		defer close(toWrite)
		const w = copyBufferSize
		// The age file is written in buffers of exactly w bytes (the last
		// one excepted), holding stream offsets i*w on: writes of a whole
		// number of MiB, at MiB offsets, are what disks take fastest.
		var cur []byte // the buffer holding stream offset pos, or nil
		curIdx, pos := int64(0), int64(len(st.prefix))
		var counter uint64
		getBuf := func() []byte {
			select {
			case b := <-outFree:
				return b
			case <-stop:
				return nil
			}
		}
		if cur = getBuf(); cur != nil {
			copy(cur, st.prefix)
		}
		for c := range toSeal {
			if sealErr == nil && cur == nil {
				sealErr = errStopped
			}
			if sealErr == nil && !c.last && c.n%ageChunk != 0 {
				// Not reached: the reader passes on full buffers only.
				sealErr = fmt.Errorf("internal error: a %d-byte buffer before the end", c.n)
				fail()
			}
			if sealErr != nil {
				release(c)
				continue
			}
			chunks := chunksOf(c.n)
			end := pos + int64(c.n+chunks*ageTag)
			win := [][]byte{cur}
			for i := curIdx + 1; i <= (end-1)/w; i++ {
				b := getBuf()
				if b == nil {
					break
				}
				win = append(win, b)
			}
			if int64(len(win)) != (end-1)/w-curIdx+1 {
				sealErr = errStopped
				for _, b := range win {
					outFree <- b
				}
				cur = nil
				release(c)
				continue
			}
			st.sealInto(win, curIdx, pos, c, counter)
			counter += uint64(chunks)
			release(c)
			full := end / w
			for i := curIdx; i < full; i++ {
				toWrite <- chunk{win[i-curIdx], w}
			}
			var next []byte // the partly filled buffer holding offset end
			if end%w != 0 {
				next = win[full-curIdx]
			}
			pos, curIdx = end, full
			switch {
			case c.last && next != nil:
				toWrite <- chunk{next, int(end % w)}
				cur = nil
			case c.last:
				cur = nil
			case next != nil:
				cur = next
			default:
				cur = getBuf() // nil if stopped: the next buffer fails
			}
		}
		if cur != nil {
			outFree <- cur // unused after a failure
		}
	})
	var writeErr error
	wg.Go(func() { // write
		for c := range toWrite {
			if writeErr == nil && c.n > 0 {
				if _, err := dst.Write(c.buf[:c.n]); err != nil {
					writeErr = &writeError{err}
					fail()
				}
			}
			outFree <- c.buf
		}
	})

	// Read, one buffer ahead: a full buffer is passed on once the next read
	// shows whether more follows, so that the sealer knows which chunk is
	// the last (age marks it), even when the content ends on a buffer
	// boundary.
	var n int64
	var readErr error
	var held *plainChunk
	r := ctxReader{ctx, src}
read:
	for {
		var buf []byte
		select {
		case <-stop:
			break read
		case buf = <-free:
		}
		// Only io.EOF itself ends the content: an error wrapping it, or
		// io.ErrUnexpectedEOF (a truncated HTTP body, a blob failing
		// verification), is a failure.
		k, err := fill(r, buf)
		n += int64(k)
		if err != nil && err != io.EOF {
			readErr = err
			fail()
			free <- buf
			break
		}
		eof := err == io.EOF
		if held != nil {
			if k == 0 && eof {
				held.last = true
				send(*held)
				held = nil
				free <- buf
				break
			}
			send(*held)
			held = nil
		}
		if eof {
			send(plainChunk{buf: buf, n: k, last: true})
			break
		}
		held = &plainChunk{buf: buf, n: k}
	}
	if held != nil {
		free <- held.buf
	}
	close(toHash)
	close(toSeal)
	wg.Wait()
	switch {
	case writeErr != nil:
		return n, nil, writeErr
	case readErr != nil:
		return n, nil, readErr
	case sealErr != nil:
		return n, nil, fmt.Errorf("encrypt: %w", sealErr)
	}
	return n, sum, nil
}
