package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// applier is how the projection (apply) writes the index. In deferred mode
// it buffers inserts per table and sends them as multi-row statements
// (PostgreSQL; SQLite: row by row through a prepared statement, see
// flushRows), which turns one round trip per entry into one per few
// hundred; any read or update first flushes what is buffered, so apply
// always sees the rows of the entries before it. In immediate mode every statement runs at once, so
// an error is attributed to the entry that caused it.
//
// A constraint violated by a buffered insert surfaces at flush time as a
// *flushError, not attributable to one entry: callers then redo the work in
// immediate mode to learn which entry is at fault.
type applier struct {
	db       *DB
	tx       execer
	deferred bool
	bufs     map[string]*insertBuf
	order    []string             // tables in first-insert order, so parents flush before children
	params   int                  // buffered values, all tables
	stmts    map[string]*sql.Stmt // SQLite: prepared inserts, closed with the transaction
}

type insertBuf struct {
	cols string
	ncol int
	args []any
	rows int
}

// flushError is a failure of buffered inserts.
type flushError struct{ err error }

func (e *flushError) Error() string { return e.err.Error() }
func (e *flushError) Unwrap() error { return e.err }

func isFlushError(err error) bool {
	var fe *flushError
	return errors.As(err, &fe)
}

func newApplier(db *DB, tx execer, deferred bool) *applier {
	return &applier{db: db, tx: tx, deferred: deferred, bufs: make(map[string]*insertBuf)}
}

// insert adds one row to table. cols is the comma-separated column list;
// vals holds one value per column.
func (a *applier) insert(ctx context.Context, table, cols string, vals ...any) error {
	if !a.deferred {
		q := `INSERT INTO ` + table + ` (` + cols + `) VALUES (` + placeholders(len(vals)) + `)`
		_, err := a.tx.ExecContext(ctx, a.db.rebind(q), vals...)
		return err
	}
	b := a.bufs[table]
	if b == nil {
		b = &insertBuf{cols: cols, ncol: len(vals)}
		a.bufs[table] = b
		a.order = append(a.order, table)
	} else if b.cols != cols || b.ncol != len(vals) {
		if err := a.flushTable(ctx, table); err != nil {
			return err
		}
		b.cols, b.ncol = cols, len(vals)
	}
	b.args = append(b.args, vals...)
	b.rows++
	a.params += len(vals)
	if a.params >= maxParams {
		return a.flush(ctx)
	}
	return nil
}

// exec runs a statement after flushing buffered inserts.
func (a *applier) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if err := a.flush(ctx); err != nil {
		return nil, err
	}
	return a.tx.ExecContext(ctx, a.db.rebind(q), args...)
}

// queryRow runs a query after flushing buffered inserts and scans its one
// row into dest (sql.ErrNoRows when there is none).
func (a *applier) queryRow(ctx context.Context, q string, args []any, dest ...any) error {
	if err := a.flush(ctx); err != nil {
		return err
	}
	return a.tx.QueryRowContext(ctx, a.db.rebind(q), args...).Scan(dest...)
}

// queryRowIn is queryRow for a query that reads only tables: it flushes
// their buffered inserts alone, so that the other tables' buffers keep
// filling (a testimony's witness lookup would otherwise cut an import's
// batch into as many flushes as it has testimonies). The tables must have
// no foreign keys to tables still buffered.
func (a *applier) queryRowIn(ctx context.Context, tables []string, q string, args []any, dest ...any) error {
	for _, t := range tables {
		if err := a.flushTable(ctx, t); err != nil {
			return err
		}
	}
	return a.tx.QueryRowContext(ctx, a.db.rebind(q), args...).Scan(dest...)
}

// flush sends every buffered insert.
func (a *applier) flush(ctx context.Context) error {
	return a.flushThen(ctx, "")
}

// flushThen sends every buffered insert, parents first, and then the
// statement tail (no arguments), if any. (Folding them into one PostgreSQL
// statement with data-modifying WITH clauses was tried and measured no
// faster: the round trips are not what bounds appends.)
func (a *applier) flushThen(ctx context.Context, tail string) error {
	for _, t := range a.order {
		if err := a.flushTable(ctx, t); err != nil {
			return err
		}
	}
	if tail != "" {
		if _, err := a.tx.ExecContext(ctx, tail); err != nil {
			return err
		}
	}
	return nil
}

func writeInsert(q *strings.Builder, table string, b *insertBuf) {
	q.WriteString(`INSERT INTO ` + table + ` (` + b.cols + `) VALUES `)
	row := "(" + placeholders(b.ncol) + ")"
	for i := 0; i < b.rows; i++ {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(row)
	}
}

func (a *applier) flushTable(ctx context.Context, table string) error {
	b := a.bufs[table]
	if b == nil || b.rows == 0 {
		return nil
	}
	if a.db.dialect == SQLite {
		if p, ok := a.tx.(preparer); ok {
			return a.flushRows(ctx, p, table, b)
		}
	}
	var q strings.Builder
	writeInsert(&q, table, b)
	_, err := a.tx.ExecContext(ctx, a.db.rebind(q.String()), b.args...)
	a.params -= len(b.args)
	b.args, b.rows = b.args[:0], 0
	if err != nil {
		return &flushError{fmt.Errorf("insert into %s: %w", table, err)}
	}
	return nil
}

// maxParams bounds what is buffered, and so one statement's bound
// parameters, well under both dialects' limits (SQLite 32766, PostgreSQL
// 65535).
const maxParams = 20000

func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

type preparer interface {
	PrepareContext(ctx context.Context, q string) (*sql.Stmt, error)
}

// flushRows sends b's rows one at a time through a statement prepared once
// per transaction (SQLite). In process a row costs no round trip, whereas a
// multi-row statement costs a compilation as long as its rows (each flush
// a different text, so never cached) and a statement journal of every page
// it touches (a single-row insert needs none): together a third of an
// import. A row that fails leaves the rows before it inserted; like a
// failed multi-row statement it is a flushError, after which every caller
// rolls the transaction back.
func (a *applier) flushRows(ctx context.Context, p preparer, table string, b *insertBuf) error {
	q := `INSERT INTO ` + table + ` (` + b.cols + `) VALUES (` + placeholders(b.ncol) + `)`
	st := a.stmts[q]
	if st == nil {
		var err error
		if st, err = p.PrepareContext(ctx, q); err != nil {
			return &flushError{fmt.Errorf("insert into %s: %w", table, err)}
		}
		if a.stmts == nil {
			a.stmts = make(map[string]*sql.Stmt)
		}
		a.stmts[q] = st
	}
	args := b.args
	a.params -= len(b.args)
	b.args, b.rows = b.args[:0], 0
	for len(args) > 0 {
		if _, err := st.ExecContext(ctx, args[:b.ncol]...); err != nil {
			return &flushError{fmt.Errorf("insert into %s: %w", table, err)}
		}
		args = args[b.ncol:]
	}
	return nil
}
