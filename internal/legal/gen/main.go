// Command gen derives internal/legal/data/rome-statute.json, the Rome Statute
// provisions embedded in package legal, from the Public.Law JSON edition of
// the Statute (CC BY 4.0).
//
// Usage, from the repository root:
//
//	go run ./internal/legal/gen
//	go run ./internal/legal/gen -src ../shared/data/legal/rome-statute.json -out internal/legal/data/rome-statute.json
//
// or `go generate ./internal/legal`, whose go:generate line passes the same
// paths relative to internal/legal.
//
// It takes articles 6, 7, 8 and 8 bis and splits each into provisions with
// the IDs Custody uses for legal qualifications ("RS 6(a)", "RS 7(1)(k)",
// "RS 8(2)(b)(xxi)", "RS 8 bis(2)(g)"). The text of each provision is the
// source text of its line with only the label ("1. ", "(a) ", "(xxi) ")
// removed. The split is strict: labels must run in sequence (1, 2, 3; a, b,
// c; i, ii, iii) and a list may only follow a line ending in a colon;
// anything else is an error rather than a guess. Output is deterministic:
// the same source always gives the same bytes.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/custody-dev/custody/internal/legal"
)

func main() {
	src := flag.String("src", "../shared/data/legal/rome-statute.json", "Public.Law Rome Statute JSON")
	out := flag.String("out", "internal/legal/data/rome-statute.json", "output file")
	flag.Parse()
	if err := run(*src, *out, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(src, out string, report io.Writer) error {
	in, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	b, st, err := generate(in)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(report, "source %s sha256 %x\n", src, sha256.Sum256(in))
	fmt.Fprint(report, st)
	fmt.Fprintf(report, "wrote %s: %d provisions, %d bytes\n", out, st.provisions, len(b))
	return nil
}

// articles are the articles taken from the Statute, in its order.
var articles = []string{"6", "7", "8", "8 bis"}

const derivation = "Articles 6, 7, 8 and 8 bis of the source, split into provisions by " +
	"internal/legal/gen: one provision per numbered paragraph, lettered sub-paragraph and " +
	"Roman-numbered item, with the label removed and the text otherwise unchanged; " +
	"footnotes of the source kept as notes on their article."

// file is the output format (read by package legal).
type file struct {
	Instrument string            `json:"instrument"`
	Code       string            `json:"code"`
	Source     map[string]string `json:"source"`
	Licence    string            `json:"licence"`
	Derivation string            `json:"derivation"`
	Provisions []provision       `json:"provisions"`
}

type provision struct {
	ID      string   `json:"id"`
	Parent  string   `json:"parent"`
	Article string   `json:"article"`
	Heading string   `json:"heading,omitempty"` // article rows only
	Text    string   `json:"text"`
	Notes   []string `json:"notes,omitempty"` // article rows only
}

// stats summarises what was generated, for the command's report and tests.
type stats struct {
	provisions int
	children   map[string]int // provision ID → number of direct children
	order      []string       // IDs with children, in document order
}

func (s stats) String() string {
	var b strings.Builder
	for _, id := range s.order {
		fmt.Fprintf(&b, "%-16s %3d provisions under it\n", id, s.children[id])
	}
	return b.String()
}

// sourceEntry is one element of the source array: exactly one field is set.
type sourceEntry struct {
	Metadata map[string]string `json:"metadata"`
	Article  *struct {
		Number string `json:"number"`
		Name   string `json:"name"`
		Text   string `json:"text"`
	} `json:"article"`
	Footnote *struct {
		Number  int    `json:"number"`
		Article string `json:"article_number"`
		Text    string `json:"text"`
	} `json:"footnote"`
}

// generate derives the output file from the source JSON.
func generate(src []byte) ([]byte, stats, error) {
	var entries []sourceEntry
	if err := json.Unmarshal(src, &entries); err != nil {
		return nil, stats{}, fmt.Errorf("decode: %w", err)
	}
	f := file{
		Instrument: "Rome Statute of the International Criminal Court",
		Code:       legal.CodeRomeStatute,
		Derivation: derivation,
	}
	type art struct{ name, text string }
	found := map[string]art{}
	notes := map[string][]string{}
	type fn struct {
		n    int
		text string
	}
	var footnotes []fn
	for _, e := range entries {
		switch {
		case e.Metadata != nil:
			if f.Source != nil {
				return nil, stats{}, errors.New("two metadata entries")
			}
			f.Source = e.Metadata
		case e.Article != nil && slices.Contains(articles, e.Article.Number):
			if _, dup := found[e.Article.Number]; dup {
				return nil, stats{}, fmt.Errorf("article %s twice", e.Article.Number)
			}
			found[e.Article.Number] = art{e.Article.Name, e.Article.Text}
		case e.Footnote != nil && slices.Contains(articles, e.Footnote.Article):
			footnotes = append(footnotes, fn{e.Footnote.Number, e.Footnote.Article + "\x00" + e.Footnote.Text})
		}
	}
	if f.Source == nil {
		return nil, stats{}, errors.New("no metadata entry (source and licence)")
	}
	f.Licence = f.Source["dcterms:license"]
	if f.Licence != "https://creativecommons.org/licenses/by/4.0/" {
		return nil, stats{}, fmt.Errorf("unexpected licence %q", f.Licence)
	}
	slices.SortStableFunc(footnotes, func(a, b fn) int { return a.n - b.n })
	for _, n := range footnotes {
		a, text, _ := strings.Cut(n.text, "\x00")
		notes[a] = append(notes[a], strings.TrimSpace(text))
	}

	st := stats{children: map[string]int{}}
	for _, num := range articles {
		a, ok := found[num]
		if !ok {
			return nil, stats{}, fmt.Errorf("article %s missing", num)
		}
		rows, err := split(num, a.name, a.text)
		if err != nil {
			return nil, stats{}, fmt.Errorf("article %s: %w", num, err)
		}
		rows[0].Notes = notes[num]
		for _, r := range rows {
			if r.Parent != "" {
				if st.children[r.Parent] == 0 {
					st.order = append(st.order, r.Parent)
				}
				st.children[r.Parent]++
			}
		}
		f.Provisions = append(f.Provisions, rows...)
	}
	st.provisions = len(f.Provisions)
	b, err := encode(f)
	return b, st, err
}

// encode writes f as JSON with one provision per line, so that a change to
// the source shows in a diff as a change to the provisions it touches.
func encode(f file) ([]byte, error) {
	var buf bytes.Buffer
	val := func(v any) error {
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		return nil
	}
	fields := []struct {
		key string
		v   any
	}{
		{"instrument", f.Instrument},
		{"code", f.Code},
		{"source", f.Source}, // a map: encoding/json sorts its keys
		{"licence", f.Licence},
		{"derivation", f.Derivation},
	}
	buf.WriteString("{\n")
	for _, kv := range fields {
		fmt.Fprintf(&buf, "%q: ", kv.key)
		if err := val(kv.v); err != nil {
			return nil, err
		}
		buf.WriteString(",\n")
	}
	buf.WriteString("\"provisions\": [\n")
	for i, p := range f.Provisions {
		if err := val(p); err != nil {
			return nil, err
		}
		if i < len(f.Provisions)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]\n}\n")
	return buf.Bytes(), nil
}

var (
	numberLabel = regexp.MustCompile(`^([1-9][0-9]*)\. (.+)$`)
	parenLabel  = regexp.MustCompile(`^\(([a-z]+)\) (.+)$`)
)

// Kinds of list.
const (
	kindUnknown = iota // a list opened by a colon, before its first label
	kindNumber         // 1. 2. 3.
	kindLetter         // (a) (b) (c)
	kindRoman          // (i) (ii) (iii)
)

// level is an open list: the provision that owns it and how many labels it
// has had so far.
type level struct {
	owner legal.ID
	kind  int
	count int
}

// next reports whether a label of the given style is the next one of l, and
// the kind l has once it is.
func (l level) next(number bool, label string) (int, bool) {
	switch l.kind {
	case kindUnknown:
		switch {
		case number && label == "1":
			return kindNumber, true
		case !number && label == "a":
			return kindLetter, true
		case !number && label == "i":
			return kindRoman, true
		}
	case kindNumber:
		return kindNumber, number && label == strconv.Itoa(l.count+1)
	case kindLetter:
		return kindLetter, !number && l.count < 26 && label == string(rune('a'+l.count))
	case kindRoman:
		return kindRoman, !number && label == legal.Roman(l.count+1)
	}
	return 0, false
}

// split divides the text of one article into provisions: the article itself
// (its text is the chapeau before the first label, if any), then every
// labelled line in order.
func split(article, heading, text string) ([]provision, error) {
	if strings.TrimSpace(heading) == "" {
		return nil, errors.New("no heading")
	}
	root := legal.ID{Code: legal.CodeRomeStatute, Article: article}
	rows := []provision{{ID: root.String(), Article: article, Heading: heading}}
	stack := []level{{owner: root}}
	open := false // the previous provision ended with a colon: a list follows
	last := root  // the previous provision
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		if line != strings.TrimSpace(line) || line == "" {
			return nil, fmt.Errorf("line %d: empty or padded with spaces", n)
		}
		var label, rest string
		number := false
		if m := numberLabel.FindStringSubmatch(line); m != nil {
			label, rest, number = m[1], m[2], true
		} else if m := parenLabel.FindStringSubmatch(line); m != nil {
			label, rest = m[1], m[2]
		} else {
			if i == 0 {
				rows[0].Text = line // chapeau
				continue
			}
			return nil, fmt.Errorf("line %d has no label: %q", n, truncate(line))
		}
		if open {
			stack = append(stack, level{owner: last})
		}
		k := len(stack) - 1
		var kind int
		for ; k >= 0; k-- {
			var ok bool
			if kind, ok = stack[k].next(number, label); ok {
				break
			}
			if stack[k].kind == kindUnknown && k > 0 {
				return nil, fmt.Errorf("line %d: a list was announced by a colon but %q does not start one", n, label)
			}
		}
		if k < 0 {
			return nil, fmt.Errorf("line %d: label %q is out of sequence", n, label)
		}
		stack = stack[:k+1]
		stack[k].kind = kind
		stack[k].count++
		owner := stack[k].owner
		id := legal.ID{Code: owner.Code, Article: owner.Article, Path: append(slices.Clone(owner.Path), label)}
		if back, err := legal.ParseID(id.String()); err != nil || !back.Equal(id) {
			return nil, fmt.Errorf("line %d: %q is not a valid provision ID (%v)", n, id.String(), err)
		}
		rows = append(rows, provision{ID: id.String(), Parent: owner.String(), Article: article, Text: rest})
		last = id
		open = strings.HasSuffix(rest, ":")
	}
	if open {
		return nil, errors.New("the last line announces a list that never comes")
	}
	return rows, nil
}

func truncate(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
