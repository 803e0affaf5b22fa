package evidence_test

import (
	"context"
	"crypto/rand"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/ledger"
	"github.com/google/uuid"
)

// Temporary: load a persistent database for query tuning.
func TestZZLoad(t *testing.T) {
	dsn := os.Getenv("ZZ_DSN")
	if dsn == "" {
		t.Skip()
	}
	n, _ := strconv.Atoi(os.Getenv("ZZ_N"))
	ctx := context.Background()
	e := &env{t: t, dialect: os.Getenv("ZZ_DIALECT"), dsn: dsn, dir: t.TempDir(), clock: newClock()}
	e.storeID = uuid.Must(uuid.NewV7()).String()
	e.origin = "custody.test/" + e.storeID
	var err error
	if e.skey, e.vkey, err = ledger.GenerateKey(rand.Reader, e.origin); err != nil {
		t.Fatal(err)
	}
	e.open()
	if err := e.db.SetMeta(ctx, "store_id", e.storeID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Init(ctx, "test store"); err != nil {
		t.Fatalf("Init: %v", err)
	}
	e.admin, e.adminToken, err = e.svc.CreateUser(ctx, custody.SystemActor, "admin", custody.RoleAdmin, "")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	loadInvestigation(t, e, n)
	t.Logf("loaded %d in %v", n, time.Since(start))
}

func TestZZSettle(t *testing.T) {
	g := gazetteer(t)
	start := time.Now()
	st, _ := newService(t, "sqlite").svc.Stats(context.Background(), "")
	t.Logf("%d settlements; stats in %v", st.LocalitiesTotal, time.Since(start))
	start = time.Now()
	n := 0
	for range 10 {
		var walk func(string)
		walk = func(c string) {
			for _, u := range g.Children(c) {
				n++
				walk(u.Code)
			}
		}
		walk("")
	}
	t.Logf("walk: %v per walk (%d)", time.Since(start)/10, n/10)
}

func TestZZQueries(t *testing.T) {
	dsn := os.Getenv("ZZ_DSN")
	if dsn == "" {
		t.Skip()
	}
	e := &env{t: t, dialect: os.Getenv("ZZ_DIALECT"), dsn: dsn, dir: t.TempDir(), clock: newClock()}
	e.storeID = "x"
	e.origin = "custody.test/x"
	var err error
	if e.skey, e.vkey, err = ledger.GenerateKey(rand.Reader, e.origin); err != nil {
		t.Fatal(err)
	}
	e.open()
	locs := benchLocalities(t)
	rng := mrand.New(mrand.NewPCG(1, 2))
	rng.Shuffle(len(locs), func(i, j int) { locs[i], locs[j] = locs[j], locs[i] })
	ds := &benchData{localities: locs}
	rows, err := e.raw().Query("SELECT id FROM records WHERE kind = 'site' ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ds.sites = append(ds.sites, id)
	}
	rows.Close()
	only := os.Getenv("ZZ_ONLY")
	for _, q := range ds.queries(t, e) {
		if only != "" && !strings.Contains(q.name, only) {
			continue
		}
		var lat []time.Duration
		res := 0
		for i := range 40 {
			t0 := time.Now()
			n, err := q.run(context.Background(), i)
			lat = append(lat, time.Since(t0))
			if err != nil {
				t.Fatal(q.name, err)
			}
			res += n
		}
		slices.Sort(lat)
		t.Logf("%-28s p50 %7.2f ms  p95 %7.2f ms  results %.1f", q.name, float64(lat[20].Microseconds())/1000, float64(lat[38].Microseconds())/1000, float64(res)/40)
	}
}
