package cli

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestFromProxies(t *testing.T) {
	trusted, err := parseTrustedProxies(" 10.0.0.0/24, 192.0.2.1 ,fd00::/64")
	if err != nil {
		t.Fatal(err)
	}
	var got string
	h := fromProxies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }), trusted)
	for _, tc := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no proxy", "203.0.113.9:5000", nil, "203.0.113.9:5000"},
		{"untrusted peer's header ignored", "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9:5000"},
		{"trusted proxy", "10.0.0.7:443", []string{"198.51.100.1"}, "198.51.100.1:0"},
		{"chain of proxies", "10.0.0.7:443", []string{"198.51.100.66, 198.51.100.1, 192.0.2.1"}, "198.51.100.1:0"},
		{"several header lines", "10.0.0.7:443", []string{"198.51.100.66", "198.51.100.2"}, "198.51.100.2:0"},
		{"IPv6 client", "[fd00::5]:443", []string{"2001:db8::1"}, "[2001:db8::1]:0"},
		{"garbage header", "10.0.0.7:443", []string{"198.51.100.1, not-an-ip"}, "10.0.0.7:443"},
		{"only proxies", "10.0.0.7:443", []string{"10.0.0.8"}, "10.0.0.7:443"},
		{"no header", "10.0.0.7:443", nil, "10.0.0.7:443"},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = tc.peer
		for _, v := range tc.xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
		if got != tc.want {
			t.Errorf("%s: client %q, want %q", tc.name, got, tc.want)
		}
		if req.RemoteAddr != tc.peer {
			t.Errorf("%s: the caller's request was changed", tc.name)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "10.0.0.1/24/1"} {
		if _, err := parseTrustedProxies(bad); err == nil {
			t.Errorf("parseTrustedProxies(%q) succeeded", bad)
		}
	}
	if p, err := parseTrustedProxies(""); err != nil || p != nil {
		t.Errorf("empty list: %v, %v", p, err)
	}
}
