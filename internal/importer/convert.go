package importer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ListSeparator separates the values of a list in one CSV cell
// ("dna;dental").
const ListSeparator = ";"

// cell is one source value: text from a CSV cell, or a JSON value.
type cell struct {
	text   string
	isJSON bool
}

// convError is a value that cannot be converted for its field.
type convError struct {
	msg string
}

func (e *convError) Error() string { return e.msg }

func convErr(format string, args ...any) error { return &convError{fmt.Sprintf(format, args...)} }

// appendString appends s as a JSON string. It fails on invalid UTF-8, which
// would otherwise be replaced silently.
func appendString(b []byte, s string) ([]byte, bool) {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, `\u00`...)
				b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return b, false
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"'), true
}

var errNotUTF8 = convErr("is not valid UTF-8 (if the file comes from Excel, save it as \"CSV UTF-8\", or convert it: iconv -f cp1251 -t utf-8)")

// appendValue converts c for a field of type t and appends it as JSON. It
// returns false, without appending, when the value is empty (the field is
// then left out).
func appendValue(b []byte, t vtype, c cell) ([]byte, bool, error) {
	if c.isJSON {
		return appendJSONValue(b, t, c.text)
	}
	s := strings.TrimSpace(c.text)
	if s == "" {
		return b, false, nil
	}
	switch t {
	case tString:
		b, ok := appendString(b, s)
		if !ok {
			return b, false, errNotUTF8
		}
		return b, true, nil
	case tInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			if f, ferr := strconv.ParseFloat(s, 64); ferr == nil && f == float64(int64(f)) && !strings.ContainsAny(s, "xXpP_") {
				n, err = int64(f), nil
			}
		}
		if err != nil {
			return b, false, convErr("%q is not a whole number", truncate(s, 40))
		}
		return strconv.AppendInt(b, n, 10), true, nil
	case tFloat:
		f, err := parseFloat(s)
		if err != nil {
			return b, false, err
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64), true, nil
	case tBool:
		v, err := parseBool(s)
		if err != nil {
			return b, false, err
		}
		return strconv.AppendBool(b, v), true, nil
	case tList:
		mark := len(b)
		b = append(b, '[')
		n := 0
		for part := range strings.SplitSeq(s, ListSeparator) {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendString(b, part); !ok {
				return b[:mark], false, errNotUTF8
			}
			n++
		}
		if n == 0 {
			return b[:mark], false, nil
		}
		return append(b, ']'), true, nil
	default: // tObject, tRaw: JSON text in the cell
		if !json.Valid([]byte(s)) {
			return b, false, convErr("%q is not JSON (a %s needs a JSON value in the cell)", truncate(s, 40), t)
		}
		return appendCompact(b, s)
	}
}

func appendCompact(b []byte, s string) ([]byte, bool, error) {
	if s == "null" {
		return b, false, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		return b, false, convErr("is not JSON: %v", err)
	}
	return append(b, buf.Bytes()...), true, nil
}

func parseFloat(s string) (float64, error) {
	t := s
	// A decimal comma, as spreadsheets in Ukrainian write it: 49,1947.
	if strings.Count(t, ",") == 1 && !strings.Contains(t, ".") {
		t = strings.Replace(t, ",", ".", 1)
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f != f || f > 1e300 || f < -1e300 || strings.ContainsAny(t, "xXpP_") {
		return 0, convErr("%q is not a number", truncate(s, 40))
	}
	return f, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "yes", "y", "1", "так", "t":
		return true, nil
	case "false", "no", "n", "0", "ні", "f":
		return false, nil
	}
	return false, convErr("%q is not true or false (yes/no, 1/0 and так/ні are accepted)", truncate(s, 40))
}

// appendJSONValue converts a JSON source value (raw, valid JSON) for a
// field of type t.
func appendJSONValue(b []byte, t vtype, raw string) ([]byte, bool, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || raw == "null" {
		return b, false, nil
	}
	if !utf8.ValidString(raw) {
		return b, false, errNotUTF8
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			return b, false, convErr("is not a JSON string: %v", err)
		}
		if !utf8.ValidString(s) {
			return b, false, errNotUTF8
		}
		return appendValue(b, t, cell{text: s})
	case '{':
		if t != tObject && t != tRaw {
			return b, false, convErr("must be a %s, not an object", t)
		}
		return appendCompact(b, raw)
	case '[':
		if t != tList && t != tRaw {
			return b, false, convErr("must be a %s, not a list", t)
		}
		return appendCompact(b, raw)
	case 't', 'f':
		if t == tBool {
			return append(b, raw...), true, nil
		}
		if t == tString {
			b, _ = appendString(b, raw)
			return b, true, nil
		}
		return b, false, convErr("must be a %s, not %s", t, raw)
	default: // a number
		switch t {
		case tString:
			b, _ := appendString(b, raw)
			return b, true, nil
		case tInt, tFloat, tBool:
			return appendValue(b, t, cell{text: raw})
		}
		return b, false, convErr("must be a %s, not a number", t)
	}
}
