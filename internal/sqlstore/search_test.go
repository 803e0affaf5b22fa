package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
	"github.com/custody-dev/custody/verify"
	"github.com/google/go-cmp/cmp"
)

func TestParseSearch(t *testing.T) {
	for _, c := range []struct {
		q, fts, ts string // "" fts: EINVALID
	}{
		{"Ізюм", `"Ізюм"*`, `'Ізюм':*`},
		{"Ізюм ", `"Ізюм"`, `'Ізюм'`},
		{"ізюм катування", `"ізюм" "катування"*`, `'ізюм' & 'катування':*`},
		{"бу", `"бу"`, `'бу'`},
		{`"зв'язані руки" Ізюм`, `"зв язані руки" "Ізюм"*`, `('зв' <-> 'язані' <-> 'руки') & 'Ізюм':*`},
		{`"масова могила"`, `"масова могила"`, `('масова' <-> 'могила')`},
		{`"масова могила`, `"масова могила"`, `('масова' <-> 'могила')`},
		{`NEAR(a b, 3) OR c*`, `"NEAR" "a" "b" "3" "OR" "c"`, `'NEAR' & 'a' & 'b' & '3' & 'OR' & 'c'`},
		{`-x^y:z "" ()`, `"x" "y" "z"`, `'x' & 'y' & 'z'`},
		{"мʼясо", `"мʼясо"*`, `'мʼясо':*`},
		{"e\u0301cole", "\"e\u0301cole\"*", "'e\u0301cole':*"},
		{"", "", ""}, {"  ", "", ""}, {`"`, "", ""}, {`""`, "", ""}, {"*", "", ""}, {"\u0301", "", ""}, {"💀", "", ""},
		{strings.Repeat("a ", 33), "", ""}, {strings.Repeat("x", MaxSearchQuery+1), "", ""}, {"\xff", "", ""},
	} {
		terms, err := parseSearch(c.q)
		if c.fts == "" {
			if custody.ErrorCode(err) != custody.EINVALID {
				t.Errorf("parseSearch(%.20q) = %v, %v; want EINVALID", c.q, terms, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseSearch(%q): %v", c.q, err)
			continue
		}
		if got := fts5Query(terms); got != c.fts {
			t.Errorf("fts5Query(%q) = %s, want %s", c.q, got, c.fts)
		}
		if got := tsQuery(terms); got != c.ts {
			t.Errorf("tsQuery(%q) = %s, want %s", c.q, got, c.ts)
		}
	}
}

func TestSnippet(t *testing.T) {
	long := "Один два три чотири п'ять шість сім вісім дев'ять десять. Свідок бачив, як «військові» вивели Коваленка на вулицю " +
		"Шевченка і розстріляли біля паркану. Потім дванадцять тринадцять чотирнадцять п'ятнадцять шістнадцять."
	for _, c := range []struct{ q, title, body, want string }{
		{"вулицю Шевченка", "t", long, "…вивели Коваленка на «вулицю» «Шевченка» і розстріляли біля паркану. Потім дванадцять тринадцять чотирнадцять п'ятнадцять шістнадцять"},
		{"один", "t", long, "«Один» два три чотири п'ять шість сім вісім дев'ять десять. Свідок бачив, як “військові…"},
		{`"п'ять шість"`, "t", long, "…два три чотири «п'ять шість» сім вісім дев'ять десять. Свідок бачив, як “військові” вивели…"},
		{"шістнадц", "t", "Line one\n\n   шістнадцять.", "Line one «шістнадцять»"},
		{"CAFE", "Café\tnaïve", "", "«Café» naïve"},
		{"title", "A title", "no match here", "A «title»"},
		{"absent", "A title", "Body text", "Body text"},
		{"absent", "A title", "", "A title"},
		{"x", "", "", ""},
	} {
		terms, err := parseSearch(c.q)
		if err != nil {
			t.Fatal(err)
		}
		if got := snippet(terms, foldTerms(terms), c.title, c.body); got != c.want {
			t.Errorf("snippet(%q):\n got %s\nwant %s", c.q, got, c.want)
		}
	}
}

// FuzzParseSearch: whatever the input, the terms hold only word
// characters, so neither query language can be misread.
func FuzzParseSearch(f *testing.F) {
	for _, s := range []string{"Ізюм", `"a b" c`, `NEAR(x`, `'`, `\`, "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		terms, err := parseSearch(q)
		if err != nil {
			if custody.ErrorCode(err) != custody.EINVALID {
				t.Fatalf("parseSearch(%q): %v", q, err)
			}
			return
		}
		for _, term := range terms {
			for _, w := range term.words {
				if w == "" || strings.ContainsAny(w, `"'\ *:&|!()<>-`) || !hasAlnum(w) {
					t.Fatalf("parseSearch(%q): word %q", q, w)
				}
			}
		}
	})
}

// appendRecords appends record.create entries of the given kind and data,
// with IDs made from n, and returns the IDs.
func appendRecords(t *testing.T, db *DB, kind string, data []string) []string {
	t.Helper()
	var ps []Pending
	var ids []string
	for _, d := range data {
		id := fmt.Sprintf("00000000-0000-7000-8000-%012d", recordN.Add(1))
		raw, err := verify.Canonical(custody.RecordChange{Nonce: "bm9uY2U", Kind: kind, ID: id, Version: 1, Data: []byte(d)})
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, Pending{Entry: custody.Entry{ID: "entry-" + id, Type: custody.EntryRecordCreate,
			Store: "store-1", Actor: "user-1", Subject: id}, Payload: raw})
		ids = append(ids, id)
	}
	if _, err := db.Append(context.Background(), ps...); err != nil {
		t.Fatal(err)
	}
	return ids
}

var recordN atomic.Int64

// TestSearchNewestCandidates: with more matches than candidates, the best
// of the newest are ranked; a filter reaches the older ones.
func TestSearchNewestCandidates(t *testing.T) {
	forDialects(t, func(t *testing.T, db *DB) {
		incident := func(date, text string) string {
			return fmt.Sprintf(`{"type":"strike","time":"%s","precision":"day","locality":"UA63040090010029555","description":"%s"}`, date, text)
		}
		// The oldest is the best match of all (the word thrice in a
		// short text), but SearchCandidates newer ones match too.
		best := appendRecords(t, db, "incident", []string{incident("2022-03-01", "обстріл обстріл обстріл")})[0]
		var data []string
		for i := range SearchCandidates + 20 {
			data = append(data, incident("2023-01-01", fmt.Sprintf("обстріл житлового будинку номер %d на вулиці Соборній, загинули мешканці", i)))
		}
		appendRecords(t, db, "incident", data)
		ctx := context.Background()
		hits, err := db.Search(ctx, custody.SearchQuery{Q: "обстріл"}, nil)
		if err != nil || len(hits) != 20 {
			t.Fatalf("Search: %d hits, %v", len(hits), err)
		}
		for _, h := range hits {
			if h.ID == best {
				t.Errorf("the oldest match is ranked though %d newer ones match", SearchCandidates+20)
			}
		}
		for _, q := range []custody.SearchQuery{{Q: "обстріл", To: "2022-12"}, {Q: "обстріл", Kind: "incident", Limit: 200}} {
			hits, err = db.Search(ctx, q, nil)
			if err != nil || len(hits) == 0 {
				t.Fatalf("%+v: %v %v", q, hits, err)
			}
			if q.To != "" && (len(hits) != 1 || hits[0].ID != best || hits[0].Snippet != "«обстріл» «обстріл» «обстріл»") {
				t.Errorf("%+v: %+v, want the oldest alone", q, hits[0])
			}
			if q.Limit == 200 && len(hits) != 200 {
				t.Errorf("%+v: %d hits", q, len(hits))
			}
		}
	})
}

// forDialects runs f on a fresh database of every dialect.
func forDialects(t *testing.T, f func(t *testing.T, db *DB)) {
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db, err := Open(context.Background(), sqltest.DSN(t, dialect), Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			f(t, db)
		})
	}
}

// TestSearchPlans: the three plans (text only, filtered set, joined row by
// row) give the same hits in the same order.
func TestSearchPlans(t *testing.T) {
	forDialects(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		const (
			izium     = "UA63040090010029555"
			balakliia = "UA63040010010039074"
		)
		ids := appendRecords(t, db, "site", []string{
			`{"name":"Ліс","type":"mass_burial","locality":"` + izium + `","status":"excavation"}`,
			`{"name":"Підвал поліції","type":"detention","locality":"` + balakliia + `","status":"cleared"}`,
		})
		sites := map[string]string{izium: ids[0], balakliia: ids[1]}
		words := []string{"обстріл", "катування", "підвал", "вулиці Шевченка", "розстріл"}
		var incidents, remains []string
		for i := range 60 {
			loc := izium
			if i%3 == 0 {
				loc = balakliia
			}
			text := strings.Repeat(words[i%len(words)]+" ", 1+i%4) + "на вулиці"
			incidents = append(incidents, fmt.Sprintf(`{"type":"killing","time":"2022-%02d-10","precision":"day","locality":"%s","description":"%s"}`,
				3+i%6, loc, text))
			remains = append(remains, fmt.Sprintf(`{"site":"%s","body":"%d","recovered_at":"2022-%02d-20","notes":"%s"}`, sites[loc], i, 3+i%6, text))
		}
		appendRecords(t, db, "incident", incidents)
		appendRecords(t, db, "remains", remains)
		for _, q := range []custody.SearchQuery{
			{Q: "вулиці"}, {Q: "катування"}, {Q: "обстріл вулиці", Limit: 200}, {Q: "шевч"},
			{Q: "вулиці", Kind: "remains"}, {Q: "вулиці", Locality: izium}, {Q: "катування", Locality: balakliia, Kind: "remains"},
			{Q: "підвал", Locality: balakliia, From: "2022-05", To: "2022-06"}, {Q: "розстріл", From: "2022-04-01"},
			{Q: "вулиці", Kind: "incident", To: "2022-03"}, {Q: "Ліс", Locality: izium}, {Q: "вулиці", Locality: "UA00000000000000000"},
		} {
			plans := []int{planSet, planJoin}
			if q.Kind == "" && q.Locality == "" && q.From == "" && q.To == "" {
				plans = []int{planText, planSet, planJoin}
			}
			var want []*custody.SearchHit
			for i, plan := range plans {
				hits, err := db.search(ctx, q, plan, nil)
				if err != nil {
					t.Fatalf("%+v plan %d: %v", q, plan, err)
				}
				auto, err := db.Search(ctx, q, nil)
				if err != nil {
					t.Fatalf("%+v: %v", q, err)
				}
				if i == 0 {
					want = hits
					if len(hits) == 0 && q.Locality != "UA00000000000000000" {
						t.Errorf("%+v: no hits", q)
					}
				}
				if diff := cmp.Diff(want, hits); diff != "" {
					t.Errorf("%+v: plan %d differs from plan %d:\n%s", q, plan, plans[0], diff)
				}
				if diff := cmp.Diff(want, auto); diff != "" {
					t.Errorf("%+v: Search differs from plan %d:\n%s", q, plans[0], diff)
				}
			}
		}
	})
}
