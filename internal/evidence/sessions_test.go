package evidence_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/evidence"
)

// advance moves the fake clock forward by d.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const testPassword = "correct horse battery"

func TestSignIn(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newService(t, dialect)
		ctx := context.Background()
		u, _, err := e.svc.CreateUser(ctx, e.admin, "o.kovalenko", custody.RoleInvestigator, testPassword)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.CreateUser(ctx, e.admin, "api-only", custody.RoleAnalyst, ""); err != nil {
			t.Fatal(err)
		}

		for _, tc := range []struct{ name, user, password string }{
			{"wrong password", "o.kovalenko", "wrong horse battery"},
			{"unknown user", "nobody", testPassword},
			{"no password set", "api-only", ""},
			{"no password set, some password", "api-only", testPassword},
			{"empty", "", ""},
			{"overlong name", strings.Repeat("a", 200), testPassword},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, _, _, err := e.svc.SignIn(ctx, tc.user, tc.password)
				if !errors.Is(err, evidence.ErrSignIn) {
					t.Fatalf("SignIn = %v, want ErrSignIn", err)
				}
				if msg := custody.ErrorMessage(err); msg != "wrong name or password" {
					t.Errorf("message %q reveals more than it should", msg)
				}
			})
		}

		got, sess, token, err := e.svc.SignIn(ctx, "o.kovalenko", testPassword)
		if err != nil {
			t.Fatalf("SignIn: %v", err)
		}
		if got.ID != u.ID || got.Role != custody.RoleInvestigator {
			t.Errorf("SignIn user = %+v, want %+v", got, u)
		}
		if len(token) != 43 || sess.ID == token || strings.Contains(sess.ID, token) {
			t.Errorf("token %q / session ID %q: want a 256-bit token stored only hashed", token, sess.ID)
		}
		if !sess.CheckCSRF(sess.CSRF) || sess.CheckCSRF("") || sess.CheckCSRF(sess.CSRF+"x") {
			t.Error("CheckCSRF accepts the wrong token or refuses the right one")
		}
		if sess.ExpiresAt.Sub(sess.CreatedAt) != evidence.DefaultAbsoluteTimeout || sess.IdleUntil.Sub(sess.CreatedAt) != evidence.DefaultIdleTimeout {
			t.Errorf("timeouts: idle until %v, expires %v after %v", sess.IdleUntil, sess.ExpiresAt, sess.CreatedAt)
		}

		// The token finds the session; a tampered one does not.
		u2, s2, err := e.svc.Session(ctx, token)
		if err != nil || u2.ID != u.ID || s2.CSRF != sess.CSRF {
			t.Fatalf("Session = %v, %v, %v", u2, s2, err)
		}
		for _, bad := range []string{"", "x", token[:42] + "A", strings.Repeat("A", 43), token + "=", sess.ID} {
			if _, _, err := e.svc.Session(ctx, bad); custody.ErrorCode(err) != custody.EUNAUTHORIZED {
				t.Errorf("Session(%q) = %v, want EUNAUTHORIZED", bad, err)
			}
		}

		// Idle timeout, renewed by Touch.
		e.clock.advance(20 * time.Minute)
		_, s3, err := e.svc.Session(ctx, token)
		if err != nil {
			t.Fatalf("Session after 20 min: %v", err)
		}
		if err := e.svc.Touch(ctx, s3); err != nil {
			t.Fatalf("Touch: %v", err)
		}
		e.clock.advance(20 * time.Minute) // 40 min after sign-in, 20 after the touch
		if _, _, err := e.svc.Session(ctx, token); err != nil {
			t.Fatalf("Session 20 min after a touch: %v", err)
		}
		e.clock.advance(31 * time.Minute)
		if _, _, err := e.svc.Session(ctx, token); custody.ErrorCode(err) != custody.EUNAUTHORIZED {
			t.Fatalf("Session after 31 idle minutes = %v, want EUNAUTHORIZED", err)
		}

		// Absolute timeout: a busy session still ends after 12 hours.
		_, _, token, err = e.svc.SignIn(ctx, "o.kovalenko", testPassword)
		if err != nil {
			t.Fatal(err)
		}
		for elapsed := time.Duration(0); elapsed < 12*time.Hour; elapsed += 25 * time.Minute {
			_, s, err := e.svc.Session(ctx, token)
			if err != nil {
				t.Fatalf("Session %v after sign-in: %v", elapsed, err)
			}
			if err := e.svc.Touch(ctx, s); err != nil {
				t.Fatal(err)
			}
			if s.IdleUntil.After(s.ExpiresAt) {
				t.Fatalf("idle timeout %v beyond the absolute one %v", s.IdleUntil, s.ExpiresAt)
			}
			e.clock.advance(25 * time.Minute)
		}
		if _, _, err := e.svc.Session(ctx, token); custody.ErrorCode(err) != custody.EUNAUTHORIZED {
			t.Fatalf("Session after 12 h = %v, want EUNAUTHORIZED", err)
		}

		// Sign-out ends the session; a second sign-out is harmless.
		_, _, token, err = e.svc.SignIn(ctx, "o.kovalenko", testPassword)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.SignOut(ctx, token); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.Session(ctx, token); custody.ErrorCode(err) != custody.EUNAUTHORIZED {
			t.Fatalf("Session after sign-out = %v, want EUNAUTHORIZED", err)
		}
		if err := e.svc.SignOut(ctx, token); err != nil {
			t.Fatalf("second SignOut: %v", err)
		}
		// A Touch of a session signed out meanwhile fails.
		_, s4, token, err := e.svc.SignIn(ctx, "o.kovalenko", testPassword)
		if err != nil {
			t.Fatal(err)
		}
		e.svc.SignOut(ctx, token)
		e.clock.advance(2 * time.Minute)
		if err := e.svc.Touch(ctx, s4); custody.ErrorCode(err) != custody.EUNAUTHORIZED {
			t.Fatalf("Touch after sign-out = %v, want EUNAUTHORIZED", err)
		}

		// Sessions are not log entries.
		before := e.logSize()
		if _, _, _, err := e.svc.SignIn(ctx, "o.kovalenko", testPassword); err != nil {
			t.Fatal(err)
		}
		if after := e.logSize(); after != before {
			t.Errorf("sign-in appended %d log entries", after-before)
		}
		if r := e.verify(); !r.OK() {
			t.Errorf("verify after sessions: %+v", r.Problems)
		}
	})
}

func TestSignInTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("argon2id timing")
	}
	e := newService(t, "sqlite")
	ctx := context.Background()
	if _, _, err := e.svc.CreateUser(ctx, e.admin, "o.kovalenko", custody.RoleInvestigator, testPassword); err != nil {
		t.Fatal(err)
	}
	measure := func(name string) time.Duration {
		best := time.Hour
		for range 3 {
			start := time.Now()
			e.svc.SignIn(ctx, name, "wrong password here")
			best = min(best, time.Since(start))
		}
		return best
	}
	known, unknown := measure("o.kovalenko"), measure("nobody")
	// Both compute one argon2id hash (tens of milliseconds); a missing user
	// must not answer at database speed.
	if unknown < known/3 {
		t.Errorf("sign-in of an unknown user takes %v, of a known one %v: the difference tells who exists", unknown, known)
	}
}
