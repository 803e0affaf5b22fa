// Package api serves Custody's JSON API under /api/v1/, the public log under
// /log/ (C2SP tlog-tiles and tlog-checkpoint, no authentication) and
// /healthz.
//
// Invariants: every /api/v1 route authenticates the caller (Authorization:
// Bearer TOKEN) before reading anything; errors are JSON {"error":{"code",
// "message"}} with the stable codes of package custody, and internal error
// text is logged, never sent; request bodies are streamed and bounded.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/evidence"
)

// MaxUpload is the largest file accepted by POST /api/v1/items (64 GiB).
const MaxUpload = 64 << 30

// maxJSON bounds JSON request bodies.
const maxJSON = 1 << 20

// Server is the HTTP handler.
type Server struct {
	svc    *evidence.Service
	logger *slog.Logger
	mux    *http.ServeMux
}

// New returns a Server for svc.
func New(svc *evidence.Service, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{svc: svc, logger: logger, mux: http.NewServeMux()}
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /log/checkpoint", s.logCheckpoint)
	s.mux.HandleFunc("GET /log/tile/", s.logTile)

	// Every authenticated route is listed in apiRoutes (openapi.go), the
	// one list the OpenAPI document is checked against: add routes there.
	for _, rt := range s.apiRoutes() {
		if rt.perm == "" {
			panic("api: route " + rt.pattern + " names no permission (anyUser if every user may call it)")
		}
		s.mux.Handle(rt.pattern, s.auth(rt))
	}
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.error(w, r, custody.Errorf(custody.ENOTFOUND, "no such API route %s %s", r.Method, r.URL.Path))
	})
}

// ServeHTTP implements http.Handler, with the headers every response gets.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logger.Error("panic in handler", "path", r.URL.Path, "panic", v)
			s.error(w, r, errors.New("panic"))
		}
	}()
	s.mux.ServeHTTP(w, r)
}

type ctxKey struct{}

// UserFrom returns the authenticated user of a request context.
func UserFrom(ctx context.Context) *custody.User {
	u, _ := ctx.Value(ctxKey{}).(*custody.User)
	return u
}

// auth authenticates the caller, checks the route's permissions (allows)
// and calls its handler.
func (s *Server) auth(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The scheme is case-insensitive (RFC 9110, 11.1).
		scheme, tok, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="custody"`)
			s.error(w, r, custody.Errorf(custody.EUNAUTHORIZED, "authentication required: send Authorization: Bearer TOKEN"))
			return
		}
		u, err := s.svc.Authenticate(r.Context(), strings.TrimSpace(tok))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="custody", error="invalid_token"`)
			s.error(w, r, err)
			return
		}
		if err := rt.allows(u, r); err != nil {
			s.error(w, r, err)
			return
		}
		rt.handler(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, u)), u)
	})
}

// allows checks what the route requires of the caller's role, before
// anything is read: its permission, the record kind it writes, and for
// another user's account the permission that needs. Compartments and
// clearances need the object, and the service checks them (as it checks
// these again): a hidden record answers 404, never 403. None of these
// checks depends on the {id} asked for, so a 403 reveals nothing of it.
func (rt route) allows(u *custody.User, r *http.Request) error {
	if rt.perm != anyUser && !u.Role.Can(rt.perm) {
		return custody.Errorf(custody.EFORBIDDEN, "role %s may not use %s: it needs the %s permission", u.Role, rt.pattern, rt.perm)
	}
	if rt.perm == custody.PermWrite && rt.kind != "" && !u.Role.CanWriteKind(rt.kind) {
		return custody.Errorf(custody.EFORBIDDEN, "role %s may not write %s records", u.Role, rt.kind)
	}
	if rt.others != "" && r.PathValue("name") != u.Name && !u.Role.Can(rt.others) {
		return custody.Errorf(custody.EFORBIDDEN, "role %s may use %s on its own account only: another user's needs the %s permission",
			u.Role, rt.pattern, rt.others)
	}
	return nil
}

// statusOf maps error codes to HTTP status: the one place this is decided.
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

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = custody.Errorf(custody.ETOOLARGE, "request body over the limit of %d bytes", mbe.Limit)
	}
	code := custody.ErrorCode(err)
	if code == custody.EINTERNAL || code == custody.ETAMPERED {
		s.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	status := statusOf(code)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	var body errorBody
	body.Error.Code = code
	body.Error.Message = custody.ErrorMessage(err)
	s.json(w, status, body)
}

func (s *Server) json(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		s.logger.Debug("write response", "err", err)
	}
}

func decodeJSON(r *http.Request, w http.ResponseWriter, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxJSON)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return custody.Errorf(custody.EINVALID, "malformed JSON body: %v", err)
	}
	if dec.More() {
		return custody.Errorf(custody.EINVALID, "malformed JSON body: trailing data")
	}
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.svc.DB().LogSize(ctx); err != nil {
		s.error(w, r, custody.Errorf(custody.EUNAVAILABLE, "database unavailable"))
		return
	}
	s.json(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, u *custody.User) {
	s.json(w, http.StatusOK, u)
}

func parseUint(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, custody.Errorf(custody.EINVALID, "%q is not a non-negative integer", s)
	}
	return n, nil
}
