package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/custody-dev/custody"
)

// csvSource reads rows of a CSV file with a header line.
type csvSource struct {
	r       *csv.Reader
	rec     []string
	cols    []int // plan source → column
	width   int   // columns in the header
	unnamed []int // columns without a name (identity mapping)
	errLine int   // line of the last malformed row
}

// detectComma picks the delimiter of the header line: the most frequent of
// ',', ';' and tab outside quotes (spreadsheets in Ukrainian locales write
// ';').
func detectComma(br *bufio.Reader) rune {
	p, _ := br.Peek(br.Size())
	if i := bytes.IndexByte(p, '\n'); i >= 0 {
		p = p[:i]
	}
	counts := map[byte]int{}
	quoted := false
	for _, c := range p {
		switch {
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ',' || c == ';' || c == '\t'):
			counts[c]++
		}
	}
	best := byte(',')
	for _, c := range []byte{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return rune(best)
}

func newCSV(d *Decoder, br *bufio.Reader, o Options) (*csvSource, error) {
	comma := o.Comma
	if comma == 0 {
		comma = detectComma(br)
	}
	if comma == '"' || comma == '\r' || comma == '\n' || !utf8.ValidRune(comma) || comma == utf8.RuneError {
		return nil, custody.Errorf(custody.EINVALID, "%q cannot separate CSV fields", comma)
	}
	r := csv.NewReader(br)
	r.Comma = comma
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	s := &csvSource{r: r}
	var header []string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil, custody.Errorf(custody.EINVALID, "the file is empty: a CSV import starts with a header line naming the columns")
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, custody.Errorf(custody.EINVALID, "the header (line %d) is not CSV: %v", pe.StartLine, pe.Err)
		} else if err != nil {
			return nil, fmt.Errorf("read CSV header: %w", err)
		}
		if !blank(rec) {
			header = make([]string, len(rec))
			for i, h := range rec {
				header[i] = strings.TrimSpace(h)
			}
			break
		}
	}
	s.width = len(header)
	index := make(map[string]int, len(header))
	for i, h := range header {
		if !utf8.ValidString(h) {
			return nil, custody.Errorf(custody.EINVALID, "the header is not valid UTF-8 (save the file as \"CSV UTF-8\", or convert it: iconv -f cp1251 -t utf-8)")
		}
		if h == "" {
			continue
		}
		if _, dup := index[h]; dup {
			return nil, custody.Errorf(custody.EINVALID, "the header names column %q twice", truncate(h, 60))
		}
		index[h] = i
	}
	if d.plan == nil {
		d.plan = newPlan(d.root)
		var unknown []string
		for i, h := range header {
			if h == "" {
				s.unnamed = append(s.unnamed, i)
				continue
			}
			f := fieldName(d.root, h)
			if f == "" {
				unknown = append(unknown, fmt.Sprintf("%q", truncate(h, 40)))
				continue
			}
			if err := d.plan.add(d.kind, f, h, false); err != nil {
				return nil, err
			}
		}
		if len(unknown) > 0 {
			hint := "map the columns to fields with --map FIELD=COLUMN,... (only mapped columns are read then)"
			msg := fmt.Sprintf("column %s of the header is not a field of %s records", unknown[0], d.kind)
			if len(unknown) == 1 {
				hint = suggestField(d.kind, strings.Trim(unknown[0], `"`)) + "; or " + hint
			} else {
				msg = fmt.Sprintf("columns %s of the header are not fields of %s records", strings.Join(unknown, ", "), d.kind)
			}
			return nil, &custody.Error{Code: custody.EINVALID, Message: msg, Hint: hint}
		}
	}
	s.cols = make([]int, len(d.plan.sources))
	var missing []string
	for i, name := range d.plan.sources {
		c, ok := index[name]
		if !ok {
			missing = append(missing, fmt.Sprintf("%q", truncate(name, 40)))
		}
		s.cols[i] = c
	}
	if len(missing) > 0 {
		cols := make([]string, 0, len(header))
		for _, h := range header {
			if h != "" {
				cols = append(cols, h)
			}
		}
		return nil, &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("the mapping names column %s, which the header does not have", strings.Join(missing, ", ")),
			Hint: "the columns are: " + truncate(strings.Join(cols, ", "), 400)}
	}
	return s, nil
}

// fieldName returns the field a column names: exactly, or in another case
// with spaces for underscores ("Killed confirmed"); "" if none.
func fieldName(root *field, h string) string {
	if root.lookup(h) != nil {
		return h
	}
	alt := strings.ToLower(strings.ReplaceAll(h, " ", "_"))
	if root.lookup(alt) != nil {
		return alt
	}
	return ""
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func (s *csvSource) next() (Pos, error) {
	for {
		rec, err := s.r.Read()
		if err == io.EOF {
			return Pos{}, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			line := pe.StartLine
			if line <= s.errLine { // no progress: give up rather than loop
				return Pos{}, custody.Errorf(custody.EINVALID, "line %d is not CSV: %v", line, pe.Err)
			}
			s.errLine = line
			msg := pe.Err.Error()
			if errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) {
				msg += fmt.Sprintf(" (at line %d, column %d; a quote inside a field is written twice: \"\")", pe.Line, pe.Column)
			}
			return Pos{CSV, line}, &RowError{Pos: Pos{CSV, line}, Err: custody.Errorf(custody.EINVALID, "malformed CSV: %s", msg)}
		} else if err != nil {
			return Pos{}, fmt.Errorf("read CSV: %w", err)
		}
		line, _ := s.r.FieldPos(0)
		pos := Pos{CSV, line}
		if blank(rec) {
			continue
		}
		if len(rec) != s.width {
			if len(rec) < s.width || !blank(rec[s.width:]) {
				return pos, &RowError{Pos: pos, Err: custody.Errorf(custody.EINVALID, "%d fields, but the header has %d columns", len(rec), s.width)}
			}
		}
		for _, i := range s.unnamed {
			if strings.TrimSpace(rec[i]) != "" {
				return pos, &RowError{Pos: pos, Err: custody.Errorf(custody.EINVALID, "a value in column %d, which the header does not name", i+1)}
			}
		}
		s.rec = rec
		return pos, nil
	}
}

func (s *csvSource) cell(i int) (cell, bool) {
	return cell{text: s.rec[s.cols[i]]}, true
}

func (s *csvSource) geometry() json.RawMessage { return nil }
func (s *csvSource) unknown() error            { return nil }
