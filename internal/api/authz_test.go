package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/blobstore"
	"github.com/custody-dev/custody/internal/evidence"
	"github.com/custody-dev/custody/internal/ledger"
	"github.com/custody-dev/custody/internal/locality"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
)

// The authorisation matrix (issue 6): every route of apiRoutes × every role
// × the compartment the request touches, sent over HTTP with the role's API
// token, against the answer the permission table gives (expectation):
//
//   - allowed: 2xx;
//   - the role lacks the route's permission (or the kind it writes, or the
//     clearance a reveal needs): 403;
//   - the record or item is in a compartment the role does not see: 404 —
//     to the user it does not exist.
//
// Compartments: "own" is team A and case A, which every matrix user holds
// (as a member of team A; the reviewer by a grant of case A); "other" is
// team B and case B, which only an outsider holds; "general" records and
// items are in no compartment (seen with read-general). A route with an
// {id} gets the fixture of that compartment; a creation refers, in its
// body, to a fixture of that compartment; a listing (no object: lists,
// search, statistics) is checked for leakage instead: the compartment's
// fixtures are in it exactly when the role sees the compartment. Every
// response of every cell is also checked for leakage: it never shows an
// ID of a compartment the role does not see (unless the request named it).
//
// A route with no request builder (a new route) fails the matrix; so does
// a route that names no permission (routes() refuses it).

// compartment is a column of the matrix.
type compartment string

const (
	own     compartment = "own"
	other   compartment = "other"
	general compartment = "general"
)

var matrixCompartments = []compartment{own, other, general}

// mainTag marks the main fixtures' text (searched for by the search
// cells); other records are tagged otherwise, so that search results stay
// few.
const mainTag = "zorbatest"

// fixture is what one compartment holds.
type fixture struct {
	team, kase string            // its team and case ("" in general)
	rec        map[string]string // the main record of each kind (no case, team or task in general)
	item       string
	code       string   // the KATOTTH code of its sites and incidents (its statistics)
	ids        []string // every record and item in it, fresh ones included
}

// comps returns the compartments its records are put in explicitly.
func (f *fixture) comps() []string {
	if f.team == "" {
		return nil
	}
	return []string{f.team, f.kase}
}

type authzEnv struct {
	t        testing.TB
	ctx      context.Context
	svc      *evidence.Service
	db       *sqlstore.DB
	server   *Server
	srv      *httptest.Server
	users    map[custody.Role]*custody.User
	tokens   map[custody.Role]string
	outsider *custody.User // holds team B: the other user of the routes on a user
	fx       map[compartment]*fixture
	locality string            // a locality record
	fresh    map[string]string // cell key → a record only that cell changes (updates, withdrawals)
	code     map[string]string // fresh locality record → its code
	sessions map[string]string // role and compartment → a web session to revoke
	codes    []string          // KATOTTH codes not used yet
	logSize  uint64            // the published log's size
	n        int
}

var authzCodifier = sync.OnceValues(locality.Load)

// newAuthzEnv builds the store of the matrix: users of every role,
// compartments A and B, fixtures of every kind and items in A, B and in
// none, fresh records for every cell that changes one, web sessions.
func newAuthzEnv(t testing.TB, dialect string) *authzEnv {
	t.Helper()
	ctx := context.Background()
	g, err := authzCodifier()
	if err != nil {
		t.Fatalf("load the codifier: %v", err)
	}
	dir := t.TempDir()
	db, err := sqlstore.Open(ctx, sqltest.DSN(t, dialect), sqlstore.Options{})
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
	origin := "custody.test/authz"
	skey, vkey, err := ledger.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := evidence.New(evidence.Config{StoreID: "0192f000-0000-7000-8000-000000000006", Origin: origin, SignerKey: skey,
		VerifierKey: vkey, DB: db, Blobs: blobs, Public: pub, Private: priv, Localities: g})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Init(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	a := &authzEnv{t: t, ctx: ctx, svc: svc, db: db, users: map[custody.Role]*custody.User{}, tokens: map[custody.Role]string{},
		fx: map[compartment]*fixture{}, fresh: map[string]string{}, code: map[string]string{}, sessions: map[string]string{}}
	// Villages of the codifier, for the compartments' statistics and for
	// locality records (one per record: a locality record's ID is its code).
	var walk func(code string)
	walk = func(code string) {
		for _, u := range g.Children(code) {
			if len(a.codes) >= 400 {
				return
			}
			if u.Category == locality.Village {
				a.codes = append(a.codes, u.Code)
			}
			walk(u.Code)
		}
	}
	walk("")

	for _, role := range custody.Roles {
		u, tok, err := svc.CreateUser(ctx, custody.SystemActor, "u-"+string(role), role, "")
		if err != nil {
			t.Fatal(err)
		}
		a.users[role], a.tokens[role] = u, tok
	}
	if a.outsider, _, err = svc.CreateUser(ctx, custody.SystemActor, "outsider", custody.RoleInvestigator, ""); err != nil {
		t.Fatal(err)
	}

	// The compartments: team A's members are the matrix users (the
	// reviewer aside), team B's the outsider; each case is in its team's
	// compartment and each team in its case's, so that holding either
	// shows both.
	for _, c := range matrixCompartments {
		a.fx[c] = &fixture{rec: map[string]string{}, code: a.nextCode()}
	}
	var membersA []string
	for _, role := range custody.Roles {
		if role != custody.RoleReviewer {
			membersA = append(membersA, fmt.Sprintf(`{"name":"Member %s","role":"police","user":%q}`, role, a.users[role].Name))
		}
	}
	teamData := map[compartment]string{
		own:   `{"name":"Team zorbatest own","type":"mobile","members":[` + strings.Join(membersA, ",") + `]}`,
		other: `{"name":"Team zorbatest other","type":"mobile","members":[{"name":"Outsider","role":"police","user":"outsider"}]}`,
	}
	for _, c := range []compartment{own, other} {
		f := a.fx[c]
		f.team = a.create(custody.RecordInput{Kind: custody.KindTeam, Data: json.RawMessage(teamData[c])})
		f.kase = a.create(custody.RecordInput{Kind: custody.KindCase, Data: json.RawMessage(`{"number":"12022220000000` + fmt.Sprint(100+len(c)) +
			`","title":"Case zorbatest ` + string(c) + `"}`), Compartments: []string{f.team}})
		if _, err := svc.UpdateRecord(ctx, custody.SystemActor, custody.RecordInput{Kind: custody.KindTeam, ID: f.team, Base: 1,
			Data: json.RawMessage(teamData[c]), Compartments: []string{f.kase}}); err != nil {
			t.Fatal(err)
		}
		f.rec[custody.KindTeam], f.rec[custody.KindCase] = f.team, f.kase
		f.ids = append(f.ids, f.team, f.kase)
	}
	if err := svc.Grant(ctx, a.users[custody.RoleAdmin], a.users[custody.RoleReviewer].Name, a.fx[own].kase, "matrix", false); err != nil {
		t.Fatal(err)
	}

	// The main fixtures: a record of every kind (a protected witness among
	// them) and an item in each compartment.
	a.locality = a.create(custody.RecordInput{Kind: custody.KindLocality, Data: json.RawMessage(`{"code":"` + a.nextCode() + `","notes":"zorbatest"}`)})
	for _, c := range matrixCompartments {
		f := a.fx[c]
		for _, kind := range []string{custody.KindSite, custody.KindPerson, custody.KindRemains, custody.KindTestimony, custody.KindIncident, custody.KindTask} {
			data, ok := a.data(kind, c, mainTag+" "+string(c), "")
			if !ok {
				continue
			}
			if kind == custody.KindPerson {
				data = strings.TrimSuffix(data, "}") + `,"protection":"low"}`
			}
			f.rec[kind] = a.create(custody.RecordInput{Kind: kind, Data: json.RawMessage(data), Compartments: f.comps()})
			f.ids = append(f.ids, f.rec[kind])
		}
		it, err := svc.Intake(ctx, custody.SystemActor, custody.IntakeRequest{Name: "zorbatest-" + string(c) + ".txt",
			Description: mainTag + " " + string(c), Content: strings.NewReader("the content of " + string(c)), Compartments: f.comps()})
		if err != nil {
			t.Fatal(err)
		}
		f.item = it.ID
		f.ids = append(f.ids, it.ID)
	}

	// The server, and what its cells need: a record for every cell that
	// updates or withdraws one (each changes its own), a web session for
	// every cell that revokes one.
	a.server = New(svc, nil)
	var fresh []custody.RecordInput
	var keys []string
	var of []compartment
	for _, rt := range a.server.apiRoutes() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		if rt.kind == "" || !(method == "PUT" || strings.HasSuffix(path, "/withdraw")) {
			continue
		}
		for _, role := range custody.Roles {
			for _, c := range matrixCompartments {
				code := ""
				if rt.kind == custody.KindLocality {
					if c == general {
						continue
					}
					code = a.nextCode()
				}
				data, ok := a.data(rt.kind, c, fmt.Sprintf("fresh %s %d", c, a.next()), code)
				if !ok || c == general && (rt.kind == custody.KindCase || rt.kind == custody.KindTeam) {
					continue // a case or team is always in its own compartment: none is general
				}
				in := custody.RecordInput{Kind: rt.kind, Data: json.RawMessage(data)}
				if rt.kind != custody.KindLocality {
					in.Compartments = a.fx[c].comps()
				}
				fresh = append(fresh, in)
				keys, of = append(keys, cellKey(rt, role, c)), append(of, c)
				if code != "" {
					a.code[cellKey(rt, role, c)] = code
				}
			}
		}
	}
	recs, err := svc.CreateRecords(ctx, custody.SystemActor, fresh)
	if err != nil {
		t.Fatalf("create the fresh records: %v", err)
	}
	for i, r := range recs {
		a.fresh[keys[i]] = r.ID
		if r.Kind != custody.KindLocality {
			a.fx[of[i]].ids = append(a.fx[of[i]].ids, r.ID)
		}
	}
	now := time.Now().UTC()
	for _, role := range custody.Roles {
		for _, c := range []compartment{own, other} {
			u := a.users[role]
			if c == other {
				u = a.outsider
			}
			var h [32]byte
			rand.Read(h[:])
			id := hex.EncodeToString(h[:])
			if err := db.CreateSession(ctx, sqlstore.SessionRow{IDHash: id, UserID: u.ID, CSRF: "csrf", CreatedAt: custody.FormatTime(now),
				LastSeen: custody.FormatTime(now), IdleUntil: custody.FormatTime(now.Add(time.Hour)), ExpiresAt: custody.FormatTime(now.Add(2 * time.Hour))}); err != nil {
				t.Fatal(err)
			}
			a.sessions[string(role)+"/"+string(c)] = id[:16]
		}
	}
	if a.logSize, err = svc.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewServer(a.server)
	t.Cleanup(a.srv.Close)
	return a
}

func cellKey(rt route, role custody.Role, c compartment) string {
	return rt.pattern + "/" + string(role) + "/" + string(c)
}

func (a *authzEnv) next() int { a.n++; return a.n }

func (a *authzEnv) nextCode() string {
	if len(a.codes) == 0 {
		a.t.Fatal("out of KATOTTH codes")
	}
	c := a.codes[0]
	a.codes = a.codes[1:]
	return c
}

// create makes one record as the store itself (which holds no compartment
// and joins none) and returns its ID.
func (a *authzEnv) create(in custody.RecordInput) string {
	a.t.Helper()
	recs, err := a.svc.CreateRecords(a.ctx, custody.SystemActor, []custody.RecordInput{in})
	if err != nil {
		a.t.Fatalf("create %s %s: %v", in.Kind, in.Data, err)
	}
	return recs[0].ID
}

// data returns valid data of a record of kind that refers only to
// compartment c's fixtures (its site, witness, team, ...), with tag in its
// text; refers reports whether it refers to one. ok is false for what
// cannot be general (a task always has a team). code is a locality
// record's.
func (a *authzEnv) data(kind string, c compartment, tag, code string) (data string, ok bool) {
	f := a.fx[c]
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	switch kind {
	case custody.KindLocality:
		return `{"code":` + q(code) + `,"notes":` + q(tag) + `}`, true
	case custody.KindSite:
		s := `{"name":` + q("Site "+tag) + `,"type":"mass_burial","locality":` + q(f.code) + `,"status":"reported"`
		if f.kase != "" {
			s += `,"case":` + q(f.kase)
		}
		return s + `}`, true
	case custody.KindRemains:
		return `{"site":` + q(f.rec[custody.KindSite]) + `,"body":` + q(tag) + `}`, true
	case custody.KindPerson:
		return `{"roles":["witness"],"name":` + q("Person "+tag) + `}`, true
	case custody.KindTestimony:
		return `{"witness":` + q(f.rec[custody.KindPerson]) + `,"interviewer":"I. Matrix","date":"2022-09-20","language":"uk","transcript":` + q(tag) + `}`, true
	case custody.KindIncident:
		return `{"type":"strike","time":"2022-03-09","precision":"day","locality":` + q(f.code) + `,"killed_confirmed":1,"site":` +
			q(f.rec[custody.KindSite]) + `,"description":` + q(tag) + `}`, true
	case custody.KindTeam:
		return `{"name":` + q("Team "+tag) + `,"type":"mobile","members":[{"name":"Witness member","role":"police","person":` +
			q(f.rec[custody.KindPerson]) + `}]}`, true
	case custody.KindTask:
		if f.team == "" {
			return "", false
		}
		return `{"title":` + q("Task "+tag) + `,"team":` + q(f.team) + `,"status":"open"}`, true
	case custody.KindCase:
		return `{"number":"12022220000000999","title":` + q("Case "+tag) + `,"persons":[` + q(f.rec[custody.KindPerson]) + `]}`, true
	}
	a.t.Fatalf("no data for kind %s", kind)
	return "", false
}

// refersTo reports whether data of kind made by a.data refers to a record
// of its compartment.
func refersTo(kind string, c compartment) bool {
	switch kind {
	case custody.KindLocality, custody.KindPerson:
		return false
	case custody.KindSite:
		return c != general // through its case
	}
	return true
}

// authzRequest is one cell's request and what its answer is judged by.
type authzRequest struct {
	method, path string
	ctype        string
	body         []byte
	refers       compartment // the compartment of a record or item the body refers to ("": none)
	kind         string      // the kind the body writes, when the route does not name it (the batch)
	self         bool        // routes on a user: the caller's own account
	protection   string      // a reveal: the protection level of the identity shown
	list         bool        // a listing: checked for leakage
	present      []string    // a listing: what it shows exactly when the role sees the compartment
	public       bool        // a listing: present shows whatever the compartment (locality records)
}

func jsonBytes(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// request builds the cell's request; ok is false when the cell does not
// exist (what a compartment cannot hold, a creation in no compartment, a
// route without an object in general).
func (a *authzEnv) request(t testing.TB, rt route, role custody.Role, c compartment) (r authzRequest, ok bool) {
	method, path, _ := strings.Cut(rt.pattern, " ")
	r.method = method
	f := a.fx[c]
	setID := func(id string) bool {
		if id == "" {
			return false
		}
		path = strings.Replace(path, "{id}", id, 1)
		return true
	}
	body := func(v any) { r.body, r.ctype = jsonBytes(t, v), "application/json" }
	ok = true
	switch {
	case rt.pattern == "GET /api/v1/items":
		path += "?limit=1000"
		r.list, r.present = true, []string{f.item}
	case rt.pattern == "POST /api/v1/items":
		if c == general {
			return r, false
		}
		path += "?name=upload.txt&description=fresh&case=" + f.kase
		r.body, r.ctype, r.refers = []byte(fmt.Sprintf("upload %d", a.next())), "application/octet-stream", c
	case strings.HasPrefix(rt.pattern, "GET /api/v1/items/{id}"):
		setID(f.item)
	case rt.pattern == "POST /api/v1/items/{id}/handover":
		setID(f.item)
		body(map[string]string{"to": fmt.Sprintf("Holder %d", a.next()), "reason": "matrix"})
	case rt.pattern == "GET /api/v1/log/checkpoint", rt.pattern == "GET /api/v1/log/key", rt.pattern == "GET /api/v1/me",
		rt.pattern == "GET /api/v1/openapi.json", rt.pattern == "GET /api/v1/sessions":
	case rt.pattern == "GET /api/v1/log/proof/{index}":
		path = strings.Replace(path, "{index}", "1", 1)
	case rt.pattern == "GET /api/v1/log/consistency":
		path += fmt.Sprintf("?from=1&to=%d", a.logSize)
	case rt.pattern == "POST /api/v1/records":
		if c == general {
			return r, false
		}
		data, _ := a.data(custody.KindSite, c, fmt.Sprintf("batch %s %d", c, a.next()), "")
		body(map[string]any{"records": []map[string]any{{"kind": custody.KindSite, "data": json.RawMessage(data)}}})
		r.kind, r.refers = custody.KindSite, c
	case rt.pattern == "GET /api/v1/search":
		path += "?q=" + mainTag + "&limit=200"
		r.list, r.present = true, []string{f.rec[custody.KindSite]}
	case rt.pattern == "GET /api/v1/stats":
		r.list, r.present = true, []string{f.code}
	case rt.pattern == "GET /api/v1/cases/{id}/matrix":
		ok = setID(f.kase)
	case rt.pattern == "POST /api/v1/records/{id}/reveal":
		setID(f.rec[custody.KindPerson])
		body(map[string]string{"reason": "matrix"})
		r.protection = "low"
	case rt.pattern == "GET /api/v1/records/{id}/access":
		setID(f.rec[custody.KindPerson])
	case strings.HasPrefix(rt.pattern, "GET /api/v1/users/{name}/"), strings.HasPrefix(rt.pattern, "POST /api/v1/users/{name}/"),
		strings.HasPrefix(rt.pattern, "PUT /api/v1/users/{name}/"):
		u := a.users[role]
		if c == other {
			u = a.outsider
		} else if c == general {
			return r, false
		}
		r.self = u == a.users[role]
		path = strings.Replace(path, "{name}", u.Name, 1)
		switch rt.pattern {
		case "POST /api/v1/users/{name}/grants":
			body(map[string]string{"compartment": a.fx[own].kase, "reason": "matrix"})
		case "PUT /api/v1/users/{name}/clearance":
			body(map[string]string{"clearance": custody.DefaultClearance(u.Role), "reason": "matrix"})
		}
	case rt.pattern == "POST /api/v1/sessions/{id}/revoke":
		ok = setID(a.sessions[string(role)+"/"+string(c)])
	case rt.kind != "":
		ok = a.recordRequest(t, rt, role, c, &r, &path)
	default:
		t.Fatalf("the matrix has no request for route %s: add one to authzEnv.request", rt.pattern)
	}
	r.path = path
	return r, ok
}

// recordRequest builds the request of a per-kind collection's route.
func (a *authzEnv) recordRequest(t testing.TB, rt route, role custody.Role, c compartment, r *authzRequest, path *string) bool {
	k, f := rt.kind, a.fx[c]
	base := "/api/v1/" + pluralOf(k)
	fresh := a.fresh[cellKey(rt, role, c)]
	setID := func(id string) bool {
		if id == "" {
			return false
		}
		*path = base + "/" + id + strings.TrimPrefix(*path, base+"/{id}")
		return true
	}
	body := func(v any) { r.body, r.ctype = jsonBytes(t, v), "application/json" }
	switch {
	case r.method == "GET" && *path == base:
		*path += "?limit=1000"
		r.list, r.present = true, []string{f.rec[k]}
		if k == custody.KindLocality {
			r.present, r.public = []string{a.locality}, true
		}
		if f.rec[k] == "" && k != custody.KindLocality {
			r.present = nil
		}
		return true
	case r.method == "POST" && *path == base:
		if c == general {
			return false
		}
		code := ""
		if k == custody.KindLocality {
			code = a.nextCode()
		}
		data, _ := a.data(k, c, fmt.Sprintf("created %s %d", c, a.next()), code)
		r.body, r.ctype = []byte(data), "application/json"
		if refersTo(k, c) {
			r.refers = c
		}
		return true
	case r.method == "GET":
		if k == custody.KindLocality {
			return c != general && setID(a.locality)
		}
		return setID(f.rec[k])
	case fresh == "":
		return false // nothing of the kind can be in c
	case r.method == "PUT":
		data, _ := a.data(k, c, fmt.Sprintf("updated %s %d", c, a.next()), a.code[cellKey(rt, role, c)])
		body(map[string]any{"base": 1, "data": json.RawMessage(data), "reason": "matrix"})
		return setID(fresh)
	case strings.HasSuffix(*path, "/withdraw"):
		body(map[string]any{"base": 1, "reason": "matrix"})
		return setID(fresh)
	}
	t.Fatalf("the matrix has no request for route %s: add one to authzEnv.recordRequest", rt.pattern)
	return false
}

// sees reports whether a matrix user of role sees compartment c: every one
// holds A; B only with all-compartments; general records with
// read-general.
func sees(role custody.Role, c compartment) bool {
	switch c {
	case own:
		return role.Can(custody.PermRead)
	case other:
		return role.Can(custody.PermAllCompartments)
	}
	return role.Can(custody.PermAllCompartments) || role.Can(custody.PermReadGeneral)
}

// expectation is the answer the permission table gives to role's request
// on rt touching compartment c: 200 (any 2xx) for allowed, else 403 or 404,
// with the reason.
func expectation(rt route, role custody.Role, c compartment, r authzRequest) (int, string) {
	if rt.perm != anyUser && !role.Can(rt.perm) {
		return http.StatusForbidden, fmt.Sprintf("role %s lacks the %s permission", role, rt.perm)
	}
	kind := rt.kind
	if r.kind != "" {
		kind = r.kind
	}
	if rt.perm == custody.PermWrite && kind != "" && !role.CanWriteKind(kind) {
		return http.StatusForbidden, fmt.Sprintf("role %s does not write %s records", role, kind)
	}
	if rt.others != "" && !r.self && !role.Can(rt.others) {
		return http.StatusForbidden, fmt.Sprintf("another user's account needs the %s permission", rt.others)
	}
	if rt.target != noTarget && !sees(role, c) {
		return http.StatusNotFound, fmt.Sprintf("the object is in the %s compartment, which role %s does not see", c, role)
	}
	if r.refers != "" && !sees(role, r.refers) {
		return http.StatusNotFound, fmt.Sprintf("the body refers to the %s compartment, which role %s does not see", r.refers, role)
	}
	if rt.clearance && custody.ClearanceRank(custody.DefaultClearance(role)) < custody.ClearanceRank(r.protection) {
		return http.StatusForbidden, fmt.Sprintf("role %s's clearance %s is below the protection %s", role, custody.DefaultClearance(role), r.protection)
	}
	return http.StatusOK, "allowed"
}

// cell sends the request and judges the answer.
func (a *authzEnv) cell(t *testing.T, rt route, role custody.Role, c compartment, r authzRequest) {
	want, why := expectation(rt, role, c, r)
	req, err := http.NewRequest(r.method, a.srv.URL+r.path, bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.tokens[role])
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("%s as %s, %s compartment", rt.pattern, role, c)
	got := resp.StatusCode
	switch {
	case want == http.StatusOK && (got < 200 || got > 299):
		t.Errorf("%s: status %d, want 2xx (%s): %.300s", name, got, why, body)
	case want != http.StatusOK && got != want:
		t.Errorf("%s: status %d, want %d (%s): %.300s", name, got, want, why, body)
	case want == http.StatusForbidden || want == http.StatusNotFound:
		var e errorBody
		json.Unmarshal(body, &e)
		if wantCode := map[int]string{403: custody.EFORBIDDEN, 404: custody.ENOTFOUND}[want]; e.Error.Code != wantCode {
			t.Errorf("%s: error code %q, want %q: %.300s", name, e.Error.Code, wantCode, body)
		}
	}
	// Nothing of a compartment the role does not see shows, in any answer
	// (an error may name what the request named).
	asked := r.path + string(r.body)
	for _, hc := range []compartment{other, general} {
		if sees(role, hc) {
			continue
		}
		for _, id := range append([]string{a.fx[hc].code}, a.fx[hc].ids...) {
			if !strings.Contains(asked, id) && bytes.Contains(body, []byte(id)) {
				t.Errorf("%s: the answer shows %s, of the %s compartment, which role %s does not see: %.300s", name, id, hc, role, body)
			}
		}
	}
	if r.list && got >= 200 && got <= 299 {
		for _, p := range r.present {
			shown, should := bytes.Contains(body, []byte(p)), r.public || sees(role, c)
			if shown && !should {
				t.Errorf("%s: the listing leaks %s, of the %s compartment", name, p, c)
			} else if !shown && should {
				t.Errorf("%s: the listing lacks %s, of the %s compartment, which role %s sees: %.300s", name, p, c, role, body)
			}
		}
	}
}

// isRead: the reads run first, so that writes (an administrator may write
// across compartments) cannot disturb their leakage checks.
func isRead(rt route) bool { return strings.HasPrefix(rt.pattern, "GET ") }

// TestAuthzMatrix runs the matrix on every dialect of the suite.
func TestAuthzMatrix(t *testing.T) {
	for _, d := range sqltest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			a := newAuthzEnv(t, d)
			routes := a.server.apiRoutes()
			cells := 0
			for _, reads := range []bool{true, false} {
				for _, rt := range routes {
					if isRead(rt) != reads {
						continue
					}
					if rt.perm == "" {
						t.Errorf("route %s names no permission", rt.pattern)
						continue
					}
					for _, role := range custody.Roles {
						for _, c := range matrixCompartments {
							r, ok := a.request(t, rt, role, c)
							if !ok || c == general && !r.list && rt.target == noTarget {
								continue
							}
							cells++
							t.Run(cellKey(rt, role, c), func(t *testing.T) { a.cell(t, rt, role, c, r) })
						}
					}
				}
			}
			t.Logf("%d routes, %d roles: %d cells", len(routes), len(custody.Roles), cells)
		})
	}
}

// TestRoutePermissionsSane checks the route list against the rules the
// matrix cannot see: every route names a known permission; writes need
// more than read; a per-kind write names its kind; a route that can answer
// 403 documents it.
func TestRoutePermissionsSane(t *testing.T) {
	s := New(nil, nil)
	ops := map[string]operation{}
	for _, op := range operations() {
		ops[op.method+" "+op.path] = op
	}
	for _, rt := range s.apiRoutes() {
		method, _, _ := strings.Cut(rt.pattern, " ")
		if rt.perm != anyUser && !slices.Contains(custody.Permissions, rt.perm) {
			t.Errorf("%s: unknown permission %q", rt.pattern, rt.perm)
		}
		if rt.others != "" && !slices.Contains(custody.Permissions, rt.others) {
			t.Errorf("%s: unknown permission %q for other users", rt.pattern, rt.others)
		}
		if method != "GET" && (rt.perm == anyUser || rt.perm == custody.PermRead) {
			t.Errorf("%s changes something with the %s permission only", rt.pattern, rt.perm)
		}
		if rt.perm == custody.PermWrite && rt.kind == "" && method != "POST" {
			t.Errorf("%s: a write of records names its kind", rt.pattern)
		}
		if rt.target != noTarget && !strings.Contains(rt.pattern, "{id}") {
			t.Errorf("%s: a target but no {id}", rt.pattern)
		}
		denies := false
		for _, role := range custody.Roles {
			if routeCell(rt, role) == "–" || rt.others != "" && !role.Can(rt.others) {
				denies = true
			}
		}
		if op, ok := ops[rt.pattern]; ok && denies && !slices.Contains(op.errors, http.StatusForbidden) {
			t.Errorf("%s answers 403 to some roles; its OpenAPI operation does not list 403", rt.pattern)
		}
	}
}

var updateRolesDoc = flag.Bool("update-roles-doc", false, "rewrite the route table of docs/roles.md")

const (
	routesBegin = "<!-- routes:begin -->"
	routesEnd   = "<!-- routes:end -->"
)

// routeTable renders the route list as the Markdown table of docs/roles.md.
func routeTable(routes []route) string {
	var b strings.Builder
	b.WriteString("| route | needs |")
	for _, r := range custody.Roles {
		b.WriteString(" " + string(r) + " |")
	}
	b.WriteString("\n| --- | --- |" + strings.Repeat(" --- |", len(custody.Roles)) + "\n")
	for _, rt := range routes {
		needs := string(rt.perm)
		if rt.perm == anyUser {
			needs = "any user"
		}
		if rt.perm == custody.PermWrite && rt.kind != "" {
			needs += " " + rt.kind
		}
		if rt.others != "" {
			needs += "; another user's: " + string(rt.others)
		}
		if rt.clearance {
			needs += "; clearance ≥ protection"
		}
		fmt.Fprintf(&b, "| `%s` | %s |", rt.pattern, needs)
		for _, role := range custody.Roles {
			b.WriteString(" " + routeCell(rt, role) + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// routeCell is what role may do on rt, for the table.
func routeCell(rt route, role custody.Role) string {
	switch {
	case rt.perm != anyUser && !role.Can(rt.perm),
		rt.perm == custody.PermWrite && rt.kind != "" && !role.CanWriteKind(rt.kind):
		return "–"
	case rt.others != "" && !role.Can(rt.others):
		return "own"
	case rt.target == noTarget:
		return "yes"
	case role.Can(custody.PermAllCompartments):
		return "all"
	case role.Can(custody.PermReadGeneral):
		return "held, general"
	}
	return "held"
}

// TestRoutePermissionsDocumented keeps docs/roles.md's route table the
// route list's; go test ./internal/api -run TestRoutePermissionsDocumented
// -update-roles-doc rewrites it.
func TestRoutePermissionsDocumented(t *testing.T) {
	const name = "../../docs/roles.md"
	doc, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	want := routeTable(New(nil, nil).apiRoutes())
	i, j := bytes.Index(doc, []byte(routesBegin)), bytes.Index(doc, []byte(routesEnd))
	if i < 0 || j < i {
		t.Fatalf("docs/roles.md has no %s ... %s section; put this table between them:\n\n%s", routesBegin, routesEnd, want)
	}
	got := string(doc[i+len(routesBegin) : j])
	if strings.TrimSpace(got) == strings.TrimSpace(want) {
		return
	}
	if *updateRolesDoc {
		out := slices.Concat(doc[:i+len(routesBegin)], []byte("\n"+want), doc[j:])
		if err := os.WriteFile(name, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/roles.md's route table is not the route list's: run go test ./internal/api -run TestRoutePermissionsDocumented -update-roles-doc; want:\n\n%s", want)
}
