package geo

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Marker is something to draw at a position: one record, or a cluster of
// Count records.
type Marker struct {
	Point
	// Kind is what it is ("site", "incident", or a finer type such as
	// "mass_burial"); the SVG gives it the class "kind-<Kind>" (letters,
	// digits, '-' and '_' kept, anything else made '_') and data-kind.
	Kind string
	// Count is the number of records the marker stands for; 0 means 1.
	Count int
	// ID, Label and Href describe a single record: its ID (data-id), the
	// text of its tooltip (<title>), and a link to it. Each may be empty.
	ID, Label, Href string
}

func (m Marker) count() int { return max(1, m.Count) }

// LatPerLon is the height of a grid cell in degrees of latitude for each
// degree of longitude of its width: 5/8, so that cells look nearly square in
// Web Mercator at Ukraine's latitudes (44–52.5° N, where a degree of latitude
// is drawn 1.39 to 1.64 times as long as a degree of longitude). It is a
// dyadic fraction, so every cell size is exactly representable and SQL and
// Go compute the same cells.
const LatPerLon = 0.625

// Grid divides the Earth into cells DLat degrees high and DLon degrees
// wide, with corners on multiples of them: cell (Row, Col) holds the
// positions with
//
//	Row = floor(lat / DLat), Col = floor(lon / DLon)
//
// Cells do not depend on the view, only on the cell size, so panning does not
// move clusters from one cell to another. Build one with GridFor.
type Grid struct {
	DLat, DLon float64
}

// GridFor returns the grid for showing view in widthPx screen pixels with
// cells of about cellPx pixels across. DLon is cellPx's width in degrees
// rounded to a power of two (between 2⁻²⁰ and 16 degrees), so the same zoom
// level always gives the same grid, and cells are 0.7 to 1.4 times cellPx
// across; DLat is DLon·LatPerLon. With cellPx 40, a 1000 × 700 pixel view
// has at most about a thousand cells, and a few hundred at most hold
// anything on a country-wide view.
func GridFor(view Bounds, widthPx, cellPx float64) Grid {
	raw := cellPx * (view.MaxLon - view.MinLon) / widthPx
	k := -20.0
	if raw > 0 && !math.IsInf(raw, 0) {
		k = max(-20, min(4, math.Round(math.Log2(raw))))
	}
	d := math.Exp2(k)
	return Grid{DLat: d * LatPerLon, DLon: d}
}

// Cell returns the row and column of the cell holding p.
func (g Grid) Cell(p Point) (row, col int) {
	return int(math.Floor(p.Lat / g.DLat)), int(math.Floor(p.Lon / g.DLon))
}

// CellBounds returns the box of cell (row, col); clicking a cluster can
// zoom to it.
func (g Grid) CellBounds(row, col int) Bounds {
	return Bounds{
		MinLat: float64(row) * g.DLat, MinLon: float64(col) * g.DLon,
		MaxLat: float64(row+1) * g.DLat, MaxLon: float64(col+1) * g.DLon,
	}
}

// Dialect names an SQL dialect for Grid.SQL.
type Dialect int

// The dialects Grid.SQL knows.
const (
	SQLite Dialect = iota
	Postgres
)

// SQL returns SQL expressions for the row and the column of the cell of a
// row whose position is in the columns lat and lon, equal to what Cell
// computes (IEEE double arithmetic on the same exact constants). lat and lon
// are trusted SQL (column names, optionally qualified); SQL panics if they
// are anything else. With SQLite it needs no math functions; with
// PostgreSQL it uses floor. For a grid of 1/8° by 5/64°:
//
//	SQLite:   CAST(lat / 0.078125 AS INTEGER) - (lat / 0.078125 < CAST(lat / 0.078125 AS INTEGER))
//	Postgres: CAST(floor(lat / 0.078125) AS INTEGER)
//
// To cluster a million records where they are stored, group by cell and
// kind within the view, and pass the rows to MergeCells:
//
//	SELECT <row>, <col>, kind, COUNT(*), AVG(lat), AVG(lon)
//	FROM records
//	WHERE lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?   -- the view, and any filter
//	GROUP BY 1, 2, 3
//
// An index on (lat, lon) or (kind, lat, lon) serves the WHERE; the number of
// rows returned is bounded by the cells in view times the kinds, whatever
// the number of records.
func (g Grid) SQL(d Dialect, lat, lon string) (row, col string) {
	return cellSQL(d, lat, g.DLat), cellSQL(d, lon, g.DLon)
}

func cellSQL(d Dialect, column string, size float64) string {
	if !validColumn(column) {
		panic("geo: Grid.SQL: not a column name: " + strconv.Quote(column))
	}
	q := column + " / " + exactDecimal(size)
	if d == Postgres {
		return "CAST(floor(" + q + ") AS INTEGER)"
	}
	// CAST truncates towards zero; subtract 1 where that rounded up.
	return "CAST(" + q + " AS INTEGER) - (" + q + " < CAST(" + q + " AS INTEGER))"
}

// exactDecimal writes v's exact decimal expansion (finite for the dyadic
// sizes GridFor makes), so that any SQL parser reads back the same double.
func exactDecimal(v float64) string {
	s := strconv.FormatFloat(v, 'f', 60, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

func validColumn(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" || part[0] >= '0' && part[0] <= '9' {
			return false
		}
		for _, c := range part {
			if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

// Cell is one row of a grouped query: Count records of one Kind in cell
// (Row, Col), with their mean position.
type Cell struct {
	Row, Col int
	Kind     string
	Count    int
	Lat, Lon float64 // mean position
}

// Cluster is the content of one grid cell, drawn as one marker.
type Cluster struct {
	// Marker is what to draw: the mean position of the records, the most
	// frequent kind (ties go to the kind first in byte order), and the
	// count. For a cell holding one record, ID, Label and Href are that
	// record's; otherwise they are empty.
	Marker
	Row, Col int
	// Kinds counts the records of each kind in the cell.
	Kinds map[string]int
}

// Cluster groups markers by the cell they lie in and returns one cluster a
// non-empty cell, ordered by row, then column. The counts add up to the
// markers' counts. Markers at invalid positions (NaN, or beyond ±90/±180)
// are left out; so is everything for a grid without a positive cell size.
// It is linear in len(ms), tens of milliseconds for a million markers (see
// BenchmarkCluster); at that scale, rather cluster in SQL (Grid.SQL) than
// load the records.
func (g Grid) Cluster(ms []Marker) []Cluster {
	var acc accumulator
	if !(g.DLat > 0 && g.DLon > 0) {
		return acc.clusters()
	}
	// Where the markers span few enough cells, index cells through a dense
	// table rather than a map: a million lookups in a map cost several
	// times more.
	lo, hi, found := Point{}, Point{}, false
	for i := range ms {
		if p := ms[i].Point; p.Valid() {
			if !found {
				lo, hi, found = p, p, true
			}
			lo.Lat, lo.Lon = min(lo.Lat, p.Lat), min(lo.Lon, p.Lon)
			hi.Lat, hi.Lon = max(hi.Lat, p.Lat), max(hi.Lon, p.Lon)
		}
	}
	if found {
		r0, c0 := g.Cell(lo)
		r1, c1 := g.Cell(hi)
		if rows, cols := r1-r0+1, c1-c0+1; rows*cols <= maxDense {
			acc.dense = make([]int32, rows*cols)
			acc.row0, acc.col0, acc.cols = r0, c0, cols
		}
	}
	for i := range ms {
		m := &ms[i]
		if !m.Valid() {
			continue
		}
		row, col := g.Cell(m.Point)
		n := m.count()
		c := acc.cell(row, col)
		if c.n == 0 {
			c.first = m
		}
		c.add(acc.kind(m.Kind), n, m.Lat*float64(n), m.Lon*float64(n))
	}
	return acc.clusters()
}

// MergeCells turns the rows of the grouped query shown with Grid.SQL into
// clusters, one a cell, ordered by row, then column. Rows with a count below
// 1 are ignored.
func MergeCells(cells []Cell) []Cluster {
	var acc accumulator
	for _, r := range cells {
		if r.Count < 1 {
			continue
		}
		c := acc.cell(r.Row, r.Col)
		c.add(acc.kind(r.Kind), r.Count, r.Lat*float64(r.Count), r.Lon*float64(r.Count))
	}
	return acc.clusters()
}

type cellAcc struct {
	row, col       int
	n              int
	sumLat, sumLon float64
	kinds          []int   // count by kind number (accumulator.kinds)
	first          *Marker // the first marker added, for a cell of one
}

func (c *cellAcc) add(kind, n int, lat, lon float64) {
	c.n += n
	c.sumLat += lat
	c.sumLon += lon
	if kind >= len(c.kinds) {
		c.kinds = append(c.kinds, make([]int, kind+1-len(c.kinds))...)
	}
	c.kinds[kind] += n
}

// accumulator sums markers by cell. Kinds are numbered in order of first
// appearance; cells are found through a map keyed by row and column packed
// in 64 bits (rows and columns fit in 32: |lat/DLat| ≤ 90·2²⁰/0.625).
type accumulator struct {
	// dense, when set, holds 1 + the index in cells of cell (row0 + i/cols,
	// col0 + i%cols), or 0.
	dense            []int32
	row0, col0, cols int
	index            map[uint64]int
	cells            []cellAcc
	kinds            []string
	lastKind         int
}

func (a *accumulator) kind(k string) int {
	if a.lastKind < len(a.kinds) && a.kinds[a.lastKind] == k {
		return a.lastKind
	}
	for i, x := range a.kinds {
		if x == k {
			a.lastKind = i
			return i
		}
	}
	a.kinds = append(a.kinds, k)
	a.lastKind = len(a.kinds) - 1
	return a.lastKind
}

// maxDense bounds the dense table of an accumulator (4 MB).
const maxDense = 1 << 20

func (a *accumulator) cell(row, col int) *cellAcc {
	if a.dense != nil {
		j := (row-a.row0)*a.cols + col - a.col0
		if i := a.dense[j]; i > 0 {
			return &a.cells[i-1]
		}
		a.cells = append(a.cells, cellAcc{row: row, col: col})
		a.dense[j] = int32(len(a.cells))
		return &a.cells[len(a.cells)-1]
	}
	if a.index == nil {
		a.index = map[uint64]int{}
	}
	k := uint64(uint32(int32(row)))<<32 | uint64(uint32(int32(col)))
	i, ok := a.index[k]
	if !ok {
		i = len(a.cells)
		a.index[k] = i
		a.cells = append(a.cells, cellAcc{row: row, col: col})
	}
	return &a.cells[i]
}

func (a *accumulator) clusters() []Cluster {
	out := make([]Cluster, 0, len(a.cells))
	for _, c := range a.cells {
		cl := Cluster{Row: c.row, Col: c.col, Kinds: make(map[string]int, len(c.kinds))}
		cl.Count = c.n
		cl.Lat, cl.Lon = c.sumLat/float64(c.n), c.sumLon/float64(c.n)
		best := -1
		for k, n := range c.kinds {
			if n == 0 {
				continue
			}
			cl.Kinds[a.kinds[k]] = n
			if best < 0 || n > c.kinds[best] || n == c.kinds[best] && a.kinds[k] < a.kinds[best] {
				best = k
			}
		}
		cl.Kind = a.kinds[best]
		if c.n == 1 && c.first != nil {
			cl.ID, cl.Label, cl.Href = c.first.ID, c.first.Label, c.first.Href
			cl.Lat, cl.Lon = c.first.Lat, c.first.Lon
		}
		out = append(out, cl)
	}
	slices.SortFunc(out, func(x, y Cluster) int {
		return cmp.Or(cmp.Compare(x.Row, y.Row), cmp.Compare(x.Col, y.Col))
	})
	return out
}
