package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var demoTokenRe = regexp.MustCompile(`user: (\S+)\s+\((\w+)\)\s+password: (\S+)\s+token: (cst_\S+)`)

// demoTokens returns the tokens of the demo credentials, by user name.
func demoTokens(t *testing.T, out string) map[string]string {
	t.Helper()
	tokens := map[string]string{}
	for _, m := range demoTokenRe.FindAllStringSubmatch(out, -1) {
		tokens[m[1]] = m[4]
		tokens[m[1]+"/password"] = m[3]
	}
	for _, u := range []string{"admin", "demo"} {
		if tokens[u] == "" {
			t.Fatalf("no token of %s in %q", u, out)
		}
	}
	return tokens
}

// TestDemoNoServe creates the demo store in the default directory, checks
// that it verifies, and runs demo again: the dataset is not duplicated and
// new tokens are issued.
func TestDemoNoServe(t *testing.T) {
	wd := t.TempDir()
	t.Chdir(wd)
	r := run(t, nil, "demo", "--no-serve", "--seed", "7")
	if r.code != 0 {
		t.Fatalf("demo: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	t.Logf("%s", r.stdout)
	dir := filepath.Join(wd, "custody-demo")
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		t.Fatalf("no store in the default directory: %v", err)
	}
	for _, want := range []string{"SYNTHETIC DATA ONLY", "seed 7", "447 graves", "Demo credentials", "custody serve --data custody-demo"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	first := demoTokens(t, r.stdout)
	items := itemsJSON(t, dir)
	if len(items) < 24 {
		t.Errorf("%d items, want a few dozen", len(items))
	}
	if v := run(t, nil, "verify", "--data", dir); v.code != 0 {
		t.Errorf("verify: exit %d\n%s%s", v.code, v.stdout, v.stderr)
	}
	// Compartments: the administrator sees every case, the investigator
	// the one granted, the reviewer the case in court; the banner says so.
	for user, want := range map[string]int{"admin": 5, "demo": 1, "reviewer": 1} {
		r := run(t, nil, "record", "list", "--kind", "case", "--json", "--data", dir, "--as", user)
		var page struct{ Records []struct{ Title string } }
		if err := json.Unmarshal([]byte(r.stdout), &page); err != nil || len(page.Records) != want {
			t.Errorf("%s sees %d cases (%v), want %d", user, len(page.Records), err, want)
		}
	}
	for _, want := range []string{"sees: everything", "Mobile group 07 (synthetic)", "only the case in court", "Witness W-"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the banner lacks %q", want)
		}
	}

	// Again, naming the store through CUSTODY_DATA.
	r = run(t, map[string]string{"CUSTODY_DATA": dir}, "demo", "--no-serve")
	if r.code != 0 {
		t.Fatalf("second demo: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "not generated again") || strings.Contains(r.stderr, "generating") {
		t.Errorf("second run generated again?\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
	}
	second := demoTokens(t, r.stdout)
	if second["demo"] == first["demo"] {
		t.Error("the second run did not issue new tokens")
	}
	if pw := first["demo/password"]; len(pw) != 16 || second["demo/password"] != pw {
		t.Errorf("demo password %q on the first run, %q on the second", pw, second["demo/password"])
	}
	if fi, err := os.Stat(filepath.Join(dir, "demo-passwords")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("demo-passwords: %v, %v", fi, err)
	}
	if n := len(itemsJSON(t, dir)); n != len(items) {
		t.Errorf("items %d -> %d after a second run", len(items), n)
	}
	if v := run(t, nil, "verify", "--data", dir); v.code != 0 {
		t.Errorf("verify after the second run: exit %d\n%s%s", v.code, v.stdout, v.stderr)
	}
}

// TestDemoRefusesOtherStore: demo data never goes into a store demo did not
// create.
func TestDemoRefusesOtherStore(t *testing.T) {
	dir, _ := initStore(t)
	r := run(t, nil, "demo", "--no-serve", "--data", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "did not create") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if n := len(itemsJSON(t, dir)); n != 0 {
		t.Errorf("%d items added to a real store", n)
	}
}

func TestDemoBadFlags(t *testing.T) {
	if r := run(t, nil, "demo", "--seed", "x", "--data", t.TempDir()); r.code != 2 {
		t.Errorf("bad seed: exit %d %q", r.code, r.stderr)
	}
}
