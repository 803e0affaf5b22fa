// Package web is Custody's browser application for investigators,
// prosecutors and forensic teams: sign-in, a dashboard of the
// investigation's figures, a map, the records of every kind with their
// history, evidence items with their chain of custody and live proof of
// inclusion in the log, resumable upload from the field, search, in
// Ukrainian and English.
//
// Pages are rendered on the server with html/template from templates
// embedded in the binary; a little vanilla JavaScript (also embedded)
// improves them where it is available — nothing is loaded from elsewhere.
//
// Invariants:
//   - Every page and every POST checks the session; a GET without one
//     redirects to /signin?next=PATH (local paths only), anything else is
//     refused. Every POST carries the session's CSRF token (a form field
//     "csrf" or the X-CSRF-Token header) and is refused without it.
//   - Changes need a role that may write (custody.Role.CanWrite); the
//     service checks again.
//   - All text from the store is escaped by html/template; no page, chart
//     or map (inline SVG included) has an inline script, event handler,
//     <style> or style attribute, so the Content-Security-Policy without
//     'unsafe-inline' (httpx.ContentSecurityPolicy) holds: a browser test
//     uses the main pages and fails on any violation.
//   - Reading an item's content through the web is logged as a custody
//     access event before any byte leaves, by the same code as the API
//     (httpx.Content); the byte ranges a media element asks for during one
//     viewing are one event.
//   - Static assets are served under URLs naming their SHA-256, so they can
//     be cached for a year; pages are never cached (they hold personal data).
package web

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/evidence"
	"github.com/custody-dev/custody/internal/geo"
	"github.com/custody-dev/custody/internal/httpx"
	"github.com/custody-dev/custody/internal/upload"
)

// ContentSecurityPolicy is sent with every page: httpx's, the one policy
// of custody serve (no 'unsafe-inline': no inline script, event handler,
// <style> or style attribute anywhere, inline SVG included).
const ContentSecurityPolicy = httpx.ContentSecurityPolicy

// Config configures a Server. Every field is optional.
type Config struct {
	Logger *slog.Logger
	// Secure marks cookies Secure even on plain-HTTP requests (behind a
	// proxy that terminates TLS). Requests that arrive over TLS get Secure
	// cookies anyway.
	Secure bool
	// IdleTimeout and AbsoluteTimeout bound sessions (30 min and 12 h by
	// default).
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	// Location is the time zone dates are shown in: Europe/Kyiv when the
	// system knows it, else UTC.
	Location *time.Location
	// UploadDir holds resumable uploads until they are complete and taken
	// in. When empty, only the single-request upload form is offered.
	UploadDir string
	// MaxUpload bounds one uploaded file (64 GiB by default).
	MaxUpload int64
	// SignInGuard, when set, is asked before every sign-in attempt
	// (password or one-time code), with the name tried and the client's
	// address: custody serve sets evidence.Service.SignInGuard (attempts
	// per address; locked names). A non-nil error refuses the attempt
	// with its message (translated for an *evidence.RefusedError).
	SignInGuard func(ctx context.Context, name, addr string) error
	// StatsTTL is how long the dashboard's figures and the map's clusters
	// are served unchanged after the log has grown (5 s by default); see
	// figures in cache.go.
	StatsTTL time.Duration
	// MaxStale is how long after that they are still served while one
	// background computation brings them up to date (1 min by default; a
	// negative value turns this off: the reader waits for the recount).
	MaxStale time.Duration
	// Now is the clock (time.Now by default).
	Now func() time.Time
}

// Server is the web application: an http.Handler.
type Server struct {
	svc     *evidence.Service
	cfg     Config
	logger  *slog.Logger
	mux     *http.ServeMux
	pages   map[string]map[string]*template.Template // lang → page → template
	cats    map[string]*catalogue
	static  *assets
	stats   figures[statsValue]
	upload  *upload.Handler // the resumable upload handler, when configured
	maps    figures[*mapData]
	geo     *geo.Map
	content *httpx.Content // items' content, shared code with the API
}

// New returns the web application for svc.
func New(svc *evidence.Service, cfg Config) (*Server, error) {
	if svc == nil {
		return nil, errors.New("web: a service is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = evidence.DefaultIdleTimeout
	}
	if cfg.AbsoluteTimeout <= 0 {
		cfg.AbsoluteTimeout = evidence.DefaultAbsoluteTimeout
	}
	if cfg.Location == nil {
		cfg.Location = mustKyiv()
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = 64 << 30
	}
	if cfg.StatsTTL <= 0 {
		cfg.StatsTTL = 5 * time.Second
	}
	if cfg.MaxStale == 0 {
		cfg.MaxStale = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{svc: svc, cfg: cfg, logger: cfg.Logger, mux: http.NewServeMux()}
	s.content = &httpx.Content{Blobs: svc.Blobs(), Logger: cfg.Logger, Memory: httpx.NewMemory(cfg.Now)}
	var err error
	if s.static, err = loadAssets(); err != nil {
		return nil, err
	}
	if s.geo, err = geo.Load(); err != nil {
		return nil, err
	}
	if s.cats, err = loadCatalogues(); err != nil {
		return nil, err
	}
	if s.pages, err = s.parseTemplates(); err != nil {
		return nil, err
	}
	if cfg.UploadDir != "" {
		if s.upload, err = s.newUploadHandler(cfg.UploadDir); err != nil {
			return nil, err
		}
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /static/{sum}/{name}", s.serveStatic)
	m.HandleFunc("GET /favicon.ico", s.favicon)
	m.HandleFunc("GET /signin", s.signinForm)
	m.HandleFunc("POST /signin", s.signin)
	m.Handle("POST /signout", s.action(s.signout, false))
	m.HandleFunc("GET /lang/{lang}", s.setLang)
	m.Handle("GET /session/alive", s.page(s.alive))

	m.Handle("GET /{$}", s.page(s.dashboard))
	m.Handle("GET /map", s.page(s.mapPage))
	m.Handle("GET /map/view", s.page(s.mapFragment))
	m.Handle("GET /search", s.page(s.search))
	m.Handle("GET /localities", s.page(s.localities))
	m.Handle("GET /lookup", s.page(s.lookup))

	m.Handle("GET /records", s.page(s.recordList))
	m.Handle("GET /records/new", s.page(s.recordNew))
	m.Handle("POST /records", s.action(s.recordCreate, true))
	m.Handle("GET /records/{id}", s.page(s.recordView))
	m.Handle("GET /records/{id}/edit", s.page(s.recordEdit))
	m.Handle("GET /records/{id}/matrix", s.page(s.caseMatrix))
	m.Handle("POST /records/{id}", s.action(s.recordUpdate, true))
	m.Handle("POST /records/{id}/withdraw", s.action(s.recordWithdraw, true))
	m.Handle("POST /records/{id}/reveal", s.action(s.recordReveal, false)) // access.go
	m.Handle("GET /records/{id}/access", s.page(s.recordAccessLog))

	m.Handle("GET /items", s.page(s.itemList))
	m.Handle("GET /items/{id}", s.page(s.itemView))
	m.Handle("GET /items/{id}/content", s.page(s.itemContent))
	m.Handle("POST /items/{id}/handover", s.action(s.itemHandover, true))

	m.Handle("GET /upload", s.page(s.uploadPage))
	m.Handle("POST /upload", s.action(s.uploadForm, true))
	if s.upload != nil {
		m.Handle(tusPath, s.tus(s.upload))
	}
	m.Handle("/", s.page(s.notFound))
}

// ServeHTTP implements http.Handler, with the headers every response gets
// (httpx.SecurityHeaders, which custody serve also puts in front of
// everything it serves; set here too so that the application is safe when
// mounted on its own). Static assets override Cache-Control, an item's
// content its Content-Security-Policy.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	httpx.SetSecurityHeaders(w.Header(), r, httpx.Options{HSTS: s.cfg.Secure})
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logger.Error("panic in web handler", "path", r.URL.Path, "panic", v)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	s.mux.ServeHTTP(w, r)
}

// statusOf maps error codes to HTTP status: the one place this is decided
// for pages.
func statusOf(code string) int {
	switch code {
	case custody.EINVALID:
		return http.StatusBadRequest
	case custody.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case custody.EFORBIDDEN:
		return http.StatusForbidden
	case custody.ENOTFOUND:
		return http.StatusNotFound
	case custody.ECONFLICT:
		return http.StatusConflict
	case custody.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case custody.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case custody.ENOSPACE:
		return http.StatusInsufficientStorage
	case custody.EUNSUPPORTED:
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

// localPath returns next if it is a path on this site ("/records?x=1"),
// else "/". It refuses scheme-relative ("//host"), backslash and absolute
// URLs, so that a sign-in link cannot send anyone elsewhere.
func localPath(next string) string {
	if next == "" || next[0] != '/' || len(next) > 2048 {
		return "/"
	}
	if strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	if strings.HasPrefix(u.Path, "/signin") || strings.HasPrefix(u.Path, "/signout") {
		return "/"
	}
	return u.RequestURI()
}

// Warm computes the dashboard's figures and the whole country's map, so
// that the first reader after a start does not wait for them (custody serve
// calls it in the background).
func (s *Server) Warm(ctx context.Context) error {
	if _, err := s.cachedStats(ctx, custody.SystemActor); err != nil {
		return err
	}
	_, err := s.mapData(ctx, custody.SystemActor, parseMapState(nil, s.geo))
	return err
}

// Clean removes what is left over: uploads abandoned or finished longer
// ago than their expiry. Call it now and then (custody serve does, every
// few minutes).
func (s *Server) Clean(ctx context.Context) error {
	if s.upload == nil {
		return nil
	}
	_, err := s.upload.Clean(ctx)
	return err
}
