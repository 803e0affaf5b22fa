package blobstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"syscall"
)

// pipeDepth buffers of copyBufferSize each are in flight between the three
// stages of copyHashed; its memory use is bounded by their product (4 MiB),
// whatever the size of the content.
const pipeDepth = 4

type chunk struct {
	buf []byte
	n   int
}

// copyHashed copies src to f while hashing it with SHA-256, in a pipeline
// of three stages that run at once: this goroutine reads, one hashes, one
// writes (and asks the kernel to start writing back what was written, so the
// final fsync has little left to do). On two cores it is bounded by the
// slower of hashing and writing instead of by their sum.
//
// It returns the number of bytes copied and the digest. On error the
// written data is incomplete and the caller must discard f.
func copyHashed(ctx context.Context, f *os.File, src io.Reader) (int64, []byte, error) {
	free := make(chan []byte, pipeDepth)
	for range pipeDepth {
		free <- alignedBuffer(copyBufferSize)
	}
	direct := startDirect(f)
	toHash := make(chan chunk, pipeDepth)
	toWrite := make(chan chunk, pipeDepth)
	var writeErr error
	var sum []byte
	hashed := make(chan struct{})
	written := make(chan struct{})

	go func() { // hash, then pass on to the writer
		defer close(hashed)
		defer close(toWrite)
		h := sha256.New()
		for c := range toHash {
			h.Write(c.buf[:c.n])
			toWrite <- c
		}
		sum = h.Sum(nil)
	}()
	// After a failed write the writer keeps recycling buffers (so no stage
	// blocks) and the reader stops.
	writeFailed := make(chan struct{})
	go func() { // write, start writeback, recycle the buffer
		defer close(written)
		var off int64
		for c := range toWrite {
			if writeErr == nil {
				if direct && c.n%directAlign != 0 {
					direct = stopDirect(f) // the tail: not a whole number of blocks
				}
				_, err := f.WriteAt(c.buf[:c.n], off)
				if err != nil && direct && errors.Is(err, syscall.EINVAL) {
					// The file system took O_DIRECT but refuses the
					// writes (tmpfs, some FUSE): write through the cache.
					direct = stopDirect(f)
					_, err = f.WriteAt(c.buf[:c.n], off)
				}
				if err != nil {
					writeErr = err
					close(writeFailed)
				} else {
					if !direct {
						startWriteback(f, off, int64(c.n))
					}
					off += int64(c.n)
				}
			}
			free <- c.buf
		}
	}()

	var n int64
	var readErr error
	r := ctxReader{ctx, src}
read:
	for {
		var buf []byte
		select {
		case <-writeFailed:
			break read
		default:
		}
		select {
		case buf = <-free:
		case <-writeFailed:
			break read
		}
		// Fill the buffer: fewer, larger chunks keep the stages busy.
		k, err := fillBuf(r, buf)
		if k > 0 {
			n += int64(k)
			toHash <- chunk{buf, k}
		} else {
			free <- buf
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = err
			break
		}
	}
	close(toHash)
	<-hashed
	<-written
	if writeErr != nil {
		return n, nil, writeErr
	}
	if readErr != nil {
		return n, nil, readErr
	}
	return n, sum, nil
}

// fillBuf reads into buf until it is full or the reader fails. Unlike
// io.ReadFull it passes the reader's own errors through unchanged: only
// io.EOF ends the content, and a source that reports io.ErrUnexpectedEOF
// (an HTTP body cut short) fails the copy instead of being stored as a
// complete, truncated blob.
func fillBuf(r io.Reader, buf []byte) (int, error) {
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
