package sqlstore

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/verify"
)

// Replay clears the index tables and rebuilds them by applying every log
// entry in order, in one transaction: the index is either wholly rebuilt or
// left as it was. progress, if not nil, is called as entries are applied.
func (db *DB) Replay(ctx context.Context, progress func(done, total uint64)) error {
	err := db.replay(ctx, false, progress)
	if isFlushError(err) {
		// A buffered insert broke a constraint: redo row by row to name
		// the entry at fault.
		err = db.replay(ctx, true, progress)
	}
	return err
}

func (db *DB) replay(ctx context.Context, careful bool, progress func(done, total uint64)) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin replay: %w", err)
	}
	defer tx.Rollback()
	if db.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT size FROM log_seq WHERE id = 1 FOR UPDATE`); err != nil {
			return fmt.Errorf("lock log: %w", err)
		}
	}
	for _, t := range append([]string{db.textTable()}, IndexTables...) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t); err != nil {
			return fmt.Errorf("clear %s: %w", t, err)
		}
	}
	var size uint64
	if err := tx.QueryRowContext(ctx, `SELECT size FROM log_seq WHERE id = 1`).Scan(&size); err != nil {
		return fmt.Errorf("read log size: %w", err)
	}
	const step = 10000
	ap := newApplier(db, tx, !careful)
	for from := uint64(0); from < size; from += step {
		recs, err := db.records(ctx, tx, from, min(size, from+step))
		if err != nil {
			return err
		}
		if err := db.applyRecords(ctx, ap, from, recs); err != nil {
			return err
		}
		if progress != nil {
			progress(from+uint64(len(recs)), size)
		}
	}
	if err := ap.flush(ctx); err != nil {
		return err
	}
	return tx.Commit()
}

func (db *DB) applyRecords(ctx context.Context, tx *applier, from uint64, recs []custody.LogRecord) error {
	for i, r := range recs {
		if r.Index != from+uint64(i) {
			return custody.Errorf(custody.ETAMPERED, "log entry %d is missing", from+uint64(i))
		}
		e, err := DecodeLeaf(r.Leaf)
		if err != nil {
			return custody.Errorf(custody.ETAMPERED, "log entry %d: %v", r.Index, err)
		}
		if err := verify.CheckPayload(verify.Entry{ID: e.ID, Payload: string(e.Payload)}, r.Payload); err != nil {
			return custody.Errorf(custody.ETAMPERED, "log entry %d: %v", r.Index, err)
		}
		if err := db.apply(ctx, tx, r.Index, e, r.Payload); err != nil {
			return fmt.Errorf("replay entry %d: %w", r.Index, err)
		}
	}
	return nil
}

// Load fills an empty database with the given log records (in order, from
// index 0 or following on from what it holds) and applies them to the
// index. Used to rebuild a store from its published log.
func (db *DB) Load(ctx context.Context, recs []custody.LogRecord) error {
	if len(recs) == 0 {
		return nil
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin load: %w", err)
	}
	defer tx.Rollback()
	var size uint64
	if err := tx.QueryRowContext(ctx, `SELECT size FROM log_seq WHERE id = 1`).Scan(&size); err != nil {
		return fmt.Errorf("read log size: %w", err)
	}
	if recs[0].Index != size {
		return fmt.Errorf("load: first record %d, log size %d", recs[0].Index, size)
	}
	ap := newApplier(db, tx, true)
	err = db.applyRecords(ctx, ap, size, recs)
	if err == nil {
		err = ap.flush(ctx)
	}
	if isFlushError(err) {
		// Name the entry at fault: redo row by row.
		tx.Rollback()
		if tx, err = db.write.BeginTx(ctx, nil); err != nil {
			return fmt.Errorf("begin load: %w", err)
		}
		defer tx.Rollback()
		err = db.applyRecords(ctx, newApplier(db, tx, false), size, recs)
		if err == nil {
			err = fmt.Errorf("load: a deferred insert failed but no entry fails alone")
		}
	}
	if err != nil {
		return err
	}
	if err := db.insertEntries(ctx, tx, recs); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, db.rebind(`UPDATE log_seq SET size = ? WHERE id = 1`), size+uint64(len(recs))); err != nil {
		return fmt.Errorf("advance log size: %w", err)
	}
	return tx.Commit()
}

// DecodeLeaf parses an entry envelope strictly (canonical form, known
// fields) into the domain type.
func DecodeLeaf(leaf []byte) (custody.Entry, error) {
	v, err := verify.ParseEntry(leaf)
	if err != nil {
		return custody.Entry{}, err
	}
	return custody.Entry{V: v.V, ID: v.ID, Type: v.Type, Store: v.Store, Actor: v.Actor, Time: v.Time,
		DeviceTime: v.DeviceTime, Subject: v.Subject, Payload: custody.Ref(v.Payload)}, nil
}

// DumpIndex returns every row of every index table, each row as one line of
// normalised text keyed by its primary key, for comparing two databases
// (a live one and one rebuilt from the log) whatever their dialects.
func (db *DB) DumpIndex(ctx context.Context) (map[string]map[string]string, error) {
	out := make(map[string]map[string]string)
	for _, t := range IndexTables {
		rows, err := db.read.QueryContext(ctx, `SELECT * FROM `+t)
		if err != nil {
			return nil, fmt.Errorf("dump %s: %w", t, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("dump %s: %w", t, err)
		}
		m := make(map[string]string)
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("dump %s: %w", t, err)
			}
			var b strings.Builder
			for i, v := range vals {
				if i > 0 {
					b.WriteString(" ")
				}
				b.WriteString(cols[i] + "=" + normValue(v))
			}
			nk := max(1, keyColumns[t])
			keys := make([]string, nk)
			for i := range nk {
				keys[i] = normValue(vals[i])
			}
			m[strings.Join(keys, " ")] = b.String()
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("dump %s: %w", t, err)
		}
		out[t] = m
	}
	return out, nil
}

func normValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return "x" + hex.EncodeToString(x)
	case string:
		return strconv.Quote(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		if x {
			return "1"
		}
		return "0"
	}
	return fmt.Sprintf("%v", v)
}
