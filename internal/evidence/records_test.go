package evidence_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/google/go-cmp/cmp"
)

const izium = "UA63040090010029555"

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) create(actor *custody.User, kind string, data any) *custody.Record {
	e.t.Helper()
	recs, err := e.svc.CreateRecords(context.Background(), actor, []custody.RecordInput{{Kind: kind, Data: mustJSON(e.t, data)}})
	if err != nil {
		e.t.Fatalf("create %s: %v", kind, err)
	}
	return recs[0]
}

// investigation creates one record of every kind, linked together, and
// returns them by kind.
func (e *env) investigation() map[string]*custody.Record {
	e.t.Helper()
	inv := e.user("inv-"+fmt.Sprint(e.logSize()), custody.RoleProsecutor)
	photo := e.intake(inv, "grave-17.jpg", "photo of grave 17")
	out := map[string]*custody.Record{}
	out["locality"] = e.create(inv, custody.KindLocality, custody.LocalityInfo{Code: izium, OccupiedOn: "2022-04-01", LiberatedOn: "2022-09-10",
		EvacuationNotes: "synthetic: partial evacuation in March"})
	out["team"] = e.create(inv, custody.KindTeam, custody.Team{Name: "Mobile group 7", Type: "mobile", Localities: []string{izium},
		Members: []custody.Member{{Name: "Prosecutor A", Role: "prosecutor"}, {Name: "Sapper B", Role: "sapper"}}})
	out["case"] = e.create(inv, custody.KindCase, custody.Case{Number: "12022220000000001", Title: "Killings in Izium",
		Qualification: []string{"CCU 438(1)", "RS 8(2)(a)(i)"}, Status: "open"})
	out["site"] = e.create(inv, custody.KindSite, custody.Site{Name: "Forest burial site", Type: "mass_burial", Locality: izium,
		Location: &custody.Geometry{Point: &custody.Point{Lat: 49.18, Lon: 37.25}}, Status: "excavation", FoundOn: "2022-09-15",
		Graves: 447, Team: out["team"].ID, Case: out["case"].ID})
	out["person"] = e.create(inv, custody.KindPerson, custody.Person{Roles: []string{"victim"}, Name: "Synthetic Victim 1", Sex: "male"})
	out["witness"] = e.create(inv, custody.KindPerson, custody.Person{Roles: []string{"witness"}, Name: "Synthetic Witness 1", Protection: "high"})
	out["remains"] = e.create(inv, custody.KindRemains, custody.Remains{Site: out["site"].ID, Grave: "17", Body: "17-1", Sex: "male",
		RecoveredAt:    "2022-09-16T10:04:00+03:00",
		Torture:        []custody.TortureFinding{{Sign: "ligature marks on both wrists", Grade: "highly_consistent", Photos: []string{photo.ID}}},
		Identification: &custody.Identification{Status: "identified", Method: []string{"dna"}, Person: out["person"].ID}})
	out["incident"] = e.create(inv, custody.KindIncident, custody.Incident{Type: "strike", Weapon: "missile", Time: "2022-03-09", Precision: "day",
		Locality: izium, KilledConfirmed: 47, Description: "strike on a five-storey apartment building"})
	out["testimony"] = e.create(inv, custody.KindTestimony, custody.Testimony{Witness: out["witness"].ID, Interviewer: "Investigator C",
		Date: "2022-09-20", Language: "uk", Consent: custody.Consent{Given: true, Scope: []string{"national_court"}},
		Transcript: "Свідок бачив удар ракети по будинку.", Incidents: []string{out["incident"].ID}})
	out["task"] = e.create(inv, custody.KindTask, custody.Task{Title: "Document the forest site", Team: out["team"].ID, Status: "in_progress",
		Site: out["site"].ID, Produced: []string{out["remains"].ID, photo.ID}})
	return out
}

func TestRecordsLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		recs := e.investigation()
		inv := e.user("editor", custody.RoleForensic)
		e.grant(inv, recs["team"].ID, recs["case"].ID)

		site := recs["site"]
		got, err := e.svc.Record(ctx, custody.SystemActor, site.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(site, got); diff != "" {
			t.Errorf("Record differs from what CreateRecords returned (-created +read):\n%s", diff)
		}
		if got.Title != "Forest burial site" || got.Version != 1 {
			t.Errorf("site = %+v", got)
		}

		// A correction is a new version; the history keeps both.
		var s custody.Site
		json.Unmarshal(site.Data, &s)
		s.Status = "completed"
		upd, err := e.svc.UpdateRecord(ctx, inv, custody.RecordInput{ID: site.ID, Base: 1, Data: mustJSON(t, s), Reason: "exhumation finished"})
		if err != nil {
			t.Fatal(err)
		}
		if upd.Version != 2 || upd.CreatedAt != site.CreatedAt || upd.UpdatedBy != inv.ID {
			t.Errorf("updated = %+v", upd)
		}
		if got, _ := e.svc.Record(ctx, custody.SystemActor, site.ID); !cmp.Equal(upd, got) {
			t.Errorf("Record after update differs:\n%s", cmp.Diff(upd, got))
		}
		// A stale base is a conflict, and changes nothing.
		size := e.logSize()
		_, err = e.svc.UpdateRecord(ctx, inv, custody.RecordInput{ID: site.ID, Base: 1, Data: mustJSON(t, s)})
		wantCode(t, err, custody.ECONFLICT)
		if e.logSize() != size {
			t.Error("a refused update was logged")
		}
		// Withdrawal needs a reason; the record stays readable, out of listings.
		_, err = e.svc.WithdrawRecord(ctx, inv, recs["task"].ID, 1, " ")
		wantCode(t, err, custody.EINVALID)
		w, err := e.svc.WithdrawRecord(ctx, inv, recs["task"].ID, 1, "duplicate of another task")
		if err != nil {
			t.Fatal(err)
		}
		if !w.Withdrawn || w.Version != 2 {
			t.Errorf("withdrawn = %+v", w)
		}
		_, err = e.svc.UpdateRecord(ctx, inv, custody.RecordInput{ID: w.ID, Base: 2, Data: recs["task"].Data})
		wantCode(t, err, custody.ECONFLICT)
		page, err := e.svc.Records(ctx, custody.SystemActor, custody.RecordFilter{Kind: custody.KindTask})
		if err != nil || len(page.Records) != 0 {
			t.Errorf("tasks listed after withdrawal: %v %v", page, err)
		}
		page, _ = e.svc.Records(ctx, custody.SystemActor, custody.RecordFilter{Kind: custody.KindTask, IncludeWithdrawn: true})
		if len(page.Records) != 1 {
			t.Errorf("withdrawn task not listed with include_withdrawn")
		}

		hist, err := e.svc.RecordHistory(ctx, custody.SystemActor, site.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != 2 || hist[0].Change != "create" || hist[1].Change != "update" || hist[1].Reason != "exhumation finished" ||
			hist[1].Actor != inv.ID || hist[1].LogIndex != upd.LogIndex {
			t.Errorf("history = %+v", hist)
		}
		hist, _ = e.svc.RecordHistory(ctx, custody.SystemActor, w.ID)
		if len(hist) != 2 || hist[1].Change != "withdraw" || hist[1].Data != nil {
			t.Errorf("withdraw history = %+v", hist)
		}

		// Filters.
		for _, c := range []struct {
			f    custody.RecordFilter
			want int
		}{
			{custody.RecordFilter{Locality: izium}, 3}, // locality facts, site, incident
			{custody.RecordFilter{Kind: custody.KindRemains, Site: site.ID}, 1},
			{custody.RecordFilter{Kind: custody.KindIncident, Type: "strike", From: "2022-03-01", To: "2022-03-31"}, 1},
			{custody.RecordFilter{Kind: custody.KindIncident, From: "2022-04-01"}, 0},
			{custody.RecordFilter{Kind: custody.KindSite, Case: recs["case"].ID}, 1},
			{custody.RecordFilter{Kind: custody.KindPerson}, 2},
			{custody.RecordFilter{Kind: custody.KindSite, Status: "completed"}, 1},
		} {
			page, err := e.svc.Records(ctx, custody.SystemActor, c.f)
			if err != nil {
				t.Fatalf("%+v: %v", c.f, err)
			}
			if len(page.Records) != c.want {
				t.Errorf("%+v: %d records, want %d", c.f, len(page.Records), c.want)
			}
		}
		if r := e.verify(); !r.OK() {
			t.Errorf("verify: %+v", r.Problems)
		}
	})
}

func TestRecordsRefused(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		recs := e.investigation()
		reviewer := e.user("judge", custody.RoleReviewer)
		inv := e.user("inv", custody.RoleProsecutor)
		e.grant(inv, recs["team"].ID, recs["case"].ID)
		size := e.logSize()
		site := func(mod func(*custody.Site)) json.RawMessage {
			s := custody.Site{Name: "Rubble", Type: "building", Locality: izium, Status: "reported"}
			mod(&s)
			return mustJSON(t, s)
		}
		for _, c := range []struct {
			name  string
			actor *custody.User
			in    []custody.RecordInput
			code  string
			msg   string
		}{
			{"reviewer", reviewer, []custody.RecordInput{{Kind: "site", Data: site(func(*custody.Site) {})}}, custody.EFORBIDDEN, ""},
			{"unknown kind", inv, []custody.RecordInput{{Kind: "grave", Data: []byte(`{}`)}}, custody.EINVALID, "unknown record kind"},
			{"unknown field", inv, []custody.RecordInput{{Kind: "site", Data: []byte(`{"name":"x","type":"grave","locality":"` + izium + `","status":"reported","colour":"red"}`)}}, custody.EINVALID, "colour"},
			{"not JSON", inv, []custody.RecordInput{{Kind: "site", Data: []byte(`{"name":`)}}, custody.EINVALID, "not JSON"},
			{"bad enum", inv, []custody.RecordInput{{Kind: "site", Data: site(func(s *custody.Site) { s.Type = "crater" })}}, custody.EINVALID, "site.type"},
			{"unknown locality", inv, []custody.RecordInput{{Kind: "site", Data: site(func(s *custody.Site) { s.Locality = "UA99999999999999999" })}}, custody.ENOTFOUND, "KATOTTH"},
			{"malformed locality", inv, []custody.RecordInput{{Kind: "site", Data: site(func(s *custody.Site) { s.Locality = "Izium" })}}, custody.EINVALID, "KATOTTH"},
			{"missing team", inv, []custody.RecordInput{{Kind: "site", Data: site(func(s *custody.Site) { s.Team = "0193a4b0-0000-7000-8000-000000000001" })}}, custody.ENOTFOUND, "site.team"},
			{"team is a case", inv, []custody.RecordInput{{Kind: "site", Data: site(func(s *custody.Site) { s.Team = recs["case"].ID })}}, custody.ENOTFOUND, "site.team"},
			{"liberated before occupied", inv, []custody.RecordInput{{Kind: "locality", Data: mustJSON(t, custody.LocalityInfo{Code: "UA63040090020044893", OccupiedOn: "2022-04-01", LiberatedOn: "2022-03-01"})}}, custody.EINVALID, "before"},
			{"grade off the scale", inv, []custody.RecordInput{{Kind: "remains", Data: mustJSON(t, custody.Remains{Site: recs["site"].ID, Body: "9",
				Torture: []custody.TortureFinding{{Sign: "burns", Grade: "probable"}}})}}, custody.EINVALID, "grade"},
			{"visual identification confirmed", inv, []custody.RecordInput{{Kind: "remains", Data: mustJSON(t, custody.Remains{Site: recs["site"].ID, Body: "9",
				Identification: &custody.Identification{Status: "identified", Method: []string{"visual"}, Person: recs["person"].ID}})}}, custody.EINVALID, "presumptive"},
			{"locality exists already", inv, []custody.RecordInput{{Kind: "locality", Data: mustJSON(t, custody.LocalityInfo{Code: izium})}}, custody.ECONFLICT, "exists"},
			{"second of two is bad", inv, []custody.RecordInput{{Kind: "site", Data: site(func(*custody.Site) {})}, {Kind: "site", Data: site(func(s *custody.Site) { s.Status = "" })}}, custody.EINVALID, "record 2"},
			{"qualification not in the statute", inv, []custody.RecordInput{{Kind: "case", Data: mustJSON(t, custody.Case{Number: "1", Title: "T", Qualification: []string{"RS 8(2)(a)(ix)"}})}}, custody.EINVALID, "legal catalogue"},
			{"part 3 of article 438", inv, []custody.RecordInput{{Kind: "case", Data: mustJSON(t, custody.Case{Number: "1", Title: "T", Qualification: []string{"CCU 438(3)"}})}}, custody.EINVALID, "legal catalogue"},
			{"id given", inv, []custody.RecordInput{{Kind: "site", ID: "0193a4b0-0000-7000-8000-000000000001", Data: site(func(*custody.Site) {})}}, custody.EINVALID, "ID"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := e.svc.CreateRecords(ctx, c.actor, c.in)
				wantCode(t, err, c.code)
				if !strings.Contains(custody.ErrorMessage(err), c.msg) {
					t.Errorf("message %q does not mention %q", custody.ErrorMessage(err), c.msg)
				}
			})
		}
		if got := e.logSize(); got != size {
			t.Errorf("refused changes were logged: size %d, want %d", got, size)
		}
		// Accepted with a warning: a position outside Ukraine.
		out, err := e.svc.CreateRecords(ctx, inv, []custody.RecordInput{{Kind: "incident", Data: mustJSON(t, custody.Incident{Type: "deportation",
			Time: "2022-05", Precision: "month", Locality: izium, Location: &custody.Point{Lat: 55.75, Lon: 37.62}})}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out[0].Warnings) != 1 || !strings.Contains(out[0].Warnings[0], "outside Ukraine") {
			t.Errorf("warnings = %q", out[0].Warnings)
		}
	})
}

// TestRecordsConcurrentUpdates races two editors from the same base: one
// wins, the other gets ECONFLICT, and the log holds one update.
func TestRecordsConcurrentUpdates(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		recs := e.investigation()
		_, _, _, _, svc2 := e.openHandle() // a second process on the same store
		inv := e.user("inv", custody.RoleProsecutor)
		e.grant(inv, recs["team"].ID, recs["case"].ID)
		var s custody.Site
		json.Unmarshal(recs["site"].Data, &s)
		errs := make(chan error, 2)
		for i, svc := range []interface {
			UpdateRecord(context.Context, *custody.User, custody.RecordInput) (*custody.Record, error)
		}{e.svc, svc2} {
			s := s
			s.Description = fmt.Sprintf("editor %d", i)
			go func() {
				_, err := svc.UpdateRecord(ctx, inv, custody.RecordInput{ID: recs["site"].ID, Base: 1, Data: mustJSON(t, s)})
				errs <- err
			}()
		}
		var ok, conflict int
		for range 2 {
			switch err := <-errs; custody.ErrorCode(err) {
			case "":
				ok++
			case custody.ECONFLICT:
				conflict++
			default:
				t.Errorf("unexpected error %v", err)
			}
		}
		if ok != 1 || conflict != 1 {
			t.Errorf("%d succeeded, %d conflicted; want 1 and 1", ok, conflict)
		}
		hist, _ := e.svc.RecordHistory(ctx, custody.SystemActor, recs["site"].ID)
		if len(hist) != 2 {
			t.Errorf("history has %d versions, want 2", len(hist))
		}
	})
}

// TestRecordsPagination walks a listing page by page in every sort order
// and checks each record appears exactly once, in order.
func TestRecordsPagination(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		inv := e.user("inv", custody.RoleProsecutor)
		var in []custody.RecordInput
		for i := range 57 {
			typ := custody.IncidentTypes[i%len(custody.IncidentTypes)]
			obj := ""
			if typ == "attack_protected" {
				obj = "school"
			}
			in = append(in, custody.RecordInput{Kind: "incident", Data: mustJSON(t, custody.Incident{Type: typ, ProtectedObject: obj,
				Time: fmt.Sprintf("2022-%02d-%02d", 3+i%7, 1+i%5), Precision: "day", Locality: izium})})
		}
		if _, err := e.svc.CreateRecords(ctx, inv, in); err != nil {
			t.Fatal(err)
		}
		for _, sort := range []string{"", "-id", "date", "-date", "title", "-title", "updated"} {
			var all []string
			after := ""
			for pages := 0; ; pages++ {
				if pages > 20 {
					t.Fatalf("sort %q: pagination does not end", sort)
				}
				page, err := e.svc.Records(ctx, custody.SystemActor, custody.RecordFilter{Kind: "incident", Sort: sort, After: after, Limit: 10})
				if err != nil {
					t.Fatalf("sort %q: %v", sort, err)
				}
				for _, r := range page.Records {
					all = append(all, r.ID)
				}
				if page.Next == "" {
					break
				}
				after = page.Next
			}
			seen := map[string]bool{}
			for _, id := range all {
				if seen[id] {
					t.Errorf("sort %q: %s listed twice", sort, id)
				}
				seen[id] = true
			}
			if len(all) != 57 {
				t.Errorf("sort %q: %d records, want 57", sort, len(all))
			}
			// One page of all gives the same order.
			page, _ := e.svc.Records(ctx, custody.SystemActor, custody.RecordFilter{Kind: "incident", Sort: sort, Limit: 1000})
			var one []string
			for _, r := range page.Records {
				one = append(one, r.ID)
			}
			if !cmp.Equal(all, one) {
				t.Errorf("sort %q: paged order differs from a single page", sort)
			}
		}
		for _, bad := range []custody.RecordFilter{{Sort: "colour"}, {After: "not-a-cursor"}, {Limit: 5000}, {Kind: "graves"}} {
			_, err := e.svc.Records(ctx, custody.SystemActor, bad)
			wantCode(t, err, custody.EINVALID)
		}
	})
}

// TestRecordsRebuild: the record tables are derived from the log like the
// rest of the index.
func TestRecordsRebuild(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		recs := e.investigation()
		inv := e.user("inv", custody.RoleProsecutor)
		e.grant(inv, recs["team"].ID, recs["case"].ID)
		if _, err := e.svc.WithdrawRecord(ctx, inv, recs["task"].ID, 1, "wrong team"); err != nil {
			t.Fatal(err)
		}
		e.publish()
		live := dump(t, e.db)
		if len(live["records"]) != 10 || len(live["record_versions"]) != 11 || len(live["record_links"]) == 0 {
			t.Fatalf("dump: %d records, %d versions, %d links", len(live["records"]), len(live["record_versions"]), len(live["record_links"]))
		}
		into := freshDB(t, dialect)
		if _, err := e.svc.RebuildInto(ctx, into, nil); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(live, dump(t, into)); diff != "" {
			t.Errorf("rebuilt index differs:\n%s", diff)
		}
		for _, db := range []*sqlstore.DB{e.db, into} {
			page, err := db.ListRecords(ctx, custody.RecordFilter{Sort: "title", Limit: 100, IncludeWithdrawn: true}, nil)
			if err != nil || len(page.Records) != 10 {
				t.Fatalf("list: %v, %v", page, err)
			}
		}
		// Tampering with a record row is caught by verify.
		e.exec(`UPDATE records SET title = 'Nothing here' WHERE id = ?`, recs["site"].ID)
		r := e.verify()
		if r.OK() || !strings.Contains(fmt.Sprint(r.Problems), "records") {
			t.Errorf("edited record row not detected: %+v", r.Problems)
		}
	})
}

func TestRecordsLinkedFrom(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		recs := e.investigation()
		back, err := e.svc.LinkedFrom(ctx, custody.SystemActor, recs["site"].ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, b := range back {
			got = append(got, b.Kind+" "+b.Field)
		}
		want := []string{"remains site", "task site"}
		if !cmp.Equal(got, want) {
			t.Errorf("linked from the site: %q, want %q", got, want)
		}
		back, _ = e.svc.LinkedFrom(ctx, custody.SystemActor, izium)
		if len(back) != 3 { // the team's localities[0], the site's and the incident's locality
			t.Errorf("linked from Izium: %+v", back)
		}
		inv := e.user("inv", custody.RoleProsecutor)
		e.grant(inv, recs["team"].ID, recs["case"].ID)
		if _, err := e.svc.WithdrawRecord(ctx, inv, recs["task"].ID, 1, "duplicate"); err != nil {
			t.Fatal(err)
		}
		back, _ = e.svc.LinkedFrom(ctx, custody.SystemActor, recs["site"].ID)
		if len(back) != 1 || back[0].Kind != "remains" {
			t.Errorf("after withdrawing the task: %+v", back)
		}
	})
}
