// Package httpx is the HTTP plumbing shared by the JSON API (internal/api)
// and the web application (internal/web): the security headers every
// response of custody serve carries, and the streaming of evidence content
// (verified, logged, with byte ranges).
//
// Invariants:
//   - Every response passes through SecurityHeaders before any handler
//     writes: it carries a Content-Security-Policy without 'unsafe-inline'
//     or 'unsafe-eval', nosniff, a referrer policy, frame and opener
//     isolation, a Permissions-Policy that denies what Custody does not use,
//     and Cache-Control: no-store unless a handler states otherwise (only
//     public or immutable data may: static assets, the public log).
//   - Content streamed by Content never reaches a client as a complete
//     response unless the bytes have been checked against the blob's
//     SHA-256 (see content.go for how byte ranges keep this).
//
// It imports the domain (package custody) and the standard library only.
package httpx

import "net/http"

// ContentSecurityPolicy is the policy of every page and of every response
// that does not set a stricter one (the API's JSON, an item's content).
// Scripts, styles, images, media and fetches come from this origin only;
// nothing inline runs or applies ('unsafe-inline' is absent, so inline
// <script>, on* attributes, <style> and style="" attributes — in inline SVG
// too — are refused); no plugins; no <base>; forms post here only; no page
// may be framed.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// PermissionsPolicy denies the browser features Custody does not use. It
// keeps, for this origin only: geolocation (the upload form's "use my
// position", which fills in where evidence was collected), fullscreen and
// picture-in-picture (the controls of the video preview). Each feature named
// is one Chromium recognises (an unknown one logs an error in the console,
// which the browser test fails on).
const PermissionsPolicy = "accelerometer=(), autoplay=(), browsing-topics=(), camera=(), " +
	"display-capture=(), encrypted-media=(), fullscreen=(self), geolocation=(self), gyroscope=(), hid=(), " +
	"idle-detection=(), local-fonts=(), magnetometer=(), microphone=(), midi=(), payment=(), " +
	"picture-in-picture=(self), publickey-credentials-create=(), publickey-credentials-get=(), " +
	"screen-wake-lock=(), serial=(), usb=(), xr-spatial-tracking=()"

// ReferrerPolicy is no-referrer, the strictest: URLs here carry record IDs
// and search terms (names of victims and witnesses), and nothing in Custody
// needs a Referer. same-origin would be as safe towards other sites; its one
// advantage, a real Origin header on our own form posts (with no-referrer
// browsers send "Origin: null"), is not needed: the web application's
// same-origin check rests on Sec-Fetch-Site and the CSRF token
// (internal/web/auth.go).
const ReferrerPolicy = "no-referrer"

// StrictTransportSecurity is sent on responses over TLS (or when
// Options.HSTS says TLS is terminated in front of us): two years, this host
// only — includeSubDomains is left to the deployment, which knows its
// domain.
const StrictTransportSecurity = "max-age=63072000"

// Options configures SecurityHeaders.
type Options struct {
	// HSTS sends Strict-Transport-Security on every response, also on
	// plain-HTTP requests: set it when a proxy in front terminates TLS.
	// Requests that arrive over TLS get it anyway.
	HSTS bool
}

// SecurityHeaders returns next with the security headers set on every
// response before next runs. Handlers may replace a header with a stricter
// or more specific value (an item's content has its own sandboxing policy;
// static assets and the public log are cacheable), never remove one.
func SecurityHeaders(next http.Handler, o Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetSecurityHeaders(w.Header(), r, o)
		next.ServeHTTP(w, r)
	})
}

// SetSecurityHeaders sets the headers of SecurityHeaders on h. The web
// application calls it too, so that it is safe when mounted on its own.
func SetSecurityHeaders(h http.Header, r *http.Request, o Options) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", ReferrerPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", PermissionsPolicy)
	h.Set("Cache-Control", "no-store")
	if o.HSTS || r.TLS != nil {
		h.Set("Strict-Transport-Security", StrictTransportSecurity)
	}
}
