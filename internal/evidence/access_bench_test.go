package evidence_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
)

// BenchmarkAccessOverhead measures what the authorisation checks cost on
// list queries at 1,000,000 records (CUSTODY_BENCH_RECORDS to change it):
// sites, remains and incidents spread over 100 teams' compartments (a
// tenth general), read side by side, query by query, by an administrator
// (no check: every compartment) and by an investigator who is a member of
// all 100 teams — the same answers, so the difference is the checks (one
// index probe of the compartments per row considered, with 100 granted
// compartments in the IN list). It reports the median and 95th percentile
// of each, and their ratio (checked / unchecked):
//
//	CUSTODY_BENCH_BIG=1 go test -run '^$' -bench BenchmarkAccessOverhead -benchtime 400x -timeout 2h ./internal/evidence/
//
// A third reader, a member of 2 teams, is reported alone: it sees a fifth
// of the records, so its figures are not an overhead but what need-to-know
// costs a narrow user (its pages reach further back to fill).
// Skipped under -short and unless CUSTODY_BENCH_BIG=1.
func BenchmarkAccessOverhead(b *testing.B) {
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
			ds, broad, narrow := loadCompartmented(b, e, n)
			b.Logf("%s: loaded %d records in 100 compartments in %v", dialect, n, time.Since(start).Round(time.Second))
			if dialect == "postgres" {
				if _, err := e.raw().Exec(`VACUUM ANALYZE`); err != nil {
					b.Fatal(err)
				}
			}
			top := ds.localities[:20]
			months := []string{"2022-03", "2022-09", "2023-05", "2024-01"}
			queries := []struct {
				name string
				f    func(i int) custody.RecordFilter
			}{
				{"kind", func(i int) custody.RecordFilter {
					return custody.RecordFilter{Kind: []string{custody.KindSite, custody.KindRemains, custody.KindIncident}[i%3]}
				}},
				{"kind+locality", func(i int) custody.RecordFilter {
					return custody.RecordFilter{Kind: custody.KindIncident, Locality: top[i%len(top)]}
				}},
				{"site-remains", func(i int) custody.RecordFilter {
					return custody.RecordFilter{Kind: custody.KindRemains, Site: ds.sites[i%50]}
				}},
				{"type+month-by-date", func(i int) custody.RecordFilter {
					m := months[i%len(months)]
					return custody.RecordFilter{Kind: custody.KindIncident, Type: "strike", From: m, To: m, Sort: "date"}
				}},
				{"locality-by-date-desc", func(i int) custody.RecordFilter {
					return custody.RecordFilter{Kind: custody.KindIncident, Locality: top[i%len(top)], Sort: "-date"}
				}},
			}
			ctx := context.Background()
			for _, q := range queries {
				b.Run(q.name, func(b *testing.B) {
					var plain, checked []time.Duration
					i := 0
					for b.Loop() {
						f := q.f(i)
						t0 := time.Now()
						p1, err := e.svc.Records(ctx, e.admin, f)
						t1 := time.Now()
						p2, err2 := e.svc.Records(ctx, broad, f)
						t2 := time.Now()
						if err != nil || err2 != nil {
							b.Fatal(err, err2)
						}
						if !slices.Equal(ids(p1.Records), ids(p2.Records)) {
							b.Fatalf("%s: the member of every team saw other records than the admin", q.name)
						}
						plain, checked = append(plain, t1.Sub(t0)), append(checked, t2.Sub(t1))
						i++
					}
					p50a, p95a := percentiles(plain)
					p50b, p95b := percentiles(checked)
					b.ReportMetric(p50a, "admin-p50-ms")
					b.ReportMetric(p50b, "checked-p50-ms")
					b.ReportMetric(p95b, "checked-p95-ms")
					b.ReportMetric(p50b/p50a, "ratio-p50")
					b.ReportMetric(p95b/p95a, "ratio-p95")
				})
				b.Run(q.name+"/narrow", func(b *testing.B) {
					var lat []time.Duration
					i := 0
					for b.Loop() {
						t0 := time.Now()
						if _, err := e.svc.Records(ctx, narrow, q.f(i)); err != nil {
							b.Fatal(err)
						}
						lat = append(lat, time.Since(t0))
						i++
					}
					p50, p95 := percentiles(lat)
					b.ReportMetric(p50, "p50-ms")
					b.ReportMetric(p95, "p95-ms")
				})
			}
		})
	}
}

func percentiles(lat []time.Duration) (float64, float64) {
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds()) / 1000
	}
	return pct(0.5), pct(0.95)
}

// loadCompartmented loads n records: 100 teams, sites (2%), remains (43%)
// and incidents, 90% of them each in one team's compartment, the rest
// general. It returns an investigator who is a member of every team and
// one who is a member of two.
func loadCompartmented(b testing.TB, e *env, n int) (*benchData, *custody.User, *custody.User) {
	b.Helper()
	ctx := context.Background()
	broad := e.user("broad", custody.RoleInvestigator)
	narrow := e.user("narrow", custody.RoleInvestigator)
	locs := benchLocalities(b)
	rng := rand.New(rand.NewPCG(3, 4))
	rng.Shuffle(len(locs), func(i, j int) { locs[i], locs[j] = locs[j], locs[i] })
	gen := &benchGen{r: rng, localities: locs, zipf: rand.NewZipf(rng, 1.1, 5, uint64(len(locs)-1))}
	ds := &benchData{localities: locs}
	input := func(kind string, v any, comp string) custody.RecordInput {
		raw, err := json.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		in := custody.RecordInput{Kind: kind, Data: raw}
		if comp != "" {
			in.Compartments = []string{comp}
		}
		return in
	}
	var teams []custody.RecordInput
	for i := range 100 {
		members := []custody.Member{{Name: "Broad", Role: "police", User: "broad"}}
		if i < 2 {
			members = append(members, custody.Member{Name: "Narrow", Role: "police", User: "narrow"})
		}
		teams = append(teams, input(custody.KindTeam, custody.Team{Name: fmt.Sprintf("Група %d", i+1), Type: "mobile", Members: members}, ""))
	}
	recs, err := e.svc.CreateRecords(ctx, e.admin, teams)
	if err != nil {
		b.Fatal(err)
	}
	team := func(i int) string {
		if i%10 == 9 {
			return "" // general
		}
		return recs[i%100].ID
	}
	const batch = 5000
	var cur []custody.RecordInput
	flush := func() {
		if len(cur) == 0 {
			return
		}
		out, err := e.svc.CreateRecords(ctx, e.admin, cur)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range out {
			if r.Kind == custody.KindSite {
				ds.sites = append(ds.sites, r.ID)
			}
		}
		cur = cur[:0]
	}
	nSites := n * 2 / 100
	for i := range nSites {
		cur = append(cur, input(custody.KindSite, custody.Site{Name: "Поховання біля вулиці " + gen.pick(bnStreets), Type: gen.pick(bnSiteType),
			Locality: gen.locality(), Status: "excavation", FoundOn: gen.date()}, team(i)))
		if len(cur) == batch {
			flush()
		}
	}
	flush()
	for i := range n - nSites - len(teams) {
		if i%100 < 43 {
			site := ds.sites[int(gen.zipf.Uint64())%len(ds.sites)]
			cur = append(cur, input(custody.KindRemains, gen.remains(site, nil, i), team(i)))
		} else {
			cur = append(cur, input(custody.KindIncident, gen.incident(), team(i)))
		}
		if len(cur) == batch {
			flush()
		}
	}
	flush()
	return ds, broad, narrow
}
