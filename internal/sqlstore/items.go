package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/custody-dev/custody"
)

const itemColumns = `id, kind, COALESCE(blob, ''), size, COALESCE(media_type, ''), COALESCE(name, ''), COALESCE(case_id, ''),
	COALESCE(collector, ''), COALESCE(collected_at, ''), lat, lon, COALESCE(description, ''), COALESCE(seal, ''),
	COALESCE(location, ''), COALESCE(capture, ''), duplicate, ingested_by, ingested_at, COALESCE(device_time, ''), store,
	COALESCE(holder, ''), log_index`

func scanItem(row interface{ Scan(...any) error }) (*custody.Item, error) {
	var it custody.Item
	var lat, lon sql.NullFloat64
	var capture string
	var dup int
	if err := row.Scan(&it.ID, &it.Kind, &it.Blob, &it.Size, &it.MediaType, &it.Name, &it.Case, &it.Collector,
		&it.CollectedAt, &lat, &lon, &it.Description, &it.Seal, &it.Location, &capture, &dup, &it.IngestedBy,
		&it.IngestedAt, &it.DeviceTime, &it.Store, &it.Holder, &it.LogIndex); err != nil {
		return nil, err
	}
	if lat.Valid {
		it.Lat = &lat.Float64
	}
	if lon.Valid {
		it.Lon = &lon.Float64
	}
	if capture != "" {
		it.Capture = json.RawMessage(capture)
	}
	it.Duplicate = dup != 0
	return &it, nil
}

// Item returns one item. Errors: ENOTFOUND.
func (db *DB) Item(ctx context.Context, id string) (*custody.Item, error) {
	it, err := scanItem(db.read.QueryRowContext(ctx, db.rebind(`SELECT `+itemColumns+` FROM items WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custody.Errorf(custody.ENOTFOUND, "no item %s", id)
	} else if err != nil {
		return nil, fmt.Errorf("read item %s: %w", id, err)
	}
	return it, nil
}

// Items lists items in ID order (IDs are UUIDv7, so this is intake order),
// filtered and paginated by cursor.
func (db *DB) Items(ctx context.Context, f custody.ItemFilter, scope *Scope) ([]*custody.Item, error) {
	q := `SELECT ` + itemColumns + ` FROM items WHERE id > ?`
	args := []any{f.After}
	if c, a := scope.cond("items.id", ""); c != "" {
		q += " AND " + c
		args = append(args, a...)
	}
	if f.Case != "" {
		q += ` AND case_id = ?`
		args = append(args, f.Case)
	}
	if f.Blob != "" {
		q += ` AND blob = ?`
		args = append(args, string(f.Blob))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	if limit > 1000 {
		return nil, custody.Errorf(custody.EINVALID, "limit %d is over 1000", limit)
	}
	q += fmt.Sprintf(` ORDER BY id LIMIT %d`, limit)
	rows, err := db.read.QueryContext(ctx, db.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("list items: %w", err)
	}
	defer rows.Close()
	var out []*custody.Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, fmt.Errorf("list items: %w", err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// BlobKnown reports whether an item already points at ref.
func (db *DB) BlobKnown(ctx context.Context, ref custody.Ref) (bool, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, db.rebind(`SELECT COUNT(*) FROM items WHERE blob = ?`), string(ref)).Scan(&n); err != nil {
		return false, fmt.Errorf("look up blob: %w", err)
	}
	return n > 0, nil
}

// History returns an item's custody events in log order. Errors: ENOTFOUND.
func (db *DB) History(ctx context.Context, item string) ([]*custody.Event, error) {
	if _, err := db.Item(ctx, item); err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, db.rebind(`SELECT id, item, type, COALESCE(from_holder, ''), COALESCE(to_holder, ''),
		COALESCE(reason, ''), COALESCE(seal, ''), COALESCE(location, ''), actor, time, log_index
		FROM custody_events WHERE item = ? ORDER BY log_index`), item)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	defer rows.Close()
	var out []*custody.Event
	for rows.Next() {
		var ev custody.Event
		if err := rows.Scan(&ev.ID, &ev.Item, &ev.Type, &ev.From, &ev.To, &ev.Reason, &ev.Seal, &ev.Location,
			&ev.Actor, &ev.Time, &ev.LogIndex); err != nil {
			return nil, fmt.Errorf("read history: %w", err)
		}
		out = append(out, &ev)
	}
	return out, rows.Err()
}

// UserByTokenHash returns the user whose API token hashes to h.
// Errors: EUNAUTHORIZED.
func (db *DB) UserByTokenHash(ctx context.Context, h string) (*custody.User, error) {
	return db.user(ctx, `token_hash = ?`, h, custody.EUNAUTHORIZED)
}

// UserByName returns a user. Errors: ENOTFOUND.
func (db *DB) UserByName(ctx context.Context, name string) (*custody.User, error) {
	return db.user(ctx, `name = ?`, name, custody.ENOTFOUND)
}

// UserByID returns a user. Errors: ENOTFOUND.
func (db *DB) UserByID(ctx context.Context, id string) (*custody.User, error) {
	return db.user(ctx, `id = ?`, id, custody.ENOTFOUND)
}

func (db *DB) user(ctx context.Context, where, arg, code string) (*custody.User, error) {
	var u custody.User
	var role string
	err := db.read.QueryRowContext(ctx, db.rebind(`SELECT id, name, role, created_at, log_index FROM users WHERE `+where), arg).
		Scan(&u.ID, &u.Name, &role, &u.CreatedAt, &u.LogIndex)
	if errors.Is(err, sql.ErrNoRows) {
		if code == custody.EUNAUTHORIZED {
			return nil, custody.Errorf(code, "invalid or revoked token")
		}
		return nil, custody.Errorf(code, "no such user %q", arg)
	} else if err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	u.Role = custody.Role(role)
	return &u, nil
}

// Users lists all users by name.
func (db *DB) Users(ctx context.Context) ([]*custody.User, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, name, role, created_at, log_index FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []*custody.User
	for rows.Next() {
		var u custody.User
		var role string
		if err := rows.Scan(&u.ID, &u.Name, &role, &u.CreatedAt, &u.LogIndex); err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		u.Role = custody.Role(role)
		out = append(out, &u)
	}
	return out, rows.Err()
}
