package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/custody-dev/custody"
)

const recordsCols = `id, seq, kind, version, data, title, locality, site, case_id, team, type, status, date, lat, lon,
	personal, withdrawn, withdraw_reason, bodies, identified, torture, killed_confirmed, killed_estimated,
	injured_confirmed, injured_estimated, created_at, created_by, updated_at, updated_by, log_index`

// applyRecord projects a record.* entry: the record's current version, its
// history, its references, the localities a team covers and its full-text
// row. It MUST stay deterministic (see apply): record data was validated
// before it was appended, and the rules it is parsed with here may be
// relaxed in later versions, never tightened.
func (db *DB) applyRecord(ctx context.Context, ap *applier, idx uint64, e custody.Entry, payload []byte) error {
	var p custody.RecordChange
	if err := decodePayload(payload, &p); err != nil {
		return err
	}
	return db.applyRecordChange(ctx, ap, idx, e, p, nil)
}

// applyRecordChange is applyRecord on the decoded payload p. f, if not
// nil, is recordFacts(p), computed by the caller (see Pending.Record).
func (db *DB) applyRecordChange(ctx context.Context, ap *applier, idx uint64, e custody.Entry, p custody.RecordChange, f *custody.RecordFacts) error {
	if p.ID != e.Subject {
		return custody.Errorf(custody.EINVALID, "record %s in an entry about %s", p.ID, e.Subject)
	}
	if !custody.IsRecordKind(p.Kind) {
		return custody.Errorf(custody.EINVALID, "unknown record kind %q", p.Kind)
	}
	change := strings.TrimPrefix(e.Type, "record.")
	if e.Type == custody.EntryRecordCreate {
		if p.Version != 1 {
			return custody.Errorf(custody.ECONFLICT, "a new record starts at version 1, not %d", p.Version)
		}
		if f == nil {
			var err error
			if f, err = recordFacts(p); err != nil {
				return err
			}
		}
		if p.Kind == custody.KindLocality && p.ID != f.Locality {
			return custody.Errorf(custody.EINVALID, "a locality's record ID is its code %s, not %s", f.Locality, p.ID)
		}
		// A second create of the same ID breaks the primary key: deferred,
		// that surfaces at flush and the careful redo names it (ECONFLICT).
		err := ap.insert(ctx, "records", recordsCols,
			p.ID, idx, p.Kind, p.Version, string(p.Data), f.Title, nullable(f.Locality), nullable(f.Site), nullable(f.Case),
			nullable(f.Team), nullable(f.Type), nullable(f.Status), nullable(f.Date), lat(f), lon(f), boolInt(f.Personal), 0, nil,
			f.Bodies, f.Identified, f.Torture, f.KilledConfirmed, f.KilledEstimated, f.InjuredConfirmed, f.InjuredEstimated,
			e.Time, e.Actor, e.Time, e.Actor, idx)
		if err != nil {
			if !isFlushError(err) && db.isUnique(err) {
				return custody.Errorf(custody.ECONFLICT, "record %s exists already", p.ID)
			}
			return fmt.Errorf("insert record: %w", err)
		}
		if err := db.insertVersion(ctx, ap, p, change, e, idx); err != nil {
			return err
		}
		return db.projectAccess(ctx, ap, p, f, e.Actor, idx, idx, true)
	}

	var cur struct {
		kind      string
		version   int
		withdrawn int
		seq       uint64
	}
	err := ap.queryRow(ctx, `SELECT kind, version, withdrawn, seq FROM records WHERE id = ?`, []any{p.ID},
		&cur.kind, &cur.version, &cur.withdrawn, &cur.seq)
	if errors.Is(err, sql.ErrNoRows) {
		return custody.Errorf(custody.ENOTFOUND, "no record %s", p.ID)
	} else if err != nil {
		return fmt.Errorf("read record %s: %w", p.ID, err)
	}
	switch {
	case cur.kind != p.Kind:
		return custody.Errorf(custody.EINVALID, "record %s is a %s, not a %s", p.ID, cur.kind, p.Kind)
	case cur.withdrawn != 0:
		return custody.Errorf(custody.ECONFLICT, "record %s is withdrawn", p.ID)
	case p.Version != cur.version+1:
		return custody.Errorf(custody.ECONFLICT, "record %s is at version %d; this change was made from version %d", p.ID, cur.version, p.Version-1)
	}
	if err := db.deleteDerived(ctx, ap, p.ID, cur.seq); err != nil {
		return err
	}
	if e.Type == custody.EntryRecordWithdraw {
		if strings.TrimSpace(p.Reason) == "" {
			return custody.Errorf(custody.EINVALID, "a withdrawal needs a reason")
		}
		if _, err := ap.exec(ctx, `UPDATE records SET version = ?, withdrawn = 1, withdraw_reason = ?, updated_at = ?, updated_by = ?, log_index = ? WHERE id = ?`,
			p.Version, p.Reason, e.Time, e.Actor, idx, p.ID); err != nil {
			return fmt.Errorf("withdraw record: %w", err)
		}
		return db.insertVersion(ctx, ap, p, change, e, idx)
	}
	if e.Type != custody.EntryRecordUpdate {
		return custody.Errorf(custody.EUNSUPPORTED, "entry %d has unknown type %q", idx, e.Type)
	}
	if f == nil {
		if f, err = recordFacts(p); err != nil {
			return err
		}
	}
	if p.Kind == custody.KindLocality && p.ID != f.Locality {
		return custody.Errorf(custody.EINVALID, "a locality's code cannot change (%s to %s)", p.ID, f.Locality)
	}
	if _, err := ap.exec(ctx, `UPDATE records SET version = ?, data = ?, title = ?, locality = ?, site = ?, case_id = ?, team = ?,
		type = ?, status = ?, date = ?, lat = ?, lon = ?, personal = ?, bodies = ?, identified = ?, torture = ?, killed_confirmed = ?,
		killed_estimated = ?, injured_confirmed = ?, injured_estimated = ?, updated_at = ?, updated_by = ?, log_index = ? WHERE id = ?`,
		p.Version, string(p.Data), f.Title, nullable(f.Locality), nullable(f.Site), nullable(f.Case), nullable(f.Team),
		nullable(f.Type), nullable(f.Status), nullable(f.Date), lat(f), lon(f), boolInt(f.Personal), f.Bodies, f.Identified, f.Torture,
		f.KilledConfirmed, f.KilledEstimated, f.InjuredConfirmed, f.InjuredEstimated, e.Time, e.Actor, idx, p.ID); err != nil {
		return fmt.Errorf("update record: %w", err)
	}
	if err := db.insertVersion(ctx, ap, p, change, e, idx); err != nil {
		return err
	}
	return db.projectAccess(ctx, ap, p, f, e.Actor, idx, cur.seq, false)
}

func lat(f *custody.RecordFacts) any {
	if f.Position == nil {
		return nil
	}
	return f.Position.Lat
}

func lon(f *custody.RecordFacts) any {
	if f.Position == nil {
		return nil
	}
	return f.Position.Lon
}

func recordFacts(p custody.RecordChange) (*custody.RecordFacts, error) {
	if len(p.Data) == 0 {
		return nil, custody.Errorf(custody.EINVALID, "record %s has no data", p.ID)
	}
	_, f, err := custody.ParseRecordData(p.Kind, p.Data)
	return f, err
}

func (db *DB) insertVersion(ctx context.Context, ap *applier, p custody.RecordChange, change string, e custody.Entry, idx uint64) error {
	var data any
	if len(p.Data) > 0 {
		data = string(p.Data)
	}
	if err := ap.insert(ctx, "record_versions", "id, version, change, data, reason, actor, time, entry, log_index",
		p.ID, p.Version, change, data, nullable(p.Reason), e.Actor, e.Time, e.ID, idx); err != nil {
		return fmt.Errorf("insert record version: %w", err)
	}
	return nil
}

// insertDerived writes the rows derived from a record's current version.
func (db *DB) insertDerived(ctx context.Context, ap *applier, id string, seq uint64, f *custody.RecordFacts) error {
	seen := make(map[[2]string]bool)
	for _, r := range f.Refs {
		k := [2]string{r.Field, r.ID}
		if seen[k] || r.ID == id { // a locality record's own code is no link
			continue
		}
		seen[k] = true
		if err := ap.insert(ctx, "record_links", "src, field, dst, target", id, r.Field, r.ID, r.Target); err != nil {
			return fmt.Errorf("insert record link: %w", err)
		}
	}
	for _, l := range f.Localities {
		if err := ap.insert(ctx, "team_localities", "team, locality", id, l); err != nil {
			return fmt.Errorf("insert team locality: %w", err)
		}
	}
	table, cols := "record_fts", "rowid, title, body"
	if db.dialect == Postgres {
		table, cols = "record_text", "seq, title, body"
	}
	if err := ap.insert(ctx, table, cols, seq, f.Title, f.Text); err != nil {
		return fmt.Errorf("index record text: %w", err)
	}
	return nil
}

func (db *DB) deleteDerived(ctx context.Context, ap *applier, id string, seq uint64) error {
	stmts := []string{`DELETE FROM record_links WHERE src = ?`, `DELETE FROM team_localities WHERE team = ?`}
	for _, q := range stmts {
		if _, err := ap.exec(ctx, q, id); err != nil {
			return fmt.Errorf("clear derived rows: %w", err)
		}
	}
	q := `DELETE FROM record_fts WHERE rowid = ?`
	if db.dialect == Postgres {
		q = `DELETE FROM record_text WHERE seq = ?`
	}
	if _, err := ap.exec(ctx, q, seq); err != nil {
		return fmt.Errorf("clear record text: %w", err)
	}
	return nil
}

func (db *DB) isUnique(err error) bool {
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint") || strings.Contains(s, "duplicate key")
}

const recordSelect = `SELECT id, kind, version, title, data, withdrawn, COALESCE(withdraw_reason, ''), created_at, created_by,
	updated_at, updated_by, log_index FROM records`

func scanRecord(row interface{ Scan(...any) error }) (*custody.Record, error) {
	var r custody.Record
	var data string
	var withdrawn int
	if err := row.Scan(&r.ID, &r.Kind, &r.Version, &r.Title, &data, &withdrawn, &r.WithdrawReason, &r.CreatedAt,
		&r.CreatedBy, &r.UpdatedAt, &r.UpdatedBy, &r.LogIndex); err != nil {
		return nil, err
	}
	r.Data = json.RawMessage(data)
	r.Withdrawn = withdrawn != 0
	return &r, nil
}

// Record returns a record's current version. Errors: ENOTFOUND.
func (db *DB) Record(ctx context.Context, id string) (*custody.Record, error) {
	r, err := scanRecord(db.read.QueryRowContext(ctx, db.rebind(recordSelect+` WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custody.Errorf(custody.ENOTFOUND, "no record %s", id)
	} else if err != nil {
		return nil, fmt.Errorf("read record %s: %w", id, err)
	}
	return r, nil
}

// RecordHistory returns every version of a record, oldest first. Errors:
// ENOTFOUND.
func (db *DB) RecordHistory(ctx context.Context, id string) ([]*custody.RecordVersion, error) {
	rows, err := db.read.QueryContext(ctx, db.rebind(`SELECT version, change, COALESCE(data, ''), COALESCE(reason, ''), actor, time, entry, log_index
		FROM record_versions WHERE id = ? ORDER BY version`), id)
	if err != nil {
		return nil, fmt.Errorf("read record history: %w", err)
	}
	defer rows.Close()
	var out []*custody.RecordVersion
	for rows.Next() {
		var v custody.RecordVersion
		var data string
		if err := rows.Scan(&v.Version, &v.Change, &data, &v.Reason, &v.Actor, &v.Time, &v.EntryID, &v.LogIndex); err != nil {
			return nil, fmt.Errorf("read record history: %w", err)
		}
		if data != "" {
			v.Data = json.RawMessage(data)
		}
		out = append(out, &v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read record history: %w", err)
	}
	if len(out) == 0 {
		return nil, custody.Errorf(custody.ENOTFOUND, "no record %s", id)
	}
	return out, nil
}

// sortColumns maps RecordFilter.Sort to a column.
var sortColumns = map[string]string{"id": "id", "date": "date", "title": "title", "updated": "updated_at"}

// ListRecords lists records, filtered, sorted and paginated by an opaque
// cursor (the sort key and ID of the last record of the previous page).
// Errors: EINVALID (unknown sort, malformed cursor, unknown kind).
func (db *DB) ListRecords(ctx context.Context, f custody.RecordFilter, scope *Scope) (*custody.RecordPage, error) {
	if f.Kind != "" && !custody.IsRecordKind(f.Kind) {
		return nil, custody.Errorf(custody.EINVALID, "unknown record kind %q", f.Kind)
	}
	sortKey, desc := strings.CutPrefix(f.Sort, "-")
	if sortKey == "" {
		sortKey = "id"
	}
	col, ok := sortColumns[sortKey]
	if !ok {
		return nil, custody.Errorf(custody.EINVALID, "cannot sort by %q (id, date, title or updated, - to reverse)", f.Sort)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	if limit > 1000 {
		return nil, custody.Errorf(custody.EINVALID, "limit %d is over 1000", limit)
	}
	var where []string
	var args []any
	eq := func(column, v string) {
		if v != "" {
			where = append(where, column+" = ?")
			args = append(args, v)
		}
	}
	eq("kind", f.Kind)
	eq("locality", f.Locality)
	eq("site", f.Site)
	eq("case_id", f.Case)
	eq("team", f.Team)
	eq("type", f.Type)
	eq("status", f.Status)
	if f.From != "" {
		where = append(where, "date >= ?")
		args = append(args, f.From)
	}
	if f.To != "" {
		// A month "2022-09" is within "to 2022-09-30"; a day within "to 2022-09".
		where = append(where, "date <= ?")
		args = append(args, f.To+"\uffff")
	}
	if !f.IncludeWithdrawn {
		where = append(where, "withdrawn = 0")
	}
	if c, a := scope.cond("records.id", "records.kind"); c != "" {
		where = append(where, c)
		args = append(args, a...)
	}
	// Keyset pagination over (sort column, id); NULL sort values are read
	// as empty strings so that the order is total. Only date may be NULL
	// (title and updated_at never are), and not under a date filter: the
	// bare column keeps the (kind, column, id) indexes usable for the order.
	key := col
	if col == "date" && f.From == "" && f.To == "" {
		key = "COALESCE(" + col + ", '')"
	}
	op, dir := ">", "ASC"
	if desc {
		op, dir = "<", "DESC"
	}
	if f.After != "" {
		k, id, err := decodeCursor(f.After)
		if err != nil {
			return nil, err
		}
		if col == "id" {
			where = append(where, "id "+op+" ?")
			args = append(args, id)
		} else {
			where = append(where, "("+key+" "+op+" ? OR ("+key+" = ? AND id "+op+" ?))")
			args = append(args, k, k, id)
		}
	}
	q := `SELECT id, kind, version, title, data, withdrawn, COALESCE(withdraw_reason, ''), created_at, created_by,
	updated_at, updated_by, log_index, ` + key + ` FROM records`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY " + key + " " + dir
	if col != "id" {
		q += ", id " + dir
	}
	q += fmt.Sprintf(" LIMIT %d", limit+1)
	rows, err := db.read.QueryContext(ctx, db.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("list records: %w", err)
	}
	defer rows.Close()
	page := &custody.RecordPage{Records: []*custody.Record{}}
	var lastKey string
	for rows.Next() {
		var r custody.Record
		var data, sk string
		var withdrawn int
		if err := rows.Scan(&r.ID, &r.Kind, &r.Version, &r.Title, &data, &withdrawn, &r.WithdrawReason, &r.CreatedAt,
			&r.CreatedBy, &r.UpdatedAt, &r.UpdatedBy, &r.LogIndex, &sk); err != nil {
			return nil, fmt.Errorf("list records: %w", err)
		}
		r.Data = json.RawMessage(data)
		r.Withdrawn = withdrawn != 0
		if len(page.Records) == limit {
			page.Next = encodeCursor(lastKey, page.Records[limit-1].ID)
			break
		}
		page.Records = append(page.Records, &r)
		lastKey = sk
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list records: %w", err)
	}
	return page, nil
}

func encodeCursor(key, id string) string {
	b, _ := json.Marshal([2]string{key, id})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (string, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var kv [2]string
	if err == nil {
		err = json.Unmarshal(b, &kv)
	}
	if err != nil || kv[1] == "" {
		return "", "", custody.Errorf(custody.EINVALID, "malformed cursor")
	}
	return kv[0], kv[1], nil
}

// Missing returns the references among refs whose target does not exist:
// records (of the kind named, if any) and items. Localities are the
// caller's to check against the codifier.
func (db *DB) Missing(ctx context.Context, refs []custody.RecordRef) ([]custody.RecordRef, error) {
	var out []custody.RecordRef
	for _, r := range refs {
		var kind string
		var err error
		switch r.Target {
		case "record":
			err = db.read.QueryRowContext(ctx, db.rebind(`SELECT kind FROM records WHERE id = ?`), r.ID).Scan(&kind)
			if err == nil && r.Kind != "" && kind != r.Kind {
				out = append(out, r)
				continue
			}
		case "item":
			err = db.read.QueryRowContext(ctx, db.rebind(`SELECT kind FROM items WHERE id = ?`), r.ID).Scan(&kind)
		case "any":
			err = db.read.QueryRowContext(ctx, db.rebind(`SELECT kind FROM records WHERE id = ? UNION ALL SELECT kind FROM items WHERE id = ?`), r.ID, r.ID).Scan(&kind)
		default:
			continue
		}
		if errors.Is(err, sql.ErrNoRows) {
			out = append(out, r)
		} else if err != nil {
			return nil, fmt.Errorf("check reference %s: %w", r.ID, err)
		}
	}
	return out, nil
}

// LinkedFrom returns the records whose current version refers to id (a
// record, an item or a locality code), withdrawn ones excluded, in the
// order they were created; at most limit (default 200, at most 1000).
func (db *DB) LinkedFrom(ctx context.Context, id string, limit int, scope *Scope) ([]custody.Backlink, error) {
	if limit <= 0 {
		limit = 200
	}
	limit = min(limit, 1000)
	c, args := scope.cond("r.id", "r.kind")
	if c != "" {
		c = " AND " + c
	}
	rows, err := db.read.QueryContext(ctx, db.rebind(`SELECT r.id, r.kind, r.title, l.field FROM record_links l
		JOIN records r ON r.id = l.src WHERE l.dst = ? AND r.withdrawn = 0`+c+` ORDER BY r.seq, l.field LIMIT `+fmt.Sprint(limit)),
		append([]any{id}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("read links to %s: %w", id, err)
	}
	defer rows.Close()
	out := []custody.Backlink{}
	for rows.Next() {
		var b custody.Backlink
		if err := rows.Scan(&b.From, &b.Kind, &b.Title, &b.Field); err != nil {
			return nil, fmt.Errorf("read links to %s: %w", id, err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
