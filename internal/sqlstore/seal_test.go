package sqlstore_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/blobstore"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
	"github.com/google/go-cmp/cmp"
)

// fieldSealer returns the field sealer of a fresh key ring, as a store
// opened with `custody init --encrypt` uses.
func fieldSealer(t testing.TB) *blobstore.FieldSealer {
	t.Helper()
	dir := t.TempDir()
	if err := blobstore.GenerateKeyRing(dir); err != nil {
		t.Fatal(err)
	}
	ring, err := blobstore.LoadKeyRing(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ring.Fields()
}

// TestSealedPayloads: with a sealer, log_entries.payload holds no
// plaintext, while Records, Replay and Load work on plaintext and the
// entries (their payload hashes) are what they would be without sealing.
func TestSealedPayloads(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		sealer := fieldSealer(t)
		dsn := sqltest.DSN(t, dialect)
		db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Sealer: sealer})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		first := itemAdd(t)
		batch := []sqlstore.Pending{first, userAdd(t, "witness-coordinator"), access(t, first.Entry.Subject)}
		if _, err := db.Append(ctx, batch...); err != nil {
			t.Fatal(err)
		}
		// The careful path too: a rejected request in a group.
		if _, err := db.Append(ctx, handover(t, "no-such-item", "a", "b")); err == nil {
			t.Error("handover of a missing item accepted")
		}
		recs := checkLog(t, db, 3)
		for i, r := range recs {
			if !bytes.Equal(r.Payload, batch[i].Payload) {
				t.Errorf("Records payload %d = %q, want the plaintext", i, r.Payload)
			}
		}
		raw := rawDB(t, dialect, dsn)
		rows, err := raw.QueryContext(ctx, `SELECT payload FROM log_entries ORDER BY idx`)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var p []byte
			if err := rows.Scan(&p); err != nil {
				t.Fatal(err)
			}
			if !blobstore.IsSealed(p) || bytes.Contains(p, []byte("shell casing")) || bytes.Contains(p, []byte("witness-coordinator")) {
				t.Errorf("stored payload %d is not sealed: %q", n, p)
			}
			n++
		}
		rows.Close()
		if n != 3 {
			t.Fatalf("%d rows", n)
		}
		before, _ := db.DumpIndex(ctx)
		if err := db.Replay(ctx, nil); err != nil {
			t.Fatalf("Replay: %v", err)
		}
		after, _ := db.DumpIndex(ctx)
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("replayed index differs:\n%s", diff)
		}
		// The same entries, unsealed, hash the same.
		plain := open(t, sqltest.DSN(t, dialect), nil)
		if err := plain.Load(ctx, recs); err != nil {
			t.Fatal(err)
		}
		plainRecs, _ := plain.Records(ctx, 0, 3)
		if diff := cmp.Diff(recs, plainRecs); diff != "" {
			t.Errorf("sealed and plain stores differ:\n%s", diff)
		}
		// Load seals what it stores.
		into, err := sqlstore.Open(ctx, sqltest.DSN(t, dialect), sqlstore.Options{Sealer: sealer})
		if err != nil {
			t.Fatal(err)
		}
		defer into.Close()
		if err := into.Load(ctx, plainRecs); err != nil {
			t.Fatal(err)
		}
		if got, _ := into.Records(ctx, 0, 3); !cmp.Equal(got, recs) {
			t.Error("Load into a sealed store does not read back")
		}

		// Without the keys: a clear error, not garbage.
		nokeys := open(t, dsn, nil)
		if _, err := nokeys.Records(ctx, 0, 3); err == nil || !strings.Contains(err.Error(), "sealed") {
			t.Errorf("Records without the sealer: %v", err)
		}
		// A damaged sealed payload is reported as tampering.
		if _, err := raw.ExecContext(ctx, `UPDATE log_entries SET payload = `+
			map[string]string{"sqlite": `substr(payload, 1, length(payload) - 1) || x'00'`,
				"postgres": `overlay(payload placing '\x00'::bytea from length(payload) for 1)`}[dialect]+
			` WHERE idx = 1`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Records(ctx, 0, 3); custody.ErrorCode(err) != custody.ETAMPERED {
			t.Errorf("Records of a damaged sealed payload: %v, want ETAMPERED", err)
		}
	})
}
