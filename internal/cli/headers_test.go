package cli_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/custody-dev/custody/internal/httpx"
)

// Every response of custody serve carries the security headers: a
// representative route of each family — web pages, redirects, static
// assets, errors of both, the API and its errors, an item's content with
// a byte range, the public log, the health check.
func TestServeSecurityHeaders(t *testing.T) {
	dir, token := initStore(t)
	if r := run(t, nil, "add", "--data", dir, writeFile(t, "notes.txt", "0123456789abcdef")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	addr, _ := startInProcess(t, "serve", "--data", dir, "--addr", "127.0.0.1:0")
	base := "http://" + addr
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fetch := func(path string, header ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	_, signin := fetch("/signin")
	css := regexp.MustCompile(`href="(/static/[0-9a-f]{16}/app\.css)"`).FindStringSubmatch(signin)
	if css == nil {
		t.Fatal("no stylesheet on the sign-in page")
	}
	_, list := fetch("/api/v1/items", "Authorization", "Bearer "+token)
	var items struct{ Items []struct{ ID string } }
	if err := json.Unmarshal([]byte(list), &items); err != nil || len(items.Items) != 1 {
		t.Fatalf("items: %v %s", err, list)
	}
	pageCSP := httpx.ContentSecurityPolicy
	apiCSP := "default-src 'none'; frame-ancestors 'none'"
	for _, tc := range []struct {
		name, path string
		header     []string
		status     int
		csp, cache string
	}{
		{"web page", "/signin", nil, 200, pageCSP, "no-store"},
		{"redirect to sign in", "/records?kind=site", nil, 303, pageCSP, "no-store"},
		{"redirect of the language switcher", "/lang/en?next=/", nil, 303, pageCSP, "no-store"},
		{"static asset", css[1], nil, 200, pageCSP, "public, max-age=31536000, immutable"},
		{"static asset not found", "/static/0000000000000000/app.css", nil, 404, pageCSP, "no-store"},
		{"API", "/api/v1/items", []string{"Authorization", "Bearer " + token}, 200, apiCSP, "no-store"},
		{"API error", "/api/v1/items", nil, 401, apiCSP, "no-store"},
		{"API route not found", "/api/v1/nothing", []string{"Authorization", "Bearer " + token}, 404, apiCSP, "no-store"},
		{"item content, a range", "/api/v1/items/" + items.Items[0].ID + "/content", []string{"Authorization", "Bearer " + token, "Range", "bytes=2-5"}, 206, apiCSP, "no-store"},
		{"public log checkpoint", "/log/checkpoint", nil, 200, apiCSP, "no-cache"},
		{"public log tile not found", "/log/tile/0/x", nil, 404, apiCSP, "no-store"},
		{"health", "/healthz", nil, 200, apiCSP, "no-store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := fetch(tc.path, tc.header...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, tc.status, body)
			}
			h := resp.Header
			if got := h.Get("Content-Security-Policy"); got != tc.csp || strings.Contains(got, "unsafe-inline") {
				t.Errorf("Content-Security-Policy %q, want %q", got, tc.csp)
			}
			for k, want := range map[string]string{
				"X-Content-Type-Options":     "nosniff",
				"Referrer-Policy":            "no-referrer",
				"X-Frame-Options":            "DENY",
				"Cross-Origin-Opener-Policy": "same-origin",
				"Permissions-Policy":         httpx.PermissionsPolicy,
				"Cache-Control":              tc.cache,
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			corp := "same-origin"
			if strings.HasPrefix(tc.path, "/log/") && tc.status == 200 {
				corp = "cross-origin" // the public log is for anyone to fetch
			}
			if got := h.Get("Cross-Origin-Resource-Policy"); got != corp {
				t.Errorf("Cross-Origin-Resource-Policy = %q, want %q", got, corp)
			}
			if h.Get("Strict-Transport-Security") != "" {
				t.Error("Strict-Transport-Security on plain HTTP")
			}
			if tc.status == 206 && (body != "2345" || h.Get("Content-Range") != "bytes 2-5/16") {
				t.Errorf("range: %q, %s", body, h.Get("Content-Range"))
			}
		})
	}
}
