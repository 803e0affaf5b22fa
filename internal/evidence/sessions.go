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
//   - Rate limiting, lock-out and a second factor (TOTP) are not here yet:
//     callers put them in front of SignIn (the web layer has a hook for it)
//     until a later issue moves them into the service.

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
// is shown nowhere but the cookie. Errors: EUNAUTHORIZED (ErrSignIn).
func (s *Service) SignIn(ctx context.Context, name, password string) (*custody.User, *Session, string, error) {
	return s.SignInWith(ctx, name, password, SessionOptions{})
}

// SignInWith is SignIn with options.
func (s *Service) SignInWith(ctx context.Context, name, password string, opt SessionOptions) (*custody.User, *Session, string, error) {
	if opt.Idle <= 0 {
		opt.Idle = DefaultIdleTimeout
	}
	if opt.Absolute <= 0 {
		opt.Absolute = DefaultAbsoluteTimeout
	}
	if opt.Idle > opt.Absolute {
		opt.Idle = opt.Absolute
	}
	phc := dummyPHC
	var u *custody.User
	if len(name) <= 64 && len(password) <= 1024 {
		var hash string
		var err error
		u, hash, err = s.cfg.DB.UserPassword(ctx, name)
		if err != nil && custody.ErrorCode(err) != custody.ENOTFOUND {
			return nil, nil, "", err
		}
		if hash != "" {
			phc = hash
		}
	}
	// Always one argon2id computation, so that timing tells nothing.
	ok := CheckPassword(phc, password)
	if !ok || u == nil || phc == dummyPHC {
		return nil, nil, "", ErrSignIn
	}
	now := s.cfg.Now().UTC()
	token := s.randomToken()
	sess := &Session{ID: hashToken(token), UserID: u.ID, CSRF: s.randomToken(), CreatedAt: now, LastSeen: now,
		IdleUntil: now.Add(opt.Idle), ExpiresAt: now.Add(opt.Absolute)}
	// Sweep expired sessions now and then: sign-ins are rare enough.
	if _, err := s.cfg.DB.DeleteExpiredSessions(ctx, custody.FormatTime(now)); err != nil {
		s.cfg.Logger.Warn("delete expired sessions", "err", err)
	}
	if err := s.cfg.DB.CreateSession(ctx, sqlstore.SessionRow{IDHash: sess.ID, UserID: u.ID, CSRF: sess.CSRF,
		CreatedAt: custody.FormatTime(now), LastSeen: custody.FormatTime(now), IdleUntil: custody.FormatTime(sess.IdleUntil),
		ExpiresAt: custody.FormatTime(sess.ExpiresAt), UserAgent: truncate(opt.UserAgent, 256), Addr: truncate(opt.Addr, 64)}); err != nil {
		return nil, nil, "", err
	}
	return u, sess, token, nil
}

// Session returns the user and session of a session token, if the session
// exists and has not timed out. It does not record activity (see Touch).
// Errors: EUNAUTHORIZED.
func (s *Service) Session(ctx context.Context, token string) (*custody.User, *Session, error) {
	if len(token) != 43 || strings.ContainsFunc(token, func(r rune) bool {
		return !(r == '-' || r == '_' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z')
	}) {
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
