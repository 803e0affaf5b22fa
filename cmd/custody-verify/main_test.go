package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custody-dev/custody/internal/cli"
	"github.com/custody-dev/custody/verify"
)

// custody runs the custody command in process (the test may use the
// server; the binary does not).
func custody(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	m := &cli.Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Now: time.Now}
	if code := m.Run(context.Background(), args); code != 0 {
		t.Fatalf("custody %v: exit %d: %s", args, code, errb.String())
	}
	return out.String()
}

func TestRun(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "store")
	custody(t, "init", "--data", data)
	file := filepath.Join(tmp, "IMG_1.jpg")
	os.WriteFile(file, []byte("a photo"), 0o600)
	custody(t, "add", "--data", data, "--case", "C-1", file)
	key := strings.TrimSpace(custody(t, "log", "key", "--data", data))
	bundle := filepath.Join(tmp, "b.zip")
	custody(t, "export", "--data", data, "--case", "C-1", "--out", bundle)
	keyFile := filepath.Join(tmp, "key")
	os.WriteFile(keyFile, []byte(key+"\n"), 0o600)

	var out, errb bytes.Buffer
	if code := run([]string{"--key", key, bundle}, &out, &errb); code != 0 || !strings.Contains(out.String(), "OK: the bundle is intact") {
		t.Errorf("exit %d:\n%s%s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run([]string{"--json", "--key", "@" + keyFile, bundle}, &out, &errb); code != 0 {
		t.Errorf("--json: exit %d %s", code, errb.String())
	}
	var rep verify.BundleReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || !rep.KeyPinned || rep.Items != 1 {
		t.Errorf("--json report: %v %s", err, out.String())
	}
	// Another key: exit 1.
	other := strings.Replace(key, "+", "+0", 1)
	out.Reset()
	if code := run([]string{"--key", other, bundle}, &out, &errb); code != 1 || !strings.Contains(out.String(), "PROBLEM [checkpoint]") {
		t.Errorf("wrong key: exit %d\n%s", code, out.String())
	}
	for _, args := range [][]string{{}, {"a", "b"}, {filepath.Join(tmp, "none")}, {file}, {"--key", "@" + filepath.Join(tmp, "nokey"), bundle}, {"--bogus"}} {
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code := run([]string{"-h"}, &out, &errb); code != 0 {
		t.Errorf("-h: exit %d", code)
	}
}
