package importer

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/custody-dev/custody"
)

// jsonSource reads the elements of a JSON array of objects, or the
// features of a GeoJSON FeatureCollection, one at a time.
type jsonSource struct {
	d        *Decoder
	dec      *json.Decoder
	ra       io.ReaderAt // the file, when it can be read again for positions
	base     int64       // bytes skipped before the decoder (a BOM)
	geo      bool
	state    int
	index    int
	identity bool
	hasGeom  bool // the plan has a geometry node
	locField bool // the kind has a location that a geometry can feed

	raw   json.RawMessage
	obj   map[string]json.RawMessage
	geom  json.RawMessage
	paths [][]string // plan sources split at dots

	sawFeatures bool
}

const (
	stStart = iota
	stObject
	stArray
	stDone
)

var (
	pointType    = reflect.TypeFor[custody.Point]()
	geometryType = reflect.TypeFor[custody.Geometry]()
)

func newJSON(d *Decoder, br *bufio.Reader, ra io.ReaderAt, base int64, geo bool) (*jsonSource, error) {
	s := &jsonSource{d: d, dec: json.NewDecoder(br), ra: ra, base: base, geo: geo, obj: map[string]json.RawMessage{}}
	if loc := d.root.child("location"); loc != nil && (loc.goType == pointType || loc.goType == geometryType) {
		s.locField = true
	}
	if d.plan == nil {
		s.identity = true
		d.plan = newPlan(d.root)
		for _, c := range d.root.children {
			if geo && s.locField && c.name == "location" || s.constant(c.name) {
				continue
			}
			d.plan.root.children = append(d.plan.root.children, &pnode{f: c, src: len(d.plan.sources), key: appendKey(nil, c.name)})
			d.plan.sources = append(d.plan.sources, c.name)
		}
	}
	if geo && s.locField && !d.plan.mapped("location") {
		if err := d.plan.add(d.kind, "location", geometrySource, false); err != nil {
			return nil, err
		}
	}
	s.hasGeom = geo && s.locField && d.plan.root.child("location") != nil && d.plan.root.child("location").src == srcGeometry
	for _, name := range d.plan.sources {
		s.paths = append(s.paths, strings.Split(name, "."))
	}
	return s, nil
}

func (n *pnode) child(name string) *pnode {
	for _, c := range n.children {
		if c.f.name == name {
			return c
		}
	}
	return nil
}

// fatal describes a JSON error that ends the file, with its position.
func (s *jsonSource) fatal(err error) error { return s.fatalIn(err, -1) }

// fatalIn is fatal for an error in the value (record or feature) that
// starts at offset start of the decoder's input.
func (s *jsonSource) fatalIn(err error, start int64) error {
	what := "JSON"
	if s.geo {
		what = "GeoJSON"
	}
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		if start < 0 {
			return custody.Errorf(custody.EINVALID, "malformed %s at %s: %v", what, s.at(s.dec.InputOffset()-1), se.Error())
		}
		// The decoder's offsets within a value are not the input's: read
		// the value again on its own to place the error.
		if s.ra != nil {
			// start is before the comma that separates the value from the
			// previous one.
			br := bufio.NewReader(io.NewSectionReader(s.ra, s.base+start, 1<<62))
			skipped := int64(0)
			for comma := false; ; skipped++ {
				c, err := br.ReadByte()
				if err != nil || !(c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' && !comma) {
					br.UnreadByte()
					break
				}
				comma = comma || c == ','
			}
			again := json.NewDecoder(br)
			var v json.RawMessage
			var se2 *json.SyntaxError
			if errors.As(again.Decode(&v), &se2) {
				return custody.Errorf(custody.EINVALID, "malformed %s at %s (after %d records): %v", what, s.at(start+skipped+se2.Offset-1), s.index, se2.Error())
			}
			return custody.Errorf(custody.EINVALID, "malformed %s at %s (after %d records): %v", what, s.at(s.dec.InputOffset()), s.index, se.Error())
		}
		return custody.Errorf(custody.EINVALID, "malformed %s in the record after byte %d (after %d records): %v", what, s.base+start, s.index, se.Error())
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return custody.Errorf(custody.EINVALID, "the %s ends early, at %s (after %d records): is the file complete?", what, s.at(s.dec.InputOffset()), s.index)
	}
	var ce *custody.Error
	if errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("read %s: %w", what, err)
}

// at describes a position of the decoder's input: line and column (in
// bytes) when the file can be read again, else the byte offset.
func (s *jsonSource) at(off int64) string {
	off = max(off, 0) + s.base
	if s.ra == nil {
		return fmt.Sprintf("byte %d", off)
	}
	line, col := 1, 1
	sr := io.NewSectionReader(s.ra, 0, off)
	buf := make([]byte, 32<<10)
	for {
		n, err := sr.Read(buf)
		for _, c := range buf[:n] {
			if c == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		if err != nil {
			break
		}
	}
	return fmt.Sprintf("line %d, column %d", line, col)
}

func (s *jsonSource) next() (Pos, error) {
	for {
		switch s.state {
		case stStart:
			tok, err := s.dec.Token()
			if err == io.EOF {
				return Pos{}, custody.Errorf(custody.EINVALID, "the file is empty")
			} else if err != nil {
				return Pos{}, s.fatal(err)
			}
			switch {
			case s.geo && tok == json.Delim('{'):
				s.state = stObject
			case s.geo:
				return Pos{}, custody.Errorf(custody.EINVALID, "not GeoJSON: a GeoJSON import is a FeatureCollection object")
			case tok == json.Delim('['):
				s.state = stArray
			case tok == json.Delim('{'):
				return Pos{}, &custody.Error{Code: custody.EINVALID, Message: "a JSON import is an array of objects, [{...}, {...}], not one object",
					Hint: "for a GeoJSON FeatureCollection give --format geojson"}
			default:
				return Pos{}, custody.Errorf(custody.EINVALID, "a JSON import is an array of objects, [{...}, {...}]")
			}
		case stObject:
			if err := s.seekFeatures(); err != nil {
				if err == io.EOF {
					s.state = stDone
				}
				return Pos{}, err
			}
			s.state = stArray
		case stArray:
			if !s.dec.More() {
				if _, err := s.dec.Token(); err != nil { // ]
					return Pos{}, s.fatal(err)
				}
				if s.geo {
					s.state = stObject
					continue
				}
				s.state = stDone
				return Pos{}, s.end()
			}
			s.raw = s.raw[:0]
			start := s.dec.InputOffset()
			if err := s.dec.Decode(&s.raw); err != nil {
				return Pos{}, s.fatalIn(err, start)
			}
			i := s.index
			s.index++
			if s.geo {
				return s.feature(i)
			}
			pos := Pos{JSON, i}
			clear(s.obj)
			if len(s.raw) == 0 || s.raw[0] != '{' {
				return pos, &RowError{Pos: pos, Err: custody.Errorf(custody.EINVALID, "is not an object")}
			}
			if err := json.Unmarshal(s.raw, &s.obj); err != nil {
				return pos, &RowError{Pos: pos, Err: custody.Errorf(custody.EINVALID, "%v", err)}
			}
			s.normalizeKeys()
			return pos, nil
		default:
			return Pos{}, io.EOF
		}
	}
}

// end checks that nothing follows the top-level value.
func (s *jsonSource) end() error {
	last := s.dec.InputOffset() - 1
	if _, err := s.dec.Token(); err != io.EOF {
		if err != nil {
			return s.fatal(err)
		}
		return custody.Errorf(custody.EINVALID, "the JSON ends at %s, but more data follows", s.at(last))
	}
	return io.EOF
}

// seekFeatures reads a FeatureCollection's members up to the features
// array (nil, its '[' read), or to its end (io.EOF).
func (s *jsonSource) seekFeatures() error {
	for s.dec.More() {
		tok, err := s.dec.Token()
		if err != nil {
			return s.fatal(err)
		}
		key, _ := tok.(string)
		switch key {
		case "features":
			tok, err := s.dec.Token()
			if err != nil {
				return s.fatal(err)
			}
			if tok != json.Delim('[') {
				return custody.Errorf(custody.EINVALID, "not GeoJSON: features is not an array")
			}
			if s.sawFeatures {
				return custody.Errorf(custody.EINVALID, "not GeoJSON: features is given twice")
			}
			s.sawFeatures = true
			return nil
		case "type":
			var t json.RawMessage
			if err := s.dec.Decode(&t); err != nil {
				return s.fatal(err)
			}
			var typ string
			json.Unmarshal(t, &typ)
			switch typ {
			case "FeatureCollection":
			case "Feature":
				return custody.Errorf(custody.EINVALID, "the file holds a single Feature: a GeoJSON import is a FeatureCollection")
			default:
				return custody.Errorf(custody.EINVALID, "not GeoJSON: type is %s, not \"FeatureCollection\"", truncate(string(t), 40))
			}
		default:
			var skip json.RawMessage
			if err := s.dec.Decode(&skip); err != nil {
				return s.fatal(err)
			}
		}
	}
	if _, err := s.dec.Token(); err != nil { // }
		return s.fatal(err)
	}
	if !s.sawFeatures {
		return custody.Errorf(custody.EINVALID, "not GeoJSON: the object has no features")
	}
	return s.end()
}

// feature decodes the feature just read.
func (s *jsonSource) feature(i int) (Pos, error) {
	pos := Pos{GeoJSON, i}
	clear(s.obj)
	s.geom = nil
	var f struct {
		Type       string          `json:"type"`
		Geometry   json.RawMessage `json:"geometry"`
		Properties json.RawMessage `json:"properties"`
	}
	if len(s.raw) == 0 || s.raw[0] != '{' {
		return pos, &RowError{Pos: pos, Err: custody.Errorf(custody.EINVALID, "is not a Feature object")}
	}
	if err := json.Unmarshal(s.raw, &f); err != nil {
		return pos, &RowError{Pos: pos, Err: custody.Errorf(custody.EINVALID, "is not a Feature: %v", err)}
	}
	if f.Type != "Feature" {
		return pos, &RowError{Pos: pos, Err: custody.Errorf(custody.EINVALID, "type is %q, not \"Feature\"", truncate(f.Type, 40))}
	}
	if p := f.Properties; len(p) > 0 && string(p) != "null" {
		if p[0] != '{' {
			return pos, &RowError{Pos: pos, Err: custody.Errorf(custody.EINVALID, "properties is not an object")}
		}
		if err := json.Unmarshal(p, &s.obj); err != nil {
			return pos, &RowError{Pos: pos, Err: custody.Errorf(custody.EINVALID, "properties: %v", err)}
		}
		s.normalizeKeys()
	}
	if g := f.Geometry; len(g) > 0 && string(g) != "null" {
		if !s.hasGeom && !s.locField {
			return pos, &RowError{Pos: pos, Err: custody.Errorf(custody.EINVALID, "%s records have no location: the feature's geometry cannot be recorded", s.d.kind)}
		}
		s.geom = g
	}
	return pos, nil
}

func (s *jsonSource) cell(i int) (cell, bool) {
	path := s.paths[i]
	if v, ok := s.obj[s.d.plan.sources[i]]; ok {
		return cell{text: string(v), isJSON: true}, true
	}
	if len(path) == 1 {
		return cell{}, false
	}
	// A dotted path into nested objects.
	cur := s.obj
	for j, part := range path {
		v, ok := cur[part]
		if !ok {
			return cell{}, false
		}
		if j == len(path)-1 {
			return cell{text: string(v), isJSON: true}, true
		}
		var next map[string]json.RawMessage
		if json.Unmarshal(v, &next) != nil {
			return cell{}, false
		}
		cur = next
	}
	return cell{}, false
}

func (s *jsonSource) geometry() json.RawMessage { return s.geom }

// normalizeKeys renames, without a mapping, the keys that name a field in
// another case or with spaces for underscores ("Killed confirmed"), as CSV
// headers may.
func (s *jsonSource) normalizeKeys() {
	if !s.identity {
		return
	}
	for k, v := range s.obj {
		if s.d.root.child(k) != nil {
			continue
		}
		alt := strings.ToLower(strings.ReplaceAll(k, " ", "_"))
		if _, taken := s.obj[alt]; !taken && s.d.root.child(alt) != nil {
			delete(s.obj, k)
			s.obj[alt] = v
		}
	}
}

// constant reports whether a top-level field is set by a constant.
func (s *jsonSource) constant(name string) bool {
	for _, m := range s.d.consts {
		if m.Field == name {
			return true
		}
	}
	return false
}

func (s *jsonSource) unknown() error {
	if !s.identity {
		return nil
	}
	var bad []string
	for k := range s.obj {
		if s.d.root.child(k) == nil || s.hasGeom && k == "location" || s.constant(k) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	k := slices.Min(bad)
	if s.constant(k) {
		return custody.Errorf(custody.EINVALID, "%q is given both by the file and as a constant", truncate(k, 60))
	}
	if k == "location" {
		return custody.Errorf(custody.EINVALID, "a property \"location\": the location comes from the feature's geometry")
	}
	return &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("%q is not a field of %s records", truncate(k, 60), s.d.kind),
		Hint: suggestField(s.d.kind, k) + "; or give a mapping, which reads only the properties it names"}
}

// appendGeometry converts a GeoJSON geometry for a location field: a Point
// for a custody.Point; a Point or a Polygon (its one ring) for a
// custody.Geometry. GeoJSON positions are [longitude, latitude].
func appendGeometry(b []byte, f *field, raw json.RawMessage) ([]byte, bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return b, false, nil
	}
	var g struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if raw[0] != '{' || json.Unmarshal(raw, &g) != nil {
		return b, false, convErr("the geometry is not a GeoJSON geometry object")
	}
	want := "a Point"
	if f.goType == geometryType {
		want = "a Point or a Polygon"
	}
	switch {
	case g.Type == "Point":
		var c []float64
		if json.Unmarshal(g.Coordinates, &c) != nil || len(c) < 2 || len(c) > 3 {
			return b, false, convErr("the Point's coordinates are not [longitude, latitude]")
		}
		if f.goType == geometryType {
			b = append(b, `{"point":`...)
		}
		b = appendPoint(b, c[1], c[0])
		if f.goType == geometryType {
			b = append(b, '}')
		}
		return b, true, nil
	case g.Type == "Polygon" && f.goType == geometryType:
		var rings [][][]float64
		if json.Unmarshal(g.Coordinates, &rings) != nil || len(rings) == 0 {
			return b, false, convErr("the Polygon's coordinates are not a list of rings of [longitude, latitude]")
		}
		if len(rings) > 1 {
			return b, false, convErr("the Polygon has holes; a location is one ring")
		}
		b = append(b, `{"polygon":[`...)
		for i, p := range rings[0] {
			if len(p) < 2 || len(p) > 3 {
				return b, false, convErr("position %d of the Polygon is not [longitude, latitude]", i)
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = strconv.AppendFloat(b, p[0], 'g', -1, 64)
			b = append(b, ',')
			b = strconv.AppendFloat(b, p[1], 'g', -1, 64)
			b = append(b, ']')
		}
		return append(b, "]}"...), true, nil
	}
	typ := g.Type
	if typ == "" {
		typ = "without a type"
	}
	return b, false, convErr("the geometry is a %s; %s takes %s", truncate(typ, 40), f.path, want)
}

func appendPoint(b []byte, lat, lon float64) []byte {
	b = append(b, `{"lat":`...)
	b = strconv.AppendFloat(b, lat, 'g', -1, 64)
	b = append(b, `,"lon":`...)
	b = strconv.AppendFloat(b, lon, 'g', -1, 64)
	return append(b, '}')
}
