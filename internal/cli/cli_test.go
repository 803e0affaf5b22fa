package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/cli"
	"github.com/custody-dev/custody/verify"
	"github.com/google/go-cmp/cmp"
)

// asMainEnv, when set to 1, makes the test binary run as the custody
// command: the script and process tests execute it (race-instrumented, no
// separate go build needed).
const asMainEnv = "CUSTODY_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		os.Exit(cli.Run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs the custody command in process with buffers.
func run(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	m := &cli.Main{
		Stdin:  strings.NewReader(""),
		Stdout: &stdout,
		Stderr: &stderr,
		Getenv: func(k string) string { return env[k] },
		Now:    time.Now,
	}
	code := m.Run(context.Background(), args)
	return result{code, stdout.String(), stderr.String()}
}

// initStore makes a store and returns its directory and admin token.
func initStore(t *testing.T) (string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	r := run(t, nil, "init", "--data", dir, "--name", "test team")
	if r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	return dir, strings.TrimSpace(r.stdout)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func itemsJSON(t *testing.T, dir string) []custody.Item {
	t.Helper()
	r := run(t, nil, "items", "--data", dir, "--json")
	if r.code != 0 {
		t.Fatalf("items: %d %s", r.code, r.stderr)
	}
	var items []custody.Item
	if err := json.Unmarshal([]byte(r.stdout), &items); err != nil {
		t.Fatalf("items --json: %v: %s", err, r.stdout)
	}
	return items
}

func TestInit(t *testing.T) {
	dir, token := initStore(t)
	if len(token) < 20 || strings.ContainsAny(token, " \n") {
		t.Errorf("token %q", token)
	}
	for _, name := range []string{"log.key", "config.json", "custody.db"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	var cfg cli.Config
	raw, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Format != cli.StoreFormat || cfg.Version != cli.StoreVersion || cfg.StoreID == "" || cfg.Name != "test team" || !strings.HasPrefix(cfg.VerifierKey, cfg.Origin+"+") {
		t.Errorf("config %+v", cfg)
	}
	key, _ := os.ReadFile(filepath.Join(dir, "log.key"))
	if !strings.HasPrefix(string(key), "PRIVATE+KEY+") {
		t.Errorf("log.key does not hold a signer key")
	}
	if bytes.Contains(raw, []byte("PRIVATE")) {
		t.Errorf("config.json holds the private key")
	}
	// A second init on the same directory refuses.
	r := run(t, nil, "init", "--data", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "already holds a Custody store") {
		t.Errorf("second init: %d %q", r.code, r.stderr)
	}
	// Non-empty directories are refused as well.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "x"), []byte("x"), 0o644)
	r = run(t, nil, "init", "--data", other)
	if r.code != 1 || !strings.Contains(r.stderr, "not empty") {
		t.Errorf("init in a non-empty dir: %d %q", r.code, r.stderr)
	}
	// The environment names the store too.
	r = run(t, map[string]string{"CUSTODY_DATA": dir}, "items")
	if r.code != 0 {
		t.Errorf("items with CUSTODY_DATA: %d %q", r.code, r.stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	dir, _ := initStore(t)
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{}, 2, ""},
		{[]string{"ad"}, 2, `did you mean "add"`},
		{[]string{"verfy"}, 2, `did you mean "verify"`},
		{[]string{"xyzzyplugh"}, 2, "custody help"},
		{[]string{"add", "--data", dir, "--colour", "red", "f"}, 2, "flag provided but not defined"},
		{[]string{"add", "--data", dir}, 2, "name at least one file"},
		{[]string{"show", "--data", dir}, 2, "Usage"},
		{[]string{"handover", "--data", dir}, 2, "Usage"},
		{[]string{"log", "--data", dir}, 2, "unknown subcommand"},
		{[]string{"log"}, 2, "Usage"},
		{[]string{"user", "--data", dir}, 2, "unknown subcommand"},
		{[]string{"log", "nope", "--data", dir}, 2, "unknown subcommand"},
		{[]string{"user", "nope", "--data", dir}, 2, "unknown subcommand"},
		{[]string{"help"}, 0, ""},
		{[]string{"add", "-h"}, 0, "Usage"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := run(t, nil, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit %d stderr %q, want %d and %q", r.code, r.stderr, tt.code, tt.stderr)
			}
		})
	}
}

func TestAddRefusesBadFiles(t *testing.T) {
	dir, _ := initStore(t)
	good := writeFile(t, "good.txt", "good")
	empty := writeFile(t, "empty.txt", "")
	tests := []struct {
		name   string
		files  []string
		stderr string
	}{
		{"missing", []string{good, filepath.Join(t.TempDir(), "nope.jpg")}, "nope.jpg: no such file"},
		{"directory", []string{good, t.TempDir()}, "is a directory"},
		{"empty", []string{good, empty}, "empty.txt is empty"},
		{"bad lat", []string{"--lat", "north", "--lon", "1", good}, "--lat \"north\" is not a number"},
		{"lat out of range", []string{"--lat", "91", "--lon", "1", good}, "latitude"},
		{"bad time", []string{"--collected-at", "yesterday", good}, "collected-at"},
		{"unknown user", []string{"--as", "nobody", good}, `no user "nobody"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, append([]string{"add", "--data", dir}, tt.files...)...)
			if r.code != 1 || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit %d stderr %q, want 1 and %q", r.code, r.stderr, tt.stderr)
			}
			if strings.Contains(r.stderr, "detail:") {
				t.Errorf("a user error reported as internal: %q", r.stderr)
			}
			if items := itemsJSON(t, dir); len(items) != 0 {
				t.Errorf("%d items added by a refused batch", len(items))
			}
		})
	}
}

func TestAddAndDuplicate(t *testing.T) {
	dir, _ := initStore(t)
	f := writeFile(t, "photo.jpg", "not really a jpeg")
	r := run(t, nil, "add", "--data", dir, "--case", "UA-1", "--collector", "Olena", "--lat", "50.45", "--lon", "30.52",
		"--collected-at", "2022-09-16T10:04:00+03:00", "--description", "crater", "--json", f)
	if r.code != 0 {
		t.Fatalf("add: %d %s", r.code, r.stderr)
	}
	var items []custody.Item
	if err := json.Unmarshal([]byte(r.stdout), &items); err != nil || len(items) != 1 {
		t.Fatalf("add --json: %v %s", err, r.stdout)
	}
	it := items[0]
	if it.Name != "photo.jpg" || it.Case != "UA-1" || it.Collector != "Olena" || *it.Lat != 50.45 || it.Description != "crater" || it.Size != 17 {
		t.Errorf("item %+v", it)
	}
	if want := verify.ContentRef([]byte("not really a jpeg")); string(it.Blob) != want {
		t.Errorf("blob %s, want %s", it.Blob, want)
	}
	// Flags after the file work too; the same content again is a duplicate.
	r = run(t, nil, "add", f, "--data", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "same content as an earlier item") {
		t.Errorf("duplicate add: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if n := len(itemsJSON(t, dir)); n != 2 {
		t.Errorf("%d items, want 2", n)
	}
	// show prints the same item.
	r = run(t, nil, "show", "--data", dir, it.ID)
	var shown custody.Item
	json.Unmarshal([]byte(r.stdout), &shown)
	if r.code != 0 || shown.ID != it.ID || shown.Blob != it.Blob {
		t.Errorf("show: %d %s", r.code, r.stdout)
	}
	r = run(t, nil, "show", "--data", dir, "0192f000-0000-7000-8000-00000000dead")
	if r.code != 1 || r.stderr == "" || strings.Contains(r.stderr, "detail:") {
		t.Errorf("show unknown: %d %q", r.code, r.stderr)
	}
}

func TestOpenErrors(t *testing.T) {
	base := t.TempDir()
	notStore := filepath.Join(base, "plain")
	os.Mkdir(notStore, 0o755)
	aFile := filepath.Join(base, "file")
	os.WriteFile(aFile, []byte("x"), 0o644)

	withConfig := func(name string, edit func(raw []byte) []byte) string {
		dir, _ := initStore(t)
		p := filepath.Join(dir, "config.json")
		raw, _ := os.ReadFile(p)
		if err := os.WriteFile(p, edit(raw), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	setField := func(k string, v any) func([]byte) []byte {
		return func(raw []byte) []byte {
			var m map[string]any
			json.Unmarshal(raw, &m)
			m[k] = v
			b, _ := json.Marshal(m)
			return b
		}
	}
	tests := []struct {
		name, dir, want string
	}{
		{"missing", filepath.Join(base, "nope"), "no store at"},
		{"not a directory", aFile, "is not a directory"},
		{"not a store", notStore, "is not a Custody store"},
		{"corrupt config", withConfig("corrupt", func(raw []byte) []byte { return raw[:len(raw)/2] }), "config.json is corrupt"},
		{"garbage config", withConfig("garbage", func([]byte) []byte { return []byte("\x00\xffnot json") }), "config.json is corrupt"},
		{"version 99", withConfig("v99", setField("version", 99)), "has version 99"},
		{"wrong format", withConfig("format", setField("format", "other")), "is not a Custody store"},
		{"missing field", withConfig("field", setField("verifier_key", "")), "a required field is missing"},
		{"wrong key", withConfig("key", setField("verifier_key", "custody.local/x+00000000+AQ==")), "corrupt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, cmd := range []string{"items", "verify", "add"} {
				args := []string{cmd, "--data", tt.dir}
				if cmd == "add" {
					args = append(args, writeFile(t, "f", "content"))
				}
				r := run(t, nil, args...)
				if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
					t.Errorf("%s: exit %d stderr %q, want 1 and %q", cmd, r.code, r.stderr, tt.want)
				}
				if strings.Contains(r.stderr, "detail:") || strings.Contains(r.stderr, "panic") {
					t.Errorf("%s: internal error for a user problem: %q", cmd, r.stderr)
				}
			}
		})
	}
	// The missing directory was not created by the failed commands.
	if _, err := os.Stat(filepath.Join(base, "nope")); err == nil {
		t.Errorf("opening a missing store created it")
	}
}

func TestMissingKey(t *testing.T) {
	dir, _ := initStore(t)
	os.Remove(filepath.Join(dir, "log.key"))
	r := run(t, nil, "items", "--data", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "signing key") {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
}

func TestVerifyDetectsTamperedBlob(t *testing.T) {
	dir, _ := initStore(t)
	var ids []string
	var blobs []string
	for _, c := range []string{"first file", "second file"} {
		r := run(t, nil, "add", "--data", dir, "--json", writeFile(t, "f.bin", c))
		var items []custody.Item
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &items) != nil {
			t.Fatalf("add: %d %s %s", r.code, r.stdout, r.stderr)
		}
		ids, blobs = append(ids, items[0].ID), append(blobs, items[0].Blob.Hex())
	}
	r := run(t, nil, "verify", "--data", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "OK") {
		t.Fatalf("verify of a fresh store: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// Flip one byte of the second blob (an age file, blobs/age/xx/<hex>.age,
	// in an encrypted store: the default).
	var path string
	filepath.WalkDir(filepath.Join(dir, "blobs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.TrimSuffix(filepath.Base(p), ".age") == blobs[1] {
			path = p
		}
		return nil
	})
	if path == "" {
		t.Fatalf("blob %s not found under %s/blobs", blobs[1], dir)
	}
	raw, _ := os.ReadFile(path)
	raw[0] ^= 0x20
	os.Chmod(path, 0o600)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	r = run(t, nil, "verify", "--data", dir)
	if r.code != 1 || !strings.Contains(r.stdout, ids[1]) || strings.Contains(r.stdout, ids[0]) || !strings.Contains(r.stdout, "FAILED") {
		t.Errorf("verify after tampering: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, nil, "verify", "--data", dir, "--json")
	var rep struct {
		Problems []struct{ Kind, Item string }
	}
	if json.Unmarshal([]byte(r.stdout), &rep); r.code != 1 || len(rep.Problems) != 1 || rep.Problems[0].Item != ids[1] || rep.Problems[0].Kind != "blob" {
		t.Errorf("verify --json: %d %s", r.code, r.stdout)
	}
}

func TestRebuildKeepsItems(t *testing.T) {
	dir, _ := initStore(t)
	var first string
	for i, c := range []string{"one", "two", "three"} {
		r := run(t, nil, "add", "--data", dir, "--case", "C", "--json", writeFile(t, "f.txt", c))
		if r.code != 0 {
			t.Fatal(r.stderr)
		}
		if i == 0 {
			var items []custody.Item
			json.Unmarshal([]byte(r.stdout), &items)
			first = items[0].ID
		}
	}
	if r := run(t, nil, "handover", "--data", dir, first, "--to", "lab", "--reason", "analysis", "--seal", "S-9"); r.code != 0 {
		t.Fatalf("handover: %s", r.stderr)
	}
	before := run(t, nil, "items", "--data", dir, "--json")
	hBefore := run(t, nil, "history", "--data", dir, "--json", first)
	r := run(t, nil, "rebuild", "--data", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "rebuilt the database") {
		t.Fatalf("rebuild: %d %s %s", r.code, r.stdout, r.stderr)
	}
	after := run(t, nil, "items", "--data", dir, "--json")
	if diff := cmp.Diff(before.stdout, after.stdout); diff != "" || after.code != 0 {
		t.Errorf("items --json changed by rebuild (-before +after):\n%s", diff)
	}
	hAfter := run(t, nil, "history", "--data", dir, "--json", first)
	if diff := cmp.Diff(hBefore.stdout, hAfter.stdout); diff != "" {
		t.Errorf("history changed by rebuild:\n%s", diff)
	}
	if r := run(t, nil, "verify", "--data", dir); r.code != 0 {
		t.Errorf("verify after rebuild: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// The store still takes in evidence after a rebuild.
	if r := run(t, nil, "add", "--data", dir, writeFile(t, "g.txt", "four")); r.code != 0 {
		t.Errorf("add after rebuild: %s", r.stderr)
	}
	if n := len(itemsJSON(t, dir)); n != 4 {
		t.Errorf("%d items after rebuild and add, want 4", n)
	}
}
