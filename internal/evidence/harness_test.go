package evidence_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/blobstore"
	"github.com/custody-dev/custody/internal/evidence"
	"github.com/custody-dev/custody/internal/ledger"
	"github.com/custody-dev/custody/internal/locality"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
	"github.com/google/uuid"
)

// fakeClock advances by step on every reading, so that times are distinct
// and predictable. It is safe for concurrent use.
type fakeClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), step: time.Millisecond}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

// env is a store under test: a service over a fresh database, with the
// directories and keys it was built from, so that tests can tamper with
// them or open a second service on the same store.
type env struct {
	t          testing.TB
	dialect    string
	dsn        string
	dir        string // holds blobs/, log/, private/
	storeID    string
	origin     string
	skey, vkey string
	clock      *fakeClock
	db         *sqlstore.DB
	blobs      *blobstore.FS
	public     *blobstore.FSObjects
	private    *blobstore.FSObjects
	svc        *evidence.Service
	admin      *custody.User
	adminToken string
}

// newService builds a fresh, initialised store of the given dialect with an
// admin user.
func newService(t testing.TB, dialect string) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, dialect: dialect, dsn: sqltest.DSN(t, dialect), dir: t.TempDir(), clock: newClock()}
	e.storeID = uuid.Must(uuid.NewV7()).String()
	e.origin = "custody.test/" + e.storeID
	var err error
	if e.skey, e.vkey, err = ledger.GenerateKey(rand.Reader, e.origin); err != nil {
		t.Fatal(err)
	}
	e.open()
	if err := e.db.SetMeta(ctx, "store_id", e.storeID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Init(ctx, "test store"); err != nil {
		t.Fatalf("Init: %v", err)
	}
	e.admin, e.adminToken, err = e.svc.CreateUser(ctx, custody.SystemActor, "admin", custody.RoleAdmin, "")
	if err != nil {
		t.Fatalf("CreateUser admin: %v", err)
	}
	return e
}

// open (re)opens the database and service of e.
func (e *env) open() {
	e.t.Helper()
	db, blobs, pub, priv, svc := e.openHandle()
	e.db, e.blobs, e.public, e.private, e.svc = db, blobs, pub, priv, svc
}

// openHandle opens another database handle and service on e's store, as a
// second process would.
func (e *env) openHandle() (*sqlstore.DB, *blobstore.FS, *blobstore.FSObjects, *blobstore.FSObjects, *evidence.Service) {
	t := e.t
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, e.dsn, sqlstore.Options{Now: e.clock.Now})
	if err != nil {
		t.Fatalf("sqlstore.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, err := blobstore.NewFS(filepath.Join(e.dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := blobstore.NewFSObjects(filepath.Join(e.dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := blobstore.NewFSObjects(filepath.Join(e.dir, "private"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := evidence.New(evidence.Config{
		StoreID: e.storeID, Origin: e.origin, SignerKey: e.skey, VerifierKey: e.vkey,
		DB: db, Blobs: blobs, Public: pub, Private: priv, Now: e.clock.Now, Localities: gazetteer(t),
	})
	if err != nil {
		t.Fatalf("evidence.New: %v", err)
	}
	return db, blobs, pub, priv, svc
}

// raw opens the store's database directly, for tampering.
func (e *env) raw() *sql.DB {
	e.t.Helper()
	var db *sql.DB
	var err error
	if e.dialect == "sqlite" {
		db, err = sql.Open("sqlite", "file:"+strings.TrimPrefix(e.dsn, "sqlite:")+"?_pragma=busy_timeout(10000)")
	} else {
		db, err = sql.Open("pgx", e.dsn)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	return db
}

// exec runs a tampering statement (written with ? placeholders) on the raw
// database and requires it to change at least one row.
func (e *env) exec(q string, args ...any) {
	e.t.Helper()
	db := e.raw()
	if e.dialect == "postgres" {
		n := 0
		var b strings.Builder
		for _, c := range q {
			if c == '?' {
				n++
				b.WriteString("$" + itoa(n))
				continue
			}
			b.WriteRune(c)
		}
		q = b.String()
	}
	res, err := db.ExecContext(context.Background(), q, args...)
	if err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		e.t.Fatalf("%s: no row changed", q)
	}
}

func itoa(n int) string {
	const d = "0123456789"
	if n < 10 {
		return d[n : n+1]
	}
	return itoa(n/10) + d[n%10:n%10+1]
}

// logSize returns the number of sequenced entries.
func (e *env) logSize() uint64 {
	e.t.Helper()
	n, err := e.db.LogSize(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// user creates a user of the given role.
func (e *env) user(name string, role custody.Role) *custody.User {
	e.t.Helper()
	u, _, err := e.svc.CreateUser(context.Background(), e.admin, name, role, "")
	if err != nil {
		e.t.Fatalf("CreateUser %s: %v", name, err)
	}
	return u
}

// intake takes in content as a digital item.
func (e *env) intake(actor *custody.User, name, content string) *custody.Item {
	e.t.Helper()
	it, err := e.svc.Intake(context.Background(), actor, custody.IntakeRequest{Name: name, Case: "UA-2026-001",
		Collector: "o.kovalenko", Content: strings.NewReader(content)})
	if err != nil {
		e.t.Fatalf("Intake %s: %v", name, err)
	}
	return it
}

// publish publishes the log.
func (e *env) publish() uint64 {
	e.t.Helper()
	n, err := e.svc.Publish(context.Background())
	if err != nil {
		e.t.Fatalf("Publish: %v", err)
	}
	return n
}

// verify runs Verify and returns the report.
func (e *env) verify() *evidence.Report {
	e.t.Helper()
	r, err := e.svc.Verify(context.Background(), 2, nil)
	if err != nil {
		e.t.Fatalf("Verify: %v", err)
	}
	return r
}

// wantCode fails unless err carries the custody error code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := custody.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// forEachDialect runs f as a subtest on every dialect of the suite.
func forEachDialect(t *testing.T, f func(t *testing.T, dialect string)) {
	for _, d := range sqltest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			f(t, d)
		})
	}
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

var loadGazetteer = sync.OnceValues(locality.Load)

// gazetteer returns the KATOTTH codifier, loaded once per test binary.
func gazetteer(t testing.TB) *locality.Gazetteer {
	g, err := loadGazetteer()
	if err != nil {
		t.Fatalf("load gazetteer: %v", err)
	}
	return g
}

// grant gives u the compartments (case or team record IDs).
func (e *env) grant(u *custody.User, compartments ...string) {
	e.t.Helper()
	for _, c := range compartments {
		if err := e.svc.Grant(context.Background(), e.admin, u.Name, c, "test", false); err != nil {
			e.t.Fatalf("grant %s %s: %v", u.Name, c, err)
		}
	}
}
