package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/custody-dev/custody"
)

// Stats computes the investigation's figures over the records that are not
// withdrawn: bodies recovered, identified and with signs of torture (from
// remains, each in the locality of its site), killed and injured (from
// incidents), records of each kind, incidents by month and type, the
// figures of each locality that has any, and the number of localities some
// team covers. With locality set, everything is restricted to that
// locality (its records, the remains of its sites, the teams covering it;
// LocalitiesVisited is then 0 or 1). Localities' names and LocalitiesTotal
// are left to the caller, which holds the gazetteer.
//
// The figures are exact and consistent with one another: every query reads
// the same snapshot (one read-only transaction). They come from index-only
// passes over migration 0003's partial indexes, whose WHERE the queries
// repeat as literals (kind = 'remains' AND withdrawn = 0, ...) so that both
// dialects use them. The overall figures still read every live remains and
// incident entry of those indexes: their cost grows with the store.
// Errors: EINVALID (a locality that is no code).
//
// With a restricted scope every figure is computed over the records the
// user may see, and only them (each query reads a common table expression
// of the visible records instead of the table): a figure never counts a
// record the user could not list, so it reveals nothing hidden. Those
// figures cost a visibility check per record.
func (db *DB) Stats(ctx context.Context, locality string, scope *Scope) (*custody.Stats, error) {
	if err := checkFilter("locality", locality); err != nil {
		return nil, err
	}
	opts := &sql.TxOptions{ReadOnly: true}
	if db.dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead // one snapshot for every statement
	}
	tx, err := db.read.BeginTx(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("stats: begin: %w", err)
	}
	defer tx.Rollback()
	st := &custody.Stats{Records: make(map[string]int, len(custody.RecordKinds)), IncidentsByMonth: []custody.MonthCount{}}
	for _, k := range custody.RecordKinds {
		st.Records[k] = 0
	}
	per := map[string]*custody.LocalityStats{}
	loc := func(code string) *custody.LocalityStats {
		if ls, ok := per[code]; ok {
			return ls
		}
		ls := &custody.LocalityStats{Locality: code}
		per[code] = ls
		return ls
	}
	cte, cteArgs := scope.bulkCond("records.id", "records.kind")
	scoped := func(q string, args []any) (string, []any) {
		if cte == "" {
			return q, args
		}
		q = `WITH visible AS (SELECT * FROM records WHERE ` + cte + `) ` + recordsTableRe.ReplaceAllString(q, "visible")
		return q, append(append([]any{}, cteArgs...), args...)
	}
	each := func(what, q string, args []any, f func(scan func(...any) error) error) error {
		q, args = scoped(q, args)
		rows, err := tx.QueryContext(ctx, db.rebind(q), args...)
		if err != nil {
			return fmt.Errorf("stats: %s: %w", what, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := f(rows.Scan); err != nil {
				return fmt.Errorf("stats: %s: %w", what, err)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("stats: %s: %w", what, err)
		}
		return nil
	}
	var locArgs []any
	if locality != "" {
		locArgs = []any{locality}
	}

	// Remains, by their site's locality. Overall: grouped by site first,
	// in the order of records_remains_stats (no sort), then one lookup per
	// site. For a locality: its sites, then their remains.
	remainsQ := `SELECT COALESCE(s.locality, ''), CAST(SUM(x.n) AS BIGINT), CAST(SUM(x.b) AS BIGINT), CAST(SUM(x.i) AS BIGINT), CAST(SUM(x.t) AS BIGINT)
		FROM (SELECT site, COUNT(*) AS n, SUM(bodies) AS b, SUM(identified) AS i, SUM(torture) AS t
			FROM records WHERE kind = 'remains' AND withdrawn = 0 GROUP BY site) x
		JOIN records s ON s.id = x.site GROUP BY COALESCE(s.locality, '')`
	switch {
	case locality != "" && db.dialect == Postgres:
		// LATERAL, so that PostgreSQL looks up each site's remains rather
		// than hash-joining the sites with every remains record.
		remainsQ = `SELECT s.locality, CAST(SUM(x.n) AS BIGINT), CAST(COALESCE(SUM(x.b), 0) AS BIGINT), CAST(COALESCE(SUM(x.i), 0) AS BIGINT),
			CAST(COALESCE(SUM(x.t), 0) AS BIGINT)
			FROM records s CROSS JOIN LATERAL (SELECT COUNT(*) AS n, SUM(r.bodies) AS b, SUM(r.identified) AS i, SUM(r.torture) AS t
				FROM records r WHERE r.site = s.id AND r.kind = 'remains' AND r.withdrawn = 0) x
			WHERE s.locality = ? AND s.kind = 'site' GROUP BY s.locality HAVING SUM(x.n) > 0`
	case locality != "":
		// CROSS JOIN fixes the order on SQLite: the sites, then their remains.
		remainsQ = `SELECT s.locality, COUNT(*), CAST(SUM(r.bodies) AS BIGINT), CAST(SUM(r.identified) AS BIGINT), CAST(SUM(r.torture) AS BIGINT)
			FROM records s CROSS JOIN records r
			WHERE s.locality = ? AND s.kind = 'site' AND r.site = s.id AND r.kind = 'remains' AND r.withdrawn = 0 GROUP BY s.locality`
	}
	if err := each("remains", remainsQ, locArgs, func(scan func(...any) error) error {
		var code string
		var n, b, i, t int
		if err := scan(&code, &n, &b, &i, &t); err != nil {
			return err
		}
		st.Bodies += b
		st.Identified += i
		st.Torture += t
		st.Records[custody.KindRemains] += n
		if code != "" {
			ls := loc(code)
			ls.Bodies, ls.Identified, ls.Torture = ls.Bodies+b, ls.Identified+i, ls.Torture+t
		}
		return nil
	}); err != nil {
		return nil, err
	}

	// Incidents by locality (records_incident_stats, in its order).
	incQ := `SELECT COALESCE(locality, ''), COUNT(*), CAST(SUM(killed_confirmed) AS BIGINT), CAST(SUM(killed_estimated) AS BIGINT),
		CAST(SUM(injured_confirmed) AS BIGINT), CAST(SUM(injured_estimated) AS BIGINT)
		FROM records WHERE kind = 'incident' AND withdrawn = 0`
	if locality != "" {
		incQ += ` AND locality = ?`
	}
	if err := each("incidents", incQ+` GROUP BY locality`, locArgs, func(scan func(...any) error) error {
		var code string
		var n, kc, ke, ic, ie int
		if err := scan(&code, &n, &kc, &ke, &ic, &ie); err != nil {
			return err
		}
		st.KilledConfirmed += kc
		st.KilledEstimated += ke
		st.InjuredConfirmed += ic
		st.InjuredEstimated += ie
		st.Records[custody.KindIncident] += n
		if code != "" {
			ls := loc(code)
			ls.Incidents += n
			ls.KilledConfirmed += kc
			ls.KilledEstimated += ke
		}
		return nil
	}); err != nil {
		return nil, err
	}

	// Incidents by month and type. Overall: on SQLite from an index on the
	// month expression itself, in its order (no sort); on PostgreSQL an
	// index-only pass over records_incident_months and a hash aggregate. For
	// a locality: by day, in the order of records_incident_stats (grouped by
	// month, SQLite would rather walk every incident in month order), the
	// months summed here.
	monthQ := `SELECT substr(date, 1, 7), type, COUNT(*) FROM records WHERE kind = 'incident' AND withdrawn = 0
		GROUP BY substr(date, 1, 7), type`
	if locality != "" {
		monthQ = `SELECT date, type, COUNT(*) FROM records WHERE kind = 'incident' AND withdrawn = 0 AND locality = ?
			GROUP BY date, type`
	}
	months := map[[2]string]int{}
	if err := each("incidents by month", monthQ, locArgs, func(scan func(...any) error) error {
		var date, typ sql.NullString
		var n int
		if err := scan(&date, &typ, &n); err != nil {
			return err
		}
		if date.Valid {
			months[[2]string{date.String[:min(len(date.String), 7)], typ.String}] += n
		}
		return nil
	}); err != nil {
		return nil, err
	}
	for k, n := range months {
		st.IncidentsByMonth = append(st.IncidentsByMonth, custody.MonthCount{Month: k[0], Type: k[1], Count: n})
	}
	sort.Slice(st.IncidentsByMonth, func(i, j int) bool {
		a, b := st.IncidentsByMonth[i], st.IncidentsByMonth[j]
		if a.Month != b.Month {
			return a.Month < b.Month
		}
		return a.Type < b.Type
	})

	// The other kinds: few records, counted on records_live_kind_date (or
	// records_live_locality).
	var others []string
	for _, k := range custody.RecordKinds {
		if k != custody.KindRemains && k != custody.KindIncident {
			others = append(others, "'"+k+"'")
		}
	}
	kindsQ := `SELECT kind, COUNT(*) FROM records WHERE withdrawn = 0 AND kind IN (` + strings.Join(others, ", ") + `)`
	if locality != "" {
		kindsQ += ` AND locality = ?`
	}
	if err := each("records by kind", kindsQ+` GROUP BY kind`, locArgs, func(scan func(...any) error) error {
		var k string
		var n int
		if err := scan(&k, &n); err != nil {
			return err
		}
		st.Records[k] += n
		return nil
	}); err != nil {
		return nil, err
	}

	// Localities some (live) team covers. For a locality, the teams
	// covering it count among its records.
	if locality == "" {
		q, args := scoped(`SELECT COUNT(DISTINCT locality) FROM team_localities
			WHERE team IN (SELECT id FROM records WHERE kind = 'team' AND withdrawn = 0)`, nil)
		err = tx.QueryRowContext(ctx, db.rebind(q), args...).Scan(&st.LocalitiesVisited)
	} else {
		var teams int
		q, args := scoped(`SELECT COUNT(*) FROM team_localities
			WHERE locality = ? AND team IN (SELECT id FROM records WHERE kind = 'team' AND withdrawn = 0)`, []any{locality})
		err = tx.QueryRowContext(ctx, db.rebind(q), args...).Scan(&teams)
		st.Records[custody.KindTeam] += teams
		st.LocalitiesVisited = min(teams, 1)
	}
	if err != nil {
		return nil, fmt.Errorf("stats: localities visited: %w", err)
	}

	for _, ls := range per {
		st.PerLocality = append(st.PerLocality, *ls)
	}
	sort.Slice(st.PerLocality, func(i, j int) bool { return st.PerLocality[i].Locality < st.PerLocality[j].Locality })
	return st, nil
}

// recordsTableRe finds the references to the records table in the
// statistics' queries (no column is named records).
var recordsTableRe = regexp.MustCompile(`\brecords\b`)
