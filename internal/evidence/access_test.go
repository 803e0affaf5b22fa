package evidence_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/custody-dev/custody"
)

// accessFixture is two mobile groups, each with its own investigator and
// records, plus general records, a case of group A, and readers of every
// kind.
type accessFixture struct {
	invA, invB, analyst, judge, nobody, pros *custody.User
	teamA, teamB, caseA                      *custody.Record
	siteA, siteB, personA, general           *custody.Record
	itemA, itemB                             *custody.Item
}

func newAccessFixture(e *env) *accessFixture {
	e.t.Helper()
	f := &accessFixture{}
	f.invA = e.user("inv.a", custody.RoleInvestigator)
	f.invB = e.user("inv.b", custody.RoleInvestigator)
	f.analyst = e.user("analyst", custody.RoleAnalyst)
	f.judge = e.user("judge", custody.RoleReviewer)
	f.nobody = e.user("defence", custody.RoleReviewer)
	f.pros = e.user("pros", custody.RoleProsecutor)
	f.teamA = e.create(e.admin, custody.KindTeam, custody.Team{Name: "Mobile group A", Type: "mobile",
		Members: []custody.Member{{Name: "Investigator A", Role: "police", User: "inv.a"}}})
	f.teamB = e.create(e.admin, custody.KindTeam, custody.Team{Name: "Mobile group B", Type: "mobile",
		Members: []custody.Member{{Name: "Investigator B", Role: "police", User: f.invB.ID}}})
	f.siteA = e.create(f.invA, custody.KindSite, custody.Site{Name: "Forest burial site alpha", Type: "mass_burial", Locality: izium,
		Status: "reported", Team: f.teamA.ID})
	f.siteB = e.create(f.invB, custody.KindSite, custody.Site{Name: "Basement bravo", Type: "detention", Locality: izium, Status: "reported"})
	f.personA = e.create(f.invA, custody.KindPerson, custody.Person{Roles: []string{"victim"}, Name: "Synthetic Victim Alpha"})
	f.general = e.create(e.admin, custody.KindIncident, custody.Incident{Type: "strike", Weapon: "missile", Time: "2022-03-09",
		Precision: "day", Locality: izium, KilledConfirmed: 3, Description: "strike on the market, general record"})
	f.itemA = e.intake(f.invA, "a.jpg", "photo of site alpha")
	f.itemB = e.intake(f.invB, "b.jpg", "photo of basement bravo")
	f.caseA = e.create(f.pros, custody.KindCase, custody.Case{Number: "12022220000000077", Title: "Killings at site alpha", Status: "open"})
	e.grant(f.judge, f.caseA.ID)
	return f
}

func ids(recs []*custody.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

func TestCompartments(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		f := newAccessFixture(e)

		// Records go to their writer's team by default.
		if !slices.Contains(f.siteB.Compartments, f.teamB.ID) || !slices.Contains(f.personA.Compartments, f.teamA.ID) {
			t.Fatalf("default compartments: site B %v, person A %v", f.siteB.Compartments, f.personA.Compartments)
		}
		list := func(u *custody.User, kind string) []string {
			t.Helper()
			p, err := e.svc.Records(ctx, u, custody.RecordFilter{Kind: kind, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			return ids(p.Records)
		}
		// Each investigator sees its team's sites, not the other's.
		if got := list(f.invA, custody.KindSite); !slices.Equal(got, []string{f.siteA.ID}) {
			t.Errorf("inv A sites = %v, want only %s", got, f.siteA.ID)
		}
		if got := list(f.invB, custody.KindSite); !slices.Equal(got, []string{f.siteB.ID}) {
			t.Errorf("inv B sites = %v", got)
		}
		if got := list(f.admin(e), custody.KindSite); len(got) != 2 {
			t.Errorf("admin sites = %v, want both", got)
		}
		// General records: every staff role; never a reviewer.
		for _, u := range []*custody.User{f.invA, f.invB, f.analyst} {
			if got := list(u, custody.KindIncident); !slices.Equal(got, []string{f.general.ID}) {
				t.Errorf("%s incidents = %v, want the general one", u.Name, got)
			}
		}
		if got := list(f.nobody, ""); len(got) != 0 {
			t.Errorf("a reviewer granted nothing sees %v", got)
		}
		if got := list(f.judge, ""); !slices.Equal(got, []string{f.caseA.ID}) {
			t.Errorf("the judge sees %v, want only the case", got)
		}

		// Hidden records do not exist for the user: reads, history,
		// updates, references.
		_, err := e.svc.Record(ctx, f.invA, f.siteB.ID)
		wantCode(t, err, custody.ENOTFOUND)
		_, err = e.svc.RecordHistory(ctx, f.invA, f.siteB.ID)
		wantCode(t, err, custody.ENOTFOUND)
		_, err = e.svc.UpdateRecord(ctx, f.invA, custody.RecordInput{ID: f.siteB.ID, Base: 1, Data: mustJSON(t, custody.Site{Name: "x", Type: "other", Status: "reported"})})
		wantCode(t, err, custody.ENOTFOUND)
		_, err = e.svc.WithdrawRecord(ctx, f.invA, f.siteB.ID, 1, "probe")
		wantCode(t, err, custody.ENOTFOUND)
		_, err = e.svc.CreateRecords(ctx, f.invA, []custody.RecordInput{{Kind: custody.KindRemains,
			Data: mustJSON(t, custody.Remains{Site: f.siteB.ID, Body: "1"})}})
		wantCode(t, err, custody.ENOTFOUND)
		_, err = e.svc.Item(ctx, f.invA, f.itemB.ID)
		wantCode(t, err, custody.ENOTFOUND)
		_, err = e.svc.History(ctx, f.invA, f.itemB.ID)
		wantCode(t, err, custody.ENOTFOUND)
		_, err = e.svc.Handover(ctx, f.invA, custody.HandoverRequest{Item: f.itemB.ID, To: "x", Reason: "probe"})
		wantCode(t, err, custody.ENOTFOUND)
		items, err := e.svc.Items(ctx, f.invA, custody.ItemFilter{Limit: 100})
		if err != nil || len(items) != 1 || items[0].ID != f.itemA.ID {
			t.Errorf("inv A items = %v, %v", items, err)
		}
		// One may not put a record where one does not see.
		_, err = e.svc.CreateRecords(ctx, f.invA, []custody.RecordInput{{Kind: custody.KindSite, Compartments: []string{f.teamB.ID},
			Data: mustJSON(t, custody.Site{Name: "planted", Type: "other", Locality: izium, Status: "reported"})}})
		wantCode(t, err, custody.EFORBIDDEN)
		_, err = e.svc.CreateRecords(ctx, e.admin, []custody.RecordInput{{Kind: custody.KindSite, Compartments: []string{f.siteA.ID},
			Data: mustJSON(t, custody.Site{Name: "planted", Type: "other", Locality: izium, Status: "reported"})}})
		wantCode(t, err, custody.EINVALID)

		// Search and statistics count only what the user sees.
		hits, err := e.svc.Search(ctx, f.invA, custody.SearchQuery{Q: "bravo"})
		if err != nil || len(hits) != 0 {
			t.Errorf("inv A finds bravo: %v %v", hits, err)
		}
		hits, err = e.svc.Search(ctx, f.invB, custody.SearchQuery{Q: "bravo"})
		if err != nil || len(hits) != 1 {
			t.Errorf("inv B search bravo = %v %v", hits, err)
		}
		st, err := e.svc.Stats(ctx, f.invA, "")
		if err != nil || st.Records[custody.KindSite] != 1 || st.KilledConfirmed != 3 {
			t.Errorf("inv A stats: %v sites, %d killed, %v", st.Records, st.KilledConfirmed, err)
		}
		st, err = e.svc.Stats(ctx, f.nobody, "")
		if err != nil || st.Records[custody.KindSite] != 0 || st.KilledConfirmed != 0 || st.Records[custody.KindIncident] != 0 {
			t.Errorf("a reviewer granted nothing counts %+v, %v", st, err)
		}

		// A case that lists a general record takes it into its compartment:
		// the analyst stops seeing it, the judge of the case starts.
		var c custody.Case
		json.Unmarshal(f.caseA.Data, &c)
		c.Incidents = []string{f.general.ID}
		if _, err := e.svc.UpdateRecord(ctx, f.pros, custody.RecordInput{ID: f.caseA.ID, Base: 1, Data: mustJSON(t, c)}); err != nil {
			t.Fatal(err)
		}
		if got := list(f.analyst, custody.KindIncident); len(got) != 0 {
			t.Errorf("analyst still sees the incident now in case A: %v", got)
		}
		if got := list(f.judge, custody.KindIncident); !slices.Equal(got, []string{f.general.ID}) {
			t.Errorf("judge incidents = %v", got)
		}
		// Revoking the grant hides the case again.
		if err := e.svc.Grant(ctx, e.admin, "judge", f.caseA.ID, "case closed for the court", true); err != nil {
			t.Fatal(err)
		}
		if got := list(f.judge, ""); len(got) != 0 {
			t.Errorf("after revoking, the judge sees %v", got)
		}
		// Only administrators grant.
		wantCode(t, e.svc.Grant(ctx, f.invA, "inv.a", f.teamB.ID, "", false), custody.EFORBIDDEN)

		// Everything above is derived from the log: a replay agrees.
		if r := e.verify(); !r.OK() {
			t.Errorf("verify: %+v", r.Problems)
		}
	})
}

func (f *accessFixture) admin(e *env) *custody.User { return e.admin }

func TestWitnessProtection(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		f := newAccessFixture(e)
		const name = "Оксана Приходько"
		w := e.create(f.invA, custody.KindPerson, custody.Person{Roles: []string{"witness"}, Name: name, BornOn: "1961",
			Protection: "high", Notes: "lives at the school, second floor"})
		tm := e.create(f.invA, custody.KindTestimony, custody.Testimony{Witness: w.ID, Interviewer: "Investigator A", Date: "2022-09-20",
			Language: "uk", Consent: custody.Consent{Given: true, Scope: []string{"national_court"}},
			Transcript: "Я, " + name + ", бачила, як солдати вели сусіда до підвалу."})

		// Every output shows the pseudonym, never the name.
		r, err := e.svc.Record(ctx, f.invA, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(r.Title, "Witness W-") || r.Protection != "high" || !r.Redacted ||
			strings.Contains(string(r.Data), "Оксана") || strings.Contains(string(r.Data), "1961") || strings.Contains(string(r.Data), "school") {
			t.Errorf("protected witness read as %+v %s", r, r.Data)
		}
		pseudonym := r.Title
		for _, u := range []*custody.User{f.invA, e.admin} {
			r2, err := e.svc.Record(ctx, u, w.ID)
			if err != nil || r2.Title != pseudonym {
				t.Errorf("%s: pseudonym %q, want the stable %q (%v)", u.Name, r2.Title, pseudonym, err)
			}
		}
		tr, err := e.svc.Record(ctx, f.invA, tm.ID)
		if err != nil || strings.Contains(string(tr.Data), "Приходько") || !strings.Contains(string(tr.Data), pseudonym) || !tr.Redacted {
			t.Errorf("testimony read as %s (%v)", tr.Data, err)
		}
		hist, err := e.svc.RecordHistory(ctx, f.invA, w.ID)
		if err != nil || len(hist) != 1 || strings.Contains(string(hist[0].Data), "Оксана") {
			t.Errorf("history: %v %v", hist, err)
		}
		page, err := e.svc.Records(ctx, f.invA, custody.RecordFilter{Kind: custody.KindPerson})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Records {
			if strings.Contains(p.Title+string(p.Data), "Оксана") {
				t.Errorf("listing shows the name: %+v", p)
			}
		}
		// The name finds nothing (it is not in the index); other words of
		// the transcript find it, with the pseudonym in the snippet.
		for _, q := range []string{"Приходько", "Prykhodko", "Оксана"} {
			hits, err := e.svc.Search(ctx, f.invA, custody.SearchQuery{Q: q})
			if err != nil || len(hits) != 0 {
				t.Errorf("search %q found %+v (%v)", q, hits, err)
			}
		}
		hits, err := e.svc.Search(ctx, f.invA, custody.SearchQuery{Q: "підвалу"})
		if err != nil || len(hits) != 1 || strings.Contains(hits[0].Snippet+hits[0].Title, "Приходько") {
			t.Errorf("search of the transcript: %+v (%v)", hits, err)
		}

		// Revealing needs a reason, the permission and the clearance.
		_, err = e.svc.RevealRecord(ctx, f.invA, w.ID, " ")
		wantCode(t, err, custody.EINVALID)
		_, err = e.svc.RevealRecord(ctx, f.analyst, w.ID, "curious")
		wantCode(t, err, custody.EFORBIDDEN) // analysts may not reveal (whatever the record)
		_, err = e.svc.RevealRecord(ctx, f.invA, w.ID, "to summon the witness")
		wantCode(t, err, custody.EFORBIDDEN) // investigators are cleared to medium
		if err := e.svc.SetClearance(ctx, e.admin, "inv.a", "high", "leads the interviews"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.svc.SetClearance(ctx, f.invA, "inv.a", "high", ""), custody.EFORBIDDEN)
		before := e.logSize()
		shown, err := e.svc.RevealRecord(ctx, f.invA, w.ID, "to summon the witness to court")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(shown.Data), name) || shown.Title != name || shown.Redacted {
			t.Errorf("revealed: %+v %s", shown, shown.Data)
		}
		if e.logSize() != before+1 {
			t.Errorf("a reveal appended %d entries, want 1", e.logSize()-before)
		}
		shownT, err := e.svc.RevealRecord(ctx, f.invA, tm.ID, "to prepare the hearing")
		if err != nil || !strings.Contains(string(shownT.Data), name) {
			t.Errorf("revealed testimony: %s (%v)", shownT.Data, err)
		}
		// ... and the reveal is on the record: who, when, why.
		evs, err := e.svc.AccessLog(ctx, e.admin, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		var reveals int
		for _, ev := range evs {
			if ev.Action == "reveal" && ev.Actor == f.invA.ID && ev.Reason != "" {
				reveals++
			}
		}
		if reveals != 2 {
			t.Errorf("access log of the witness: %+v, want 2 reveals by inv.a with reasons", evs)
		}
		_, err = e.svc.AccessLog(ctx, f.invA, w.ID)
		wantCode(t, err, custody.EFORBIDDEN)
		if r := e.verify(); !r.OK() {
			t.Errorf("verify: %+v", r.Problems)
		}
	})
}

func TestAuditedReads(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		f := newAccessFixture(e)
		before := e.logSize()
		if _, err := e.svc.Record(ctx, f.invA, f.siteA.ID); err != nil {
			t.Fatal(err)
		}
		if e.logSize() != before {
			t.Errorf("reading a site (no personal data) appended %d entries", e.logSize()-before)
		}
		if _, err := e.svc.Record(ctx, f.invA, f.personA.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Records(ctx, f.invA, custody.RecordFilter{Kind: custody.KindPerson}); err != nil {
			t.Fatal(err)
		}
		if e.logSize() != before+2 {
			t.Errorf("reading a person and listing persons appended %d entries, want 2", e.logSize()-before)
		}
		evs, err := e.svc.AccessLog(ctx, e.admin, f.personA.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[0].Action != "view" || evs[1].Action != "list" || evs[0].Actor != f.invA.ID {
			t.Errorf("access log = %+v", evs)
		}
		// Item content reads are in it too.
		if err := e.svc.RecordAccess(ctx, f.invA, f.itemA.ID, "access", "court"); err != nil {
			t.Fatal(err)
		}
		evs, _ = e.svc.AccessLog(ctx, e.admin, f.itemA.ID)
		if len(evs) != 1 || evs[0].Reason != "court" {
			t.Errorf("item access log = %+v", evs)
		}
	})
}

func TestRedactedDataNotWrittenBack(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		f := newAccessFixture(e)
		w := e.create(f.invA, custody.KindPerson, custody.Person{Roles: []string{"witness"}, Name: "Synthetic Protected Witness", Protection: "low"})
		r, err := e.svc.Record(ctx, f.invA, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Writing back what a redacted read returned is refused ...
		_, err = e.svc.UpdateRecord(ctx, f.invA, custody.RecordInput{ID: w.ID, Base: 1, Data: r.Data})
		wantCode(t, err, custody.ECONFLICT)
		// ... the revealed data is the one to edit.
		shown, err := e.svc.RevealRecord(ctx, f.invA, w.ID, "correct the date of birth")
		if err != nil {
			t.Fatal(err)
		}
		var p custody.Person
		json.Unmarshal(shown.Data, &p)
		p.BornOn = "1970"
		if _, err := e.svc.UpdateRecord(ctx, f.invA, custody.RecordInput{ID: w.ID, Base: 1, Data: mustJSON(t, p)}); err != nil {
			t.Fatal(err)
		}
	})
}
