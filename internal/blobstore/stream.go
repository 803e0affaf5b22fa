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

	"filippo.io/age"
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
	prefix []byte
	aead   cipher.AEAD
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

// seal seals the plaintext of c as chunks first, first+1, ... into out and
// returns the number of bytes written. When c holds several chunks, half of
// them are sealed on another goroutine: hashing keeps one core busy, and
// sealing alone would leave the reads and writes to the other.
func (st *ageStream) seal(out []byte, c plainChunk, first uint64) int {
	chunks := chunksOf(c.n)
	one := func(j int) {
		var nonce [chacha20poly1305.NonceSize]byte
		off := j * ageChunk
		end := min(off+ageChunk, c.n)
		at := j * (ageChunk + ageTag)
		st.aead.Seal(out[at:at], chunkNonce(&nonce, first+uint64(j), c.last && j == chunks-1), c.buf[off:end], nil)
	}
	if chunks >= 4 {
		var wg sync.WaitGroup
		wg.Go(func() {
			for j := chunks / 2; j < chunks; j++ {
				one(j)
			}
		})
		for j := range chunks / 2 {
			one(j)
		}
		wg.Wait()
	} else {
		for j := range chunks {
			one(j)
		}
	}
	return c.n + chunks*ageTag
}

// plainChunk is a buffer of plaintext on its way through encryptHashed;
// last marks the end of the content.
type plainChunk struct {
	buf  []byte
	n    int
	last bool
}

// errStopped is returned by the stages of encryptHashed to one another once
// a stage has failed.
var errStopped = errors.New("pipeline stopped")

var encDepth = 6

// encryptHashed copies src to dst as an age file encrypted to recipients,
// while hashing the plaintext with SHA-256. Four stages run at once: this
// goroutine reads, one hashes, one seals, one writes, passing buffers of
// copyBufferSize bytes; memory stays at 2*pipeDepth buffers whatever the
// size. The sealing stage writes ciphertext straight into buffers aligned
// for direct I/O, so every plaintext byte is read once by SHA-256 and once
// by ChaCha20-Poly1305 and copied by nobody; on two cores, throughput is
// bound by the slower of hashing, sealing and the disk, not by their sum.
// Writes to dst are multiples of directAlign bytes, except the last one.
// It returns the plaintext's size and digest; errors of dst come wrapped
// in *writeError.
func encryptHashed(ctx context.Context, dst io.Writer, src io.Reader, recipients []age.Recipient) (int64, []byte, error) {
	st, err := newAgeStream(recipients)
	if err != nil {
		return 0, nil, fmt.Errorf("encrypt: %w", err)
	}
	const chunksPerBuffer = copyBufferSize / ageChunk
	// An output buffer holds what was sealed but not yet written (less than
	// directAlign bytes, or the header), then one input buffer's chunks.
	outSize := (len(st.prefix) + directAlign + chunksPerBuffer*(ageChunk+ageTag) + directAlign - 1) &^ (directAlign - 1)

	free := make(chan []byte, encDepth)    // plaintext buffers
	outFree := make(chan []byte, encDepth) // ciphertext buffers, aligned for direct I/O
	for i := range encDepth {
		free <- make([]byte, copyBufferSize)
		if i < pipeDepth {
			outFree <- alignedBuffer(outSize)
		}
	}
	toHash := make(chan plainChunk, encDepth)
	toSeal := make(chan plainChunk, encDepth)
	toWrite := make(chan chunk, encDepth)

	// stop is closed by the first stage to fail; the others then drain their
	// input, recycling buffers, so that no stage blocks.
	stop := make(chan struct{})
	var stopOnce sync.Once
	fail := func() { stopOnce.Do(func() { close(stop) }) }

	var wg sync.WaitGroup
	var sum []byte
	wg.Go(func() { // hash
		defer close(toSeal)
		h := sha256.New()
		for c := range toHash {
			h.Write(c.buf[:c.n])
			toSeal <- c
		}
		sum = h.Sum(nil)
	})
	var sealErr error
	wg.Go(func() { // seal
		defer close(toWrite)
		pending := append(make([]byte, 0, len(st.prefix)+directAlign), st.prefix...)
		var counter uint64
		for c := range toSeal {
			if sealErr != nil {
				free <- c.buf
				continue
			}
			if !c.last && c.n%ageChunk != 0 {
				// Not reached: the reader passes on full buffers only.
				sealErr = fmt.Errorf("internal error: a %d-byte buffer before the end", c.n)
				fail()
				free <- c.buf
				continue
			}
			var out []byte
			select {
			case out = <-outFree:
			case <-stop:
				sealErr = errStopped
				free <- c.buf
				continue
			}
			k := copy(out, pending)
			k += st.seal(out[k:], c, counter)
			counter += uint64(chunksOf(c.n))
			free <- c.buf
			w := k
			if !c.last {
				w = k &^ (directAlign - 1)
			}
			pending = append(pending[:0], out[w:k]...)
			toWrite <- chunk{out, w}
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
				toHash <- *held
				held = nil
				free <- buf
				break
			}
			toHash <- *held
			held = nil
		}
		if eof {
			toHash <- plainChunk{buf, k, true}
			break
		}
		held = &plainChunk{buf: buf, n: k}
	}
	if held != nil {
		free <- held.buf
	}
	close(toHash)
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
