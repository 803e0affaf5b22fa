package sqlstore

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/custody-dev/custody"
)

// Limits of a full-text search.
const (
	// MaxSearchQuery bounds a search query, in bytes.
	MaxSearchQuery = 1000
	// MaxSearchTerms bounds the words (and phrases' words) of a query.
	MaxSearchTerms = 32
	// MaxSearchLimit bounds SearchQuery.Limit.
	MaxSearchLimit = 200
	// SearchCandidates is the most matches a search ranks (or four times
	// its limit, if more): when more records match, the best of the most
	// recently created SearchCandidates are returned, and a query that
	// broad is worth narrowing (a kind, a locality, dates). It bounds a
	// search's cost whatever the words' frequency: both engines walk the
	// matches newest first and stop there.
	SearchCandidates = 500
	// prefixMin is the shortest last word (in runes) matched as a prefix.
	prefixMin = 3
)

// searchTerm is one word of a query, or a phrase of adjacent words.
type searchTerm struct {
	words  []string
	prefix bool // the last word matches as a prefix
}

// parseSearch turns what a user typed into terms that neither full-text
// engine can misread: words are runs of letters, digits and combining marks
// (what FTS5's unicode61 tokenizer and PostgreSQL's parser both keep);
// everything else separates them, so operators (OR, NOT, NEAR, *, -, ^, :,
// parentheses) are plain text or nothing. Words between double quotes are a
// phrase. The last word, unless followed by a space or closing a phrase,
// also matches as a prefix, so that "Ізюм" finds "Ізюму" and "Ізюмська".
// Errors: EINVALID (no word, too long, too many words).
func parseSearch(q string) ([]searchTerm, error) {
	if len(q) > MaxSearchQuery {
		return nil, custody.Errorf(custody.EINVALID, "the search query is %d bytes; the limit is %d", len(q), MaxSearchQuery)
	}
	if !utf8.ValidString(q) {
		return nil, custody.Errorf(custody.EINVALID, "the search query is not UTF-8 text")
	}
	var terms []searchTerm
	var phrase *searchTerm // open phrase, if any
	var word strings.Builder
	n := 0
	endWord := func() {
		if word.Len() == 0 {
			return
		}
		w := word.String()
		word.Reset()
		if !hasAlnum(w) {
			return // combining marks alone: no token in either engine
		}
		n++
		if phrase != nil {
			phrase.words = append(phrase.words, w)
		} else {
			terms = append(terms, searchTerm{words: []string{w}})
		}
	}
	for _, r := range q {
		switch {
		case isWordRune(r):
			word.WriteRune(r)
		case r == '"':
			endWord()
			if phrase == nil {
				phrase = &searchTerm{}
			} else {
				if len(phrase.words) > 0 {
					terms = append(terms, *phrase)
				}
				phrase = nil
			}
		default:
			endWord()
		}
	}
	endWord()
	if phrase != nil && len(phrase.words) > 0 {
		// An unclosed quote: its words are a phrase all the same.
		terms = append(terms, *phrase)
	}
	if n == 0 {
		return nil, custody.Errorf(custody.EINVALID, "the search query has no words")
	}
	if n > MaxSearchTerms {
		return nil, custody.Errorf(custody.EINVALID, "the search query has %d words; the limit is %d", n, MaxSearchTerms)
	}
	last := &terms[len(terms)-1]
	lastRune, _ := utf8.DecodeLastRuneInString(q)
	if len(last.words) == 1 && isWordRune(lastRune) && utf8.RuneCountInString(last.words[0]) >= prefixMin {
		last.prefix = true
	}
	return terms, nil
}

func hasAlnum(w string) bool {
	for _, r := range w {
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			return true
		}
	}
	return false
}

// fts5Query renders terms as an FTS5 query: every word a quoted string
// (words hold no quote, but quotes are doubled all the same), the terms
// joined by implicit AND.
func fts5Query(terms []searchTerm) string {
	var b strings.Builder
	for i, t := range terms {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(strings.Join(t.words, " "), `"`, `""`))
		b.WriteByte('"')
		if t.prefix {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// tsQuery renders terms for PostgreSQL's to_tsquery: every word a quoted
// lexeme, phrases joined by <->, terms by &, the prefix marked :*.
func tsQuery(terms []searchTerm) string {
	var b strings.Builder
	for i, t := range terms {
		if i > 0 {
			b.WriteString(" & ")
		}
		if len(t.words) > 1 {
			b.WriteByte('(')
		}
		for j, w := range t.words {
			if j > 0 {
				b.WriteString(" <-> ")
			}
			b.WriteByte('\'')
			b.WriteString(strings.NewReplacer(`'`, `''`, `\`, `\\`).Replace(w))
			b.WriteByte('\'')
		}
		if len(t.words) > 1 {
			b.WriteByte(')')
		}
		if t.prefix {
			b.WriteString(":*")
		}
	}
	return b.String()
}

// Search finds the records whose title or text hold every word of q.Q,
// best first, among the records that are not withdrawn and pass q's
// filters (a remains record is in the locality of its site). Matching
// ignores case on both dialects; SQLite also folds Latin diacritics (café,
// cafe), PostgreSQL does not.
//
// The full-text index finds the matches, newest first, and stops at
// candidates(limit) of them (SearchCandidates): when more records match,
// the best of the most recently created ones are returned. The candidates
// are ranked here, with BM25 over their words (the title counting twice),
// rather than by FTS5's bm25() or ts_rank(): bm25() reads every match of
// every word for its statistics, which costs as much as the matches are
// many, and one ranking makes both dialects answer alike. Scores and
// snippets read the first maxScoredText characters of a text.
//
// Plans. The words are matched in the full-text index (record_fts,
// record_text) and the filters in records: two tables, whose intersection
// no index serves. So Search first counts (up to filterSetMax) the records
// that pass the filters, an index-only count, and then either walks the
// matches newest first keeping those in that set (a small set: a
// locality, a month), or walks them joined to records row by row (a large
// one, such as a kind, where most matches pass and the walk stops early).
// Without filters it takes the newest matches straight from the full-text
// index.
//
// Errors: EINVALID (no words, query too long, unknown kind, limit over
// MaxSearchLimit, a filter that is no code or date).
//
// A restricted scope (a user who does not see every compartment) is
// searched with planJoin: the newest matches are walked and each is
// checked, so that hidden records neither show nor crowd out visible ones.
func (db *DB) Search(ctx context.Context, q custody.SearchQuery, scope *Scope) ([]*custody.SearchHit, error) {
	return db.search(ctx, q, planAuto, scope)
}

// search is Search with the plan chosen (planAuto) or imposed (by tests:
// every plan must give the same answer).
func (db *DB) search(ctx context.Context, q custody.SearchQuery, plan int, scope *Scope) ([]*custody.SearchHit, error) {
	terms, err := parseSearch(q.Q)
	if err != nil {
		return nil, err
	}
	if q.Kind != "" && !custody.IsRecordKind(q.Kind) {
		return nil, custody.Errorf(custody.EINVALID, "unknown record kind %q", truncateString(q.Kind, 40))
	}
	for _, v := range []struct{ name, v string }{{"locality", q.Locality}, {"from", q.From}, {"to", q.To}} {
		if err := checkFilter(v.name, v.v); err != nil {
			return nil, err
		}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 20
	}
	if limit > MaxSearchLimit {
		return nil, custody.Errorf(custody.EINVALID, "limit %d is over %d", limit, MaxSearchLimit)
	}
	f := searchFilter{kind: q.Kind, locality: q.Locality, from: q.From, to: q.To, scope: scope}
	switch {
	case !scope.unrestricted():
		plan = planJoin
	case plan != planAuto:
		if plan == planText && f.any() {
			return nil, fmt.Errorf("search: plan text cannot filter")
		}
	case !f.any():
		plan = planText
	default:
		set, setArgs := f.set()
		var n int
		if err := db.read.QueryRowContext(ctx, db.rebind(`SELECT COUNT(*) FROM (`+set+fmt.Sprintf(` LIMIT %d) x`, filterSetMax+1)),
			setArgs...).Scan(&n); err != nil {
			return nil, fmt.Errorf("search records: count filtered records: %w", err)
		}
		switch {
		case n == 0:
			return []*custody.SearchHit{}, nil
		case n > filterSetMax:
			plan = planJoin
		default:
			plan = planSet
		}
	}
	var query string
	var args []any
	if db.dialect == Postgres {
		query, args = searchPostgres(tsQuery(terms), f, plan, candidates(limit))
	} else {
		query, args = searchSQLite(fts5Query(terms), f, plan, candidates(limit))
	}
	rows, err := db.read.QueryContext(ctx, db.rebind(query), args...)
	if err != nil {
		return nil, fmt.Errorf("search records: %w", err)
	}
	defer rows.Close()
	var cs []*candidate
	for rows.Next() {
		var c candidate
		if err := rows.Scan(&c.seq, &c.hit.ID, &c.hit.Kind, &c.hit.Title, &c.title, &c.body); err != nil {
			return nil, fmt.Errorf("search records: %w", err)
		}
		cs = append(cs, &c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search records: %w", err)
	}
	return rank(terms, cs, limit), nil
}

// candidates is the number of matches ranked for a search of limit hits.
func candidates(limit int) int { return max(SearchCandidates, 4*limit) }

// filterSetMax is the largest set of filtered records that Search
// intersects with the matches as a set; above it, it joins row by row
// (records_seq_facets). Building the set costs about as much per record as
// checking a match row by row: the set pays when it is smaller than the
// matches the join would walk, candidates / (set / store) of them, which
// for a store of a million records and 500 candidates is about 20,000.
const filterSetMax = 20000

// Search plans.
const (
	planAuto = iota - 1
	planText // no filters: rank the newest matches
	planSet  // matches within the (small) set of filtered records
	planJoin // matches joined to records row by row, filtered
)

// searchFilter holds a search's filters.
type searchFilter struct {
	kind, locality, from, to string
	scope                    *Scope
}

func (f searchFilter) any() bool {
	return f.kind != "" || f.locality != "" || f.from != "" || f.to != ""
}

// dates returns the date conditions on the records aliased r, and their
// arguments. As in ListRecords, "to 2022-09" includes September's days.
func (f searchFilter) dates(r string) (string, []any) {
	var w string
	var args []any
	if f.from != "" {
		w += " AND " + r + "date >= ?"
		args = append(args, f.from)
	}
	if f.to != "" {
		w += " AND " + r + "date <= ?"
		args = append(args, f.to+"\uffff")
	}
	return w, args
}

// set returns a query of the seq of every record that passes the filters:
// those of the locality (by the records_live_* indexes, index-only) and,
// unless another kind is asked for, the remains of its sites.
func (f searchFilter) set() (string, []any) {
	q := `SELECT seq FROM records WHERE withdrawn = 0`
	var args []any
	if f.kind != "" {
		q += ` AND kind = ?`
		args = append(args, f.kind)
	}
	if f.locality != "" {
		q += ` AND locality = ?`
		args = append(args, f.locality)
	}
	d, dargs := f.dates("")
	q += d
	args = append(args, dargs...)
	if f.locality != "" && (f.kind == "" || f.kind == custody.KindRemains) {
		d, dargs := f.dates("r.")
		q += ` UNION ALL SELECT r.seq FROM records s CROSS JOIN records r
			WHERE s.locality = ? AND s.kind = 'site' AND r.site = s.id AND r.kind = 'remains' AND r.withdrawn = 0` + d
		args = append(append(args, f.locality), dargs...)
	}
	return q, args
}

// join returns the conditions on the records aliased r of planJoin.
func (f searchFilter) join() (string, []any) {
	var w string
	var args []any
	if f.kind != "" {
		w += " AND r.kind = ?"
		args = append(args, f.kind)
	}
	if f.locality != "" {
		w += " AND (r.locality = ? OR (r.kind = 'remains' AND r.site IN (SELECT id FROM records WHERE locality = ? AND kind = 'site')))"
		args = append(args, f.locality, f.locality)
	}
	d, dargs := f.dates("r.")
	w, args = w+d, append(args, dargs...)
	if c, a := f.scope.cond("r.id", "r.kind"); c != "" {
		w += " AND " + c
		args = append(args, a...)
	}
	return w, args
}

// maxScoredText bounds the characters of a text that ranking and snippets
// read (a transcript may hold a megabyte).
const maxScoredText = 65536

// searchSQLite returns the query of the newest n candidates: seq, ID,
// kind and title of the record, and the indexed title and text. FTS5
// returns its matches in rowid order and stops at the limit; CROSS JOIN
// fixes the join order (probing record_fts row by row from records would
// cost a full-text lookup per row).
func searchSQLite(match string, f searchFilter, plan, n int) (string, []any) {
	cols := fmt.Sprintf(`f.rowid, r.id, r.kind, r.title, f.title, substr(f.body, 1, %d)`, maxScoredText)
	args := []any{match}
	var q string
	switch plan {
	case planText, planSet:
		in := ""
		if plan == planSet {
			// The unary + keeps the IN off FTS5's rowid lookup: SQLite
			// builds the set once and checks each match against it.
			set, setArgs := f.set()
			in = ` AND +rowid IN (` + set + `)`
			args = append(args, setArgs...)
		}
		q = `SELECT ` + cols + ` FROM (SELECT rowid AS seq FROM record_fts WHERE record_fts MATCH ?` + in +
			fmt.Sprintf(` ORDER BY rowid DESC LIMIT %d) c`, n) + `
			CROSS JOIN record_fts f CROSS JOIN records r
			WHERE f.rowid = c.seq AND r.seq = c.seq AND r.withdrawn = 0 ORDER BY c.seq DESC`
	case planJoin:
		w, wargs := f.join()
		q = `SELECT ` + cols + ` FROM record_fts f CROSS JOIN records r
			WHERE f.record_fts MATCH ? AND r.seq = f.rowid AND r.withdrawn = 0` + w + fmt.Sprintf(` ORDER BY f.rowid DESC LIMIT %d`, n)
		args = append(args, wargs...)
	}
	return q, args
}

// searchPostgres: the same on record_text. The query is a literal, so that
// the planner estimates its selectivity from the statistics: a common word
// is best walked newest first in seq order, a rare one through the GIN
// index. tsq holds only quoted words; its quotes are doubled again here.
func searchPostgres(tsq string, f searchFilter, plan, n int) (string, []any) {
	query := `to_tsquery('simple', '` + strings.ReplaceAll(tsq, `'`, `''`) + `')`
	cols := fmt.Sprintf(`t.seq, r.id, r.kind, r.title, t.title, substr(t.body, 1, %d)`, maxScoredText)
	var args []any
	var q string
	switch plan {
	case planText, planSet:
		in := ""
		if plan == planSet {
			set, setArgs := f.set()
			in = ` AND seq IN (` + set + `)`
			args = setArgs
		}
		q = `SELECT ` + cols + ` FROM (SELECT seq FROM record_text WHERE tsv @@ ` + query + in +
			fmt.Sprintf(` ORDER BY seq DESC LIMIT %d) c`, n) + `
			JOIN record_text t ON t.seq = c.seq JOIN records r ON r.seq = c.seq
			WHERE r.withdrawn = 0 ORDER BY c.seq DESC`
	case planJoin:
		w, wargs := f.join()
		q = `SELECT ` + cols + ` FROM record_text t JOIN records r ON r.seq = t.seq
			WHERE t.tsv @@ ` + query + ` AND r.withdrawn = 0` + w + fmt.Sprintf(` ORDER BY t.seq DESC LIMIT %d`, n)
		args = wargs
	}
	return q, args
}

// candidate is a matching record, to rank.
type candidate struct {
	seq         int64
	hit         custody.SearchHit
	title, body string
	score       float64
}

// BM25 parameters, as FTS5's bm25() has them.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// rank scores the candidates with BM25 over the query's terms (their
// occurrences in the title counting twice; every candidate holds every
// term, so no term weighs more than another), and returns the best limit
// with their snippets, newer first among equals.
func rank(terms []searchTerm, cs []*candidate, limit int) []*custody.SearchHit {
	folded := foldTerms(terms)
	type counted struct {
		tf     []float64
		length float64
	}
	counts := make([]counted, len(cs))
	var total float64
	for i, c := range cs {
		tt, bt := tokenize(c.title), tokenize(c.body)
		tf := make([]float64, len(terms))
		for _, m := range matches(terms, folded, tt) {
			tf[m.term] += 2
		}
		for _, m := range matches(terms, folded, bt) {
			tf[m.term]++
		}
		counts[i] = counted{tf: tf, length: float64(len(tt) + len(bt))}
		total += counts[i].length
	}
	avg := max(total/float64(max(len(cs), 1)), 1)
	for i, c := range cs {
		for _, tf := range counts[i].tf {
			c.score += tf * (bm25K1 + 1) / (tf + bm25K1*(1-bm25B+bm25B*counts[i].length/avg))
		}
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].score != cs[j].score {
			return cs[i].score > cs[j].score
		}
		return cs[i].seq > cs[j].seq
	})
	hits := make([]*custody.SearchHit, 0, min(limit, len(cs)))
	for _, c := range cs[:min(limit, len(cs))] {
		h := c.hit
		h.Snippet = snippet(terms, folded, c.title, c.body)
		hits = append(hits, &h)
	}
	return hits
}

// checkFilter refuses what no locality code or date looks like (and what
// PostgreSQL would refuse as text: invalid UTF-8, NUL). Errors: EINVALID.
func checkFilter(name, v string) error {
	if len(v) > 64 || !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
		return custody.Errorf(custody.EINVALID, "%s %q is not a locality code or a date", name, truncateString(strings.ToValidUTF8(v, "?"), 40))
	}
	return nil
}

func truncateString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Snippets are made here rather than by snippet() or ts_headline(), so that
// both dialects give the same ones and no hit costs a second full-text
// lookup: the words of the query are found in the hit's text as the
// engines tokenize it (runs of letters, digits and marks, compared without
// case or Latin diacritics), and the window of snippetWords words holding
// the most of them is shown, each found word between « and ». The text's
// own guillemets become “ and ” so that they cannot be taken for markers,
// and line breaks and runs of spaces become single spaces.
const (
	snippetWords  = 16
	snippetBefore = 3 // words of context before the first found word
	ellipsis      = "…"
)

var guillemets = strings.NewReplacer("«", "“", "»", "”")

// token is one word of a text: its bytes and folded form.
type token struct {
	start, end int
	fold       string
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.M, r)
}

// tokenize splits text into words as parseSearch does.
func tokenize(text string) []token {
	var toks []token
	start := -1
	for i, r := range text {
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			toks = append(toks, token{start: start, end: i, fold: foldWord(text[start:i])})
			start = -1
		}
	}
	if start >= 0 {
		toks = append(toks, token{start: start, end: len(text), fold: foldWord(text[start:])})
	}
	return toks
}

// latinBase maps the Latin letters with diacritics that FTS5's unicode61
// (remove_diacritics 2) folds, the common ones, to their base letter.
var latinBase = map[rune]rune{
	'à': 'a', 'á': 'a', 'â': 'a', 'ã': 'a', 'ä': 'a', 'å': 'a', 'ā': 'a', 'ă': 'a', 'ą': 'a',
	'ç': 'c', 'ć': 'c', 'č': 'c', 'ď': 'd', 'è': 'e', 'é': 'e', 'ê': 'e', 'ë': 'e', 'ē': 'e', 'ę': 'e', 'ě': 'e',
	'ì': 'i', 'í': 'i', 'î': 'i', 'ï': 'i', 'ī': 'i', 'ñ': 'n', 'ń': 'n', 'ň': 'n',
	'ò': 'o', 'ó': 'o', 'ô': 'o', 'õ': 'o', 'ö': 'o', 'ō': 'o', 'ő': 'o', 'ř': 'r', 'ś': 's', 'š': 's', 'ş': 's',
	'ť': 't', 'ù': 'u', 'ú': 'u', 'û': 'u', 'ü': 'u', 'ū': 'u', 'ů': 'u', 'ű': 'u', 'ý': 'y', 'ÿ': 'y',
	'ź': 'z', 'ż': 'z', 'ž': 'z',
}

// foldWord lower-cases w and drops combining marks and the common Latin
// diacritics.
func foldWord(w string) string {
	var b strings.Builder
	for _, r := range w {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		r = unicode.ToLower(r)
		if base, ok := latinBase[r]; ok {
			r = base
		}
		b.WriteRune(r)
	}
	return b.String()
}

// foldTerms folds the words of terms as tokenize folds a text's.
func foldTerms(terms []searchTerm) [][]string {
	folded := make([][]string, len(terms))
	for i, t := range terms {
		for _, w := range t.words {
			folded[i] = append(folded[i], foldWord(w))
		}
	}
	return folded
}

// match is an occurrence of a term: at word at, n words long.
type match struct{ at, n, term int }

// matches returns the occurrences of terms in toks, in order, not
// overlapping.
func matches(terms []searchTerm, folded [][]string, toks []token) []match {
	var out []match
	for i := 0; i < len(toks); i++ {
		for j, ws := range folded {
			if i+len(ws) > len(toks) {
				continue
			}
			ok := true
			for k, w := range ws {
				f := toks[i+k].fold
				if !(f == w || terms[j].prefix && strings.HasPrefix(f, w)) {
					ok = false
					break
				}
			}
			if ok {
				out = append(out, match{at: i, n: len(ws), term: j})
				i += len(ws) - 1
				break
			}
		}
	}
	return out
}

// snippet returns the best window of body, or of title when body holds none
// of the words (and body when neither does).
func snippet(terms []searchTerm, folded [][]string, title, body string) string {
	s, ok := window(terms, folded, body)
	if ok || title == "" {
		return s
	}
	if t, ok := window(terms, folded, title); ok || s == "" {
		return t
	}
	return s
}

// window finds the words of terms in text and returns the snippet around
// them, and whether any was found.
func window(terms []searchTerm, folded [][]string, text string) (string, bool) {
	toks := tokenize(text)
	if len(toks) == 0 {
		return "", false
	}
	ms := matches(terms, folded, toks)
	// The window with the most distinct terms, then the most occurrences,
	// then the earliest.
	start, best, bestN := 0, -1, -1
	for i, m := range ms {
		s := max(0, m.at-snippetBefore)
		e := s + snippetWords
		seen := map[int]bool{}
		n := 0
		for _, o := range ms[i:] {
			if o.at >= e {
				break
			}
			seen[o.term] = true
			n++
		}
		if len(seen) > best || len(seen) == best && n > bestN {
			start, best, bestN = s, len(seen), n
		}
	}
	end := min(len(toks), start+snippetWords)
	var b strings.Builder
	if start > 0 {
		b.WriteString(ellipsis)
	}
	pos := toks[start].start
	for _, m := range ms {
		if m.at < start || m.at >= end {
			continue
		}
		last := min(m.at+m.n, end) - 1
		b.WriteString(guillemets.Replace(text[pos:toks[m.at].start]))
		b.WriteString("«")
		b.WriteString(guillemets.Replace(text[toks[m.at].start:toks[last].end]))
		b.WriteString("»")
		pos = toks[last].end
	}
	b.WriteString(guillemets.Replace(text[pos:toks[end-1].end]))
	if end < len(toks) {
		b.WriteString(ellipsis)
	}
	return strings.Join(strings.Fields(b.String()), " "), len(ms) > 0
}
