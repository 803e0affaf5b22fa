//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cli

import (
	"errors"
	"os"
)

// noEcho cannot turn off echo here: passwords are piped in instead.
func noEcho(f *os.File) (func(), error) {
	return nil, errors.New("not supported on this system")
}
