package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
)

func TestMapAndDashboard(t *testing.T) {
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{dialect: dialect})
			site := e.seedSite(t)
			c := e.signedIn("o.kovalenko", investigatorPass)

			// Few records: each is a point with its link.
			r := c.get("/map")
			wantStatus(t, r, http.StatusOK)
			if !strings.Contains(r.body, `<svg xmlns="http://www.w3.org/2000/svg" class="geo-map"`) || !strings.Contains(r.body, `href="/records/`+site+`"`) {
				t.Fatalf("map without the site's point:\n%.3000s", r.body)
			}
			if n := strings.Count(r.body, `<path class="oblast`); n != 27 {
				t.Errorf("%d oblasts drawn, want 27", n)
			}

			// Many: clustered in the database, clusters zoom in.
			rng := rand.New(rand.NewPCG(3, 4))
			var in []custody.RecordInput
			for i := range 2500 {
				typ := "strike"
				if i%5 == 0 {
					typ = "killing"
				}
				in = append(in, custody.RecordInput{Kind: custody.KindIncident, Data: json.RawMessage(fmt.Sprintf(
					`{"type":%q,"time":"2022-%02d-10","precision":"day","locality":"UA63040090010029555","location":{"lat":%.5f,"lon":%.5f},"killed_confirmed":2,"killed_estimated":1}`,
					typ, 3+i%9, 49+rng.Float64(), 36+rng.Float64()*1.5))})
			}
			if _, err := e.svc.CreateRecords(context.Background(), e.inv, in); err != nil {
				t.Fatal(err)
			}
			// Changes made elsewhere (the API, another process) are counted
			// again at once when the cached figures are older than
			// StatsTTL + MaxStale (see TestFiguresRefresh for the rest).
			e.clock.advance(2 * time.Minute)
			r = c.get("/map")
			wantStatus(t, r, http.StatusOK)
			if !strings.Contains(r.body, `class="cluster kind-incident"`) || !strings.Contains(r.body, "2,501 records in view") {
				t.Errorf("no clusters or wrong count:\n%s", regexp.MustCompile(`(?s)<p class="map-summary".*?</p>`).FindString(r.body))
			}
			if !regexp.MustCompile(`<a href="/map\?lat=[0-9.]+&amp;lon=[0-9.]+&amp;z=2">`).MatchString(r.body) {
				t.Error("clusters do not zoom in")
			}
			r = c.get("/map?kind=incident&type=killing")
			if !strings.Contains(r.body, "500 records in view") {
				t.Errorf("type filter:\n%s", regexp.MustCompile(`(?s)<p class="map-summary".*?</p>`).FindString(r.body))
			}
			r = c.get("/map?kind=site&from=2022-09-01&to=2022-09-30")
			if !strings.Contains(r.body, "1 records in view") {
				t.Errorf("date filter:\n%s", regexp.MustCompile(`(?s)<p class="map-summary".*?</p>`).FindString(r.body))
			}
			r = c.get("/map/view?z=9&lat=49.5&lon=36.7")
			wantStatus(t, r, http.StatusOK)
			if strings.Contains(r.body, "<html") || !strings.Contains(r.body, "geo-map") {
				t.Error("the map fragment is not the map alone")
			}
			wantStatus(t, c.get("/map?z=99&lat=nonsense&lon=1e999&from=yesterday"), http.StatusOK)

			// The dashboard counts them.
			r = c.get("/")
			for _, want := range []string{"5,000", "Deaths by locality", "Izium, Kharkivska oblast", "Incidents by type and month", "Sep 2022"} {
				if !strings.Contains(r.body, want) {
					t.Errorf("dashboard lacks %q", want)
				}
			}
			if !strings.Contains(r.body, `role="img" aria-labelledby="deaths-t deaths-d"`) || !strings.Contains(r.body, "<caption") {
				t.Error("charts lack their accessible title or table")
			}
		})
	}
}

// Figures cached before a change made elsewhere: served as they are for
// StatsTTL, then served while one background recount runs, then fresh.
func TestFiguresRefresh(t *testing.T) {
	e := newEnv(t)
	site := e.seedSite(t)
	c := e.signedIn("o.kovalenko", investigatorPass)
	count := func() string {
		r := c.get("/")
		return regexp.MustCompile(`<li class="tile t-bodies"><a href="/records\?kind=remains"><span class="value">(\d+)</span>`).FindStringSubmatch(r.body)[1]
	}
	if n := count(); n != "0" {
		t.Fatalf("bodies: %s", n)
	}
	if _, err := e.svc.CreateRecords(context.Background(), e.inv, []custody.RecordInput{{Kind: custody.KindRemains,
		Data: json.RawMessage(`{"site":"` + site + `","body":"1"}`)}}); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != "0" {
		t.Errorf("within StatsTTL: %s, want the cached 0", n)
	}
	e.clock.advance(10 * time.Second)
	if n := count(); n != "0" {
		t.Errorf("first read after StatsTTL: %s, want the cached 0 while it is recounted", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for count() != "1" {
		if time.Now().After(deadline) {
			t.Fatal("the background recount never showed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
