package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
)

func TestSessions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db := open(t, sqltest.DSN(t, dialect), newClock(time.Millisecond).Now)
		u := custody.UserAdded{Nonce: "bm9uY2U", ID: id("user"), Name: "o.kovalenko", Role: custody.RoleInvestigator,
			PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$a2V5"}
		if _, err := db.Append(ctx, pending(t, custody.EntryUserAdd, u.ID, u)); err != nil {
			t.Fatal(err)
		}
		got, hash, err := db.UserPassword(ctx, "o.kovalenko")
		if err != nil || got.ID != u.ID || got.Role != custody.RoleInvestigator || hash != u.PasswordHash {
			t.Fatalf("UserPassword = %+v, %q, %v", got, hash, err)
		}
		if _, _, err := db.UserPassword(ctx, "nobody"); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("UserPassword(nobody) = %v", err)
		}
		t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		ts := func(d time.Duration) string { return custody.FormatTime(t0.Add(d)) }
		row := sqlstore.SessionRow{IDHash: "h1", UserID: u.ID, CSRF: "c1", CreatedAt: ts(0), LastSeen: ts(0),
			IdleUntil: ts(30 * time.Minute), ExpiresAt: ts(12 * time.Hour), UserAgent: "test", Addr: "127.0.0.1:1"}
		if err := db.CreateSession(ctx, row); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateSession(ctx, row); custody.ErrorCode(err) != custody.ECONFLICT {
			t.Errorf("second CreateSession = %v, want ECONFLICT", err)
		}
		s, err := db.SessionByHash(ctx, "h1")
		if err != nil || *s != row {
			t.Fatalf("SessionByHash = %+v, %v", s, err)
		}
		if err := db.TouchSession(ctx, "h1", ts(10*time.Minute), ts(40*time.Minute)); err != nil {
			t.Fatal(err)
		}
		s, _ = db.SessionByHash(ctx, "h1")
		if s.LastSeen != ts(10*time.Minute) || s.IdleUntil != ts(40*time.Minute) {
			t.Errorf("after Touch: %+v", s)
		}
		row2 := row
		row2.IDHash, row2.IdleUntil = "h2", ts(5*time.Minute)
		if err := db.CreateSession(ctx, row2); err != nil {
			t.Fatal(err)
		}
		// Sessions are not index rows: a replay leaves them alone.
		if err := db.Replay(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if n, err := db.DeleteExpiredSessions(ctx, ts(20*time.Minute)); err != nil || n != 1 {
			t.Errorf("DeleteExpiredSessions = %d, %v; want 1", n, err)
		}
		if _, err := db.SessionByHash(ctx, "h2"); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("expired session still there: %v", err)
		}
		if err := db.DeleteSession(ctx, "h1"); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteSession(ctx, "h1"); err != nil {
			t.Errorf("second DeleteSession: %v", err)
		}
		if err := db.TouchSession(ctx, "h1", ts(0), ts(0)); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("TouchSession of a deleted session = %v", err)
		}
		for _, h := range []string{"a", "b"} {
			r := row
			r.IDHash = h
			db.CreateSession(ctx, r)
		}
		if err := db.DeleteUserSessions(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SessionByHash(ctx, "a"); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Error("DeleteUserSessions left a session")
		}
	})
}
