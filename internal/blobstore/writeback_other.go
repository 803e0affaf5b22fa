//go:build !linux

package blobstore

import "os"

const directAlign = 4096

// startWriteback is a no-op where sync_file_range does not exist; the final
// fsync does all the work.
func startWriteback(f *os.File, off, n int64) {}

func startDirect(f *os.File) bool { return false }

func stopDirect(f *os.File) bool { return false }

func alignedBuffer(n int) []byte { return make([]byte, n) }
