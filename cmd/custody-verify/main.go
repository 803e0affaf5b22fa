// Command custody-verify checks a Custody court bundle offline: no network,
// no store. It is deliberately small and imports only the verify package
// (itself the standard library, golang.org/x/mod/sumdb/note and
// github.com/transparency-dev/merkle), so that it can be audited and built
// by anyone:
//
//	go install github.com/custody-dev/custody/cmd/custody-verify@latest
//	custody-verify --key 'custody.local/...+...+...' bundle.zip
//
// Exit status: 0 the bundle is intact, 1 problems were found (each is
// listed), 2 usage or the bundle cannot be read. See docs/bundle-format.md.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/custody-dev/custody/verify"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("custody-verify", flag.ContinueOnError)
	fl.SetOutput(stderr)
	key := fl.String("key", "", "the store's verifier key (from `custody log key`), or @FILE holding it;\ndefault: the bundle's own log/verifier.key, reported as not pinned")
	asJSON := fl.Bool("json", false, "print the report as JSON")
	workers := fl.Int("workers", 2, "files hashed in parallel")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "Usage: custody-verify [--key KEY|@FILE] [--json] [--workers N] BUNDLE\n\nBUNDLE is a bundle directory or .zip. Exit status: 0 intact, 1 problems, 2 usage or I/O error.\n\nFlags:")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fl.NArg() != 1 {
		fl.Usage()
		return 2
	}
	k := strings.TrimSpace(*key)
	if name, ok := strings.CutPrefix(k, "@"); ok {
		data, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintf(stderr, "custody-verify: %v\n", err)
			return 2
		}
		k = strings.TrimSpace(string(data))
	}
	fsys, closer, err := open(fl.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "custody-verify: %v\n", err)
		return 2
	}
	defer closer.Close()
	rep, err := verify.VerifyBundle(fsys, &verify.BundleOptions{Key: k, Workers: *workers})
	if err != nil {
		fmt.Fprintf(stderr, "custody-verify: %v\n", err)
		return 2
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "custody-verify: %v\n", err)
		return 2
	}
	if !rep.OK() {
		return 1
	}
	return 0
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// open opens a bundle directory or zip.
func open(path string) (fs.FS, io.Closer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if fi.IsDir() {
		return os.DirFS(path), nopCloser{}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	fsys, err := verify.OpenBundleZip(f, fi.Size())
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s is neither a bundle directory nor a zip bundle: %w", path, err)
	}
	return fsys, f, nil
}
