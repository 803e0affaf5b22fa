package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custody-dev/custody/internal/cli"
)

// TestRebuildTwiceKeepsBothBackups: two rebuilds in the same second must
// not overwrite the first backup of the database.
func TestRebuildTwiceKeepsBothBackups(t *testing.T) {
	dir, _ := initStore(t)
	if r := run(t, nil, "add", "--data", dir, writeFile(t, "a.txt", "a")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	orig, err := os.ReadFile(filepath.Join(dir, "custody.db"))
	if err != nil {
		t.Fatal(err)
	}
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 2 {
		var stdout, stderr bytes.Buffer
		m := &cli.Main{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" },
			Now: func() time.Time { return fixed }}
		if code := m.Run(context.Background(), []string{"rebuild", "--data", dir}); code != 0 {
			t.Fatalf("rebuild %d: %d %s", i, code, stderr.String())
		}
	}
	backups, _ := filepath.Glob(filepath.Join(dir, "custody.db.old-*"))
	var mains []string
	found := false
	for _, b := range backups {
		if strings.HasSuffix(b, "-wal") || strings.HasSuffix(b, "-shm") {
			continue
		}
		mains = append(mains, b)
		if raw, _ := os.ReadFile(b); bytes.Equal(raw, orig) {
			found = true
		}
	}
	if len(mains) != 2 {
		t.Errorf("backups %v, want two", mains)
	}
	if !found {
		t.Errorf("the original database is not kept among %v", mains)
	}
	if r := run(t, nil, "verify", "--data", dir); r.code != 0 {
		t.Errorf("verify: %s %s", r.stdout, r.stderr)
	}
}
