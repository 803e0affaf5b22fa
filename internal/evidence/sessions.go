package evidence

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/sqlstore"
)

// Web sessions: a user signs in with name and password (argon2id, as
// CreateUser stores it) and gets a session token, 256 random bits kept by
// the browser in a cookie. The store keeps only the token's SHA-256, with
// the user, the session's CSRF token and its timeouts; sessions are the
// server's own state, not log entries (signing in changes no evidence).
//
// Invariants:
//   - A session is valid until the earlier of its idle timeout (renewed by
//     Touch) and its absolute timeout (fixed at sign-in); Session refuses it
//     after either, whatever the cookie says.
//   - SignIn takes the same time whether the name exists, has no password or
//     the password is wrong, and says only "wrong name or password".
//   - A name locked out after failed sign-ins is refused before its
//     password is checked (signin.go); callers also put SignInGuard in
//     front of every attempt, which limits attempts per client address.
//   - A user with a TOTP second factor (totp.go) gets a session only from
//     SignInCode, after SignInStart checked the password.
//   - Administrators list sessions and revoke them (Sessions,
//     RevokeSession, RevokeUserSessions); a revoked session is refused at
//     its next request, since every request looks its session up.

// Session timeouts.
const (
	// DefaultIdleTimeout ends a session left unused.
	DefaultIdleTimeout = 30 * time.Minute
	// DefaultAbsoluteTimeout ends a session however busy.
	DefaultAbsoluteTimeout = 12 * time.Hour
	// touchEvery bounds how often Touch writes: activity within a minute of
	// the last recorded one is not written again.
	touchEvery = time.Minute
)

// ErrSignIn is the one error of a failed sign-in, whatever failed.
var ErrSignIn = &custody.Error{Code: custody.EUNAUTHORIZED, Message: "wrong name or password"}

// errNoSession is the error of a missing, expired or revoked session.
var errNoSession = &custody.Error{Code: custody.EUNAUTHORIZED, Message: "not signed in, or the session has expired"}

// dummyPHC is an argon2id hash of no password anyone knows, with the cost
// of real ones: checked when a user does not exist or has no password, so
// that a sign-in takes as long either way.
const dummyPHC = "$argon2id$v=19$m=65536,t=3,p=2$Y3VzdG9keS1kdW1teS1zYWx0$" +
	"YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI"

// Session is a signed-in browser session.
type Session struct {
	// ID is the hex SHA-256 of the session token: it names the session in
	// the store but cannot be used to sign in.
	ID     string
	UserID string
	// CSRF is the session's synchronizer token: every form carries it and
	// every state-changing request must present it.
	CSRF      string
	CreatedAt time.Time
	LastSeen  time.Time
	IdleUntil time.Time
	ExpiresAt time.Time
}

// SessionOptions tune SignInWith. Zero values take the defaults.
type SessionOptions struct {
	Idle      time.Duration // DefaultIdleTimeout
	Absolute  time.Duration // DefaultAbsoluteTimeout
	UserAgent string        // recorded with the session, for a later "your sessions" page
	Addr      string
}

// SignIn checks a user's password and opens a session with the default
// timeouts. It returns the user, the session and the session token, which
// is shown nowhere but the cookie. Errors: EUNAUTHORIZED (ErrSignIn,
// ErrCodeNeeded), EFORBIDDEN (*RefusedError: locked out).
func (s *Service) SignIn(ctx context.Context, name, password string) (*custody.User, *Session, string, error) {
	return s.SignInWith(ctx, name, password, SessionOptions{})
}

// SignInWith is SignIn with options. A user with a second factor cannot
// sign in with it (ErrCodeNeeded): use SignInStart and SignInCode.
func (s *Service) SignInWith(ctx context.Context, name, password string, opt SessionOptions) (*custody.User, *Session, string, error) {
	st, err := s.SignInStart(ctx, name, password, opt)
	if err != nil {
		return nil, nil, "", err
	}
	if st.Challenge != "" {
		if _, err := s.cfg.DB.DeletePendingSignIn(ctx, hashToken(st.Challenge)); err != nil {
			s.cfg.Logger.Warn("delete challenge", "err", err)
		}
		return nil, nil, "", ErrCodeNeeded
	}
	return st.User, st.Session, st.Token, nil
}

// ErrCodeNeeded is the error of SignInWith for a user with a second factor.
var ErrCodeNeeded = &custody.Error{Code: custody.EUNAUTHORIZED, Message: "this account also needs a one-time code: sign in with the web form"}

// ErrCode is the error of a wrong, reused or malformed one-time code.
var ErrCode = &custody.Error{Code: custody.EUNAUTHORIZED, Message: "wrong code"}

// ErrCodeUsed is the error of a code whose time step was used already
// (each code works once).
var ErrCodeUsed = &custody.Error{Code: custody.EUNAUTHORIZED, Message: "this code was used already: wait for the next one"}

// ErrChallenge is the error of a second step whose first is unknown, has
// expired (after 5 minutes) or has seen too many wrong codes: the sign-in
// starts again with the password.
var ErrChallenge = &custody.Error{Code: custody.EUNAUTHORIZED, Message: "the sign-in has expired: enter your name and password again"}

// SignInStep is the outcome of SignInStart: either a session (Session and
// Token) or, for a user with a second factor, a challenge to answer with
// the code (SignInCode).
type SignInStep struct {
	User    *custody.User
	Session *Session
	Token   string // the session token
	// Challenge is a 256-bit token naming this half-done sign-in for
	// SignInCode, valid 5 minutes; kept by the browser (a cookie), stored
	// only hashed.
	Challenge string
}

// SignInStart checks a user's name and password. Without a second factor
// it opens a session; with one it returns a challenge. A locked name is
// refused before its password is checked; a wrong password counts towards
// the lock. Errors: EUNAUTHORIZED (ErrSignIn), EFORBIDDEN (*RefusedError).
func (s *Service) SignInStart(ctx context.Context, name, password string, opt SessionOptions) (*SignInStep, error) {
	if err := s.checkLock(ctx, name, opt.Addr, s.cfg.Now()); err != nil {
		return nil, err
	}
	phc := dummyPHC
	var u *custody.User
	if len(name) <= 64 && len(password) <= 1024 {
		var hash string
		var err error
		u, hash, err = s.cfg.DB.UserPassword(ctx, name)
		if err != nil && custody.ErrorCode(err) != custody.ENOTFOUND {
			return nil, err
		}
		if hash != "" {
			phc = hash
		}
	}
	// Always one argon2id computation, so that timing tells nothing.
	ok := CheckPassword(phc, password)
	if !ok || u == nil || phc == dummyPHC {
		s.recordFailure(ctx, name, opt.Addr, "password")
		return nil, ErrSignIn
	}
	secret, err := s.cfg.DB.UserTOTP(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if secret != "" {
		challenge := s.randomToken()
		now := s.cfg.Now().UTC()
		if err := s.cfg.DB.CreatePendingSignIn(ctx, sqlstore.PendingSignIn{IDHash: hashToken(challenge), UserID: u.ID,
			ExpiresAt: custody.FormatTime(now.Add(challengeTTL))}); err != nil {
			return nil, err
		}
		return &SignInStep{User: u, Challenge: challenge}, nil
	}
	sess, token, err := s.openSession(ctx, u, opt)
	if err != nil {
		return nil, err
	}
	return &SignInStep{User: u, Session: sess, Token: token}, nil
}

// SignInCode completes a sign-in with a second factor: the challenge of
// SignInStart and the user's current TOTP code. A wrong code counts towards
// the name's lock; after 3 the challenge ends. Errors: EUNAUTHORIZED
// (ErrCode, ErrChallenge), EFORBIDDEN (*RefusedError).
func (s *Service) SignInCode(ctx context.Context, challenge, code string, opt SessionOptions) (*custody.User, *Session, string, error) {
	if !wellFormedToken(challenge) {
		return nil, nil, "", ErrChallenge
	}
	h := hashToken(challenge)
	p, err := s.cfg.DB.PendingSignInByHash(ctx, h)
	if custody.ErrorCode(err) == custody.ENOTFOUND {
		return nil, nil, "", ErrChallenge
	} else if err != nil {
		return nil, nil, "", err
	}
	now := s.cfg.Now().UTC()
	end := func() {
		if _, err := s.cfg.DB.DeletePendingSignIn(ctx, h); err != nil {
			s.cfg.Logger.Warn("delete challenge", "err", err)
		}
	}
	if exp, err := time.Parse(custody.TimeFormat, p.ExpiresAt); err != nil || !now.Before(exp) {
		end()
		return nil, nil, "", ErrChallenge
	}
	u, err := s.cfg.DB.UserByID(ctx, p.UserID)
	if custody.ErrorCode(err) == custody.ENOTFOUND {
		end()
		return nil, nil, "", ErrChallenge
	} else if err != nil {
		return nil, nil, "", err
	}
	if err := s.checkLock(ctx, u.Name, opt.Addr, now); err != nil {
		end()
		return nil, nil, "", err
	}
	secret, err := s.cfg.DB.UserTOTP(ctx, u.ID)
	if err != nil {
		return nil, nil, "", err
	}
	key, err := decodeTOTPKey(secret)
	if err != nil { // removed meanwhile: start again, without a code
		end()
		return nil, nil, "", ErrChallenge
	}
	step, ok := matchTOTP(key, normaliseCode(code), now)
	fail := ErrCode
	if ok {
		if ok, err = s.cfg.DB.UseTOTPStep(ctx, u.ID, step); err != nil {
			return nil, nil, "", err
		}
		fail = ErrCodeUsed
	}
	if !ok {
		what := "code"
		if fail == ErrCodeUsed {
			what = "code reused"
		}
		s.recordFailure(ctx, u.Name, opt.Addr, what)
		n, err := s.cfg.DB.CountPendingAttempt(ctx, h)
		if err != nil && custody.ErrorCode(err) != custody.ENOTFOUND {
			return nil, nil, "", err
		}
		if n >= maxCodeAttempts || err != nil {
			end()
			return nil, nil, "", ErrChallenge
		}
		return nil, nil, "", fail
	}
	// One challenge, one session: of two requests racing with it, the
	// one that deletes it goes on.
	if spent, err := s.cfg.DB.DeletePendingSignIn(ctx, h); err != nil {
		return nil, nil, "", err
	} else if !spent {
		return nil, nil, "", ErrChallenge
	}
	sess, token, err := s.openSession(ctx, u, opt)
	if err != nil {
		return nil, nil, "", err
	}
	return u, sess, token, nil
}

// openSession opens a session for u, whose credentials were checked: it
// clears the name's failures and gives the address its attempt back.
func (s *Service) openSession(ctx context.Context, u *custody.User, opt SessionOptions) (*Session, string, error) {
	if opt.Idle <= 0 {
		opt.Idle = DefaultIdleTimeout
	}
	if opt.Absolute <= 0 {
		opt.Absolute = DefaultAbsoluteTimeout
	}
	if opt.Idle > opt.Absolute {
		opt.Idle = opt.Absolute
	}
	now := s.cfg.Now().UTC()
	token := s.randomToken()
	sess := &Session{ID: hashToken(token), UserID: u.ID, CSRF: s.randomToken(), CreatedAt: now, LastSeen: now,
		IdleUntil: now.Add(opt.Idle), ExpiresAt: now.Add(opt.Absolute)}
	// Sweep expired sessions and stale sign-in state now and then:
	// sign-ins are rare enough.
	if err := s.SweepSignIn(ctx); err != nil {
		s.cfg.Logger.Warn("sweep sign-in state", "err", err)
	}
	if err := s.cfg.DB.CreateSession(ctx, sqlstore.SessionRow{IDHash: sess.ID, UserID: u.ID, CSRF: sess.CSRF,
		CreatedAt: custody.FormatTime(now), LastSeen: custody.FormatTime(now), IdleUntil: custody.FormatTime(sess.IdleUntil),
		ExpiresAt: custody.FormatTime(sess.ExpiresAt), UserAgent: truncate(opt.UserAgent, 256), Addr: truncate(opt.Addr, 64)}); err != nil {
		return nil, "", err
	}
	if _, err := s.cfg.DB.DeleteSignInAccount(ctx, u.Name); err != nil {
		s.cfg.Logger.Warn("clear sign-in failures", "name", u.Name, "err", err)
	}
	s.giveBack(ctx, opt.Addr)
	s.cfg.Logger.Info("signed in", "user", u.Name, "addr", ClientKey(opt.Addr), "session", sess.PublicID())
	return sess, token, nil
}

// wellFormedToken reports whether token has the form of randomToken's:
// 43 characters of base64url.
func wellFormedToken(token string) bool {
	return len(token) == 43 && !strings.ContainsFunc(token, func(r rune) bool {
		return !(r == '-' || r == '_' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z')
	})
}

// Session returns the user and session of a session token, if the session
// exists and has not timed out. It does not record activity (see Touch).
// Errors: EUNAUTHORIZED.
func (s *Service) Session(ctx context.Context, token string) (*custody.User, *Session, error) {
	if !wellFormedToken(token) {
		return nil, nil, errNoSession
	}
	row, err := s.cfg.DB.SessionByHash(ctx, hashToken(token))
	if custody.ErrorCode(err) == custody.ENOTFOUND {
		return nil, nil, errNoSession
	} else if err != nil {
		return nil, nil, err
	}
	sess, err := sessionFrom(row)
	if err != nil {
		return nil, nil, err
	}
	// The lookup was by hash; compare again in constant time, so that an
	// index that matched loosely (a collation, a prefix) cannot pass.
	if subtle.ConstantTimeCompare([]byte(sess.ID), []byte(hashToken(token))) != 1 {
		return nil, nil, errNoSession
	}
	now := s.cfg.Now()
	if !now.Before(sess.IdleUntil) || !now.Before(sess.ExpiresAt) {
		if err := s.cfg.DB.DeleteSession(ctx, sess.ID); err != nil {
			s.cfg.Logger.Warn("delete expired session", "err", err)
		}
		return nil, nil, errNoSession
	}
	u, err := s.cfg.DB.UserByID(ctx, sess.UserID)
	if custody.ErrorCode(err) == custody.ENOTFOUND {
		return nil, nil, errNoSession
	} else if err != nil {
		return nil, nil, err
	}
	return u, sess, nil
}

// Touch records activity on a session, pushing its idle timeout back (never
// beyond its absolute timeout). Activity within a minute of the last one
// recorded is not written again, so that reading pages costs no writes.
// Errors: EUNAUTHORIZED (signed out meanwhile).
func (s *Service) Touch(ctx context.Context, sess *Session) error {
	now := s.cfg.Now().UTC()
	if now.Sub(sess.LastSeen) < touchEvery {
		return nil
	}
	idle := sess.IdleUntil.Sub(sess.LastSeen)
	until := now.Add(idle)
	if until.After(sess.ExpiresAt) {
		until = sess.ExpiresAt
	}
	err := s.cfg.DB.TouchSession(ctx, sess.ID, custody.FormatTime(now), custody.FormatTime(until))
	if custody.ErrorCode(err) == custody.ENOTFOUND {
		return errNoSession
	} else if err != nil {
		return err
	}
	sess.LastSeen, sess.IdleUntil = now, until
	return nil
}

// SignOut ends the session of a token. Ending a session that does not
// exist is not an error.
func (s *Service) SignOut(ctx context.Context, token string) error {
	return s.cfg.DB.DeleteSession(ctx, hashToken(token))
}

// CheckCSRF reports whether token is the session's CSRF token, comparing
// in constant time.
func (sess *Session) CheckCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(sess.CSRF)) == 1
}

func (s *Service) randomToken() string {
	var b [32]byte
	if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
		panic(fmt.Sprintf("random source: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func sessionFrom(r *sqlstore.SessionRow) (*Session, error) {
	sess := &Session{ID: r.IDHash, UserID: r.UserID, CSRF: r.CSRF}
	for _, f := range []struct {
		dst *time.Time
		v   string
	}{{&sess.CreatedAt, r.CreatedAt}, {&sess.LastSeen, r.LastSeen}, {&sess.IdleUntil, r.IdleUntil}, {&sess.ExpiresAt, r.ExpiresAt}} {
		t, err := time.Parse(custody.TimeFormat, f.v)
		if err != nil {
			return nil, fmt.Errorf("session row: time %q: %w", f.v, err)
		}
		*f.dst = t
	}
	return sess, nil
}

// PublicID names the session to administrators: the first 16 hex digits of
// its hash, which can neither sign in nor be turned into the token.
func (sess *Session) PublicID() string { return publicSessionID(sess.ID) }

func publicSessionID(h string) string {
	if len(h) > sessionIDLen {
		return h[:sessionIDLen]
	}
	return h
}

const sessionIDLen = 16

// SessionInfo describes a session to an administrator; never its token.
type SessionInfo struct {
	ID        string `json:"id"`
	User      string `json:"user"`
	UserID    string `json:"user_id"`
	CreatedAt string `json:"created_at"`
	LastSeen  string `json:"last_seen"`
	IdleUntil string `json:"idle_until"`
	ExpiresAt string `json:"expires_at"`
	Addr      string `json:"addr,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
}

// Sessions lists the open sessions of the user named name, or of everyone
// when name is empty, most recently active first. The actor must be an
// administrator. Errors: EFORBIDDEN, ENOTFOUND (no such user).
func (s *Service) Sessions(ctx context.Context, actor *custody.User, name string) ([]SessionInfo, error) {
	if actor.Role != custody.RoleAdmin {
		return nil, custody.Errorf(custody.EFORBIDDEN, "only an admin may list sessions")
	}
	userID := ""
	if name != "" {
		u, err := s.cfg.DB.UserByName(ctx, name)
		if err != nil {
			return nil, err
		}
		userID = u.ID
	}
	rows, err := s.cfg.DB.ListSessions(ctx, userID, custody.FormatTime(s.cfg.Now()))
	if err != nil {
		return nil, err
	}
	out := make([]SessionInfo, 0, len(rows))
	for _, r := range rows {
		out = append(out, SessionInfo{ID: publicSessionID(r.IDHash), User: r.UserName, UserID: r.UserID, CreatedAt: r.CreatedAt,
			LastSeen: r.LastSeen, IdleUntil: r.IdleUntil, ExpiresAt: r.ExpiresAt, Addr: r.Addr, UserAgent: r.UserAgent})
	}
	return out, nil
}

// RevokeSession ends the session named id (SessionInfo.ID; the full hash
// is accepted too) at once: its next request is refused. The actor must be
// an administrator. Errors: EFORBIDDEN, EINVALID (not a session ID),
// ENOTFOUND, ECONFLICT (the ID names two sessions: give more digits).
func (s *Service) RevokeSession(ctx context.Context, actor *custody.User, id string) error {
	if actor.Role != custody.RoleAdmin {
		return custody.Errorf(custody.EFORBIDDEN, "only an admin may revoke sessions")
	}
	id = strings.ToLower(strings.TrimSpace(id))
	if len(id) < sessionIDLen || len(id) > 64 || strings.ContainsFunc(id, func(r rune) bool {
		return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f')
	}) {
		return &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("%q is not a session ID", truncate(id, 64)),
			Hint: "16 hex digits, as custody session list shows them"}
	}
	hs, err := s.cfg.DB.SessionsByPrefix(ctx, id)
	if err != nil {
		return err
	}
	switch len(hs) {
	case 0:
		return custody.Errorf(custody.ENOTFOUND, "no session %s (signed out or expired already?)", id)
	case 1:
	default:
		return custody.Errorf(custody.ECONFLICT, "%s names more than one session: give all 64 digits", id)
	}
	if err := s.cfg.DB.DeleteSession(ctx, hs[0]); err != nil {
		return err
	}
	s.cfg.Logger.Info("session revoked", "session", publicSessionID(hs[0]), "by", actor.Name)
	return nil
}

// RevokeUserSessions ends every session of the user named name and returns
// how many there were. The actor must be an administrator.
// Errors: EFORBIDDEN, ENOTFOUND.
func (s *Service) RevokeUserSessions(ctx context.Context, actor *custody.User, name string) (int64, error) {
	if actor.Role != custody.RoleAdmin {
		return 0, custody.Errorf(custody.EFORBIDDEN, "only an admin may revoke sessions")
	}
	u, err := s.cfg.DB.UserByName(ctx, name)
	if err != nil {
		return 0, err
	}
	n, err := s.cfg.DB.DeleteUserSessionsCount(ctx, u.ID)
	if err != nil {
		return 0, err
	}
	s.cfg.Logger.Info("sessions revoked", "user", u.Name, "count", n, "by", actor.Name)
	return n, nil
}
