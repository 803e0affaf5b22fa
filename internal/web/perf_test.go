package web_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/evidence"
	"github.com/custody-dev/custody/internal/locality"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
)

// TestScale measures the dashboard and the map with many records in the
// store (CUSTODY_WEB_RECORDS, e.g. 1000000; skipped when unset): time to
// first byte and to the end of the page for the first request (nothing
// cached) and for repeated ones, and, when chromium is installed, the full
// load in a real browser (navigation timing: the page, its CSS and script,
// and the load event). Records are created through CreateRecords in
// batches of 10,000: sites, incidents and remains with positions spread
// over Kharkiv oblast. CUSTODY_WEB_DIALECT=postgres runs it on PostgreSQL.
//
//	CUSTODY_WEB_RECORDS=1000000 go test -run TestScale -timeout 3h -v ./internal/web/
func TestScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CUSTODY_WEB_RECORDS"))
	if n <= 0 {
		t.Skip("set CUSTODY_WEB_RECORDS to the number of records to load")
	}
	dialect := os.Getenv("CUSTODY_WEB_DIALECT")
	if dialect == "" {
		dialect = "sqlite"
	} else {
		sqltest.Dialects(t)
	}
	e := newEnv(t, envOptions{dialect: dialect, realClock: true})
	if !e.reused {
		start := time.Now()
		loadRecords(t, e, n)
		load := time.Since(start)
		t.Logf("loaded %d records in %v (%.0f records/s) on %s", n, load.Round(time.Second), float64(n)/load.Seconds(), dialect)
		if dialect == "postgres" {
			// What autovacuum does after a bulk load, before anyone reads:
			// planner statistics and the visibility map (index-only scans).
			raw, err := sql.Open("pgx", e.dsn)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(`VACUUM ANALYZE`); err != nil {
				t.Fatal(err)
			}
			raw.Close()
		}
	}
	t0 := time.Now()
	st, err := e.svc.Stats(context.Background(), custody.SystemActor, "")
	if err != nil {
		t.Fatal(err)
	}
	statsTime := time.Since(t0)
	t0 = time.Now()
	cells, err := e.svc.MapCells(context.Background(), custody.SystemActor, evidence.MapFilter{Kinds: []string{"site", "incident"}, MinLat: 43, MaxLat: 53, MinLon: 21, MaxLon: 41}, 0.625, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("service calls: Stats %.1f ms; MapCells of the whole country %.1f ms (%d cells)", ms(statsTime), ms(time.Since(t0)), len(cells))
	total := 0
	for _, n := range st.Records {
		total += n
	}
	t.Logf("the store holds %d records: %v", total, st.Records)
	pages := []string{"/", "/map", "/map?z=4&lat=49.6&lon=36.6", "/map?z=10&lat=49.99&lon=36.23", "/map?kind=incident&type=killing",
		"/records?kind=remains", "/search?q=" + "ligature"}
	for _, p := range pages {
		// First: a new server, nothing cached. Then the same server again.
		c := e.fresh("o.kovalenko", investigatorPass)
		cold := c.timed(p)
		var warm []time.Duration
		var warmTotal []time.Duration
		for range 5 {
			r := c.timed(p)
			warm = append(warm, r.ttfb)
			warmTotal = append(warmTotal, r.total)
		}
		slices.Sort(warm)
		slices.Sort(warmTotal)
		t.Logf("%-36s first: TTFB %6.1f ms, page %6.1f ms, %4d KB | repeated (median of 5): TTFB %6.1f ms, page %6.1f ms",
			p, ms(cold.ttfb), ms(cold.total), cold.size/1024, ms(warm[2]), ms(warmTotal[2]))
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil || os.Getenv("CUSTODY_CHROMIUM") != "" {
		browserLoad(t, e, []string{"/", "/map"})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

type timing struct {
	ttfb, total time.Duration
	size        int
}

// timed fetches a page and times its first byte and its end.
func (c *client) timed(path string) timing {
	c.t.Helper()
	var first time.Time
	trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { first = time.Now() }}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, c.e.srv.URL+path, nil)
	req.Header.Set("Accept-Language", "uk")
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	end := time.Now()
	if err != nil || resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return timing{ttfb: first.Sub(start), total: end.Sub(start), size: len(b)}
}

// browserLoad signs in with chromium and reports each page's navigation
// timing, the first load (cold browser cache) and a reload.
func browserLoad(t *testing.T, e *env, pages []string) {
	ctx := browser(t)
	step(t, ctx, "sign in", chromedp.Navigate(e.srv.URL+"/signin"),
		chromedp.SendKeys(chromedp.ID("name"), "o.kovalenko"),
		chromedp.SendKeys(chromedp.ID("password"), investigatorPass),
		chromedp.Click(chromedp.ID("signin-submit")),
		chromedp.WaitVisible(chromedp.CSS(".tiles")))
	for _, p := range pages {
		for _, what := range []string{"first", "again"} {
			step(t, ctx, "load "+p, chromedp.Navigate(e.srv.URL+p), chromedp.WaitVisible(chromedp.CSS("footer")))
			raw := run(t, ctx, "timing", chromedp.Evaluate[string](`new Promise(r => { const f = () => { const n = performance.getEntriesByType("navigation")[0]; if (n.loadEventEnd > 0) r(JSON.stringify(n)); else setTimeout(f, 10); }; f(); })`, chromedp.EvalAwaitPromise))
			var nt struct {
				RequestStart, ResponseStart, ResponseEnd, DomContentLoadedEventEnd, LoadEventEnd float64
				TransferSize, DecodedBodySize                                                    float64
			}
			if err := json.Unmarshal([]byte(raw), &nt); err != nil {
				t.Fatal(err)
			}
			t.Logf("chromium %-6s %-4s TTFB %6.1f ms, HTML %6.1f ms, DOM ready %6.1f ms, load %6.1f ms (HTML %d KB)", what, p,
				nt.ResponseStart-nt.RequestStart, nt.ResponseEnd, nt.DomContentLoadedEventEnd, nt.LoadEventEnd, int(nt.DecodedBodySize)/1024)
		}
	}
}

// loadRecords creates n records through the service, in batches of
// 10,000: a tenth sites, the rest about half incidents and half remains of
// those sites, spread over Kharkiv oblast's settlements.
func loadRecords(t testing.TB, e *env, n int) {
	t.Helper()
	g, err := loadGazetteer()
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	var walk func(string)
	walk = func(code string) {
		for _, u := range g.Children(code) {
			if u.Category == locality.Village || u.Category == locality.City || u.Category == locality.UrbanSettlement {
				codes = append(codes, u.Code)
			}
			walk(u.Code)
		}
	}
	walk("UA63000000000041885") // Kharkiv oblast
	if len(codes) == 0 {
		t.Fatal("no settlements in Kharkiv oblast")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	const batch = 10000
	for done := 0; done < n; {
		size := min(batch, n-done)
		in := make([]custody.RecordInput, 0, size)
		sites := size / 10
		for i := 0; i < sites; i++ {
			lat, lon := 49.0+rng.Float64()*1.5, 35.5+rng.Float64()*2.5
			in = append(in, custody.RecordInput{Kind: custody.KindSite, Data: json.RawMessage(fmt.Sprintf(
				`{"name":"Site %d","type":%q,"locality":%q,"status":"excavation","location":{"point":{"lat":%.5f,"lon":%.5f}},"found_on":"2022-%02d-%02d"}`,
				done+i, custody.SiteTypes[rng.IntN(len(custody.SiteTypes))], codes[rng.IntN(len(codes))], lat, lon, 3+rng.IntN(9), 1+rng.IntN(28)))})
		}
		recs, err := e.svc.CreateRecords(ctx, e.inv, in)
		if err != nil {
			t.Fatalf("create sites: %v", err)
		}
		siteIDs := make([]string, len(recs))
		for i, r := range recs {
			siteIDs[i] = r.ID
		}
		in = in[:0]
		for i := sites; i < size; i++ {
			if i%2 == 0 {
				lat, lon := 49.0+rng.Float64()*1.5, 35.5+rng.Float64()*2.5
				in = append(in, custody.RecordInput{Kind: custody.KindIncident, Data: json.RawMessage(fmt.Sprintf(
					`{"type":%q,"time":"%d-%02d-%02d","precision":"day","locality":%q,"location":{"lat":%.5f,"lon":%.5f},"killed_confirmed":%d,"killed_estimated":%d}`,
					custody.IncidentTypes[rng.IntN(len(custody.IncidentTypes)-1)], 2022+rng.IntN(3), 1+rng.IntN(12), 1+rng.IntN(28),
					codes[rng.IntN(len(codes))], lat, lon, rng.IntN(4), rng.IntN(3)))})
				continue
			}
			torture := ""
			if rng.IntN(3) == 0 {
				torture = fmt.Sprintf(`,"torture":[{"sign":"ligature marks on both wrists","grade":%q}]`, custody.IstanbulGrades[rng.IntN(5)])
			}
			in = append(in, custody.RecordInput{Kind: custody.KindRemains, Data: json.RawMessage(fmt.Sprintf(
				`{"site":%q,"grave":"%d","body":"%d","sex":"male"%s}`, siteIDs[rng.IntN(len(siteIDs))], i, done+i, torture))})
		}
		if _, err := e.svc.CreateRecords(ctx, e.inv, in); err != nil {
			t.Fatalf("create records: %v", err)
		}
		done += size
		if done%100000 == 0 {
			t.Logf("%d records", done)
		}
	}
}
