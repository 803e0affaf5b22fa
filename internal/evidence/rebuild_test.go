package evidence_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
	"github.com/custody-dev/custody/verify"
	"github.com/google/go-cmp/cmp"
)

func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// freshDB opens a new empty database of the dialect.
func freshDB(t *testing.T, dialect string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqltest.DSN(t, dialect), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// sameAnswers checks that two databases answer the domain queries alike.
func sameAnswers(t *testing.T, want, got *sqlstore.DB, tokens []string) {
	t.Helper()
	ctx := context.Background()
	wi, err := want.Items(ctx, custody.ItemFilter{Limit: 1000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	gi, err := got.Items(ctx, custody.ItemFilter{Limit: 1000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wi, gi); diff != "" {
		t.Errorf("Items differ (-live +rebuilt):\n%s", diff)
	}
	for _, it := range wi {
		wh, err1 := want.History(ctx, it.ID)
		gh, err2 := got.History(ctx, it.ID)
		if err1 != nil || err2 != nil {
			t.Fatalf("History %s: %v, %v", it.ID, err1, err2)
		}
		if diff := cmp.Diff(wh, gh); diff != "" {
			t.Errorf("History %s differs (-live +rebuilt):\n%s", it.ID, diff)
		}
	}
	for _, tok := range tokens {
		wu, err1 := want.UserByTokenHash(ctx, hashToken(tok))
		gu, err2 := got.UserByTokenHash(ctx, hashToken(tok))
		if custody.ErrorCode(err1) != custody.ErrorCode(err2) {
			t.Errorf("UserByTokenHash: live %v, rebuilt %v", err1, err2)
		}
		if diff := cmp.Diff(wu, gu); diff != "" {
			t.Errorf("UserByTokenHash differs (-live +rebuilt):\n%s", diff)
		}
	}
	wu, _ := want.Users(ctx)
	gu, _ := got.Users(ctx)
	if diff := cmp.Diff(wu, gu); diff != "" {
		t.Errorf("Users differ (-live +rebuilt):\n%s", diff)
	}
}

func dump(t *testing.T, db *sqlstore.DB) map[string]map[string]string {
	t.Helper()
	d, err := db.DumpIndex(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRebuild(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		s := e.populate()
		// More, unpublished: RebuildInto loads what is published only.
		e.intake(s.inv, "late.txt", "late")
		size := e.publish()
		revoked := s.invToken
		fresh, err := e.svc.NewToken(ctx, e.admin, "inv")
		if err != nil {
			t.Fatal(err)
		}
		size = e.publish()
		tokens := []string{e.adminToken, revoked, fresh}

		into := freshDB(t, dialect)
		n, err := e.svc.RebuildInto(ctx, into, nil)
		if err != nil {
			t.Fatalf("RebuildInto: %v", err)
		}
		if n != size {
			t.Errorf("RebuildInto loaded %d entries, want %d", n, size)
		}
		if got, _ := into.LogSize(ctx); got != size {
			t.Errorf("rebuilt log size %d, want %d", got, size)
		}
		live := dump(t, e.db)
		if diff := cmp.Diff(live, dump(t, into)); diff != "" {
			t.Errorf("rebuilt index differs (-live +rebuilt):\n%s", diff)
		}
		sameAnswers(t, e.db, into, tokens)
		// The rebuilt log holds the same records.
		wr, _ := e.db.Records(ctx, 0, size)
		gr, _ := into.Records(ctx, 0, size)
		if diff := cmp.Diff(wr, gr); diff != "" {
			t.Errorf("rebuilt records differ:\n%s", diff)
		}

		// Rebuilding into a non-empty database is refused.
		if _, err := e.svc.RebuildInto(ctx, into, nil); err == nil {
			t.Error("RebuildInto a non-empty database succeeded")
		}

		// Replay in place gives the same index.
		var last uint64
		if err := e.db.Replay(ctx, func(done, total uint64) { last = done }); err != nil {
			t.Fatalf("Replay: %v", err)
		}
		if last != size {
			t.Errorf("Replay progress ended at %d, want %d", last, size)
		}
		if diff := cmp.Diff(live, dump(t, e.db)); diff != "" {
			t.Errorf("replayed index differs (-before +after):\n%s", diff)
		}
		if r := e.verify(); !r.OK() {
			t.Errorf("Verify after Replay: %+v", r.Problems)
		}
	})
}

// TestRebuildAcrossDialects rebuilds a SQLite store into PostgreSQL: the
// index is dialect-independent.
func TestRebuildAcrossDialects(t *testing.T) {
	ds := sqltest.Dialects(t)
	if len(ds) < 2 {
		t.Skip("needs PostgreSQL")
	}
	ctx := context.Background()
	e := newService(t, "sqlite")
	s := e.populate()
	into := freshDB(t, "postgres")
	if _, err := e.svc.RebuildInto(ctx, into, nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(dump(t, e.db), dump(t, into)); diff != "" {
		t.Errorf("index differs (-sqlite +postgres):\n%s", diff)
	}
	sameAnswers(t, e.db, into, []string{e.adminToken, s.invToken})
}

func TestRebuildRefusesDamagedLog(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, e *env)
	}{
		{"entry bundle byte flipped", func(t *testing.T, e *env) {
			name := verify.EntriesPath(0, int(e.logSize()))
			data, err := e.public.Get(context.Background(), name)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)/2] ^= 1
			e.public.Put(context.Background(), name, data)
		}},
		{"payload bundle byte flipped", func(t *testing.T, e *env) {
			name := "payload/" + verify.EntriesPath(0, int(e.logSize()))
			data, err := e.private.Get(context.Background(), name)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)-3] ^= 1
			e.private.Put(context.Background(), name, data)
		}},
		{"payload bundle truncated", func(t *testing.T, e *env) {
			name := "payload/" + verify.EntriesPath(0, int(e.logSize()))
			data, _ := e.private.Get(context.Background(), name)
			e.private.Put(context.Background(), name, data[:len(data)-10])
		}},
		{"checkpoint from another store", func(t *testing.T, e *env) {
			other := newService(t, "sqlite")
			raw, _ := other.public.Get(context.Background(), "checkpoint")
			e.public.Put(context.Background(), "checkpoint", raw)
		}},
	}
	forEachDialect(t, func(t *testing.T, dialect string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := context.Background()
				e := newService(t, dialect)
				e.populate()
				tt.damage(t, e)
				into := freshDB(t, dialect)
				if _, err := e.svc.RebuildInto(ctx, into, nil); err == nil {
					t.Fatal("RebuildInto succeeded on a damaged log")
				}
				assertEmpty(t, into)
			})
		}
	})
}

func assertEmpty(t *testing.T, db *sqlstore.DB) {
	t.Helper()
	if n, err := db.LogSize(context.Background()); err != nil || n != 0 {
		t.Errorf("target log size = %d, %v: a refused rebuild wrote entries", n, err)
	}
	for table, rows := range dump(t, db) {
		if len(rows) != 0 {
			t.Errorf("target table %s has %d rows after a refused rebuild", table, len(rows))
		}
	}
}

// TestRebuildRefusesDamagedPayloadLate damages a payload beyond the first
// load group (64 bundles): nothing may be written even though the earlier
// groups are intact. (Regression: RebuildInto checked only leaf hashes
// before loading, and Load commits per group.)
func TestRebuildRefusesDamagedPayloadLate(t *testing.T) {
	if testing.Short() {
		t.Skip("appends 17,000 entries")
	}
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		it := e.intake(e.admin, "a.txt", "a")
		const n = 64*256 + 300
		batch := make([]sqlstore.Pending, 0, 1000)
		for i := 0; i < n; i++ {
			raw, _ := verify.Canonical(custody.Access{Nonce: fmt.Sprint(i), Item: it.ID, Action: "read"})
			batch = append(batch, sqlstore.Pending{Entry: custody.Entry{ID: fmt.Sprintf("access-%06d", i), Type: custody.EntryAccess,
				Store: e.storeID, Actor: e.admin.ID, Subject: it.ID}, Payload: raw})
			if len(batch) == cap(batch) || i == n-1 {
				if _, err := e.db.Append(ctx, batch...); err != nil {
					t.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		size := e.publish()
		bundle := uint64(64 + 1)
		name := "payload/" + verify.EntriesPath(bundle, int(min(256, size-bundle*256)))
		data, err := e.private.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		// Flip a byte inside the first payload (after its 4-byte length).
		l := binary.BigEndian.Uint32(data)
		data[4+l/2] ^= 1
		if err := e.private.Put(ctx, name, data); err != nil {
			t.Fatal(err)
		}
		into := freshDB(t, dialect)
		_, err = e.svc.RebuildInto(ctx, into, nil)
		if code := custody.ErrorCode(err); code != custody.ETAMPERED {
			t.Fatalf("RebuildInto = %v (%s), want ETAMPERED", err, code)
		}
		assertEmpty(t, into)
	})
}

// TestTwoHandles is two processes on one store (`custody add` while
// `custody serve` runs): two *sqlstore.DB handles and services sharing the
// database and the blob and object directories, appending and publishing
// concurrently.
func TestTwoHandles(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		_, _, _, _, svc2 := e.openHandle()
		svcs := []interface {
			Intake(context.Context, *custody.User, custody.IntakeRequest) (*custody.Item, error)
			Publish(context.Context) (uint64, error)
		}{e.svc, svc2}
		const writers, each = 8, 15
		var wg sync.WaitGroup
		idx := make(chan uint64, writers*each)
		errs := make(chan error, writers*each*2)
		for w := range writers {
			wg.Go(func() {
				svc := svcs[w%2]
				for i := range each {
					it, err := svc.Intake(ctx, e.admin, custody.IntakeRequest{Name: "f", Content: stringsReader(fmt.Sprintf("w%d-%d", w, i%5))})
					if err != nil {
						errs <- err
						continue
					}
					idx <- it.LogIndex
					if i%4 == 0 {
						if _, err := svc.Publish(ctx); err != nil {
							errs <- fmt.Errorf("publish: %w", err)
						}
					}
				}
			})
		}
		wg.Wait()
		close(idx)
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		seen := map[uint64]bool{}
		for i := range idx {
			if seen[i] {
				t.Errorf("index %d given twice", i)
			}
			seen[i] = true
		}
		size := e.logSize()
		if want := uint64(2 + writers*each); size != want {
			t.Errorf("log size %d, want %d", size, want)
		}
		recs, err := e.db.Records(ctx, 0, size)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range recs {
			if r.Index != uint64(i) {
				t.Fatalf("gap: record %d has index %d", i, r.Index)
			}
		}
		if _, err := svc2.Publish(ctx); err != nil {
			t.Fatal(err)
		}
		if n := e.publish(); n != size {
			t.Errorf("published %d, want %d", n, size)
		}
		if r := e.verify(); !r.OK() {
			t.Errorf("Verify: %+v", r.Problems)
		}
	})
}
