package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/export"
	"github.com/custody-dev/custody/verify"
)

// listFlag collects a flag given several times or as a comma-separated list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			*l = append(*l, x)
		}
	}
	return nil
}

func (m *Main) cmdExport(ctx context.Context, args []string) error {
	fs, data, as := m.flags("export", "--case CASE [--items ID,...] --out DIR|FILE.zip [--confidentiality LEVEL] [--json]")
	caseID := fs.String("case", "", "export the items of this case (with --items: label the bundle with it)")
	var items listFlag
	fs.Var(&items, "items", "export these items (IDs, comma-separated or repeated); item IDs may also be given as arguments")
	out := fs.String("out", "", "the bundle to write: a new directory, or a file ending in .zip")
	conf := fs.String("confidentiality", "confidential", "confidentiality level written in the metadata")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	check := fs.Bool("verify", false, "verify the bundle once written (reads it all again)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	items = append(items, pos...)
	if *out == "" || (*caseID == "" && len(items) == 0) {
		fmt.Fprintln(m.Stderr, "custody export: give --out and --case or --items")
		fs.Usage()
		return errUsage
	}
	st, err := m.open(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	actor, err := st.actor(ctx, *as)
	if err != nil {
		return err
	}
	opts := export.Options{Case: *caseID, Items: items, Out: *out, Actor: actor, Confidentiality: *conf, Now: m.Now}
	if p := m.progress(); p != nil {
		opts.Progress = p
	}
	res, err := export.Export(ctx, st.svc, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := m.printJSON(res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(m.Stdout, "wrote %s: case %s, batch %s, %d items (%d files, %d bytes), %d log entries proven against the checkpoint of size %d\n",
			res.Path, res.Case, res.Batch, res.Items, res.Files, res.Bytes, res.Entries, res.TreeSize)
		if res.Withheld > 0 {
			fmt.Fprintf(m.Stdout, "witness protection: %d identities pseudonymised, %d payloads withheld (see redactions.json)\n", res.Pseudonyms, res.Withheld)
		}
		fmt.Fprintf(m.Stdout, "verify it with: custody-verify --key '%s' %s\n", st.svc.VerifierKey(), res.Path)
	}
	if !*check {
		return nil
	}
	return m.verifyBundle(res.Path, st.svc.VerifierKey(), 2, false)
}

func (m *Main) cmdVerifyBundle(ctx context.Context, args []string) error {
	fs := newFlagSet(m, "verify-bundle", "PATH [--key KEY|@FILE] [--json] [--workers N]")
	key := fs.String("key", "", "the store's verifier key (custody log key), or @FILE holding it; default: the bundle's own, reported as not pinned")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	workers := fs.Int("workers", 2, "files hashed in parallel")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errUsage
	}
	k, err := readKeyFlag(*key)
	if err != nil {
		fmt.Fprintf(m.Stderr, "custody verify-bundle: %v\n", err)
		return errUsage
	}
	return m.verifyBundle(pos[0], k, *workers, *asJSON)
}

// verifyBundle verifies the bundle at path and prints the report. An
// unreadable bundle is a usage error (exit 2), a bundle with problems a
// failure (exit 1).
func (m *Main) verifyBundle(path, key string, workers int, asJSON bool) error {
	fsys, closer, err := openBundle(path)
	if err != nil {
		fmt.Fprintf(m.Stderr, "custody verify-bundle: %v\n", err)
		return errUsage
	}
	defer closer.Close()
	opts := &verify.BundleOptions{Key: key, Workers: workers}
	if p := m.progress(); p != nil {
		opts.Progress = func(done, total int64) { p("verify", done, total) }
	}
	rep, err := verify.VerifyBundle(fsys, opts)
	if err != nil {
		fmt.Fprintf(m.Stderr, "custody verify-bundle: %v\n", err)
		return errUsage
	}
	if asJSON {
		err = m.printJSON(rep)
	} else {
		err = rep.WriteText(m.Stdout)
	}
	if err != nil {
		return err
	}
	if !rep.OK() {
		return errFailed
	}
	return nil
}

// newFlagSet makes a FlagSet without the store flags.
func newFlagSet(m *Main, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "Usage: custody %s %s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// readKeyFlag returns a verifier key given as is or as @FILE.
func readKeyFlag(v string) (string, error) {
	name, ok := strings.CutPrefix(v, "@")
	if !ok {
		return strings.TrimSpace(v), nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("read the key: %w", err)
	}
	return strings.TrimSpace(string(data)), nil
}

// openBundle opens a bundle directory, or a .zip, for verify.VerifyBundle.
func openBundle(path string) (fs.FS, io.Closer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, custody.Errorf(custody.ENOTFOUND, "no bundle at %s", path)
		}
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

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
