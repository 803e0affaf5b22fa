package sqlstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/custody-dev/custody/internal/locality"
)

// Redactor replaces protected witnesses' identities by their pseudonyms in
// text: wherever a protected witness's name (its Ukrainian spelling or its
// official Latin transliteration, compared without regard to case; names
// shorter than four letters are not matched) or record ID occurs. It is
// used by the search index, every output of records (API, pages, search
// snippets) and court bundles.
type Redactor struct {
	subs []substitution // longest first
	// ByPerson maps a protected witness's record ID to its pseudonym.
	ByPerson map[string]string
	// Level maps a protected witness's record ID to its protection level.
	Level map[string]string
}

type substitution struct {
	find      string
	pseudonym string
	id        string
}

// minNameRunes is the shortest name matched in free text.
const minNameRunes = 4

// NewRedactor builds a redactor for the given protected persons; with ids,
// their record IDs are replaced too (court bundles; pages and the API keep
// them, since a record ID identifies no one and links must work).
func NewRedactor(ps []ProtectedPerson, ids bool) *Redactor {
	r := &Redactor{ByPerson: make(map[string]string, len(ps)), Level: make(map[string]string, len(ps))}
	for _, p := range ps {
		r.ByPerson[p.ID] = p.Pseudonym
		r.Level[p.ID] = p.Protection
		if ids {
			r.subs = append(r.subs, substitution{p.ID, p.Pseudonym, p.ID})
		}
		name := strings.TrimSpace(p.Name)
		for _, n := range []string{name, locality.Transliterate(name)} {
			if utf8.RuneCountInString(n) >= minNameRunes {
				r.subs = append(r.subs, substitution{n, p.Pseudonym, p.ID})
			}
		}
	}
	slices.SortStableFunc(r.subs, func(a, b substitution) int { return len(b.find) - len(a.find) })
	return r
}

// Empty reports whether there is nothing to redact.
func (r *Redactor) Empty() bool { return r == nil || len(r.subs) == 0 }

// Without returns a redactor that leaves the identities of the given
// persons alone (those a user has revealed).
func (r *Redactor) Without(ids ...string) *Redactor {
	out := &Redactor{ByPerson: r.ByPerson, Level: r.Level}
	for _, s := range r.subs {
		if !slices.Contains(ids, s.id) {
			out.subs = append(out.subs, s)
		}
	}
	return out
}

// Text returns s with protected identities replaced, and the pseudonyms
// used.
func (r *Redactor) Text(s string) (string, []string) {
	if r.Empty() {
		return s, nil
	}
	var used []string
	for _, sub := range r.subs {
		var out strings.Builder
		rest, hit := s, false
		for rest != "" {
			n := prefixFold(rest, sub.find)
			if n > 0 {
				out.WriteString(sub.pseudonym)
				rest, hit = rest[n:], true
				continue
			}
			_, size := utf8.DecodeRuneInString(rest)
			out.WriteString(rest[:size])
			rest = rest[size:]
		}
		if hit {
			s = out.String()
			if !slices.Contains(used, sub.pseudonym) {
				used = append(used, sub.pseudonym)
			}
		}
	}
	return s, used
}

// prefixFold returns the length of the prefix of s that equals find under
// simple Unicode case folding, or 0.
func prefixFold(s, find string) int {
	i := 0
	for _, fr := range find {
		if i >= len(s) {
			return 0
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c != fr && !strings.EqualFold(string(c), string(fr)) {
			return 0
		}
		i += size
	}
	return i
}

// JSON returns raw with protected identities replaced in every string
// value, the JSON paths of the values changed and the pseudonyms used.
// Untouched input is returned as is (same bytes).
func (r *Redactor) JSON(raw []byte) ([]byte, []string, []string, error) {
	if r.Empty() || len(raw) == 0 {
		return raw, nil, nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, nil, nil, fmt.Errorf("read JSON: %w", err)
	}
	var fields, used []string
	var walk func(v any, path string) any
	walk = func(v any, path string) any {
		switch t := v.(type) {
		case string:
			s, u := r.Text(t)
			if len(u) > 0 {
				fields = append(fields, path)
				for _, ps := range u {
					if !slices.Contains(used, ps) {
						used = append(used, ps)
					}
				}
			}
			return s
		case map[string]any:
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				sub := k
				if path != "" {
					sub = path + "." + k
				}
				t[k] = walk(t[k], sub)
			}
			return t
		case []any:
			for i := range t {
				t[i] = walk(t[i], path+"["+strconv.Itoa(i)+"]")
			}
			return t
		}
		return v
	}
	x = walk(x, "")
	if len(fields) == 0 {
		return raw, nil, nil, nil
	}
	out, err := json.Marshal(x)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("write JSON: %w", err)
	}
	return out, fields, used, nil
}
