package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/custody-dev/custody"
)

// Sign-in limits (migration 0006): failures and lock-outs per name, a
// token bucket per client address, sign-ins waiting for their second
// factor, and the last TOTP step each user spent. Like sessions they are
// NOT derived from the log: written directly, shared by every node of a
// store, left alone by Replay (a rebuilt SQLite file starts without them).
// The policy (how many failures, how long a lock) is the caller's; this
// file only keeps the state, each change in a transaction that locks the
// row, so that concurrent sign-ins on several nodes count exactly.

// SignInAccount is the failure record of one name tried at sign-in.
// Times are custody.TimeFormat strings; LockedUntil is "" when the name
// has never been locked.
type SignInAccount struct {
	Name        string
	Failures    int // consecutive failures since the last success or lock
	Lockouts    int // lock-outs so far
	LockedUntil string
	LastFailure string
}

// SignInAccount returns the failure record of name; a name without one has
// the zero record. It never fails with ENOTFOUND.
func (db *DB) SignInAccount(ctx context.Context, name string) (SignInAccount, error) {
	a := SignInAccount{Name: name}
	var locked sql.NullString
	err := db.read.QueryRowContext(ctx, db.rebind(`SELECT failures, lockouts, locked_until, last_failure FROM signin_accounts WHERE name = ?`), name).
		Scan(&a.Failures, &a.Lockouts, &locked, &a.LastFailure)
	if errors.Is(err, sql.ErrNoRows) {
		return a, nil
	} else if err != nil {
		return a, fmt.Errorf("read sign-in failures: %w", err)
	}
	a.LockedUntil = locked.String
	return a, nil
}

// UpdateSignInAccount changes the failure record of name with fn, which
// sees the current record (the zero record if there is none) while the row
// is locked against every other node. The record fn leaves is stored, and
// returned; an error from fn changes nothing.
func (db *DB) UpdateSignInAccount(ctx context.Context, name string, fn func(*SignInAccount) error) (SignInAccount, error) {
	a := SignInAccount{Name: name}
	err := db.lockedRow(ctx, `INSERT INTO signin_accounts (name, failures, lockouts, locked_until, last_failure) VALUES (?, 0, 0, NULL, '')
		ON CONFLICT (name) DO NOTHING`, name,
		`SELECT failures, lockouts, COALESCE(locked_until, ''), last_failure FROM signin_accounts WHERE name = ?`,
		[]any{&a.Failures, &a.Lockouts, &a.LockedUntil, &a.LastFailure},
		func(tx *sql.Tx) error {
			if err := fn(&a); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, db.rebind(`UPDATE signin_accounts SET failures = ?, lockouts = ?, locked_until = ?, last_failure = ?
				WHERE name = ?`), a.Failures, a.Lockouts, nullable(a.LockedUntil), a.LastFailure, name)
			return err
		})
	return a, err
}

// DeleteSignInAccount forgets the failures and locks of name (a successful
// sign-in, or an administrator's unlock). It reports whether there were
// any.
func (db *DB) DeleteSignInAccount(ctx context.Context, name string) (bool, error) {
	res, err := db.write.ExecContext(ctx, db.rebind(`DELETE FROM signin_accounts WHERE name = ?`), name)
	if err != nil {
		return false, fmt.Errorf("delete sign-in failures: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// LockedAccounts lists the names locked at now (a TimeFormat string).
func (db *DB) LockedAccounts(ctx context.Context, now string) ([]SignInAccount, error) {
	rows, err := db.read.QueryContext(ctx, db.rebind(`SELECT name, failures, lockouts, locked_until, last_failure FROM signin_accounts
		WHERE locked_until > ? ORDER BY name`), now)
	if err != nil {
		return nil, fmt.Errorf("list locked names: %w", err)
	}
	defer rows.Close()
	var out []SignInAccount
	for rows.Next() {
		var a SignInAccount
		if err := rows.Scan(&a.Name, &a.Failures, &a.Lockouts, &a.LockedUntil, &a.LastFailure); err != nil {
			return nil, fmt.Errorf("list locked names: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// UpdateSignInAddr changes the token bucket of a client address with fn,
// which sees the tokens left and when they were last counted ("" for a
// new address: fn fills the bucket) while the row is locked. The bucket fn
// leaves is stored; an error from fn changes nothing.
func (db *DB) UpdateSignInAddr(ctx context.Context, addr string, fn func(tokens *float64, updatedAt *string) error) error {
	var tokens float64
	var updated string
	return db.lockedRow(ctx, `INSERT INTO signin_addrs (addr, tokens, updated_at) VALUES (?, 0, '') ON CONFLICT (addr) DO NOTHING`, addr,
		`SELECT tokens, updated_at FROM signin_addrs WHERE addr = ?`, []any{&tokens, &updated},
		func(tx *sql.Tx) error {
			if err := fn(&tokens, &updated); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, db.rebind(`UPDATE signin_addrs SET tokens = ?, updated_at = ? WHERE addr = ?`), tokens, updated, addr)
			return err
		})
}

// lockedRow runs, in one transaction: ensure (an insert of a default row
// that does nothing if the row exists, with key as its one argument), sel
// (the row, locked FOR UPDATE on PostgreSQL; SQLite's write transaction
// already excludes every other writer) scanned into dest, and then fn.
func (db *DB) lockedRow(ctx context.Context, ensure, key, sel string, dest []any, fn func(*sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin sign-in update: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, db.rebind(ensure), key); err != nil {
		return fmt.Errorf("sign-in state: %w", err)
	}
	if db.dialect == Postgres {
		sel += ` FOR UPDATE`
	}
	if err := tx.QueryRowContext(ctx, db.rebind(sel), key).Scan(dest...); err != nil {
		return fmt.Errorf("sign-in state: %w", err)
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit sign-in state: %w", err)
	}
	return nil
}

// DeleteStaleSignIn sweeps the sign-in state nobody needs any more: failure
// records whose lock (if any) ended and whose last failure were before
// before, address buckets untouched since bucketsBefore (full again by
// then), and second-factor challenges expired at now. All are TimeFormat
// strings.
func (db *DB) DeleteStaleSignIn(ctx context.Context, before, bucketsBefore, now string) error {
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM signin_accounts WHERE last_failure < ? AND (locked_until IS NULL OR locked_until < ?)`, []any{before, before}},
		{`DELETE FROM signin_addrs WHERE updated_at < ?`, []any{bucketsBefore}},
		{`DELETE FROM signin_pending WHERE expires_at <= ?`, []any{now}},
	} {
		if _, err := db.write.ExecContext(ctx, db.rebind(q.sql), q.args...); err != nil {
			return fmt.Errorf("sweep sign-in state: %w", err)
		}
	}
	return nil
}

// PendingSignIn is a sign-in whose password was right, waiting for the
// user's TOTP code.
type PendingSignIn struct {
	IDHash    string // hex SHA-256 of the challenge token
	UserID    string
	ExpiresAt string
	Attempts  int // wrong codes so far
}

// CreatePendingSignIn stores a challenge. Errors: ECONFLICT (the hash
// exists: the caller's random source is broken).
func (db *DB) CreatePendingSignIn(ctx context.Context, p PendingSignIn) error {
	_, err := db.write.ExecContext(ctx, db.rebind(`INSERT INTO signin_pending (id_hash, user_id, expires_at, attempts) VALUES (?, ?, ?, ?)`),
		p.IDHash, p.UserID, p.ExpiresAt, p.Attempts)
	if err != nil {
		if db.isUnique(err) {
			return custody.Errorf(custody.ECONFLICT, "challenge exists")
		}
		return fmt.Errorf("create challenge: %w", err)
	}
	return nil
}

// PendingSignInByHash returns the challenge whose token hashes to h,
// expired or not. Errors: ENOTFOUND.
func (db *DB) PendingSignInByHash(ctx context.Context, h string) (*PendingSignIn, error) {
	p := PendingSignIn{IDHash: h}
	err := db.read.QueryRowContext(ctx, db.rebind(`SELECT user_id, expires_at, attempts FROM signin_pending WHERE id_hash = ?`), h).
		Scan(&p.UserID, &p.ExpiresAt, &p.Attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custody.Errorf(custody.ENOTFOUND, "no such challenge")
	} else if err != nil {
		return nil, fmt.Errorf("read challenge: %w", err)
	}
	return &p, nil
}

// CountPendingAttempt adds a wrong code to a challenge and returns the
// wrong codes so far. Errors: ENOTFOUND (spent or swept meanwhile).
func (db *DB) CountPendingAttempt(ctx context.Context, h string) (int, error) {
	var n int
	err := db.lockedRow(ctx, `UPDATE signin_pending SET attempts = attempts + 1 WHERE id_hash = ?`, h,
		`SELECT attempts FROM signin_pending WHERE id_hash = ?`, []any{&n}, func(*sql.Tx) error { return nil })
	if errors.Is(err, sql.ErrNoRows) {
		return 0, custody.Errorf(custody.ENOTFOUND, "no such challenge")
	}
	return n, err
}

// DeletePendingSignIn removes a challenge and reports whether it was
// there: of two requests presenting it at once, one alone sees true.
func (db *DB) DeletePendingSignIn(ctx context.Context, h string) (bool, error) {
	res, err := db.write.ExecContext(ctx, db.rebind(`DELETE FROM signin_pending WHERE id_hash = ?`), h)
	if err != nil {
		return false, fmt.Errorf("delete challenge: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UseTOTPStep records that a user signed in with the TOTP code of step,
// unless a code of that step or a later one was accepted before: it
// reports whether the step was new. This is what makes a code single-use.
func (db *DB) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	res, err := db.write.ExecContext(ctx, db.rebind(`INSERT INTO totp_used (user_id, step) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET step = excluded.step WHERE totp_used.step < excluded.step`), userID, step)
	if err != nil {
		return false, fmt.Errorf("record TOTP step: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ResetTOTPSteps forgets the steps a user spent (a new key was set).
func (db *DB) ResetTOTPSteps(ctx context.Context, userID string) error {
	if _, err := db.write.ExecContext(ctx, db.rebind(`DELETE FROM totp_used WHERE user_id = ?`), userID); err != nil {
		return fmt.Errorf("reset TOTP steps: %w", err)
	}
	return nil
}
