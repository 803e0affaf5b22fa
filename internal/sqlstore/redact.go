package sqlstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
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
	// byFirst indexes subs by the folded first word of what they find, so
	// that Text reads a text once whatever the number of witnesses.
	byFirst map[string][]substitution
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
	r.index()
	return r
}

func (r *Redactor) index() {
	r.byFirst = make(map[string][]substitution, len(r.subs))
	for _, s := range r.subs { // longest first, in each list too
		w := firstWord(s.find)
		r.byFirst[w] = append(r.byFirst[w], s)
	}
}

// isWord reports whether c is part of a word.
func isWord(c rune) bool { return unicode.IsLetter(c) || unicode.IsDigit(c) || c == '\'' || c == '’' }

// firstWord returns the folded first word of s.
func firstWord(s string) string {
	end := len(s)
	for i, c := range s {
		if !isWord(c) {
			end = i
			break
		}
	}
	return strings.ToLower(s[:end])
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
	out.index()
	return out
}

// Text returns s with protected identities replaced, and the pseudonyms
// used.
func (r *Redactor) Text(s string) (string, []string) {
	if r.Empty() {
		return s, nil
	}
	// One pass: at each word's start, the substitutions whose first word
	// it is are tried, longest first; a match must end at a word's end.
	var used []string
	var out strings.Builder
	last, prevWord := 0, false
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		word := isWord(c)
		if word && !prevWord {
			if sub, n := r.matchAt(s[i:]); n > 0 {
				out.WriteString(s[last:i])
				out.WriteString(sub.pseudonym)
				if !slices.Contains(used, sub.pseudonym) {
					used = append(used, sub.pseudonym)
				}
				i += n
				last = i
				prevWord = true
				continue
			}
		}
		prevWord = word
		i += size
	}
	if len(used) == 0 {
		return s, nil
	}
	out.WriteString(s[last:])
	return out.String(), used
}

// matchAt returns the substitution that matches at the start of s, and
// the length it covers.
func (r *Redactor) matchAt(s string) (substitution, int) {
	cands := r.byFirst[firstWord(s)]
	for _, sub := range cands {
		n := prefixFold(s, sub.find)
		if n == 0 {
			continue
		}
		if c, _ := utf8.DecodeRuneInString(s[n:]); n < len(s) && isWord(c) {
			continue // "Іван" is no match in "Іванович"
		}
		return sub, n
	}
	return substitution{}, 0
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
