package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/custody-dev/custody"
)

// Web sign-in sessions live in the sessions table (migration 0004). Unlike
// the index tables they are not derived from the log: they are the server's
// own short-lived state, written directly, and a rebuild or replay leaves
// them out (Replay does not touch them; a rebuilt SQLite file has none).

// SessionRow is a web session as stored. Times are custody.TimeFormat
// strings (UTC, fixed width), so that text order is time order.
type SessionRow struct {
	// IDHash is the hex SHA-256 of the session token; the token itself is
	// never stored.
	IDHash    string
	UserID    string
	CSRF      string // the synchronizer token of the session's forms
	CreatedAt string
	LastSeen  string
	IdleUntil string // the idle timeout: LastSeen plus the idle period
	ExpiresAt string // the absolute timeout: CreatedAt plus the maximum life
	UserAgent string
	Addr      string
	// UserName is the name of the session's user, filled in by
	// ListSessions only ("" if the user is gone).
	UserName string
}

// CreateSession stores a new session. Errors: ECONFLICT (a session with the
// same hash exists: the caller's random source is broken).
func (db *DB) CreateSession(ctx context.Context, s SessionRow) error {
	_, err := db.write.ExecContext(ctx, db.rebind(`INSERT INTO sessions (id_hash, user_id, csrf, created_at, last_seen, idle_until, expires_at, user_agent, addr)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), s.IDHash, s.UserID, s.CSRF, s.CreatedAt, s.LastSeen, s.IdleUntil, s.ExpiresAt,
		nullable(s.UserAgent), nullable(s.Addr))
	if err != nil {
		if db.isUnique(err) {
			return custody.Errorf(custody.ECONFLICT, "session exists")
		}
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByHash returns the session whose token hashes to h, expired or
// not: the caller decides. Errors: ENOTFOUND.
func (db *DB) SessionByHash(ctx context.Context, h string) (*SessionRow, error) {
	var s SessionRow
	err := db.read.QueryRowContext(ctx, db.rebind(`SELECT id_hash, user_id, csrf, created_at, last_seen, idle_until, expires_at,
		COALESCE(user_agent, ''), COALESCE(addr, '') FROM sessions WHERE id_hash = ?`), h).
		Scan(&s.IDHash, &s.UserID, &s.CSRF, &s.CreatedAt, &s.LastSeen, &s.IdleUntil, &s.ExpiresAt, &s.UserAgent, &s.Addr)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custody.Errorf(custody.ENOTFOUND, "no such session")
	} else if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	return &s, nil
}

// TouchSession records activity on a session: last seen at lastSeen, idle
// until idleUntil (never beyond its absolute expiry, which the caller
// computes). Errors: ENOTFOUND (signed out meanwhile).
func (db *DB) TouchSession(ctx context.Context, h, lastSeen, idleUntil string) error {
	res, err := db.write.ExecContext(ctx, db.rebind(`UPDATE sessions SET last_seen = ?, idle_until = ? WHERE id_hash = ?`), lastSeen, idleUntil, h)
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return custody.Errorf(custody.ENOTFOUND, "no such session")
	}
	return nil
}

// DeleteSession removes a session (sign-out). Removing a session that does
// not exist is not an error.
func (db *DB) DeleteSession(ctx context.Context, h string) error {
	if _, err := db.write.ExecContext(ctx, db.rebind(`DELETE FROM sessions WHERE id_hash = ?`), h); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions removes every session of a user (sign out everywhere).
func (db *DB) DeleteUserSessions(ctx context.Context, userID string) error {
	if _, err := db.write.ExecContext(ctx, db.rebind(`DELETE FROM sessions WHERE user_id = ?`), userID); err != nil {
		return fmt.Errorf("delete sessions: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes the sessions past their idle or absolute
// timeout at now (a TimeFormat string) and returns how many.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now string) (int64, error) {
	res, err := db.write.ExecContext(ctx, db.rebind(`DELETE FROM sessions WHERE expires_at <= ? OR idle_until <= ?`), now, now)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// UserPassword returns a user and the argon2id PHC string of their
// password ("" when none is set). Errors: ENOTFOUND.
func (db *DB) UserPassword(ctx context.Context, name string) (*custody.User, string, error) {
	var u custody.User
	var role, hash string
	err := db.read.QueryRowContext(ctx, db.rebind(`SELECT id, name, role, created_at, log_index, COALESCE(password_hash, '')
		FROM users WHERE name = ?`), name).Scan(&u.ID, &u.Name, &role, &u.CreatedAt, &u.LogIndex, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", custody.Errorf(custody.ENOTFOUND, "no such user")
	} else if err != nil {
		return nil, "", fmt.Errorf("read user: %w", err)
	}
	u.Role = custody.Role(role)
	return &u, hash, nil
}

// ListSessions returns the sessions still valid at now (a TimeFormat
// string), of one user or, with userID empty, of everyone, most recently
// active first, with their users' names.
func (db *DB) ListSessions(ctx context.Context, userID, now string) ([]SessionRow, error) {
	q := `SELECT s.id_hash, s.user_id, s.csrf, s.created_at, s.last_seen, s.idle_until, s.expires_at,
		COALESCE(s.user_agent, ''), COALESCE(s.addr, ''), COALESCE(u.name, '')
		FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.expires_at > ? AND s.idle_until > ?`
	args := []any{now, now}
	if userID != "" {
		q += ` AND s.user_id = ?`
		args = append(args, userID)
	}
	rows, err := db.read.QueryContext(ctx, db.rebind(q+` ORDER BY s.last_seen DESC, s.id_hash`), args...)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []SessionRow
	for rows.Next() {
		var s SessionRow
		if err := rows.Scan(&s.IDHash, &s.UserID, &s.CSRF, &s.CreatedAt, &s.LastSeen, &s.IdleUntil, &s.ExpiresAt,
			&s.UserAgent, &s.Addr, &s.UserName); err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// SessionsByPrefix returns the hashes of the sessions whose hash starts
// with prefix (lower-case hex), at most two: enough to tell a unique
// match from an ambiguous one.
func (db *DB) SessionsByPrefix(ctx context.Context, prefix string) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, db.rebind(`SELECT id_hash FROM sessions WHERE substr(id_hash, 1, ?) = ? ORDER BY id_hash LIMIT 2`),
		len(prefix), prefix)
	if err != nil {
		return nil, fmt.Errorf("find session: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("find session: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// DeleteUserSessionsCount removes every session of a user and returns how
// many there were.
func (db *DB) DeleteUserSessionsCount(ctx context.Context, userID string) (int64, error) {
	res, err := db.write.ExecContext(ctx, db.rebind(`DELETE FROM sessions WHERE user_id = ?`), userID)
	if err != nil {
		return 0, fmt.Errorf("delete sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
