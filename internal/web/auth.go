package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/evidence"
)

// Cookie names. Over TLS the session cookie takes the __Host- prefix, which
// browsers accept only when it is Secure, has Path=/ and no Domain.
const (
	sessionCookie       = "custody_session"
	secureSessionCookie = "__Host-custody_session"
	preCookie           = "custody_pre"       // the sign-in form's CSRF token, before there is a session
	challengeCookie     = "custody_challenge" // a sign-in waiting for its one-time code
	csrfField           = "csrf"
	csrfHeader          = "X-CSRF-Token"
	maxFormBody         = 4 << 20 // urlencoded forms: a long transcript fits
)

// reqCtx is what a handler knows of the request beyond http.Request: who
// is signed in and in which language the page is.
type reqCtx struct {
	user *custody.User
	sess *evidence.Session
	l    *localizer
	// mr continues a multipart body whose first part (the CSRF token) the
	// action wrapper has read.
	mr *multipart.Reader
}

type handler func(w http.ResponseWriter, r *http.Request, c *reqCtx)

func (s *Server) secure(r *http.Request) bool { return s.cfg.Secure || r.TLS != nil }

func (s *Server) cookieName(r *http.Request) string {
	if s.secure(r) {
		return secureSessionCookie
	}
	return sessionCookie
}

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, token string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(r), Value: token, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
}

// session returns the signed-in user of a request, recording the activity.
func (s *Server) session(r *http.Request) (*custody.User, *evidence.Session, error) {
	ck, err := r.Cookie(s.cookieName(r))
	if err != nil || ck.Value == "" {
		return nil, nil, custody.Errorf(custody.EUNAUTHORIZED, "not signed in")
	}
	u, sess, err := s.svc.Session(r.Context(), ck.Value)
	if err != nil {
		return nil, nil, err
	}
	if err := s.svc.Touch(r.Context(), sess); err != nil {
		return nil, nil, err
	}
	return u, sess, nil
}

// page wraps a handler of a page (GET): without a session it redirects to
// the sign-in form, which comes back here afterwards.
func (s *Server) page(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l := s.localizer(requestLang(r))
		u, sess, err := s.session(r)
		if custody.ErrorCode(err) == custody.EUNAUTHORIZED {
			if wantsJSON(r) {
				w.Header().Set("Cache-Control", "no-store")
				http.Error(w, "not signed in", http.StatusUnauthorized)
				return
			}
			if _, e := r.Cookie(s.cookieName(r)); e == nil {
				s.setSessionCookie(w, r, "", -1)
			}
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(localPath(r.URL.RequestURI())), http.StatusSeeOther)
			return
		} else if err != nil {
			s.fail(w, r, &reqCtx{l: l}, err)
			return
		}
		h(w, r, &reqCtx{user: u, sess: sess, l: l})
	})
}

// action wraps a handler of a change (POST): it needs a session, a request
// from this site with the session's CSRF token and, when write is set, a
// role that may write.
func (s *Server) action(h handler, write bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l := s.localizer(requestLang(r))
		c := &reqCtx{l: l}
		if !sameOrigin(r) {
			s.fail(w, r, c, custody.Errorf(custody.EFORBIDDEN, "cross-site request refused"))
			return
		}
		u, sess, err := s.session(r)
		if err != nil {
			if custody.ErrorCode(err) == custody.EUNAUTHORIZED {
				err = &custody.Error{Code: custody.EFORBIDDEN, Message: l.T("error.session_ended")}
			}
			s.fail(w, r, c, err)
			return
		}
		c.user, c.sess = u, sess
		token := r.Header.Get(csrfHeader)
		mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch {
		case token != "":
		case mt == "multipart/form-data":
			// The token is the form's first field; the handler reads on.
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUpload+1<<20)
			c.mr = multipart.NewReader(r.Body, params["boundary"])
			if p, err := c.mr.NextPart(); err == nil && p.FormName() == csrfField {
				b, _ := io.ReadAll(io.LimitReader(p, 128))
				token = string(b)
			}
		default:
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
			if err := r.ParseForm(); err != nil {
				s.fail(w, r, c, custody.Errorf(custody.EINVALID, "malformed form"))
				return
			}
			token = r.PostForm.Get(csrfField)
		}
		if !sess.CheckCSRF(token) {
			s.fail(w, r, c, &custody.Error{Code: custody.EFORBIDDEN, Message: l.T("error.csrf")})
			return
		}
		if write && !u.Role.CanWrite() {
			s.fail(w, r, c, &custody.Error{Code: custody.EFORBIDDEN, Message: l.T("error.read_only", u.Role)})
			return
		}
		h(w, r, c)
	})
}

// sameOrigin refuses requests that a browser marks as coming from another
// site (Sec-Fetch-Site, Origin): a second line behind the CSRF token.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return false
	}
	// With Referrer-Policy: no-referrer, browsers send "Origin: null" on
	// form posts; Sec-Fetch-Site above still tells.
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	return true
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json") || r.Header.Get("Tus-Resumable") != ""
}

// randomToken returns 256 random bits, base64url.
func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// signinForm shows the sign-in form, with a pre-session CSRF token
// (double-submit: a cookie and a field that must match).
func (s *Server) signinForm(w http.ResponseWriter, r *http.Request) {
	l := s.localizer(requestLang(r))
	next := localPath(r.URL.Query().Get("next"))
	if _, _, err := s.session(r); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	s.renderSignin(w, r, l, http.StatusOK, signinState{next: next})
}

// signinState is what the sign-in form shows: the password step, or the
// code step of a user with a second factor.
type signinState struct {
	next, name, problem string
	code                bool // ask for the one-time code
}

func (s *Server) renderSignin(w http.ResponseWriter, r *http.Request, l *localizer, status int, st signinState) {
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{Name: preCookie, Value: tok, Path: "/signin", MaxAge: 3600, HttpOnly: true,
		Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
	notice := ""
	switch {
	case st.code && st.problem == "":
		notice = l.T("signin.code_needed")
	case r.URL.Query().Get("out") == "1":
		notice = l.T("signin.signed_out")
	case r.URL.Query().Get("next") != "" && r.Method == http.MethodGet:
		notice = l.T("signin.needed")
	}
	code := ""
	if st.code {
		code = "1"
	}
	s.render(w, r, &reqCtx{l: l}, status, "signin", &page{Title: l.T("signin.title"), CSRF: tok, Data: map[string]string{
		"Next": st.next, "Name": st.name, "Problem": st.problem, "Notice": notice, "Code": code}})
}

// setChallenge keeps (or, with "" and -1, drops) the challenge of a
// sign-in waiting for its one-time code.
func (s *Server) setChallenge(w http.ResponseWriter, r *http.Request, challenge string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: challengeCookie, Value: challenge, Path: "/signin", MaxAge: maxAge, HttpOnly: true,
		Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
}

// refused renders the refusal of a sign-in before any check: a locked
// name or an address out of attempts. It reports whether err was one.
func (s *Server) refused(w http.ResponseWriter, r *http.Request, l *localizer, st signinState, err error) bool {
	var re *evidence.RefusedError
	if !errors.As(err, &re) {
		return false
	}
	now := s.cfg.Now()
	w.Header().Set("Retry-After", strconv.Itoa(re.RetryAfter(now)))
	until := l.DateTime(custody.FormatTime(re.Until))
	if re.Reason == evidence.RefusedLocked {
		st.problem = l.T("signin.locked", until)
	} else {
		st.problem = l.T("signin.too_many", until)
	}
	s.renderSignin(w, r, l, http.StatusTooManyRequests, st)
	return true
}

// signin checks a name and password and opens a session; for a user with
// a second factor it asks for the code next (the same form, posted with
// step=code), and opens the session once the code is right.
func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	l := s.localizer(requestLang(r))
	c := &reqCtx{l: l}
	if !sameOrigin(r) {
		s.fail(w, r, c, custody.Errorf(custody.EFORBIDDEN, "cross-site request refused"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, c, custody.Errorf(custody.EINVALID, "malformed form"))
		return
	}
	ck, err := r.Cookie(preCookie)
	tok := r.PostForm.Get(csrfField)
	if err != nil || tok == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(tok)) != 1 {
		s.fail(w, r, c, &custody.Error{Code: custody.EFORBIDDEN, Message: l.T("error.csrf")})
		return
	}
	name, password := strings.TrimSpace(r.PostForm.Get("name")), r.PostForm.Get("password")
	st := signinState{next: localPath(r.PostForm.Get("next")), name: name}
	if s.cfg.SignInGuard != nil {
		if err := s.cfg.SignInGuard(r.Context(), name, r.RemoteAddr); err != nil {
			if !s.refused(w, r, l, st, err) {
				s.renderSignin(w, r, l, http.StatusTooManyRequests, signinState{next: st.next, name: name, problem: custody.ErrorMessage(err)})
			}
			return
		}
	}
	opt := evidence.SessionOptions{Idle: s.cfg.IdleTimeout, Absolute: s.cfg.AbsoluteTimeout, UserAgent: r.UserAgent(), Addr: r.RemoteAddr}
	var token string
	if r.PostForm.Get("step") == "code" {
		challenge := ""
		if ck, err := r.Cookie(challengeCookie); err == nil {
			challenge = ck.Value
		}
		_, _, token, err = s.svc.SignInCode(r.Context(), challenge, r.PostForm.Get("code"), opt)
		switch {
		case errors.Is(err, evidence.ErrCode), errors.Is(err, evidence.ErrCodeUsed):
			st.code, st.problem = true, l.T("signin.code_wrong")
			if errors.Is(err, evidence.ErrCodeUsed) {
				st.problem = l.T("signin.code_used")
			}
			s.renderSignin(w, r, l, http.StatusUnauthorized, st)
			return
		case errors.Is(err, evidence.ErrChallenge):
			s.setChallenge(w, r, "", -1)
			st.problem = l.T("signin.code_expired")
			s.renderSignin(w, r, l, http.StatusUnauthorized, st)
			return
		case s.refused(w, r, l, st, err):
			return
		case err != nil:
			s.fail(w, r, c, err)
			return
		}
	} else {
		step, err := s.svc.SignInStart(r.Context(), name, password, opt)
		switch {
		case errors.Is(err, evidence.ErrSignIn):
			st.problem = l.T("signin.wrong")
			s.renderSignin(w, r, l, http.StatusUnauthorized, st)
			return
		case s.refused(w, r, l, st, err):
			return
		case err != nil:
			s.fail(w, r, c, err)
			return
		case step.Challenge != "":
			s.setChallenge(w, r, step.Challenge, 300)
			st.code, st.name = true, step.User.Name
			s.renderSignin(w, r, l, http.StatusOK, st)
			return
		}
		token = step.Token
	}
	// A new session ID at every sign-in: nothing set before carries over.
	s.setSessionCookie(w, r, token, 0)
	http.SetCookie(w, &http.Cookie{Name: preCookie, Value: "", Path: "/signin", MaxAge: -1, HttpOnly: true, Secure: s.secure(r)})
	s.setChallenge(w, r, "", -1)
	http.Redirect(w, r, st.next, http.StatusSeeOther)
}

// signout ends the session.
func (s *Server) signout(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	if ck, err := r.Cookie(s.cookieName(r)); err == nil {
		if err := s.svc.SignOut(r.Context(), ck.Value); err != nil {
			s.fail(w, r, c, err)
			return
		}
	}
	s.setSessionCookie(w, r, "", -1)
	http.Redirect(w, r, "/signin?out=1", http.StatusSeeOther)
}

// alive answers the keep-alive of a page being edited: typing in a long
// form is activity, so it pushes the idle timeout back.
func (s *Server) alive(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// setLang remembers the language chosen with the switcher and goes back.
func (s *Server) setLang(w http.ResponseWriter, r *http.Request) {
	lang := r.PathValue("lang")
	ok := false
	for _, l := range languages {
		ok = ok || l == lang
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, localPathOrSignin(r.URL.Query().Get("next")), http.StatusSeeOther)
}

// localPathOrSignin is localPath, but lets the sign-in page through (the
// language switcher is on it).
func localPathOrSignin(next string) string {
	if strings.HasPrefix(next, "/signin") && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		if u, err := url.Parse(next); err == nil && u.Host == "" && u.Scheme == "" {
			return u.RequestURI()
		}
	}
	return localPath(next)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

type ctxUser struct{}

func withUser(ctx context.Context, u *custody.User) context.Context {
	return context.WithValue(ctx, ctxUser{}, u)
}

func userFrom(ctx context.Context) *custody.User {
	u, _ := ctx.Value(ctxUser{}).(*custody.User)
	return u
}

type ctxLang struct{}

func withLang(ctx context.Context, lang string) context.Context {
	return context.WithValue(ctx, ctxLang{}, lang)
}

func langFrom(ctx context.Context) string {
	l, _ := ctx.Value(ctxLang{}).(string)
	return l
}
