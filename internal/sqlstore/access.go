package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/custody-dev/custody"
)

// Scope limits a query to what one user may see (docs/roles.md). A nil
// Scope, or one with All set, limits nothing: administrators, and the
// store's own work (verify, rebuild, export internals).
type Scope struct {
	All bool
	// User is the user whose grants (the cases and teams it holds) open
	// compartments: the queries read them from the grants table.
	User string
	// General: records and items in no compartment are visible too.
	General bool
}

// unrestricted reports whether s limits nothing.
func (s *Scope) unrestricted() bool { return s == nil || s.All }

// cond returns the SQL condition (and its arguments) that a record or item
// whose ID is in column idCol is visible; kindCol, when not empty, names
// the record kind column, and locality records (public reference facts)
// are always visible. "" when nothing is limited.
func (s *Scope) cond(idCol, kindCol string) (string, []any) {
	return s.condition(idCol, kindCol, false)
}

// bulkCond is cond for queries that read a large part of the store (the
// statistics, the map): the visible compartmented subjects and the
// compartmented subjects are each computed once per statement as a set,
// and each record is tested against them, instead of two correlated
// probes per record — cheaper over a million records, much dearer for a
// page of fifty (which cond serves).
func (s *Scope) bulkCond(idCol, kindCol string) (string, []any) {
	return s.condition(idCol, kindCol, true)
}

func (s *Scope) condition(idCol, kindCol string, bulk bool) (string, []any) {
	if s.unrestricted() {
		return "", nil
	}
	var parts []string
	var args []any
	if kindCol != "" {
		parts = append(parts, kindCol+" = 'locality'")
	}
	const granted = "SELECT g.compartment FROM grants g WHERE g.user_id = ?"
	if s.User != "" {
		if bulk {
			parts = append(parts, idCol+" IN (SELECT c.subject FROM compartments c WHERE c.compartment IN ("+granted+"))")
		} else {
			// The user's grants are a subquery that does not depend on
			// the row: both dialects compute it once per statement. "||
			// ''" makes the membership test an expression: SQLite would
			// otherwise seek the primary key once per granted compartment
			// for every row; this way it reads the subject's few rows once
			// and tests each against the set.
			parts = append(parts, "EXISTS (SELECT 1 FROM compartments c WHERE c.subject = "+idCol+
				" AND c.compartment || '' IN ("+granted+"))")
		}
		args = append(args, s.User)
	}
	if s.General {
		if bulk {
			parts = append(parts, idCol+" NOT IN (SELECT c.subject FROM compartments c)")
		} else {
			parts = append(parts, "NOT EXISTS (SELECT 1 FROM compartments c WHERE c.subject = "+idCol+")")
		}
	}
	if len(parts) == 0 {
		return "1 = 0", nil
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

// setCompartments projects the compartments a record's current version
// implies: its own (a case or team is its own compartment; its case and
// team fields; its explicit compartments) and, for a case, the records and
// items it lists; for a team, its members' grants. created is true for a
// record's first version, which has no rows to clear (imports stay on the
// deferred insert path).
//
// Whoever creates a case or a team holds it (source "creator"): a
// prosecutor who opens a case sees it, and what goes into it.
func (db *DB) setCompartments(ctx context.Context, ap *applier, p custody.RecordChange, f *custody.RecordFacts, actor string, created bool) error {
	if !created {
		if _, err := ap.exec(ctx, `DELETE FROM compartments WHERE source = ?`, p.ID); err != nil {
			return fmt.Errorf("clear compartments: %w", err)
		}
		if p.Kind == custody.KindTeam {
			if _, err := ap.exec(ctx, `DELETE FROM grants WHERE source = ?`, p.ID); err != nil {
				return fmt.Errorf("clear team grants: %w", err)
			}
		}
	}
	if p.Kind == custody.KindLocality {
		return nil // reference facts: in no compartment, visible to all
	}
	var own []string
	add := func(c string) {
		if c != "" && !slices.Contains(own, c) {
			own = append(own, c)
		}
	}
	if p.Kind == custody.KindCase || p.Kind == custody.KindTeam {
		add(p.ID)
		if created && actor != custody.SystemActor.ID {
			if err := ap.insert(ctx, "grants", "user_id, compartment, source", actor, p.ID, "creator"); err != nil {
				return fmt.Errorf("insert creator grant: %w", err)
			}
		}
	}
	add(f.Case)
	add(f.Team)
	for _, c := range p.Compartments {
		add(c)
	}
	for _, c := range own {
		if err := ap.insert(ctx, "compartments", "subject, compartment, source", p.ID, c, p.ID); err != nil {
			return fmt.Errorf("insert compartment: %w", err)
		}
	}
	switch p.Kind {
	case custody.KindCase:
		seen := map[string]bool{p.ID: true}
		for _, r := range f.Refs {
			if seen[r.ID] || (r.Target != "record" && r.Target != "item" && r.Target != "any") {
				continue
			}
			seen[r.ID] = true
			if err := ap.insert(ctx, "compartments", "subject, compartment, source", r.ID, p.ID, p.ID); err != nil {
				return fmt.Errorf("insert case compartment: %w", err)
			}
		}
	case custody.KindTeam:
		var ids []string
		for _, u := range f.Members {
			var id string
			err := ap.queryRow(ctx, `SELECT id FROM users WHERE id = ? OR name = ?`, []any{u, u}, &id)
			if errors.Is(err, sql.ErrNoRows) {
				continue // written before the check existed: grants nothing
			} else if err != nil {
				return fmt.Errorf("read team member: %w", err)
			}
			if slices.Contains(ids, id) {
				continue
			}
			ids = append(ids, id)
			if err := ap.insert(ctx, "grants", "user_id, compartment, source", id, p.ID, p.ID); err != nil {
				return fmt.Errorf("insert team grant: %w", err)
			}
		}
	}
	return nil
}

// setItemCompartments projects an item's intake compartments.
func (db *DB) setItemCompartments(ctx context.Context, ap *applier, it custody.Item) error {
	var seen []string
	for _, c := range it.Compartments {
		if c == "" || slices.Contains(seen, c) {
			continue
		}
		seen = append(seen, c)
		if err := ap.insert(ctx, "compartments", "subject, compartment, source", it.ID, c, it.ID); err != nil {
			return fmt.Errorf("insert item compartment: %w", err)
		}
	}
	return nil
}

// setIdentity projects a person's pseudonym and protection. The pseudonym
// comes from the nonce of the first version and never changes.
func (db *DB) setIdentity(ctx context.Context, ap *applier, p custody.RecordChange, f *custody.RecordFacts, idx uint64, created bool) error {
	if p.Kind != custody.KindPerson {
		return nil
	}
	if created {
		if err := ap.insert(ctx, "person_identity", "id, pseudonym, protection, name, log_index",
			p.ID, custody.WitnessPseudonym(p.Nonce), f.Protection, f.Title, idx); err != nil {
			return fmt.Errorf("insert person identity: %w", err)
		}
		return nil
	}
	if _, err := ap.exec(ctx, `UPDATE person_identity SET protection = ?, name = ?, log_index = ? WHERE id = ?`, f.Protection, f.Title, idx, p.ID); err != nil {
		return fmt.Errorf("update person identity: %w", err)
	}
	return nil
}

// identityTables is what searchableFacts reads: person_identity, which
// has no foreign keys.
var identityTables = []string{"person_identity"}

// searchableFacts returns the title and text the full-text index holds for
// a record: for a protected witness, the pseudonym instead of the name and
// nothing else; for a testimony of a protected witness, the transcript
// with the witness's name replaced. So a search for a protected name finds
// nothing — not even a hit whose snippet would be redacted.
func (db *DB) searchableFacts(ctx context.Context, ap *applier, p custody.RecordChange, f *custody.RecordFacts, created bool) (string, string, error) {
	switch {
	case p.Kind == custody.KindPerson && f.Protection != "":
		if created {
			ps := custody.WitnessPseudonym(p.Nonce)
			return ps, ps, nil
		}
		var ps string
		if err := ap.queryRowIn(ctx, identityTables, `SELECT pseudonym FROM person_identity WHERE id = ?`, []any{p.ID}, &ps); err != nil {
			return "", "", fmt.Errorf("read pseudonym: %w", err)
		}
		return ps, ps, nil
	case p.Kind == custody.KindTestimony:
		var witness string
		for _, r := range f.Refs {
			if r.Field == "witness" {
				witness = r.ID
			}
		}
		if witness == "" {
			return f.Title, f.Text, nil
		}
		var ps, prot, name string
		err := ap.queryRowIn(ctx, identityTables, `SELECT pseudonym, protection, name FROM person_identity WHERE id = ?`, []any{witness}, &ps, &prot, &name)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && prot == "") {
			return f.Title, f.Text, nil
		} else if err != nil {
			return "", "", fmt.Errorf("read witness identity: %w", err)
		}
		r := NewRedactor([]ProtectedPerson{{ID: witness, Pseudonym: ps, Protection: prot, Name: name}}, false)
		t, _ := r.Text(f.Title)
		b, _ := r.Text(f.Text)
		return t, b, nil
	}
	return f.Title, f.Text, nil
}

// projectAccess writes what a record's version means for access control
// and search: its compartments, a person's identity row, and its
// full-text row with protected identities withheld.
func (db *DB) projectAccess(ctx context.Context, ap *applier, p custody.RecordChange, f *custody.RecordFacts, actor string, idx, seq uint64, created bool) error {
	if err := db.setCompartments(ctx, ap, p, f, actor, created); err != nil {
		return err
	}
	if err := db.setIdentity(ctx, ap, p, f, idx, created); err != nil {
		return err
	}
	title, text, err := db.searchableFacts(ctx, ap, p, f, created)
	if err != nil {
		return err
	}
	ff := *f
	ff.Title, ff.Text = title, text
	return db.insertDerived(ctx, ap, p.ID, seq, &ff)
}

// applyGrant projects access.grant.
func (db *DB) applyGrant(ctx context.Context, ap *applier, idx uint64, payload []byte) error {
	var p custody.GrantChange
	if err := decodePayload(payload, &p); err != nil {
		return err
	}
	if p.User == "" || p.Compartment == "" {
		return custody.Errorf(custody.EINVALID, "entry %d: a grant names a user and a compartment", idx)
	}
	if p.Revoke {
		if _, err := ap.exec(ctx, `DELETE FROM grants WHERE user_id = ? AND compartment = ? AND source IN ('grant', 'creator')`, p.User, p.Compartment); err != nil {
			return fmt.Errorf("revoke grant: %w", err)
		}
		return nil
	}
	var n int
	if err := ap.queryRow(ctx, `SELECT COUNT(*) FROM grants WHERE user_id = ? AND compartment = ? AND source = 'grant'`,
		[]any{p.User, p.Compartment}, &n); err != nil {
		return fmt.Errorf("read grants: %w", err)
	}
	if n > 0 {
		return nil // granted twice: the second changes nothing
	}
	if err := ap.insert(ctx, "grants", "user_id, compartment, source", p.User, p.Compartment, "grant"); err != nil {
		return fmt.Errorf("insert grant: %w", err)
	}
	return nil
}

// applyClearance projects user.clearance.
func (db *DB) applyClearance(ctx context.Context, ap *applier, idx uint64, payload []byte) error {
	var p custody.ClearanceChange
	if err := decodePayload(payload, &p); err != nil {
		return err
	}
	if _, err := custody.ParseClearance(p.Clearance); err != nil {
		return err
	}
	res, err := ap.exec(ctx, `UPDATE users SET clearance = ? WHERE id = ?`, p.Clearance, p.User)
	if err != nil {
		return fmt.Errorf("set clearance: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return custody.Errorf(custody.ENOTFOUND, "no user %s", p.User)
	}
	return nil
}

// applyRead projects access.read and access.reveal.
func (db *DB) applyRead(ctx context.Context, ap *applier, idx uint64, e custody.Entry, payload []byte) error {
	var p custody.ReadAudit
	if err := decodePayload(payload, &p); err != nil {
		return err
	}
	if len(p.Subjects) == 0 || len(p.Subjects) > custody.MaxReadSubjects {
		return custody.Errorf(custody.EINVALID, "entry %d: an audited read names 1 to %d subjects", idx, custody.MaxReadSubjects)
	}
	seen := make(map[string]bool, len(p.Subjects))
	for _, s := range p.Subjects {
		if seen[s] {
			continue
		}
		seen[s] = true
		if err := ap.insert(ctx, "access_log", "subject, log_index, action, reason, actor, time",
			s, idx, p.Action, nullable(p.Reason), e.Actor, e.Time); err != nil {
			return fmt.Errorf("insert access: %w", err)
		}
	}
	return nil
}

// Grants returns the compartments a user holds.
func (db *DB) Grants(ctx context.Context, user string) ([]custody.Grant, error) {
	rows, err := db.read.QueryContext(ctx, db.rebind(`SELECT user_id, compartment, source FROM grants WHERE user_id = ? ORDER BY compartment, source`), user)
	if err != nil {
		return nil, fmt.Errorf("read grants: %w", err)
	}
	defer rows.Close()
	var out []custody.Grant
	for rows.Next() {
		var g custody.Grant
		if err := rows.Scan(&g.User, &g.Compartment, &g.Source); err != nil {
			return nil, fmt.Errorf("read grants: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// Clearance returns a user's clearance as set by user.clearance ("" when
// never set: the role's default applies).
func (db *DB) Clearance(ctx context.Context, user string) (string, error) {
	var c sql.NullString
	err := db.read.QueryRowContext(ctx, db.rebind(`SELECT clearance FROM users WHERE id = ?`), user).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil // the system actor and users of scoped tokens
	}
	if err != nil {
		return "", fmt.Errorf("read clearance: %w", err)
	}
	return c.String, nil
}

// Compartments returns the compartments of a record or item.
func (db *DB) Compartments(ctx context.Context, subject string) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, db.rebind(`SELECT DISTINCT compartment FROM compartments WHERE subject = ? ORDER BY compartment`), subject)
	if err != nil {
		return nil, fmt.Errorf("read compartments: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("read compartments: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ExplicitCompartments returns the compartments a record's current
// version names explicitly: its own rows less those its kind, case and
// team fields imply (which the next version derives again). An explicit
// compartment that is also implied is returned too: keeping it costs
// nothing and keeps it when the field changes.
func (db *DB) ExplicitCompartments(ctx context.Context, id, kind string) ([]string, error) {
	var data string
	if err := db.read.QueryRowContext(ctx, db.rebind(`SELECT data FROM records WHERE id = ?`), id).Scan(&data); err != nil {
		return nil, fmt.Errorf("read record: %w", err)
	}
	own, err := db.ownCompartments(ctx, id)
	if err != nil {
		return nil, err
	}
	_, f, err := custody.ParseRecordData(kind, []byte(data))
	if err != nil {
		return own, nil
	}
	var out []string
	for _, c := range own {
		if (c == id && (kind == custody.KindCase || kind == custody.KindTeam)) || c == f.Case || c == f.Team {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

func (db *DB) ownCompartments(ctx context.Context, id string) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, db.rebind(`SELECT compartment FROM compartments WHERE subject = ? AND source = ? ORDER BY compartment`), id, id)
	if err != nil {
		return nil, fmt.Errorf("read compartments: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("read compartments: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Visible reports whether a record or item is visible in scope.
func (db *DB) Visible(ctx context.Context, s *Scope, id string) (bool, error) {
	if s.unrestricted() {
		return true, nil
	}
	c, args := s.cond("v.id", "v.kind")
	q := `SELECT COUNT(*) FROM (SELECT CAST(? AS TEXT) AS id, (SELECT kind FROM records WHERE id = ?) AS kind) v WHERE ` + c
	var n int
	if err := db.read.QueryRowContext(ctx, db.rebind(q), append([]any{id, id}, args...)...).Scan(&n); err != nil {
		return false, fmt.Errorf("check access: %w", err)
	}
	return n > 0, nil
}

// ProtectedPerson is a protected witness whose identity outputs withhold.
type ProtectedPerson struct {
	ID, Pseudonym, Protection, Name string
}

// IdentityVersion changes whenever a person record changes (and so
// whenever the protected identities may have): the log index of the
// newest person version.
func (db *DB) IdentityVersion(ctx context.Context) (uint64, error) {
	var v uint64
	if err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(log_index), 0) FROM person_identity`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read identity version: %w", err)
	}
	return v, nil
}

// ProtectedPersons returns every protected witness.
func (db *DB) ProtectedPersons(ctx context.Context) ([]ProtectedPerson, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, pseudonym, protection, name FROM person_identity WHERE protection <> '' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read protected persons: %w", err)
	}
	defer rows.Close()
	var out []ProtectedPerson
	for rows.Next() {
		var p ProtectedPerson
		if err := rows.Scan(&p.ID, &p.Pseudonym, &p.Protection, &p.Name); err != nil {
			return nil, fmt.Errorf("read protected persons: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// AccessLog returns the audited reads of a record or item, item content
// reads and exports included, oldest first.
func (db *DB) AccessLog(ctx context.Context, subject string, limit int) ([]custody.AccessEvent, error) {
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	q := fmt.Sprintf(`SELECT subject, action, COALESCE(reason, ''), actor, time, log_index FROM access_log WHERE subject = ?
		UNION ALL SELECT item, type, COALESCE(reason, ''), actor, time, log_index FROM custody_events WHERE item = ? AND type NOT IN ('intake', 'handover')
		ORDER BY log_index LIMIT %d`, limit)
	rows, err := db.read.QueryContext(ctx, db.rebind(q), subject, subject)
	if err != nil {
		return nil, fmt.Errorf("read access log: %w", err)
	}
	defer rows.Close()
	out := []custody.AccessEvent{}
	for rows.Next() {
		var a custody.AccessEvent
		if err := rows.Scan(&a.Subject, &a.Action, &a.Reason, &a.Actor, &a.Time, &a.LogIndex); err != nil {
			return nil, fmt.Errorf("read access log: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
