// Package cli is the custody command: its subcommands and the wiring of
// every adapter. It is the only package that imports them all.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/locality"
)

// Main is one run of the custody command. Tests build one with their own
// streams, environment and clock.
type Main struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Now            func() time.Time
	// Interactive reports whether Stderr is a terminal (progress bars).
	Interactive bool
	// Ready, if set, receives the address once `serve` listens.
	Ready func(addr string)

	// withLocalities makes open load the KATOTTH gazetteer, which record
	// writes are checked against.
	withLocalities bool
	// secureCookies marks the web application's cookies Secure on plain
	// HTTP too (serve --secure-cookies, behind a TLS-terminating proxy).
	secureCookies bool
	// trustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (serve --trusted-proxy).
	trustedProxies []netip.Prefix
}

// Run runs the custody command with args (without the program name) and
// returns the process exit code: 0 success, 1 failure (or a store that does
// not verify), 2 usage error.
func Run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Now: time.Now, Interactive: isTerminal(os.Stderr)}
	return m.Run(ctx, args)
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

type command struct {
	summary string
	run     func(m *Main, ctx context.Context, args []string) error
}

// needsLocalities reports whether a command writes records (or serves an
// API that does) or names localities in its output, so that its store is
// opened with the KATOTTH gazetteer.
func needsLocalities(name string) bool {
	switch name {
	case "demo", "serve", "site", "incident", "import", "stats":
		return true
	}
	return false
}

func commands() map[string]command {
	return map[string]command{
		"demo":     {"create a store with synthetic demo data and serve it", (*Main).cmdDemo},
		"init":     {"create a store", (*Main).cmdInit},
		"add":      {"take in evidence files", (*Main).cmdAdd},
		"items":    {"list items", (*Main).cmdItems},
		"show":     {"show one item", (*Main).cmdShow},
		"handover": {"record a transfer of custody", (*Main).cmdHandover},
		"history":  {"print an item's chain of custody with proofs", (*Main).cmdHistory},
		"log":      {"checkpoint | key | proof ITEM: the tamper-evident log", (*Main).cmdLog},
		"verify":   {"check the whole store: blobs, log, checkpoints, index", (*Main).cmdVerify},
		"rebuild":  {"recreate the database from the log and blobs", (*Main).cmdRebuild},
		"keys":     {"list | rotate | add-recipient | backup | reencrypt: the keys of an encrypted store", (*Main).cmdKeys},
		"serve":    {"serve the API and the public log", (*Main).cmdServe},
		"user":     {"add | token | list | password | totp | unlock | clearance: users, passwords, second factors, clearances", (*Main).cmdUser},
		"session":  {"list | revoke: web sessions", (*Main).cmdSession},
		"token":    {"create | list | revoke: scoped, expiring API tokens", (*Main).cmdToken},
		"version":  {"print the version", (*Main).cmdVersion},
		"record":   {"create | show | list | update | withdraw: investigation records", (*Main).cmdRecord},
		"site":     {"add: record a site (burial site, grave, building, ...)", (*Main).cmdSite},
		"incident": {"add: record an incident (strike, killing, detention, ...)", (*Main).cmdIncident},
		"locality": {"find NAME: KATOTTH codes of settlements, in any spelling", (*Main).cmdLocality},
		"search":   {"full-text search across records", (*Main).cmdSearch},
		"stats":    {"the investigation's figures, overall or for a locality", (*Main).cmdStats},
		"import":   {"import records from CSV, JSON or GeoJSON", (*Main).cmdImport},
		"case":     {"matrix CASE: a case's charges, element by element: support and gaps", (*Main).cmdCase},

		// Access control (internal/cli/access.go).
		"grant":  {"USER CASE_OR_TEAM [--revoke]: give a user a case's or team's compartment, or take it back", (*Main).cmdGrant},
		"grants": {"USER: the cases and teams a user holds", (*Main).cmdGrants},
		"access": {"RECORD_OR_ITEM: who read it (administrators)", (*Main).cmdAccess},
		"reveal": {"RECORD --reason TEXT: show a protected witness's identity (logged)", (*Main).cmdReveal},

		// Court bundles (internal/cli/export.go).
		"export":        {"write a court bundle of a case: files, metadata, proofs, custody, report", (*Main).cmdExport},
		"verify-bundle": {"check a court bundle offline (as the standalone custody-verify does)", (*Main).cmdVerifyBundle},
	}
}

// Version is set at build time with -ldflags "-X ...cli.Version=...".
var Version = "dev"

// Run runs one command.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		m.usage(m.Stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmds := commands()
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(m.Stderr, "custody: unknown command %q%s\n", args[0], suggest(args[0], cmds))
		return 2
	}
	m.withLocalities = needsLocalities(args[0])
	err := c.run(m, ctx, args[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, errFailed):
		return 1
	}
	fmt.Fprintf(m.Stderr, "custody %s: %s\n", args[0], custody.ErrorMessage(err))
	if custody.ErrorCode(err) == custody.EINTERNAL {
		fmt.Fprintf(m.Stderr, "  detail: %v\n", err)
	}
	return 1
}

var (
	errUsage  = errors.New("usage")
	errFailed = errors.New("failed") // already reported
)

func (m *Main) usage(w io.Writer) {
	fmt.Fprintln(w, "custody: evidence intake, chain of custody and a tamper-evident log\n\nUsage: custody COMMAND [flags]\n\nCommands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --data DIR (default $CUSTODY_DATA, else ./custody-data).\nRun custody COMMAND -h for its flags.")
}

// suggest returns a "did you mean" hint for a mistyped command.
func suggest(s string, cmds map[string]command) string {
	best, bestD := "", 3
	for n := range cmds {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return " (run custody help)"
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// flags makes a FlagSet with the common --data and --as flags.
func (m *Main) flags(name, usage string) (*flag.FlagSet, *string, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	def := m.Getenv("CUSTODY_DATA")
	if def == "" {
		def = "custody-data"
	}
	data := fs.String("data", def, "store directory (env CUSTODY_DATA)")
	as := fs.String("as", m.envOr("CUSTODY_USER", "admin"), "act as this user (env CUSTODY_USER)")
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "Usage: custody %s %s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs, data, as
}

func (m *Main) envOr(k, def string) string {
	if v := m.Getenv(k); v != "" {
		return v
	}
	return def
}

// parse parses flags, allowing them after positional arguments too.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (m *Main) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func (m *Main) open(ctx context.Context, dir string) (*store, error) {
	var g *locality.Gazetteer
	if m.withLocalities {
		var err error
		if g, err = loadLocalities(); err != nil {
			return nil, err
		}
	}
	return openStore(ctx, dir, m.Now, m.logger(), g)
}

// actor returns the user a command acts as.
func (st *store) actor(ctx context.Context, name string) (*custody.User, error) {
	u, err := st.db.UserByName(ctx, name)
	if err != nil {
		return nil, &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("no user %q in this store", name), Hint: "give --as NAME or set CUSTODY_USER; custody user list shows the users"}
	}
	return u, nil
}

func (m *Main) printJSON(v any) error {
	enc := json.NewEncoder(m.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// progress returns a progress printer for terminals (nil otherwise).
func (m *Main) progress() func(phase string, done, total int64) {
	if !m.Interactive {
		return nil
	}
	last := time.Time{}
	return func(phase string, done, total int64) {
		if time.Since(last) < 100*time.Millisecond && done < total {
			return
		}
		last = time.Now()
		pct := 100.0
		if total > 0 {
			pct = 100 * float64(done) / float64(total)
		}
		bar := strings.Repeat("#", int(pct/5)) + strings.Repeat(".", 20-int(pct/5))
		fmt.Fprintf(m.Stderr, "\r%-6s [%s] %5.1f%%", phase, bar, pct)
		if done >= total {
			fmt.Fprintln(m.Stderr)
		}
	}
}

func (m *Main) cmdVersion(ctx context.Context, args []string) error {
	fmt.Fprintln(m.Stdout, "custody", Version)
	return nil
}
