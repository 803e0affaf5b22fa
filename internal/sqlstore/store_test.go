package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
	"github.com/custody-dev/custody/verify"
	"github.com/google/go-cmp/cmp"
)

// forEachDialect runs f as a subtest on every dialect of the suite.
func forEachDialect(t *testing.T, f func(t *testing.T, dialect string)) {
	for _, d := range sqltest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			f(t, d)
		})
	}
}

// clock is a fake clock advancing by step (which may be negative) per
// reading.
type clock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

func newClock(step time.Duration) *clock {
	return &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), step: step}
}

func open(t testing.TB, dsn string, now func() time.Time) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{Now: now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rawDB opens the database behind dsn directly.
func rawDB(t testing.TB, dialect, dsn string) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if dialect == sqlstore.SQLite {
		db, err = sql.Open("sqlite", "file:"+strings.TrimPrefix(dsn, "sqlite:")+"?_pragma=busy_timeout(10000)")
	} else {
		db, err = sql.Open("pgx", dsn)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var seq atomic.Int64

func id(prefix string) string { return fmt.Sprintf("%s-%08d", prefix, seq.Add(1)) }

func pending(t testing.TB, typ, subject string, payload any) sqlstore.Pending {
	t.Helper()
	raw, err := verify.Canonical(payload)
	if err != nil {
		t.Fatal(err)
	}
	return sqlstore.Pending{Entry: custody.Entry{ID: id("entry"), Type: typ, Store: "store-1", Actor: "user-1", Subject: subject},
		Payload: raw}
}

func itemAdd(t testing.TB) sqlstore.Pending {
	it := custody.Item{ID: id("item"), Kind: custody.KindPhysical, Description: "shell casing", Seal: "S-1",
		IngestedBy: "user-1", IngestedAt: "2026-03-01T09:00:00.000000000Z", Store: "store-1"}
	return pending(t, custody.EntryItemAdd, it.ID, custody.ItemAdded{Nonce: "bm9uY2U", Item: it})
}

func userAdd(t testing.TB, name string) sqlstore.Pending {
	u := custody.UserAdded{Nonce: "bm9uY2U", ID: id("user"), Name: name, Role: custody.RoleInvestigator, TokenHash: strings.Repeat("ab", 32)}
	return pending(t, custody.EntryUserAdd, u.ID, u)
}

func access(t testing.TB, item string) sqlstore.Pending {
	return pending(t, custody.EntryAccess, item, custody.Access{Nonce: "bm9uY2U", Item: item, Action: "read", Reason: "review"})
}

func handover(t testing.TB, item, from, to string) sqlstore.Pending {
	return pending(t, custody.EntryHandover, item, custody.Handover{Nonce: "bm9uY2U", Item: item, From: from, To: to, Reason: "r"})
}

// checkLog checks that the log holds exactly size gap-free entries whose
// times never decrease, and returns them.
func checkLog(t *testing.T, db *sqlstore.DB, size uint64) []custody.LogRecord {
	t.Helper()
	ctx := context.Background()
	if n, err := db.LogSize(ctx); err != nil || n != size {
		t.Fatalf("LogSize = %d, %v; want %d", n, err, size)
	}
	recs, err := db.Records(ctx, 0, size+10)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(recs)) != size {
		t.Fatalf("%d records, want %d", len(recs), size)
	}
	last := ""
	ids := map[string]bool{}
	for i, r := range recs {
		if r.Index != uint64(i) {
			t.Fatalf("record %d has index %d: the log has a gap", i, r.Index)
		}
		e, err := sqlstore.DecodeLeaf(r.Leaf)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if e.Time < last {
			t.Errorf("entry %d time %s before %s", i, e.Time, last)
		}
		last = e.Time
		if ids[e.ID] {
			t.Errorf("entry ID %s logged twice", e.ID)
		}
		ids[e.ID] = true
		if err := verify.CheckPayload(verify.Entry{ID: e.ID, Payload: string(e.Payload)}, r.Payload); err != nil {
			t.Errorf("entry %d: %v", i, err)
		}
	}
	return recs
}

func TestMigrationsIdempotent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		dsn := sqltest.DSN(t, dialect)
		db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Append(ctx, itemAdd(t), userAdd(t, "alice")); err != nil {
			t.Fatal(err)
		}
		before, err := db.DumpIndex(ctx)
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		for range 3 {
			db := open(t, dsn, nil)
			after, err := db.DumpIndex(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("index changed on reopen:\n%s", diff)
			}
			checkLog(t, db, 2)
			db.Close()
		}
		var n, max int
		if err := rawDB(t, dialect, dsn).QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
			t.Fatal(err)
		}
		if n != sqlstore.SchemaVersion() || max != sqlstore.SchemaVersion() {
			t.Errorf("schema_migrations has %d rows up to %d, want %d", n, max, sqlstore.SchemaVersion())
		}
	})
}

func TestNewerSchemaRefused(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		dsn := sqltest.DSN(t, dialect)
		db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		if _, err := rawDB(t, dialect, dsn).Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (999, 'future')`); err != nil {
			t.Fatal(err)
		}
		db, err = sqlstore.Open(ctx, dsn, sqlstore.Options{})
		if err == nil {
			db.Close()
			t.Fatal("Open accepted a database with schema version 999")
		}
		if code := custody.ErrorCode(err); code != custody.EUNSUPPORTED {
			t.Errorf("Open: %v (code %s), want EUNSUPPORTED", err, code)
		}
	})
}

// TestBatchRejection sends valid and invalid requests at once, so that they
// share group-commit batches: each rejected request fails alone, consumes
// no index, and the others are committed gap-free.
func TestBatchRejection(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db := open(t, sqltest.DSN(t, dialect), newClock(time.Microsecond).Now)
		first := itemAdd(t)
		if _, err := db.Append(ctx, first, userAdd(t, "taken")); err != nil {
			t.Fatal(err)
		}
		item := first.Entry.Subject
		bad := []struct {
			name string
			p    func() []sqlstore.Pending
			code string
		}{
			{"handover of unknown item", func() []sqlstore.Pending { return []sqlstore.Pending{handover(t, "nope", "", "x")} }, custody.ENOTFOUND},
			{"handover from wrong holder", func() []sqlstore.Pending { return []sqlstore.Pending{handover(t, item, "mallory", "x")} }, custody.ECONFLICT},
			{"access to unknown item", func() []sqlstore.Pending { return []sqlstore.Pending{access(t, "nope")} }, custody.ENOTFOUND},
			{"duplicate user name", func() []sqlstore.Pending { return []sqlstore.Pending{userAdd(t, "taken")} }, custody.ECONFLICT},
			{"malformed payload", func() []sqlstore.Pending {
				p := access(t, item)
				p.Payload = []byte(`{"nonce":"x","item":"` + item + `","action":"read","extra":1}`)
				return []sqlstore.Pending{p}
			}, custody.EINVALID},
			{"unknown entry type", func() []sqlstore.Pending {
				p := access(t, item)
				p.Entry.Type = "custody.teleport"
				return []sqlstore.Pending{p}
			}, custody.EUNSUPPORTED},
			{"valid entries then a bad one", func() []sqlstore.Pending {
				return []sqlstore.Pending{access(t, item), itemAdd(t), access(t, "nope")}
			}, custody.ENOTFOUND},
		}
		const rounds = 6
		var wg sync.WaitGroup
		var mu sync.Mutex
		var good uint64
		indices := map[uint64]string{}
		start := make(chan struct{})
		for r := range rounds {
			for _, b := range bad {
				wg.Go(func() {
					<-start
					out, err := db.Append(ctx, b.p()...)
					if custody.ErrorCode(err) != b.code || out != nil {
						t.Errorf("round %d %s: %v (%d appended), want %s", r, b.name, err, len(out), b.code)
					}
				})
				wg.Go(func() {
					<-start
					ps := []sqlstore.Pending{access(t, item), itemAdd(t)}
					out, err := db.Append(ctx, ps...)
					if err != nil {
						t.Errorf("valid request: %v", err)
						return
					}
					mu.Lock()
					defer mu.Unlock()
					if len(out) != 2 || out[1].Index != out[0].Index+1 {
						t.Errorf("a request's entries are not consecutive: %+v", out)
					}
					for i, a := range out {
						if prev, ok := indices[a.Index]; ok {
							t.Errorf("index %d given to %s and %s", a.Index, prev, a.Entry.ID)
						}
						indices[a.Index] = a.Entry.ID
						if a.Entry.ID != ps[i].Entry.ID || string(a.Leaf) == "" {
							t.Errorf("appended %+v for %s", a, ps[i].Entry.ID)
						}
					}
					good += uint64(len(out))
				})
			}
		}
		close(start)
		wg.Wait()
		recs := checkLog(t, db, 2+good)
		for _, r := range recs[2:] {
			e, _ := sqlstore.DecodeLeaf(r.Leaf)
			if indices[r.Index] != e.ID {
				t.Errorf("entry %d is %s, acknowledged as %s", r.Index, e.ID, indices[r.Index])
			}
		}
		items, err := db.Items(ctx, custody.ItemFilter{Limit: 1000}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := 1 + rounds*len(bad); len(items) != want {
			t.Errorf("%d items, want %d (rejected requests left rows behind?)", len(items), want)
		}
		hist, err := db.History(ctx, item)
		if err != nil {
			t.Fatal(err)
		}
		if want := 1 + rounds*len(bad); len(hist) != want {
			t.Errorf("%d events for the item, want %d", len(hist), want)
		}
		// The index is what a replay of the log gives.
		before, _ := db.DumpIndex(ctx)
		if err := db.Replay(ctx, nil); err != nil {
			t.Fatal(err)
		}
		after, _ := db.DumpIndex(ctx)
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("index differs from its replay:\n%s", diff)
		}
	})
}

// TestEntryTimesNeverDecrease appends under a clock that runs backwards.
func TestEntryTimesNeverDecrease(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		dsn := sqltest.DSN(t, dialect)
		db := open(t, dsn, newClock(-time.Second).Now)
		for range 5 {
			if _, err := db.Append(ctx, itemAdd(t)); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if _, err := db.Append(ctx, itemAdd(t)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		// A second handle with a clock an hour behind.
		c := newClock(time.Millisecond)
		c.t = c.t.Add(-time.Hour)
		db2 := open(t, dsn, c.Now)
		out, err := db2.Append(ctx, itemAdd(t))
		if err != nil {
			t.Fatal(err)
		}
		recs := checkLog(t, db, 26)
		last, _ := sqlstore.DecodeLeaf(recs[24].Leaf)
		if out[0].Entry.Time < last.Time {
			t.Errorf("entry from the slow clock at %s, before %s", out[0].Entry.Time, last.Time)
		}
	})
}

// TestTwoHandlesAppend is two processes appending to one database at once.
func TestTwoHandlesAppend(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		dsn := sqltest.DSN(t, dialect)
		c := newClock(time.Microsecond)
		dbs := []*sqlstore.DB{open(t, dsn, c.Now), open(t, dsn, c.Now)}
		const writers, each = 16, 20
		var wg sync.WaitGroup
		var mu sync.Mutex
		seen := map[uint64]bool{}
		for w := range writers {
			wg.Go(func() {
				db := dbs[w%2]
				for range each {
					out, err := db.Append(ctx, itemAdd(t))
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if seen[out[0].Index] {
						t.Errorf("index %d given twice", out[0].Index)
					}
					seen[out[0].Index] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		checkLog(t, dbs[1], writers*each)
		d0, _ := dbs[0].DumpIndex(ctx)
		d1, _ := dbs[1].DumpIndex(ctx)
		if diff := cmp.Diff(d0, d1); diff != "" {
			t.Errorf("the handles see different indexes:\n%s", diff)
		}
	})
}

// TestIntegrateTwoHandles runs Integrate from two handles at once: one
// integrates each range, none twice, and the checkpoints follow the log.
func TestIntegrateTwoHandles(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		dsn := sqltest.DSN(t, dialect)
		dbs := []*sqlstore.DB{open(t, dsn, nil), open(t, dsn, nil)}
		var mu sync.Mutex
		integrated := map[uint64]int{}
		fn := func(ctx context.Context, prev sqlstore.Integration, recs []custody.LogRecord) (sqlstore.Integration, []byte, error) {
			mu.Lock()
			defer mu.Unlock()
			for i, r := range recs {
				if r.Index != prev.Size+uint64(i) {
					return prev, nil, fmt.Errorf("record %d given at %d", r.Index, prev.Size+uint64(i))
				}
				integrated[r.Index]++
			}
			next := prev.Size + uint64(len(recs))
			return sqlstore.Integration{Size: next, State: fmt.Appendf(nil, "%d", next)}, fmt.Appendf(nil, "note %d", next), nil
		}
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				db := dbs[w%2]
				for range 10 {
					if _, err := db.Append(ctx, itemAdd(t)); err != nil {
						t.Error(err)
					}
					if _, err := db.Integrate(ctx, 7, fn); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		for {
			n, err := dbs[0].Integrate(ctx, 7, fn)
			if err != nil {
				t.Fatal(err)
			}
			if n == 80 {
				break
			}
		}
		for i := uint64(0); i < 80; i++ {
			if integrated[i] != 1 {
				t.Errorf("entry %d integrated %d times", i, integrated[i])
			}
		}
		pub, err := dbs[1].Published(ctx)
		if err != nil || pub.Size != 80 || string(pub.State) != "80" {
			t.Errorf("Published = %d %q, %v", pub.Size, pub.State, err)
		}
		cps, err := dbs[1].Checkpoints(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range cps {
			if string(c.Note) != fmt.Sprintf("note %d", c.Size) || i > 0 && c.Size <= cps[i-1].Size {
				t.Errorf("checkpoint %d: size %d note %q", i, c.Size, c.Note)
			}
		}
		if latest, err := dbs[0].LatestCheckpoint(ctx); err != nil || latest.Size != 80 {
			t.Errorf("LatestCheckpoint = %d, %v", latest.Size, err)
		}
	})
}

// TestAppendAfterClose must fail promptly, never hang.
func TestAppendAfterClose(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		db, err := sqlstore.Open(context.Background(), sqltest.DSN(t, dialect), sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		for i := range 50 {
			done := make(chan error, 1)
			go func() {
				_, err := db.Append(context.Background(), itemAdd(t))
				done <- err
			}()
			select {
			case err := <-done:
				if code := custody.ErrorCode(err); code != custody.EUNAVAILABLE {
					t.Fatalf("Append %d after Close: %v, want EUNAVAILABLE", i, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("Append %d after Close hangs", i)
			}
		}
	})
}

func TestLatestCheckpointEmpty(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		db := open(t, sqltest.DSN(t, dialect), nil)
		if _, err := db.LatestCheckpoint(context.Background()); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("LatestCheckpoint on an empty store: %v, want ENOTFOUND", err)
		}
		if _, err := db.Meta(context.Background(), "store_id"); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("Meta on an empty store: %v, want ENOTFOUND", err)
		}
	})
}

// TestReplayAndIntegrateRefuseGaps: a log row deleted behind the store's
// back makes Replay fail with ETAMPERED leaving the index as it was, and
// Integrate fail without recording a checkpoint.
func TestReplayAndIntegrateRefuseGaps(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		dsn := sqltest.DSN(t, dialect)
		db := open(t, dsn, nil)
		first := itemAdd(t)
		if _, err := db.Append(ctx, first, access(t, first.Entry.Subject), handover(t, first.Entry.Subject, "user-1", "lab")); err != nil {
			t.Fatal(err)
		}
		before, err := db.DumpIndex(ctx)
		if err != nil {
			t.Fatal(err)
		}
		q := `DELETE FROM log_entries WHERE idx = 1`
		if _, err := rawDB(t, dialect, dsn).Exec(q); err != nil {
			t.Fatal(err)
		}
		if err := db.Replay(ctx, nil); custody.ErrorCode(err) != custody.ETAMPERED {
			t.Errorf("Replay over a gap: %v, want ETAMPERED", err)
		}
		after, err := db.DumpIndex(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("a failed Replay changed the index:\n%s", diff)
		}
		called := false
		_, err = db.Integrate(ctx, 100, func(ctx context.Context, prev sqlstore.Integration, recs []custody.LogRecord) (sqlstore.Integration, []byte, error) {
			called = true
			return sqlstore.Integration{Size: prev.Size + uint64(len(recs))}, []byte("note"), nil
		})
		if err == nil || called {
			t.Errorf("Integrate over a gap: err %v, fn called %v", err, called)
		}
		if _, err := db.LatestCheckpoint(ctx); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("a checkpoint was recorded over a gap: %v", err)
		}
	})
}

// TestLoad checks Load's contract: records must follow on from the log.
func TestLoad(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		src := open(t, sqltest.DSN(t, dialect), nil)
		first := itemAdd(t)
		if _, err := src.Append(ctx, first, userAdd(t, "alice"), access(t, first.Entry.Subject)); err != nil {
			t.Fatal(err)
		}
		recs, err := src.Records(ctx, 0, 3)
		if err != nil {
			t.Fatal(err)
		}
		dst := open(t, sqltest.DSN(t, dialect), nil)
		if err := dst.Load(ctx, recs[1:]); err == nil {
			t.Error("Load accepted records not starting at the log size")
		}
		if err := dst.Load(ctx, recs[:1]); err != nil {
			t.Fatal(err)
		}
		if err := dst.Load(ctx, recs[1:]); err != nil {
			t.Fatal(err)
		}
		want, _ := src.DumpIndex(ctx)
		got, _ := dst.DumpIndex(ctx)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("loaded index differs:\n%s", diff)
		}
		// A record whose payload does not match its entry is refused whole.
		bad := open(t, sqltest.DSN(t, dialect), nil)
		forged := append([]custody.LogRecord(nil), recs...)
		forged[2].Payload = []byte(`{"action":"export"}`)
		if err := bad.Load(ctx, forged); custody.ErrorCode(err) != custody.ETAMPERED {
			t.Errorf("Load of a forged payload: %v, want ETAMPERED", err)
		}
		if n, _ := bad.LogSize(ctx); n != 0 {
			t.Errorf("a refused Load left %d entries", n)
		}
	})
}
