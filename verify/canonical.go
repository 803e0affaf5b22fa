// Package verify checks Custody's published artefacts — log entries,
// payloads, checkpoints, tiles, proofs — without trusting the server that
// made them. It is the reference implementation of the formats in docs/ and
// imports nothing of Custody's internals: only the standard library,
// golang.org/x/mod/sumdb/note and github.com/transparency-dev/merkle.
//
// Invariants: every function here is pure (no I/O except through the
// readers passed in), and every parser rejects input that is not in
// canonical form, so that one logical value has exactly one encoding and
// one hash.
package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// MaxCanonicalDepth bounds the nesting of canonical JSON documents.
const MaxCanonicalDepth = 32

// Canonical returns the canonical JSON encoding of v: the encoding/json
// encoding, then objects with keys in byte order, no insignificant white
// space, no HTML escaping, integers without exponent or fraction, other
// numbers in the shortest form that round-trips a float64 (as encoding/json
// writes them), strings as encoding/json escapes them.
// See docs/log-format.md, "Canonical JSON".
func Canonical(v any) ([]byte, error) {
	raw, err := marshalNoEscape(v)
	if err != nil {
		return nil, err
	}
	return CanonicalizeJSON(raw)
}

// CanonicalizeJSON re-encodes a JSON document in canonical form.
func CanonicalizeJSON(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	if dec.More() {
		return nil, errors.New("canonical json: trailing data")
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("canonical json: trailing data")
	}
	x, err := normalize(x, 0)
	if err != nil {
		return nil, err
	}
	return marshalNoEscape(x)
}

// IsCanonical reports whether raw is exactly its own canonical encoding.
func IsCanonical(raw []byte) error {
	c, err := CanonicalizeJSON(raw)
	if err != nil {
		return err
	}
	if !bytes.Equal(c, raw) {
		return errors.New("not in canonical form")
	}
	return nil
}

func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func normalize(x any, depth int) (any, error) {
	if depth > MaxCanonicalDepth {
		return nil, errors.New("canonical json: nested too deeply")
	}
	switch v := x.(type) {
	case json.Number:
		s := string(v)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return json.Number(strconv.FormatInt(i, 10)), nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("canonical json: number %q out of range", s)
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return json.Number(strconv.FormatInt(int64(f), 10)), nil
		}
		b, _ := json.Marshal(f) // encoding/json's float format
		return json.Number(b), nil
	case map[string]any:
		for k, e := range v {
			n, err := normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			v[k] = n
		}
		return v, nil
	case []any:
		for i, e := range v {
			n, err := normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			v[i] = n
		}
		return v, nil
	}
	return x, nil
}
