// Package sqltest gives tests a fresh database per test: a SQLite file in a
// temporary directory, and — when CUSTODY_TEST_POSTGRES names a server — a
// new PostgreSQL database created for the test and dropped after it.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// EnvPostgres names the environment variable holding an admin DSN of a
// PostgreSQL server for tests, e.g. postgres://postgres@127.0.0.1:5432/postgres.
const EnvPostgres = "CUSTODY_TEST_POSTGRES"

// Dialects returns the dialects to run a conformance suite on: always
// "sqlite", and "postgres" when CUSTODY_TEST_POSTGRES is set. In CI (CI=true)
// a missing PostgreSQL is a failure, not a skip.
func Dialects(t testing.TB) []string {
	if os.Getenv(EnvPostgres) != "" {
		return []string{"sqlite", "postgres"}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but %s is not set: the PostgreSQL suite must run in CI", EnvPostgres)
	}
	return []string{"sqlite"}
}

// DSN returns the DSN of a fresh, empty database of the given dialect,
// removed when the test ends.
func DSN(t testing.TB, dialect string) string {
	t.Helper()
	if dialect == "sqlite" {
		return "sqlite:" + filepath.Join(t.TempDir(), "custody.db")
	}
	admin := os.Getenv(EnvPostgres)
	if admin == "" {
		t.Skipf("%s not set", EnvPostgres)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "custody_test_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		db.Close()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	u.Path = "/" + name
	return u.String()
}
