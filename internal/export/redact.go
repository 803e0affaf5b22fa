package export

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/evidence"
	"github.com/custody-dev/custody/internal/locality"
	"github.com/custody-dev/custody/verify"
)

// Witness protection, as far as the records hold it today (the full model
// is a later issue): a person record with the role "witness" and a
// protection level other than "none" is a protected witness. Wherever an
// exported payload or metadata cell contains such a witness's name (its
// Ukrainian spelling or its official Latin transliteration, compared
// without regard to case; names shorter than four letters are not matched)
// or record ID, it is replaced by the witness's pseudonym.
//
// The pseudonym is "Witness W-" and the first 6 hex digits of
// HMAC-SHA256(key: the 16-byte nonce of the person record's first version,
// message: "custody witness pseudonym v1"). The nonce is private (it is in
// the payload, never in the public log), so the pseudonym is stable across
// exports, recomputable by the store, and reveals nothing to anyone else.

const pseudonymLabel = "custody witness pseudonym v1"

// minNameRunes is the shortest name matched in free text.
const minNameRunes = 4

type substitution struct {
	find      string
	pseudonym string
}

// protector replaces protected identities by pseudonyms.
type protector struct {
	subs []substitution // longest first
	// byPerson maps a protected witness's record ID to its pseudonym.
	byPerson map[string]string
}

// loadProtector reads the witness records and derives their pseudonyms.
func loadProtector(ctx context.Context, svc *evidence.Service) (*protector, error) {
	p := &protector{byPerson: map[string]string{}}
	// The index's type of a person is its first role only: read them all.
	err := eachRecord(ctx, svc, custody.RecordFilter{Kind: custody.KindPerson, IncludeWithdrawn: true}, func(r *custody.Record) error {
		var person custody.Person
		if len(r.Data) == 0 {
			return nil
		}
		if err := json.Unmarshal(r.Data, &person); err != nil {
			return fmt.Errorf("read person %s: %w", r.ID, err)
		}
		if !slices.Contains(person.Roles, "witness") || person.Protection == "" || person.Protection == "none" {
			return nil
		}
		ps, err := pseudonymOf(ctx, svc, r.ID)
		if err != nil {
			return err
		}
		p.byPerson[r.ID] = ps
		p.subs = append(p.subs, substitution{r.ID, ps})
		for _, n := range []string{strings.TrimSpace(person.Name), locality.Transliterate(strings.TrimSpace(person.Name))} {
			if utf8.RuneCountInString(n) >= minNameRunes {
				p.subs = append(p.subs, substitution{n, ps})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(p.subs, func(a, b substitution) int { return len(b.find) - len(a.find) })
	return p, nil
}

// pseudonymOf derives the pseudonym of a person record from the nonce of
// its first version.
func pseudonymOf(ctx context.Context, svc *evidence.Service, id string) (string, error) {
	hist, err := svc.DB().RecordHistory(ctx, id)
	if err != nil {
		return "", err
	}
	if len(hist) == 0 {
		return "", custody.Errorf(custody.ETAMPERED, "person %s has no history", id)
	}
	first := hist[0]
	for _, v := range hist {
		if v.Version < first.Version {
			first = v
		}
	}
	recs, err := svc.DB().Records(ctx, first.LogIndex, first.LogIndex+1)
	if err != nil {
		return "", err
	}
	if len(recs) != 1 {
		return "", custody.Errorf(custody.ETAMPERED, "log entry %d is missing from the database", first.LogIndex)
	}
	var change custody.RecordChange
	if err := json.Unmarshal(recs[0].Payload, &change); err != nil || change.Nonce == "" {
		return "", custody.Errorf(custody.ETAMPERED, "log entry %d has no readable nonce", first.LogIndex)
	}
	key, err := base64.RawStdEncoding.DecodeString(change.Nonce)
	if err != nil {
		key = []byte(change.Nonce)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(pseudonymLabel))
	return "Witness W-" + hex.EncodeToString(m.Sum(nil))[:6], nil
}

// eachRecord calls fn for every record f selects, page by page.
func eachRecord(ctx context.Context, svc *evidence.Service, f custody.RecordFilter, fn func(*custody.Record) error) error {
	f.Limit = 1000
	for {
		page, err := svc.DB().ListRecords(ctx, f, nil)
		if err != nil {
			return err
		}
		for _, r := range page.Records {
			if err := fn(r); err != nil {
				return err
			}
		}
		if page.Next == "" || len(page.Records) == 0 {
			return nil
		}
		f.After = page.Next
	}
}

// text returns s with protected identities replaced, and the pseudonyms
// used.
func (p *protector) text(s string) (string, []string) {
	var used []string
	for _, sub := range p.subs {
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
		r, size := utf8.DecodeRuneInString(s[i:])
		if r != fr && !strings.EqualFold(string(r), string(fr)) {
			return 0
		}
		i += size
	}
	return i
}

// payload returns the payload with protected identities replaced in every
// string value, the JSON paths of the values changed and the pseudonyms
// used. An untouched payload is returned as is (same bytes).
func (p *protector) payload(raw []byte) ([]byte, []string, []string, error) {
	if len(p.subs) == 0 {
		return raw, nil, nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, nil, nil, fmt.Errorf("read payload: %w", err)
	}
	var fields, used []string
	var walk func(v any, path string) any
	walk = func(v any, path string) any {
		switch t := v.(type) {
		case string:
			s, u := p.text(t)
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
	out, err := verify.Canonical(x)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("re-encode payload: %w", err)
	}
	return out, fields, used, nil
}
