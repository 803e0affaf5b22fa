// Package sqlstore keeps Custody's log sequence and its index in a SQL
// database: SQLite (modernc.org/sqlite, no cgo) by default, PostgreSQL
// (jackc/pgx) for offices with several nodes.
//
// Invariants:
//   - log_entries is append-only. An entry and the index rows it produces are
//     committed in one transaction, so the index never runs ahead of or behind
//     the log; a rejected change consumes no log index.
//   - Sequencing is serialised by the database (SQLite's single write lock,
//     PostgreSQL's row lock on log_seq), so several processes or nodes can
//     append to one store without forking the log.
//   - Index tables (users, items, custody_events, ...) hold nothing that is not
//     derived from log entries and their payloads: Replay rebuilds them.
//   - Migrations are embedded, forward-only, and each runs in its own
//     transaction; a database with a newer schema than this build knows is
//     refused.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/custody-dev/custody"
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	_ "modernc.org/sqlite"             // SQLite driver "sqlite"
)

//go:embed migrations
var migrationFS embed.FS

// Dialect names.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// DB is an open store database.
type DB struct {
	dialect string
	write   *sql.DB // SQLite: one connection, the single writer; PostgreSQL: the pool
	read    *sql.DB
	app     *appender
	now     func() time.Time
	sealer  Sealer // nil: payloads are stored as they are
}

// Options configure Open.
type Options struct {
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// MaxBatch bounds the entries committed in one transaction (default 4096).
	MaxBatch int
	// Sealer, if set, encrypts the private payloads of log entries at rest
	// (see Sealer); nil stores them as they are.
	Sealer Sealer
}

// Open opens (and migrates) the database named by dsn: a "postgres://" or
// "postgresql://" URL, or a SQLite file path (optionally "sqlite:PATH").
func Open(ctx context.Context, dsn string, opt Options) (*DB, error) {
	db := &DB{now: opt.Now, sealer: opt.Sealer}
	if db.now == nil {
		db.now = time.Now
	}
	var err error
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db.dialect = Postgres
		if db.write, err = sql.Open("pgx", dsn); err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		db.write.SetMaxOpenConns(16)
		db.read = db.write
	default:
		db.dialect = SQLite
		path := strings.TrimPrefix(dsn, "sqlite:")
		// busy_timeout first, so the other pragmas wait for a busy database.
		// synchronous(FULL): an acknowledged append must survive power loss.
		q := "_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)"
		// The writer's page cache (64 MiB rather than 2): a group commit of
		// thousands of records touches many index pages, and spilling them
		// to the WAL mid-transaction doubled the cost of bulk imports.
		if db.write, err = sql.Open("sqlite", "file:"+escapePath(path)+"?"+q+"&_pragma=cache_size(-65536)&_txlock=immediate"); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		db.write.SetMaxOpenConns(1)
		if db.read, err = sql.Open("sqlite", "file:"+escapePath(path)+"?"+q+"&_pragma=query_only(1)"); err != nil {
			db.write.Close()
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		db.read.SetMaxOpenConns(8)
	}
	if err := db.write.PingContext(ctx); err != nil {
		db.closeDBs()
		return nil, fmt.Errorf("connect to %s database: %w", db.dialect, err)
	}
	if err := db.migrate(ctx); err != nil {
		db.closeDBs()
		return nil, err
	}
	db.app = newAppender(db, opt.MaxBatch)
	return db, nil
}

// Dialect returns SQLite or Postgres.
func (db *DB) Dialect() string { return db.dialect }

func (db *DB) closeDBs() {
	db.write.Close()
	if db.read != db.write {
		db.read.Close()
	}
}

// Close stops the appender (waiting for batches in flight) and closes the
// database.
func (db *DB) Close() error {
	if db.app != nil {
		db.app.close()
	}
	err := db.write.Close()
	if db.read != db.write {
		if e := db.read.Close(); err == nil {
			err = e
		}
	}
	return err
}

// rebind turns ? placeholders into $n for PostgreSQL.
func (db *DB) rebind(q string) string {
	if db.dialect != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// SchemaVersion is the newest migration this build knows.
func SchemaVersion() int {
	names, _ := migrationNames(SQLite)
	return len(names)
}

func migrationNames(dialect string) ([]string, error) {
	ents, err := fs.ReadDir(migrationFS, "migrations/"+dialect)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".sql") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

func (db *DB) migrate(ctx context.Context) error {
	names, err := migrationNames(db.dialect)
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	replay := false
	for i, name := range names {
		version := i + 1
		applied, err := db.migrateOne(ctx, version, name)
		if err != nil {
			return err
		}
		replay = replay || applied && replayAfter[name]
	}
	var newest int
	if err := db.write.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&newest); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if newest > len(names) {
		return &custody.Error{Code: custody.EUNSUPPORTED,
			Message: fmt.Sprintf("the database has schema version %d; this build of custody knows up to %d", newest, len(names)),
			Hint:    "upgrade custody"}
	}
	if replay {
		// New index tables derive from entries already in the log: fill
		// them the one way the index is ever written, by replaying it.
		var size uint64
		if err := db.write.QueryRowContext(ctx, `SELECT size FROM log_seq WHERE id = 1`).Scan(&size); err != nil {
			return fmt.Errorf("read log size: %w", err)
		}
		if size > 0 {
			if err := db.Replay(ctx, nil); err != nil {
				return fmt.Errorf("rebuild the index after migrating: %w", err)
			}
		}
	}
	return nil
}

// replayAfter names the migrations that add index tables derived from
// existing entries: applying one to a store that has entries replays the
// log into the index.
var replayAfter = map[string]bool{"0005_access.sql": true}

func (db *DB) migrateOne(ctx context.Context, version int, name string) (bool, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migration %s: %w", name, err)
	}
	defer tx.Rollback()
	if db.dialect == Postgres {
		// Serialise migrations across nodes starting at once.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7217001)`); err != nil {
			return false, fmt.Errorf("migration lock: %w", err)
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, db.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), version).Scan(&n); err != nil {
		return false, fmt.Errorf("migration %s: %w", name, err)
	}
	if n > 0 {
		return false, nil
	}
	body, err := fs.ReadFile(migrationFS, "migrations/"+db.dialect+"/"+name)
	if err != nil {
		return false, fmt.Errorf("migration %s: %w", name, err)
	}
	for _, stmt := range splitStatements(string(body)) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("migration %s: %w", name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), version, custody.FormatTime(db.now())); err != nil {
		return false, fmt.Errorf("migration %s: %w", name, err)
	}
	return true, tx.Commit()
}

// splitStatements splits a migration on semicolons at line ends, skipping
// comment lines. Migrations keep one statement per ";\n".
func splitStatements(s string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, cur.String())
	}
	return out
}

// Meta returns a value of the meta table. Errors: ENOTFOUND.
func (db *DB) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := db.read.QueryRowContext(ctx, db.rebind(`SELECT value FROM meta WHERE key = ?`), key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", custody.Errorf(custody.ENOTFOUND, "no %s in the store's metadata", key)
	} else if err != nil {
		return "", fmt.Errorf("read meta %s: %w", key, err)
	}
	return v, nil
}

// SetMeta sets a value of the meta table (only at init: meta is not derived
// from the log and rebuild restores it from the store.init entry).
func (db *DB) SetMeta(ctx context.Context, key, value string) error {
	q := `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`
	if _, err := db.write.ExecContext(ctx, db.rebind(q), key, value); err != nil {
		return fmt.Errorf("write meta %s: %w", key, err)
	}
	return nil
}

// escapePath escapes what a SQLite URI filename must not hold raw.
func escapePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}
