// Package importer turns spreadsheets and GIS exports into investigation
// records: CSV, JSON (an array of objects) and GeoJSON (a FeatureCollection)
// files are read as a stream of rows, and a declared mapping says which
// column or property feeds which record field.
//
//	dec, err := importer.NewDecoder(f, importer.Options{
//		Kind:    custody.KindIncident,
//		Format:  importer.CSV,
//		Mapping: []importer.Map{{Field: "killed_confirmed", Source: "Killed"}},
//	})
//	for {
//		row, err := dec.Next()
//		if err == io.EOF { break }
//		var re *importer.RowError
//		if errors.As(err, &re) { /* report re, go on */ continue }
//		if err != nil { /* the file cannot be read further */ }
//		// row.Data is the record's JSON, valid until the next call.
//	}
//
// Mapping. Without one, every CSV column (GeoJSON property, JSON key) must
// be named like a record field, in any case and with spaces for
// underscores ("Killed confirmed"); dotted CSV columns reach nested fields
// ("ante_mortem.last_seen_at"). With one, only the mapped sources are read.
// Constants (Map.Const) set a field in every record ("precision": "day").
// Values are converted to the field's type: text is trimmed; whole numbers,
// decimals (a decimal comma is accepted), true/false (yes/no, 1/0, так/ні);
// lists from a JSON array or from values separated by ";"; nested objects
// and lists of objects from JSON text. An empty value leaves the field out.
// In GeoJSON, a feature's geometry (positions in GeoJSON's [lon, lat]
// order) feeds the record's location, unless the mapping names location
// itself: a Point for an incident, a Point or a Polygon for a site; other
// geometries are refused row by row.
//
// Invariants:
//   - Input is read as a stream: one row is held at a time, whatever the
//     size of the file.
//   - Every row returned has passed custody.ParseRecordData: the checks of
//     its kind that need no database (references and KATOTTH codes are the
//     caller's to check against the store and the codifier).
//   - A problem with one row is a *RowError naming its place: the line where
//     a CSV row starts (from 1, the header being line 1), the index of a JSON
//     array element or of a GeoJSON feature (from 0, as in jq's .[2] and
//     .features[2]); reading goes on with the next row. Any other error ends
//     the file.
//   - Nothing panics on any input (fuzzed).
package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/custody-dev/custody"
)

// Format is the format of an import file.
type Format string

// Formats.
const (
	CSV     Format = "csv"
	JSON    Format = "json"
	GeoJSON Format = "geojson"
)

// FormatOf guesses a file's format from its name's extension: .csv, .tsv
// and .txt are CSV, .json JSON, .geojson GeoJSON.
func FormatOf(name string) (Format, bool) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv", ".tsv", ".txt":
		return CSV, true
	case ".json":
		return JSON, true
	case ".geojson":
		return GeoJSON, true
	}
	return "", false
}

// Options configure a Decoder.
type Options struct {
	Kind   string // the record kind of every row
	Format Format
	// Mapping declares the sources of the fields. Without any (nil, or
	// constants only), every source feeds the field of its name.
	Mapping []Map
	// Comma is the CSV field delimiter; 0 detects ',', ';' or tab from
	// the header line.
	Comma rune
}

// Pos locates a row in its file.
type Pos struct {
	Format Format
	// N is the line where a CSV row starts (from 1), or the index of a JSON
	// array element or GeoJSON feature (from 0).
	N int
}

// String returns "line 4", "[2]" or "features[2]".
func (p Pos) String() string {
	switch p.Format {
	case CSV:
		return fmt.Sprintf("line %d", p.N)
	case GeoJSON:
		return fmt.Sprintf("features[%d]", p.N)
	}
	return fmt.Sprintf("[%d]", p.N)
}

// Row is one record read from the file.
type Row struct {
	Pos Pos
	// Data is the record's data as JSON. It is valid until the next call
	// of Next: copy it to keep it.
	Data json.RawMessage
	// Facts are what custody.ParseRecordData extracted: the references to
	// check, and warnings.
	Facts *custody.RecordFacts
}

// RowError is a row that cannot become a record.
type RowError struct {
	Pos Pos
	// Field and Source name the record field and the column or property
	// whose value could not be converted (empty when the problem is not
	// one value's).
	Field, Source string
	Err           error
}

func (e *RowError) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	if e.Source != "" {
		what := "column"
		if e.Pos.Format != CSV {
			what = "property"
		}
		fmt.Fprintf(&b, " (%s %q)", what, e.Source)
	}
	b.WriteString(": ")
	b.WriteString(custody.ErrorMessage(e.Err))
	return b.String()
}

// Unwrap returns the underlying error.
func (e *RowError) Unwrap() error { return e.Err }

// source is a format's reader of rows.
type source interface {
	// next advances to the next row: io.EOF at the end, a *RowError for a
	// row to skip, any other error for a file that cannot be read on.
	next() (Pos, error)
	// cell returns the value of the plan's source i in the current row.
	cell(i int) (cell, bool)
	// geometry returns the current feature's geometry (GeoJSON only).
	geometry() json.RawMessage
	// unknown reports a key of the current row that maps to no field
	// (identity mapping of JSON and GeoJSON).
	unknown() error
}

// Decoder reads records from a file.
type Decoder struct {
	kind   string
	consts []Map
	root   *field
	plan   *plan
	src    source
	buf    []byte
	err    error // sticky
}

var bom = []byte{0xEF, 0xBB, 0xBF}

// NewDecoder returns a Decoder of r. For CSV it reads the header line and
// checks the mapping against it. When r is also an io.ReaderAt over the
// same bytes (an *os.File read from its start), a malformed JSON file's
// error is placed by line and column, else by byte offset. Errors:
// EINVALID (unknown kind, format or field, a mapped column missing from the
// header, an unreadable header).
func NewDecoder(r io.Reader, o Options) (*Decoder, error) {
	root := schema(o.Kind)
	if root == nil {
		return nil, &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("unknown record kind %q", truncate(o.Kind, 40)),
			Hint: "kinds: " + strings.Join(custody.RecordKinds, ", ")}
	}
	d := &Decoder{kind: o.Kind, root: root}
	br := bufio.NewReaderSize(r, 64<<10)
	var base int64
	if p, _ := br.Peek(3); bytes.Equal(p, bom) {
		br.Discard(3)
		base = 3
	}
	ra, _ := r.(io.ReaderAt)
	for _, m := range o.Mapping {
		if m.Const {
			d.consts = append(d.consts, m)
			continue
		}
		if d.plan == nil {
			d.plan = newPlan(root)
		}
		if err := d.plan.add(o.Kind, m.Field, m.Source, false); err != nil {
			return nil, err
		}
	}
	var err error
	switch o.Format {
	case CSV:
		d.src, err = newCSV(d, br, o)
	case JSON:
		d.src, err = newJSON(d, br, ra, base, false)
	case GeoJSON:
		d.src, err = newJSON(d, br, ra, base, true)
	default:
		return nil, &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("unknown format %q", truncate(string(o.Format), 20)),
			Hint: "csv, json or geojson"}
	}
	if err != nil {
		return nil, err
	}
	// Constants last: in identity mode the plan exists only now.
	for _, m := range d.consts {
		if err := d.plan.add(o.Kind, m.Field, m.Source, true); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Next returns the next record. At the end it returns io.EOF; for a row
// that cannot become a record, a *RowError (call Next again for the rest);
// any other error means the file cannot be read further.
func (d *Decoder) Next() (Row, error) {
	if d.err != nil {
		return Row{}, d.err
	}
	pos, err := d.src.next()
	if err != nil {
		var re *RowError
		if !errors.As(err, &re) {
			d.err = err
		}
		return Row{}, err
	}
	if err := d.src.unknown(); err != nil {
		return Row{}, &RowError{Pos: pos, Err: err}
	}
	d.buf, _, err = d.emit(d.buf[:0], d.plan.root, true)
	if err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			src := ""
			if fe.n.src >= 0 {
				src = d.plan.sources[fe.n.src]
			}
			return Row{}, &RowError{Pos: pos, Field: d.kind + "." + fe.n.f.path, Source: src, Err: custody.Errorf(custody.EINVALID, "%s", fe.err.Error())}
		}
		return Row{}, &RowError{Pos: pos, Err: err}
	}
	_, facts, err := custody.ParseRecordData(d.kind, d.buf)
	if err != nil {
		return Row{}, &RowError{Pos: pos, Err: err}
	}
	return Row{Pos: pos, Data: d.buf, Facts: facts}, nil
}

// fieldError is a value of one field that cannot be converted.
type fieldError struct {
	n   *pnode
	err error
}

func (e *fieldError) Error() string { return e.n.f.path + ": " + e.err.Error() }

// emit appends the JSON of node n for the current row, and whether it holds
// anything. The root object is always written.
func (d *Decoder) emit(b []byte, n *pnode, root bool) ([]byte, bool, error) {
	switch {
	case n.src >= 0:
		c, ok := d.src.cell(n.src)
		if !ok {
			return b, false, nil
		}
		out, present, err := appendValue(b, n.f.typ, c)
		if err != nil {
			return b, false, &fieldError{n, err}
		}
		return out, present, nil
	case n.src == srcConst:
		out, present, err := appendValue(b, n.f.typ, cell{text: n.value})
		if err != nil {
			return b, false, &fieldError{n, err}
		}
		return out, present, nil
	case n.src == srcGeometry:
		out, present, err := appendGeometry(b, n.f, d.src.geometry())
		if err != nil {
			return b, false, &fieldError{n, err}
		}
		return out, present, nil
	}
	mark := len(b)
	b = append(b, '{')
	wrote := false
	for _, c := range n.children {
		m := len(b)
		if wrote {
			b = append(b, ',')
		}
		b = append(b, c.key...)
		var ok bool
		var err error
		if b, ok, err = d.emit(b, c, false); err != nil {
			return b, false, err
		}
		if !ok {
			b = b[:m]
			continue
		}
		wrote = true
	}
	if !wrote && !root {
		return b[:mark], false, nil
	}
	return append(b, '}'), true, nil
}
