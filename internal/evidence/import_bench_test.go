package evidence_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
)

// BenchmarkImport measures record import as custody import does it:
// CreateRecords of batches of 5,000, one after the other, into a fresh
// store. The records are those of loadInvestigation — 53% incidents, 45%
// remains (at sites, some identified), 2% testimonies (of witnesses, a
// third of them protected) — 50,000 by default (CUSTODY_BENCH_IMPORT to
// change it). The persons and sites they refer to are created first,
// outside the measurement. It reports records/s:
//
//	go test -run '^$' -bench BenchmarkImport -benchtime 3x ./internal/evidence/
//
// With CUSTODY_TEST_POSTGRES set, PostgreSQL too.
func BenchmarkImport(b *testing.B) { benchImport(b, 1) }

// BenchmarkImportPipelined is BenchmarkImport with two batches in flight,
// one validated by CreateRecords while the other is appended (what
// custody import would gain by overlapping them):
//
//	go test -run '^$' -bench BenchmarkImportPipelined -benchtime 3x ./internal/evidence/
func BenchmarkImportPipelined(b *testing.B) { benchImport(b, 2) }

func benchImport(b *testing.B, inflight int) {
	n := 50_000
	if testing.Short() {
		n = 10_000
	}
	if s := os.Getenv("CUSTODY_BENCH_IMPORT"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1000 {
			b.Fatalf("CUSTODY_BENCH_IMPORT=%q: want a number of records, at least 1000", s)
		}
	}
	locs := benchLocalities(b)
	for _, dialect := range sqltest.Dialects(b) {
		b.Run(dialect, func(b *testing.B) {
			ctx := context.Background()
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				e := newService(b, dialect)
				batches := importSetup(b, e, locs, n)
				b.StartTimer()
				t0 := time.Now()
				ch := make(chan []custody.RecordInput)
				errs := make(chan error, inflight)
				for range inflight {
					go func() {
						var err error
						for in := range ch {
							if err == nil {
								_, err = e.svc.CreateRecords(ctx, e.admin, in)
							}
						}
						errs <- err
					}()
				}
				for _, in := range batches {
					ch <- in
				}
				close(ch)
				for range inflight {
					if err := <-errs; err != nil {
						b.Fatal(err)
					}
				}
				total += time.Since(t0)
				b.StopTimer()
				e.db.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "records/s")
		})
	}
}

// TestImportMatchesReplay imports the benchmark's records in batches (the
// append path hands the parsed records to the projection, which writes
// SQLite rows through prepared statements), with updates, and requires the
// index to equal a replay of the log, row by row.
func TestImportMatchesReplay(t *testing.T) {
	locs := benchLocalities(t)
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		var last []*custody.Record
		in := importSetup(t, e, locs, 2400)[0]
		for len(in) > 0 {
			recs, err := e.svc.CreateRecords(ctx, e.admin, in[:min(len(in), 800)])
			if err != nil {
				t.Fatal(err)
			}
			last, in = recs, in[len(recs):]
		}
		for _, r := range last[:20] {
			data := strings.Replace(string(r.Data), "{", `{"notes":"виправлено: номер могили",`, 1)
			if r.Kind != custody.KindRemains {
				continue
			}
			if _, err := e.svc.UpdateRecord(ctx, e.admin, custody.RecordInput{ID: r.ID, Base: 1, Data: json.RawMessage(data), Reason: "corrected"}); err != nil {
				t.Fatal(err)
			}
		}
		e.publish()
		live := dump(t, e.db)
		if len(live["records"]) < 2000 || len(live["person_identity"]) != 300 {
			t.Fatalf("dump: %d records, %d identities", len(live["records"]), len(live["person_identity"]))
		}
		into := freshDB(t, dialect)
		if _, err := e.svc.RebuildInto(ctx, into, nil); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(live, dump(t, into)); diff != "" {
			t.Errorf("rebuilt index differs:\n%s", diff)
		}
	})
}

// importSetup creates the persons and sites the import refers to and
// returns the import's batches.
func importSetup(b testing.TB, e *env, locs []string, n int) [][]custody.RecordInput {
	b.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	gen := &benchGen{r: rng, localities: locs, zipf: rand.NewZipf(rng, 1.1, 5, uint64(len(locs)-1))}
	input := func(kind string, v any) custody.RecordInput {
		raw, err := json.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		return custody.RecordInput{Kind: kind, Data: raw}
	}
	var setup []custody.RecordInput
	for i := range 300 {
		p := custody.Person{Roles: []string{[]string{"victim", "witness"}[i%2]}, Name: gen.name(), Locality: gen.locality()}
		if i%6 == 1 {
			p.Protection = "medium"
		}
		setup = append(setup, input(custody.KindPerson, p))
	}
	for range 200 {
		setup = append(setup, input(custody.KindSite, custody.Site{Name: "Поховання біля вулиці " + gen.pick(bnStreets), Type: gen.pick(bnSiteType),
			Locality: gen.locality(), Status: "excavation", FoundOn: gen.date()}))
	}
	recs, err := e.svc.CreateRecords(ctx, e.admin, setup)
	if err != nil {
		b.Fatal(err)
	}
	var victims, witnesses, sites []string
	for i, r := range recs {
		switch {
		case r.Kind == custody.KindSite:
			sites = append(sites, r.ID)
		case i%2 == 1:
			witnesses = append(witnesses, r.ID)
		default:
			victims = append(victims, r.ID)
		}
	}
	const batch = 5000
	var out [][]custody.RecordInput
	var cur []custody.RecordInput
	for i := range n {
		switch k := i % 100; {
		case k < 2:
			cur = append(cur, input(custody.KindTestimony, custody.Testimony{Witness: witnesses[gen.r.IntN(len(witnesses))], Interviewer: "Слідчий " + gen.pick(bnLast),
				Date: gen.date(), Locality: gen.locality(), Language: "uk", Consent: custody.Consent{Given: true},
				Transcript: strings.Repeat(gen.pick(bnPhrases)+" окупанти затримали "+gen.name()+" і катували в підвалі на вулиці "+gen.pick(bnStreets)+". ", 5)}))
		case k < 47:
			cur = append(cur, input(custody.KindRemains, gen.remains(sites[int(gen.zipf.Uint64())%len(sites)], victims, i)))
		default:
			cur = append(cur, input(custody.KindIncident, gen.incident()))
		}
		if len(cur) == batch || i == n-1 {
			out = append(out, cur)
			cur = nil
		}
	}
	if len(out) == 0 {
		b.Fatal(fmt.Errorf("no batches"))
	}
	return out
}
