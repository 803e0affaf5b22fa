package web

import (
	"context"
	"net/http"
	"os"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/upload"
)

// tus wraps the resumable upload handler: every request needs a session
// and a role that may write; every request but HEAD and OPTIONS carries
// the CSRF token in its header (tus clients send no forms).
func (s *Server) tus(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if !sameOrigin(r) {
			http.Error(w, "cross-site request refused", http.StatusForbidden)
			return
		}
		u, sess, err := s.session(r)
		if err != nil {
			if custody.ErrorCode(err) == custody.EUNAUTHORIZED {
				http.Error(w, "not signed in", http.StatusUnauthorized)
				return
			}
			s.logger.Error("upload session", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		switch r.Method {
		case http.MethodHead, http.MethodOptions, http.MethodGet:
		default:
			if !sess.CheckCSRF(r.Header.Get(csrfHeader)) {
				http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
				return
			}
		}
		if !u.Role.CanWrite() {
			http.Error(w, "this role may not take in evidence", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r.WithContext(withLang(withUser(r.Context(), u), requestLang(r))))
	})
}

// tusPath is where the resumable upload handler is mounted.
const tusPath = "/upload/files/"

// newUploadHandler builds the tus handler over dir: uploads belong to the
// user who started them, and a finished one is taken in as evidence with
// the batch's metadata; the item (its hash, its position) is the
// Upload-Result the uploader reads.
func (s *Server) newUploadHandler(dir string) (*upload.Handler, error) {
	return upload.New(upload.Config{
		Dir: dir, Path: tusPath, MaxSize: s.cfg.MaxUpload, Logger: s.logger, Now: s.cfg.Now,
		Owner: func(r *http.Request) (string, error) {
			u := userFrom(r.Context())
			if u == nil {
				return "", custody.Errorf(custody.EUNAUTHORIZED, "not signed in")
			}
			return u.ID, nil
		},
		Complete: s.completeUpload,
	})
}

// completeUpload takes in a finished upload. Its context carries the
// uploader and the page's language (tus puts them there).
func (s *Server) completeUpload(ctx context.Context, up upload.Upload, content *os.File) (any, error) {
	u := userFrom(ctx)
	if u == nil {
		return nil, custody.Errorf(custody.EUNAUTHORIZED, "not signed in")
	}
	l := s.localizer(langFrom(ctx))
	fields := map[string]string{}
	for k, v := range up.Metadata {
		if intakeFields[k] {
			fields[k] = v
		}
	}
	req, err := s.intakeRequest(l, fields)
	if err != nil {
		return nil, err
	}
	req.Name, req.Content = up.Metadata["filename"], content
	it, err := s.svc.Intake(ctx, u, req)
	if err != nil {
		return nil, err
	}
	return s.resultOf(l, it), nil
}
