package demo_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/blobstore"
	"github.com/custody-dev/custody/internal/demo"
	"github.com/custody-dev/custody/internal/evidence"
	"github.com/custody-dev/custody/internal/ledger"
	"github.com/custody-dev/custody/internal/locality"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

var loadGazetteer = sync.OnceValues(locality.Load)

// store is a fresh SQLite store with a service that checks locality codes
// against the codifier, an administrator to generate as, and the demo's
// investigator and reviewer.
type store struct {
	svc      *evidence.Service
	db       *sqlstore.DB
	actor    *custody.User
	inv      *custody.User
	reviewer *custody.User
}

// demoOptions are the options of seed with the store's demo users.
func demoOptions(seed uint64) demo.Options {
	return demo.Options{Seed: seed, Investigator: "demo", Reviewer: "reviewer"}
}

func newStore(t *testing.T) *store {
	t.Helper()
	ctx := context.Background()
	g, err := loadGazetteer()
	if err != nil {
		t.Fatalf("load gazetteer: %v", err)
	}
	dir := t.TempDir()
	db, err := sqlstore.Open(ctx, sqltest.DSN(t, "sqlite"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, err := blobstore.NewFS(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := blobstore.NewFSObjects(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := blobstore.NewFSObjects(filepath.Join(dir, "private"))
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.Must(uuid.NewV7()).String()
	origin := "custody.test/" + id
	skey, vkey, err := ledger.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := evidence.New(evidence.Config{StoreID: id, Origin: origin, SignerKey: skey, VerifierKey: vkey,
		DB: db, Blobs: blobs, Public: pub, Private: priv, Localities: g})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetMeta(ctx, "store_id", id); err != nil {
		t.Fatal(err)
	}
	if err := svc.Init(ctx, "demo test"); err != nil {
		t.Fatal(err)
	}
	admin, _, err := svc.CreateUser(ctx, custody.SystemActor, "admin", custody.RoleAdmin, "")
	if err != nil {
		t.Fatal(err)
	}
	inv, _, err := svc.CreateUser(ctx, admin, "demo", custody.RoleInvestigator, "")
	if err != nil {
		t.Fatal(err)
	}
	rev, _, err := svc.CreateUser(ctx, admin, "reviewer", custody.RoleReviewer, "")
	if err != nil {
		t.Fatal(err)
	}
	return &store{svc: svc, db: db, actor: admin, inv: inv, reviewer: rev}
}

// records returns every record in creation order, as the index holds it:
// protected witnesses' names not replaced by their pseudonyms (which
// derive from each store's random nonces, not from the seed).
func (s *store) records(t *testing.T) []*custody.Record {
	t.Helper()
	var out []*custody.Record
	f := custody.RecordFilter{Limit: 1000}
	for {
		page, err := s.db.ListRecords(context.Background(), f, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Records...)
		if page.Next == "" {
			return out
		}
		f.After = page.Next
	}
}

// items returns every item in intake order.
func (s *store) items(t *testing.T) []*custody.Item {
	t.Helper()
	var out []*custody.Item
	f := custody.ItemFilter{Limit: 1000}
	for {
		page, err := s.svc.Items(context.Background(), custody.SystemActor, f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if len(page) < f.Limit {
			return out
		}
		f.After = page[len(page)-1].ID
	}
}

// generated is a store holding the dataset of one seed.
type generated struct {
	*store
	sum     demo.Summary
	elapsed time.Duration
}

// generateAll generates the dataset of each seed into its own fresh
// store, concurrently.
func generateAll(t *testing.T, seeds ...uint64) []*generated {
	t.Helper()
	out := make([]*generated, len(seeds))
	errs := make([]error, len(seeds))
	var wg sync.WaitGroup
	for i, seed := range seeds {
		out[i] = &generated{store: newStore(t)}
		wg.Go(func() {
			g := out[i]
			start := time.Now()
			g.sum, errs[i] = demo.Generate(context.Background(), g.svc, g.actor, demoOptions(seed))
			g.elapsed = time.Since(start)
		})
	}
	wg.Wait()
	for i, g := range out {
		if errs[i] != nil {
			t.Fatalf("Generate seed %d: %v", seeds[i], errs[i])
		}
		t.Logf("seed %d: %d records, %d items, %d handovers, %d updates in %v", seeds[i], g.sum.Records(), g.sum.Items,
			g.sum.Handovers, g.sum.Updates, g.elapsed.Round(time.Millisecond))
	}
	return out
}

// TestGenerate generates the dataset of seed 1, twice (at once, to compare
// them), and checks it from several sides.
func TestGenerate(t *testing.T) {
	gs := generateAll(t, 1, 1)
	g := gs[0]
	t.Run("Counts", func(t *testing.T) { testCounts(t, g) })
	t.Run("Valid", func(t *testing.T) { testValid(t, g) })
	t.Run("NoRealNames", func(t *testing.T) { testNoRealNames(t, g) })
	t.Run("Deterministic", func(t *testing.T) { testDeterministic(t, g, gs[1]) })
	t.Run("Compartments", func(t *testing.T) { testCompartments(t, g) })
	t.Run("SecondRunConflicts", func(t *testing.T) { testSecondRun(t, g) })
}

func testCounts(t *testing.T, g *generated) {
	sum := g.sum
	recs := g.records(t)
	if len(recs) != sum.Records() {
		t.Errorf("%d records in the store, summary says %d", len(recs), sum.Records())
	}
	kinds := map[string]int{}
	siteRemains := map[string]int{}
	var teams, mobile, thematic int
	graves := map[string]bool{}
	commingled := 0
	statuses := map[string]int{}
	torture := 0
	for _, r := range recs {
		kinds[r.Kind]++
		switch r.Kind {
		case custody.KindRemains:
			var rm custody.Remains
			mustUnmarshal(t, r.Data, &rm)
			siteRemains[rm.Site]++
			if rm.Site == sum.BurialSite {
				graves[rm.Grave] = true
				if rm.Commingled && rm.MNI > 1 {
					commingled++
				}
				statuses[rm.Identification.Status]++
				for _, f := range rm.Torture {
					if f.Grade != "not_consistent" {
						torture++
						break
					}
				}
			}
		case custody.KindTeam:
			var tm custody.Team
			mustUnmarshal(t, r.Data, &tm)
			teams++
			switch tm.Type {
			case "mobile":
				mobile++
			case "thematic":
				thematic++
			}
		}
	}
	if n := siteRemains[sum.BurialSite]; n < 440 || n > 460 {
		t.Errorf("%d remains at the burial site, want about 450", n)
	}
	if len(graves) != demo.BurialGraves || sum.Graves != demo.BurialGraves {
		t.Errorf("%d distinct graves (summary %d), want %d", len(graves), sum.Graves, demo.BurialGraves)
	}
	if n := siteRemains[sum.Building]; n != 47 {
		t.Errorf("%d bodies at the building, want 47", n)
	}
	if teams != 28 || mobile != 23 || thematic != 5 {
		t.Errorf("teams %d (mobile %d, thematic %d), want 28 (23, 5)", teams, mobile, thematic)
	}
	if commingled < 2 {
		t.Errorf("%d commingled graves with MNI > 1, want a few", commingled)
	}
	if statuses["identified"] < statuses["presumptive"] || statuses["presumptive"] == 0 || statuses["unidentified"] == 0 {
		t.Errorf("identification statuses %v: want mostly identified, some presumptive and unidentified", statuses)
	}
	if torture < 10 || torture > 80 {
		t.Errorf("%d bodies with signs of torture at the burial site, want a portion", torture)
	}
	if sum.Cases < 3 || sum.Cases > 5 || kinds[custody.KindCase] != sum.Cases {
		t.Errorf("cases %d (store %d), want 3-5", sum.Cases, kinds[custody.KindCase])
	}
	for _, k := range custody.RecordKinds {
		if kinds[k] == 0 {
			t.Errorf("no %s records", k)
		}
	}
	items := g.items(t)
	if len(items) != sum.Items || len(items) < 24 || len(items) > 100 {
		t.Errorf("%d items (summary %d), want a few dozen", len(items), sum.Items)
	}
	types := map[string]int{}
	for _, it := range items {
		if it.Kind == custody.KindPhysical {
			types["physical"]++
		} else {
			types[it.MediaType]++
		}
		if it.Duplicate {
			t.Errorf("item %s (%s) duplicates another's content", it.ID, it.Name)
		}
		if it.Collector == "" || it.CollectedAt == "" || it.Case == "" {
			t.Errorf("item %s (%s) lacks collector, time or case", it.ID, it.Name)
		}
	}
	for _, mt := range []string{"image/png", "audio/wav", "application/pdf", "text/plain; charset=utf-8", "physical"} {
		if types[mt] == 0 {
			t.Errorf("no %s items (have %v)", mt, types)
		}
	}
	st, err := g.svc.Stats(context.Background(), custody.SystemActor, "")
	if err != nil {
		t.Fatal(err)
	}
	if st.Bodies != sum.Bodies || st.Bodies < 490 {
		t.Errorf("stats: %d bodies, summary %d", st.Bodies, sum.Bodies)
	}
	if sum.Handovers == 0 || sum.Updates == 0 {
		t.Errorf("handovers %d, updates %d", sum.Handovers, sum.Updates)
	}
}

// testValid checks every record against the domain's validation, with no
// warnings, and the whole store with Verify.
func testValid(t *testing.T, g *generated) {
	ctx := context.Background()
	gz, _ := loadGazetteer()
	for _, r := range g.records(t) {
		_, f, err := custody.ParseRecordData(r.Kind, r.Data)
		if err != nil {
			t.Errorf("%s %s: %v", r.Kind, r.ID, err)
			continue
		}
		if len(f.Warnings) > 0 {
			t.Errorf("%s %s: warnings %v", r.Kind, r.ID, f.Warnings)
		}
		for _, ref := range f.Refs {
			if ref.Target == "locality" {
				if _, ok := gz.Get(ref.ID); !ok {
					t.Errorf("%s %s: %s names unknown locality %s", r.Kind, r.ID, ref.Field, ref.ID)
				}
			}
		}
		if r.Kind == custody.KindLocality {
			if !strings.Contains(string(r.Data), "ynthetic") {
				t.Errorf("locality %s not marked synthetic", r.ID)
			}
		}
	}
	if _, err := g.svc.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := g.svc.Verify(ctx, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Errorf("verify: %d problems, first %+v", len(rep.Problems), rep.Problems[0])
	}
}

// testNoRealNames checks that every person and member is named by the
// synthetic patterns only.
func testNoRealNames(t *testing.T, g *generated) {
	personRe := regexp.MustCompile(`^(Synthetic Person \d{4}|Synthetic Member (\d{2}|T\d)-\d+|Unidentified serviceman S-\d{2} \(synthetic\))$`)
	memberRe := regexp.MustCompile(`^Synthetic Member (\d{2}|T\d)-\d+$`)
	for _, r := range g.records(t) {
		switch r.Kind {
		case custody.KindPerson:
			var p custody.Person
			mustUnmarshal(t, r.Data, &p)
			if !personRe.MatchString(p.Name) {
				t.Errorf("person %s named %q", r.ID, p.Name)
			}
		case custody.KindTeam:
			var tm custody.Team
			mustUnmarshal(t, r.Data, &tm)
			for _, m := range tm.Members {
				if !memberRe.MatchString(m.Name) {
					t.Errorf("team %s member %q", tm.Name, m.Name)
				}
			}
		case custody.KindTestimony:
			var ts custody.Testimony
			mustUnmarshal(t, r.Data, &ts)
			if !strings.Contains(ts.Transcript, "[") || !strings.HasSuffix(ts.Transcript, "]") {
				t.Errorf("testimony %s lacks the synthetic notice: %q", r.ID, ts.Transcript)
			}
		}
	}
}

// testDeterministic compares two datasets of the same seed, with IDs
// replaced by their creation order.
func testDeterministic(t *testing.T, a, b *generated) {
	ignore := func(s demo.Summary) demo.Summary { s.BurialSite, s.Building = "", ""; return s }
	if diff := cmp.Diff(ignore(a.sum), ignore(b.sum)); diff != "" {
		t.Errorf("summaries differ (-first +second):\n%s", diff)
	}
	ca, cb := content(t, a.store), content(t, b.store)
	if diff := cmp.Diff(ca, cb); diff != "" {
		t.Errorf("same seed, different content (-first +second):\n%s", diff)
	}
}

var idRe = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// content returns the store's records and items as text, every ID replaced
// by its ordinal.
func content(t *testing.T, s *store) []string {
	t.Helper()
	ord := map[string]string{}
	var out []string
	items := s.items(t)
	for i, it := range items {
		ord[it.ID] = "item#" + itoa(i)
	}
	recs := s.records(t)
	for i, r := range recs {
		if !strings.HasPrefix(r.ID, "UA") {
			ord[r.ID] = "record#" + itoa(i)
		}
	}
	replace := func(s string) string {
		return idRe.ReplaceAllStringFunc(s, func(id string) string {
			if o, ok := ord[id]; ok {
				return o
			}
			return "unknown:" + id
		})
	}
	comps := func(id string) string {
		c, err := s.db.Compartments(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(c, ",")
	}
	for _, it := range items {
		out = append(out, replace(strings.Join([]string{it.ID, it.Kind, string(it.Blob), it.MediaType, it.Name, it.Case,
			it.Collector, it.CollectedAt, it.Description, it.Seal, it.Location, it.Holder, fmtf(it.Lat), fmtf(it.Lon), comps(it.ID)}, "|")))
	}
	for _, r := range recs {
		out = append(out, replace(r.ID+"|"+r.Kind+"|"+r.Title+"|"+itoa(r.Version)+"|"+string(r.Data)+"|"+comps(r.ID)))
	}
	for _, u := range []*custody.User{s.inv, s.reviewer} {
		gs, err := s.svc.Grants(context.Background(), s.actor, u.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gs {
			out = append(out, replace(u.Name+" holds "+g.Compartment+" by "+g.Source))
		}
	}
	return out
}

func fmtf(f *float64) string {
	if f == nil {
		return ""
	}
	b, _ := json.Marshal(*f)
	return string(b)
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func mustUnmarshal(t *testing.T, raw []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("unmarshal %s: %v", raw, err)
	}
}

// testSecondRun: a second run on the same store fails rather than
// duplicating the dataset.
func testSecondRun(t *testing.T, g *generated) {
	n := len(g.records(t))
	_, err := demo.Generate(context.Background(), g.svc, g.actor, demoOptions(1))
	if custody.ErrorCode(err) != custody.ECONFLICT {
		t.Errorf("second Generate: %v, want ECONFLICT", err)
	}
	if m := len(g.records(t)); m != n {
		t.Errorf("records %d -> %d after a failed second run", n, m)
	}
}

func TestGenerateReviewerForbidden(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	admin, err := s.db.UserByName(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	rev, _, err := s.svc.CreateUser(ctx, admin, "rev", custody.RoleReviewer, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Generate(ctx, s.svc, rev, demo.Options{}); custody.ErrorCode(err) != custody.EFORBIDDEN {
		t.Errorf("Generate as reviewer: %v, want EFORBIDDEN", err)
	}
}

// testCompartments checks what the demo's users see: most records are
// general; the investigator holds its mobile group and one case, the
// reviewer only the case in court; witnesses are protected.
func testCompartments(t *testing.T, g *generated) {
	ctx := context.Background()
	recs := g.records(t)
	general, inCase := 0, map[string]int{}
	byID := map[string]*custody.Record{}
	for _, r := range recs {
		byID[r.ID] = r
		c, err := g.db.Compartments(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(c) == 0 {
			general++
		}
		inCase[r.Kind] += min(len(c), 1)
	}
	if general*2 <= len(recs) || general*10 > len(recs)*9 {
		t.Errorf("%d of %d records general: want most, not all", general, len(recs))
	}
	t.Logf("%d of %d records general; compartmented by kind %v", general, len(recs), inCase)
	for _, k := range []string{custody.KindCase, custody.KindTeam, custody.KindTask, custody.KindTestimony, custody.KindIncident, custody.KindRemains} {
		if inCase[k] == 0 {
			t.Errorf("no %s record in a compartment", k)
		}
	}
	if inCase[custody.KindLocality] != 0 {
		t.Errorf("%d locality records in compartments", inCase[custody.KindLocality])
	}
	// The investigator: a member of its mobile group, granted one case.
	holds := func(u *custody.User) map[string]string {
		gs, err := g.svc.Grants(ctx, g.actor, u.Name)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, gr := range gs {
			r := byID[gr.Compartment]
			if r == nil {
				t.Fatalf("%s holds %s, not a record", u.Name, gr.Compartment)
			}
			out[r.Title] = gr.Source
		}
		return out
	}
	if h := holds(g.inv); len(h) != 2 || h[demo.InvestigatorTeam] == "" || h[demo.InvestigatorTeam] == "grant" || h[g.sum.CaseNumbers[0]+" "+demo.InvestigatorCase] != "grant" {
		t.Errorf("the investigator holds %v, want membership of %q and a grant of %q", h, demo.InvestigatorTeam, demo.InvestigatorCase)
	}
	if h := holds(g.reviewer); len(h) != 1 || h[g.sum.CaseNumbers[2]+" "+demo.ReviewerCase] != "grant" {
		t.Errorf("the reviewer holds %v, want a grant of %q", h, demo.ReviewerCase)
	}
	if h := holds(g.actor); len(h) != 5+demo.MobileTeams+demo.ThematicTeams {
		t.Errorf("the administrator holds %d compartments as creator, want every case and team", len(h))
	}
	// What each sees.
	count := func(u *custody.User, kind string) int {
		n := 0
		f := custody.RecordFilter{Kind: kind, Limit: 1000}
		for {
			page, err := g.svc.Records(ctx, u, f)
			if err != nil {
				t.Fatal(err)
			}
			n += len(page.Records)
			if page.Next == "" {
				return n
			}
			f.After = page.Next
		}
	}
	for _, c := range []struct {
		who    *custody.User
		kind   string
		lo, hi int
	}{
		{g.inv, custody.KindCase, 1, 1},
		{g.inv, custody.KindTeam, 1, 1},
		{g.inv, custody.KindTask, 3, 3}, // the mobile group's
		{g.inv, custody.KindRemains, demo.BurialGraves, demo.BurialGraves + 3},
		{g.inv, custody.KindTestimony, 11, 11}, // taken by its group, for its case
		{g.reviewer, custody.KindCase, 1, 1},
		{g.reviewer, custody.KindTeam, 0, 0},
		{g.reviewer, custody.KindRemains, demo.BuildingBodies, demo.BuildingBodies},
		{g.reviewer, custody.KindTestimony, 4, 4},
		{g.reviewer, custody.KindLocality, 15, 15}, // reference facts, visible to all
	} {
		if n := count(c.who, c.kind); n < c.lo || n > c.hi {
			t.Errorf("%s sees %d %s records, want %d to %d", c.who.Name, n, c.kind, c.lo, c.hi)
		}
	}
	its, err := g.svc.Items(ctx, g.inv, custody.ItemFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if all := g.items(t); len(its) == 0 || len(its) >= len(all) {
		t.Errorf("the investigator sees %d of %d items", len(its), len(all))
	}
	// Witnesses: some protected at each level, shown under pseudonyms.
	levels := map[string]int{}
	for _, r := range recs {
		if r.Kind != custody.KindPerson {
			continue
		}
		var p custody.Person
		mustUnmarshal(t, r.Data, &p)
		if p.Protection == "" {
			continue
		}
		levels[p.Protection]++
		shown, err := g.svc.Record(ctx, g.inv, r.ID)
		if custody.ErrorCode(err) == custody.ENOTFOUND {
			continue // in a case the investigator does not hold
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Protection != "none" && (!shown.Redacted || shown.Protection != p.Protection || !strings.HasPrefix(shown.Title, "Witness W-") ||
			strings.Contains(string(shown.Data), p.Name)) {
			t.Errorf("protected witness %s shown as %q: %s", r.ID, shown.Title, shown.Data)
		}
	}
	t.Logf("witnesses by protection: %v", levels)
	for _, l := range []string{"low", "medium", "high"} {
		if levels[l] == 0 {
			t.Errorf("no witness protected %s (have %v)", l, levels)
		}
	}
}
