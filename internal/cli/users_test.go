package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/custody-dev/custody/internal/cli"
)

// runIn runs the custody command in process with stdin.
func runIn(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	m := &cli.Main{Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr,
		Getenv: func(string) string { return "" }, Now: time.Now}
	code := m.Run(context.Background(), args)
	return result{code, stdout.String(), stderr.String()}
}

func want(t *testing.T, r result, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code || !regexp.MustCompile(stdout).MatchString(r.stdout) || !regexp.MustCompile(stderr).MatchString(r.stderr) {
		t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant stdout ~ %q, stderr ~ %q", r.code, code, r.stdout, r.stderr, stdout, stderr)
	}
}

func TestUserSignInCommands(t *testing.T) {
	dir, _ := initStore(t)
	d := []string{"--data", dir}
	cmd := func(args ...string) []string { return append(args, d...) }
	want(t, run(t, nil, cmd("user", "add", "ivan", "--role", "investigator")...), 0, ".", "")

	// Passwords: from standard input, never from the arguments.
	want(t, runIn(t, "a new password 1\n", cmd("user", "password", "ivan")...), 0, "password of ivan set", "")
	want(t, runIn(t, "", cmd("user", "password", "ivan")...), 1, "", "no password on standard input")
	want(t, runIn(t, "short\n", cmd("user", "password", "ivan")...), 1, "", "at least 12 characters")
	want(t, runIn(t, "a new password 1\n", cmd("user", "password", "nobody")...), 1, "", "no such user")
	want(t, runIn(t, "a new password 1\n", cmd("user", "password", "ivan", "--as", "ivan")...), 1, "", "only an admin")
	want(t, runIn(t, "", cmd("user", "password")...), 2, "", "name one user")
	want(t, runIn(t, "", cmd("user", "password", "ivan", "secret-on-argv")...), 2, "", "")

	// Second factor: enrol, show, remove.
	r := run(t, nil, cmd("user", "totp", "ivan")...)
	want(t, r, 0, `(?m)^otpauth://totp/Custody:ivan\?.*secret=[A-Z2-7]{32}`, "authenticator app")
	want(t, r, 0, `(?m)^key: ([A-Z2-7]{4} ){7}[A-Z2-7]{4}$`, "")
	r = run(t, nil, cmd("user", "totp", "ivan", "--json")...)
	var enr struct{ User, Secret, URI string }
	if err := json.Unmarshal([]byte(r.stdout), &enr); err != nil || enr.User != "ivan" || len(enr.Secret) != 32 {
		t.Fatalf("totp --json: %v %s", err, r.stdout)
	}
	want(t, run(t, nil, cmd("user", "totp", "admin", "--as", "ivan")...), 1, "", "only an admin or admin")
	want(t, run(t, nil, cmd("user", "totp", "ivan", "--disable", "--as", "ivan")...), 0, "password alone", "")
	want(t, run(t, nil, cmd("user", "totp", "ivan", "--disable")...), 1, "", "has no second factor")

	// Unlock.
	want(t, run(t, nil, cmd("user", "unlock", "ivan")...), 0, "was not locked", "")
	want(t, run(t, nil, cmd("user", "unlock", "nobody")...), 1, "", "no such user")
	want(t, run(t, nil, cmd("user", "frobnicate", "ivan")...), 2, "", "unknown subcommand")

	// Sessions.
	want(t, run(t, nil, cmd("session", "list")...), 0, "^$", "no open sessions")
	want(t, run(t, nil, cmd("session", "list", "--json")...), 0, `^\[\]`, "")
	want(t, run(t, nil, cmd("session", "revoke", "xyz")...), 1, "", "not a session ID")
	want(t, run(t, nil, cmd("session", "revoke", "0123456789abcdef")...), 1, "", "no session 0123456789abcdef")
	want(t, run(t, nil, cmd("session", "revoke", "--user", "ivan")...), 0, "revoked 0 sessions of ivan", "")
	want(t, run(t, nil, cmd("session", "revoke")...), 2, "", "Usage")
	want(t, run(t, nil, cmd("session", "revoke", "0123456789abcdef", "--user", "ivan")...), 2, "", "Usage")
	want(t, run(t, nil, cmd("session", "list", "--as", "ivan")...), 1, "", "only an admin")
	want(t, run(t, nil, "session"), 2, "", "Usage")
	want(t, run(t, nil, "session", "kill"), 2, "", "unknown subcommand")

	// Tokens.
	want(t, run(t, nil, cmd("token", "create", "ivan", "--role", "admin")...), 1, "", "cannot have role admin")
	want(t, run(t, nil, cmd("token", "create", "ivan", "--expires", "3x")...), 1, "", "not a lifetime")
	want(t, run(t, nil, cmd("token", "create", "ivan", "--expires", "400d")...), 1, "", "1 hour to 366 days")
	want(t, run(t, nil, cmd("token", "create", "ivan", "--as", "ivan")...), 1, "", "only an admin")
	want(t, run(t, nil, cmd("token", "create", "nobody")...), 1, "", "no such user")
	want(t, run(t, nil, cmd("token", "create")...), 2, "", "Usage")
	r = run(t, nil, cmd("token", "create", "ivan", "--role", "analyst", "--expires", "2d", "--label", "nightly export")...)
	want(t, r, 0, `^cst_[A-Za-z0-9_-]{43}\n$`, "role analyst")
	roToken := strings.TrimSpace(r.stdout)
	r = run(t, nil, cmd("token", "create", "ivan", "--json")...)
	var full struct {
		ID, Role, Token string
	}
	if err := json.Unmarshal([]byte(r.stdout), &full); err != nil || full.Role != "investigator" || !strings.HasPrefix(full.Token, "cst_") {
		t.Fatalf("token create --json: %v %s", err, r.stdout)
	}
	want(t, run(t, nil, cmd("token", "list")...), 0, `(?m)ivan\s+analyst\s+active\s+\S+ \S+\s+nightly export$`, "")
	want(t, run(t, nil, cmd("token", "list", "ivan", "--as", "ivan")...), 0, "(?s)analyst.*investigator", "")
	want(t, run(t, nil, cmd("token", "list", "admin", "--as", "ivan")...), 1, "", "only an admin")
	want(t, run(t, nil, cmd("token", "revoke", full.ID)...), 0, "revoked token "+full.ID+" of ivan", "")
	want(t, run(t, nil, cmd("token", "revoke", full.ID)...), 1, "", "revoked already")
	want(t, run(t, nil, cmd("token", "revoke", "nope")...), 1, "", "no token nope")
	want(t, run(t, nil, cmd("token", "list")...), 0, `(?m)ivan\s+investigator\s+revoked`, "")

	// All of it verifies, and survives a rebuild.
	want(t, run(t, nil, cmd("verify")...), 0, "OK: the store is intact", "")
	want(t, run(t, nil, cmd("rebuild")...), 0, "rebuilt", "")
	want(t, run(t, nil, cmd("verify")...), 0, "OK: the store is intact", "")
	want(t, run(t, nil, cmd("token", "list")...), 0, `(?s)analyst\s+active.*investigator\s+revoked`, "")

	want(t, run(t, nil, "serve", "--data", dir, "--trusted-proxy", "proxy.example"), 1, "", "not an address or CIDR")

	// Served: the scoped token acts as an analyst; sign-ins are guarded;
	// --secure-cookies marks cookies Secure on plain HTTP.
	addr, _ := startInProcess(t, "serve", "--data", dir, "--addr", "127.0.0.1:0", "--secure-cookies")
	base := "http://" + addr
	code, b := get(t, base+"/api/v1/me", roToken)
	if code != 200 || !bytes.Contains(b, []byte(`"role": "analyst"`)) {
		t.Errorf("me with the scoped token: %d %s", code, b)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(base + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var pre *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "custody_pre" {
			pre = ck
		}
	}
	if pre == nil || !pre.Secure {
		t.Fatalf("pre-session cookie %+v: want Secure with --secure-cookies", pre)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if csrf == nil {
		t.Fatalf("no CSRF token in %s", page)
	}
	post := func(password string) int {
		form := url.Values{"name": {"ivan"}, "password": {password}, "csrf": {string(csrf[1])}}
		req, _ := http.NewRequest("POST", base+"/signin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(pre) // the jar keeps Secure cookies off plain HTTP
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(body); m != nil {
			csrf = m
			for _, ck := range resp.Cookies() {
				if ck.Name == "custody_pre" {
					pre = ck
				}
			}
		}
		return resp.StatusCode
	}
	for i := range 5 {
		if code := post("wrong password!"); code != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d", i+1, code)
		}
	}
	if code := post("a new password 1"); code != http.StatusTooManyRequests {
		t.Errorf("locked sign-in: status %d, want 429", code)
	}
	want(t, run(t, nil, cmd("user", "unlock", "ivan")...), 0, "ivan is unlocked", "")
	if code := post("a new password 1"); code != http.StatusSeeOther {
		t.Errorf("sign-in after unlock: status %d, want 303", code)
	}
	r = run(t, nil, cmd("session", "list")...)
	want(t, r, 0, `(?m)^[0-9a-f]{16}\s+ivan\s+`, "")
	id := regexp.MustCompile(`(?m)^([0-9a-f]{16})\s+ivan`).FindStringSubmatch(r.stdout)[1]
	want(t, run(t, nil, cmd("session", "revoke", id)...), 0, "revoked session "+id, "")
	want(t, run(t, nil, cmd("session", "list", "--user", "ivan")...), 0, "^$", "no open sessions")
}
