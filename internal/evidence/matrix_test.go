package evidence_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/custody-dev/custody"
)

func TestCaseMatrix(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		recs := e.investigation()
		pros := e.user("prosecutor", custody.RoleProsecutor)
		inv := e.user("investigator", custody.RoleProsecutor)
		e.grant(pros, recs["case"].ID)
		e.grant(inv, recs["case"].ID)
		photo := e.intake(inv, "wrists.jpg", "photo of ligature marks")

		var c custody.Case
		json.Unmarshal(recs["case"].Data, &c)
		const torture = "RS 8(2)(a)(ii)-1"
		c.Charges = []custody.Charge{{Crime: torture, Support: []custody.Support{
			{Element: torture + "/1", Source: recs["remains"].ID, Reason: "post-mortem: ligature marks graded highly consistent", Verified: true},
		}}}
		v2, err := e.svc.UpdateRecord(ctx, pros, custody.RecordInput{ID: recs["case"].ID, Base: 1, Data: mustJSON(t, c), Reason: "charge torture"})
		if err != nil {
			t.Fatal(err)
		}
		c.Charges[0].Support = append(c.Charges[0].Support,
			custody.Support{Element: torture + "/1", Source: photo.ID, Reason: "photograph of the wrists"},
			custody.Support{Element: torture + "/6", Source: recs["testimony"].ID, Reason: "witness heard the interrogation"})
		if _, err := e.svc.UpdateRecord(ctx, inv, custody.RecordInput{ID: recs["case"].ID, Base: 2, Data: mustJSON(t, c)}); err != nil {
			t.Fatal(err)
		}

		m, err := e.svc.CaseMatrix(ctx, custody.SystemActor, recs["case"].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Charges) != 1 || m.Charges[0].Crime != torture || m.Charges[0].Title == "" {
			t.Fatalf("matrix charges = %+v", m.Charges)
		}
		els := map[string]custody.ElementMatrix{}
		kinds := map[string]int{}
		for _, el := range m.Charges[0].Elements {
			els[el.Element] = el
			kinds[el.Kind]++
		}
		if kinds["material"] == 0 || kinds["contextual"] == 0 || kinds["mental"] == 0 {
			t.Errorf("element kinds = %v", kinds)
		}
		one := els[torture+"/1"]
		if one.Gap != "" || len(one.Support) != 2 {
			t.Errorf("element 1: gap %q, %d sources", one.Gap, len(one.Support))
		}
		if s := one.Support[0]; s.SourceKind != "remains" || s.LinkedBy != pros.ID || s.LinkedAt != v2.UpdatedAt || !s.Verified {
			t.Errorf("first source = %+v", s)
		}
		if s := one.Support[1]; s.SourceKind != "item" || s.LinkedBy != inv.ID || s.Title != "wrists.jpg" {
			t.Errorf("second source = %+v", s)
		}
		if g := els[torture+"/6"].Gap; g != custody.GapSingleSource {
			t.Errorf("element 6 gap = %q, want single-source", g)
		}
		if g := els[torture+"/2"].Gap; g != custody.GapUnsupported {
			t.Errorf("element 2 gap = %q, want unsupported", g)
		}
		if m.Gaps != len(els)-1 {
			t.Errorf("gaps = %d, want %d", m.Gaps, len(els)-1)
		}

		// Withdrawing a source turns its support into a gap.
		if _, err := e.svc.WithdrawRecord(ctx, pros, recs["remains"].ID, 1, "commingled with grave 18; re-examined"); err != nil {
			t.Fatal(err)
		}
		m, _ = e.svc.CaseMatrix(ctx, custody.SystemActor, recs["case"].ID)
		for _, el := range m.Charges[0].Elements {
			if el.Element == torture+"/1" && (el.Gap != custody.GapSingleSource || !el.Support[0].Withdrawn) {
				t.Errorf("after withdrawing the remains: %+v", el)
			}
		}

		// Charges are held to the catalogue.
		for _, bad := range []custody.Charge{
			{Crime: "RS 8(2)(a)(ix)"},
			{Crime: torture, Support: []custody.Support{{Element: "RS 8(2)(a)(i)/1", Source: photo.ID, Reason: "x"}}},
			{Crime: torture, Support: []custody.Support{{Element: torture + "/99", Source: photo.ID, Reason: "x"}}},
			{Crime: torture, Support: []custody.Support{{Element: torture + "/1", Source: "0193a4b0-0000-7000-8000-000000000001", Reason: "x"}}},
		} {
			c.Charges = []custody.Charge{bad}
			_, err := e.svc.UpdateRecord(ctx, pros, custody.RecordInput{ID: recs["case"].ID, Base: 3, Data: mustJSON(t, c)})
			if code := custody.ErrorCode(err); code != custody.EINVALID && code != custody.ENOTFOUND {
				t.Errorf("charge %+v: %v", bad, err)
			}
		}
		_, err = e.svc.CaseMatrix(ctx, custody.SystemActor, recs["site"].ID)
		wantCode(t, err, custody.EINVALID)
	})
}
