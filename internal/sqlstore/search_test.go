package sqlstore

import (
	"context"
	"fmt"
	"strings"
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
		if got := snippet(terms, c.title, c.body); got != c.want {
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

// TestSearchPlans: the three plans (text only, filtered set, joined row by
// row) give the same hits in the same order.
func TestSearchPlans(t *testing.T) {
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, err := Open(ctx, sqltest.DSN(t, dialect), Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			const (
				izium     = "UA63040090010029555"
				balakliia = "UA63040010010039074"
			)
			var ps []Pending
			n := 0
			add := func(kind, data string) string {
				n++
				id := fmt.Sprintf("00000000-0000-7000-8000-%012d", n)
				raw, err := verify.Canonical(custody.RecordChange{Nonce: "bm9uY2U", Kind: kind, ID: id, Version: 1, Data: []byte(data)})
				if err != nil {
					t.Fatal(err)
				}
				ps = append(ps, Pending{Entry: custody.Entry{ID: fmt.Sprintf("entry-%d", n), Type: custody.EntryRecordCreate,
					Store: "store-1", Actor: "user-1", Subject: id}, Payload: raw})
				return id
			}
			sites := map[string]string{
				izium:     add("site", `{"name":"Ліс","type":"mass_burial","locality":"`+izium+`","status":"excavation"}`),
				balakliia: add("site", `{"name":"Підвал поліції","type":"detention","locality":"`+balakliia+`","status":"cleared"}`),
			}
			words := []string{"обстріл", "катування", "підвал", "вулиці Шевченка", "розстріл"}
			for i := range 60 {
				loc := izium
				if i%3 == 0 {
					loc = balakliia
				}
				text := strings.Repeat(words[i%len(words)]+" ", 1+i%4) + "на вулиці"
				add("incident", fmt.Sprintf(`{"type":"killing","time":"2022-%02d-10","precision":"day","locality":"%s","description":"%s"}`,
					3+i%6, loc, text))
				add("remains", fmt.Sprintf(`{"site":"%s","body":"%d","recovered_at":"2022-%02d-20","notes":"%s"}`, sites[loc], i, 3+i%6, text))
			}
			if _, err := db.Append(ctx, ps...); err != nil {
				t.Fatal(err)
			}
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
					hits, err := db.search(ctx, q, plan)
					if err != nil {
						t.Fatalf("%+v plan %d: %v", q, plan, err)
					}
					auto, err := db.Search(ctx, q)
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
}
