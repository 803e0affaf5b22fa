package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/demo"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
	"github.com/custody-dev/custody/internal/web"
	"github.com/custody-dev/custody/verify"
)

func TestRecordLifecycle(t *testing.T) {
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{dialect: dialect})
			c := e.signedIn("o.kovalenko", investigatorPass)
			ctx := context.Background()

			// Create a site from the form.
			wantStatus(t, c.get("/records/new?kind=site"), http.StatusOK)
			r := c.post("/records", url.Values{"kind": {"site"}, "name": {"Forest burial site"}, "type": {"mass_burial"},
				"locality": {"UA63040090010029555"}, "status": {"reported"}, "found_on": {"2022-09-15"},
				"location.point.lat": {"49,1947"}, "location.point.lon": {"37.2816"}, "graves": {"447"}, "reason": {"first report"}})
			wantStatus(t, r, http.StatusSeeOther)
			id := strings.TrimSuffix(strings.TrimPrefix(r.Header.Get("Location"), "/records/"), "?saved=1")
			rec, err := e.svc.Record(ctx, custody.SystemActor, id)
			if err != nil {
				t.Fatalf("created record %q: %v", id, err)
			}
			var site custody.Site
			json.Unmarshal(rec.Data, &site)
			if site.Name != "Forest burial site" || site.Graves != 447 || site.Location == nil || site.Location.Point == nil ||
				site.Location.Point.Lat != 49.1947 || site.FoundOn != "2022-09-15" {
				t.Errorf("site as stored: %s", rec.Data)
			}
			r = c.get("/records/" + id + "?saved=1")
			wantStatus(t, r, http.StatusOK)
			for _, want := range []string{"Forest burial site", "mass burial site", "15 Sep 2022", "Izium, Kharkivska oblast", "Saved.", "447", "version 1"} {
				if !strings.Contains(r.body, want) {
					t.Errorf("record page lacks %q", want)
				}
			}

			// Edit it: version 2, the history names the fields changed.
			r = c.get("/records/" + id + "/edit")
			wantStatus(t, r, http.StatusOK)
			if !strings.Contains(r.body, `value="Forest burial site"`) || !strings.Contains(r.body, `name="base" value="1"`) {
				t.Error("the edit form does not hold the current version")
			}
			vals := editValues(t, e, id)
			vals.Set("status", "excavation")
			vals.Set("base", "1")
			vals.Set("reason", "excavation started")
			wantStatus(t, c.post("/records/"+id, vals), http.StatusSeeOther)
			r = c.get("/records/" + id)
			if !strings.Contains(r.body, "version 2") || !strings.Contains(r.body, "corrected") || !strings.Contains(r.body, "excavation started") {
				t.Error("the history does not show the correction")
			}

			// A stale edit is a conflict: the form comes back with the values.
			vals.Set("name", "Forest burial site near Izium")
			r = c.post("/records/"+id, vals) // base 1, the record is at 2
			wantStatus(t, r, http.StatusConflict)
			if !strings.Contains(r.body, "Someone changed this record") || !strings.Contains(r.body, `value="Forest burial site near Izium"`) {
				t.Error("the conflict does not keep the user's values")
			}

			// Mistakes come back with a message naming the field.
			r = c.post("/records/"+id, url.Values{"base": {"2"}, "name": {"x"}, "type": {"mass_burial"}, "locality": {"UA63040090010029555"},
				"status": {"reported"}, "graves": {"many"}})
			wantStatus(t, r, http.StatusBadRequest)
			if !strings.Contains(r.body, "Graves: ") {
				t.Errorf("a bad number: no message naming the field")
			}
			r = c.post("/records", url.Values{"kind": {"site"}, "name": {"x"}, "type": {"mass_burial"}, "locality": {"UA63040090010029555"},
				"status": {"finished"}})
			wantStatus(t, r, http.StatusBadRequest)
			if !strings.Contains(r.body, "site.status") {
				t.Error("a validation error does not name the field")
			}

			// Lists and filters.
			r = c.get("/records?kind=site&type=mass_burial&locality=UA63040090010029555")
			wantStatus(t, r, http.StatusOK)
			if !strings.Contains(r.body, "/records/"+id) {
				t.Error("the filtered list lacks the site")
			}
			r = c.get("/records?kind=site&type=grave")
			if strings.Contains(r.body, "/records/"+id) {
				t.Error("a filter on another type lists the site")
			}

			// Withdraw: it stays readable, leaves the lists.
			wantStatus(t, c.post("/records/"+id+"/withdraw", url.Values{"base": {"2"}, "reason": {"entered twice"}}), http.StatusSeeOther)
			r = c.get("/records/" + id)
			if !strings.Contains(r.body, "entered twice") || strings.Contains(r.body, "/edit") {
				t.Error("a withdrawn record: reason not shown, or still editable")
			}
			if r := c.get("/records?kind=site"); strings.Contains(r.body, "/records/"+id) {
				t.Error("a withdrawn record is listed")
			}
			if r := c.get("/records?kind=site&withdrawn=1"); !strings.Contains(r.body, "/records/"+id) {
				t.Error("a withdrawn record is not listed when asked for")
			}
			wantStatus(t, c.get("/records/"+id+"/edit"), http.StatusConflict)
			wantStatus(t, c.get("/records/01a2123d-0000-7000-8000-000000000000"), http.StatusNotFound)
			wantStatus(t, c.get("/records?kind=nonsense"), http.StatusBadRequest)
		})
	}
}

// editValues reads the edit form of a record as a browser would submit it.
func editValues(t *testing.T, e *env, id string) url.Values {
	t.Helper()
	rec, err := e.svc.Record(context.Background(), custody.SystemActor, id)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := web.Flatten(rec.Kind, rec.Data)
	if err != nil {
		t.Fatal(err)
	}
	return vals
}

// The remains form follows the post-mortem record; rows of injuries and
// signs of torture come back as lists, the empty row left out, and the
// dashboard counts the body.
func TestRemainsForm(t *testing.T) {
	e := newEnv(t)
	site := e.seedSite(t)
	c := e.signedIn("o.kovalenko", investigatorPass)
	r := c.get("/records/new?kind=remains&site=" + site)
	wantStatus(t, r, http.StatusOK)
	for _, want := range []string{"Recovery", "External examination", "Signs of torture (Istanbul Protocol)", "Cause and manner of death",
		"Identification", `value="` + site + `"`, `name="torture.0.grade"`, `<template class="blank">`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("remains form lacks %q", want)
		}
	}
	r = c.post("/records", url.Values{"kind": {"remains"}, "site": {site}, "grave": {"117"}, "body": {"B-117"}, "sex": {"male"},
		"age_min": {"30"}, "age_max": {"45"}, "condition": {"decomposed"},
		"injuries.0.region": {"head"}, "injuries.0.type": {"gunshot"}, "injuries.0.description": {"entry wound, occipital"},
		"injuries.1.region": {""}, "injuries.1.type": {""},
		"torture.0.sign": {"ligature marks on both wrists"}, "torture.0.grade": {"highly_consistent"},
		"torture.3.sign": {"fractured fingers"}, "torture.3.grade": {"consistent"},
		"cause_of_death": {"gunshot wound of the head"}, "manner_of_death": {"homicide"},
		"identification.status": {"unidentified"}, "identification.method": {"documents", "visual", "bogus"}})
	wantStatus(t, r, http.StatusSeeOther)
	id := strings.TrimSuffix(strings.TrimPrefix(r.Header.Get("Location"), "/records/"), "?saved=1")
	rec, err := e.svc.Record(context.Background(), custody.SystemActor, id)
	if err != nil {
		t.Fatal(err)
	}
	var rm custody.Remains
	if err := json.Unmarshal(rec.Data, &rm); err != nil {
		t.Fatal(err)
	}
	if len(rm.Injuries) != 1 || len(rm.Torture) != 2 || rm.Torture[1].Sign != "fractured fingers" || *rm.AgeMin != 30 ||
		rm.Identification == nil || strings.Join(rm.Identification.Method, ",") != "documents,visual" {
		t.Errorf("remains as stored: %s", rec.Data)
	}
	// Identified by documents alone is refused, with the rule.
	r = c.post("/records", url.Values{"kind": {"remains"}, "site": {site}, "body": {"B-118"},
		"identification.status": {"identified"}, "identification.method": {"documents"}, "identification.person": {""}})
	wantStatus(t, r, http.StatusBadRequest)
	if !strings.Contains(r.body, "DNA") {
		t.Error("the identification rule is not explained")
	}
	// The site's page lists its graves and remains, with torture flagged.
	r = c.get("/records/" + site)
	if !strings.Contains(r.body, "Graves and remains") || !strings.Contains(r.body, "B-117") || !strings.Contains(r.body, "signs of torture") {
		t.Error("the site page does not list the remains")
	}
	r = c.get("/")
	if !strings.Contains(r.body, `<li class="tile t-torture"><span class="value">1</span>`) {
		t.Errorf("dashboard: torture count is not 1")
	}
}

// Every record of the demo dataset goes through the form and back
// unchanged: the generic forms cover every field of every kind.
func TestFormRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("demo dataset")
	}
	e := newEnv(t)
	ctx := context.Background()
	// Generated by the administrator (cases are prosecutors' records); the
	// pages are read by the administrator, who sees every compartment.
	if _, err := demo.Generate(ctx, e.svc, e.admin, demo.Options{Seed: 7, Investigator: "o.kovalenko"}); err != nil {
		t.Fatalf("demo: %v", err)
	}
	seen := map[string]int{}
	c := e.signedIn("admin", adminPassword)
	for _, kind := range custody.RecordKinds {
		pg, err := e.svc.Records(ctx, custody.SystemActor, custody.RecordFilter{Kind: kind, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		for i, rec := range pg.Records {
			vals, err := web.Flatten(rec.Kind, rec.Data)
			if err != nil {
				t.Fatal(err)
			}
			data, err := web.Build("uk", rec.Kind, vals)
			if err != nil {
				t.Fatalf("%s %s: %v", rec.Kind, rec.ID, err)
			}
			got, _ := verify.CanonicalizeJSON(data)
			want, _ := verify.CanonicalizeJSON(rec.Data)
			if string(got) != string(want) {
				t.Errorf("%s %s through the form:\n got %s\nwant %s", rec.Kind, rec.ID, got, want)
			}
			seen[kind]++
			if i < 3 {
				wantStatus(t, c.get("/records/"+rec.ID), http.StatusOK)
				wantStatus(t, c.get("/records/"+rec.ID+"/edit"), http.StatusOK)
			}
		}
	}
	t.Logf("records through the form: %v", seen)
	for _, k := range custody.RecordKinds {
		if seen[k] == 0 && k != custody.KindLocality {
			t.Errorf("the demo has no %s", k)
		}
	}
	for _, p := range []string{"/", "/map", "/records?kind=incident", "/items"} {
		wantStatus(t, c.get(p), http.StatusOK)
	}
}
