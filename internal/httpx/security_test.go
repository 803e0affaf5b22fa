package httpx_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/custody-dev/custody/internal/httpx"
)

func TestSecurityHeaders(t *testing.T) {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/static" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		http.Error(w, "nope", http.StatusNotFound)
	})
	for _, tc := range []struct {
		name  string
		o     httpx.Options
		tls   bool
		path  string
		hsts  bool
		cache string
	}{
		{"plain", httpx.Options{}, false, "/", false, "no-store"},
		{"over TLS", httpx.Options{}, true, "/", true, "no-store"},
		{"behind a TLS proxy", httpx.Options{HSTS: true}, false, "/", true, "no-store"},
		{"a handler's own caching", httpx.Options{}, false, "/static", false, "public, max-age=31536000, immutable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tc.path, nil)
			if tc.tls {
				req.TLS = &tls.ConnectionState{}
			}
			w := httptest.NewRecorder()
			httpx.SecurityHeaders(inner, tc.o).ServeHTTP(w, req)
			h := w.Result().Header
			csp := h.Get("Content-Security-Policy")
			if csp != httpx.ContentSecurityPolicy || strings.Contains(csp, "unsafe") {
				t.Errorf("CSP %q", csp)
			}
			for _, d := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'"} {
				if !strings.Contains(csp, d) {
					t.Errorf("CSP lacks %s", d)
				}
			}
			for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
				"Cross-Origin-Opener-Policy": "same-origin", "Permissions-Policy": httpx.PermissionsPolicy, "Cache-Control": tc.cache} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			for _, f := range []string{"camera=()", "microphone=()", "geolocation=(self)", "payment=()", "usb=()"} {
				if !strings.Contains(httpx.PermissionsPolicy, f) {
					t.Errorf("Permissions-Policy lacks %s", f)
				}
			}
			if got := h.Get("Strict-Transport-Security"); (got != "") != tc.hsts {
				t.Errorf("Strict-Transport-Security = %q", got)
			}
		})
	}
}
