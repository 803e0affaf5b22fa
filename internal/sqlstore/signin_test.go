package sqlstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
)

// The projection of the sign-in entries: bad entries are refused whole.
func TestTokenEntries(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db := open(t, sqltest.DSN(t, dialect), newClock(time.Millisecond).Now)
		ua := userAdd(t, "o.kovalenko")
		if _, err := db.Append(ctx, ua); err != nil {
			t.Fatal(err)
		}
		uid := ua.Entry.Subject
		hash := strings.Repeat("cd", 32)
		tok := func(id, user string, role custody.Role, h, exp string) sqlstore.Pending {
			return pending(t, custody.EntryTokenAdd, id, custody.TokenAdded{Nonce: "bm9uY2U", ID: id, User: user, Role: role,
				TokenHash: h, Label: "cron", ExpiresAt: exp})
		}
		later := "2026-04-01T09:00:00.000000000Z"
		for _, tc := range []struct {
			name string
			p    sqlstore.Pending
			code string
		}{
			{"unknown user", tok("t-1", "nobody", custody.RoleAnalyst, hash, later), custody.ENOTFOUND},
			{"wider role", tok("t-2", uid, custody.RoleAdmin, hash, later), custody.EFORBIDDEN},
			{"unknown role", tok("t-3", uid, "king", hash, later), custody.EINVALID},
			{"no hash", tok("t-4", uid, custody.RoleAnalyst, "", later), custody.EINVALID},
			{"expired at issue", tok("t-5", uid, custody.RoleAnalyst, hash, "2020-01-01T00:00:00.000000000Z"), custody.EINVALID},
			{"bad expiry", tok("t-6", uid, custody.RoleAnalyst, hash, "next week"), custody.EINVALID},
			{"subject differs", pending(t, custody.EntryTokenAdd, "t-7", custody.TokenAdded{Nonce: "bm9uY2U", ID: "t-8", User: uid,
				Role: custody.RoleAnalyst, TokenHash: hash, ExpiresAt: later}), custody.EINVALID},
			{"revoke unknown", pending(t, custody.EntryTokenRevoke, "t-9", custody.TokenRevoked{Nonce: "bm9uY2U", ID: "t-9"}), custody.ENOTFOUND},
			{"totp of nobody", pending(t, custody.EntryUserTOTP, "nobody", custody.UserTOTP{Nonce: "bm9uY2U", ID: "nobody", Secret: "ABCD"}), custody.ENOTFOUND},
			{"password of nobody", pending(t, custody.EntryUserPassword, "nobody", custody.UserPassword{Nonce: "bm9uY2U", ID: "nobody", PasswordHash: "x"}), custody.ENOTFOUND},
		} {
			if _, err := db.Append(ctx, tc.p); custody.ErrorCode(err) != tc.code {
				t.Errorf("%s: Append = %v, want %s", tc.name, err, tc.code)
			}
		}
		checkLog(t, db, 1) // nothing refused was sequenced

		if _, err := db.Append(ctx, tok("t-10", uid, custody.RoleReviewer, hash, later)); err != nil {
			t.Fatalf("token.add: %v", err)
		}
		// The same hash again (a broken random source): refused.
		if _, err := db.Append(ctx, tok("t-11", uid, custody.RoleReviewer, hash, later)); err == nil {
			t.Error("a second token with the same hash was accepted")
		}
		got, err := db.TokenByHash(ctx, hash)
		if err != nil || got.ID != "t-10" || got.User != "o.kovalenko" || got.Role != custody.RoleReviewer || got.Label != "cron" ||
			got.ExpiresAt != later || got.RevokedAt != "" || got.CreatedBy != "user-1" {
			t.Fatalf("TokenByHash = %+v, %v", got, err)
		}
		rev := pending(t, custody.EntryTokenRevoke, "t-10", custody.TokenRevoked{Nonce: "bm9uY2U", ID: "t-10"})
		if _, err := db.Append(ctx, rev); err != nil {
			t.Fatal(err)
		}
		rev2 := pending(t, custody.EntryTokenRevoke, "t-10", custody.TokenRevoked{Nonce: "bm9uY2U", ID: "t-10"})
		if _, err := db.Append(ctx, rev2); custody.ErrorCode(err) != custody.ECONFLICT {
			t.Errorf("second revoke = %v, want ECONFLICT", err)
		}
		if _, err := db.Append(ctx, pending(t, custody.EntryUserTOTP, uid, custody.UserTOTP{Nonce: "bm9uY2U", ID: uid, Secret: "GEZDGNBVGY3TQOJQ"})); err != nil {
			t.Fatal(err)
		}
		if s, err := db.UserTOTP(ctx, uid); err != nil || s != "GEZDGNBVGY3TQOJQ" {
			t.Errorf("UserTOTP = %q, %v", s, err)
		}
		if _, err := db.Append(ctx, pending(t, custody.EntryUserPassword, uid, custody.UserPassword{Nonce: "bm9uY2U", ID: uid, PasswordHash: "$argon2id$new"})); err != nil {
			t.Fatal(err)
		}
		// Replay gives the same rows.
		before, err := db.DumpIndex(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Replay(ctx, nil); err != nil {
			t.Fatal(err)
		}
		after, err := db.DumpIndex(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"api_tokens", "users"} {
			if len(before[table]) == 0 {
				t.Errorf("no %s rows", table)
			}
			for k, v := range before[table] {
				if after[table][k] != v {
					t.Errorf("%s %s after replay:\n%s\nwas\n%s", table, k, after[table][k], v)
				}
			}
		}
		if !strings.Contains(after["api_tokens"][`"t-10"`], `revoked_at="2026`) || !strings.Contains(after["users"][`"`+uid+`"`], `totp_secret="GEZDGNBVGY3TQOJQ"`) {
			t.Errorf("rows: %v / %v", after["api_tokens"], after["users"])
		}
		if _, hash, _ := db.UserPassword(ctx, "o.kovalenko"); hash != "$argon2id$new" {
			t.Errorf("password hash after replay %q", hash)
		}
		list, err := db.Tokens(ctx, uid)
		if err != nil || len(list) != 1 {
			t.Errorf("Tokens = %v, %v", list, err)
		}
		if list, err := db.Tokens(ctx, "nobody"); err != nil || len(list) != 0 {
			t.Errorf("Tokens(nobody) = %v, %v", list, err)
		}
	})
}

func TestSignInState(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		dsn := sqltest.DSN(t, dialect)
		db := open(t, dsn, newClock(time.Millisecond).Now)
		other := open(t, dsn, newClock(time.Millisecond).Now) // a second node

		a, err := db.SignInAccount(ctx, "o.kovalenko")
		if err != nil || a != (sqlstore.SignInAccount{Name: "o.kovalenko"}) {
			t.Fatalf("SignInAccount of a new name = %+v, %v", a, err)
		}
		// Concurrent increments from two handles all count.
		var wg sync.WaitGroup
		for i := range 20 {
			h := db
			if i%2 == 1 {
				h = other
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := h.UpdateSignInAccount(ctx, "o.kovalenko", func(a *sqlstore.SignInAccount) error {
					a.Failures++
					a.LastFailure = "2026-03-01T09:00:00.000000000Z"
					return nil
				}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if a, _ := db.SignInAccount(ctx, "o.kovalenko"); a.Failures != 20 {
			t.Errorf("20 concurrent failures counted as %d", a.Failures)
		}
		// An error from fn changes nothing.
		boom := errors.New("boom")
		if _, err := db.UpdateSignInAccount(ctx, "o.kovalenko", func(a *sqlstore.SignInAccount) error {
			a.Failures = 99
			return boom
		}); !errors.Is(err, boom) {
			t.Errorf("UpdateSignInAccount = %v", err)
		}
		a, err = db.UpdateSignInAccount(ctx, "o.kovalenko", func(a *sqlstore.SignInAccount) error {
			a.Failures, a.Lockouts, a.LockedUntil = 0, 1, "2026-03-01T09:15:00.000000000Z"
			return nil
		})
		if err != nil || a.Lockouts != 1 || a.Failures != 0 {
			t.Fatalf("lock: %+v, %v", a, err)
		}
		if l, err := db.LockedAccounts(ctx, "2026-03-01T09:10:00.000000000Z"); err != nil || len(l) != 1 || l[0].Name != "o.kovalenko" {
			t.Errorf("LockedAccounts = %+v, %v", l, err)
		}
		if l, _ := db.LockedAccounts(ctx, "2026-03-01T09:20:00.000000000Z"); len(l) != 0 {
			t.Errorf("LockedAccounts after the lock = %+v", l)
		}
		// Sweeping keeps what is recent.
		if err := db.DeleteStaleSignIn(ctx, "2026-03-01T08:00:00.000000000Z", "2026-03-01T08:00:00.000000000Z", "2026-03-01T09:00:00.000000000Z"); err != nil {
			t.Fatal(err)
		}
		if a, _ := db.SignInAccount(ctx, "o.kovalenko"); a.Lockouts != 1 {
			t.Errorf("a recent record was swept: %+v", a)
		}
		if err := db.DeleteStaleSignIn(ctx, "2026-03-02T10:00:00.000000000Z", "2026-03-02T10:00:00.000000000Z", "2026-03-02T10:00:00.000000000Z"); err != nil {
			t.Fatal(err)
		}
		if a, _ := db.SignInAccount(ctx, "o.kovalenko"); a.Lockouts != 0 {
			t.Errorf("an old record was kept: %+v", a)
		}
		if had, err := db.DeleteSignInAccount(ctx, "o.kovalenko"); err != nil || had {
			t.Errorf("DeleteSignInAccount of a swept name = %v, %v", had, err)
		}

		// Buckets.
		for range 3 {
			if err := other.UpdateSignInAddr(ctx, "203.0.113.5", func(tokens *float64, updated *string) error {
				if *updated == "" {
					*tokens = 20
				}
				*tokens--
				*updated = "2026-03-01T09:00:00.000000000Z"
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		db.UpdateSignInAddr(ctx, "203.0.113.5", func(tokens *float64, updated *string) error {
			if *tokens != 17 {
				t.Errorf("bucket holds %v, want 17", *tokens)
			}
			return nil
		})

		// Challenges.
		p := sqlstore.PendingSignIn{IDHash: "c1", UserID: "u1", ExpiresAt: "2026-03-01T09:05:00.000000000Z"}
		if err := db.CreatePendingSignIn(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := db.CreatePendingSignIn(ctx, p); custody.ErrorCode(err) != custody.ECONFLICT {
			t.Errorf("second CreatePendingSignIn = %v", err)
		}
		for want := 1; want <= 2; want++ {
			if n, err := other.CountPendingAttempt(ctx, "c1"); err != nil || n != want {
				t.Errorf("CountPendingAttempt = %d, %v; want %d", n, err, want)
			}
		}
		if got, err := db.PendingSignInByHash(ctx, "c1"); err != nil || got.Attempts != 2 || got.UserID != "u1" {
			t.Errorf("PendingSignInByHash = %+v, %v", got, err)
		}
		if _, err := db.CountPendingAttempt(ctx, "nope"); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("CountPendingAttempt(nope) = %v", err)
		}
		if ok, err := db.DeletePendingSignIn(ctx, "c1"); err != nil || !ok {
			t.Errorf("DeletePendingSignIn = %v, %v", ok, err)
		}
		if ok, _ := other.DeletePendingSignIn(ctx, "c1"); ok {
			t.Error("a challenge was spent twice")
		}
		if _, err := db.PendingSignInByHash(ctx, "c1"); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("PendingSignInByHash after delete = %v", err)
		}

		// TOTP steps: each once, never an earlier one.
		for _, tc := range []struct {
			step int64
			ok   bool
		}{{100, true}, {100, false}, {99, false}, {101, true}, {101, false}} {
			if ok, err := db.UseTOTPStep(ctx, "u1", tc.step); err != nil || ok != tc.ok {
				t.Errorf("UseTOTPStep(%d) = %v, %v; want %v", tc.step, ok, err, tc.ok)
			}
		}
		if err := db.ResetTOTPSteps(ctx, "u1"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := db.UseTOTPStep(ctx, "u1", 50); !ok {
			t.Error("after a reset, an earlier step is refused")
		}

		// None of it is index: replay leaves it alone.
		if err := db.Replay(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if ok, _ := db.UseTOTPStep(ctx, "u1", 50); ok {
			t.Error("replay forgot the spent steps")
		}
	})
}

func TestSessionListing(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db := open(t, sqltest.DSN(t, dialect), newClock(time.Millisecond).Now)
		ua := userAdd(t, "o.kovalenko")
		if _, err := db.Append(ctx, ua); err != nil {
			t.Fatal(err)
		}
		mk := func(h, user, last, idle string) {
			if err := db.CreateSession(ctx, sqlstore.SessionRow{IDHash: h, UserID: user, CSRF: "c", CreatedAt: "2026-03-01T09:00:00.000000000Z",
				LastSeen: last, IdleUntil: idle, ExpiresAt: "2026-03-01T21:00:00.000000000Z"}); err != nil {
				t.Fatal(err)
			}
		}
		mk("aaaa1111", ua.Entry.Subject, "2026-03-01T09:10:00.000000000Z", "2026-03-01T09:40:00.000000000Z")
		mk("aaaa2222", ua.Entry.Subject, "2026-03-01T09:20:00.000000000Z", "2026-03-01T09:50:00.000000000Z")
		mk("bbbb1111", "gone-user", "2026-03-01T09:00:00.000000000Z", "2026-03-01T09:30:00.000000000Z")
		all, err := db.ListSessions(ctx, "", "2026-03-01T09:35:00.000000000Z")
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[0].IDHash != "aaaa2222" || all[0].UserName != "o.kovalenko" {
			t.Errorf("ListSessions = %+v", all)
		}
		if l, _ := db.ListSessions(ctx, "gone-user", "2026-03-01T09:00:00.000000000Z"); len(l) != 1 || l[0].UserName != "" {
			t.Errorf("ListSessions(gone-user) = %+v", l)
		}
		for prefix, want := range map[string]int{"aaaa": 2, "aaaa1": 1, "bbbb": 1, "cccc": 0, "aaaa1111": 1} {
			if hs, err := db.SessionsByPrefix(ctx, prefix); err != nil || len(hs) != want {
				t.Errorf("SessionsByPrefix(%q) = %v, %v; want %d", prefix, hs, err, want)
			}
		}
		if n, err := db.DeleteUserSessionsCount(ctx, ua.Entry.Subject); err != nil || n != 2 {
			t.Errorf("DeleteUserSessionsCount = %d, %v", n, err)
		}
	})
}
