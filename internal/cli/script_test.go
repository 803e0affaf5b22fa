package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// custodyCmd returns a command that runs this test binary as custody, in
// dir, with the environment cleared of CUSTODY_* and then extended by env.
func custodyCmd(ctx context.Context, t testing.TB, dir string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CUSTODY_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, asMainEnv+"=1")
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// TestScripts runs testdata/script/*.txtar: a small subset of the
// testscript language (github.com/rogpeppe/go-internal/testscript cannot be
// built here: its golang.org/x/tools/txtar dependency is missing from
// go.mod). Commands:
//
//	[!] custody ARGS...         run custody in $WORK; ! expects failure
//	status N                    the last custody exit code was N
//	[!] stdout|stderr [-count=N] RE   match the last output ((?m) mode)
//	exists FILE...  mkdir DIR  cp SRC DST (SRC may be stdout or stderr)
//	perm FILE MODE              file mode, e.g. 0600
//	capture NAME stdout|stderr RE     set $NAME to RE's first group
func TestScripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/script/*.txtar")
	if len(files) == 0 {
		t.Fatal("no scripts")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txtar"), func(t *testing.T) {
			t.Parallel()
			runScript(t, f)
		})
	}
}

func parseArchive(data []byte) (script string, files map[string][]byte) {
	files = map[string][]byte{}
	var name string
	var cur bytes.Buffer
	flush := func() {
		if name == "" {
			script = cur.String()
		} else {
			files[name] = bytes.Clone(cur.Bytes())
		}
		cur.Reset()
	}
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if l := strings.TrimRight(line, "\r\n"); strings.HasPrefix(l, "-- ") && strings.HasSuffix(l, " --") && len(l) > 6 {
			flush()
			name = strings.TrimSpace(l[3 : len(l)-3])
			continue
		}
		cur.WriteString(line)
	}
	flush()
	return script, files
}

// fields splits a script line into words: single quotes group literally,
// $NAME and ${NAME} are expanded outside them.
func fields(line string, vars map[string]string) ([]string, error) {
	var out []string
	var cur strings.Builder
	in, quoted := false, false
	expand := func(s string) string {
		return os.Expand(s, func(k string) string { return vars[k] })
	}
	var plain strings.Builder
	flushPlain := func() { cur.WriteString(expand(plain.String())); plain.Reset() }
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'':
			flushPlain()
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated quote")
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			in, quoted = true, true
		case c == ' ' || c == '\t':
			if in {
				flushPlain()
				out = append(out, cur.String())
				cur.Reset()
				in, quoted = false, false
			}
		default:
			plain.WriteByte(c)
			in = true
		}
	}
	if in {
		flushPlain()
		out = append(out, cur.String())
	}
	_ = quoted
	return out, nil
}

func runScript(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	script, files := parseArchive(data)
	work := t.TempDir()
	for name, content := range files {
		p := filepath.Join(work, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vars := map[string]string{"WORK": work}
	var stdout, stderr string
	status := -1
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(work, p)
	}
	for n, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d: %s", filepath.Base(path), n+1, line)
		args, err := fields(line, vars)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		neg := false
		if args[0] == "!" {
			neg, args = true, args[1:]
		}
		switch args[0] {
		case "custody":
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			cmd := custodyCmd(ctx, t, work, []string{"CUSTODY_DATA=" + filepath.Join(work, "data")}, args[1:]...)
			var o, e bytes.Buffer
			cmd.Stdout, cmd.Stderr = &o, &e
			err := cmd.Run()
			cancel()
			stdout, stderr = o.String(), e.String()
			status = 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				status = ee.ExitCode()
			} else if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			if strings.Contains(stderr, "WARNING: DATA RACE") || strings.Contains(stderr, "panic:") {
				t.Fatalf("%s: race or panic:\n%s", where, stderr)
			}
			if neg != (status != 0) {
				t.Fatalf("%s: exit status %d\nstdout:\n%s\nstderr:\n%s", where, status, stdout, stderr)
			}
		case "status":
			if want, _ := strconv.Atoi(args[1]); status != want {
				t.Fatalf("%s: last exit status %d", where, status)
			}
		case "stdout", "stderr":
			text := stdout
			if args[0] == "stderr" {
				text = stderr
			}
			count := -1
			if strings.HasPrefix(args[1], "-count=") {
				count, _ = strconv.Atoi(strings.TrimPrefix(args[1], "-count="))
				args = args[1:]
			}
			re, err := regexp.Compile("(?m)" + args[1])
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			got := len(re.FindAllStringIndex(text, -1))
			switch {
			case neg && got > 0:
				t.Fatalf("%s: unexpected match in %s:\n%s", where, args[0], text)
			case !neg && count >= 0 && got != count:
				t.Fatalf("%s: %d matches, want %d, in %s:\n%s", where, got, count, args[0], text)
			case !neg && got == 0:
				t.Fatalf("%s: no match in %s:\n%s", where, args[0], text)
			}
		case "capture":
			text := stdout
			if args[2] == "stderr" {
				text = stderr
			}
			m := regexp.MustCompile("(?m)" + args[3]).FindStringSubmatch(text)
			if len(m) < 2 {
				t.Fatalf("%s: no match in %s:\n%s", where, args[2], text)
			}
			vars[args[1]] = m[1]
		case "exists":
			for _, f := range args[1:] {
				if _, err := os.Stat(abs(f)); (err == nil) == neg {
					t.Fatalf("%s: %s: %v", where, f, err)
				}
			}
		case "perm":
			fi, err := os.Stat(abs(args[1]))
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			if got := fmt.Sprintf("%04o", fi.Mode().Perm()); got != args[2] {
				t.Fatalf("%s: mode %s", where, got)
			}
		case "mkdir":
			if err := os.MkdirAll(abs(args[1]), 0o755); err != nil {
				t.Fatal(err)
			}
		case "cp":
			var content []byte
			switch args[1] {
			case "stdout":
				content = []byte(stdout)
			case "stderr":
				content = []byte(stderr)
			default:
				if content, err = os.ReadFile(abs(args[1])); err != nil {
					t.Fatalf("%s: %v", where, err)
				}
			}
			if err := os.WriteFile(abs(args[2]), content, 0o600); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
		default:
			t.Fatalf("%s: unknown command %q", where, args[0])
		}
	}
}
