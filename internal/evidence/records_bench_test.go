package evidence_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/locality"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
)

// BenchmarkRecordQueries loads a synthetic investigation of 1,000,000
// records (CUSTODY_BENCH_RECORDS to change it) through CreateRecords, in
// batches of 5,000 — about half incidents and 43% remains, with Ukrainian,
// Russian and English text, spread over the settlements of eight oblasts
// with a few localities holding most records — and then measures the
// latency of typical listings (first pages and a deep cursor page),
// full-text searches (rare, medium and very common words, with and without
// filters) and the statistics, reporting p50 and p95 in milliseconds:
//
//	CUSTODY_BENCH_BIG=1 CUSTODY_TEST_POSTGRES='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' \
//	  go test -run '^$' -bench BenchmarkRecordQueries -benchtime 200x -timeout 2h ./internal/evidence/
//
// Each query of a sub-benchmark cycles through a set of variants (other
// localities, other words), so the figures are not one cached answer.
// Skipped under -short and unless CUSTODY_BENCH_BIG=1.
func BenchmarkRecordQueries(b *testing.B) {
	if testing.Short() || os.Getenv("CUSTODY_BENCH_BIG") != "1" {
		b.Skip("set CUSTODY_BENCH_BIG=1 (and no -short) to load a million records")
	}
	n := 1_000_000
	if s := os.Getenv("CUSTODY_BENCH_RECORDS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 10_000 {
			b.Fatalf("CUSTODY_BENCH_RECORDS=%q: want a number of records, at least 10000", s)
		}
	}
	for _, dialect := range sqltest.Dialects(b) {
		b.Run(dialect, func(b *testing.B) {
			e := newService(b, dialect)
			start := time.Now()
			ds := loadInvestigation(b, e, n)
			b.Logf("%s: loaded %d records in %v (%.0f records/s)", dialect, n, time.Since(start).Round(time.Second),
				float64(n)/time.Since(start).Seconds())
			if dialect == "postgres" {
				// What autovacuum does after a bulk load, before anyone
				// reads: planner statistics and the visibility map. (SQLite
				// stores run no ANALYZE; neither does the benchmark.)
				if _, err := e.raw().Exec(`VACUUM ANALYZE`); err != nil {
					b.Fatal(err)
				}
			}
			for _, q := range ds.queries(b, e) {
				b.Run(q.name, func(b *testing.B) { measure(b, q.run) })
			}
		})
	}
}

// benchQuery is one kind of query, run with its i-th variant.
type benchQuery struct {
	name string
	run  func(ctx context.Context, i int) (int, error) // returns the number of results
}

// measure runs q b.N times and reports the latency percentiles.
func measure(b *testing.B, q func(ctx context.Context, i int) (int, error)) {
	ctx := context.Background()
	var lat []time.Duration
	results := 0
	i := 0
	for b.Loop() {
		t0 := time.Now()
		n, err := q(ctx, i)
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		results += n
		i++
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(float64(results)/float64(len(lat)), "results/op")
}

// benchData is what the loader created, for the queries to refer to.
type benchData struct {
	localities []string // by decreasing number of records
	sites      []string
}

// Vocabulary of the synthetic text. Template words are common (a third of
// the records or more), slot words medium, names and unit numbers rare.
var (
	bnFirst    = strings.Fields("Олександр Микола Іван Петро Сергій Андрій Віктор Володимир Юрій Олег Василь Дмитро Марія Олена Наталія Тетяна Ірина Людмила Галина Валентина Ольга Світлана Ганна Надія")
	bnLast     = strings.Fields("Коваленко Бондаренко Шевченко Ткаченко Кравченко Олійник Шевчук Поліщук Бойко Ковальчук Мельник Лисенко Савченко Руденко Марченко Мороз Петренко Клименко Павленко Левченко Гончаренко Кузьменко Савчук Романенко Коваль Білоус Гриценко Литвиненко Захарченко Яковенко Сидоренко Тимошенко Мартинюк Данильченко Остапенко Дорошенко Панченко Приходько Іваненко Волошин Гуменюк Юрченко Карпенко Демченко Семенко Нестеренко Зінченко Тарасенко Федоренко Вакуленко")
	bnStreets  = strings.Fields("Шевченка Першотравнева Соборна Миру Гагаріна Пушкінська Незалежності Центральна Садова Лісна Польова Молодіжна Шкільна Набережна Харківська Київська Заводська Залізнична Весняна Перемоги")
	bnObjects  = []string{"житловому будинку", "приватному будинку", "багатоповерхівці", "школі", "лікарні", "дитячому садку", "магазину", "ринку", "залізничній станції", "укриттю", "церкві", "адміністративній будівлі", "автомобілю", "колоні евакуації", "мосту"}
	bnWeapons  = map[string]string{"missile": "ракетний удар", "artillery": "артилерійський обстріл", "air": "авіаудар", "drone": "удар дрона", "cluster": "касетні боєприпаси", "mlrs": "обстріл із РСЗВ", "mortar": "мінометний обстріл"}
	bnRussian  = []string{"пытки и расстрел мирного жителя", "задержан на блокпосту военнослужащими", "удерживали в подвале несколько недель", "обстрел жилого дома", "вывезли в неизвестном направлении"}
	bnEnglish  = []string{"strike on a residential building", "civilians killed at a checkpoint", "detention and torture in a basement", "cluster munition remnants found", "artillery shelling of an apartment block"}
	bnTorture  = []string{"сліди зв'язування на зап'ястках", "переломи ребер", "опіки від струму", "вогнепальне поранення потилиці", "відсутні нігті", "сліди побиття", "ligature marks on both wrists", "electrical burns", "blunt force trauma to the head"}
	bnGrades   = []string{"not_consistent", "consistent", "highly_consistent", "typical", "diagnostic"}
	bnClothing = []string{"темна куртка, джинси", "камуфляжні штани, светр", "синя куртка, чоботи", "цивільний одяг", "спортивний костюм"}
	bnCauses   = []string{"вогнепальне поранення", "осколкові поранення", "мінно-вибухова травма", "тупа травма голови", "не встановлено"}
	bnTypes    = []string{"strike", "strike", "strike", "strike", "killing", "killing", "torture", "detention", "disappearance", "deportation", "destruction", "looting"}
	bnWeaponOf = []string{"missile", "artillery", "air", "drone", "cluster", "mlrs", "mortar"}
	bnSiteType = []string{"mass_burial", "grave", "grave", "building", "detention", "torture", "strike_impact"}
	bnPhrases  = []string{"За словами свідків", "Мешканці повідомили, що", "Очевидці розповіли, що", "Встановлено, що", "Зі слів родичів,"}
)

// benchGen generates the records; it is deterministic for a seed.
type benchGen struct {
	r          *rand.Rand
	localities []string
	zipf       *rand.Zipf
}

func (g *benchGen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }
func (g *benchGen) locality() string        { return g.localities[g.zipf.Uint64()] }
func (g *benchGen) name() string            { return g.pick(bnFirst) + " " + g.pick(bnLast) }
func (g *benchGen) date() string {
	d := time.Date(2022, 2, 24, 0, 0, 0, 0, time.UTC).AddDate(0, 0, g.r.IntN(1000))
	return d.Format("2006-01-02")
}

func (g *benchGen) incident() custody.Incident {
	typ := g.pick(bnTypes)
	in := custody.Incident{Type: typ, Locality: g.locality(), Precision: "day", Time: g.date()}
	var text []string
	text = append(text, g.pick(bnPhrases))
	switch typ {
	case "strike":
		in.Weapon = g.pick(bnWeaponOf)
		text = append(text, bnWeapons[in.Weapon]+" по "+g.pick(bnObjects)+" на вулиці "+g.pick(bnStreets)+".")
		in.KilledConfirmed, in.InjuredConfirmed = g.r.IntN(6), g.r.IntN(12)
		if g.r.IntN(5) == 0 {
			in.KilledEstimated = g.r.IntN(20)
		}
		text = append(text, fmt.Sprintf("Загинули %d, поранено %d цивільних мешканців.", in.KilledConfirmed, in.InjuredConfirmed))
	case "killing":
		in.KilledConfirmed = 1 + g.r.IntN(3)
		text = append(text, "військові РФ розстріляли "+g.name()+" біля будинку на вулиці "+g.pick(bnStreets)+".")
	default:
		text = append(text, "окупанти затримали "+g.name()+", утримували в підвалі, катували, допитували.")
	}
	if g.r.IntN(10) == 0 {
		text = append(text, g.pick(bnRussian)+".")
	}
	if g.r.IntN(10) == 0 {
		text = append(text, g.pick(bnEnglish)+".")
	}
	if g.r.IntN(3) == 0 {
		in.SuspectedUnit = fmt.Sprintf("в/ч %05d", g.r.IntN(100000))
	}
	in.Description = strings.Join(text, " ")
	return in
}

func (g *benchGen) remains(site string, victims []string, i int) custody.Remains {
	age := 18 + g.r.IntN(70)
	ageMax := age + 10
	r := custody.Remains{Site: site, Grave: strconv.Itoa(1 + i%500), Body: strconv.Itoa(i), Sex: g.pick([]string{"male", "male", "female", "undetermined"}),
		AgeMin: &age, AgeMax: &ageMax, Condition: g.pick([]string{"complete", "partial", "skeletonised", "decomposed"}),
		Clothing: g.pick(bnClothing), CauseOfDeath: g.pick(bnCauses), MannerOfDeath: "homicide",
		RecoveredAt: g.date() + "T10:00:00+03:00"}
	for range g.r.IntN(3) {
		r.Torture = append(r.Torture, custody.TortureFinding{Sign: g.pick(bnTorture), Grade: g.pick(bnGrades)})
	}
	if g.r.IntN(10) == 0 && len(victims) > 0 {
		r.Identification = &custody.Identification{Status: "identified", Method: []string{"dna"}, Person: victims[g.r.IntN(len(victims))]}
	}
	r.Notes = "Хрест з номером " + r.Grave + ". " + g.pick(bnPhrases) + " похований " + g.name() + "."
	return r
}

// benchLocalities returns the settlements of eight oblasts that were
// occupied or fought over: Kharkivska, Donetska, Khersonska, Kyivska,
// Sumska, Chernihivska, Zaporizka, Mykolaivska.
func benchLocalities(b testing.TB) []string {
	g := gazetteer(b)
	var locs []string
	for _, oblast := range []string{"UA63", "UA14", "UA65", "UA32", "UA59", "UA74", "UA23", "UA48"} {
		var walk func(code string)
		walk = func(code string) {
			for _, u := range g.Children(code) {
				switch u.Category {
				case locality.City, locality.UrbanSettlement, locality.Village, locality.Settlement:
					locs = append(locs, u.Code)
				}
				walk(u.Code)
			}
		}
		for _, top := range g.Children("") {
			if strings.HasPrefix(top.Code, oblast) {
				walk(top.Code)
			}
		}
	}
	if len(locs) < 1000 {
		b.Fatalf("only %d settlements found", len(locs))
	}
	return locs
}

// loadInvestigation creates n records through CreateRecords in batches of
// 5,000, two batches in flight.
func loadInvestigation(b testing.TB, e *env, n int) *benchData {
	b.Helper()
	locs := benchLocalities(b)
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(locs), func(i, j int) { locs[i], locs[j] = locs[j], locs[i] })
	gen := &benchGen{r: rng, localities: locs, zipf: rand.NewZipf(rng, 1.1, 5, uint64(len(locs)-1))}
	ds := &benchData{localities: locs}

	ctx := context.Background()
	create := func(in []custody.RecordInput) ([]*custody.Record, error) {
		recs, err := e.svc.CreateRecords(ctx, e.admin, in)
		if err != nil {
			return nil, fmt.Errorf("CreateRecords: %w", err)
		}
		return recs, nil
	}
	input := func(kind string, v any) custody.RecordInput {
		raw, err := json.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		return custody.RecordInput{Kind: kind, Data: raw}
	}
	const batch = 5000
	// First the records others refer to: teams, persons, sites.
	var victims, witnesses []string
	var first []custody.RecordInput
	for i := range 100 {
		ls := make([]string, 0, 50)
		seen := map[string]bool{}
		for range 50 {
			if l := gen.locality(); !seen[l] {
				seen[l] = true
				ls = append(ls, l)
			}
		}
		first = append(first, input(custody.KindTeam, custody.Team{Name: fmt.Sprintf("Мобільна група %d", i+1), Type: "mobile", Localities: ls}))
	}
	nPersons, nSites := n*3/100, n*2/100
	for i := range nPersons {
		role := []string{"victim", "missing", "witness"}[i%3]
		first = append(first, input(custody.KindPerson, custody.Person{Roles: []string{role}, Name: gen.name(), Locality: gen.locality(),
			Notes: "Зі слів родичів, востаннє бачили на вулиці " + gen.pick(bnStreets)}))
	}
	for range nSites {
		l := gen.locality()
		first = append(first, input(custody.KindSite, custody.Site{Name: "Поховання біля вулиці " + gen.pick(bnStreets), Type: gen.pick(bnSiteType),
			Locality: l, Status: "excavation", FoundOn: gen.date(), Description: gen.pick(bnPhrases) + " тут поховані загиблі мешканці."}))
	}
	for i := 0; i < len(first); i += batch {
		recs, err := create(first[i:min(i+batch, len(first))])
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range recs {
			switch r.Kind {
			case custody.KindSite:
				ds.sites = append(ds.sites, r.ID)
			case custody.KindPerson:
				var p custody.Person
				if err := json.Unmarshal(r.Data, &p); err != nil {
					b.Fatal(err)
				}
				if p.Roles[0] == "witness" {
					witnesses = append(witnesses, r.ID)
				} else {
					victims = append(victims, r.ID)
				}
			}
		}
	}
	// Then incidents, remains and testimonies, two batches in flight (one
	// being validated while the other is appended).
	rest := n - len(first)
	nTestimonies := n * 2 / 100
	nRemains := n * 43 / 100
	batches := make(chan []custody.RecordInput, 2)
	var wg sync.WaitGroup
	var errOnce sync.Once
	var loadErr error
	for range 2 {
		wg.Go(func() {
			for in := range batches {
				if _, err := create(in); err != nil {
					errOnce.Do(func() { loadErr = err })
				}
			}
		})
	}
	var cur []custody.RecordInput
	for i := range rest {
		switch k := i % 100; {
		case k < 2 && nTestimonies > 0:
			nTestimonies--
			cur = append(cur, input(custody.KindTestimony, custody.Testimony{Witness: witnesses[gen.r.IntN(len(witnesses))], Interviewer: "Слідчий " + gen.pick(bnLast),
				Date: gen.date(), Locality: gen.locality(), Language: "uk", Consent: custody.Consent{Given: true},
				Transcript: strings.Repeat(gen.pick(bnPhrases)+" окупанти затримали "+gen.name()+" і катували в підвалі на вулиці "+gen.pick(bnStreets)+". ", 5)}))
		case k < 47 && nRemains > 0:
			nRemains--
			// Remains cluster at the sites of the busiest localities: the
			// first sites, more often.
			site := ds.sites[int(gen.zipf.Uint64())%len(ds.sites)]
			cur = append(cur, input(custody.KindRemains, gen.remains(site, victims, i)))
		default:
			cur = append(cur, input(custody.KindIncident, gen.incident()))
		}
		if len(cur) == batch || i == rest-1 {
			batches <- cur
			cur = nil
		}
	}
	close(batches)
	wg.Wait()
	if loadErr != nil {
		b.Fatal(loadErr)
	}
	return ds
}

// queries are the measured queries, with variants.
func (ds *benchData) queries(b testing.TB, e *env) []benchQuery {
	ctx := context.Background()
	svc := e.svc
	list := func(f func(i int) custody.RecordFilter) func(context.Context, int) (int, error) {
		return func(ctx context.Context, i int) (int, error) {
			p, err := svc.Records(ctx, custody.SystemActor, f(i))
			if err != nil {
				return 0, err
			}
			return len(p.Records), nil
		}
	}
	search := func(f func(i int) custody.SearchQuery) func(context.Context, int) (int, error) {
		return func(ctx context.Context, i int) (int, error) {
			hits, err := svc.Search(ctx, custody.SystemActor, f(i))
			return len(hits), err
		}
	}
	top := ds.localities[:20]     // the busiest localities
	mid := ds.localities[200:220] // a few hundred records each
	months := []string{"2022-03", "2022-09", "2023-05", "2024-01"}
	// Deep cursors: the page after some 100,000 incidents, by ID and by date.
	deep := func(f custody.RecordFilter) string {
		f.Limit = 1000
		for range 100 {
			p, err := svc.Records(ctx, custody.SystemActor, f)
			if err != nil {
				b.Fatal(err)
			}
			if p.Next == "" {
				break
			}
			f.After = p.Next
		}
		return f.After
	}
	deepID := deep(custody.RecordFilter{Kind: custody.KindIncident})
	deepDate := deep(custody.RecordFilter{Kind: custody.KindIncident, Sort: "-date"})
	return []benchQuery{
		{"list/kind", list(func(i int) custody.RecordFilter {
			return custody.RecordFilter{Kind: custody.RecordKinds[1+i%5]}
		})},
		{"list/kind+locality", list(func(i int) custody.RecordFilter {
			return custody.RecordFilter{Kind: custody.KindIncident, Locality: top[i%len(top)]}
		})},
		{"list/locality-mid", list(func(i int) custody.RecordFilter {
			return custody.RecordFilter{Locality: mid[i%len(mid)]}
		})},
		{"list/site-remains", list(func(i int) custody.RecordFilter {
			return custody.RecordFilter{Kind: custody.KindRemains, Site: ds.sites[i%50]}
		})},
		{"list/type+month-by-date", list(func(i int) custody.RecordFilter {
			m := months[i%len(months)]
			return custody.RecordFilter{Kind: custody.KindIncident, Type: "strike", From: m, To: m, Sort: "date"}
		})},
		{"list/locality-by-date-desc", list(func(i int) custody.RecordFilter {
			return custody.RecordFilter{Kind: custody.KindIncident, Locality: top[i%len(top)], Sort: "-date"}
		})},
		{"list/deep-cursor-id", list(func(i int) custody.RecordFilter {
			return custody.RecordFilter{Kind: custody.KindIncident, After: deepID}
		})},
		{"list/deep-cursor-date", list(func(i int) custody.RecordFilter {
			return custody.RecordFilter{Kind: custody.KindIncident, Sort: "-date", After: deepDate}
		})},
		{"search/rare-name", search(func(i int) custody.SearchQuery {
			return custody.SearchQuery{Q: bnFirst[i%len(bnFirst)] + " " + bnLast[(i*7)%len(bnLast)] + " " + bnStreets[i%len(bnStreets)]}
		})},
		{"search/unit-number", search(func(i int) custody.SearchQuery {
			return custody.SearchQuery{Q: fmt.Sprintf("в/ч %05d", (i*7919)%100000)}
		})},
		{"search/medium-word", search(func(i int) custody.SearchQuery {
			return custody.SearchQuery{Q: []string{"касетні", "РСЗВ", "пытки", "checkpoint", "дитячому садку", "опіки струму"}[i%6]}
		})},
		{"search/common-word", search(func(i int) custody.SearchQuery {
			return custody.SearchQuery{Q: []string{"вулиці", "підвалі", "удар", "поранено", "Хрест"}[i%5]}
		})},
		{"search/common+locality", search(func(i int) custody.SearchQuery {
			return custody.SearchQuery{Q: "вулиці", Locality: top[i%len(top)]}
		})},
		{"search/common+kind+month", search(func(i int) custody.SearchQuery {
			m := months[i%len(months)]
			return custody.SearchQuery{Q: "катували", Kind: custody.KindIncident, From: m, To: m}
		})},
		{"search/prefix", search(func(i int) custody.SearchQuery {
			return custody.SearchQuery{Q: []string{"Коваленк", "Шевченк", "артилер", "вогнепальн"}[i%4]}
		})},
		{"stats/all", func(ctx context.Context, i int) (int, error) {
			st, err := svc.Stats(ctx, custody.SystemActor, "")
			if err != nil {
				return 0, err
			}
			return st.Bodies, nil
		}},
		{"stats/locality", func(ctx context.Context, i int) (int, error) {
			st, err := svc.Stats(ctx, custody.SystemActor, top[i%len(top)])
			if err != nil {
				return 0, err
			}
			return st.Bodies, nil
		}},
	}
}
