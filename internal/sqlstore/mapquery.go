package sqlstore

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/custody-dev/custody"
)

// MapFilter selects the records drawn on the map: those of the given kinds
// (records with a position: sites and incidents) within a box, optionally
// of one type and dated within a range. Withdrawn records are left out.
type MapFilter struct {
	Kinds                          []string
	Type                           string // the kind's type field (site type, incident type)
	From, To                       string // dates, as RecordFilter's
	MinLat, MinLon, MaxLat, MaxLon float64
	// Scope limits the map to what a user may see (nil: everything).
	Scope *Scope
}

// MapCell is the count of one kind's records in one cell of a grid, with
// their mean position.
type MapCell struct {
	Row, Col int
	Kind     string
	Count    int
	Lat, Lon float64
}

// MapPoint is one record on the map.
type MapPoint struct {
	ID, Kind, Type, Title string
	Lat, Lon              float64
}

func (f *MapFilter) where() (string, []any, error) {
	if len(f.Kinds) == 0 || len(f.Kinds) > len(custody.RecordKinds) {
		return "", nil, custody.Errorf(custody.EINVALID, "map: give one or more record kinds")
	}
	for _, k := range f.Kinds {
		if !custody.IsRecordKind(k) {
			return "", nil, custody.Errorf(custody.EINVALID, "map: unknown record kind %q", k)
		}
	}
	for _, v := range []float64{f.MinLat, f.MinLon, f.MaxLat, f.MaxLon} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "", nil, custody.Errorf(custody.EINVALID, "map: the box is not a box")
		}
	}
	// withdrawn = 0 AND lat IS NOT NULL: the partial index records_map
	// (migration 0004) covers the rest.
	q := "withdrawn = 0 AND lat IS NOT NULL AND kind IN (?" + strings.Repeat(", ?", len(f.Kinds)-1) + ") AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?"
	args := make([]any, 0, len(f.Kinds)+7)
	for _, k := range f.Kinds {
		args = append(args, k)
	}
	args = append(args, f.MinLat, f.MaxLat, f.MinLon, f.MaxLon)
	if f.Type != "" {
		q += " AND type = ?"
		args = append(args, f.Type)
	}
	if f.From != "" {
		q += " AND date >= ?"
		args = append(args, f.From)
	}
	if f.To != "" {
		q += " AND date <= ?"
		args = append(args, f.To+"\uffff")
	}
	if c, a := f.Scope.bulkCond("records.id", "records.kind"); c != "" {
		q += " AND " + c
		args = append(args, a...)
	}
	return q, args, nil
}

// cellExpr is the SQL of floor(column / size), the same as internal/geo's
// Grid computes in Go: SQLite's CAST truncates towards zero, so 1 is taken
// off where that rounded up.
func (db *DB) cellExpr(column string, size float64) string {
	s := strconv.FormatFloat(size, 'f', -1, 64)
	q := column + " / " + s
	if db.dialect == Postgres {
		return "CAST(floor(" + q + ") AS INTEGER)"
	}
	return "CAST(" + q + " AS INTEGER) - (" + q + " < CAST(" + q + " AS INTEGER))"
}

// MapCells counts the records selected by f in the cells of a grid of
// dLat by dLon degrees (cell (row, col) holds floor(lat/dLat),
// floor(lon/dLon)), by kind, with their mean positions. The rows returned
// are bounded by the cells in the box times the kinds, whatever the number
// of records.
//
// It reads only the partial index records_map, which holds the positions
// of live records with the map's filters. PostgreSQL groups in SQL (a hash
// aggregate). SQLite groups by sorting, which at a million positions costs
// four times a plain pass over the index (measured: 1.3 s against 0.3 s),
// so on SQLite the positions are streamed from the index, two numbers a
// row with nothing allocated, and binned here. Errors: EINVALID.
func (db *DB) MapCells(ctx context.Context, f MapFilter, dLat, dLon float64) ([]MapCell, error) {
	if !(dLat > 0 && dLon > 0) || math.IsInf(dLat, 0) || math.IsInf(dLon, 0) {
		return nil, custody.Errorf(custody.EINVALID, "map: cell size must be positive")
	}
	where, args, err := f.where()
	if err != nil {
		return nil, err
	}
	acc := cellAcc{cells: map[cellKey]*MapCell{}}
	if db.dialect == Postgres {
		row, col := db.cellExpr("lat", dLat), db.cellExpr("lon", dLon)
		q := `SELECT ` + row + `, ` + col + `, kind, COUNT(*), SUM(lat), SUM(lon) FROM records WHERE ` + where +
			` GROUP BY ` + row + `, ` + col + `, kind`
		if err := acc.grouped(ctx, db, q, args); err != nil {
			return nil, err
		}
		return acc.result(), nil
	}
	// One query a kind, so that each reads one range of the index and its
	// rows are two numbers. (Splitting the box into bands read at once on
	// several connections was measured no faster on two cores.)
	for _, kind := range f.Kinds {
		one := f
		one.Kinds = []string{kind}
		w, a, _ := one.where()
		if err := acc.stream(ctx, db, `SELECT lat, lon FROM records WHERE `+w, a, kind, dLat, dLon); err != nil {
			return nil, err
		}
	}
	return acc.result(), nil
}

type cellKey struct {
	row, col int
	kind     string
}

// cellAcc sums counts and positions by cell and kind.
type cellAcc struct {
	cells map[cellKey]*MapCell
	order []cellKey
}

func (a *cellAcc) add(k cellKey, n int, sumLat, sumLon float64) {
	c := a.cells[k]
	if c == nil {
		c = &MapCell{Row: k.row, Col: k.col, Kind: k.kind}
		a.cells[k] = c
		a.order = append(a.order, k)
	}
	c.Count += n
	c.Lat += sumLat
	c.Lon += sumLon
}

// grouped adds the rows of a grouped query (row, col, kind, count, sums).
func (a *cellAcc) grouped(ctx context.Context, db *DB, q string, args []any) error {
	rows, err := db.read.QueryContext(ctx, db.rebind(q), args...)
	if err != nil {
		return fmt.Errorf("map cells: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k cellKey
		var n int
		var sumLat, sumLon float64
		if err := rows.Scan(&k.row, &k.col, &k.kind, &n, &sumLat, &sumLon); err != nil {
			return fmt.Errorf("map cells: %w", err)
		}
		a.add(k, n, sumLat, sumLon)
	}
	return rows.Err()
}

// stream bins the positions of a query's rows (lat, lon) of one kind.
func (a *cellAcc) stream(ctx context.Context, db *DB, q string, args []any, kind string, dLat, dLon float64) error {
	rows, err := db.read.QueryContext(ctx, db.rebind(q), args...)
	if err != nil {
		return fmt.Errorf("map cells: %w", err)
	}
	defer rows.Close()
	// Runs of rows fall in the same cell (the index is in latitude
	// order): remember the last cell rather than look it up each time.
	var last *MapCell
	for rows.Next() {
		var lat, lon float64
		if err := rows.Scan(&lat, &lon); err != nil {
			return fmt.Errorf("map cells: %w", err)
		}
		k := cellKey{int(math.Floor(lat / dLat)), int(math.Floor(lon / dLon)), kind}
		if last == nil || last.Row != k.row || last.Col != k.col {
			a.add(k, 0, 0, 0)
			last = a.cells[k]
		}
		last.Count++
		last.Lat += lat
		last.Lon += lon
	}
	return rows.Err()
}

// result returns the cells with records, their sums turned into means, in
// the order of custody.RecordKinds within each cell's first appearance.
func (a *cellAcc) result() []MapCell {
	out := make([]MapCell, 0, len(a.order))
	for _, k := range a.order {
		c := a.cells[k]
		if c.Count <= 0 {
			continue
		}
		c.Lat /= float64(c.Count)
		c.Lon /= float64(c.Count)
		out = append(out, *c)
	}
	return out
}

// MapPoints returns up to limit records selected by f, with their titles,
// in creation order. Errors: EINVALID.
func (db *DB) MapPoints(ctx context.Context, f MapFilter, limit int) ([]MapPoint, error) {
	if limit <= 0 || limit > 10000 {
		return nil, custody.Errorf(custody.EINVALID, "map: limit must be 1..10000")
	}
	where, args, err := f.where()
	if err != nil {
		return nil, err
	}
	q := `SELECT id, kind, COALESCE(type, ''), title, lat, lon FROM records WHERE ` + where + ` ORDER BY seq LIMIT ` + strconv.Itoa(limit)
	rows, err := db.read.QueryContext(ctx, db.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("map points: %w", err)
	}
	defer rows.Close()
	var out []MapPoint
	for rows.Next() {
		var p MapPoint
		if err := rows.Scan(&p.ID, &p.Kind, &p.Type, &p.Title, &p.Lat, &p.Lon); err != nil {
			return nil, fmt.Errorf("map points: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
