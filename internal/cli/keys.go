package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/blobstore"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

const keysUsage = "Usage: custody keys list | rotate | add-recipient AGE1... | backup --out DIR | reencrypt [--all]  [--data DIR]"

// cmdKeys manages the key ring of an encrypted store (docs/keys.md).
func (m *Main) cmdKeys(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(m.Stderr, keysUsage)
		return errUsage
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "list":
		return m.keysList(ctx, args)
	case "rotate":
		return m.keysRotate(ctx, args)
	case "add-recipient":
		return m.keysAddRecipient(ctx, args)
	case "backup":
		return m.keysBackup(ctx, args)
	case "reencrypt":
		return m.keysReencrypt(ctx, args)
	}
	fmt.Fprintf(m.Stderr, "custody keys: unknown subcommand %q\n%s\n", sub, keysUsage)
	return errUsage
}

// keyStore reads the config of the store in dir and checks that it is
// encrypted; the key ring itself is loaded by the subcommands, some of
// which work without opening the database.
func keyStore(dir string) (Config, error) {
	cfg, err := readConfig(dir)
	if err != nil {
		return cfg, err
	}
	if !cfg.Encrypted() {
		return cfg, &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("the store at %s is not encrypted: it has no keys", dir),
			Hint: "encryption is chosen when a store is created (custody init, on by default)"}
	}
	return cfg, nil
}

func (m *Main) keysList(ctx context.Context, args []string) error {
	fs, data, _ := m.flags("keys list", "[--data DIR]")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := keyStore(*data)
	if err != nil {
		return err
	}
	ring, err := loadKeys(*data, cfg)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "key directory\t%s\n", ring.Dir())
	for _, k := range ring.IdentityInfo() {
		cur := ""
		if k.Current {
			cur = "  (current: new blobs are encrypted to it)"
		}
		fmt.Fprintf(w, "identity %d\t%s%s\n", k.N, k.Recipient, cur)
	}
	for _, r := range ring.ExtraRecipients() {
		fmt.Fprintf(w, "recipient\t%s  (recipients.txt: new data is also encrypted to it)\n", r)
	}
	for _, k := range ring.DataKeyInfo() {
		state := "opens"
		switch {
		case k.Err != nil:
			state = "CANNOT BE OPENED: " + custody.ErrorMessage(k.Err)
		case k.Current:
			state = "opens  (current: new payloads are sealed with it)"
		}
		fmt.Fprintf(w, "data key %d\t%s\n", k.N, state)
	}
	return w.Flush()
}

func (m *Main) keysRotate(ctx context.Context, args []string) error {
	fs, data, _ := m.flags("keys rotate", "[--data DIR]")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if _, err := keyStore(*data); err != nil {
		return err
	}
	n, err := blobstore.Rotate(*data)
	if err != nil {
		return err
	}
	ring, err := blobstore.LoadKeyRing(*data)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "added identity %d (%s) and data key %d\n", n, ring.Recipient(), ring.Fields().Current())
	fmt.Fprintf(m.Stderr, "New blobs and log payloads use them once the store is opened again: restart running servers\n"+
		"(every node, after copying %s to it). Older data keeps its keys: they stay in the ring.\n"+
		"Back up the keys again (custody keys backup) unless a backup recipient covers you; to stop\n"+
		"depending on the old identity, run custody keys reencrypt (docs/keys.md).\n", ring.Dir())
	return nil
}

func (m *Main) keysAddRecipient(ctx context.Context, args []string) error {
	fs, data, _ := m.flags("keys add-recipient", "AGE1... [--data DIR]")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(m.Stderr, "Usage: custody keys add-recipient AGE1... (the public key of a backup identity kept offline, from age-keygen)")
		return errUsage
	}
	if _, err := keyStore(*data); err != nil {
		return err
	}
	if err := blobstore.AddRecipient(*data, pos[0]); err != nil {
		return err
	}
	// The data keys are small: wrap them to the new recipient at once, so
	// that it can open every payload, old or new.
	if _, err := blobstore.RewrapDataKeys(*data, true); err != nil {
		return fmt.Errorf("the recipient was added, but the data keys could not be encrypted to it: %w", err)
	}
	fmt.Fprintf(m.Stdout, "added recipient %s\n", strings.TrimSpace(pos[0]))
	fmt.Fprintln(m.Stderr, "New blobs are encrypted to it, and the data keys of the log's payloads now are too.\n"+
		"Blobs stored before are not: run custody keys reencrypt --all once. Restart running servers.")
	return nil
}

func (m *Main) keysBackup(ctx context.Context, args []string) error {
	fs, data, _ := m.flags("keys backup", "--out DIR [--data DIR]")
	out := fs.String("out", "", "a new or empty directory, on removable media kept apart from the store")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(m.Stderr, "Usage: custody keys backup --out DIR")
		return errUsage
	}
	if _, err := keyStore(*data); err != nil {
		return err
	}
	if err := blobstore.BackupKeys(*data, *out); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "copied the key ring to %s and checked that the copy loads\n", *out)
	fmt.Fprintln(m.Stderr, "Keep the copy apart from the store and its backups (a backup holding both protects nothing).\n"+
		"Make a new copy after every rotation.")
	return nil
}

func (m *Main) keysReencrypt(ctx context.Context, args []string) error {
	fs, data, _ := m.flags("keys reencrypt", "[--all] [--data DIR]")
	all := fs.Bool("all", false, "rewrite every blob and data key, not only those the current identity cannot open (after add-recipient)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if _, err := keyStore(*data); err != nil {
		return err
	}
	st, err := m.open(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	enc, ok := st.svc.Blobs().(*blobstore.Encrypted)
	if !ok {
		return errors.New("the store's blob store is not encrypted") // not reached: keyStore checked
	}
	n, blobErr := enc.Reencrypt(ctx, *all)
	fmt.Fprintf(m.Stdout, "re-encrypted %d blobs\n", n)
	k, keyErr := blobstore.RewrapDataKeys(*data, *all)
	fmt.Fprintf(m.Stdout, "re-encrypted %d data keys\n", k)
	if err := errors.Join(blobErr, keyErr); err != nil {
		fmt.Fprintf(m.Stderr, "custody keys reencrypt: not everything could be re-encrypted; what failed was left as it was:\n  %s\n",
			strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return errFailed
	}
	if !*all {
		fmt.Fprintln(m.Stderr, "Everything is now encrypted to the current identity: older identity files may be moved out of keys/\n"+
			"(to offline media, not the bin: older backups of the blobs still need them).")
	}
	return nil
}
