package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/evidence"
)

func (m *Main) cmdInit(ctx context.Context, args []string) error {
	fs, data, _ := m.flags("init", "[--data DIR] [--db postgres://...] [--blobs s3://...] [--encrypt=false] [--backup-recipient age1...]")
	db := fs.String("db", "", "database: a postgres:// URL (default: SQLite inside the store)")
	blobs := fs.String("blobs", "", "blob storage: an s3:// URL (default: files inside the store)")
	name := fs.String("name", "", "a name for this store, e.g. the team's")
	admin := fs.String("admin", "admin", "name of the first administrator")
	encrypt := fs.Bool("encrypt", true, "encrypt evidence files and the log's private payloads at rest, with keys kept in DIR/keys (see docs/keys.md)")
	var backup stringList
	fs.Var(&backup, "backup-recipient", "also encrypt to this age public key (age1...), whose private key you keep offline; repeatable")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if !*encrypt && len(backup) > 0 {
		return &custody.Error{Code: custody.EINVALID, Message: "--backup-recipient needs an encrypted store", Hint: "drop --encrypt=false"}
	}
	st, err := initStore(ctx, *data, initOptions{db: *db, blobs: *blobs, name: *name, encrypt: *encrypt, backup: backup}, m.Now, m.logger())
	if err != nil {
		return err
	}
	defer st.Close()
	_, token, err := st.svc.CreateUser(ctx, custody.SystemActor, *admin, custody.RoleAdmin, "")
	if err != nil {
		return err
	}
	// Publish, so that a new store's checkpoint covers its first entries.
	if _, err := st.svc.Publish(ctx); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "created store %s in %s\nverifier key: %s\n", st.cfg.StoreID, *data, st.cfg.VerifierKey)
	if st.ring != nil {
		fmt.Fprintf(m.Stderr, "encryption: on; the keys are in %s\n", st.ring.Dir())
		if len(backup) == 0 {
			fmt.Fprintf(m.Stderr, "  back them up now, apart from the store: custody keys backup --data %s --out /media/usb/custody-keys\n"+
				"  without them the evidence cannot be read by anyone (docs/keys.md)\n", *data)
		}
	} else {
		fmt.Fprintln(m.Stderr, "encryption: off (--encrypt=false): protect the store's disk and backups by other means")
	}
	fmt.Fprintf(m.Stderr, "API token of %s (shown once):\n", *admin)
	fmt.Fprintln(m.Stdout, token)
	return nil
}

func floatFlag(s string, name string) (*float64, error) {
	if s == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, custody.Errorf(custody.EINVALID, "--%s %q is not a number", name, s)
	}
	return &f, nil
}

func (m *Main) cmdAdd(ctx context.Context, args []string) error {
	fs, data, as := m.flags("add", "FILE... [--case ID] [--collector NAME] [--collected-at RFC3339] [--lat N --lon N] [--description TEXT] [--json]")
	caseID := fs.String("case", "", "case the items belong to")
	collector := fs.String("collector", "", "who collected the evidence")
	collectedAt := fs.String("collected-at", "", "when it was collected (RFC 3339, e.g. 2022-09-16T10:04:00+03:00)")
	lat := fs.String("lat", "", "latitude where it was collected (decimal degrees)")
	lon := fs.String("lon", "", "longitude where it was collected")
	desc := fs.String("description", "", "description")
	kind := fs.String("kind", custody.KindDigital, "digital, or physical (FILE is then an optional photo of the object)")
	seal := fs.String("seal", "", "seal number of a physical item")
	location := fs.String("location", "", "storage location of a physical item")
	compartments := fs.String("compartment", "", "cases and teams (record IDs, comma-separated) the items go in; default: your teams")
	asJSON := fs.Bool("json", false, "print the items as JSON")
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 && *kind != custody.KindPhysical {
		fmt.Fprintln(m.Stderr, "custody add: name at least one file")
		fs.Usage()
		return errUsage
	}
	la, err := floatFlag(*lat, "lat")
	if err != nil {
		return err
	}
	lo, err := floatFlag(*lon, "lon")
	if err != nil {
		return err
	}
	// Check every file before taking any in: a typo in the last name should
	// not leave half a batch recorded.
	for _, f := range files {
		if err := checkFile(f); err != nil {
			return err
		}
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
	req := custody.IntakeRequest{Kind: *kind, Case: *caseID, Collector: *collector, CollectedAt: *collectedAt, Lat: la, Lon: lo,
		Description: *desc, Seal: *seal, Location: *location, Compartments: splitList(*compartments)}
	var items []*custody.Item
	if len(files) == 0 { // a physical item without a photo
		it, err := st.svc.Intake(ctx, actor, req)
		if err != nil {
			return err
		}
		items = append(items, it)
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return custody.Errorf(custody.EINVALID, "cannot read %s: %v", name, errors.Unwrap(err))
		}
		r := req
		r.Name, r.Content = filepath.Base(name), f
		it, err := st.svc.Intake(ctx, actor, r)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		items = append(items, it)
		if !*asJSON {
			dup := ""
			if it.Duplicate {
				dup = "  (same content as an earlier item: recorded again, stored once)"
			}
			fmt.Fprintf(m.Stdout, "%s  %s  %s  %d bytes  log #%d%s\n", it.ID, it.Blob, it.Name, it.Size, it.LogIndex, dup)
		}
	}
	if _, err := st.svc.Publish(ctx); err != nil {
		return err
	}
	if *asJSON {
		return m.printJSON(items)
	}
	if len(files) == 0 {
		fmt.Fprintf(m.Stdout, "%s  physical item  log #%d\n", items[0].ID, items[0].LogIndex)
	}
	return nil
}

// checkFile refuses what cannot be taken in, before anything is stored.
func checkFile(name string) error {
	fi, err := os.Stat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return custody.Errorf(custody.EINVALID, "%s: no such file", name)
	case err != nil:
		return custody.Errorf(custody.EINVALID, "%s: %v", name, errors.Unwrap(err))
	case fi.IsDir():
		return &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("%s is a directory", name), Hint: "name the files, e.g. " + filepath.Join(name, "*")}
	case !fi.Mode().IsRegular():
		return custody.Errorf(custody.EINVALID, "%s is not a regular file", name)
	case fi.Size() == 0:
		return custody.Errorf(custody.EINVALID, "%s is empty", name)
	}
	f, err := os.Open(name)
	if err != nil {
		return custody.Errorf(custody.EINVALID, "cannot read %s: %v", name, errors.Unwrap(err))
	}
	return f.Close()
}

func (m *Main) cmdItems(ctx context.Context, args []string) error {
	fs, data, as := m.flags("items", "[--case ID] [--json]")
	caseID := fs.String("case", "", "only items of this case")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
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
	var all []*custody.Item
	after := ""
	for {
		items, err := st.svc.Items(ctx, actor, custody.ItemFilter{Case: *caseID, After: after, Limit: 1000})
		if err != nil {
			return err
		}
		if len(items) == 0 {
			break
		}
		all = append(all, items...)
		after = items[len(items)-1].ID
	}
	if *asJSON {
		if all == nil {
			all = []*custody.Item{}
		}
		return m.printJSON(all)
	}
	w := bufio.NewWriter(m.Stdout)
	for _, it := range all {
		fmt.Fprintf(w, "%s  %-8s  %-24s  %10d  %s  holder=%s\n", it.ID, it.Kind, it.MediaType, it.Size, it.Name, it.Holder)
	}
	return w.Flush()
}

func (m *Main) cmdShow(ctx context.Context, args []string) error {
	fs, data, as := m.flags("show", "ITEM")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
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
	it, err := st.svc.Item(ctx, actor, pos[0])
	if err != nil {
		return err
	}
	return m.printJSON(it)
}

func (m *Main) cmdHandover(ctx context.Context, args []string) error {
	fs, data, as := m.flags("handover", "ITEM --to HOLDER --reason TEXT [--seal ID] [--location TEXT]")
	to := fs.String("to", "", "the new holder")
	reason := fs.String("reason", "", "why the item changes hands")
	seal := fs.String("seal", "", "seal number after the handover")
	location := fs.String("location", "", "where the item is kept now")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
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
	ev, err := st.svc.Handover(ctx, actor, custody.HandoverRequest{Item: pos[0], To: *to, Reason: *reason, Seal: *seal, Location: *location})
	if err != nil {
		return err
	}
	if _, err := st.svc.Publish(ctx); err != nil {
		return err
	}
	if *asJSON {
		return m.printJSON(ev)
	}
	fmt.Fprintf(m.Stdout, "%s: %s -> %s  log #%d\n", ev.Item, ev.From, ev.To, ev.LogIndex)
	return nil
}

func (m *Main) cmdHistory(ctx context.Context, args []string) error {
	fs, data, as := m.flags("history", "ITEM [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
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
	evs, err := st.svc.History(ctx, actor, pos[0])
	if err != nil {
		return err
	}
	type row struct {
		*custody.Event
		Proof    string `json:"proof"`
		TreeSize uint64 `json:"tree_size"`
	}
	var rows []row
	failed := false
	for _, ev := range evs {
		p, err := st.svc.ProveIndex(ctx, ev.LogIndex)
		r := row{Event: ev, Proof: "verified"}
		if err != nil {
			r.Proof, failed = "FAILED: "+custody.ErrorMessage(err), true
		} else {
			r.TreeSize = p.TreeSize
		}
		rows = append(rows, r)
	}
	if *asJSON {
		if err := m.printJSON(rows); err != nil {
			return err
		}
	} else {
		for _, r := range rows {
			what := r.Type
			switch r.Type {
			case "intake":
				what = "intake, held by " + r.To
			case "handover":
				what = fmt.Sprintf("handover %s -> %s: %s", r.From, r.To, r.Reason)
			default:
				if r.Reason != "" {
					what += ": " + r.Reason
				}
			}
			extra := ""
			if r.Seal != "" {
				extra += " seal=" + r.Seal
			}
			if r.Location != "" {
				extra += " location=" + strconv.Quote(r.Location)
			}
			fmt.Fprintf(m.Stdout, "#%-6d %s  %s%s  by %s  [proof %s against checkpoint %d]\n", r.LogIndex, r.Time, what, extra, r.Actor, r.Proof, r.TreeSize)
		}
	}
	if failed {
		return errFailed
	}
	return nil
}

func (m *Main) cmdLog(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(m.Stderr, "Usage: custody log checkpoint | key | proof ITEM | proof --index N")
		return errUsage
	}
	sub := args[0]
	if sub != "checkpoint" && sub != "key" && sub != "proof" {
		// Checked before opening the store: "custody log --data DIR" is a
		// missing subcommand, not a missing store.
		fmt.Fprintf(m.Stderr, "custody log: unknown subcommand %q (checkpoint, key, proof)\n", sub)
		return errUsage
	}
	fs, data, _ := m.flags("log "+sub, "")
	index := fs.Int64("index", -1, "prove the entry at this log index")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	st, err := m.open(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "checkpoint":
		_, raw, err := st.svc.Checkpoint(ctx)
		if err != nil {
			return err
		}
		_, err = m.Stdout.Write(raw)
		return err
	case "key":
		fmt.Fprintln(m.Stdout, st.svc.VerifierKey())
		return nil
	default: // "proof", the only other subcommand let through above
		var p any
		switch {
		case *index >= 0 && len(pos) == 0:
			p, err = st.svc.ProveIndex(ctx, uint64(*index))
		case len(pos) == 1:
			p, err = st.svc.ProveItem(ctx, pos[0])
		default:
			fmt.Fprintln(m.Stderr, "Usage: custody log proof ITEM | --index N")
			return errUsage
		}
		if err != nil {
			return err
		}
		return m.printJSON(p)
	}
}

func (m *Main) cmdVerify(ctx context.Context, args []string) error {
	fs, data, _ := m.flags("verify", "[--json]")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	workers := fs.Int("workers", 2, "blobs hashed in parallel")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	st, err := m.open(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.svc.Publish(ctx); err != nil {
		fmt.Fprintf(m.Stderr, "custody verify: cannot publish pending entries: %s\n", custody.ErrorMessage(err))
	}
	rep, err := st.svc.Verify(ctx, *workers, m.progress())
	if err != nil {
		return err
	}
	if *asJSON {
		if rep.Problems == nil {
			rep.Problems = []evidence.Problem{}
		}
		if err := m.printJSON(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(m.Stdout, "entries %d, checkpoints %d, blobs %d (%d bytes), index rows %d\n", rep.Entries, rep.Checkpoints, rep.Blobs, rep.BlobBytes, rep.IndexRows)
		for _, p := range rep.Problems {
			fmt.Fprintf(m.Stdout, "PROBLEM %s", p.Kind)
			if p.Entry != nil {
				fmt.Fprintf(m.Stdout, " entry #%d", *p.Entry)
			}
			if p.Item != "" {
				fmt.Fprintf(m.Stdout, " item %s", p.Item)
			}
			if p.Object != "" {
				fmt.Fprintf(m.Stdout, " %s", p.Object)
			}
			fmt.Fprintf(m.Stdout, ": %s\n", p.Message)
			if p.Expected != "" || p.Found != "" {
				fmt.Fprintf(m.Stdout, "    expected: %s\n    found:    %s\n", p.Expected, p.Found)
			}
		}
		if rep.OK() {
			fmt.Fprintln(m.Stdout, "OK: the store is intact")
		} else {
			fmt.Fprintf(m.Stdout, "FAILED: %d problems\n", len(rep.Problems))
		}
	}
	if !rep.OK() {
		return errFailed
	}
	return nil
}

func (m *Main) cmdRebuild(ctx context.Context, args []string) error {
	fs, data, _ := m.flags("rebuild", "[--data DIR]")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	st, err := m.open(ctx, *data)
	if err != nil {
		return err
	}
	// Publish what the old database holds, so nothing acknowledged is lost.
	if _, err := st.svc.Publish(ctx); err != nil {
		st.Close()
		return fmt.Errorf("publish pending entries before rebuilding: %w", err)
	}
	n, err := rebuildStore(ctx, st, m.progress(), m.Now)
	st.Close()
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "rebuilt the database from %d log entries\n", n)
	return nil
}

func (m *Main) cmdUser(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(m.Stderr, "Usage: custody user add NAME --role ROLE [--password-stdin] | token NAME | list | password NAME | totp NAME [--disable] | unlock NAME | clearance NAME [LEVEL]")
		return errUsage
	}
	sub := args[0]
	if run, ok := m.userSubcommands()[sub]; ok { // users.go
		return run(ctx, args[1:])
	}
	if sub != "list" && sub != "add" && sub != "token" {
		fmt.Fprintf(m.Stderr, "custody user: unknown subcommand %q (add, token, list, password, totp, unlock, clearance)\n", sub)
		return errUsage
	}
	fs, data, as := m.flags("user "+sub, "")
	role := fs.String("role", "", "admin, prosecutor, investigator, forensic, sapper, analyst or reviewer")
	pwStdin := fs.Bool("password-stdin", false, "read a sign-in password from standard input")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	st, err := m.open(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "list":
		users, err := st.db.Users(ctx)
		if err != nil {
			return err
		}
		for _, u := range users {
			fmt.Fprintf(m.Stdout, "%s  %-24s %s\n", u.ID, u.Name, u.Role)
		}
		return nil
	case "add", "token":
		if len(pos) != 1 {
			fmt.Fprintf(m.Stderr, "Usage: custody user %s NAME\n", sub)
			return errUsage
		}
	}
	actor, err := st.actor(ctx, *as)
	if err != nil {
		return err
	}
	var token string
	if sub == "token" {
		if token, err = st.svc.NewToken(ctx, actor, pos[0]); err != nil {
			return err
		}
	} else {
		r, err := custody.ParseRole(*role)
		if err != nil {
			return err
		}
		pw := ""
		if *pwStdin {
			line, err := bufio.NewReader(m.Stdin).ReadString('\n')
			if err != nil && line == "" {
				return custody.Errorf(custody.EINVALID, "no password on standard input")
			}
			pw = strings.TrimRight(line, "\r\n")
		}
		if _, token, err = st.svc.CreateUser(ctx, actor, pos[0], r, pw); err != nil {
			return err
		}
	}
	if _, err := st.svc.Publish(ctx); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "API token of %s (shown once; use as Authorization: Bearer TOKEN):\n", pos[0])
	fmt.Fprintln(m.Stdout, token)
	return nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
