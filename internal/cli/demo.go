package cli

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/demo"
)

const (
	// demoStoreName is the name of every store custody demo creates. demo
	// adds its dataset to no other store: synthetic records must never mix
	// with real evidence.
	demoStoreName = "Custody demo (synthetic data)"
	// demoMetaKey records, once the dataset is complete, the seed it was
	// generated from. A re-run finds it and only serves.
	demoMetaKey = "demo_seed"
	// demoDefaultDir is the store's directory when neither --data nor
	// CUSTODY_DATA names one: apart from custody-data, where real work goes.
	demoDefaultDir = "custody-demo"
)

// demoUsers are the accounts of a demo store, in the order the credentials
// are printed, with what each sees (see internal/demo: the administrator
// generates the dataset; the investigator serves in a mobile group and is
// granted a case; the reviewer is granted the case in court).
var demoUsers = []struct {
	name string
	role custody.Role
	sees string
}{
	{"admin", custody.RoleAdmin, "everything; manages users, grants and clearances; sees who read each record"},
	{"demo", custody.RoleInvestigator, "the general records; those of " + demo.InvestigatorTeam + ", as a member; the case \"" + demo.InvestigatorCase +
		"\" (granted); clearance medium: may reveal witnesses protected low or medium, with a reason"},
	{"reviewer", custody.RoleReviewer, "only the case in court, \"" + demo.ReviewerCase + "\" (granted); never a protected identity"},
}

const (
	demoAdmin = 0 // the administrator's index in demoUsers: it generates the dataset
	demoActor = 1 // the investigator's index in demoUsers
	demoRev   = 2 // the reviewer's
)

// cmdDemo creates (or reuses) a store holding a realistic, clearly
// synthetic investigation (see internal/demo), prints the address and
// demo credentials, and serves it. Nothing in it is real: persons are
// "Synthetic Person 0123", files are drawn by the generator.
func (m *Main) cmdDemo(ctx context.Context, args []string) error {
	fs, data, _ := m.flags("demo", "[--data DIR] [--addr 127.0.0.1:8080] [--seed N] [--no-serve]")
	if m.Getenv("CUSTODY_DATA") == "" {
		fs.Lookup("data").DefValue = demoDefaultDir
		*data = demoDefaultDir
	}
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	seed := fs.Uint64("seed", 1, "the dataset to generate: the same seed gives the same records and files")
	noServe := fs.Bool("no-serve", false, "create the store and print the credentials, then exit")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	st, err := m.openDemo(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	creds, err := demoCredentials(ctx, st)
	if err != nil {
		return err
	}
	status, err := m.demoDataset(ctx, st, *seed, creds[demoAdmin].user, demo.Options{Seed: *seed,
		Investigator: creds[demoActor].user.Name, Reviewer: creds[demoRev].user.Name})
	if err != nil {
		return err
	}
	if *noServe {
		m.demoBanner(m.Stdout, st.dir, "", status, creds)
		return nil
	}
	// Print once listening, with the address actually bound (--addr
	// 127.0.0.1:0 picks a free port).
	ready := m.Ready
	m.Ready = func(a string) {
		m.demoBanner(m.Stdout, st.dir, a, status, creds)
		if ready != nil {
			ready(a)
		}
	}
	defer func() { m.Ready = ready }()
	return m.serve(ctx, st, *addr)
}

// openDemo opens the demo store in dir, creating it if dir is missing or
// empty. It refuses a store custody demo did not create.
func (m *Main) openDemo(ctx context.Context, dir string) (*store, error) {
	if _, err := os.Stat(filepath.Join(dir, configName)); errors.Is(err, os.ErrNotExist) {
		st, err := initStore(ctx, dir, initOptions{name: demoStoreName, encrypt: true}, m.Now, m.logger())
		if err != nil {
			return nil, err
		}
		// Reopen as the command opens any store, so that record writes are
		// checked as everywhere else (locality codes against the codifier).
		if err := st.Close(); err != nil {
			return nil, err
		}
	}
	st, err := m.open(ctx, dir)
	if err != nil {
		return nil, err
	}
	if st.cfg.Name != demoStoreName {
		st.Close()
		return nil, &custody.Error{Code: custody.ECONFLICT,
			Message: fmt.Sprintf("%s holds a store that custody demo did not create (%q); demo data is never added to it", dir, st.cfg.Name),
			Hint:    "give --data a new or empty directory, e.g. --data ./" + demoDefaultDir}
	}
	return st, nil
}

// demoCred is a demo user and the API token issued to it on this run.
type demoCred struct {
	user     *custody.User
	token    string
	password string // for signing in to the web application
}

// demoPasswordFile keeps the demo users' web passwords (0600, in the store
// directory), so that a re-run can print them again: passwords are stored
// hashed, and a demo's purpose is to be tried.
const demoPasswordFile = "demo-passwords"

func readDemoPasswords(dir string) map[string]string {
	out := map[string]string{}
	b, err := os.ReadFile(filepath.Join(dir, demoPasswordFile))
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		if name, pw, ok := strings.Cut(line, " "); ok {
			out[name] = pw
		}
	}
	return out
}

func newDemoPassword() (string, error) {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])), nil
}

// demoCredentials creates the demo users, or gives the existing ones new
// tokens (tokens are stored hashed, so those of an earlier run cannot be
// shown again).
func demoCredentials(ctx context.Context, st *store) ([]demoCred, error) {
	var out []demoCred
	admin := custody.SystemActor
	passwords := readDemoPasswords(st.dir)
	var file strings.Builder
	for _, u := range demoUsers {
		existing, err := st.db.UserByName(ctx, u.name)
		var c demoCred
		switch {
		case err == nil:
			c.user = existing
			if c.token, err = st.svc.NewToken(ctx, custody.SystemActor, u.name); err != nil {
				return nil, err
			}
			c.password = passwords[u.name]
		case custody.ErrorCode(err) == custody.ENOTFOUND:
			if c.password, err = newDemoPassword(); err != nil {
				return nil, err
			}
			if c.user, c.token, err = st.svc.CreateUser(ctx, admin, u.name, u.role, c.password); err != nil {
				return nil, err
			}
		default:
			return nil, err
		}
		if u.role == custody.RoleAdmin {
			admin = c.user
		}
		if c.password != "" {
			fmt.Fprintf(&file, "%s %s\n", u.name, c.password)
		}
		out = append(out, c)
	}
	if err := os.WriteFile(filepath.Join(st.dir, demoPasswordFile), []byte(file.String()), 0o600); err != nil {
		return nil, fmt.Errorf("save the demo passwords: %w", err)
	}
	return out, nil
}

// demoDataset generates the dataset unless the store holds it already,
// publishes the log, and returns a line saying what the store holds.
func (m *Main) demoDataset(ctx context.Context, st *store, seed uint64, actor *custody.User, opts demo.Options) (string, error) {
	if s, err := st.db.Meta(ctx, demoMetaKey); err == nil {
		return "dataset of seed " + s + " (generated earlier; not generated again)", nil
	} else if custody.ErrorCode(err) != custody.ENOTFOUND {
		return "", err
	}
	page, err := st.db.ListRecords(ctx, custody.RecordFilter{Limit: 1}, nil)
	if err != nil {
		return "", err
	}
	if len(page.Records) > 0 {
		fmt.Fprintf(m.Stderr, "custody demo: %s holds records but no mark of a complete dataset (an interrupted run, or a rebuilt database): serving it as it is; remove the directory for a fresh dataset\n", st.dir)
		return "records of an earlier run (not generated again)", nil
	}
	fmt.Fprintf(m.Stderr, "custody demo: generating the synthetic dataset (seed %d) ...\n", seed)
	start := time.Now()
	sum, err := demo.Generate(ctx, st.svc, actor, opts)
	if err != nil {
		return "", &custody.Error{Code: custody.ErrorCode(err), Message: "generate the demo dataset: " + custody.ErrorMessage(err),
			Hint: "remove " + st.dir + " and run custody demo again"}
	}
	if err := st.db.SetMeta(ctx, demoMetaKey, strconv.FormatUint(seed, 10)); err != nil {
		return "", err
	}
	if _, err := st.svc.Publish(ctx); err != nil {
		return "", err
	}
	return fmt.Sprintf("dataset of seed %d, generated in %.1fs: %d graves, %d remains (%d bodies), %d persons, %d incidents, %d testimonies, %d teams, %d tasks, %d cases, %d evidence items",
		seed, time.Since(start).Seconds(), sum.Graves, sum.Remains, sum.Bodies, sum.Persons, sum.Incidents, sum.Testimonies,
		sum.Teams, sum.Tasks, sum.Cases, sum.Items), nil
}

// demoBanner prints where the demo store is, what it holds, and the demo
// credentials. addr is empty when the store is not served.
func (m *Main) demoBanner(w io.Writer, dir, addr, status string, creds []demoCred) {
	fmt.Fprintf(w, "Custody demo store in %s: SYNTHETIC DATA ONLY (invented persons, cases and files; real localities)\n  %s\n", dir, status)
	if addr != "" {
		fmt.Fprintf(w, "  API:        http://%s/api/v1/items\n  public log: http://%s/log/checkpoint\n", addr, addr)
	} else {
		fmt.Fprintf(w, "  serve it:   custody serve --data %s\n", dir)
	}
	if addr != "" {
		fmt.Fprintf(w, "  web:        http://%s/  (sign in with a user and password below)\n", addr)
	}
	fmt.Fprintln(w, "Demo credentials (API tokens are new on every run):")
	for i, c := range creds {
		pw := c.password
		if pw == "" {
			pw = "(none)"
		}
		fmt.Fprintf(w, "  user: %-8s %-14s  password: %-16s  token: %s\n", c.user.Name, "("+string(c.user.Role)+")", pw, c.token)
		if i < len(demoUsers) {
			fmt.Fprintf(w, "        sees: %s\n", demoUsers[i].sees)
		}
	}
	fmt.Fprintln(w, "  Most records are general (in no case or team); protected witnesses show as \"Witness W-...\" until revealed.")
	if addr != "" {
		fmt.Fprintf(w, "  try: curl -H 'Authorization: Bearer %s' http://%s/api/v1/items\n", creds[demoActor].token, addr)
	}
	fmt.Fprintf(w, "  CLI: export CUSTODY_DATA=%s CUSTODY_USER=demo\n", dir)
}
