package evidence

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/sqlstore"
)

// Sign-in limits, kept in the store (not in memory) so that they hold
// across every node serving a store (docs/roles.md):
//
//   - Per name tried: after MaxSignInFailures consecutive failures (wrong
//     password, or wrong TOTP code) the name is locked for SignInLockout,
//     doubled at each further lock-out up to MaxSignInLockout. While it is
//     locked every attempt is refused before the password is checked, the
//     right password included. A successful sign-in forgets the name's
//     failures and lock-outs (the doubling starts again); so does an
//     administrator (Unlock), and so do signInMemory without failures.
//     Names that are no user's are counted and locked alike, so a lock-out
//     says nothing of who exists.
//   - Per client address (IPv6: per /64): a token bucket of AddrBurst
//     attempts refilled over AddrWindow. Every attempt takes a token
//     (SignInGuard, before any password is checked); a successful sign-in
//     gives it back, so only failures wear the bucket down.
//
// Failures, lock-outs and refusals are logged (name and address, never a
// password or code).

// The sign-in policy.
const (
	MaxSignInFailures = 5
	SignInLockout     = 15 * time.Minute
	MaxSignInLockout  = 24 * time.Hour
	AddrBurst         = 20
	AddrWindow        = 10 * time.Minute
	// signInMemory is how long a name's failures and lock-outs are kept
	// after its last failure and the end of its last lock.
	signInMemory = 24 * time.Hour
	// challengeTTL bounds the time between the password and the code.
	challengeTTL = 5 * time.Minute
	// maxCodeAttempts wrong codes end a challenge: the password is asked
	// again. Each also counts as a failure of the name.
	maxCodeAttempts = 3
)

// Reasons a sign-in is refused before any check (RefusedError.Reason).
const (
	RefusedLocked  = "locked"   // the name is locked out
	RefusedTooMany = "too_many" // the client address has no attempts left
)

// RefusedError is the error of a sign-in refused before the password or
// code was checked. Its code is EFORBIDDEN; Until says when to try again.
type RefusedError struct {
	Reason string
	Until  time.Time
}

func (e *RefusedError) Error() string {
	when := e.Until.UTC().Format("2006-01-02 15:04 UTC")
	if e.Reason == RefusedLocked {
		return "too many failed sign-ins: this account is locked until " + when + " (an administrator can unlock it)"
	}
	return "too many sign-in attempts from this address: try again after " + when
}

// Unwrap gives the error its code (EFORBIDDEN) and message.
func (e *RefusedError) Unwrap() error {
	return &custody.Error{Code: custody.EFORBIDDEN, Message: e.Error()}
}

// RetryAfter is how long from now the refusal lasts, in whole seconds, at
// least 1.
func (e *RefusedError) RetryAfter(now time.Time) int {
	return max(1, int(e.Until.Sub(now).Seconds()+0.999))
}

// SignInGuard is asked before every sign-in attempt, with the name tried
// and the client's address (host:port or host): it takes one attempt from
// the address's bucket and refuses if there was none left or the name is
// locked. It has the signature of web.Config.SignInGuard.
// Errors: *RefusedError (EFORBIDDEN).
func (s *Service) SignInGuard(ctx context.Context, name, addr string) error {
	now := s.cfg.Now().UTC()
	if key := ClientKey(addr); key != "" {
		var until time.Time
		err := s.cfg.DB.UpdateSignInAddr(ctx, key, func(tokens *float64, updated *string) error {
			t := refill(*tokens, *updated, now)
			if t < 1 {
				until = now.Add(time.Duration((1 - t) / addrRate() * float64(time.Second)))
				return errBucketEmpty
			}
			*tokens, *updated = t-1, custody.FormatTime(now)
			return nil
		})
		if err == errBucketEmpty {
			s.cfg.Logger.Warn("sign-in refused: too many attempts from the address", "name", truncate(name, 64), "addr", key,
				"until", custody.FormatTime(until))
			return &RefusedError{Reason: RefusedTooMany, Until: until}
		} else if err != nil {
			return err
		}
	}
	return s.checkLock(ctx, name, addr, now)
}

var errBucketEmpty = custody.Errorf(custody.EFORBIDDEN, "no attempts left")

// addrRate is the bucket's refill rate, in attempts per second.
func addrRate() float64 { return AddrBurst / AddrWindow.Seconds() }

// refill returns the tokens of a bucket last counted at updated (a
// TimeFormat string; "" for a new bucket, which is full) at now.
func refill(tokens float64, updated string, now time.Time) float64 {
	t, err := time.Parse(custody.TimeFormat, updated)
	if err != nil {
		return AddrBurst
	}
	if el := now.Sub(t).Seconds(); el > 0 {
		tokens += el * addrRate()
	}
	return min(tokens, AddrBurst)
}

// giveBack returns the attempt a successful sign-in took from its
// address's bucket.
func (s *Service) giveBack(ctx context.Context, addr string) {
	key := ClientKey(addr)
	if key == "" {
		return
	}
	now := s.cfg.Now().UTC()
	err := s.cfg.DB.UpdateSignInAddr(ctx, key, func(tokens *float64, updated *string) error {
		*tokens, *updated = min(refill(*tokens, *updated, now)+1, AddrBurst), custody.FormatTime(now)
		return nil
	})
	if err != nil {
		s.cfg.Logger.Warn("sign-in bucket", "err", err)
	}
}

// ClientKey is what sign-in attempts are counted by for a client address
// ("203.0.113.5:51234", "[2001:db8::1]:443" or a bare host): the IPv4
// address, or the /64 of an IPv6 address (one subscriber's usual share).
// An address that does not parse counts as itself; an empty one as none.
func ClientKey(addr string) string {
	if addr == "" {
		return ""
	}
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return truncate(host, 64)
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	p, err := ip.Prefix(64)
	if err != nil {
		return ip.String()
	}
	return p.String()
}

// lockDuration is the length of a name's n-th lock-out (from 0).
func lockDuration(n int) time.Duration {
	d := SignInLockout
	for i := 0; i < n && d < MaxSignInLockout; i++ {
		d *= 2
	}
	return min(d, MaxSignInLockout)
}

// checkLock refuses a name that is locked at now.
func (s *Service) checkLock(ctx context.Context, name, addr string, now time.Time) error {
	if name == "" || len(name) > 64 {
		return nil
	}
	a, err := s.cfg.DB.SignInAccount(ctx, name)
	if err != nil {
		return err
	}
	if until, ok := lockedUntil(a, now); ok {
		s.cfg.Logger.Warn("sign-in refused: locked out", "name", name, "addr", ClientKey(addr), "until", custody.FormatTime(until))
		return &RefusedError{Reason: RefusedLocked, Until: until}
	}
	return nil
}

func lockedUntil(a sqlstore.SignInAccount, now time.Time) (time.Time, bool) {
	if a.LockedUntil == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(custody.TimeFormat, a.LockedUntil)
	if err != nil || !now.Before(t) {
		return time.Time{}, false
	}
	return t, true
}

// recordFailure counts a failed sign-in of name and locks the name at the
// MaxSignInFailures-th.
func (s *Service) recordFailure(ctx context.Context, name, addr, what string) {
	if name == "" || len(name) > 64 {
		s.cfg.Logger.Warn("sign-in failed", "name", truncate(name, 64), "addr", ClientKey(addr), "reason", what)
		return
	}
	now := s.cfg.Now().UTC()
	var locked time.Time
	a, err := s.cfg.DB.UpdateSignInAccount(ctx, name, func(a *sqlstore.SignInAccount) error {
		a.LastFailure = custody.FormatTime(now)
		if _, ok := lockedUntil(*a, now); ok {
			// Checked before the lock began (attempts racing on several
			// nodes): it neither counts nor locks again.
			return nil
		}
		a.Failures++
		if a.Failures >= MaxSignInFailures {
			locked = now.Add(lockDuration(a.Lockouts))
			a.Lockouts++
			a.Failures = 0
			a.LockedUntil = custody.FormatTime(locked)
		}
		return nil
	})
	if err != nil {
		s.cfg.Logger.Error("record a failed sign-in", "name", name, "err", err)
		return
	}
	s.cfg.Logger.Warn("sign-in failed", "name", name, "addr", ClientKey(addr), "reason", what, "failures", a.Failures)
	if !locked.IsZero() {
		s.cfg.Logger.Warn("sign-in locked out", "name", name, "addr", ClientKey(addr), "until", custody.FormatTime(locked),
			"lockouts", a.Lockouts)
	}
}

// Unlock lifts the lock-out of a name and forgets its failures. It reports
// whether the name was locked. The actor must be an administrator.
// Errors: EFORBIDDEN, ENOTFOUND (no such user, and nothing to unlock).
func (s *Service) Unlock(ctx context.Context, actor *custody.User, name string) (bool, error) {
	if actor.Role != custody.RoleAdmin {
		return false, custody.Errorf(custody.EFORBIDDEN, "only an admin may unlock sign-ins")
	}
	a, err := s.cfg.DB.SignInAccount(ctx, name)
	if err != nil {
		return false, err
	}
	_, wasLocked := lockedUntil(a, s.cfg.Now())
	had, err := s.cfg.DB.DeleteSignInAccount(ctx, name)
	if err != nil {
		return false, err
	}
	if !had {
		if _, err := s.cfg.DB.UserByName(ctx, name); err != nil {
			return false, err
		}
	}
	s.cfg.Logger.Info("sign-in unlocked", "name", name, "by", actor.Name, "was_locked", wasLocked)
	return wasLocked, nil
}

// LockedNames lists the names locked now, with when each lock ends.
// The actor must be an administrator. Errors: EFORBIDDEN.
func (s *Service) LockedNames(ctx context.Context, actor *custody.User) (map[string]time.Time, error) {
	if actor.Role != custody.RoleAdmin {
		return nil, custody.Errorf(custody.EFORBIDDEN, "only an admin may list locked names")
	}
	now := s.cfg.Now().UTC()
	as, err := s.cfg.DB.LockedAccounts(ctx, custody.FormatTime(now))
	if err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(as))
	for _, a := range as {
		if t, ok := lockedUntil(a, now); ok {
			out[a.Name] = t
		}
	}
	return out, nil
}

// SweepSignIn forgets the sign-in state nobody needs any more: old
// failures, full buckets, expired challenges and sessions. custody serve
// calls it now and then; successful sign-ins do too.
func (s *Service) SweepSignIn(ctx context.Context) error {
	now := s.cfg.Now().UTC()
	if err := s.cfg.DB.DeleteStaleSignIn(ctx, custody.FormatTime(now.Add(-signInMemory)),
		custody.FormatTime(now.Add(-AddrWindow)), custody.FormatTime(now)); err != nil {
		return err
	}
	if _, err := s.cfg.DB.DeleteExpiredSessions(ctx, custody.FormatTime(now)); err != nil {
		return fmt.Errorf("sweep sessions: %w", err)
	}
	return nil
}
