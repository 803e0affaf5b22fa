package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/custody-dev/custody"
)

// execer is what apply needs of a transaction.
type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// IndexTables lists the tables derived from the log that verify compares
// row by row, in the order Replay clears them (children first). The
// full-text tables, which differ by dialect, are cleared too but not
// compared: they are derived from records rows, which are.
var IndexTables = []string{"record_links", "team_localities", "record_versions", "records", "custody_events", "items", "users",
	"compartments", "grants", "person_identity", "access_log", "api_tokens"}

// keyColumns is the number of leading columns that identify a row of each
// index table (its primary key), for DumpIndex.
var keyColumns = map[string]int{"record_links": 3, "team_localities": 2, "record_versions": 2,
	"compartments": 3, "grants": 3, "access_log": 2}

func (db *DB) textTable() string {
	if db.dialect == Postgres {
		return "record_text"
	}
	return "record_fts"
}

func decodePayload(payload []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return custody.Errorf(custody.EINVALID, "malformed payload: %v", err)
	}
	return nil
}

// apply writes the index rows that entry e (at log index idx) produces. It
// is the one place where the log is interpreted, used both when appending
// and when replaying, so the two cannot drift apart. It MUST be
// deterministic: its effect depends only on the entries before idx.
func (db *DB) apply(ctx context.Context, tx *applier, idx uint64, e custody.Entry, payload []byte) error {
	switch e.Type {
	case custody.EntryStoreInit:
		var p custody.StoreInit
		if err := decodePayload(payload, &p); err != nil {
			return err
		}
		return nil // meta is written at init; verify checks it against this entry
	case custody.EntryUserAdd:
		var p custody.UserAdded
		if err := decodePayload(payload, &p); err != nil {
			return err
		}
		var n int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM users WHERE name = ?`, []any{p.Name}, &n); err != nil {
			return fmt.Errorf("check user name: %w", err)
		}
		if n > 0 {
			return custody.Errorf(custody.ECONFLICT, "a user named %q already exists", p.Name)
		}
		err := tx.insert(ctx, "users", "id, name, role, token_hash, password_hash, created_at, log_index",
			p.ID, p.Name, string(p.Role), nullable(p.TokenHash), nullable(p.PasswordHash), e.Time, idx)
		if err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		return nil
	case custody.EntryUserTOTP, custody.EntryUserPassword, custody.EntryTokenAdd, custody.EntryTokenRevoke:
		return db.applySignIn(ctx, tx, idx, e, payload) // tokens.go
	case custody.EntryUserToken:
		var p custody.UserAdded
		if err := decodePayload(payload, &p); err != nil {
			return err
		}
		res, err := tx.exec(ctx, `UPDATE users SET token_hash = ? WHERE id = ?`, nullable(p.TokenHash), p.ID)
		if err != nil {
			return fmt.Errorf("update token: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return custody.Errorf(custody.ENOTFOUND, "no user %s", p.ID)
		}
		return nil
	case custody.EntryItemAdd:
		var p custody.ItemAdded
		if err := decodePayload(payload, &p); err != nil {
			return err
		}
		it := p.Item
		if it.ID != e.Subject {
			return custody.Errorf(custody.EINVALID, "item %s in an entry about %s", it.ID, e.Subject)
		}
		holder := it.Collector
		if holder == "" {
			holder = it.IngestedBy
		}
		err := tx.insert(ctx, "items", `id, kind, blob, size, media_type, name, case_id, collector, collected_at, lat, lon,
			description, seal, location, capture, duplicate, ingested_by, ingested_at, device_time, store, holder, log_index`,
			it.ID, it.Kind, nullable(string(it.Blob)), it.Size, nullable(it.MediaType), nullable(it.Name), nullable(it.Case),
			nullable(it.Collector), nullable(it.CollectedAt), floatOrNil(it.Lat), floatOrNil(it.Lon), nullable(it.Description),
			nullable(it.Seal), nullable(it.Location), nullable(string(it.Capture)), boolInt(it.Duplicate), it.IngestedBy, it.IngestedAt,
			nullable(it.DeviceTime), it.Store, holder, idx)
		if err != nil {
			return fmt.Errorf("insert item: %w", err)
		}
		if err := db.setItemCompartments(ctx, tx, it); err != nil {
			return err
		}
		return db.insertEvent(ctx, tx, custody.Event{ID: e.ID, Item: it.ID, Type: "intake", To: holder,
			Seal: it.Seal, Location: it.Location, Actor: e.Actor, Time: e.Time, LogIndex: idx})
	case custody.EntryHandover:
		var p custody.Handover
		if err := decodePayload(payload, &p); err != nil {
			return err
		}
		var holder string
		err := tx.queryRow(ctx, `SELECT COALESCE(holder, '') FROM items WHERE id = ?`, []any{p.Item}, &holder)
		if errors.Is(err, sql.ErrNoRows) {
			return custody.Errorf(custody.ENOTFOUND, "no item %s", p.Item)
		} else if err != nil {
			return fmt.Errorf("read holder: %w", err)
		}
		if holder != p.From {
			return custody.Errorf(custody.ECONFLICT, "item %s is held by %q, not %q", p.Item, holder, p.From)
		}
		q := `UPDATE items SET holder = ?, seal = COALESCE(?, seal), location = COALESCE(?, location) WHERE id = ?`
		if _, err := tx.exec(ctx, q, p.To, nullable(p.Seal), nullable(p.Location), p.Item); err != nil {
			return fmt.Errorf("update holder: %w", err)
		}
		return db.insertEvent(ctx, tx, custody.Event{ID: e.ID, Item: p.Item, Type: "handover", From: p.From, To: p.To,
			Reason: p.Reason, Seal: p.Seal, Location: p.Location, Actor: e.Actor, Time: e.Time, LogIndex: idx})
	case custody.EntryRecordCreate, custody.EntryRecordUpdate, custody.EntryRecordWithdraw:
		return db.applyRecord(ctx, tx, idx, e, payload)
	case custody.EntryGrant:
		return db.applyGrant(ctx, tx, idx, payload)
	case custody.EntryClearance:
		return db.applyClearance(ctx, tx, idx, payload)
	case custody.EntryRead, custody.EntryReveal:
		return db.applyRead(ctx, tx, idx, e, payload)
	case custody.EntryAccess:
		var p custody.Access
		if err := decodePayload(payload, &p); err != nil {
			return err
		}
		return db.insertEvent(ctx, tx, custody.Event{ID: e.ID, Item: p.Item, Type: p.Action, Reason: p.Reason,
			Actor: e.Actor, Time: e.Time, LogIndex: idx})
	}
	return custody.Errorf(custody.EUNSUPPORTED, "entry %d has unknown type %q", idx, e.Type)
}

func (db *DB) insertEvent(ctx context.Context, tx *applier, ev custody.Event) error {
	err := tx.insert(ctx, "custody_events", "id, item, type, from_holder, to_holder, reason, seal, location, actor, time, log_index",
		ev.ID, ev.Item, ev.Type, nullable(ev.From), nullable(ev.To), nullable(ev.Reason), nullable(ev.Seal),
		nullable(ev.Location), ev.Actor, ev.Time, ev.LogIndex)
	if err != nil {
		if !isFlushError(err) && db.isForeignKey(err) {
			return custody.Errorf(custody.ENOTFOUND, "no item %s", ev.Item)
		}
		return fmt.Errorf("insert custody event: %w", err)
	}
	return nil
}

func (db *DB) isForeignKey(err error) bool {
	s := err.Error()
	return bytes.Contains([]byte(s), []byte("FOREIGN KEY")) || bytes.Contains([]byte(s), []byte("foreign key"))
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func floatOrNil(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
