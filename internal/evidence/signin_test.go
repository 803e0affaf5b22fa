package evidence_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/evidence"
)

// refusal returns the *RefusedError in err, failing the test if there is
// none or its reason is not want.
func refusal(t *testing.T, err error, want string) *evidence.RefusedError {
	t.Helper()
	var re *evidence.RefusedError
	if !errors.As(err, &re) || re.Reason != want {
		t.Fatalf("error %v: want a refusal (%s)", err, want)
	}
	if custody.ErrorCode(err) != custody.EFORBIDDEN {
		t.Errorf("refusal code %q, want EFORBIDDEN", custody.ErrorCode(err))
	}
	return re
}

func TestLockOut(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newService(t, dialect)
		ctx := context.Background()
		if _, _, err := e.svc.CreateUser(ctx, e.admin, "o.kovalenko", custody.RoleInvestigator, testPassword); err != nil {
			t.Fatal(err)
		}
		fail := func(n int, name string) {
			t.Helper()
			for i := range n {
				if _, _, _, err := e.svc.SignIn(ctx, name, "wrong password!"); !errors.Is(err, evidence.ErrSignIn) {
					t.Fatalf("failure %d of %s: %v, want ErrSignIn", i+1, name, err)
				}
			}
		}
		// Four failures, then the right password: the count starts over.
		fail(4, "o.kovalenko")
		if _, _, _, err := e.svc.SignIn(ctx, "o.kovalenko", testPassword); err != nil {
			t.Fatalf("sign-in after 4 failures: %v", err)
		}
		fail(4, "o.kovalenko")
		if _, _, _, err := e.svc.SignIn(ctx, "o.kovalenko", testPassword); err != nil {
			t.Fatalf("sign-in after 4 more failures: %v", err)
		}

		// The fifth consecutive failure locks the name for 15 minutes, and
		// the right password is refused too.
		start := e.clock.Now()
		fail(5, "o.kovalenko")
		_, _, _, err := e.svc.SignIn(ctx, "o.kovalenko", testPassword)
		re := refusal(t, err, evidence.RefusedLocked)
		if d := re.Until.Sub(start); d < 15*time.Minute || d > 15*time.Minute+time.Second {
			t.Errorf("locked until %v, %v after the failures began; want 15 min", re.Until, d)
		}
		if msg := custody.ErrorMessage(err); !strings.Contains(msg, "locked until") || !strings.Contains(msg, "administrator") {
			t.Errorf("message %q", msg)
		}
		// Still locked a minute before the end; free after it.
		e.clock.advance(14 * time.Minute)
		if _, _, _, err := e.svc.SignIn(ctx, "o.kovalenko", testPassword); err == nil {
			t.Fatal("signed in while locked")
		}
		e.clock.advance(time.Minute + time.Second)
		if _, _, _, err := e.svc.SignIn(ctx, "o.kovalenko", testPassword); err != nil {
			t.Fatalf("sign-in after the lock: %v", err)
		}

		// Repeated lock-outs double, up to 24 hours (a success in between
		// would start again from 15 minutes).
		want := []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour}
		for i, d := range want {
			start := e.clock.Now()
			fail(5, "nobody") // an unknown name is locked alike
			_, _, _, err := e.svc.SignIn(ctx, "nobody", testPassword)
			re := refusal(t, err, evidence.RefusedLocked)
			if got := re.Until.Sub(start); got < d || got > d+time.Second {
				t.Errorf("lock-out %d lasts %v, want %v", i+1, got, d)
			}
			e.clock.advance(d + time.Second)
		}

		// An administrator unlocks; another user may not. (The success
		// above started the doubling again: 15 minutes.)
		start = e.clock.Now()
		fail(5, "o.kovalenko")
		_, _, _, err = e.svc.SignIn(ctx, "o.kovalenko", testPassword)
		if d := refusal(t, err, evidence.RefusedLocked).Until.Sub(start); d > 15*time.Minute+time.Second {
			t.Errorf("lock after a success lasts %v, want 15 min", d)
		}
		ivan := e.user("ivan", custody.RoleInvestigator)
		if _, err := e.svc.Unlock(ctx, ivan, "o.kovalenko"); custody.ErrorCode(err) != custody.EFORBIDDEN {
			t.Fatalf("Unlock by an investigator = %v, want EFORBIDDEN", err)
		}
		locked, err := e.svc.LockedNames(ctx, e.admin)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := locked["o.kovalenko"]; !ok || len(locked) != 1 {
			t.Errorf("LockedNames = %v", locked)
		}
		was, err := e.svc.Unlock(ctx, e.admin, "o.kovalenko")
		if err != nil || !was {
			t.Fatalf("Unlock = %v, %v", was, err)
		}
		if _, _, _, err := e.svc.SignIn(ctx, "o.kovalenko", testPassword); err != nil {
			t.Fatalf("sign-in after unlock: %v", err)
		}
		if was, err := e.svc.Unlock(ctx, e.admin, "o.kovalenko"); err != nil || was {
			t.Errorf("Unlock of an unlocked name = %v, %v", was, err)
		}
		if _, err := e.svc.Unlock(ctx, e.admin, "no-such-user"); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("Unlock of an unknown name = %v, want ENOTFOUND", err)
		}

		// The guard refuses a locked name before any password is checked.
		fail(5, "o.kovalenko")
		refusal(t, e.svc.SignInGuard(ctx, "o.kovalenko", "203.0.113.5:4000"), evidence.RefusedLocked)
		if err := e.svc.SignInGuard(ctx, "ivan", "203.0.113.5:4000"); err != nil {
			t.Errorf("guard of another name: %v", err)
		}

		// None of this is in the log.
		if r := e.verify(); !r.OK() {
			t.Errorf("verify: %+v", r.Problems)
		}
	})
}

// Failures on several nodes at once are all counted: the fifth locks.
func TestLockOutConcurrent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newService(t, dialect)
		ctx := context.Background()
		if _, _, err := e.svc.CreateUser(ctx, e.admin, "o.kovalenko", custody.RoleInvestigator, testPassword); err != nil {
			t.Fatal(err)
		}
		_, _, _, _, other := e.openHandle() // a second node
		var wg sync.WaitGroup
		for i := range evidence.MaxSignInFailures {
			svc := e.svc
			if i%2 == 1 {
				svc = other
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				svc.SignIn(ctx, "o.kovalenko", "wrong password!")
			}()
		}
		wg.Wait()
		_, _, _, err := other.SignIn(ctx, "o.kovalenko", testPassword)
		refusal(t, err, evidence.RefusedLocked)
	})
}

func TestAddressLimit(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newService(t, dialect)
		ctx := context.Background()
		if _, _, err := e.svc.CreateUser(ctx, e.admin, "o.kovalenko", custody.RoleInvestigator, testPassword); err != nil {
			t.Fatal(err)
		}
		const addr = "198.51.100.7:50000"
		for i := range evidence.AddrBurst {
			// Other ports, other names: the same client.
			if err := e.svc.SignInGuard(ctx, "name"+itoa(i), "198.51.100.7:"+itoa(40000+i)); err != nil {
				t.Fatalf("attempt %d: %v", i+1, err)
			}
		}
		re := refusal(t, e.svc.SignInGuard(ctx, "o.kovalenko", addr), evidence.RefusedTooMany)
		if wait := re.Until.Sub(e.clock.Now()); wait <= 0 || wait > 31*time.Second {
			t.Errorf("refused for %v, want about 30 s (one attempt's refill)", wait)
		}
		if msg := custody.ErrorMessage(re); !strings.Contains(msg, "this address") {
			t.Errorf("message %q", msg)
		}
		// Another address is not affected; neither is another /64.
		if err := e.svc.SignInGuard(ctx, "o.kovalenko", "198.51.100.8:1"); err != nil {
			t.Errorf("another address: %v", err)
		}
		// An IPv6 /64 is one client.
		for i := range evidence.AddrBurst {
			if err := e.svc.SignInGuard(ctx, "x", "[2001:db8:0:1::"+itoa(i+1)+"]:443"); err != nil {
				t.Fatalf("IPv6 attempt %d: %v", i+1, err)
			}
		}
		refusal(t, e.svc.SignInGuard(ctx, "x", "[2001:db8:0:1:ffff::1]:443"), evidence.RefusedTooMany)
		if err := e.svc.SignInGuard(ctx, "x", "[2001:db8:0:2::1]:443"); err != nil {
			t.Errorf("another /64: %v", err)
		}

		// The bucket refills: one attempt per 30 s.
		e.clock.advance(31 * time.Second)
		if err := e.svc.SignInGuard(ctx, "o.kovalenko", addr); err != nil {
			t.Fatalf("after 31 s: %v", err)
		}
		refusal(t, e.svc.SignInGuard(ctx, "o.kovalenko", addr), evidence.RefusedTooMany)

		// A successful sign-in gives its attempt back.
		e.clock.advance(31 * time.Second)
		if err := e.svc.SignInGuard(ctx, "o.kovalenko", addr); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := e.svc.SignInWith(ctx, "o.kovalenko", testPassword, evidence.SessionOptions{Addr: addr}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.SignInGuard(ctx, "o.kovalenko", addr); err != nil {
			t.Errorf("after a successful sign-in: %v", err)
		}

		// Ten minutes refill it all.
		e.clock.advance(evidence.AddrWindow)
		for i := range evidence.AddrBurst {
			if err := e.svc.SignInGuard(ctx, "o.kovalenko", addr); err != nil {
				t.Fatalf("after the window, attempt %d: %v", i+1, err)
			}
		}
		if err := e.svc.SweepSignIn(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// totpUser makes a user with a password and a second factor and returns
// the key.
func totpUser(t *testing.T, e *env, name string) string {
	t.Helper()
	ctx := context.Background()
	if _, _, err := e.svc.CreateUser(ctx, e.admin, name, custody.RoleInvestigator, testPassword); err != nil {
		t.Fatal(err)
	}
	enr, err := e.svc.EnrolTOTP(ctx, e.admin, name)
	if err != nil {
		t.Fatalf("EnrolTOTP: %v", err)
	}
	return enr.Secret
}

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := evidence.TOTPCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTOTPSignIn(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newService(t, dialect)
		ctx := context.Background()
		before := e.logSize()
		secret := totpUser(t, e, "o.kovalenko")
		if e.logSize() != before+2 {
			t.Fatalf("user and key: %d entries, want 2", e.logSize()-before)
		}
		// The key is in the private payload, never in the public entry.
		leaf, payload := e.rawEntry(e.logSize() - 1)
		if strings.Contains(string(leaf), secret) || !strings.Contains(string(leaf), `"type":"user.totp"`) {
			t.Errorf("public entry %s", leaf)
		}
		if !strings.Contains(string(payload), secret) {
			t.Errorf("payload %s does not hold the key", payload)
		}
		if has, err := e.svc.HasTOTP(ctx, "o.kovalenko"); err != nil || !has {
			t.Errorf("HasTOTP = %v, %v", has, err)
		}

		// The password alone no longer signs in.
		if _, _, _, err := e.svc.SignIn(ctx, "o.kovalenko", testPassword); !errors.Is(err, evidence.ErrCodeNeeded) {
			t.Fatalf("SignIn = %v, want ErrCodeNeeded", err)
		}
		st, err := e.svc.SignInStart(ctx, "o.kovalenko", testPassword, evidence.SessionOptions{})
		if err != nil || st.Challenge == "" || st.Session != nil || st.Token != "" {
			t.Fatalf("SignInStart = %+v, %v; want a challenge only", st, err)
		}
		// A wrong code, then the right one.
		now := e.clock.Now()
		wrong := "000000"
		if wrong == code(t, secret, now) {
			wrong = "111111"
		}
		if _, _, _, err := e.svc.SignInCode(ctx, st.Challenge, wrong, evidence.SessionOptions{}); !errors.Is(err, evidence.ErrCode) {
			t.Fatalf("wrong code: %v, want ErrCode", err)
		}
		c := code(t, secret, e.clock.Now())
		u, sess, token, err := e.svc.SignInCode(ctx, st.Challenge, c[:3]+" "+c[3:], evidence.SessionOptions{})
		if err != nil {
			t.Fatalf("SignInCode: %v", err)
		}
		if u.Name != "o.kovalenko" || sess == nil || token == "" {
			t.Fatalf("SignInCode = %v, %v, %q", u, sess, token)
		}
		if _, _, err := e.svc.Session(ctx, token); err != nil {
			t.Fatalf("Session: %v", err)
		}
		// The challenge is spent.
		if _, _, _, err := e.svc.SignInCode(ctx, st.Challenge, c, evidence.SessionOptions{}); !errors.Is(err, evidence.ErrChallenge) {
			t.Errorf("a spent challenge: %v, want ErrChallenge", err)
		}
		// The same code again, in a new sign-in: refused (single use).
		st, err = e.svc.SignInStart(ctx, "o.kovalenko", testPassword, evidence.SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := e.svc.SignInCode(ctx, st.Challenge, c, evidence.SessionOptions{}); !errors.Is(err, evidence.ErrCodeUsed) {
			t.Fatalf("reused code: %v, want ErrCodeUsed", err)
		}
		// The next step's code works (clock drift of one step either way);
		// two steps off does not.
		e.clock.advance(30 * time.Second)
		if _, _, _, err := e.svc.SignInCode(ctx, st.Challenge, code(t, secret, e.clock.Now().Add(60*time.Second)), evidence.SessionOptions{}); !errors.Is(err, evidence.ErrCode) {
			t.Fatalf("code two steps ahead: %v, want ErrCode", err)
		}
		// The third wrong code of a challenge ends it.
		if _, _, _, err := e.svc.SignInCode(ctx, st.Challenge, wrong, evidence.SessionOptions{}); !errors.Is(err, evidence.ErrChallenge) {
			t.Fatalf("third wrong code: %v, want ErrChallenge", err)
		}
		st, err = e.svc.SignInStart(ctx, "o.kovalenko", testPassword, evidence.SessionOptions{})
		if err != nil {
			t.Fatalf("SignInStart: %v", err)
		}
		if _, _, _, err := e.svc.SignInCode(ctx, st.Challenge, code(t, secret, e.clock.Now().Add(30*time.Second)), evidence.SessionOptions{}); err != nil {
			t.Fatalf("code of the next step: %v", err)
		}

		// A challenge lasts 5 minutes.
		st, err = e.svc.SignInStart(ctx, "o.kovalenko", testPassword, evidence.SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e.clock.advance(5*time.Minute + time.Second)
		if _, _, _, err := e.svc.SignInCode(ctx, st.Challenge, code(t, secret, e.clock.Now()), evidence.SessionOptions{}); !errors.Is(err, evidence.ErrChallenge) {
			t.Fatalf("expired challenge: %v, want ErrChallenge", err)
		}
		for _, bad := range []string{"", "x", strings.Repeat("A", 43), st.Challenge + "A"} {
			if _, _, _, err := e.svc.SignInCode(ctx, bad, "123456", evidence.SessionOptions{}); !errors.Is(err, evidence.ErrChallenge) {
				t.Errorf("challenge %q: %v, want ErrChallenge", bad, err)
			}
		}

		// Wrong codes count towards the lock-out: 3 in one challenge, 2 in
		// the next, and the right code is refused.
		for _, n := range []int{3, 2} {
			st, err = e.svc.SignInStart(ctx, "o.kovalenko", testPassword, evidence.SessionOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for range n {
				e.svc.SignInCode(ctx, st.Challenge, wrong, evidence.SessionOptions{})
			}
		}
		_, _, _, err = e.svc.SignInCode(ctx, st.Challenge, code(t, secret, e.clock.Now()), evidence.SessionOptions{})
		refusal(t, err, evidence.RefusedLocked)
		if _, err := e.svc.SignInStart(ctx, "o.kovalenko", testPassword, evidence.SessionOptions{}); err == nil {
			t.Error("SignInStart while locked succeeded")
		}
		if _, err := e.svc.Unlock(ctx, e.admin, "o.kovalenko"); err != nil {
			t.Fatal(err)
		}

		// Who may enrol or remove: an admin, the user; not another user.
		ivan := e.user("ivan", custody.RoleInvestigator)
		if _, err := e.svc.EnrolTOTP(ctx, ivan, "o.kovalenko"); custody.ErrorCode(err) != custody.EFORBIDDEN {
			t.Errorf("EnrolTOTP by another user = %v, want EFORBIDDEN", err)
		}
		if err := e.svc.DisableTOTP(ctx, ivan, "o.kovalenko"); custody.ErrorCode(err) != custody.EFORBIDDEN {
			t.Errorf("DisableTOTP by another user = %v, want EFORBIDDEN", err)
		}
		if _, err := e.svc.EnrolTOTP(ctx, ivan, "ivan"); err != nil {
			t.Errorf("EnrolTOTP of oneself: %v", err)
		}
		if err := e.svc.DisableTOTP(ctx, ivan, "ivan"); err != nil {
			t.Errorf("DisableTOTP of oneself: %v", err)
		}
		if err := e.svc.DisableTOTP(ctx, ivan, "ivan"); custody.ErrorCode(err) != custody.ECONFLICT {
			t.Errorf("DisableTOTP twice = %v, want ECONFLICT", err)
		}
		if _, err := e.svc.EnrolTOTP(ctx, e.admin, "nobody"); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("EnrolTOTP of nobody = %v, want ENOTFOUND", err)
		}

		// A new key replaces the old: the old one's codes stop working.
		enr, err := e.svc.EnrolTOTP(ctx, e.admin, "o.kovalenko")
		if err != nil {
			t.Fatal(err)
		}
		if enr.Secret == secret || !strings.HasPrefix(enr.URI, "otpauth://totp/Custody:o.kovalenko?") {
			t.Errorf("enrolment %+v", enr)
		}
		e.clock.advance(time.Minute)
		st, err = e.svc.SignInStart(ctx, "o.kovalenko", testPassword, evidence.SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := e.svc.SignInCode(ctx, st.Challenge, code(t, secret, e.clock.Now()), evidence.SessionOptions{}); !errors.Is(err, evidence.ErrCode) {
			t.Errorf("old key's code: %v, want ErrCode", err)
		}
		if _, _, _, err := e.svc.SignInCode(ctx, st.Challenge, code(t, enr.Secret, e.clock.Now()), evidence.SessionOptions{}); err != nil {
			t.Errorf("new key's code: %v", err)
		}

		// Removed, the password alone signs in again.
		if err := e.svc.DisableTOTP(ctx, e.admin, "o.kovalenko"); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := e.svc.SignIn(ctx, "o.kovalenko", testPassword); err != nil {
			t.Errorf("SignIn without a second factor: %v", err)
		}

		// The keys are log entries: verify replays them, rebuild keeps them.
		e.publish()
		if r := e.verify(); !r.OK() {
			t.Errorf("verify: %+v", r.Problems)
		}
		if err := e.db.Replay(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if has, err := e.svc.HasTOTP(ctx, "o.kovalenko"); err != nil || has {
			t.Errorf("after replay, HasTOTP(o.kovalenko) = %v, %v; want false", has, err)
		}
		if _, err := e.svc.EnrolTOTP(ctx, e.admin, "o.kovalenko"); err != nil {
			t.Fatal(err)
		}
		if err := e.db.Replay(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if has, err := e.svc.HasTOTP(ctx, "o.kovalenko"); err != nil || !has {
			t.Errorf("after replay, HasTOTP(o.kovalenko) = %v, %v; want true", has, err)
		}
	})
}

func TestSetPassword(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newService(t, dialect)
		ctx := context.Background()
		if _, _, err := e.svc.CreateUser(ctx, e.admin, "o.kovalenko", custody.RoleInvestigator, testPassword); err != nil {
			t.Fatal(err)
		}
		ivan := e.user("ivan", custody.RoleInvestigator) // no password yet
		_, _, token, err := e.svc.SignIn(ctx, "o.kovalenko", testPassword)
		if err != nil {
			t.Fatal(err)
		}
		// Bad input changes nothing.
		before := e.logSize()
		for _, tc := range []struct {
			actor      *custody.User
			name, pass string
			code       string
		}{
			{ivan, "o.kovalenko", "a new password 1", custody.EFORBIDDEN},
			{e.admin, "o.kovalenko", "short", custody.EINVALID},
			{e.admin, "o.kovalenko", "пароль1234", custody.EINVALID}, // 10 characters, 18 bytes
			{e.admin, "o.kovalenko", strings.Repeat("x", 1025), custody.EINVALID},
			{e.admin, "nobody", "a new password 1", custody.ENOTFOUND},
		} {
			if err := e.svc.SetPassword(ctx, tc.actor, tc.name, tc.pass); custody.ErrorCode(err) != tc.code {
				t.Errorf("SetPassword(%s, %q) = %v, want %s", tc.name, tc.pass, err, tc.code)
			}
		}
		if e.logSize() != before {
			t.Fatalf("refused changes appended %d entries", e.logSize()-before)
		}
		// Locked out, then reset by an administrator: unlocked, signed out.
		for range evidence.MaxSignInFailures {
			e.svc.SignIn(ctx, "o.kovalenko", "wrong password!")
		}
		if err := e.svc.SetPassword(ctx, e.admin, "o.kovalenko", "a new password 1"); err != nil {
			t.Fatalf("SetPassword: %v", err)
		}
		if _, _, err := e.svc.Session(ctx, token); custody.ErrorCode(err) != custody.EUNAUTHORIZED {
			t.Errorf("session after a password reset: %v, want EUNAUTHORIZED", err)
		}
		if _, _, _, err := e.svc.SignIn(ctx, "o.kovalenko", testPassword); !errors.Is(err, evidence.ErrSignIn) {
			t.Errorf("old password: %v, want ErrSignIn", err)
		}
		if _, _, _, err := e.svc.SignIn(ctx, "o.kovalenko", "a new password 1"); err != nil {
			t.Errorf("new password: %v", err)
		}
		// A user without a password gets one.
		if err := e.svc.SetPassword(ctx, e.admin, "ivan", "ivan's password"); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := e.svc.SignIn(ctx, "ivan", "ivan's password"); err != nil {
			t.Errorf("ivan: %v", err)
		}
		e.publish()
		if r := e.verify(); !r.OK() {
			t.Errorf("verify: %+v", r.Problems)
		}
		if err := e.db.Replay(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := e.svc.SignIn(ctx, "o.kovalenko", "a new password 1"); err != nil {
			t.Errorf("new password after replay: %v", err)
		}
	})
}

func TestSessionAdmin(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newService(t, dialect)
		ctx := context.Background()
		if _, _, err := e.svc.CreateUser(ctx, e.admin, "o.kovalenko", custody.RoleInvestigator, testPassword); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.CreateUser(ctx, e.admin, "court", custody.RoleReviewer, testPassword); err != nil {
			t.Fatal(err)
		}
		opt := evidence.SessionOptions{UserAgent: "Firefox\t128\n", Addr: "203.0.113.5:4000"}
		_, s1, t1, err := e.svc.SignInWith(ctx, "o.kovalenko", testPassword, opt)
		if err != nil {
			t.Fatal(err)
		}
		_, _, t2, err := e.svc.SignInWith(ctx, "o.kovalenko", testPassword, opt)
		if err != nil {
			t.Fatal(err)
		}
		court, _, t3, err := e.svc.SignIn(ctx, "court", testPassword)
		if err != nil {
			t.Fatal(err)
		}

		if _, err := e.svc.Sessions(ctx, court, ""); custody.ErrorCode(err) != custody.EFORBIDDEN {
			t.Errorf("Sessions by a reviewer = %v, want EFORBIDDEN", err)
		}
		all, err := e.svc.Sessions(ctx, e.admin, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 3 || all[0].User != "court" {
			t.Fatalf("Sessions = %+v, want 3, the latest first", all)
		}
		for _, s := range all {
			for _, tok := range []string{t1, t2, t3} {
				if strings.Contains(s.ID, tok) || len(s.ID) != 16 {
					t.Errorf("session ID %q", s.ID)
				}
			}
		}
		mine, err := e.svc.Sessions(ctx, e.admin, "o.kovalenko")
		if err != nil {
			t.Fatal(err)
		}
		if len(mine) != 2 || mine[0].Addr != opt.Addr || mine[0].UserAgent != opt.UserAgent || mine[0].User != "o.kovalenko" {
			t.Errorf("Sessions(o.kovalenko) = %+v", mine)
		}
		if _, err := e.svc.Sessions(ctx, e.admin, "nobody"); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("Sessions(nobody) = %v, want ENOTFOUND", err)
		}

		// Revoke one: refused at once; the others live on.
		for _, bad := range []struct{ id, code string }{
			{"", custody.EINVALID}, {"xyz", custody.EINVALID}, {"0123", custody.EINVALID},
			{strings.Repeat("g", 16), custody.EINVALID}, {"0000000000000000", custody.ENOTFOUND},
		} {
			if err := e.svc.RevokeSession(ctx, e.admin, bad.id); custody.ErrorCode(err) != bad.code {
				t.Errorf("RevokeSession(%q) = %v, want %s", bad.id, err, bad.code)
			}
		}
		if err := e.svc.RevokeSession(ctx, court, s1.PublicID()); custody.ErrorCode(err) != custody.EFORBIDDEN {
			t.Errorf("RevokeSession by a reviewer = %v, want EFORBIDDEN", err)
		}
		if err := e.svc.RevokeSession(ctx, e.admin, strings.ToUpper(s1.PublicID())); err != nil {
			t.Fatalf("RevokeSession: %v", err)
		}
		if _, _, err := e.svc.Session(ctx, t1); custody.ErrorCode(err) != custody.EUNAUTHORIZED {
			t.Errorf("revoked session: %v, want EUNAUTHORIZED", err)
		}
		if _, _, err := e.svc.Session(ctx, t2); err != nil {
			t.Errorf("other session: %v", err)
		}
		if err := e.svc.RevokeSession(ctx, e.admin, s1.PublicID()); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("second revoke = %v, want ENOTFOUND", err)
		}

		// Revoke all of a user's.
		n, err := e.svc.RevokeUserSessions(ctx, e.admin, "o.kovalenko")
		if err != nil || n != 1 {
			t.Fatalf("RevokeUserSessions = %d, %v", n, err)
		}
		if _, _, err := e.svc.Session(ctx, t2); custody.ErrorCode(err) != custody.EUNAUTHORIZED {
			t.Errorf("revoked session: %v, want EUNAUTHORIZED", err)
		}
		if _, _, err := e.svc.Session(ctx, t3); err != nil {
			t.Errorf("court's session: %v", err)
		}
		if _, err := e.svc.RevokeUserSessions(ctx, court, "court"); custody.ErrorCode(err) != custody.EFORBIDDEN {
			t.Errorf("RevokeUserSessions by a reviewer = %v", err)
		}
		// Expired sessions are not listed.
		e.clock.advance(evidence.DefaultIdleTimeout + time.Second)
		if all, err := e.svc.Sessions(ctx, e.admin, ""); err != nil || len(all) != 0 {
			t.Errorf("Sessions after the idle timeout = %+v, %v", all, err)
		}
	})
}

func TestScopedTokens(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newService(t, dialect)
		ctx := context.Background()
		inv, invToken, err := e.svc.CreateUser(ctx, e.admin, "o.kovalenko", custody.RoleInvestigator, "")
		if err != nil {
			t.Fatal(err)
		}
		other := e.user("ivan", custody.RoleInvestigator)
		e.user("court", custody.RoleReviewer)

		// Bad requests change nothing.
		before := e.logSize()
		for _, tc := range []struct {
			actor *custody.User
			req   evidence.TokenRequest
			code  string
		}{
			{inv, evidence.TokenRequest{User: "o.kovalenko"}, custody.EFORBIDDEN},
			{e.admin, evidence.TokenRequest{User: "nobody"}, custody.ENOTFOUND},
			{e.admin, evidence.TokenRequest{User: "o.kovalenko", Role: custody.RoleAdmin}, custody.EINVALID},
			{e.admin, evidence.TokenRequest{User: "o.kovalenko", Role: custody.RoleProsecutor}, custody.EINVALID},
			{e.admin, evidence.TokenRequest{User: "o.kovalenko", Role: "king"}, custody.EINVALID},
			{e.admin, evidence.TokenRequest{User: "court", Role: custody.RoleAnalyst}, custody.EINVALID}, // analysts read more than reviewers
			{e.admin, evidence.TokenRequest{User: "o.kovalenko", Expires: time.Minute}, custody.EINVALID},
			{e.admin, evidence.TokenRequest{User: "o.kovalenko", Expires: 400 * 24 * time.Hour}, custody.EINVALID},
			{e.admin, evidence.TokenRequest{User: "o.kovalenko", Label: "two\nlines"}, custody.EINVALID},
			{e.admin, evidence.TokenRequest{User: "o.kovalenko", Label: strings.Repeat("x", 201)}, custody.EINVALID},
		} {
			if _, _, err := e.svc.CreateToken(ctx, tc.actor, tc.req); custody.ErrorCode(err) != tc.code {
				t.Errorf("CreateToken(%+v) = %v, want %s", tc.req, err, tc.code)
			}
		}
		if e.logSize() != before {
			t.Fatalf("refused tokens appended %d entries", e.logSize()-before)
		}

		// A read-only token of an investigator: requests with it are an analyst's.
		ro, roToken, err := e.svc.CreateToken(ctx, e.admin, evidence.TokenRequest{User: "o.kovalenko", Role: custody.RoleAnalyst,
			Expires: 2 * time.Hour, Label: "dashboard"})
		if err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
		if ro.Role != custody.RoleAnalyst || ro.User != "o.kovalenko" || ro.UserID != inv.ID || ro.Label != "dashboard" || !strings.HasPrefix(roToken, "cst_") {
			t.Errorf("token %+v %q", ro, roToken)
		}
		u, err := e.svc.Authenticate(ctx, roToken)
		if err != nil {
			t.Fatalf("Authenticate: %v", err)
		}
		if u.ID != inv.ID || u.Role != custody.RoleAnalyst {
			t.Errorf("Authenticate = %+v, want o.kovalenko as analyst", u)
		}
		// The narrower role is what permission checks see.
		if _, err := e.svc.Intake(ctx, u, custody.IntakeRequest{Name: "a.txt", Content: strings.NewReader("x")}); custody.ErrorCode(err) != custody.EFORBIDDEN {
			t.Errorf("Intake with a read-only token = %v, want EFORBIDDEN", err)
		}
		// The leaf names the type; the token's hash is in the payload only.
		leaf, payload := e.rawEntry(ro.LogIndex)
		if !strings.Contains(string(leaf), `"type":"token.add"`) || strings.Contains(string(leaf), hashToken(roToken)) ||
			!strings.Contains(string(payload), hashToken(roToken)) || strings.Contains(string(payload), roToken) {
			t.Errorf("entry %s / payload %s", leaf, payload)
		}

		// Several tokens, the default role (the user's own) and lifetime.
		full, fullToken, err := e.svc.CreateToken(ctx, e.admin, evidence.TokenRequest{User: "o.kovalenko"})
		if err != nil {
			t.Fatal(err)
		}
		if full.Role != custody.RoleInvestigator {
			t.Errorf("default role %s", full.Role)
		}
		exp, _ := time.Parse(custody.TimeFormat, full.ExpiresAt)
		if d := exp.Sub(e.clock.Now()); d < evidence.DefaultTokenLife-time.Minute || d > evidence.DefaultTokenLife {
			t.Errorf("default lifetime %v", d)
		}
		if u, err := e.svc.Authenticate(ctx, fullToken); err != nil || u.Role != custody.RoleInvestigator {
			t.Errorf("Authenticate(full) = %+v, %v", u, err)
		}
		// The user's own token still works, with the user's role.
		if u, err := e.svc.Authenticate(ctx, invToken); err != nil || u.Role != custody.RoleInvestigator {
			t.Errorf("Authenticate(own token) = %+v, %v", u, err)
		}

		// Listing: an admin sees all, a user their own only.
		if list, err := e.svc.Tokens(ctx, e.admin, ""); err != nil || len(list) != 2 {
			t.Errorf("Tokens(admin) = %v, %v", list, err)
		}
		if list, err := e.svc.Tokens(ctx, inv, ""); err != nil || len(list) != 2 {
			t.Errorf("Tokens(own) = %v, %v", list, err)
		}
		if list, err := e.svc.Tokens(ctx, other, ""); err != nil || len(list) != 0 {
			t.Errorf("Tokens(other) = %v, %v", list, err)
		}
		if _, err := e.svc.Tokens(ctx, other, "o.kovalenko"); custody.ErrorCode(err) != custody.EFORBIDDEN {
			t.Errorf("Tokens of another user = %v, want EFORBIDDEN", err)
		}

		// Revoked: refused at once. Only an admin or the owner revokes.
		if _, err := e.svc.RevokeToken(ctx, other, full.ID); custody.ErrorCode(err) != custody.EFORBIDDEN {
			t.Errorf("RevokeToken by another user = %v, want EFORBIDDEN", err)
		}
		if _, err := e.svc.RevokeToken(ctx, e.admin, "no-such-token"); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("RevokeToken(unknown) = %v, want ENOTFOUND", err)
		}
		rev, err := e.svc.RevokeToken(ctx, inv, full.ID)
		if err != nil || rev.RevokedAt == "" || rev.RevokedBy != inv.ID {
			t.Fatalf("RevokeToken = %+v, %v", rev, err)
		}
		if _, err := e.svc.Authenticate(ctx, fullToken); custody.ErrorCode(err) != custody.EUNAUTHORIZED {
			t.Errorf("revoked token: %v, want EUNAUTHORIZED", err)
		}
		if _, err := e.svc.RevokeToken(ctx, e.admin, full.ID); custody.ErrorCode(err) != custody.ECONFLICT {
			t.Errorf("second revoke = %v, want ECONFLICT", err)
		}

		// Expired: refused.
		e.clock.advance(2*time.Hour + time.Second)
		_, err = e.svc.Authenticate(ctx, roToken)
		if custody.ErrorCode(err) != custody.EUNAUTHORIZED || !strings.Contains(custody.ErrorMessage(err), "expired") {
			t.Errorf("expired token: %v, want EUNAUTHORIZED (expired)", err)
		}
		if _, err := e.svc.Authenticate(ctx, "cst_"+strings.Repeat("A", 43)); custody.ErrorCode(err) != custody.EUNAUTHORIZED {
			t.Errorf("unknown token: %v", err)
		}

		// Verify replays token.add and token.revoke; rebuild keeps them;
		// a forged or edited token row is found.
		e.publish()
		if r := e.verify(); !r.OK() {
			t.Fatalf("verify: %+v", r.Problems)
		}
		into := freshDB(t, dialect)
		if _, err := e.svc.RebuildInto(ctx, into, nil); err != nil {
			t.Fatal(err)
		}
		if diff := dump(t, into)["api_tokens"]; len(diff) != 2 {
			t.Errorf("rebuilt api_tokens: %v", diff)
		}
		if d1, d2 := dump(t, e.db), dump(t, into); len(d1["api_tokens"]) != 2 || d1["api_tokens"][ro.ID] != d2["api_tokens"][ro.ID] {
			t.Errorf("rebuilt token row differs:\n%s\n%s", d1["api_tokens"][ro.ID], d2["api_tokens"][ro.ID])
		}
		e.exec("UPDATE api_tokens SET role = ?, expires_at = ? WHERE id = ?", "investigator", "2099-01-01T00:00:00.000000000Z", ro.ID)
		e.exec("UPDATE api_tokens SET revoked_at = NULL WHERE id = ?", full.ID)
		r := e.verify()
		found := map[string]bool{}
		for _, p := range r.Problems {
			found[p.Object] = p.Kind == "index"
		}
		for _, id := range []string{ro.ID, full.ID} {
			if !found["api_tokens \""+id+"\""] {
				t.Errorf("verify did not find the edited token %s: %+v", id, r.Problems)
			}
		}
		if err := e.db.Replay(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if r := e.verify(); !r.OK() {
			t.Errorf("verify after replay: %+v", r.Problems)
		}
	})
}

// A scoped token never widens its user's permissions: every role a user
// may scope a token to has no permission the user's role lacks.
func TestTokenRolesNeverWiden(t *testing.T) {
	for _, r := range custody.Roles {
		for _, to := range custody.Roles {
			if !r.MayScopeTo(to) {
				continue
			}
			for _, p := range custody.Permissions {
				if to.Can(p) && !r.Can(p) {
					t.Errorf("a %s may hold a %s token, which has permission %s", r, to, p)
				}
			}
			for _, k := range custody.RecordKinds {
				if to.CanWriteKind(k) && !r.CanWriteKind(k) {
					t.Errorf("a %s may hold a %s token, which writes %s records", r, to, k)
				}
			}
		}
	}
}
