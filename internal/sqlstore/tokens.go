package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/custody-dev/custody"
)

// The log-derived state of sign-in hardening (migration 0006): a user's
// TOTP key and password (columns of users) and the scoped API tokens
// (api_tokens). Like every index table they are written only by apply and
// rebuilt by Replay; verify compares api_tokens and users row by row.

// applySignIn applies user.totp, user.password, token.add and token.revoke.
// Like apply, it MUST be deterministic: it reads only rows derived from
// earlier entries and the entry itself (never the clock).
func (db *DB) applySignIn(ctx context.Context, tx *applier, idx uint64, e custody.Entry, payload []byte) error {
	switch e.Type {
	case custody.EntryUserTOTP:
		var p custody.UserTOTP
		if err := decodePayload(payload, &p); err != nil {
			return err
		}
		if p.ID != e.Subject {
			return custody.Errorf(custody.EINVALID, "user %s in an entry about %s", p.ID, e.Subject)
		}
		return updateUser(ctx, tx, `UPDATE users SET totp_secret = ? WHERE id = ?`, nullable(p.Secret), p.ID)
	case custody.EntryUserPassword:
		var p custody.UserPassword
		if err := decodePayload(payload, &p); err != nil {
			return err
		}
		if p.ID != e.Subject {
			return custody.Errorf(custody.EINVALID, "user %s in an entry about %s", p.ID, e.Subject)
		}
		return updateUser(ctx, tx, `UPDATE users SET password_hash = ? WHERE id = ?`, nullable(p.PasswordHash), p.ID)
	case custody.EntryTokenAdd:
		var p custody.TokenAdded
		if err := decodePayload(payload, &p); err != nil {
			return err
		}
		if p.ID != e.Subject {
			return custody.Errorf(custody.EINVALID, "token %s in an entry about %s", p.ID, e.Subject)
		}
		if len(p.TokenHash) != 64 {
			return custody.Errorf(custody.EINVALID, "token %s: the token hash is not a hex SHA-256", p.ID)
		}
		if _, err := custody.ParseRole(string(p.Role)); err != nil {
			return err
		}
		exp, err := time.Parse(custody.TimeFormat, p.ExpiresAt)
		if err != nil || len(p.ExpiresAt) != len(custody.TimeFormat) {
			return custody.Errorf(custody.EINVALID, "token %s: malformed expiry %q", p.ID, p.ExpiresAt)
		}
		if now, err := time.Parse(custody.TimeFormat, e.Time); err == nil && !exp.After(now) {
			return custody.Errorf(custody.EINVALID, "token %s expires before it is issued", p.ID)
		}
		var role string
		err = tx.queryRow(ctx, `SELECT role FROM users WHERE id = ?`, []any{p.User}, &role)
		if errors.Is(err, sql.ErrNoRows) {
			return custody.Errorf(custody.ENOTFOUND, "no user %s", p.User)
		} else if err != nil {
			return fmt.Errorf("read user role: %w", err)
		}
		// A structural rule only, so that a replay never depends on the
		// permission table of the build replaying: the service checks
		// custody.Role.MayScopeTo when it issues a token and again at every
		// request made with it.
		if p.Role != custody.Role(role) && p.Role != custody.RoleAnalyst && p.Role != custody.RoleReviewer {
			return custody.Errorf(custody.EFORBIDDEN, "a token of a user with role %s cannot have role %s", role, p.Role)
		}
		err = tx.insert(ctx, "api_tokens", "id, user_id, role, token_hash, label, created_by, created_at, expires_at, revoked_at, revoked_by, log_index",
			p.ID, p.User, string(p.Role), p.TokenHash, nullable(p.Label), e.Actor, e.Time, p.ExpiresAt, nil, nil, idx)
		if err != nil {
			if !isFlushError(err) && db.isUnique(err) {
				return custody.Errorf(custody.ECONFLICT, "token %s exists", p.ID)
			}
			return fmt.Errorf("insert token: %w", err)
		}
		return nil
	case custody.EntryTokenRevoke:
		var p custody.TokenRevoked
		if err := decodePayload(payload, &p); err != nil {
			return err
		}
		if p.ID != e.Subject {
			return custody.Errorf(custody.EINVALID, "token %s in an entry about %s", p.ID, e.Subject)
		}
		res, err := tx.exec(ctx, `UPDATE api_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL`, e.Time, e.Actor, p.ID)
		if err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var n int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM api_tokens WHERE id = ?`, []any{p.ID}, &n); err != nil {
			return fmt.Errorf("read token: %w", err)
		}
		if n == 0 {
			return custody.Errorf(custody.ENOTFOUND, "no token %s", p.ID)
		}
		return custody.Errorf(custody.ECONFLICT, "token %s is already revoked", p.ID)
	}
	return custody.Errorf(custody.EUNSUPPORTED, "entry %d has unknown type %q", idx, e.Type)
}

func updateUser(ctx context.Context, tx *applier, q string, args ...any) error {
	res, err := tx.exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return custody.Errorf(custody.ENOTFOUND, "no user %v", args[len(args)-1])
	}
	return nil
}

const tokenColumns = `t.id, t.user_id, COALESCE(u.name, ''), t.role, COALESCE(t.label, ''), t.created_at, t.created_by,
	t.expires_at, COALESCE(t.revoked_at, ''), COALESCE(t.revoked_by, ''), t.log_index`

func scanToken(sc interface{ Scan(...any) error }) (*custody.APIToken, error) {
	var t custody.APIToken
	var role string
	if err := sc.Scan(&t.ID, &t.UserID, &t.User, &role, &t.Label, &t.CreatedAt, &t.CreatedBy, &t.ExpiresAt,
		&t.RevokedAt, &t.RevokedBy, &t.LogIndex); err != nil {
		return nil, err
	}
	t.Role = custody.Role(role)
	return &t, nil
}

// TokenByHash returns the scoped API token whose token hashes to h,
// expired or revoked or not: the caller decides. Errors: ENOTFOUND.
func (db *DB) TokenByHash(ctx context.Context, h string) (*custody.APIToken, error) {
	return db.token(ctx, `t.token_hash = ?`, h)
}

// Token returns a scoped API token by ID. Errors: ENOTFOUND.
func (db *DB) Token(ctx context.Context, id string) (*custody.APIToken, error) {
	return db.token(ctx, `t.id = ?`, id)
}

func (db *DB) token(ctx context.Context, where, arg string) (*custody.APIToken, error) {
	row := db.read.QueryRowContext(ctx, db.rebind(`SELECT `+tokenColumns+` FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id
		WHERE `+where), arg)
	t, err := scanToken(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custody.Errorf(custody.ENOTFOUND, "no such token")
	} else if err != nil {
		return nil, fmt.Errorf("read token: %w", err)
	}
	return t, nil
}

// Tokens lists the scoped API tokens of a user (every user's when userID
// is empty), revoked and expired ones included, by user name and then in
// the order they were issued.
func (db *DB) Tokens(ctx context.Context, userID string) ([]*custody.APIToken, error) {
	q := `SELECT ` + tokenColumns + ` FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id`
	var args []any
	if userID != "" {
		q += ` WHERE t.user_id = ?`
		args = append(args, userID)
	}
	rows, err := db.read.QueryContext(ctx, db.rebind(q+` ORDER BY u.name, t.log_index`), args...)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []*custody.APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// UserTOTP returns a user's TOTP key (base32), "" when the user has no
// second factor. Errors: ENOTFOUND.
func (db *DB) UserTOTP(ctx context.Context, userID string) (string, error) {
	var secret sql.NullString
	err := db.read.QueryRowContext(ctx, db.rebind(`SELECT totp_secret FROM users WHERE id = ?`), userID).Scan(&secret)
	if errors.Is(err, sql.ErrNoRows) {
		return "", custody.Errorf(custody.ENOTFOUND, "no such user")
	} else if err != nil {
		return "", fmt.Errorf("read user: %w", err)
	}
	return secret.String, nil
}
