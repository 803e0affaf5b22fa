package sqlstore

import (
	"context"
	"fmt"
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
	// SearchCandidates is the most matches a search ranks: when more
	// records match, the best of the SearchCandidates most recently
	// created ones are returned (and a query that specific is worth
	// narrowing). It bounds a search's cost whatever the words' frequency.
	SearchCandidates = 2000
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
// cafe), PostgreSQL does not. When more than SearchCandidates records match,
// the best of the most recent SearchCandidates are returned.
//
// Plans. The words are matched in the full-text index (record_fts,
// record_text) and the filters in records: two tables, whose intersection
// no index serves. So Search first counts (up to filterSetMax) the records
// that pass the filters, an index-only count, and then either walks the
// matches newest first keeping those in that set (a small set: a
// locality, a month), or walks them joined to records row by row (a large
// one, such as a kind, where most matches pass and the walk stops early).
// Without filters it ranks the newest matches straight from the full-text
// index. Snippets are made for the hits only.
//
// Errors: EINVALID (no words, query too long, unknown kind, limit over
// MaxSearchLimit, a filter that is no code or date).
func (db *DB) Search(ctx context.Context, q custody.SearchQuery) ([]*custody.SearchHit, error) {
	return db.search(ctx, q, planAuto)
}

// search is Search with the plan chosen (planAuto) or imposed (by tests:
// every plan must give the same answer).
func (db *DB) search(ctx context.Context, q custody.SearchQuery, plan int) ([]*custody.SearchHit, error) {
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
	f := searchFilter{kind: q.Kind, locality: q.Locality, from: q.From, to: q.To}
	switch {
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
		query, args = searchPostgres(tsQuery(terms), f, plan, limit)
	} else {
		query, args = searchSQLite(fts5Query(terms), f, plan, limit)
	}
	rows, err := db.read.QueryContext(ctx, db.rebind(query), args...)
	if err != nil {
		return nil, fmt.Errorf("search records: %w", err)
	}
	defer rows.Close()
	hits := []*custody.SearchHit{}
	for rows.Next() {
		var h custody.SearchHit
		var title, body string
		if err := rows.Scan(&h.ID, &h.Kind, &h.Title, &title, &body); err != nil {
			return nil, fmt.Errorf("search records: %w", err)
		}
		h.Snippet = snippet(terms, title, body)
		hits = append(hits, &h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search records: %w", err)
	}
	return hits, nil
}

// filterSetMax is the largest set of filtered records that Search
// intersects with the matches as a set; above it, it joins row by row.
const filterSetMax = 50000

// Search plans.
const (
	planAuto = iota - 1
	planText // no filters: rank the newest matches
	planSet  // matches within the (small) set of filtered records
	planJoin // matches joined to records row by row, filtered
)

// searchFilter holds a search's filters.
type searchFilter struct{ kind, locality, from, to string }

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
	return w + d, append(args, dargs...)
}

// searchSQLite: candidates from record_fts (newest first, FTS5 walks its
// doclists in rowid order and stops at the limit), ranked by BM25 with the
// title weighing more than the text; then, for the hits only, the records
// and their text (read by rowid: a MATCH per hit, as snippet() needs,
// costs a full-text lookup each, and a prefix's expansion each time).
// CROSS JOIN fixes the join order.
func searchSQLite(match string, f searchFilter, plan, limit int) (string, []any) {
	args := []any{match}
	var c string
	switch plan {
	case planText:
		c = `SELECT rowid AS seq, bm25(record_fts, 4.0, 1.0) AS score FROM record_fts WHERE record_fts MATCH ?`
	case planSet:
		// The unary + keeps the IN off FTS5's rowid lookup: SQLite builds
		// the set once and checks each match against it.
		set, setArgs := f.set()
		c = `SELECT rowid AS seq, bm25(record_fts, 4.0, 1.0) AS score FROM record_fts WHERE record_fts MATCH ? AND +rowid IN (` + set + `)`
		args = append(args, setArgs...)
	case planJoin:
		w, wargs := f.join()
		c = `SELECT record_fts.rowid AS seq, bm25(record_fts, 4.0, 1.0) AS score FROM record_fts CROSS JOIN records r
			WHERE record_fts MATCH ? AND r.seq = record_fts.rowid AND r.withdrawn = 0` + w
		args = append(args, wargs...)
	}
	q := `WITH c AS MATERIALIZED (` + c + fmt.Sprintf(` ORDER BY record_fts.rowid DESC LIMIT %d),
	top AS MATERIALIZED (SELECT seq, score FROM c ORDER BY score, seq LIMIT %d)`, SearchCandidates, limit) + `
	SELECT r.id, r.kind, r.title, f.title, f.body FROM top CROSS JOIN record_fts f CROSS JOIN records r
	WHERE f.rowid = top.seq AND r.seq = top.seq AND r.withdrawn = 0
	ORDER BY top.score, top.seq`
	return q, args
}

// searchPostgres: the same on record_text with ts_rank (normalised by
// document length, as BM25 is). The query is a literal, so
// that the planner estimates its selectivity from the statistics: a common
// word is best walked newest first in seq order, a rare one through the GIN
// index. tsq holds only quoted words, its quotes doubled again here.
func searchPostgres(tsq string, f searchFilter, plan, limit int) (string, []any) {
	query := `to_tsquery('simple', '` + strings.ReplaceAll(tsq, `'`, `''`) + `')`
	var args []any
	var c string
	switch plan {
	case planText:
		c = `SELECT t.seq, ts_rank(t.tsv, ` + query + `, 1) AS score FROM record_text t WHERE t.tsv @@ ` + query
	case planSet:
		set, setArgs := f.set()
		c = `SELECT t.seq, ts_rank(t.tsv, ` + query + `, 1) AS score FROM record_text t WHERE t.tsv @@ ` + query + ` AND t.seq IN (` + set + `)`
		args = setArgs
	case planJoin:
		w, wargs := f.join()
		c = `SELECT t.seq, ts_rank(t.tsv, ` + query + `, 1) AS score FROM record_text t JOIN records r ON r.seq = t.seq
			WHERE t.tsv @@ ` + query + ` AND r.withdrawn = 0` + w
		args = wargs
	}
	q := `WITH c AS MATERIALIZED (` + c + fmt.Sprintf(` ORDER BY t.seq DESC LIMIT %d),
	top AS MATERIALIZED (SELECT seq, score FROM c ORDER BY score DESC, seq LIMIT %d)`, SearchCandidates, limit) + `
	SELECT r.id, r.kind, r.title, t.title, t.body FROM top JOIN record_text t ON t.seq = top.seq JOIN records r ON r.seq = top.seq
	WHERE r.withdrawn = 0
	ORDER BY top.score DESC, top.seq`
	return q, args
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

// snippet returns the best window of body, or of title when body holds none
// of the words.
func snippet(terms []searchTerm, title, body string) string {
	folded := make([][]string, len(terms))
	for i, t := range terms {
		for _, w := range t.words {
			folded[i] = append(folded[i], foldWord(w))
		}
	}
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
	// hit[i] is the length in words of the term found at word i (0: none);
	// term[i] which term it is.
	hit := make([]int, len(toks))
	term := make([]int, len(toks))
	var at []int
	for i := range toks {
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
				hit[i], term[i] = len(ws), j
				at = append(at, i)
				break
			}
		}
	}
	// The window with the most distinct terms, then the most words found,
	// then the earliest.
	start, best, bestN := 0, -1, -1
	for _, p := range at {
		s := max(0, p-snippetBefore)
		e := min(len(toks), s+snippetWords)
		seen := map[int]bool{}
		n := 0
		for i := s; i < e; i++ {
			if hit[i] > 0 {
				seen[term[i]] = true
				n++
			}
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
	for i := start; i < end; i++ {
		if hit[i] == 0 {
			continue
		}
		last := min(i+hit[i], end) - 1
		b.WriteString(guillemets.Replace(text[pos:toks[i].start]))
		b.WriteString("«")
		b.WriteString(guillemets.Replace(text[toks[i].start:toks[last].end]))
		b.WriteString("»")
		pos = toks[last].end
		i = last
	}
	b.WriteString(guillemets.Replace(text[pos:toks[end-1].end]))
	if end < len(toks) {
		b.WriteString(ellipsis)
	}
	return strings.Join(strings.Fields(b.String()), " "), len(at) > 0
}
