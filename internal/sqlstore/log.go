package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/verify"
)

// Pending is a change waiting to be sequenced: its envelope (Time is set by
// the sequencer) and its canonical payload.
type Pending struct {
	Entry   custody.Entry
	Payload []byte
	// Record, for a record.create or record.update entry, is what the
	// projection would decode from Payload and parse from its data, handed
	// over by a caller that has just encoded Payload from it and validated
	// the data: the append path then skips decoding and parsing again.
	// Replay always decodes the payload. Nil: decode.
	Record *ParsedRecord
}

// ParsedRecord is a record change as decoded from its payload, with the
// facts of its data (custody.ParseRecordData). Facts is read, never
// changed, by the projection.
type ParsedRecord struct {
	Change custody.RecordChange
	Facts  *custody.RecordFacts
}

// Appended is a sequenced entry as committed.
type Appended struct {
	Index uint64
	Entry custody.Entry
	Leaf  []byte
}

type appendReq struct {
	ctx     context.Context
	entries []Pending
	sealed  [][]byte // the payloads as stored, if sealed; else nil
	done    chan appendResult
}

type appendResult struct {
	out []Appended
	err error
}

// appender commits concurrent appends in groups: one transaction, one fsync,
// for every request waiting when the previous commit ends.
type appender struct {
	db       *DB
	reqs     chan *appendReq
	maxBatch int
	wg       sync.WaitGroup
	stop     chan struct{}
	once     sync.Once
	// mu orders sends on reqs before close: once closed is set, no request
	// is queued that the stopped loop would never answer.
	mu     sync.RWMutex
	closed bool
}

func newAppender(db *DB, maxBatch int) *appender {
	if maxBatch <= 0 {
		maxBatch = 4096
	}
	a := &appender{db: db, reqs: make(chan *appendReq, 1024), maxBatch: maxBatch, stop: make(chan struct{})}
	a.wg.Add(1)
	go a.loop()
	return a
}

func (a *appender) close() {
	a.once.Do(func() {
		a.mu.Lock()
		a.closed = true
		close(a.stop)
		a.mu.Unlock()
	})
	a.wg.Wait()
}

func (a *appender) loop() {
	defer a.wg.Done()
	for {
		var first *appendReq
		select {
		case first = <-a.reqs:
		case <-a.stop:
			// Fail what is still queued: nothing was acknowledged.
			for {
				select {
				case r := <-a.reqs:
					r.done <- appendResult{err: custody.Errorf(custody.EUNAVAILABLE, "the store is closing")}
				default:
					return
				}
			}
		}
		batch := []*appendReq{first}
		n := len(first.entries)
	drain:
		for n < a.maxBatch {
			select {
			case r := <-a.reqs:
				batch = append(batch, r)
				n += len(r.entries)
			default:
				break drain
			}
		}
		a.commit(batch)
	}
}

// Append sequences entries as one unit: all are committed with consecutive
// indices and their index rows, or none is. It returns once the entries are
// durable (committed with synchronous=FULL on SQLite; committed on
// PostgreSQL). Errors: those of the projection (EINVALID, ECONFLICT,
// ENOTFOUND), EUNAVAILABLE when closing.
func (db *DB) Append(ctx context.Context, entries ...Pending) ([]Appended, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	// Payloads are sealed here, by the callers' goroutines in parallel,
	// rather than in the single sequencing loop.
	sealed, err := db.sealPayloads(entries)
	if err != nil {
		return nil, err
	}
	r := &appendReq{ctx: ctx, entries: entries, sealed: sealed, done: make(chan appendResult, 1)}
	// The read lock keeps close from stopping the loop between the closed
	// check and the send; the loop keeps draining reqs until stop is
	// closed, so a send blocked on a full queue does not block close forever.
	db.app.mu.RLock()
	if db.app.closed {
		db.app.mu.RUnlock()
		return nil, custody.Errorf(custody.EUNAVAILABLE, "the store is closing")
	}
	select {
	case db.app.reqs <- r:
		db.app.mu.RUnlock()
	case <-ctx.Done():
		db.app.mu.RUnlock()
		return nil, ctx.Err()
	}
	// Once queued, wait for the outcome even if ctx ends: the caller must
	// learn whether its entry was committed.
	res := <-r.done
	return res.out, res.err
}

func (a *appender) commit(batch []*appendReq) {
	// Optimistic first: the whole batch in one pass with buffered inserts.
	// Rejections are rare (racing handovers, a name taken); when one
	// happens, the batch is redone carefully, one savepoint per request, so
	// the rejected request alone fails and the others still commit.
	results, err := a.attempt(batch, false)
	if err == nil {
		for i := range results {
			if results[i].err != nil && !isCtxErr(results[i].err) {
				err = errRedo
				break
			}
		}
	}
	if err != nil && (errors.Is(err, errRedo) || isFlushError(err)) {
		results, err = a.attempt(batch, true)
	}
	for i, r := range batch {
		res := results[i]
		if err != nil && res.err == nil {
			res = appendResult{err: err}
		}
		r.done <- res
	}
}

var errRedo = errors.New("redo the batch request by request")

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// attempt runs batch in one transaction. Careful mode isolates each request
// in a savepoint and writes immediately; otherwise the first rejected
// request aborts the attempt (errRedo) and nothing is committed.
func (a *appender) attempt(batch []*appendReq, careful bool) ([]appendResult, error) {
	db := a.db
	results := make([]appendResult, len(batch))
	ctx := context.Background()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return results, fmt.Errorf("begin append: %w", err)
	}
	defer tx.Rollback()
	// Lock the sequence first, then read the last entry in a statement of
	// its own: on PostgreSQL a join under FOR UPDATE would read the entry
	// from the snapshot taken before the lock was granted, and miss the
	// entries of the transaction it waited for.
	lock := `SELECT size FROM log_seq WHERE id = 1`
	if db.dialect == Postgres {
		lock += ` FOR UPDATE`
	}
	var size uint64
	if err := tx.QueryRowContext(ctx, lock).Scan(&size); err != nil {
		return results, fmt.Errorf("read log size: %w", err)
	}
	var lastLeaf []byte
	if size > 0 {
		err := tx.QueryRowContext(ctx, db.rebind(`SELECT leaf FROM log_entries WHERE idx = ?`), size-1).Scan(&lastLeaf)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return results, fmt.Errorf("read log entry %d: %w", size-1, err)
		}
	}
	last, err := lastTime(size, lastLeaf)
	if err != nil {
		return results, err
	}
	now := db.now().UTC()
	if now.Before(last) {
		now = last // entry times never go backwards in log order
	}
	stamp := custody.FormatTime(now)
	next := size
	var rows []custody.LogRecord
	ap := newApplier(db, tx, true) // careful requests write through their own
	for i, r := range batch {
		if r.ctx.Err() != nil {
			results[i].err = r.ctx.Err()
			continue
		}
		var out []Appended
		var recs []custody.LogRecord
		if careful {
			out, recs, err = db.applyRequest(ctx, tx, r.entries, next, stamp)
		} else {
			out, recs, err = db.applyEntries(ctx, ap, r.entries, next, stamp)
		}
		if err != nil {
			results[i].err = err
			if !careful {
				return results, errRedo
			}
			continue
		}
		results[i].out = out
		if r.sealed != nil {
			for j := range recs {
				recs[j].Payload = r.sealed[j]
			}
		}
		rows = append(rows, recs...)
		next += uint64(len(recs))
	}
	if next == size {
		return results, nil
	}
	for _, r := range rows {
		if err := ap.insert(ctx, "log_entries", "idx, leaf, payload", r.Index, r.Leaf, r.Payload); err != nil {
			return results, err
		}
	}
	// The index rows, the entries and the new size: one statement on
	// PostgreSQL.
	if err := ap.flushThen(ctx, `UPDATE log_seq SET size = `+strconv.FormatUint(next, 10)+` WHERE id = 1`); err != nil {
		return results, fmt.Errorf("append entries: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return results, fmt.Errorf("commit append: %w", err)
	}
	return results, nil
}

// applyRequest applies one request's entries inside a savepoint, writing
// immediately, so that a rejected request leaves the others of the batch
// intact.
func (db *DB) applyRequest(ctx context.Context, tx *sql.Tx, entries []Pending, next uint64, stamp string) ([]Appended, []custody.LogRecord, error) {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT req`); err != nil {
		return nil, nil, fmt.Errorf("savepoint: %w", err)
	}
	out, recs, err := db.applyEntries(ctx, newApplier(db, tx, false), entries, next, stamp)
	if err != nil {
		if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT req`); rerr != nil {
			return nil, nil, fmt.Errorf("rollback to savepoint: %w (after %v)", rerr, err)
		}
		tx.ExecContext(ctx, `RELEASE SAVEPOINT req`)
		return nil, nil, err
	}
	if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT req`); err != nil {
		return nil, nil, fmt.Errorf("release savepoint: %w", err)
	}
	return out, recs, nil
}

// applyEntries seals entries (time, payload hash) and applies them to the
// index from log index next on.
func (db *DB) applyEntries(ctx context.Context, ap *applier, entries []Pending, next uint64, stamp string) ([]Appended, []custody.LogRecord, error) {
	out := make([]Appended, 0, len(entries))
	recs := make([]custody.LogRecord, 0, len(entries))
	for j, p := range entries {
		e := p.Entry
		e.V = custody.EntryVersion
		e.Time = stamp
		e.Payload = custody.Ref(verify.ContentRef(p.Payload))
		leaf, err := encodeEntry(e)
		if err != nil {
			return nil, nil, fmt.Errorf("encode entry: %w", err)
		}
		if len(leaf) > verify.MaxEntrySize {
			return nil, nil, custody.Errorf(custody.ETOOLARGE, "entry of %d bytes is over the limit", len(leaf))
		}
		idx := next + uint64(j)
		if r := p.Record; r != nil && (e.Type == custody.EntryRecordCreate || e.Type == custody.EntryRecordUpdate) {
			err = db.applyRecordChange(ctx, ap, idx, e, r.Change, r.Facts)
		} else {
			err = db.apply(ctx, ap, idx, e, p.Payload)
		}
		if err != nil {
			return nil, nil, err
		}
		out = append(out, Appended{Index: idx, Entry: e, Leaf: leaf})
		recs = append(recs, custody.LogRecord{Index: idx, Leaf: leaf, Payload: p.Payload})
	}
	return out, recs, nil
}

// lastTime returns the time of the last entry (leaf, at index size-1).
func lastTime(size uint64, leaf []byte) (time.Time, error) {
	if size == 0 {
		return time.Time{}, nil
	}
	if leaf == nil {
		return time.Time{}, fmt.Errorf("log entry %d is missing", size-1)
	}
	e, err := verify.ParseEntry(leaf)
	if err != nil {
		return time.Time{}, fmt.Errorf("last entry %d: %w", size-1, err)
	}
	t, err := time.Parse(time.RFC3339Nano, e.Time)
	if err != nil {
		return time.Time{}, fmt.Errorf("last entry %d: time: %w", size-1, err)
	}
	return t, nil
}

func (db *DB) insertEntries(ctx context.Context, tx *sql.Tx, rows []custody.LogRecord) error {
	const chunk = 200
	for len(rows) > 0 {
		n := min(chunk, len(rows))
		var q strings.Builder
		q.WriteString(`INSERT INTO log_entries (idx, leaf, payload) VALUES `)
		args := make([]any, 0, 3*n)
		for i, r := range rows[:n] {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString("(?, ?, ?)")
			payload, err := db.storedPayload(r.Payload)
			if err != nil {
				return err
			}
			args = append(args, r.Index, r.Leaf, payload)
		}
		if _, err := tx.ExecContext(ctx, db.rebind(q.String()), args...); err != nil {
			return fmt.Errorf("insert log entries: %w", err)
		}
		rows = rows[n:]
	}
	return nil
}

// LogSize returns the number of sequenced entries.
func (db *DB) LogSize(ctx context.Context) (uint64, error) {
	var n uint64
	if err := db.read.QueryRowContext(ctx, `SELECT size FROM log_seq WHERE id = 1`).Scan(&n); err != nil {
		return 0, fmt.Errorf("read log size: %w", err)
	}
	return n, nil
}

// Records returns the sequenced entries with from <= index < to, in order,
// with their payloads in plaintext (opened if the store seals them).
// Errors: ETAMPERED (a sealed payload fails authentication), and an error
// naming the data key if one is missing.
func (db *DB) Records(ctx context.Context, from, to uint64) ([]custody.LogRecord, error) {
	return db.records(ctx, db.read, from, to)
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func (db *DB) records(ctx context.Context, q querier, from, to uint64) ([]custody.LogRecord, error) {
	rows, err := q.QueryContext(ctx, db.rebind(`SELECT idx, leaf, payload FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx`), from, to)
	if err != nil {
		return nil, fmt.Errorf("read log entries: %w", err)
	}
	defer rows.Close()
	var out []custody.LogRecord
	for rows.Next() {
		var r custody.LogRecord
		if err := rows.Scan(&r.Index, &r.Leaf, &r.Payload); err != nil {
			return nil, fmt.Errorf("read log entry: %w", err)
		}
		var err error
		if r.Payload, err = db.openPayload(r.Index, r.Payload); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Integration is the published part of the log, as its integrator last left
// it: the size and the serialised tree state (see ledger.State).
type Integration struct {
	Size  uint64
	State []byte
}

// IntegrateFunc publishes records (the entries from prev.Size on) and
// returns the new tree state and its signed checkpoint.
type IntegrateFunc func(ctx context.Context, prev Integration, recs []custody.LogRecord) (next Integration, checkpoint []byte, err error)

// Integrate runs fn on the entries sequenced but not yet published, holding
// the integration lock, and records the new state and checkpoint. At most
// max entries are taken per call. It returns the new published size.
// Several processes may call it at once: one publishes, the others then find
// nothing to do.
func (db *DB) Integrate(ctx context.Context, max int, fn IntegrateFunc) (uint64, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin integrate: %w", err)
	}
	defer tx.Rollback()
	q := `SELECT size, state FROM log_integ WHERE id = 1`
	if db.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var prev Integration
	if err := tx.QueryRowContext(ctx, q).Scan(&prev.Size, &prev.State); err != nil {
		return 0, fmt.Errorf("read integration state: %w", err)
	}
	var size uint64
	if err := tx.QueryRowContext(ctx, `SELECT size FROM log_seq WHERE id = 1`).Scan(&size); err != nil {
		return 0, fmt.Errorf("read log size: %w", err)
	}
	if size <= prev.Size {
		return prev.Size, nil
	}
	to := min(size, prev.Size+uint64(max))
	recs, err := db.records(ctx, tx, prev.Size, to)
	if err != nil {
		return 0, err
	}
	if uint64(len(recs)) != to-prev.Size {
		return 0, fmt.Errorf("log entries %d..%d: found %d rows: the log has a gap", prev.Size, to, len(recs))
	}
	next, note, err := fn(ctx, prev, recs)
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, db.rebind(`UPDATE log_integ SET size = ?, state = ? WHERE id = 1`), next.Size, next.State); err != nil {
		return 0, fmt.Errorf("save integration state: %w", err)
	}
	if _, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO checkpoints (size, note, created_at) VALUES (?, ?, ?)`), next.Size, string(note), custody.FormatTime(db.now())); err != nil {
		return 0, fmt.Errorf("save checkpoint: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit integrate: %w", err)
	}
	return next.Size, nil
}

// Published returns the integration state.
func (db *DB) Published(ctx context.Context) (Integration, error) {
	var in Integration
	if err := db.read.QueryRowContext(ctx, `SELECT size, state FROM log_integ WHERE id = 1`).Scan(&in.Size, &in.State); err != nil {
		return in, fmt.Errorf("read integration state: %w", err)
	}
	return in, nil
}

// StoredCheckpoint is a checkpoint as the store recorded it.
type StoredCheckpoint struct {
	Size      uint64
	Note      []byte
	CreatedAt string
}

// Checkpoints returns every recorded checkpoint in size order.
func (db *DB) Checkpoints(ctx context.Context) ([]StoredCheckpoint, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT size, note, created_at FROM checkpoints ORDER BY size`)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	defer rows.Close()
	var out []StoredCheckpoint
	for rows.Next() {
		var c StoredCheckpoint
		var note string
		if err := rows.Scan(&c.Size, &note, &c.CreatedAt); err != nil {
			return nil, fmt.Errorf("read checkpoint: %w", err)
		}
		c.Note = []byte(note)
		out = append(out, c)
	}
	return out, rows.Err()
}

// LatestCheckpoint returns the newest checkpoint. Errors: ENOTFOUND.
func (db *DB) LatestCheckpoint(ctx context.Context) (StoredCheckpoint, error) {
	var c StoredCheckpoint
	var note string
	err := db.read.QueryRowContext(ctx, `SELECT size, note, created_at FROM checkpoints ORDER BY size DESC LIMIT 1`).Scan(&c.Size, &note, &c.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return c, custody.Errorf(custody.ENOTFOUND, "no checkpoint has been published yet")
	} else if err != nil {
		return c, fmt.Errorf("read checkpoint: %w", err)
	}
	c.Note = []byte(note)
	return c, nil
}
