package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/custody-dev/custody/internal/cli"
	"github.com/custody-dev/custody/verify"
)

func verifierKey(t *testing.T, dir string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg cli.Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.VerifierKey
}

func randomFiles(t *testing.T, n, minSize, maxSize int) []string {
	t.Helper()
	dir := t.TempDir()
	var out []string
	for i := range n {
		b := make([]byte, minSize+mrand.IntN(maxSize-minSize+1))
		rand.Read(b)
		p := filepath.Join(dir, fmt.Sprintf("f%03d.bin", i))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

var ackLine = regexp.MustCompile(`(?m)^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})  sha256-`)

// TestServeWithConcurrentAdds runs `custody serve` while several `custody
// add` processes write to the same store: the served checkpoint grows to
// cover them all and the store verifies (one log, no fork).
func TestServeWithConcurrentAdds(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocesses")
	}
	dir, token := initStore(t)
	vkey := verifierKey(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	serve := custodyCmd(ctx, t, t.TempDir(), nil, "serve", "--data", dir, "--addr", "127.0.0.1:0")
	stderr, err := serve.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer serve.Process.Kill()
	var serveLog bytes.Buffer
	addrc := make(chan string, 1)
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			serveLog.WriteString(line + "\n")
			if _, rest, ok := strings.Cut(line, " on http://"); ok {
				addrc <- strings.Fields(rest)[0]
			}
		}
	}()
	var base string
	select {
	case addr := <-addrc:
		base = "http://" + addr
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}

	checkpoint := func() verify.Checkpoint {
		t.Helper()
		resp, err := http.Get(base + "/log/checkpoint")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		cp, err := verify.OpenCheckpoint(b, vkey)
		if err != nil {
			t.Fatalf("served checkpoint: %v: %s", err, b)
		}
		return cp
	}
	first := checkpoint()

	const procs, perProc = 4, 3
	files := randomFiles(t, procs*perProc, 1, 64<<10)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var acked []string
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := custodyCmd(ctx, t, t.TempDir(), nil, append([]string{"add", "--data", dir}, files[p*perProc:(p+1)*perProc]...)...)
			out, err := cmd.Output()
			if err != nil {
				var ee string
				if x, ok := err.(interface{ Stderr() []byte }); ok {
					ee = string(x.Stderr())
				}
				t.Errorf("add process %d: %v %s", p, err, ee)
			}
			mu.Lock()
			for _, m := range ackLine.FindAllStringSubmatch(string(out), -1) {
				acked = append(acked, m[1])
			}
			mu.Unlock()
		}()
	}
	// And one upload through the API at the same time.
	wg.Add(1)
	go func() {
		defer wg.Done()
		req, _ := http.NewRequest("POST", base+"/api/v1/items?name=api.bin", strings.NewReader("uploaded through the API"))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("API upload: %v", err)
			return
		}
		defer resp.Body.Close()
		var it struct{ ID string }
		json.NewDecoder(resp.Body).Decode(&it)
		if resp.StatusCode != 201 {
			t.Errorf("API upload: status %d", resp.StatusCode)
			return
		}
		mu.Lock()
		acked = append(acked, it.ID)
		mu.Unlock()
	}()
	wg.Wait()
	if len(acked) != procs*perProc+1 {
		t.Fatalf("%d items acknowledged, want %d", len(acked), procs*perProc+1)
	}
	want := first.Size + uint64(len(acked))
	var cp verify.Checkpoint
	for deadline := time.Now().Add(15 * time.Second); ; {
		if cp = checkpoint(); cp.Size >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if cp.Size != want {
		t.Errorf("served checkpoint size %d, want %d", cp.Size, want)
	}
	// Every acknowledged item is in the log the server publishes.
	for _, id := range acked {
		r := run(t, nil, "log", "proof", "--data", dir, id)
		var p struct {
			Index    uint64
			Verified bool
		}
		if json.Unmarshal([]byte(r.stdout), &p); r.code != 0 || !p.Verified || p.Index >= cp.Size {
			t.Errorf("proof of %s: %d %s %s", id, r.code, r.stdout, r.stderr)
		}
	}

	serve.Process.Signal(syscall.SIGTERM)
	<-logDone
	if err := serve.Wait(); err != nil {
		t.Errorf("serve exited with %v:\n%s", err, serveLog.String())
	}
	if strings.Contains(serveLog.String(), "DATA RACE") || strings.Contains(serveLog.String(), "level=ERROR") {
		t.Errorf("serve logged errors:\n%s", serveLog.String())
	}
	if r := run(t, nil, "verify", "--data", dir); r.code != 0 {
		t.Errorf("verify: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestCrashSafety kills `custody add` processes at random moments: every
// item a process acknowledged survives and the store verifies.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocesses")
	}
	dir, _ := initStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const rounds, procs = 15, 2
	var acked []string
	var killed atomic.Int32
	start := time.Now()
	for round := range rounds {
		var wg sync.WaitGroup
		outs := make([]*bytes.Buffer, procs)
		errs := make([]*bytes.Buffer, procs)
		for p := range procs {
			files := randomFiles(t, 4, 64<<10, 2<<20)
			cmd := custodyCmd(ctx, t, t.TempDir(), nil, append([]string{"add", "--data", dir, "--case", fmt.Sprintf("R%d", round)}, files...)...)
			outs[p], errs[p] = new(bytes.Buffer), new(bytes.Buffer)
			cmd.Stdout, cmd.Stderr = outs[p], errs[p]
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			delay := time.Duration(mrand.IntN(300)) * time.Millisecond
			wg.Add(1)
			go func() {
				defer wg.Done()
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("round %d: add failed without a kill: %v\n%s", round, err, errs[p])
					}
				case <-time.After(delay):
					cmd.Process.Signal(syscall.SIGKILL)
					<-done
					killed.Add(1)
				}
			}()
		}
		wg.Wait()
		for p := range procs {
			for _, m := range ackLine.FindAllStringSubmatch(outs[p].String(), -1) {
				acked = append(acked, m[1])
			}
			if strings.Contains(errs[p].String(), "DATA RACE") {
				t.Errorf("round %d: race:\n%s", round, errs[p])
			}
		}
	}
	t.Logf("%d rounds in %v: %d processes killed, %d items acknowledged", rounds, time.Since(start), killed.Load(), len(acked))

	// A process started after the crashes publishes what they left.
	r := run(t, nil, "verify", "--data", dir)
	if r.code != 0 {
		t.Errorf("verify after crashes: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	have := map[string]bool{}
	for _, it := range itemsJSON(t, dir) {
		have[it.ID] = true
	}
	for _, id := range acked {
		if !have[id] {
			t.Errorf("acknowledged item %s is lost", id)
		}
		r := run(t, nil, "log", "proof", "--data", dir, id)
		if r.code != 0 || !strings.Contains(r.stdout, `"verified": true`) {
			t.Errorf("proof of acknowledged %s: %d %s", id, r.code, r.stderr)
		}
	}
	// The store still works, and verifies after a rebuild.
	if r := run(t, nil, "add", "--data", dir, randomFiles(t, 1, 10, 10)[0]); r.code != 0 {
		t.Errorf("add after crashes: %s", r.stderr)
	}
	if r := run(t, nil, "rebuild", "--data", dir); r.code != 0 {
		t.Errorf("rebuild after crashes: %s", r.stderr)
	}
	if r := run(t, nil, "verify", "--data", dir); r.code != 0 {
		t.Errorf("verify after rebuild: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
