package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/custody-dev/custody/internal/cli"
)

// TestEncryptedByDefault: custody init makes an encrypted store. Its blobs
// are age files, the log's private payloads are sealed in the database and
// in the payload bundles; the commands work as on any store (add, dedup,
// show, verify, rebuild), and the log is verifiable without the keys.
func TestEncryptedByDefault(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := run(t, nil, "init", "--data", dir, "--name", "field team")
	if r.code != 0 || !strings.Contains(r.stderr, "encryption: on") || !strings.Contains(r.stderr, "custody keys backup") {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	var cfg cli.Config
	raw, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if err := json.Unmarshal(raw, &cfg); err != nil || cfg.Encryption != cli.EncryptionAge || cfg.Version != 2 {
		t.Errorf("config: %+v, %v", cfg, err)
	}
	for name, mode := range map[string]fs.FileMode{"keys": 0o700, "keys/age-1.key": 0o600, "keys/data-1.age": 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, %v; want mode %v", name, fi, err, mode)
		}
	}
	secret := "statement of witness W-7 about the night of 9 March"
	file := writeFile(t, "statement.txt", secret)
	if r = run(t, nil, "add", "--data", dir, "--description", "interview-marker", file); r.code != 0 {
		t.Fatalf("add: %d %s", r.code, r.stderr)
	}
	if r = run(t, nil, "add", "--data", dir, file); !strings.Contains(r.stdout, "same content") {
		t.Errorf("dedup on an encrypted store: %s %s", r.stdout, r.stderr)
	}
	items := itemsJSON(t, dir)
	if r = run(t, nil, "verify", "--data", dir); r.code != 0 || !strings.Contains(r.stdout, "OK") {
		t.Fatalf("verify: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// On disk, outside keys/ and the database's index: no plaintext.
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(p, "custody.db") || strings.Contains(p, string(filepath.Separator)+"keys"+string(filepath.Separator)) {
			return err
		}
		n++
		data, _ := os.ReadFile(p)
		if bytes.Contains(data, []byte("witness W-7")) || bytes.Contains(data, []byte("interview-marker")) {
			t.Errorf("%s holds plaintext", p)
		}
		return nil
	})
	if n < 5 {
		t.Errorf("only %d files checked", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs", "age", items[0].Blob.Hex()[:2], items[0].Blob.Hex()+".age")); err != nil {
		t.Errorf("the blob is not stored as an age file: %v", err)
	}
	// The payload column: sealed.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "custody.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var plain int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM log_entries WHERE substr(payload, 1, 1) = '{'`).Scan(&plain); err != nil || plain != 0 {
		t.Errorf("%d payloads stored in plaintext, %v", plain, err)
	}
	// Rebuild reads the sealed payload bundles.
	if r = run(t, nil, "rebuild", "--data", dir); r.code != 0 {
		t.Fatalf("rebuild: %d %s", r.code, r.stderr)
	}
	if got := itemsJSON(t, dir); len(got) != 2 || got[0].Description != "interview-marker" {
		t.Errorf("after rebuild: %+v", got)
	}
	if r = run(t, nil, "verify", "--data", dir); r.code != 0 {
		t.Fatalf("verify after rebuild: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// TestEncryptedStoreKeysMissing: without its keys (or with keys others can
// read) a store refuses to open, saying where the keys should be and what
// to do; restoring them from a backup makes it whole again.
func TestEncryptedStoreKeysMissing(t *testing.T) {
	dir, _ := initStore(t)
	backup := filepath.Join(t.TempDir(), "usb", "custody-keys")
	if r := run(t, nil, "keys", "backup", "--data", dir, "--out", backup); r.code != 0 {
		t.Fatalf("keys backup: %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "add", "--data", dir, writeFile(t, "a.txt", "before the loss")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	keys := filepath.Join(dir, "keys")
	os.Chmod(filepath.Join(keys, "age-1.key"), 0o644)
	r := run(t, nil, "items", "--data", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "accessible to others") || !strings.Contains(r.stderr, "chmod 600") {
		t.Errorf("keys readable by others: %d %q", r.code, r.stderr)
	}
	if err := os.RemoveAll(keys); err != nil {
		t.Fatal(err)
	}
	r = run(t, nil, "items", "--data", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "keys are missing") || !strings.Contains(r.stderr, keys) || !strings.Contains(r.stderr, "restore") {
		t.Errorf("keys missing: %d %q", r.code, r.stderr)
	}
	// Restore from the backup.
	if err := os.Rename(backup, keys); err != nil {
		t.Fatal(err)
	}
	if r = run(t, nil, "verify", "--data", dir); r.code != 0 {
		t.Errorf("verify after restoring the keys: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// TestKeysRotateReencrypt: after a rotation new data uses the new keys and
// old data stays readable; reencrypt moves everything to the current
// identity, after which the old identity file can go.
func TestKeysRotateReencrypt(t *testing.T) {
	dir, _ := initStore(t)
	if r := run(t, nil, "add", "--data", dir, "--description", "before rotation", writeFile(t, "a.txt", "first file")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := run(t, nil, "keys", "rotate", "--data", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "added identity 2") || !strings.Contains(r.stdout, "data key 2") {
		t.Fatalf("rotate: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r = run(t, nil, "add", "--data", dir, "--description", "after rotation", writeFile(t, "b.txt", "second file")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r = run(t, nil, "keys", "list", "--data", dir)
	for _, want := range []string{"identity 1", "identity 2", "data key 1", "data key 2     opens  (current", "(current: new blobs"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("keys list lacks %q:\n%s", want, r.stdout)
		}
	}
	if r = run(t, nil, "verify", "--data", dir); r.code != 0 {
		t.Fatalf("verify after rotation: %d %s", r.code, r.stdout)
	}
	r = run(t, nil, "keys", "reencrypt", "--data", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "re-encrypted 1 blobs") || !strings.Contains(r.stdout, "re-encrypted 1 data keys") {
		t.Fatalf("reencrypt: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if err := os.Rename(filepath.Join(dir, "keys", "age-1.key"), filepath.Join(t.TempDir(), "age-1.key")); err != nil {
		t.Fatal(err)
	}
	if r = run(t, nil, "verify", "--data", dir); r.code != 0 {
		t.Errorf("verify without the old identity: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if items := itemsJSON(t, dir); len(items) != 2 {
		t.Errorf("%d items", len(items))
	}
}

// TestKeysBackupRecipient: a backup identity kept offline, added at init or
// later, decrypts the stored blobs with plain age.
func TestKeysBackupRecipient(t *testing.T) {
	offline, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	later, _ := age.GenerateX25519Identity()
	dir := filepath.Join(t.TempDir(), "data")
	if r := run(t, nil, "init", "--data", dir, "--backup-recipient", offline.Recipient().String()); r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "add", "--data", dir, writeFile(t, "a.txt", "map of the burial site")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := run(t, nil, "keys", "add-recipient", "--data", dir, later.Recipient().String()); r.code != 0 || !strings.Contains(r.stderr, "reencrypt --all") {
		t.Fatalf("add-recipient: %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "keys", "add-recipient", "--data", dir, "age1nonsense"); r.code != 1 || !strings.Contains(r.stderr, "not an age recipient") {
		t.Errorf("add-recipient of a malformed key: %d %s", r.code, r.stderr)
	}
	items := itemsJSON(t, dir)
	path := filepath.Join(dir, "blobs", "age", items[0].Blob.Hex()[:2], items[0].Blob.Hex()+".age")
	decrypt := func(id age.Identity) (string, error) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		r, err := age.Decrypt(f, id)
		if err != nil {
			return "", err
		}
		b, err := io.ReadAll(r)
		return string(b), err
	}
	if got, err := decrypt(offline); err != nil || got != "map of the burial site" {
		t.Errorf("the backup identity given at init: %q, %v", got, err)
	}
	if _, err := decrypt(later); err == nil {
		t.Error("a recipient added later decrypts a blob stored before, without reencrypt --all")
	}
	if r := run(t, nil, "keys", "reencrypt", "--data", dir, "--all"); r.code != 0 {
		t.Fatalf("reencrypt --all: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if got, err := decrypt(later); err != nil || got != "map of the burial site" {
		t.Errorf("after reencrypt --all: %q, %v", got, err)
	}
}

// TestInitUnencrypted: --encrypt=false keeps the plain layout, and the keys
// commands say the store has no keys.
func TestInitUnencrypted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := run(t, nil, "init", "--data", dir, "--encrypt=false")
	if r.code != 0 || !strings.Contains(r.stderr, "encryption: off") {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	var cfg cli.Config
	raw, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if err := json.Unmarshal(raw, &cfg); err != nil || cfg.Encrypted() || cfg.Version != 1 || bytes.Contains(raw, []byte("encryption")) {
		t.Errorf("config %s, %v", raw, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "keys")); err == nil {
		t.Error("an unencrypted store has a keys directory")
	}
	if r = run(t, nil, "add", "--data", dir, writeFile(t, "a.txt", "plain")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	items := itemsJSON(t, dir)
	if _, err := os.Stat(filepath.Join(dir, "blobs", "sha256", items[0].Blob.Hex()[:2], items[0].Blob.Hex())); err != nil {
		t.Errorf("blob not in the plain layout: %v", err)
	}
	if r = run(t, nil, "keys", "list", "--data", dir); r.code != 1 || !strings.Contains(r.stderr, "not encrypted") {
		t.Errorf("keys list on an unencrypted store: %d %s", r.code, r.stderr)
	}
	if r = run(t, nil, "init", "--data", filepath.Join(t.TempDir(), "x"), "--encrypt=false", "--backup-recipient", "age1x"); r.code != 1 {
		t.Errorf("--backup-recipient without encryption: %d %s", r.code, r.stderr)
	}
	if r = run(t, nil, "verify", "--data", dir); r.code != 0 {
		t.Errorf("verify: %d %s", r.code, r.stdout)
	}
}
