package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/api"
	"github.com/custody-dev/custody/internal/blobstore"
	"github.com/custody-dev/custody/internal/evidence"
	"github.com/custody-dev/custody/internal/ledger"
	"github.com/custody-dev/custody/internal/locality"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
)

// izium is the KATOTTH code of the city of Izium, Kharkiv oblast.
const izium = "UA63040090010029555"

var loadCodifier = sync.OnceValues(locality.Load)

// recEnv is a store with the KATOTTH codifier behind a real HTTP server.
type recEnv struct {
	*env
	investigator string        // token of a prosecutor (writes every kind)
	adm          *custody.User // the admin
}

// newRecEnv wires a store of the given dialect the way internal/cli does,
// with the codifier, and three users: an admin, a reviewer and an
// investigator.
func newRecEnv(t testing.TB, dialect string) *recEnv {
	t.Helper()
	ctx := context.Background()
	g, err := loadCodifier()
	if err != nil {
		t.Fatalf("load the codifier: %v", err)
	}
	e := &recEnv{env: &env{t: t, dir: t.TempDir()}}
	db, err := sqlstore.Open(ctx, sqltest.DSN(t, dialect), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, err := blobstore.NewFS(filepath.Join(e.dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := blobstore.NewFSObjects(filepath.Join(e.dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := blobstore.NewFSObjects(filepath.Join(e.dir, "private"))
	if err != nil {
		t.Fatal(err)
	}
	origin := "custody.test/records"
	skey, vkey, err := ledger.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := evidence.New(evidence.Config{StoreID: "0192f000-0000-7000-8000-000000000002", Origin: origin, SignerKey: skey,
		VerifierKey: vkey, DB: db, Blobs: blobs, Public: pub, Private: priv, Localities: g})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Init(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	e.db, e.svc, e.vkey = db, svc, vkey
	adm, tok, err := svc.CreateUser(ctx, custody.SystemActor, "admin", custody.RoleAdmin, "")
	if err != nil {
		t.Fatal(err)
	}
	e.admin = tok
	if _, e.reviewer, err = svc.CreateUser(ctx, adm, "rev", custody.RoleAnalyst, ""); err != nil {
		t.Fatal(err)
	}
	e.adm = adm
	// A prosecutor: the one role besides admin that writes every kind.
	if _, e.investigator, err = svc.CreateUser(ctx, adm, "o.kovalenko", custody.RoleProsecutor, ""); err != nil {
		t.Fatal(err)
	}
	e.handler = api.New(svc, nil)
	e.srv = httptest.NewServer(e.handler)
	t.Cleanup(e.srv.Close)
	return e
}

// forDialects runs f on a fresh store of every dialect of the suite.
func forDialects(t *testing.T, f func(t *testing.T, e *recEnv)) {
	for _, d := range sqltest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			f(t, newRecEnv(t, d))
		})
	}
}

// send makes a request with a JSON body: a string or []byte as is, any
// other value marshalled.
func (e *recEnv) send(method, path, token string, body any) response {
	e.t.Helper()
	var b []byte
	switch v := body.(type) {
	case nil:
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			e.t.Fatal(err)
		}
	}
	ctype := ""
	if body != nil {
		ctype = "application/json"
	}
	return e.do(method, path, token, ctype, bytes.NewReader(b))
}

// want fails unless r has the status (and, for errors, the code).
func (r response) want(t testing.TB, status int, code string) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if code != "" && r.errCode() != code {
		t.Fatalf("error code %q, want %q: %s", r.errCode(), code, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q", ct)
	}
	return r
}

func decode[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return v
}

type detail struct {
	Record  custody.Record
	History []custody.RecordVersion
	Links   []struct{ Field, Target, Kind, ID string }
}

type page struct {
	Records []custody.Record
	Next    string
}

// create posts data to a collection and returns the record.
func (e *recEnv) create(plural, data string) custody.Record {
	e.t.Helper()
	r := e.send("POST", "/api/v1/"+plural, e.investigator, data).want(e.t, http.StatusCreated, "")
	rec := decode[custody.Record](e.t, r)
	if loc := r.header.Get("Location"); loc != "/api/v1/"+plural+"/"+rec.ID {
		e.t.Errorf("Location %q, want /api/v1/%s/%s", loc, plural, rec.ID)
	}
	if rec.Kind == custody.KindCase || rec.Kind == custody.KindTeam {
		// The reader sees what the case or team holds (its creator does).
		if err := e.svc.Grant(context.Background(), e.adm, "rev", rec.ID, "test", false); err != nil {
			e.t.Fatal(err)
		}
	}
	return rec
}

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// kindCase is one kind's round trip: data to create it and to update it,
// built from the IDs of the records created before.
type kindCase struct {
	kind, plural   string
	create, update func(ids map[string]string) string
	link           string // a field the record links through, if any
}

// kindCases are in an order where every reference is created first.
var kindCases = []kindCase{
	{custody.KindLocality, "localities",
		func(map[string]string) string {
			return `{"code":"UA63040090010029555","occupied_on":"2022-04-01","liberated_on":"2022-09-10"}`
		},
		func(map[string]string) string {
			return `{"code":"UA63040090010029555","occupied_on":"2022-04-01","liberated_on":"2022-09-10","population_before":45884,"notes":"Mass burial site found in the forest on 15 September 2022"}`
		}, ""},
	{custody.KindTeam, "teams",
		func(map[string]string) string { return `{"name":"Mobile group 7","type":"mobile"}` },
		func(map[string]string) string {
			return `{"name":"Mobile group 7","type":"mobile","area":"Izium raion","localities":["UA63040090010029555"],"members":[{"name":"O. Kovalenko","role":"prosecutor","user":"o.kovalenko"}]}`
		}, "localities[0]"},
	{custody.KindCase, "cases",
		func(map[string]string) string {
			return `{"number":"12022220000000123","title":"Killings of civilians in Izium"}`
		},
		func(map[string]string) string {
			return `{"number":"12022220000000123","title":"Killings of civilians in Izium","status":"open","qualification":["CCU 438(1)","RS 8(2)(a)(i)"],"opened_on":"2022-09-16"}`
		}, ""},
	{custody.KindSite, "sites",
		func(map[string]string) string {
			return `{"name":"Forest burial site, Pishchanska street","type":"mass_burial","locality":"UA63040090010029555","status":"reported"}`
		},
		func(ids map[string]string) string {
			return `{"name":"Forest burial site, Pishchanska street","type":"mass_burial","locality":"UA63040090010029555","status":"excavation",` +
				`"location":{"point":{"lat":49.1947,"lon":37.2816}},"found_on":"2022-09-15","graves":445,"team":"` + ids["team"] + `","case":"` + ids["case"] + `"}`
		}, "locality"},
	{custody.KindPerson, "persons",
		func(map[string]string) string { return `{"roles":["witness"],"name":"Olha Petrenko"}` },
		func(map[string]string) string {
			return `{"roles":["witness"],"name":"Olha Petrenko","sex":"female","born_on":"1961","locality":"UA63040090010029555","protection":"medium"}`
		}, ""},
	{custody.KindRemains, "remains",
		func(ids map[string]string) string { return `{"site":"` + ids["site"] + `","body":"17"}` },
		func(ids map[string]string) string {
			return `{"site":"` + ids["site"] + `","grave":"212","body":"17","sex":"male","age_min":40,"age_max":55,"condition":"decomposed",` +
				`"torture":[{"sign":"ligature marks on both wrists","grade":"highly_consistent"}],"manner_of_death":"homicide","case":"` + ids["case"] + `"}`
		}, "site"},
	{custody.KindTestimony, "testimonies",
		func(ids map[string]string) string {
			return `{"witness":"` + ids["person"] + `","interviewer":"O. Kovalenko","date":"2022-09-20","language":"uk"}`
		},
		func(ids map[string]string) string {
			return `{"witness":"` + ids["person"] + `","interviewer":"O. Kovalenko","date":"2022-09-20","language":"uk","interpreter":"none",` +
				`"consent":{"given":true,"scope":["national_court","international_court"]},"transcript":"They took him from the house in April."}`
		}, "witness"},
	{custody.KindIncident, "incidents",
		func(map[string]string) string {
			return `{"type":"strike","time":"2022-03-09","precision":"day","locality":"UA63040090010029555"}`
		},
		func(ids map[string]string) string {
			return `{"type":"strike","time":"2022-03-09","precision":"day","locality":"UA63040090010029555","weapon":"air","killed_confirmed":2,"site":"` + ids["site"] + `"}`
		}, "locality"},
	{custody.KindTask, "tasks",
		func(ids map[string]string) string {
			return `{"title":"Survey the burial site","team":"` + ids["team"] + `","status":"open"}`
		},
		func(ids map[string]string) string {
			return `{"title":"Survey the burial site","team":"` + ids["team"] + `","status":"in_progress","due":"2022-09-30","site":"` + ids["site"] + `"}`
		}, "team"},
}

// TestRecordsRoundTrip creates, reads, lists, updates and withdraws a
// record of every kind.
func TestRecordsRoundTrip(t *testing.T) {
	if len(kindCases) != len(custody.RecordKinds) {
		t.Fatalf("%d kinds tested, %d kinds exist", len(kindCases), len(custody.RecordKinds))
	}
	forDialects(t, func(t *testing.T, e *recEnv) {
		ids := map[string]string{}
		for _, c := range kindCases {
			rec := e.create(c.plural, c.create(ids))
			if rec.Kind != c.kind || rec.Version != 1 || rec.Withdrawn || rec.LogIndex == 0 || rec.CreatedBy == "" {
				t.Errorf("%s: created %+v", c.kind, rec)
			}
			if c.kind == custody.KindLocality {
				if rec.ID != izium {
					t.Errorf("locality record ID %s, want its code %s", rec.ID, izium)
				}
			} else if !uuidRe.MatchString(rec.ID) {
				t.Errorf("%s: ID %q is not a UUIDv7", c.kind, rec.ID)
			}
			ids[c.kind] = rec.ID

			d := decode[detail](t, e.send("GET", "/api/v1/"+c.plural+"/"+rec.ID, e.reviewer, nil).want(t, 200, ""))
			if d.Record.ID != rec.ID || d.Record.Version != 1 || len(d.History) != 1 || d.History[0].Change != "create" {
				t.Errorf("%s: read back %+v", c.kind, d)
			}
			p := decode[page](t, e.send("GET", "/api/v1/"+c.plural, e.reviewer, nil).want(t, 200, ""))
			if len(p.Records) != 1 || p.Records[0].ID != rec.ID || p.Next != "" {
				t.Errorf("%s: listed %+v", c.kind, p)
			}
		}
		before := e.changes()
		for _, c := range kindCases {
			id, path := ids[c.kind], "/api/v1/"+c.plural+"/"+ids[c.kind]
			upd := map[string]any{"base": 1, "data": json.RawMessage(c.update(ids)), "reason": "details from the site visit"}
			rec := decode[custody.Record](t, e.send("PUT", path, e.investigator, upd).want(t, 200, ""))
			if rec.Version != 2 || rec.ID != id {
				t.Errorf("%s: updated %+v", c.kind, rec)
			}
			var got, want any
			json.Unmarshal(rec.Data, &got)
			json.Unmarshal([]byte(c.update(ids)), &want)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: data %s, want %s", c.kind, rec.Data, c.update(ids))
			}
			// A second change from version 1 is stale.
			e.send("PUT", path, e.investigator, upd).want(t, http.StatusConflict, custody.ECONFLICT)
			e.send("POST", path+"/withdraw", e.investigator, map[string]any{"base": 1, "reason": "entered twice"}).
				want(t, http.StatusConflict, custody.ECONFLICT)

			rec = decode[custody.Record](t, e.send("POST", path+"/withdraw", e.investigator,
				map[string]any{"base": 2, "reason": "entered twice"}).want(t, 200, ""))
			if !rec.Withdrawn || rec.Version != 3 || rec.WithdrawReason != "entered twice" {
				t.Errorf("%s: withdrawn %+v", c.kind, rec)
			}
			upd["base"] = 3
			e.send("PUT", path, e.investigator, upd).want(t, http.StatusConflict, custody.ECONFLICT)

			d := decode[detail](t, e.send("GET", path, e.reviewer, nil).want(t, 200, ""))
			var changes []string
			for _, v := range d.History {
				changes = append(changes, v.Change)
			}
			if !d.Record.Withdrawn || !slices.Equal(changes, []string{"create", "update", "withdraw"}) {
				t.Errorf("%s: after withdrawal %+v, history %v", c.kind, d.Record, changes)
			}
			if c.link != "" && !slices.ContainsFunc(d.Links, func(l struct{ Field, Target, Kind, ID string }) bool { return l.Field == c.link }) {
				t.Errorf("%s: links %+v lack %s", c.kind, d.Links, c.link)
			}
			p := decode[page](t, e.send("GET", "/api/v1/"+c.plural, e.reviewer, nil).want(t, 200, ""))
			if len(p.Records) != 0 {
				t.Errorf("%s: withdrawn record listed: %+v", c.kind, p.Records)
			}
			p = decode[page](t, e.send("GET", "/api/v1/"+c.plural+"?include_withdrawn=true", e.reviewer, nil).want(t, 200, ""))
			if len(p.Records) != 1 || !p.Records[0].Withdrawn {
				t.Errorf("%s: include_withdrawn listed %+v", c.kind, p.Records)
			}
		}
		if got, want := e.changes(), before+2*uint64(len(kindCases)); got != want {
			t.Errorf("log size %d after updates and withdrawals, want %d (no entry for a refused change)", got, want)
		}
	})
}

// TestRecordsWrongKind: a record is found only in its own collection, and
// an unknown collection is not found.
func TestRecordsWrongKind(t *testing.T) {
	e := newRecEnv(t, "sqlite")
	site := e.create("sites", `{"name":"School No. 2 basement","type":"detention","locality":"UA63040090010029555","status":"secured"}`)
	for _, rq := range []struct{ method, path string }{
		{"GET", "/api/v1/persons/" + site.ID},
		{"PUT", "/api/v1/persons/" + site.ID},
		{"POST", "/api/v1/persons/" + site.ID + "/withdraw"},
		{"GET", "/api/v1/widgets"},
		{"POST", "/api/v1/widgets"},
		{"GET", "/api/v1/widgets/" + site.ID},
		{"GET", "/api/v1/sites/0192f000-0000-7000-8000-0000000000ff"},
		{"DELETE", "/api/v1/sites/" + site.ID},
	} {
		t.Run(rq.method+" "+rq.path, func(t *testing.T) {
			body := map[string]any{"base": 1, "reason": "wrong collection"}
			if rq.method == "PUT" {
				body["data"] = json.RawMessage(`{"roles":["witness"],"name":"Olha Petrenko"}`)
			}
			r := e.send(rq.method, rq.path, e.admin, body)
			if rq.method == "DELETE" {
				if r.status != http.StatusMethodNotAllowed && r.status != http.StatusNotFound {
					t.Fatalf("DELETE: status %d", r.status)
				}
				return
			}
			r.want(t, http.StatusNotFound, custody.ENOTFOUND)
		})
	}
	d := decode[detail](t, e.send("GET", "/api/v1/sites/"+site.ID, e.admin, nil).want(t, 200, ""))
	if d.Record.Withdrawn || d.Record.Version != 1 {
		t.Errorf("site changed through /persons/: %+v", d.Record)
	}
}

// TestRecordsAuth: reading needs a token; writing needs a role that writes.
func TestRecordsAuth(t *testing.T) {
	e := newRecEnv(t, "sqlite")
	site := e.create("sites", `{"name":"Barracks at the sawmill","type":"barracks","locality":"UA63040090010029555","status":"reported"}`)
	paths := []struct{ method, path string }{
		{"GET", "/api/v1/sites"},
		{"POST", "/api/v1/sites"},
		{"GET", "/api/v1/sites/" + site.ID},
		{"PUT", "/api/v1/sites/" + site.ID},
		{"POST", "/api/v1/sites/" + site.ID + "/withdraw"},
		{"POST", "/api/v1/records"},
		{"GET", "/api/v1/localities?q=Izium"},
		{"GET", "/api/v1/localities/" + izium},
		{"GET", "/api/v1/openapi.json"},
	}
	before := e.logSize()
	for _, p := range paths {
		for _, tok := range []string{"", "not-a-token"} {
			e.send(p.method, p.path, tok, `{}`).want(t, http.StatusUnauthorized, custody.EUNAUTHORIZED)
		}
	}
	for _, w := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/sites", `{"name":"Grave by the road","type":"grave","locality":"UA63040090010029555","status":"reported"}`},
		{"POST", "/api/v1/records", map[string]any{"records": []any{map[string]any{"kind": "team", "data": map[string]any{"name": "Group 9", "type": "mobile"}}}}},
		{"PUT", "/api/v1/sites/" + site.ID, map[string]any{"base": 1, "data": json.RawMessage(`{"name":"Barracks","type":"barracks","locality":"UA63040090010029555","status":"secured"}`)}},
		{"POST", "/api/v1/sites/" + site.ID + "/withdraw", map[string]any{"base": 1, "reason": "reviewers may not"}},
	} {
		e.send(w.method, w.path, e.reviewer, w.body).want(t, http.StatusForbidden, custody.EFORBIDDEN)
	}
	if after := e.logSize(); after != before {
		t.Errorf("log grew from %d to %d on refused requests", before, after)
	}
	e.send("GET", "/api/v1/sites/"+site.ID, e.reviewer, nil).want(t, 200, "")
}

// TestRecordsInvalid: bad input is refused with the right code and
// nothing is written.
func TestRecordsInvalid(t *testing.T) {
	forDialects(t, func(t *testing.T, e *recEnv) {
		site := e.create("sites", `{"name":"Forest burial site","type":"mass_burial","locality":"UA63040090010029555","status":"reported"}`)
		before := e.logSize()
		for _, c := range []struct {
			name, method, path string
			body               any
			status             int
			code, message      string
		}{
			{"unknown field", "POST", "/api/v1/sites", `{"name":"X","type":"grave","locality":"UA63040090010029555","status":"reported","colour":"red"}`, 400, custody.EINVALID, "colour"},
			{"bad enum", "POST", "/api/v1/sites", `{"name":"X","type":"mass_grave","locality":"UA63040090010029555","status":"reported"}`, 400, custody.EINVALID, "site.type"},
			{"missing field", "POST", "/api/v1/sites", `{"type":"grave","locality":"UA63040090010029555","status":"reported"}`, 400, custody.EINVALID, "site.name"},
			{"end before start", "POST", "/api/v1/localities", `{"code":"UA63040090010029555","occupied_on":"2022-09-10","liberated_on":"2022-04-01"}`, 400, custody.EINVALID, "liberated_on"},
			{"unknown locality", "POST", "/api/v1/sites", `{"name":"X","type":"grave","locality":"UA99999999999999999","status":"reported"}`, 404, custody.ENOTFOUND, "UA99999999999999999"},
			{"malformed locality", "POST", "/api/v1/sites", `{"name":"X","type":"grave","locality":"Izium","status":"reported"}`, 400, custody.EINVALID, "KATOTTH"},
			{"unknown reference", "POST", "/api/v1/remains", `{"site":"0192f000-0000-7000-8000-0000000000ff","body":"1"}`, 404, custody.ENOTFOUND, "site"},
			{"reference of another kind", "POST", "/api/v1/remains", `{"site":"` + site.ID + `","body":"1","case":"` + site.ID + `"}`, 404, custody.ENOTFOUND, "case"},
			{"malformed JSON", "POST", "/api/v1/sites", `{"name":`, 400, custody.EINVALID, ""},
			{"empty body", "POST", "/api/v1/sites", "", 400, custody.EINVALID, ""},
			{"array", "POST", "/api/v1/sites", `[]`, 400, custody.EINVALID, "object"},
			{"null", "POST", "/api/v1/sites", `null`, 400, custody.EINVALID, "required"},
			{"trailing data", "POST", "/api/v1/sites", `{"name":"X","type":"grave","locality":"UA63040090010029555","status":"reported"} {}`, 400, custody.EINVALID, ""},
			{"unknown parameter", "POST", "/api/v1/sites?colour=red", `{"name":"X","type":"grave","locality":"UA63040090010029555","status":"reported"}`, 400, custody.EINVALID, "colour"},
			{"bad device time", "POST", "/api/v1/sites?device_time=yesterday", `{"name":"X","type":"grave","locality":"UA63040090010029555","status":"reported"}`, 400, custody.EINVALID, ""},
			{"ID given", "POST", "/api/v1/records", `{"records":[{"kind":"team","id":"0192f000-0000-7000-8000-0000000000ff","data":{"name":"G","type":"mobile"}}]}`, 400, custody.EINVALID, ""},
			{"unknown kind", "POST", "/api/v1/records", `{"records":[{"kind":"widget","data":{}}]}`, 400, custody.EINVALID, "widget"},
			{"no records", "POST", "/api/v1/records", `{"records":[]}`, 400, custody.EINVALID, ""},
			{"batch unknown field", "POST", "/api/v1/records", `{"records":[{"kind":"team","data":{"name":"G","type":"mobile"},"colour":1}]}`, 400, custody.EINVALID, "colour"},
			{"batch, one bad", "POST", "/api/v1/records", `{"records":[{"kind":"team","data":{"name":"G","type":"mobile"}},{"kind":"team","data":{"name":"H","type":"static"}}]}`, 400, custody.EINVALID, "record 2"},
			{"update without base", "PUT", "/api/v1/sites/" + site.ID, `{"data":{"name":"X","type":"grave","locality":"UA63040090010029555","status":"reported"}}`, 400, custody.EINVALID, "base"},
			{"update without data", "PUT", "/api/v1/sites/" + site.ID, `{"base":1}`, 400, custody.EINVALID, "data"},
			{"update, unknown envelope field", "PUT", "/api/v1/sites/" + site.ID, `{"base":1,"version":2,"data":{}}`, 400, custody.EINVALID, "version"},
			{"update, invalid data", "PUT", "/api/v1/sites/" + site.ID, `{"base":1,"data":{"name":"X","type":"grave","locality":"UA63040090010029555","status":"dug"}}`, 400, custody.EINVALID, "site.status"},
			{"update, base as text", "PUT", "/api/v1/sites/" + site.ID, `{"base":"1","data":{}}`, 400, custody.EINVALID, "base"},
			{"update, future base", "PUT", "/api/v1/sites/" + site.ID, `{"base":7,"data":{"name":"X","type":"grave","locality":"UA63040090010029555","status":"reported"}}`, 409, custody.ECONFLICT, ""},
			{"withdraw without reason", "POST", "/api/v1/sites/" + site.ID + "/withdraw", `{"base":1}`, 400, custody.EINVALID, "reason"},
			{"withdraw without base", "POST", "/api/v1/sites/" + site.ID + "/withdraw", `{"reason":"duplicate"}`, 400, custody.EINVALID, "base"},
			{"withdraw, unknown record", "POST", "/api/v1/sites/0192f000-0000-7000-8000-0000000000ff/withdraw", `{"base":1,"reason":"duplicate"}`, 404, custody.ENOTFOUND, ""},
			{"locality twice", "POST", "/api/v1/localities", `{"code":"UA63040090010029555"}`, 0, "", ""}, // the first is fine
			{"locality again", "POST", "/api/v1/localities", `{"code":"UA63040090010029555"}`, 409, custody.ECONFLICT, ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := e.send(c.method, c.path, e.investigator, c.body)
				if c.status == 0 {
					r.want(t, http.StatusCreated, "")
					before++
					return
				}
				r.want(t, c.status, c.code)
				if c.message != "" && !strings.Contains(r.errMessage(), c.message) {
					t.Errorf("message %q does not name %q", r.errMessage(), c.message)
				}
			})
		}
		if after := e.logSize(); after != before {
			t.Errorf("log grew from %d to %d on refused requests", before, after)
		}
	})
}

// TestRecordsTooLarge: a body over the limit is refused before it is read
// whole.
func TestRecordsTooLarge(t *testing.T) {
	e := newRecEnv(t, "sqlite")
	big := `{"name":"X","type":"grave","locality":"UA63040090010029555","status":"reported","description":"` + strings.Repeat("a", 3<<20) + `"}`
	e.send("POST", "/api/v1/sites", e.investigator, big).want(t, http.StatusRequestEntityTooLarge, custody.ETOOLARGE)
	e.send("POST", "/api/v1/sites/0192f000-0000-7000-8000-0000000000ff/withdraw", e.investigator,
		`{"base":1,"reason":"`+strings.Repeat("a", 2<<20)+`"}`).want(t, http.StatusRequestEntityTooLarge, custody.ETOOLARGE)
}

// TestRecordsListParams: malformed listing parameters are refused.
func TestRecordsListParams(t *testing.T) {
	e := newRecEnv(t, "sqlite")
	for _, q := range []string{
		"limit=0", "limit=x", "limit=1001", "limit=-1", "include_withdrawn=maybe", "from=2022-13-01", "to=yesterday",
		"from=22-09-01", "locality=Izium", "locality=UA6304009001002955", "site=abc", "case=1", "team=%27%20OR%201=1",
		"sort=colour", "sort=--id", "after=!!!", "after=eyJ4IjoxfQ", "type=mass_grave", "status=dug", "colour=red",
		"limit=1&limit=2", "q=Izium", "%zz",
	} {
		t.Run(q, func(t *testing.T) {
			e.send("GET", "/api/v1/sites?"+q, e.reviewer, nil).want(t, http.StatusBadRequest, custody.EINVALID)
		})
	}
	for _, q := range []string{"/api/v1/incidents?status=open", "/api/v1/tasks?type=x", "/api/v1/localities?type=city", "/api/v1/persons?type=judge"} {
		e.send("GET", q, e.reviewer, nil).want(t, http.StatusBadRequest, custody.EINVALID)
	}
	for _, q := range []string{
		"limit=1000", "include_withdrawn=1", "from=2022&to=2022-09", "from=2022-09-01&to=2022-09-30", "locality=ua63040090010029555",
		"type=mass_burial&status=reported", "sort=-date", "sort=title", "sort=updated",
		"site=0192f000-0000-7000-8000-00000000000a&case=0192f000-0000-7000-8000-00000000000b&team=0192f000-0000-7000-8000-00000000000c",
	} {
		t.Run("ok "+q, func(t *testing.T) {
			e.send("GET", "/api/v1/sites?"+q, e.reviewer, nil).want(t, 200, "")
		})
	}
	e.send("GET", "/api/v1/testimonies?type=uk", e.reviewer, nil).want(t, 200, "")
	e.send("GET", "/api/v1/persons?type=witness&status=missing", e.reviewer, nil).want(t, 200, "")
}

// TestRecordsFilters: the filters select what they name.
func TestRecordsFilters(t *testing.T) {
	forDialects(t, func(t *testing.T, e *recEnv) {
		const balakliia = "UA63040010010039074"
		if r := e.send("GET", "/api/v1/localities/"+balakliia, e.reviewer, nil); r.status != 200 {
			t.Fatalf("Balakliia %s: %d %s", balakliia, r.status, r.body)
		}
		a := e.create("sites", `{"name":"Police station","type":"torture","locality":"`+balakliia+`","status":"secured","found_on":"2022-09-12"}`)
		b := e.create("sites", `{"name":"Forest burial site","type":"mass_burial","locality":"UA63040090010029555","status":"excavation","found_on":"2022-09-15"}`)
		c := e.create("sites", `{"name":"Railway station","type":"strike_impact","locality":"UA63040090010029555","status":"completed","found_on":"2022-04-02"}`)
		for q, want := range map[string][]string{
			"":                              {a.ID, b.ID, c.ID},
			"locality=" + izium:             {b.ID, c.ID},
			"type=torture":                  {a.ID},
			"status=excavation":             {b.ID},
			"from=2022-09":                  {a.ID, b.ID},
			"to=2022-04":                    {c.ID},
			"from=2022-09-13&to=2022-09-30": {b.ID},
			"sort=date":                     {c.ID, a.ID, b.ID},
			"sort=-title":                   {c.ID, a.ID, b.ID},
		} {
			p := decode[page](t, e.send("GET", "/api/v1/sites?"+q, e.reviewer, nil).want(t, 200, ""))
			var got []string
			for _, r := range p.Records {
				got = append(got, r.ID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("?%s: %v, want %v", q, got, want)
			}
		}
	})
}

// TestRecordsPagination walks three pages with the cursor, in creation
// order and by title.
func TestRecordsPagination(t *testing.T) {
	forDialects(t, func(t *testing.T, e *recEnv) {
		var in []custody.RecordInput
		for i, n := range []string{"Grave 7", "Grave 3", "Grave 5", "Grave 1", "Grave 6", "Grave 2", "Grave 4"} {
			in = append(in, custody.RecordInput{Kind: custody.KindSite, Reason: fmt.Sprintf("survey row %d", i),
				Data: json.RawMessage(`{"name":"` + n + `","type":"grave","locality":"UA63040090010029555","status":"reported"}`)})
		}
		created := decode[struct{ Records []custody.Record }](t, e.send("POST", "/api/v1/records", e.investigator,
			map[string]any{"records": in}).want(t, http.StatusCreated, ""))
		if len(created.Records) != 7 {
			t.Fatalf("created %d records", len(created.Records))
		}
		var ids []string
		for _, r := range created.Records {
			ids = append(ids, r.ID)
		}
		walk := func(query string) (got []string, pages []int) {
			after := ""
			for range 10 {
				q := query + "&limit=3"
				if after != "" {
					q += "&after=" + url.QueryEscape(after)
				}
				p := decode[page](t, e.send("GET", "/api/v1/sites?"+q, e.reviewer, nil).want(t, 200, ""))
				pages = append(pages, len(p.Records))
				for _, r := range p.Records {
					got = append(got, r.ID)
				}
				if p.Next == "" {
					return got, pages
				}
				after = p.Next
			}
			t.Fatalf("%s: more than 10 pages", query)
			return nil, nil
		}
		got, pages := walk("sort=id")
		if !slices.Equal(got, ids) || !slices.Equal(pages, []int{3, 3, 1}) {
			t.Errorf("by id: %v in pages %v, want %v in 3, 3, 1", got, pages, ids)
		}
		got, pages = walk("sort=title")
		want := []string{ids[3], ids[5], ids[1], ids[6], ids[2], ids[4], ids[0]}
		if !slices.Equal(got, want) || !slices.Equal(pages, []int{3, 3, 1}) {
			t.Errorf("by title: %v in pages %v, want %v", got, pages, want)
		}
		got, _ = walk("sort=-title")
		slices.Reverse(want)
		if !slices.Equal(got, want) {
			t.Errorf("by -title: %v, want %v", got, want)
		}
	})
}

type localityJSON struct {
	Code, Name, Category string
	NameLatin            string `json:"name_latin"`
	Path                 []struct {
		Code, Name, Category string
		NameLatin            string `json:"name_latin"`
	}
	Coordinates *custody.Point
	Children    *int
	Record      *custody.Record
}

// TestLocalities: the codifier is found in Ukrainian and Latin spellings,
// with the investigation's record of the locality.
func TestLocalities(t *testing.T) {
	forDialects(t, func(t *testing.T, e *recEnv) {
		search := func(q string) []localityJSON {
			t.Helper()
			r := e.send("GET", "/api/v1/localities?q="+url.QueryEscape(q), e.reviewer, nil).want(t, 200, "")
			return decode[struct{ Localities []localityJSON }](t, r).Localities
		}
		for _, q := range []string{"Ізюм", "Izium", "Izyum", "ізюм", "IZIUM"} {
			ls := search(q)
			if len(ls) == 0 || ls[0].Code != izium {
				t.Fatalf("%s: %+v, want %s first", q, ls, izium)
			}
			l := ls[0]
			if l.Name != "Ізюм" || l.NameLatin != "Izium" || l.Category != "city" || l.Record != nil {
				t.Errorf("%s: %+v", q, l)
			}
			var names []string
			for _, p := range l.Path {
				names = append(names, p.NameLatin)
			}
			if len(l.Path) != 3 || l.Path[0].Category != "oblast" || !strings.HasPrefix(names[0], "Kharkivska") ||
				l.Path[1].Category != "raion" || l.Path[2].Category != "hromada" {
				t.Errorf("%s: path %+v", q, l.Path)
			}
			if l.Coordinates == nil || l.Coordinates.Lat < 49 || l.Coordinates.Lat > 49.4 || l.Coordinates.Lon < 37 || l.Coordinates.Lon > 37.5 {
				t.Errorf("%s: coordinates %+v", q, l.Coordinates)
			}
		}
		if ls := search("Izium"); len(ls) > 10 {
			t.Errorf("%d results over the default limit", len(ls))
		}
		r := e.send("GET", "/api/v1/localities?q=Izium&limit=1", e.reviewer, nil).want(t, 200, "")
		if ls := decode[struct{ Localities []localityJSON }](t, r).Localities; len(ls) != 1 {
			t.Errorf("limit=1: %d results", len(ls))
		}
		if r := e.send("GET", "/api/v1/localities?q=Qqqqxxzz", e.reviewer, nil).want(t, 200, ""); !bytes.Contains(r.body, []byte(`"localities": []`)) {
			t.Errorf("no match: %s", r.body)
		}

		// The unit alone, before anything is recorded of it.
		d := decode[struct {
			Locality localityJSON
			Record   *custody.Record
			History  []custody.RecordVersion
		}](t, e.send("GET", "/api/v1/localities/"+izium, e.reviewer, nil).want(t, 200, ""))
		if d.Locality.Code != izium || d.Locality.Children == nil || d.Record != nil || d.History == nil || len(d.History) != 0 {
			t.Errorf("unit: %+v", d)
		}
		oblast := decode[struct{ Locality localityJSON }](t, e.send("GET", "/api/v1/localities/"+d.Locality.Path[0].Code, e.reviewer, nil).want(t, 200, ""))
		if oblast.Locality.Children == nil || *oblast.Locality.Children < 5 || len(oblast.Locality.Path) != 0 {
			t.Errorf("oblast: %+v", oblast.Locality)
		}

		// With its record.
		rec := e.create("localities", `{"code":"UA63040090010029555","occupied_on":"2022-04-01","liberated_on":"2022-09-10","population_before":45884}`)
		for _, q := range []string{"Ізюм", "Izium", "Izyum"} {
			ls := search(q)
			if ls[0].Record == nil || ls[0].Record.ID != izium || ls[0].Record.Version != 1 {
				t.Errorf("%s after recording: %+v", q, ls[0].Record)
			}
		}
		for _, code := range []string{izium, strings.ToLower(izium)} {
			d = decode[struct {
				Locality localityJSON
				Record   *custody.Record
				History  []custody.RecordVersion
			}](t, e.send("GET", "/api/v1/localities/"+code, e.reviewer, nil).want(t, 200, ""))
			if d.Record == nil || d.Record.ID != rec.ID || len(d.History) != 1 || d.Locality.Code != izium {
				t.Errorf("%s with record: %+v", code, d)
			}
		}
		p := decode[page](t, e.send("GET", "/api/v1/localities", e.reviewer, nil).want(t, 200, ""))
		if len(p.Records) != 1 || p.Records[0].ID != izium {
			t.Errorf("locality records: %+v", p)
		}

		for q, want := range map[string]int{
			"/api/v1/localities/UA99999999999999999":  404,
			"/api/v1/localities/Izium":                400,
			"/api/v1/localities?q=":                   400,
			"/api/v1/localities?q=%20":                400,
			"/api/v1/localities?q=Izium&limit=101":    400,
			"/api/v1/localities?q=Izium&limit=0":      400,
			"/api/v1/localities?q=Izium&status=x":     400,
			"/api/v1/localities?q=Izium&locality=UA1": 400,
			"/api/v1/localities?name=Izium":           400,
		} {
			code := custody.EINVALID
			if want == 404 {
				code = custody.ENOTFOUND
			}
			e.send("GET", q, e.reviewer, nil).want(t, want, code)
		}
	})
}

// TestSearchAndStats: the full-text search and the figures, through the
// API.
func TestSearchAndStats(t *testing.T) {
	forDialects(t, func(t *testing.T, e *recEnv) {
		site := e.create("sites", `{"name":"Forest burial site, Pishchanska street","type":"mass_burial","locality":"UA63040090010029555","status":"excavation","found_on":"2022-09-15"}`)
		e.create("remains", `{"site":"`+site.ID+`","grave":"212","body":"17","recovered_at":"2022-09-17","torture":[{"sign":"ligature marks on both wrists","grade":"highly_consistent"}]}`)
		e.create("incidents", `{"type":"killing","time":"2022-04","precision":"month","locality":"UA63040090010029555","killed_confirmed":3,"killed_estimated":2}`)

		type hits struct{ Hits []custody.SearchHit }
		h := decode[hits](t, e.send("GET", "/api/v1/search?q=Pishchanska", e.reviewer, nil).want(t, 200, ""))
		if len(h.Hits) != 1 || h.Hits[0].ID != site.ID || h.Hits[0].Kind != custody.KindSite || !strings.Contains(h.Hits[0].Snippet, "«") {
			t.Errorf("search: %+v", h.Hits)
		}
		h = decode[hits](t, e.send("GET", "/api/v1/search?q=ligature&kind=remains&locality="+izium+"&from=2022-09&to=2022-09-30&limit=5", e.reviewer, nil).want(t, 200, ""))
		if len(h.Hits) != 1 || h.Hits[0].Kind != custody.KindRemains {
			t.Errorf("search with filters: %+v", h.Hits)
		}
		r := e.send("GET", "/api/v1/search?q=Pishchanska&kind=person", e.reviewer, nil).want(t, 200, "")
		if !bytes.Contains(r.body, []byte(`"hits": []`)) {
			t.Errorf("no hits: %s", r.body)
		}
		for _, q := range []string{"", "q=", "q=%20", "q=x&kind=widget", "q=x&kind=sites", "q=x&limit=201", "q=x&limit=0", "q=x&locality=Izium",
			"q=x&from=2022-02-30", "q=x&to=soon", "q=x&sort=date", "q=x&q=y"} {
			e.send("GET", "/api/v1/search?"+q, e.reviewer, nil).want(t, http.StatusBadRequest, custody.EINVALID)
		}

		for _, q := range []string{"", "?locality=" + izium} {
			st := decode[custody.Stats](t, e.send("GET", "/api/v1/stats"+q, e.reviewer, nil).want(t, 200, ""))
			if st.Bodies != 1 || st.Torture != 1 || st.KilledConfirmed != 3 || st.KilledEstimated != 2 ||
				st.Records[custody.KindSite] != 1 || st.Records[custody.KindRemains] != 1 {
				t.Errorf("stats%s: %+v", q, st)
			}
			if len(st.IncidentsByMonth) != 1 || st.IncidentsByMonth[0] != (custody.MonthCount{Month: "2022-04", Type: "killing", Count: 1}) {
				t.Errorf("stats%s: incidents by month %+v", q, st.IncidentsByMonth)
			}
		}
		st := decode[custody.Stats](t, e.send("GET", "/api/v1/stats?locality=UA63040010010039074", e.reviewer, nil).want(t, 200, ""))
		if st.Bodies != 0 || st.KilledConfirmed != 0 {
			t.Errorf("stats of Balakliia: %+v", st)
		}
		e.send("GET", "/api/v1/stats?locality=UA99999999999999999", e.reviewer, nil).want(t, http.StatusNotFound, custody.ENOTFOUND)
		e.send("GET", "/api/v1/stats?locality=Izium", e.reviewer, nil).want(t, http.StatusBadRequest, custody.EINVALID)
		e.send("GET", "/api/v1/stats?kind=site", e.reviewer, nil).want(t, http.StatusBadRequest, custody.EINVALID)
	})
}

// TestRecordsAreData: markup in a record comes back as JSON-escaped data.
func TestRecordsAreData(t *testing.T) {
	e := newRecEnv(t, "sqlite")
	const script = `<script>alert(1)</script>`
	rec := e.create("sites", `{"name":"`+script+`","type":"building","locality":"UA63040090010029555","status":"reported","description":"<img src=x onerror=alert(2)>"}`)
	if rec.Title != script {
		t.Fatalf("title %q", rec.Title)
	}
	for _, path := range []string{"/api/v1/sites/" + rec.ID, "/api/v1/sites", "/api/v1/localities?q=Izium"} {
		r := e.send("GET", path, e.reviewer, nil).want(t, 200, "")
		if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", path)
		}
		if bytes.ContainsAny(r.body, "<>") {
			t.Errorf("%s: raw markup in the body: %s", path, r.body)
		}
	}
	r := e.send("GET", "/api/v1/sites/"+rec.ID, e.reviewer, nil)
	if !bytes.Contains(r.body, []byte(`\u003cscript\u003ealert(1)\u003c/script\u003e`)) {
		t.Errorf("title not escaped as data: %s", r.body)
	}
	d := decode[detail](t, r)
	var site custody.Site
	if err := json.Unmarshal(d.Record.Data, &site); err != nil || site.Name != script || d.Record.Title != script {
		t.Errorf("round trip: %q %q %v", d.Record.Title, site.Name, err)
	}
	// An error that quotes input quotes it escaped too.
	r = e.send("POST", "/api/v1/sites", e.investigator, `{"name":"x","type":"<b>bold</b>","locality":"UA63040090010029555","status":"reported"}`).
		want(t, 400, custody.EINVALID)
	if bytes.ContainsAny(r.body, "<>") {
		t.Errorf("raw markup in an error: %s", r.body)
	}
}

// TestRecordWarnings: accepted input worth a second look comes back with
// the record.
func TestRecordWarnings(t *testing.T) {
	e := newRecEnv(t, "sqlite")
	r := e.send("POST", "/api/v1/sites", e.investigator, `{"name":"Filtration camp","type":"detention","locality":"UA63040090010029555","status":"reported","location":{"point":{"lat":47.1,"lon":42.5}}}`).
		want(t, http.StatusCreated, "")
	if rec := decode[custody.Record](t, r); len(rec.Warnings) == 0 || !strings.Contains(rec.Warnings[0], "outside Ukraine") {
		t.Errorf("warnings %v", rec.Warnings)
	}
}

// TestOpenAPIServed: the document is served as JSON and names itself.
func TestOpenAPIServed(t *testing.T) {
	e := newRecEnv(t, "sqlite")
	r := e.send("GET", "/api/v1/openapi.json", e.reviewer, nil).want(t, 200, "")
	doc := decode[struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]any
	}](t, r)
	if doc.OpenAPI != "3.1.0" || doc.Paths["/api/v1/openapi.json"]["get"] == nil || doc.Paths["/api/v1/sites/{id}"]["put"] == nil {
		t.Errorf("document: openapi %q, %d paths", doc.OpenAPI, len(doc.Paths))
	}
}

// FuzzRecordBodies feeds arbitrary JSON bodies to the record routes:
// client input must never cause a 5xx, a panic or a leak.
func FuzzRecordBodies(f *testing.F) {
	site := `{"name":"Forest burial site","type":"mass_burial","locality":"UA63040090010029555","status":"reported"}`
	for route := range uint8(5) {
		f.Add(route, []byte(site))
		f.Add(route, []byte(`{"base":1,"data":`+site+`,"reason":"r"}`))
		f.Add(route, []byte(`{"records":[{"kind":"site","data":`+site+`}]}`))
	}
	f.Add(uint8(0), []byte(`{"name":"\u0000","type":"grave","locality":"UA63040090010029555","status":"reported"}`))
	f.Add(uint8(0), []byte(`{"name":"x","type":"grave","locality":"UA63040090010029555","status":"reported","location":{"polygon":[[1,2],[3,4],[5,6],[1,2]]}}`))
	f.Add(uint8(0), []byte(`{"name":"x","type":"grave","locality":"UA63040090010029555","status":"reported","graves":1e400}`))
	f.Add(uint8(1), []byte(`{"records":[{"kind":"remains","data":{"site":"0192f000-0000-7000-8000-00000000000a","body":"1","age_min":-1}}]}`))
	f.Add(uint8(1), []byte(`{"records":null}`))
	f.Add(uint8(2), []byte(`{"base":-9223372036854775808,"data":{}}`))
	f.Add(uint8(2), []byte(`{"base":1,"data":"\ud800"}`))
	f.Add(uint8(3), []byte(`{"base":1,"reason":"`+strings.Repeat("é", 3000)+`"}`))
	f.Add(uint8(4), []byte(`{"code":"UA63040090010029555","population_before":-1}`))
	f.Add(uint8(4), []byte(`{"code":"UA63040090010029555","occupied_on":"2022-02-30"}`))
	e := newRecEnv(f, "sqlite")
	rec := e.create("sites", site)
	routes := []struct{ method, path string }{
		{"POST", "/api/v1/sites"},
		{"POST", "/api/v1/records"},
		{"PUT", "/api/v1/sites/" + rec.ID},
		{"POST", "/api/v1/sites/" + rec.ID + "/withdraw"},
		{"POST", "/api/v1/localities"},
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := routes[int(route)%len(routes)]
		req := httptest.NewRequest(rt.method, rt.path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.investigator)
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s: status %d for %q: %s", rt.method, rt.path, w.Code, body, w.Body)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s %s: response is not JSON: %q", rt.method, rt.path, w.Body)
		}
		checkNoLeak(t, w.Code, w.Body.Bytes())
	})
}

// changes counts the log's entries other than audited reads (which every
// read of personal data adds).
func (e *recEnv) changes() uint64 {
	e.t.Helper()
	recs, err := e.db.Records(context.Background(), 0, e.logSize())
	if err != nil {
		e.t.Fatal(err)
	}
	var n uint64
	for _, r := range recs {
		en, err := sqlstore.DecodeLeaf(r.Leaf)
		if err != nil {
			e.t.Fatal(err)
		}
		if en.Type != custody.EntryRead && en.Type != custody.EntryReveal {
			n++
		}
	}
	return n
}
