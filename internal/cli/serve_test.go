package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custody-dev/custody/internal/cli"
	"github.com/custody-dev/custody/verify"
)

// startInProcess runs `custody ARGS` in process until the test ends and
// returns the address it serves on.
func startInProcess(t *testing.T, args ...string) (addr string, stdout *bytes.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	stdout = new(bytes.Buffer)
	var stderr bytes.Buffer
	m := &cli.Main{Stdin: strings.NewReader(""), Stdout: stdout, Stderr: &stderr, Getenv: func(string) string { return "" }, Now: time.Now,
		Ready: func(a string) { ready <- a }}
	done := make(chan int, 1)
	go func() { done <- m.Run(ctx, args) }()
	select {
	case addr = <-ready:
	case code := <-done:
		cancel()
		t.Fatalf("custody %v exited with %d before listening: %s", args, code, stderr.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("not listening after 30s")
	}
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("custody %v exited with %d: %s", args, code, stderr.String())
		}
	})
	return addr, stdout
}

func get(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestServeInProcess(t *testing.T) {
	dir, token := initStore(t)
	if r := run(t, nil, "add", "--data", dir, writeFile(t, "a.txt", "served")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	addr, _ := startInProcess(t, "serve", "--data", dir, "--addr", "127.0.0.1:0")
	base := "http://" + addr
	if code, _ := get(t, base+"/healthz", ""); code != 200 {
		t.Errorf("healthz %d", code)
	}
	code, b := get(t, base+"/api/v1/items", token)
	var list struct{ Items []struct{ Name string } }
	if json.Unmarshal(b, &list); code != 200 || len(list.Items) != 1 || list.Items[0].Name != "a.txt" {
		t.Errorf("items: %d %s", code, b)
	}
	if code, _ := get(t, base+"/api/v1/items", "wrong"); code != 401 {
		t.Errorf("bad token: %d", code)
	}
	// An entry added by another "process" appears in the served checkpoint.
	if r := run(t, nil, "add", "--data", dir, writeFile(t, "b.txt", "later")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	vkey := verifierKey(t, dir)
	var size uint64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		_, b := get(t, base+"/log/checkpoint", "")
		cp, err := verify.OpenCheckpoint(b, vkey)
		if err != nil {
			t.Fatalf("checkpoint: %v", err)
		}
		if size = cp.Size; size >= 4 {
			break
		}
	}
	if size < 4 {
		t.Errorf("served checkpoint size %d, want >= 4 (init, admin user, two items)", size)
	}
}

func TestServeBadAddr(t *testing.T) {
	dir, _ := initStore(t)
	r := run(t, nil, "serve", "--data", dir, "--addr", "256.0.0.1:99999")
	if r.code != 1 || !strings.Contains(r.stderr, "listen on") {
		t.Errorf("exit %d %q", r.code, r.stderr)
	}
}

func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	addr, stdout := startInProcess(t, "demo", "--data", dir, "--addr", "127.0.0.1:0")
	_ = addr
	out := stdout.String()
	i := strings.Index(out, "token: ")
	if i < 0 {
		t.Fatalf("no token in %q", out)
	}
	token := strings.Fields(out[i+len("token: "):])[0]
	code, b := get(t, "http://"+addr+"/api/v1/items", token)
	var list struct{ Items []struct{ Case string } }
	if json.Unmarshal(b, &list); code != 200 || len(list.Items) == 0 {
		t.Errorf("demo items: %d %s", code, b)
	}
}

func TestUserCommands(t *testing.T) {
	dir, _ := initStore(t)
	r := run(t, nil, "user", "add", "olena", "--role", "investigator", "--data", dir)
	if r.code != 0 || len(strings.TrimSpace(r.stdout)) < 20 {
		t.Fatalf("user add: %d %q %q", r.code, r.stdout, r.stderr)
	}
	tok1 := strings.TrimSpace(r.stdout)
	if r := run(t, nil, "user", "add", "olena", "--role", "investigator", "--data", dir); r.code != 1 {
		t.Errorf("duplicate user: %d %q", r.code, r.stderr)
	}
	if r := run(t, nil, "user", "add", "x", "--role", "janitor", "--data", dir); r.code != 1 || !strings.Contains(r.stderr, "janitor") {
		t.Errorf("bad role: %d %q", r.code, r.stderr)
	}
	if r := run(t, nil, "user", "add", "y", "--role", "reviewer", "--as", "olena", "--data", dir); r.code != 1 {
		t.Errorf("non-admin added a user: %d %q", r.code, r.stderr)
	}
	r = run(t, nil, "user", "token", "olena", "--data", dir)
	if tok2 := strings.TrimSpace(r.stdout); r.code != 0 || tok2 == tok1 || tok2 == "" {
		t.Errorf("user token: %d %q", r.code, r.stderr)
	}
	r = run(t, nil, "user", "list", "--data", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "olena") || !strings.Contains(r.stdout, "investigator") {
		t.Errorf("user list: %d %q", r.code, r.stdout)
	}
	if r := run(t, nil, "user", "add", "--data", dir); r.code != 2 {
		t.Errorf("user add without a name: %d", r.code)
	}
	// olena can add evidence as herself.
	if r := run(t, map[string]string{"CUSTODY_USER": "olena"}, "add", "--data", dir, writeFile(t, "o.txt", "hers")); r.code != 0 {
		t.Errorf("add as olena: %s", r.stderr)
	}
	if r := run(t, nil, "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "custody ") {
		t.Errorf("version: %q", r.stdout)
	}
}
