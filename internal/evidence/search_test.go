package evidence_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/locality"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Localities of the search fixture (KATOTTH codes of cities in Kharkivska oblast).
const (
	fxIzium     = "UA63040090010029555"
	fxBalakliia = "UA63040010010039074"
	fxKupiansk  = "UA63080090010026457"
)

// searchFixture is a small investigation whose figures are known, with the
// records named by label so that results compare across stores (whose IDs
// differ).
type searchFixture struct {
	e     *env
	ids   map[string]string // label → ID
	label map[string]string // ID → label
}

func (f *searchFixture) create(label, kind string, data any) string {
	f.e.t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		f.e.t.Fatal(err)
	}
	recs, err := f.e.svc.CreateRecords(context.Background(), f.e.admin, []custody.RecordInput{{Kind: kind, Data: raw}})
	if err != nil {
		f.e.t.Fatalf("create %s: %v", label, err)
	}
	f.ids[label] = recs[0].ID
	f.label[recs[0].ID] = label
	return recs[0].ID
}

func (f *searchFixture) withdraw(label string) {
	f.e.t.Helper()
	if _, err := f.e.svc.WithdrawRecord(context.Background(), f.e.admin, f.ids[label], 1, "entered in error"); err != nil {
		f.e.t.Fatalf("withdraw %s: %v", label, err)
	}
}

type jsonObj = map[string]any

// newSearchFixture: two sites (Izium, Balakliia); five remains, of which one is
// withdrawn: three in Izium (one identified by DNA; torture graded
// consistent, highly consistent and not consistent), one commingled (MNI 3,
// torture typical) in Balakliia; four incidents, one withdrawn; two teams,
// one withdrawn; two persons and a testimony.
func newSearchFixture(t testing.TB, dialect string) *searchFixture {
	f := &searchFixture{e: newService(t, dialect), ids: map[string]string{}, label: map[string]string{}}
	forest := f.create("site-forest", custody.KindSite, jsonObj{"name": "Ліс біля вулиці Шевченка", "type": "mass_burial", "locality": fxIzium,
		"status": "excavation", "graves": 447, "found_on": "2022-09-15",
		"description": "Масове поховання на північній околиці Ізюму: хрести з номерами, «братська могила» військових ЗСУ."})
	police := f.create("site-police", custody.KindSite, jsonObj{"name": "Police station basement", "type": "detention", "locality": fxBalakliia,
		"status": "cleared", "description": "Basement used as a torture chamber by the occupiers; electric wires found."})
	victim := f.create("person-victim", custody.KindPerson, jsonObj{"roles": []string{"victim"}, "name": "Олександр Коваленко", "locality": fxIzium})
	witness := f.create("person-witness", custody.KindPerson, jsonObj{"roles": []string{"witness"}, "name": "Марія Шевчук", "locality": fxIzium,
		"protection": "medium"})
	f.create("remains-1", custody.KindRemains, jsonObj{"site": forest, "grave": "319", "body": "1", "sex": "male",
		"torture":        []jsonObj{{"sign": "зв'язані руки", "grade": "consistent", "description": "сліди катування: руки зв'язані мотузкою"}},
		"identification": jsonObj{"status": "identified", "method": []string{"dna"}, "person": victim, "date": "2022-11-02"},
		"notes":          "Ексгумовано в Ізюмі, КАТУВАННЯ підтверджено"})
	f.create("remains-2", custody.KindRemains, jsonObj{"site": forest, "grave": "320", "body": "2",
		"torture": []jsonObj{{"sign": "ligature marks on both wrists", "grade": "highly_consistent"}}})
	f.create("remains-3", custody.KindRemains, jsonObj{"site": forest, "grave": "321", "body": "3",
		"torture":        []jsonObj{{"sign": "bruises", "grade": "not_consistent"}},
		"cause_of_death": "осколкове поранення голови"})
	f.create("remains-4", custody.KindRemains, jsonObj{"site": police, "body": "4", "commingled": true, "mni": 3,
		"torture": []jsonObj{{"sign": "electrical burns", "grade": "typical"}}, "notes": "Commingled remains of three men"})
	f.create("remains-5", custody.KindRemains, jsonObj{"site": forest, "body": "5", "notes": "помилковий запис, дубль"})
	f.withdraw("remains-5")
	f.create("incident-strike", custody.KindIncident, jsonObj{"type": "strike", "time": "2022-03-09T10:00:00+02:00", "precision": "exact",
		"locality": fxIzium, "weapon": "air", "killed_confirmed": 5, "killed_estimated": 2, "injured_confirmed": 7, "injured_estimated": 3,
		"description": "Авіаудар по житловому будинку на вулиці Першотравневій в Ізюмі"})
	f.create("incident-killing", custody.KindIncident, jsonObj{"type": "killing", "time": "2022-04-15", "precision": "day",
		"locality": fxIzium, "killed_confirmed": 1, "description": "Пытки и расстрел мирного жителя у здания больницы"})
	f.create("incident-torture", custody.KindIncident, jsonObj{"type": "torture", "time": "2022-08", "precision": "month",
		"locality": fxBalakliia, "injured_confirmed": 2, "site": police,
		"description": "Detention and torture of civilians in the police station basement"})
	f.create("incident-withdrawn", custody.KindIncident, jsonObj{"type": "strike", "time": "2022-03-20", "precision": "day",
		"locality": fxKupiansk, "killed_confirmed": 3, "killed_estimated": 10, "description": "Ракетний удар, дубль запису"})
	f.withdraw("incident-withdrawn")
	f.create("team-7", custody.KindTeam, jsonObj{"name": "Mobile group 7", "type": "mobile", "localities": []string{fxIzium, fxBalakliia}})
	f.create("team-x", custody.KindTeam, jsonObj{"name": "Mobile group 9", "type": "mobile", "localities": []string{fxKupiansk}})
	f.withdraw("team-x")
	f.create("testimony", custody.KindTestimony, jsonObj{"witness": witness, "interviewer": "o.kovalenko", "date": "2022-09-20",
		"locality": fxIzium, "language": "uk", "consent": jsonObj{"given": true, "scope": []string{"national_court"}},
		"transcript": "Мене тримали в підвалі два тижні. Катування струмом, допити щодня. Сусіда вбили в Ізюмі."})
	return f
}

// labels turns hits into their labels, sorted unless ordered.
func (f *searchFixture) labels(hits []*custody.SearchHit, ordered bool) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		if l, ok := f.label[h.ID]; ok {
			out[i] = l
		} else {
			out[i] = "?" + h.ID
		}
	}
	if !ordered {
		slices.Sort(out)
	}
	return out
}

// snippets returns each hit's label and snippet, sorted.
func (f *searchFixture) snippets(hits []*custody.SearchHit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = f.label[h.ID] + ": " + h.Snippet
	}
	slices.Sort(out)
	return out
}

// searchCases are queries with the labels they must find (in any order).
var searchCases = []struct {
	name string
	q    custody.SearchQuery
	want []string
}{
	{"ukrainian", custody.SearchQuery{Q: "Ізюм"}, []string{"incident-strike", "remains-1", "site-forest", "testimony"}},
	{"lower case, no prefix", custody.SearchQuery{Q: "ізюмі "}, []string{"incident-strike", "remains-1", "testimony"}},
	{"upper case", custody.SearchQuery{Q: "КАТУВАННЯ"}, []string{"remains-1", "testimony"}},
	{"two words", custody.SearchQuery{Q: "катування руки"}, []string{"remains-1"}},
	{"prefix", custody.SearchQuery{Q: "Першотрав"}, []string{"incident-strike"}},
	{"short last word is not a prefix", custody.SearchQuery{Q: "бу"}, nil},
	{"russian", custody.SearchQuery{Q: "пытки"}, []string{"incident-killing"}},
	{"russian upper", custody.SearchQuery{Q: "ПЫТКИ РАССТРЕЛ"}, []string{"incident-killing"}},
	{"english", custody.SearchQuery{Q: "torture"}, []string{"incident-torture", "site-police"}},
	{"english title", custody.SearchQuery{Q: "Mobile group"}, []string{"team-7"}},
	{"latin in title", custody.SearchQuery{Q: "ligature marks"}, []string{"remains-2"}},
	{"phrase", custody.SearchQuery{Q: `"зв'язані руки"`}, []string{"remains-1"}},
	{"phrase in order only", custody.SearchQuery{Q: `"руки зв'язані" катування`}, []string{"remains-1"}},
	{"phrase out of order", custody.SearchQuery{Q: `"мотузкою руки"`}, nil},
	{"kind", custody.SearchQuery{Q: "Ізюм", Kind: custody.KindRemains}, []string{"remains-1"}},
	{"locality", custody.SearchQuery{Q: "torture", Locality: fxBalakliia}, []string{"incident-torture", "site-police"}},
	{"locality of remains via site", custody.SearchQuery{Q: "commingled", Locality: fxBalakliia}, []string{"remains-4"}},
	{"other locality", custody.SearchQuery{Q: "torture", Locality: fxIzium}, nil},
	{"from", custody.SearchQuery{Q: "Ізюм", From: "2022-09-01"}, []string{"site-forest", "testimony"}},
	{"to a month", custody.SearchQuery{Q: "Ізюм", To: "2022-03"}, []string{"incident-strike"}},
	{"from and to", custody.SearchQuery{Q: "torture basement", From: "2022-08", To: "2022-08-31"}, []string{"incident-torture"}},
	{"withdrawn remains", custody.SearchQuery{Q: "помилковий"}, nil},
	{"withdrawn incident", custody.SearchQuery{Q: "дубль"}, nil},
	{"withdrawn team", custody.SearchQuery{Q: "Mobile group 9"}, nil},
	{"no match", custody.SearchQuery{Q: "Маріуполь"}, nil},
	{"limit", custody.SearchQuery{Q: "Ізюм", Limit: 1}, nil}, // checked apart: one hit
}

// hostileQueries are queries that must give results or EINVALID, never an
// internal error.
var hostileQueries = []string{
	`"`, `""`, `"""`, `'`, `*`, `**`, `Ізюм*`, `*Ізюм`, `-Ізюм`, `Ізюм -руки`, `NOT Ізюм`, `Ізюм NOT`, `OR`, `Ізюм OR Балаклія`,
	`AND`, `NEAR(`, `NEAR(Ізюм руки, 3)`, `NEAR`, `(`, `)`, `())`, `Ізюм)`, `title:Ізюм`, `body : руки`, `{title}: x`, `^Ізюм`,
	`Ізюм + руки`, `'; DROP TABLE records; --`, `\`, `\"`, `%`, `_`, `&`, `|`, `!`, `<->`, `Ізюм <-> руки`, `Ізюм & руки`,
	`Ізюм | руки`, `!Ізюм`, `:*`, `Ізюм:*`, `'Ізюм':*`, `Ізюм:A`, "\u0301", "\u0301\u0301 x\u0301", "é", "Ізюм\x00руки", "\uffff",
	"💀", "ʼ", "ʼ Ізюм", "Ізюм ʼ", `"unclosed phrase Ізюм`, `a"b"c`, "\t\n", "   ", "", "-", "--", "...", "€100", "12 000", "2022-09-16",
	strings.Repeat("Ізюм ", 2000), strings.Repeat("x", 10<<10), strings.Repeat(`"`, 5000), strings.Repeat("(", 3000),
	strings.Repeat("а ", 32), strings.Repeat("а ", 33), string([]byte{0xff, 0xfe, 'a'}),
}

func TestSearch(t *testing.T) {
	results := map[string]map[string][]string{} // dialect → case → labels
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := newSearchFixture(t, dialect)
			got := map[string][]string{}
			results[dialect] = got
			ctx := context.Background()
			for _, c := range searchCases {
				hits, err := f.e.svc.Search(ctx, custody.SystemActor, c.q)
				if err != nil {
					t.Errorf("%s: Search(%+v): %v", c.name, c.q, err)
					continue
				}
				got[c.name] = f.labels(hits, false)
				got["snippets "+c.name] = f.snippets(hits)
				got["ranked "+c.name] = f.labels(hits, true) // ranking is the same code on both dialects
				if c.name == "limit" {
					if len(hits) != 1 {
						t.Errorf("limit 1: %d hits", len(hits))
					}
					continue
				}
				if diff := cmp.Diff(c.want, got[c.name], cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("%s: Search(%+v) (-want +got):\n%s", c.name, c.q, diff)
				}
				for _, h := range hits {
					if !strings.Contains(h.Snippet, "«") || !strings.Contains(h.Snippet, "»") || h.Title == "" || h.Kind == "" {
						t.Errorf("%s: hit %+v: want a title, a kind and a snippet with «marked» words", c.name, h)
					}
				}
			}

			// Ranking: the record naming the words in its title comes first.
			hits, err := f.e.svc.Search(ctx, custody.SystemActor, custody.SearchQuery{Q: "Police station basement"})
			if err != nil || len(hits) != 2 || f.label[hits[0].ID] != "site-police" {
				t.Errorf("Police station basement: %v %v, want site-police first of two", f.labels(hits, true), err)
			}
			// Snippets mark the words and keep the document's own guillemets apart.
			hits, err = f.e.svc.Search(ctx, custody.SystemActor, custody.SearchQuery{Q: "братська могила"})
			if err != nil || len(hits) != 1 {
				t.Fatalf("братська могила: %v %v", hits, err)
			}
			if s := hits[0].Snippet; !strings.Contains(s, "“«братська» «могила»” військових") {
				t.Errorf("snippet %q: want “«братська» «могила»” військових", s)
			}
			hits, err = f.e.svc.Search(ctx, custody.SystemActor, custody.SearchQuery{Q: "вулиці Першотравневій"})
			if err != nil || len(hits) != 1 || !strings.Contains(hits[0].Snippet, "«вулиці» «Першотравневій»") {
				t.Errorf("snippet: %+v %v", hits, err)
			}

			for _, c := range []custody.SearchQuery{
				{Q: ""}, {Q: "   "}, {Q: "*"}, {Q: `""`}, {Q: strings.Repeat("x", 10<<10)},
				{Q: "Ізюм", Kind: "grave"}, {Q: "Ізюм", Limit: 201},
			} {
				_, err := f.e.svc.Search(ctx, custody.SystemActor, c)
				wantCode(t, err, custody.EINVALID)
			}
			for _, q := range hostileQueries {
				hits, err := f.e.svc.Search(ctx, custody.SystemActor, custody.SearchQuery{Q: q})
				if code := custody.ErrorCode(err); err != nil && code != custody.EINVALID {
					t.Errorf("Search(%.40q): %v (%s), want results or EINVALID", q, err, code)
				}
				if err == nil && hits == nil {
					t.Errorf("Search(%.40q): nil hits, want an empty slice", q)
				}
				got["hostileQueries "+q] = f.labels(hits, false)
			}
		})
	}
	if d := sqltest.Dialects(t); len(d) == 2 {
		if diff := cmp.Diff(results[d[0]], results[d[1]]); diff != "" {
			t.Errorf("search results differ between %s and %s (-%s +%s):\n%s", d[0], d[1], d[0], d[1], diff)
		}
	}
}

func TestStats(t *testing.T) {
	g := gazetteer(t)
	settlements := 0
	for _, c := range []string{fxIzium, fxBalakliia, fxKupiansk} {
		if _, ok := g.Get(c); !ok {
			t.Fatalf("no %s in the gazetteer", c)
		}
	}
	var count func(code string)
	count = func(code string) {
		for _, u := range g.Children(code) {
			switch u.Category {
			case locality.City, locality.SpecialCity, locality.UrbanSettlement, locality.Village, locality.Settlement:
				settlements++
			}
			count(u.Code)
		}
	}
	count("")
	if settlements < 25000 || settlements > 31000 {
		t.Fatalf("%d settlements in the gazetteer?", settlements)
	}
	name := func(code string) string { u, _ := g.Get(code); return u.Name }
	records := func(kv ...any) map[string]int {
		m := map[string]int{}
		for _, k := range custody.RecordKinds {
			m[k] = 0
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(int)
		}
		return m
	}
	want := map[string]*custody.Stats{
		"": {Bodies: 6, Identified: 1, Torture: 5, KilledConfirmed: 6, KilledEstimated: 2, InjuredConfirmed: 9, InjuredEstimated: 3,
			Records: records(custody.KindSite, 2, custody.KindRemains, 4, custody.KindPerson, 2, custody.KindTestimony, 1,
				custody.KindIncident, 3, custody.KindTeam, 1),
			IncidentsByMonth: []custody.MonthCount{{Month: "2022-03", Type: "strike", Count: 1}, {Month: "2022-04", Type: "killing", Count: 1}, {Month: "2022-08", Type: "torture", Count: 1}},
			PerLocality: []custody.LocalityStats{
				{Locality: fxBalakliia, Name: name(fxBalakliia), Bodies: 3, Torture: 3, Incidents: 1},
				{Locality: fxIzium, Name: name(fxIzium), Bodies: 3, Identified: 1, Torture: 2, KilledConfirmed: 6, KilledEstimated: 2, Incidents: 2},
			},
			LocalitiesVisited: 2, LocalitiesTotal: settlements},
		fxIzium: {Bodies: 3, Identified: 1, Torture: 2, KilledConfirmed: 6, KilledEstimated: 2, InjuredConfirmed: 7, InjuredEstimated: 3,
			Records: records(custody.KindSite, 1, custody.KindRemains, 3, custody.KindPerson, 2, custody.KindTestimony, 1,
				custody.KindIncident, 2, custody.KindTeam, 1),
			IncidentsByMonth: []custody.MonthCount{{Month: "2022-03", Type: "strike", Count: 1}, {Month: "2022-04", Type: "killing", Count: 1}},
			PerLocality: []custody.LocalityStats{
				{Locality: fxIzium, Name: name(fxIzium), Bodies: 3, Identified: 1, Torture: 2, KilledConfirmed: 6, KilledEstimated: 2, Incidents: 2},
			},
			LocalitiesVisited: 1, LocalitiesTotal: settlements},
		fxKupiansk: {Records: records(), IncidentsByMonth: []custody.MonthCount{}, LocalitiesTotal: settlements},
	}
	results := map[string]map[string]*custody.Stats{}
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := newSearchFixture(t, dialect)
			ctx := context.Background()
			results[dialect] = map[string]*custody.Stats{}
			for code, w := range want {
				st, err := f.e.svc.Stats(ctx, custody.SystemActor, code)
				if err != nil {
					t.Fatalf("Stats(%q): %v", code, err)
				}
				results[dialect][code] = st
				if diff := cmp.Diff(w, st); diff != "" {
					t.Errorf("Stats(%q) (-want +got):\n%s", code, diff)
				}
			}
			_, err := f.e.svc.Stats(ctx, custody.SystemActor, "UA00000000000000000")
			wantCode(t, err, custody.ENOTFOUND)

			// A correction changes the figures: remains-3 identified by
			// dental records, its torture regraded consistent.
			r3, err := f.e.svc.Record(ctx, custody.SystemActor, f.ids["remains-3"])
			if err != nil {
				t.Fatal(err)
			}
			var rem custody.Remains
			if err := json.Unmarshal(r3.Data, &rem); err != nil {
				t.Fatal(err)
			}
			rem.Torture[0].Grade = "consistent"
			rem.Identification = &custody.Identification{Status: "identified", Method: []string{"dental"}, Person: f.ids["person-victim"]}
			raw, _ := json.Marshal(rem)
			if _, err := f.e.svc.UpdateRecord(ctx, f.e.admin, custody.RecordInput{ID: r3.ID, Data: raw, Base: 1}); err != nil {
				t.Fatal(err)
			}
			st, err := f.e.svc.Stats(ctx, custody.SystemActor, "")
			if err != nil {
				t.Fatal(err)
			}
			if st.Identified != 2 || st.Torture != 6 || st.PerLocality[1].Identified != 2 || st.PerLocality[1].Torture != 3 {
				t.Errorf("after the correction: identified %d, torture %d, Izium %+v; want 2, 6, 2 and 3",
					st.Identified, st.Torture, st.PerLocality[1])
			}
		})
	}
	if d := sqltest.Dialects(t); len(d) == 2 {
		if diff := cmp.Diff(results[d[0]], results[d[1]]); diff != "" {
			t.Errorf("stats differ between %s and %s:\n%s", d[0], d[1], diff)
		}
	}
}

// TestSearchAndStatsAfterReplay: the full-text rows and figures are derived
// from the log: rebuilding the index in place answers the same.
func TestSearchAndStatsAfterReplay(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		f := newSearchFixture(t, dialect)
		ctx := context.Background()
		snapshot := func() string {
			var b strings.Builder
			for _, c := range searchCases {
				hits, err := f.e.svc.Search(ctx, custody.SystemActor, c.q)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				for _, h := range hits {
					fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\n", c.name, f.label[h.ID], h.Kind, h.Title, h.Snippet)
				}
			}
			for _, code := range []string{"", fxIzium, fxBalakliia} {
				st, err := f.e.svc.Stats(ctx, custody.SystemActor, code)
				if err != nil {
					t.Fatal(err)
				}
				j, _ := json.Marshal(st)
				fmt.Fprintf(&b, "stats %s %s\n", code, j)
			}
			return b.String()
		}
		before := snapshot()
		if err := f.e.db.Replay(ctx, nil); err != nil {
			t.Fatalf("Replay: %v", err)
		}
		if diff := cmp.Diff(before, snapshot()); diff != "" {
			t.Errorf("after Replay (-before +after):\n%s", diff)
		}
	})
}

// FuzzSearch: any query is answered or refused with EINVALID, never an
// internal error (SQLite; the seed corpus runs as a test).
func FuzzSearch(f *testing.F) {
	for _, q := range hostileQueries {
		if len(q) < 200 {
			f.Add(q)
		}
	}
	fx := newSearchFixture(f, "sqlite")
	f.Fuzz(func(t *testing.T, q string) {
		_, err := fx.e.svc.Search(context.Background(), custody.SystemActor, custody.SearchQuery{Q: q})
		if err != nil && custody.ErrorCode(err) != custody.EINVALID {
			t.Fatalf("Search(%q): %v", q, err)
		}
	})
}
