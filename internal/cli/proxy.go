package cli

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/custody-dev/custody"
)

// Behind a reverse proxy every request comes from the proxy's address, so
// the sign-in limits per client address (evidence.SignInGuard) would put
// every client in one bucket. custody serve --trusted-proxy names the
// proxies whose X-Forwarded-For is believed; nobody else's is.

// parseTrustedProxies reads a comma-separated list of CIDR prefixes or
// addresses.
func parseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, err2 := netip.ParseAddr(f)
			if err2 != nil {
				return nil, &custody.Error{Code: custody.EINVALID, Message: "--trusted-proxy " + truncateName(f, 60) + " is not an address or CIDR prefix",
					Hint: "e.g. --trusted-proxy 10.0.0.5 or --trusted-proxy 10.0.0.0/24,fd00::/64"}
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// fromProxies sets a request's RemoteAddr to its client's address when it
// comes from a trusted proxy: the right-most X-Forwarded-For address that
// is not itself a trusted proxy. A header that does not parse is ignored.
func fromProxies(h http.Handler, trusted []netip.Prefix) http.Handler {
	if len(trusted) == 0 {
		return h
	}
	isTrusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if client, ok := forwardedClient(r, isTrusted); ok {
			r = r.WithContext(r.Context()) // a copy: the caller's request stays as it was
			r.RemoteAddr = netip.AddrPortFrom(client, 0).String()
		}
		h.ServeHTTP(w, r)
	})
}

func forwardedClient(r *http.Request, isTrusted func(netip.Addr) bool) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(peer) {
		return netip.Addr{}, false
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	if len(hops) > 64 {
		return netip.Addr{}, false
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}, false
		}
		if !isTrusted(a) {
			return a.Unmap().WithZone(""), true
		}
	}
	return netip.Addr{}, false
}
