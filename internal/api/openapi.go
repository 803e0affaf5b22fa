package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/evidence"
	"github.com/custody-dev/custody/internal/locality"
)

// route is one authenticated route under /api/v1, with what a caller needs
// to be let through. docs/roles.md ("Routes and permissions") holds the
// table made from these fields (authz_test.go checks it), and the
// authorisation test matrix (authz_test.go) derives its expectations from
// them and custody.RolePermissions.
type route struct {
	pattern string // "METHOD /api/v1/...", as http.ServeMux takes it
	handler func(http.ResponseWriter, *http.Request, *custody.User)
	// perm is the permission the caller's role needs (anyUser: every
	// authenticated user). s.auth answers 403 to a role without it before
	// the handler runs; the service checks again.
	perm custody.Permission
	// kind is the record kind of a per-kind collection's routes (and of
	// the record {id} names, when the route takes one kind only). With
	// PermWrite, the role must also write that kind
	// (custody.RoleWriteKinds): s.auth checks that too.
	kind string
	// target says what the path's {id} names when compartments may hide
	// it: outside the caller's view it does not exist (404), whatever the
	// role. The service checks it (s.auth cannot: it needs the object).
	target target
	// others is the permission needed to act on another user than the
	// caller (routes on /users/{name}); the caller's own account needs only
	// perm. s.auth checks it.
	others custody.Permission
	// clearance: the caller's clearance must be at least the protection
	// level of every identity the route shows (checked by the service).
	clearance bool
}

// anyUser is the perm of routes open to every authenticated user.
const anyUser custody.Permission = "authenticated"

// target is what a route's {id} names, for access control.
type target int

const (
	noTarget     target = iota // nothing compartments hide: no {id}, a KATOTTH code, a log index, a user, a session
	recordTarget               // a record: 404 outside the caller's compartments
	itemTarget                 // an item: likewise
)

// apiRoutes is the one list of the authenticated routes: routes() registers
// exactly these, behind s.auth, and the OpenAPI document (GET
// /api/v1/openapi.json) must describe exactly these — openapi_test.go
// compares the two and fails on an /api/v1 route registered any other way.
// Every route names its permission (routes() refuses one without).
func (s *Server) apiRoutes() []route {
	const (
		read   = custody.PermRead
		write  = custody.PermWrite
		record = recordTarget
		item   = itemTarget
	)
	rs := []route{
		{pattern: "GET /api/v1/items", handler: s.listItems, perm: read},
		{pattern: "POST /api/v1/items", handler: s.createItem, perm: write},
		{pattern: "GET /api/v1/items/{id}", handler: s.getItem, perm: read, target: item},
		{pattern: "GET /api/v1/items/{id}/content", handler: s.getContent, perm: read, target: item},
		{pattern: "GET /api/v1/items/{id}/history", handler: s.itemHistory, perm: read, target: item},
		{pattern: "GET /api/v1/items/{id}/proof", handler: s.itemProof, perm: read, target: item},
		{pattern: "POST /api/v1/items/{id}/handover", handler: s.handover, perm: write, target: item},
		{pattern: "GET /api/v1/log/checkpoint", handler: s.apiCheckpoint, perm: anyUser},
		{pattern: "GET /api/v1/log/key", handler: s.apiKey, perm: anyUser},
		{pattern: "GET /api/v1/log/proof/{index}", handler: s.indexProof, perm: anyUser},
		{pattern: "GET /api/v1/log/consistency", handler: s.consistency, perm: anyUser},
		{pattern: "GET /api/v1/me", handler: s.me, perm: anyUser},
		{pattern: "POST /api/v1/records", handler: s.createBatch, perm: write}, // the kinds are in the body: the service checks them
		{pattern: "GET /api/v1/search", handler: s.search, perm: read},
		{pattern: "GET /api/v1/stats", handler: s.stats, perm: read},
		{pattern: "GET /api/v1/cases/{id}/matrix", handler: s.caseMatrix, perm: read, kind: custody.KindCase, target: record},
		{pattern: "POST /api/v1/records/{id}/reveal", handler: s.revealRecord, perm: custody.PermReveal, target: record, clearance: true}, // access.go
		{pattern: "GET /api/v1/records/{id}/access", handler: s.accessLog, perm: custody.PermAudit, target: record},                       // access.go; items too
		{pattern: "GET /api/v1/users/{name}/grants", handler: s.userGrants, perm: anyUser, others: custody.PermGrant},                     // access.go
		{pattern: "POST /api/v1/users/{name}/grants", handler: s.changeGrant, perm: custody.PermGrant},                                    // access.go
		{pattern: "PUT /api/v1/users/{name}/clearance", handler: s.setClearance, perm: custody.PermUsers},                                 // access.go
		{pattern: "GET /api/v1/openapi.json", handler: s.openAPI, perm: anyUser},
		{pattern: "GET /api/v1/sessions", handler: s.listSessions, perm: custody.PermUsers},               // sessions.go
		{pattern: "POST /api/v1/sessions/{id}/revoke", handler: s.revokeSession, perm: custody.PermUsers}, // sessions.go
	}
	for _, k := range kindPaths {
		base := "/api/v1/" + k.plural
		list, get := s.listRecords(k), s.getRecord(k)
		t := recordTarget
		if k.kind == custody.KindLocality {
			// Locality records (reference facts, IDs their KATOTTH codes)
			// are in no compartment: every reader sees them.
			list, get, t = s.listLocalities, s.getLocality, noTarget
		}
		rs = append(rs,
			route{pattern: "GET " + base, handler: list, perm: read, kind: k.kind},
			route{pattern: "POST " + base, handler: s.createRecord(k), perm: write, kind: k.kind},
			route{pattern: "GET " + base + "/{id}", handler: get, perm: read, kind: k.kind, target: t},
			route{pattern: "PUT " + base + "/{id}", handler: s.updateRecord(k), perm: write, kind: k.kind, target: t},
			route{pattern: "POST " + base + "/{id}/withdraw", handler: s.withdrawRecord(k), perm: write, kind: k.kind, target: t},
		)
	}
	return rs
}

// openAPIDocument is the OpenAPI 3.1 document, built once. It is derived
// data (the operations below and the domain's types), not configuration.
var openAPIDocument = sync.OnceValues(buildOpenAPI)

// openAPI: GET /api/v1/openapi.json.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request, u *custody.User) {
	if _, err := queryParams(r); err != nil {
		s.error(w, r, err)
		return
	}
	doc, err := openAPIDocument()
	if err != nil {
		s.error(w, r, fmt.Errorf("build OpenAPI document: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(doc)
	}
}

// The document is built from operations: each names its route (method and
// path, exactly as in apiRoutes), its parameters, bodies and responses.
// Schemas of the domain's types are derived from the Go structs by
// reflection (field names and types as encoding/json writes them), with
// the annotations below for what the struct does not say: enumerations
// (the domain's own slices), formats, patterns, required fields.

type operation struct {
	method, path string
	id           string // operationId
	tag          string
	summary      string
	description  string
	query        []param
	body         *payload // request body
	status       int      // success status
	result       *payload // success body
	errors       []int    // error statuses besides 401 and the default
}

type param struct {
	name, description string
	schema            jsonObj
	required          bool
}

type payload struct {
	description string
	content     map[string]jsonObj // media type → schema
}

// jsonObj is a JSON object of the document.
type jsonObj = map[string]any

func ref(name string) jsonObj { return jsonObj{"$ref": "#/components/schemas/" + name} }

func jsonBody(description string, schema jsonObj) *payload {
	return &payload{description: description, content: map[string]jsonObj{"application/json": schema}}
}

func str(description string) jsonObj {
	return jsonObj{"type": "string", "description": description}
}

func with(o jsonObj, kv ...any) jsonObj {
	c := make(jsonObj, len(o)+len(kv)/2)
	for k, v := range o {
		c[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		c[kv[i].(string)] = kv[i+1]
	}
	return c
}

func arrayOf(items jsonObj) jsonObj { return jsonObj{"type": "array", "items": items} }

func object(props jsonObj, required ...string) jsonObj {
	o := jsonObj{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

func qp(name, description string, schema jsonObj) param {
	return param{name: name, description: description, schema: schema}
}

// Patterns and formats shared by the annotations and parameters.
const (
	katotthPattern = `^UA[0-9]{17}$`
	datePattern    = `^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$`
)

var (
	uuidString    = jsonObj{"type": "string", "format": "uuid"}
	katotthString = jsonObj{"type": "string", "pattern": katotthPattern}
	dateString    = jsonObj{"type": "string", "format": "date"}
)

// errorCodes lists the stable error codes of package custody.
var errorCodes = []string{custody.EINVALID, custody.ENOTFOUND, custody.ECONFLICT, custody.EUNAUTHORIZED, custody.EFORBIDDEN,
	custody.ETOOLARGE, custody.EUNAVAILABLE, custody.EINTERNAL, custody.ETAMPERED, custody.EUNSUPPORTED, custody.ENOSPACE}

// errorResponses names the shared responses of error statuses.
var errorResponses = map[int]string{
	http.StatusBadRequest:            "BadRequest",
	http.StatusUnauthorized:          "Unauthorized",
	http.StatusForbidden:             "Forbidden",
	http.StatusNotFound:              "NotFound",
	http.StatusConflict:              "Conflict",
	http.StatusRequestEntityTooLarge: "TooLarge",
	http.StatusUnprocessableEntity:   "Unsupported",
	http.StatusInsufficientStorage:   "NoSpace",
	http.StatusServiceUnavailable:    "Unavailable",
}

// kindData maps each record kind to its data's Go type.
var kindData = map[string]reflect.Type{
	custody.KindLocality:  reflect.TypeFor[custody.LocalityInfo](),
	custody.KindSite:      reflect.TypeFor[custody.Site](),
	custody.KindRemains:   reflect.TypeFor[custody.Remains](),
	custody.KindPerson:    reflect.TypeFor[custody.Person](),
	custody.KindTestimony: reflect.TypeFor[custody.Testimony](),
	custody.KindIncident:  reflect.TypeFor[custody.Incident](),
	custody.KindTeam:      reflect.TypeFor[custody.Team](),
	custody.KindTask:      reflect.TypeFor[custody.Task](),
	custody.KindCase:      reflect.TypeFor[custody.Case](),
}

// title returns a kind or plural with its first letter upper-cased.
func title(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// localityCategories lists the category names of the codifier's units.
func localityCategories() []string {
	var out []string
	for _, c := range []locality.Category{locality.Oblast, locality.SpecialCity, locality.Raion, locality.Hromada,
		locality.City, locality.UrbanSettlement, locality.Village, locality.Settlement, locality.CityDistrict} {
		out = append(out, c.String())
	}
	return out
}

func roleNames() []string {
	var out []string
	for _, r := range custody.Roles {
		out = append(out, string(r))
	}
	return out
}

// fieldNotes annotates schema properties, keyed "Schema.field". On an
// array, enum, format, pattern, minimum and maximum apply to its items.
func fieldNotes() map[string]jsonObj {
	id := func(what string) jsonObj {
		return jsonObj{"format": "uuid", "description": what}
	}
	code := func(what string) jsonObj {
		return jsonObj{"pattern": katotthPattern, "description": what + " (KATOTTH code, e.g. UA63040090010029555)"}
	}
	date := func(what string) jsonObj { return jsonObj{"format": "date", "description": what} }
	enum := func(values []string, what string) jsonObj { return jsonObj{"enum": values, "description": what} }
	count := func(what string) jsonObj { return jsonObj{"minimum": 0, "maximum": 1_000_000, "description": what} }
	age := func(what string) jsonObj { return jsonObj{"minimum": 0, "maximum": 120, "description": what} }
	timeOrDate := "RFC 3339 time, or a date YYYY-MM-DD where the time is not known"
	return map[string]jsonObj{
		"LocalityInfo.code":              code("the locality, also the record's ID"),
		"LocalityInfo.occupied_on":       date("day the occupation began"),
		"LocalityInfo.liberated_on":      date("day of liberation; not before occupied_on"),
		"LocalityInfo.population_before": count("population before the occupation"),
		"LocalityInfo.population_after":  count("population after the liberation"),

		"Site.type":             enum(custody.SiteTypes, "kind of site"),
		"Site.status":           enum(custody.SiteStatuses, "progress of the work, in this order"),
		"Site.locality":         code("settlement of the site"),
		"Site.found_on":         date("day the site was found"),
		"Site.grid":             {"description": `the exhumation grid, e.g. "2 m squares, rows A-Z, columns 1-40"`},
		"Site.graves":           count("number of graves (numbered crosses)"),
		"Site.team":             id("responsible team record"),
		"Site.case":             id("case record"),
		"Geometry.polygon":      {"description": "one ring of [lon, lat] positions, as in GeoJSON, at least 4, the last equal to the first"},
		"Geometry.point":        {"description": "give a point or a polygon, not both"},
		"Point.lat":             {"minimum": -90, "maximum": 90, "description": "latitude, WGS 84 degrees (outside Ukraine: accepted with a warning)"},
		"Point.lon":             {"minimum": -180, "maximum": 180, "description": "longitude, WGS 84 degrees"},
		"Injury.region":         enum(custody.BodyRegions, "body region"),
		"Injury.type":           enum(custody.InjuryTypes, "kind of injury"),
		"Injury.photos":         id("photo items"),
		"TortureFinding.sign":   {"description": `e.g. "ligature marks on both wrists"`},
		"TortureFinding.grade":  enum(custody.IstanbulGrades, "Istanbul Protocol grade of consistency; from consistent up it counts as a sign of torture"),
		"TortureFinding.photos": id("photo items"),
		"Identification.status": enum(custody.IDStatuses, "identified needs a scientific method (dna, dental, fingerprints)"),
		"Identification.method": enum(custody.IDMethods, "methods of identification"),
		"Identification.person": id("the identified person's record (required unless unidentified)"),
		"Identification.date":   date("day of identification"),

		"Remains.site":            id("site record"),
		"Remains.grave":           {"description": "grave number, as on the cross"},
		"Remains.body":            {"description": "body number within the site"},
		"Remains.recovered_at":    {"description": timeOrDate},
		"Remains.condition":       enum(custody.Conditions, "condition of the remains"),
		"Remains.sex":             enum(custody.Sexes, "sex"),
		"Remains.age_min":         age("estimated age, lower bound"),
		"Remains.age_max":         age("estimated age, upper bound; not below age_min"),
		"Remains.commingled":      {"description": "commingled remains of several individuals"},
		"Remains.mni":             count("minimum number of individuals; above 1 needs commingled"),
		"Remains.manner_of_death": enum(custody.MannersOfDeath, "manner of death"),
		"Remains.samples":         id("sample items (DNA, toxicology), each with its own chain of custody"),
		"Remains.case":            id("case record"),

		"Person.roles":              with(enum(custody.PersonRoles, "one or more roles, none twice"), "minItems", 1),
		"Person.sex":                enum(custody.Sexes, "sex"),
		"Person.born_on":            {"pattern": `^[0-9]{4}(-[0-9]{2}-[0-9]{2})?$`, "description": "date of birth YYYY-MM-DD, or the year YYYY"},
		"Person.locality":           code("home locality"),
		"Person.unit":               {"description": "suspects: military unit"},
		"Person.protection":         enum(custody.ProtectionLevels, "witnesses only: level of protection"),
		"Person.status":             enum(personStatuses, "missing persons: whether found"),
		"AnteMortem.last_seen_at":   {"description": timeOrDate},
		"AnteMortem.description":    {"description": "height, build, hair, marks"},
		"AnteMortem.family_contact": {"description": "for reference samples"},
		"Consent.scope":             enum(custody.ConsentScopes, "what the witness consented to; needs given"),

		"Testimony.witness":    id("the witness's person record"),
		"Testimony.date":       date("day of the interview"),
		"Testimony.locality":   code("locality of the interview"),
		"Testimony.language":   {"pattern": `^[a-z]{2,3}$`, "description": "ISO 639 language code: uk, ru, en, ..."},
		"Testimony.recordings": id("recording items"),
		"Testimony.incidents":  id("incident records"),
		"Testimony.persons":    id("person records"),
		"Testimony.case":       id("case record"),

		"Incident.type":              enum(custody.IncidentTypes, "kind of incident"),
		"Incident.time":              {"description": "RFC 3339 time for precision exact, YYYY-MM-DD for day, YYYY-MM for month"},
		"Incident.precision":         enum(custody.TimePrecisions, "precision of time"),
		"Incident.locality":          code("locality of the incident"),
		"Incident.site":              id("site record"),
		"Incident.weapon":            enum(custody.Weapons, "strikes, attacks, destruction and killings only"),
		"Incident.protected_object":  enum(custody.ProtectedObjects, "required for attack_protected"),
		"Incident.killed_confirmed":  count("killed, confirmed"),
		"Incident.killed_estimated":  count("killed beyond the confirmed, estimated"),
		"Incident.injured_confirmed": count("injured, confirmed"),
		"Incident.injured_estimated": count("injured beyond the confirmed, estimated"),
		"Incident.evidence":          id("evidence items"),
		"Incident.remains":           id("remains records"),
		"Incident.testimonies":       id("testimony records"),
		"Incident.persons":           id("person records"),
		"Incident.case":              id("case record"),

		"Team.type":       enum(custody.TeamTypes, "kind of team"),
		"Team.localities": code("settlements the team covers, none twice"),
		"Member.role":     enum(custody.MemberRoles, "role in the team"),
		"Member.user":     {"description": "the member's user account, if any"},
		"Member.person":   id("the member's person record, if any"),

		"Task.team":     id("team record"),
		"Task.due":      date("due date"),
		"Task.status":   enum(custody.TaskStates, "state of the task"),
		"Task.site":     id("site record"),
		"Task.locality": code("locality of the task"),
		"Task.produced": id("records and items the task produced"),

		"Case.number":        {"description": "national register (ЄРДР) number"},
		"Case.status":        enum(custody.CaseStates, "state of the proceedings"),
		"Case.qualification": {"pattern": `^(CCU [0-9]+(-[0-9]+)?(\([0-9]+\))?|RS [5-8](\([0-9]+\))?(\([a-z]+\))?(\([ivx]+\))?)$`, "description": `legal qualification, e.g. "CCU 438(1)", "RS 8(2)(a)(ii)"`},
		"Case.incidents":     id("incident records"),
		"Case.persons":       id("person records"),
		"Case.items":         id("evidence items"),
		"Case.opened_on":     date("day the proceedings were opened"),

		"Record.kind":              enum(custody.RecordKinds, "kind of record"),
		"Record.version":           {"minimum": 1, "description": "current version; give it as base to change the record"},
		"Record.data":              {"type": "object", "description": "the kind's data (Site, Remains, ...), as last written"},
		"Record.warnings":          {"description": "accepted input worth a second look; returned when written, not stored"},
		"Record.log_index":         {"description": "index of the log entry that made this version"},
		"RecordVersion.change":     enum([]string{"create", "update", "withdraw"}, "what the version did"),
		"RecordVersion.data":       {"type": "object", "description": "the kind's data of this version (absent for a withdrawal)"},
		"RecordVersion.entry":      id("ID of the log entry"),
		"RecordInput.kind":         enum(custody.RecordKinds, "kind of record"),
		"RecordInput.id":           {"description": "do not give for a new record, except a locality's: its KATOTTH code"},
		"RecordInput.data":         {"type": "object", "description": "the kind's data (Site, Remains, ...)"},
		"RecordInput.base":         {"description": "ignored on creation"},
		"RecordInput.device_time":  {"format": "date-time", "description": "the device's clock when the record was made offline"},
		"RecordLink.target":        enum([]string{"record", "item", "locality", "any"}, "what the reference points at (any: a record or an item)"),
		"RecordLink.kind":          enum(custody.RecordKinds, "for records: the kind the field requires"),
		"LocalityUnit.category":    enum(localityCategories(), "KATOTTH category"),
		"LocalityRef.category":     enum(localityCategories(), "KATOTTH category"),
		"LocalityUnit.code":        {"pattern": katotthPattern},
		"LocalityRef.code":         {"pattern": katotthPattern},
		"SearchHit.kind":           enum(custody.RecordKinds, "kind of record"),
		"SearchHit.snippet":        {"description": "plain text; the matched terms between « and »"},
		"Stats.records":            {"description": "records of each kind, withdrawn ones excluded"},
		"Stats.per_locality":       {"description": "the figures of each locality that has any"},
		"Stats.localities_visited": {"description": "localities some team covers"},
		"Stats.localities_total":   {"description": "settlements in the codifier"},
		"MonthCount.month":         {"pattern": `^[0-9]{4}-[0-9]{2}$`},
		"MonthCount.type":          enum(custody.IncidentTypes, "incident type"),
		"LocalityStats.locality":   {"pattern": katotthPattern},
		"User.role":                enum(roleNames(), "role; reviewer and analyst only read"),
		"Item.kind":                enum([]string{custody.KindDigital, custody.KindPhysical}, "digital file or physical item"),
		"Item.blob":                {"pattern": `^sha256-[0-9a-f]{64}$`, "description": "content reference of the file"},
		"Item.id":                  {"format": "uuid"},
		"Event.type":               {"description": "intake, handover, access, export"},
		"Handover.device_time":     {"format": "date-time"},
	}
}

// requiredFields lists what the server requires of input schemas where it
// is not simply every field without omitempty (the rule for the others).
var requiredFields = map[string][]string{
	"LocalityInfo": {"code"},
	"Site":         {"name", "type", "locality", "status"},
	"Remains":      {"site", "body"},
	"Person":       {"roles", "name"},
	"Testimony":    {"witness", "interviewer", "date", "language"},
	"Incident":     {"type", "time", "precision", "locality"},
	"Team":         {"name", "type"},
	"Task":         {"title", "team", "status"},
	"Case":         {"number", "title"},
	"Consent":      {},
	"Handover":     {"to", "reason"},
	"RecordInput":  {"kind", "data"},
	"RecordBatch":  {"records"},
}

// schemaNames renames the API's own types in the document.
var schemaNames = map[reflect.Type]string{
	reflect.TypeFor[localityUnit]():   "LocalityUnit",
	reflect.TypeFor[localityRef]():    "LocalityRef",
	reflect.TypeFor[localityDetail](): "LocalityDetail",
	reflect.TypeFor[recordLink]():     "RecordLink",
	reflect.TypeFor[recordDetail]():   "RecordDetail",
	reflect.TypeFor[batchBody]():      "RecordBatch",
	reflect.TypeFor[withdrawBody]():   "RecordWithdrawal",
	reflect.TypeFor[handoverBody]():   "Handover",
	reflect.TypeFor[errorBody]():      "Error",
}

// schemaDescriptions describe the schemas.
var schemaDescriptions = map[string]string{
	"LocalityInfo":     "What the investigation records of a locality. The record's ID is the KATOTTH code.",
	"Site":             "A place the investigation works: a mass burial site, a grave, a building, a detention or torture site, barracks, a command post, a strike's impact point.",
	"Remains":          "One body (or commingled remains) and its post-mortem findings (Minnesota Protocol structure; torture graded on the Istanbul Protocol scale).",
	"Person":           "A victim, missing person, witness, suspect or investigator. Every field is personal data.",
	"Testimony":        "A witness's account.",
	"Incident":         "An event under investigation.",
	"Team":             "A mobile or thematic group.",
	"Task":             "Work given to a team.",
	"Case":             "Criminal proceedings and their legal qualification.",
	"Record":           "The current version of a record.",
	"RecordVersion":    "One step of a record's history.",
	"RecordInput":      "A record to create.",
	"RecordBatch":      "Records to create, all or none.",
	"RecordWithdrawal": "A withdrawal: the record stays readable, marked withdrawn.",
	"RecordLink":       "A reference the record makes, derived from its data.",
	"RecordDetail":     "A record with its history and references.",
	"LocalityUnit":     "A unit of the KATOTTH codifier.",
	"LocalityRef":      "An enclosing unit of the codifier.",
	"LocalityDetail":   "A codifier unit with the investigation's record of it, if any.",
	"Error":            `Every error: {"error": {"code", "message"}}; codes are stable, messages are for people.`,
	"Handover":         "A transfer of an item to a new holder.",
	"SearchHit":        "One search result.",
	"Stats":            "The investigation's figures, overall or for one locality.",
	"Proof":            "An inclusion proof of one log entry, checkable offline against the signed checkpoint and verifier key.",
}

// schemaGen derives schemas from Go types.
type schemaGen struct {
	defs  map[string]any
	notes map[string]jsonObj
	err   error
}

func (g *schemaGen) name(t reflect.Type) string {
	if n, ok := schemaNames[t]; ok {
		return n
	}
	return t.Name()
}

// ref returns a reference to t's schema, defining it on first use.
// Structs reached from the kinds' data are strict (no other properties).
func (g *schemaGen) ref(t reflect.Type, strict bool) jsonObj {
	name := g.name(t)
	if _, ok := g.defs[name]; !ok {
		g.defs[name] = nil // placeholder against recursion
		g.defs[name] = g.object(name, t, strict)
	}
	return ref(name)
}

var rawJSONType = reflect.TypeFor[json.RawMessage]()

func (g *schemaGen) object(name string, t reflect.Type, strict bool) jsonObj {
	props := jsonObj{}
	var required []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("json")
		if !f.IsExported() || tag == "-" {
			continue
		}
		if f.Anonymous {
			g.fail("%s: embedded field %s is not supported", name, f.Name)
			continue
		}
		field, opts, _ := strings.Cut(tag, ",")
		if field == "" {
			field = f.Name
		}
		if !ok || !strings.Contains(opts, "omitempty") {
			required = append(required, field)
		}
		props[field] = g.annotate(name+"."+field, g.of(f.Type, strict))
	}
	if r, ok := requiredFields[name]; ok {
		required = r
	}
	for _, r := range required {
		if _, ok := props[r]; !ok {
			g.fail("%s: required field %q is not a property", name, r)
		}
	}
	o := object(props, required...)
	if strict {
		o["additionalProperties"] = false
	}
	if d, ok := schemaDescriptions[name]; ok {
		o["description"] = d
	}
	return o
}

func (g *schemaGen) fail(format string, args ...any) {
	if g.err == nil {
		g.err = fmt.Errorf(format, args...)
	}
}

// annotate applies the notes of field key to its schema s.
func (g *schemaGen) annotate(key string, s jsonObj) jsonObj {
	n, ok := g.notes[key]
	if !ok {
		return s
	}
	delete(g.notes, key) // what is left over names no field
	s = with(s)
	target := s
	if s["type"] == "array" {
		items := with(s["items"].(jsonObj))
		s["items"] = items
		target = items
	}
	for k, v := range n {
		switch k {
		case "enum", "format", "pattern", "minimum", "maximum":
			if _, isRef := target["$ref"]; isRef {
				g.fail("%s: %s on a reference", key, k)
			}
			target[k] = v
		default:
			s[k] = v
		}
	}
	return s
}

func (g *schemaGen) of(t reflect.Type, strict bool) jsonObj {
	if t == rawJSONType {
		return jsonObj{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.of(t.Elem(), strict)
	case reflect.String:
		return jsonObj{"type": "string"}
	case reflect.Bool:
		return jsonObj{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return jsonObj{"type": "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return jsonObj{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return jsonObj{"type": "number"}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return jsonObj{"type": "string", "contentEncoding": "base64"}
		}
		return arrayOf(g.of(t.Elem(), strict))
	case reflect.Array:
		return with(arrayOf(g.of(t.Elem(), strict)), "minItems", t.Len(), "maxItems", t.Len())
	case reflect.Map:
		return jsonObj{"type": "object", "additionalProperties": g.of(t.Elem(), strict)}
	case reflect.Struct:
		if t.Name() == "" {
			return g.object("", t, strict)
		}
		return g.ref(t, strict)
	}
	g.fail("no schema for Go type %s", t)
	return jsonObj{}
}

// listQuery documents the listing parameters of a collection.
func listQuery(k kindPath) []param {
	ps := []param{
		qp("locality", "only records of this locality", katotthString),
		qp("site", "only records of this site", uuidString),
		qp("case", "only records of this case", uuidString),
		qp("team", "only records of this team", uuidString),
	}
	kf := kindFilters[k.kind]
	if kf.types != nil {
		s := jsonObj{"type": "string"}
		what := "only records of this type"
		switch {
		case k.kind == custody.KindPerson:
			what = "only persons whose first role is this"
			s["enum"] = kf.types
		case k.kind == custody.KindTestimony:
			what = "only testimonies in this language (ISO 639 code)"
		default:
			s["enum"] = kf.types
		}
		ps = append(ps, qp("type", what, s))
	}
	if kf.statuses != nil {
		ps = append(ps, qp("status", "only records in this status", with(jsonObj{"type": "string"}, "enum", kf.statuses)))
	}
	return append(ps,
		qp("from", "only records dated at or after (YYYY-MM-DD, YYYY-MM or YYYY)", with(jsonObj{"type": "string"}, "pattern", datePattern)),
		qp("to", "only records dated at or before (YYYY-MM-DD, YYYY-MM or YYYY)", with(jsonObj{"type": "string"}, "pattern", datePattern)),
		qp("sort", "order: id (creation, the default), date, title or updated; a leading - reverses it",
			with(jsonObj{"type": "string"}, "enum", []string{"id", "-id", "date", "-date", "title", "-title", "updated", "-updated"})),
		qp("after", "cursor: the next of the previous page", jsonObj{"type": "string"}),
		qp("limit", "page size, default 50", jsonObj{"type": "integer", "minimum": 1, "maximum": 1000}),
		qp("include_withdrawn", "list withdrawn records too", jsonObj{"type": "boolean"}),
	)
}

// operations returns every operation of the API.
func operations() []operation {
	itemQuery := []param{
		qp("name", "original file name (sanitised)", jsonObj{"type": "string"}),
		qp("case", "case", jsonObj{"type": "string"}),
		qp("collector", "who collected it", jsonObj{"type": "string"}),
		qp("collected_at", "when it was collected, RFC 3339", jsonObj{"type": "string", "format": "date-time"}),
		qp("lat", "latitude where it was collected", jsonObj{"type": "number"}),
		qp("lon", "longitude where it was collected", jsonObj{"type": "number"}),
		qp("description", "description", jsonObj{"type": "string"}),
		qp("kind", "digital (default) or physical; a physical item's body may be empty", with(jsonObj{"type": "string"}, "enum", []string{custody.KindDigital, custody.KindPhysical})),
		qp("seal", "seal number of a physical item", jsonObj{"type": "string"}),
		qp("location", "storage location of a physical item", jsonObj{"type": "string"}),
		qp("device_time", "the device's clock, RFC 3339", jsonObj{"type": "string", "format": "date-time"}),
		qp("compartments", "cases and teams (record IDs, comma-separated) the item goes in; default: the uploader's teams", jsonObj{"type": "string"}),
	}
	multipartFields := jsonObj{}
	for _, p := range itemQuery {
		if p.name != "name" {
			multipartFields[p.name] = with(p.schema, "description", p.description)
		}
	}
	multipartFields["file"] = jsonObj{"type": "string", "contentMediaType": "application/octet-stream", "description": "the file, last; its part's file name is kept"}
	proof := jsonBody("an inclusion proof, verified here against the latest checkpoint", ref("Proof"))
	ops := []operation{
		{method: "GET", path: "/api/v1/items", id: "listItems", tag: "items", summary: "List items",
			query: []param{
				qp("case", "only items of this case", jsonObj{"type": "string"}),
				qp("blob", "only items with this content", with(jsonObj{"type": "string"}, "pattern", `^sha256-[0-9a-f]{64}$`)),
				qp("after", "cursor: the next of the previous page", jsonObj{"type": "string"}),
				qp("limit", "page size, default 100", jsonObj{"type": "integer", "minimum": 1, "maximum": 1000}),
			},
			status: 200, result: jsonBody("a page of items", object(jsonObj{"items": arrayOf(ref("Item")), "next": str("cursor of the next page")}, "items")),
			errors: []int{400}},
		{method: "POST", path: "/api/v1/items", id: "createItem", tag: "items", summary: "Take in a file or a physical item",
			description: "The body is streamed and hashed as it arrives. Either the raw file, with the metadata in the query string, or multipart/form-data with the metadata fields first and the file last.",
			query:       itemQuery,
			body: &payload{description: "the file", content: map[string]jsonObj{
				"application/octet-stream": {"type": "string", "contentMediaType": "application/octet-stream"},
				"multipart/form-data":      object(multipartFields),
			}},
			status: 201, result: jsonBody("the item", ref("Item")), errors: []int{400, 403, 413, 507}},
		{method: "GET", path: "/api/v1/items/{id}", id: "getItem", tag: "items", summary: "Read an item",
			status: 200, result: jsonBody("the item", ref("Item")), errors: []int{404}},
		{method: "GET", path: "/api/v1/items/{id}/content", id: "getItemContent", tag: "items", summary: "Download an item's original bytes",
			description: "The read is itself a custody event in the log. The response is cut short, not completed, if the stored bytes no longer match their hash.",
			query:       []param{qp("reason", "why the content is read (logged)", jsonObj{"type": "string"})},
			status:      200, result: &payload{description: "the original bytes", content: map[string]jsonObj{"application/octet-stream": {"type": "string", "contentMediaType": "application/octet-stream"}}},
			errors: []int{404}},
		{method: "GET", path: "/api/v1/items/{id}/history", id: "getItemHistory", tag: "items", summary: "Chain of custody of an item",
			status: 200, result: jsonBody("the events, oldest first", object(jsonObj{"events": arrayOf(ref("Event"))}, "events")), errors: []int{404}},
		{method: "GET", path: "/api/v1/items/{id}/proof", id: "getItemProof", tag: "items", summary: "Inclusion proof of an item's intake",
			status: 200, result: proof, errors: []int{404}},
		{method: "POST", path: "/api/v1/items/{id}/handover", id: "handoverItem", tag: "items", summary: "Hand an item over",
			body: jsonBody("the handover", ref("Handover")), status: 201, result: jsonBody("the custody event", ref("Event")),
			errors: []int{400, 403, 404, 409}},
		{method: "GET", path: "/api/v1/log/checkpoint", id: "getCheckpoint", tag: "log", summary: "Latest signed checkpoint",
			status: 200, result: jsonBody("the checkpoint", object(jsonObj{
				"origin": str("the log's origin line"), "size": jsonObj{"type": "integer", "minimum": 0},
				"root": jsonObj{"type": "string", "contentEncoding": "base64"}, "note": str("the signed note (C2SP tlog-checkpoint)"),
			}, "origin", "size", "root", "note"))},
		{method: "GET", path: "/api/v1/log/key", id: "getVerifierKey", tag: "log", summary: "The log's verifier key",
			status: 200, result: jsonBody("the key to give to a court", object(jsonObj{"verifier_key": str("note verifier key"), "origin": str("the log's origin")}, "verifier_key", "origin"))},
		{method: "GET", path: "/api/v1/log/proof/{index}", id: "getEntryProof", tag: "log", summary: "Inclusion proof of a log entry",
			status: 200, result: proof, errors: []int{400, 404}},
		{method: "GET", path: "/api/v1/log/consistency", id: "getConsistencyProof", tag: "log", summary: "Consistency proof between two tree sizes",
			query: []param{
				{name: "from", description: "older tree size", schema: jsonObj{"type": "integer", "minimum": 0}, required: true},
				{name: "to", description: "newer tree size", schema: jsonObj{"type": "integer", "minimum": 0}, required: true},
			},
			status: 200, result: jsonBody("the proof (RFC 6962)", object(jsonObj{
				"from": jsonObj{"type": "integer"}, "to": jsonObj{"type": "integer"},
				"hashes": arrayOf(jsonObj{"type": "string", "contentEncoding": "base64"}),
			}, "from", "to", "hashes")), errors: []int{400}},
		{method: "GET", path: "/api/v1/me", id: "getMe", tag: "users", summary: "The authenticated user",
			status: 200, result: jsonBody("the user", ref("User"))},
		{method: "POST", path: "/api/v1/records", id: "createRecords", tag: "records", summary: "Create records of any kinds, all or none",
			description: "One log append. A failing record is named by its position (\"record 3: ...\") and nothing is created.",
			body:        jsonBody("the records", ref("RecordBatch")), status: 201,
			result: jsonBody("the records, in the order given, with any warnings", object(jsonObj{"records": arrayOf(ref("Record"))}, "records")),
			errors: []int{400, 403, 404, 409, 413}},
		{method: "GET", path: "/api/v1/search", id: "search", tag: "records", summary: "Full-text search across records",
			description: "Words must all match (in the title or the text of a record); \"quoted phrases\" match as phrases and the last word also as a prefix. Withdrawn records are left out.",
			query: []param{
				{name: "q", description: "the words to find", schema: jsonObj{"type": "string", "minLength": 1}, required: true},
				qp("kind", "only records of this kind", with(jsonObj{"type": "string"}, "enum", custody.RecordKinds)),
				qp("locality", "only records of this locality (remains: of its sites)", katotthString),
				qp("from", "only records dated at or after (YYYY-MM-DD, YYYY-MM or YYYY)", with(jsonObj{"type": "string"}, "pattern", datePattern)),
				qp("to", "only records dated at or before (YYYY-MM-DD, YYYY-MM or YYYY)", with(jsonObj{"type": "string"}, "pattern", datePattern)),
				qp("limit", "number of hits, default 20", jsonObj{"type": "integer", "minimum": 1, "maximum": maxSearchResults}),
			},
			status: 200, result: jsonBody("the hits, best first", object(jsonObj{"hits": arrayOf(ref("SearchHit"))}, "hits")),
			errors: []int{400}},
		{method: "GET", path: "/api/v1/stats", id: "getStats", tag: "records", summary: "The investigation's figures",
			description: "Bodies recovered and identified, signs of torture, people killed and injured, records per kind and incidents per month, overall or for one locality.",
			query:       []param{qp("locality", "only this locality", katotthString)},
			status:      200, result: jsonBody("the figures", ref("Stats")), errors: []int{400, 404}},
		{method: "GET", path: "/api/v1/cases/{id}/matrix", id: "getCaseMatrix", tag: "cases", summary: "The case matrix",
			description: "For each charged crime, each element (material, contextual, mental) with the sources that support it, who linked each and when, and the gaps: elements unsupported, resting on a single source, or on unverified sources only.",
			status:      200, result: jsonBody("the matrix", ref("CaseMatrix")), errors: []int{400, 404}},
		{method: "GET", path: "/api/v1/openapi.json", id: "getOpenAPI", tag: "meta", summary: "This document",
			status: 200, result: jsonBody("the OpenAPI 3.1 document", jsonObj{"type": "object"})},
	}
	ops = append(ops, sessionOperations()...)
	ops = append(ops, accessOperations()...)
	for _, k := range kindPaths {
		name := title(k.kind)
		plural := title(k.plural)
		base := "/api/v1/" + k.plural
		data := kindData[k.kind].Name()
		list := operation{method: "GET", path: base, id: "list" + plural, tag: k.plural, summary: "List " + k.kind + " records",
			query: listQuery(k), status: 200, result: jsonBody("a page of records", ref(name+"Page")), errors: []int{400}}
		get := operation{method: "GET", path: base + "/{id}", id: "get" + name, tag: k.plural, summary: "Read a " + k.kind + " record with its history",
			status: 200, result: jsonBody("the record", ref(name+"Detail")), errors: []int{404}}
		if k.kind == custody.KindLocality {
			list.summary = "Search the KATOTTH codifier, or list locality records"
			list.description = "With q, the codifier is searched by name in Ukrainian, Russian or Latin spelling (\"Ізюм\", \"Izium\", \"Izyum\"), best first, and each unit comes with its locality record if there is one; only limit (1..100, default 10) may accompany q. Without q, the locality records are listed like any other collection."
			list.query = append([]param{qp("q", "a name to search the codifier for", jsonObj{"type": "string", "minLength": 1})}, list.query...)
			list.result = jsonBody("codifier units (with q) or a page of locality records", jsonObj{"oneOf": []any{ref("LocalitySearch"), ref(name + "Page")}})
			get.summary = "Read a KATOTTH unit, with the investigation's record of it"
			get.result = jsonBody("the unit, its path and number of children, its record and history if any", ref("LocalityDetail"))
			get.errors = []int{400, 404}
		}
		ops = append(ops, list,
			operation{method: "POST", path: base, id: "create" + name, tag: k.plural, summary: "Create a " + k.kind + " record",
				query: []param{
					qp("reason", "why the record is made (logged)", jsonObj{"type": "string"}),
					qp("device_time", "the device's clock when the record was made offline, RFC 3339", jsonObj{"type": "string", "format": "date-time"}),
					qp("compartments", "cases and teams (record IDs, comma-separated) the record goes in; default: the writer's teams", jsonObj{"type": "string"}),
				},
				body: jsonBody("the record's data", ref(data)), status: 201, result: jsonBody("the record, with any warnings", ref(name+"Record")),
				errors: []int{400, 403, 404, 409, 413}},
			get,
			operation{method: "PUT", path: base + "/{id}", id: "update" + name, tag: k.plural, summary: "Write a new version of a " + k.kind + " record",
				description: "The whole new data, made from version base; 409 when base is not the current version (read the record again and redo the change) or the record is withdrawn.",
				body:        jsonBody("the change", ref(name+"Update")), status: 200, result: jsonBody("the new version", ref(name+"Record")),
				errors: []int{400, 403, 404, 409, 413}},
			operation{method: "POST", path: base + "/{id}/withdraw", id: "withdraw" + name, tag: k.plural, summary: "Withdraw a " + k.kind + " record",
				description: "The record stays readable, marked withdrawn with the reason; it leaves listings unless include_withdrawn is given.",
				body:        jsonBody("the withdrawal", ref("RecordWithdrawal")), status: 200, result: jsonBody("the withdrawn record", ref(name+"Record")),
				errors: []int{400, 403, 404, 409}},
		)
	}
	return ops
}

var pathParamRe = regexp.MustCompile(`\{([a-z_]+)\}`)

// pathParams documents the parameters in a path.
func pathParams(path string) []jsonObj {
	var out []jsonObj
	for _, m := range pathParamRe.FindAllStringSubmatch(path, -1) {
		p := jsonObj{"name": m[1], "in": "path", "required": true}
		switch {
		case m[1] == "index":
			p["schema"], p["description"] = jsonObj{"type": "integer", "minimum": 0}, "index of the log entry"
		case strings.HasPrefix(path, "/api/v1/localities/"):
			p["schema"], p["description"] = katotthString, "KATOTTH code, e.g. UA63040090010029555"
		case strings.HasPrefix(path, "/api/v1/items/"):
			p["schema"], p["description"] = uuidString, "item ID"
		case strings.HasPrefix(path, "/api/v1/users/"):
			p["schema"], p["description"] = jsonObj{"type": "string", "minLength": 1, "maxLength": 64}, "user name"
		case strings.HasPrefix(path, "/api/v1/sessions/"):
			p["schema"], p["description"] = jsonObj{"type": "string", "pattern": sessionIDPattern}, "session ID (16 hex digits)"
		default:
			p["schema"], p["description"] = uuidString, "record ID"
		}
		out = append(out, p)
	}
	return out
}

func buildOpenAPI() ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}, notes: fieldNotes()}
	// The kinds' data first: they and what they hold are strict inputs.
	for _, k := range kindPaths {
		g.ref(kindData[k.kind], true)
	}
	for _, t := range []reflect.Type{reflect.TypeFor[custody.RecordInput](), reflect.TypeFor[batchBody](),
		reflect.TypeFor[withdrawBody](), reflect.TypeFor[handoverBody]()} {
		g.ref(t, true)
	}
	for _, t := range []reflect.Type{reflect.TypeFor[custody.Record](), reflect.TypeFor[custody.RecordVersion](),
		reflect.TypeFor[recordDetail](), reflect.TypeFor[localityDetail](),
		reflect.TypeFor[custody.Item](), reflect.TypeFor[custody.Event](), reflect.TypeFor[custody.User](),
		reflect.TypeFor[evidence.Proof](), reflect.TypeFor[errorBody](), reflect.TypeFor[custody.SearchHit](),
		reflect.TypeFor[custody.Stats](), reflect.TypeFor[custody.CaseMatrix]()} {
		g.ref(t, false)
	}
	// Error codes are the stable part of an error.
	if e, ok := g.defs["Error"].(jsonObj); ok {
		inner := e["properties"].(jsonObj)["error"].(jsonObj)
		props := inner["properties"].(jsonObj)
		props["code"] = with(props["code"].(jsonObj), "enum", errorCodes, "description", "stable; scripts match on it")
		props["message"] = with(props["message"].(jsonObj), "description", "for people; may change")
	}
	// Nothing may be recorded of a locality yet.
	if d, ok := g.defs["LocalityDetail"].(jsonObj); ok {
		props := d["properties"].(jsonObj)
		props["record"] = jsonObj{"oneOf": []any{ref("Record"), jsonObj{"type": "null"}},
			"description": "the investigation's locality record; null when there is none"}
		props["history"] = with(props["history"].(jsonObj), "description", "the record's versions, oldest first; empty when there is none")
	}
	g.defs["LocalitySearch"] = object(jsonObj{"localities": arrayOf(ref("LocalityUnit"))}, "localities")
	for _, k := range kindPaths {
		name, data := title(k.kind), kindData[k.kind].Name()
		g.defs[name+"Record"] = jsonObj{"allOf": []any{ref("Record"), object(jsonObj{
			"kind": jsonObj{"const": k.kind}, "data": ref(data)})}}
		g.defs[name+"Page"] = object(jsonObj{"records": arrayOf(ref(name + "Record")), "next": str("cursor of the next page (give it as after); absent on the last")}, "records")
		g.defs[name+"Detail"] = jsonObj{"allOf": []any{ref("RecordDetail"), object(jsonObj{"record": ref(name + "Record")})}}
		g.defs[name+"Update"] = with(object(jsonObj{
			"base":        jsonObj{"type": "integer", "minimum": 1, "description": "the version the change was made from"},
			"data":        ref(data),
			"reason":      str("why the record changes (logged)"),
			"device_time": jsonObj{"type": "string", "format": "date-time", "description": "the device's clock when the change was made offline"},
		}, "base", "data"), "additionalProperties", false)
	}
	if g.err != nil {
		return nil, g.err
	}
	if len(g.notes) > 0 {
		keys := slices.Sorted(maps.Keys(g.notes))
		return nil, fmt.Errorf("annotations name no field: %s", strings.Join(keys, ", "))
	}

	responses := jsonObj{"Error": jsonObj{"description": "an error", "content": jsonObj{"application/json": jsonObj{"schema": ref("Error")}}}}
	for status, name := range errorResponses {
		responses[name] = jsonObj{"description": http.StatusText(status), "content": jsonObj{"application/json": jsonObj{"schema": ref("Error")}}}
	}
	paths := jsonObj{}
	for _, o := range operations() {
		item, _ := paths[o.path].(jsonObj)
		if item == nil {
			item = jsonObj{}
			paths[o.path] = item
		}
		m := strings.ToLower(o.method)
		if _, dup := item[m]; dup {
			return nil, fmt.Errorf("operation %s %s is defined twice", o.method, o.path)
		}
		var params []jsonObj
		params = append(params, pathParams(o.path)...)
		for _, p := range o.query {
			params = append(params, jsonObj{"name": p.name, "in": "query", "required": p.required, "description": p.description, "schema": p.schema})
		}
		resp := jsonObj{
			strconv.Itoa(o.status): content(o.result),
			"401":                  jsonObj{"$ref": "#/components/responses/Unauthorized"},
			"default":              jsonObj{"$ref": "#/components/responses/Error"},
		}
		for _, e := range o.errors {
			name, ok := errorResponses[e]
			if !ok {
				return nil, fmt.Errorf("%s %s: no response for status %d", o.method, o.path, e)
			}
			resp[strconv.Itoa(e)] = jsonObj{"$ref": "#/components/responses/" + name}
		}
		op := jsonObj{"operationId": o.id, "tags": []string{o.tag}, "summary": o.summary, "responses": resp}
		if o.description != "" {
			op["description"] = o.description
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if o.body != nil {
			b := content(o.body)
			b["required"] = true
			op["requestBody"] = b
		}
		item[m] = op
	}
	doc := jsonObj{
		"openapi": "3.1.0",
		"info": jsonObj{
			"title":   "Custody API",
			"version": "1",
			"description": "Custody keeps the evidence of war-crimes investigations and the investigation's records. Every change is an entry " +
				"in an append-only, signed log, so each record's history is provable. Every route needs Authorization: Bearer TOKEN. " +
				"Errors are JSON {\"error\": {\"code\", \"message\"}} with stable codes. Request bodies are decoded strictly: an unknown field is an error.",
			"license": jsonObj{"name": "Apache-2.0", "identifier": "Apache-2.0"},
		},
		"security": []any{jsonObj{"bearer": []string{}}},
		"tags": func() []any {
			tags := []any{jsonObj{"name": "items", "description": "evidence items and their chain of custody"},
				jsonObj{"name": "log", "description": "the signed, append-only log"},
				jsonObj{"name": "records", "description": "records of any kind"}}
			for _, k := range kindPaths {
				tags = append(tags, jsonObj{"name": k.plural, "description": k.kind + " records"})
			}
			return append(tags, jsonObj{"name": "users"}, jsonObj{"name": "meta"})
		}(),
		"paths": paths,
		"components": jsonObj{
			"schemas":         g.defs,
			"responses":       responses,
			"securitySchemes": jsonObj{"bearer": jsonObj{"type": "http", "scheme": "bearer", "description": "the API token given by custody init or custody user add"}},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

func content(p *payload) jsonObj {
	c := jsonObj{}
	for mt, s := range p.content {
		c[mt] = jsonObj{"schema": s}
	}
	return jsonObj{"description": p.description, "content": c}
}
