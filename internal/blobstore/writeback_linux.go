package blobstore

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// directAlign is the alignment O_DIRECT needs of buffers, offsets and
// lengths (the logical block size of any disk in use today divides it).
const directAlign = 4096

// startWriteback asks the kernel to start writing the range to disk without
// waiting for it, so that dirty pages do not pile up for the final fsync.
// It is advice: errors are ignored (the fsync that follows reports them).
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}

// startDirect switches f to direct I/O (O_DIRECT: from our buffer to the
// disk, no copy into the page cache and no writeback to pay for in CPU).
// It reports false, changing nothing, where the file system refuses.
func startDirect(f *os.File) bool {
	fd := int(f.Fd())
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return false
	}
	_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl|unix.O_DIRECT)
	return err == nil
}

// stopDirect switches f back to buffered I/O and returns false.
func stopDirect(f *os.File) bool {
	fd := int(f.Fd())
	if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err == nil {
		unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl&^unix.O_DIRECT)
	}
	return false
}

// alignedBuffer returns a buffer of n bytes whose start is aligned for
// direct I/O.
func alignedBuffer(n int) []byte {
	b := make([]byte, n+directAlign)
	off := int(uintptr(unsafe.Pointer(&b[0])) & (directAlign - 1))
	if off != 0 {
		off = directAlign - off
	}
	return b[off : off+n : off+n]
}
