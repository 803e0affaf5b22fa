package custody

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The data of each record kind. Field names are the JSON API's; enumerated
// values are lower-case ASCII and listed with each field. References to
// other records hold their IDs; references to evidence hold item IDs;
// localities are KATOTTH codes (UA + 17 digits).

// Point is a WGS 84 position.
type Point struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Geometry is a point or a polygon (one ring of [lon, lat] positions, as in
// GeoJSON, first and last equal).
type Geometry struct {
	Point   *Point       `json:"point,omitempty"`
	Polygon [][2]float64 `json:"polygon,omitempty"`
}

// LocalityInfo is what the investigation records of a locality. Its record
// ID is the KATOTTH code itself.
type LocalityInfo struct {
	Code             string `json:"code"`
	OccupiedOn       string `json:"occupied_on,omitempty"`  // YYYY-MM-DD
	LiberatedOn      string `json:"liberated_on,omitempty"` // YYYY-MM-DD
	PopulationBefore *int   `json:"population_before,omitempty"`
	PopulationAfter  *int   `json:"population_after,omitempty"`
	EvacuationNotes  string `json:"evacuation_notes,omitempty"`
	Notes            string `json:"notes,omitempty"`
}

// Site types and statuses.
var (
	SiteTypes    = []string{"mass_burial", "grave", "building", "detention", "torture", "barracks", "command_post", "strike_impact", "other"}
	SiteStatuses = []string{"reported", "secured", "cleared", "excavation", "completed"}
)

// Site is a place the investigation works: a mass burial site, a grave, a
// building or rubble, a detention or torture site, the occupiers' barracks
// or command post, a strike's impact point.
type Site struct {
	Name        string    `json:"name"`
	Type        string    `json:"type"` // SiteTypes
	Locality    string    `json:"locality"`
	Location    *Geometry `json:"location,omitempty"`
	FoundOn     string    `json:"found_on,omitempty"` // YYYY-MM-DD
	Status      string    `json:"status"`             // SiteStatuses, in this order of progress
	SurveyDatum string    `json:"survey_datum,omitempty"`
	Grid        string    `json:"grid,omitempty"`   // the exhumation grid, e.g. "2 m squares, rows A-Z, columns 1-40"
	Graves      int       `json:"graves,omitempty"` // number of graves (numbered crosses)
	Team        string    `json:"team,omitempty"`   // responsible team
	Case        string    `json:"case,omitempty"`
	Description string    `json:"description,omitempty"`
}

// Enumerations of the post-mortem record (Minnesota Protocol structure;
// torture graded on the Istanbul Protocol scale).
var (
	BodyRegions       = []string{"head", "face", "neck", "chest", "abdomen", "back", "pelvis", "upper_limb", "lower_limb", "hands", "feet", "genitals", "multiple", "other"}
	InjuryTypes       = []string{"gunshot", "blast", "shrapnel", "blunt", "sharp", "burn", "ligature", "fracture", "electrical", "other"}
	IstanbulGrades    = []string{"not_consistent", "consistent", "highly_consistent", "typical", "diagnostic"}
	Sexes             = []string{"male", "female", "undetermined"}
	Conditions        = []string{"complete", "partial", "skeletonised", "decomposed", "burned", "fragmented", "commingled"}
	MannersOfDeath    = []string{"homicide", "accident", "suicide", "natural", "undetermined", "pending"}
	IDStatuses        = []string{"unidentified", "presumptive", "identified"}
	IDMethods         = []string{"dna", "dental", "fingerprints", "medical", "documents", "visual", "other"}
	scientificMethods = []string{"dna", "dental", "fingerprints"}
)

// Injury is one injury found at the post-mortem examination.
type Injury struct {
	Region      string   `json:"region"` // BodyRegions
	Type        string   `json:"type"`   // InjuryTypes
	Description string   `json:"description,omitempty"`
	Photos      []string `json:"photos,omitempty"` // item IDs
}

// TortureFinding is a sign of torture, graded on the Istanbul Protocol's
// scale of consistency: not_consistent, consistent, highly_consistent,
// typical, diagnostic.
type TortureFinding struct {
	Sign        string   `json:"sign"` // e.g. "ligature marks on both wrists"
	Grade       string   `json:"grade"`
	Description string   `json:"description,omitempty"`
	Photos      []string `json:"photos,omitempty"`
}

// Identification is the state of a body's identification. Scientific
// methods (DNA, dental, fingerprints) are preferred: an identification by
// visual recognition or documents alone is recorded but stays presumptive.
type Identification struct {
	Status string   `json:"status"`           // IDStatuses
	Method []string `json:"method,omitempty"` // IDMethods
	Person string   `json:"person,omitempty"` // the identified person's record
	Date   string   `json:"date,omitempty"`   // YYYY-MM-DD
}

// Remains is the record of one body (or of commingled remains) and its
// post-mortem findings.
type Remains struct {
	Site         string `json:"site"`
	Grave        string `json:"grave,omitempty"` // grave number, as on the cross
	Body         string `json:"body"`            // body number within the site
	RecoveredAt  string `json:"recovered_at,omitempty"`
	GridPosition string `json:"grid_position,omitempty"`
	Condition    string `json:"condition,omitempty"` // Conditions
	Sex          string `json:"sex,omitempty"`       // Sexes
	AgeMin       *int   `json:"age_min,omitempty"`
	AgeMax       *int   `json:"age_max,omitempty"`
	Clothing     string `json:"clothing,omitempty"`
	Effects      string `json:"effects,omitempty"`
	// Commingled remains hold MNI, the minimum number of individuals.
	Commingled     bool             `json:"commingled,omitempty"`
	MNI            int              `json:"mni,omitempty"`
	Injuries       []Injury         `json:"injuries,omitempty"`
	Torture        []TortureFinding `json:"torture,omitempty"`
	CauseOfDeath   string           `json:"cause_of_death,omitempty"`
	MannerOfDeath  string           `json:"manner_of_death,omitempty"` // MannersOfDeath
	Pathologist    string           `json:"pathologist,omitempty"`
	Samples        []string         `json:"samples,omitempty"` // items (DNA, toxicology) with their own chain of custody
	Identification *Identification  `json:"identification,omitempty"`
	Case           string           `json:"case,omitempty"`
	Notes          string           `json:"notes,omitempty"`
}

// Person roles and witness protection levels.
var (
	PersonRoles      = []string{"victim", "missing", "witness", "suspect", "investigator"}
	ProtectionLevels = []string{"none", "low", "medium", "high"}
)

// AnteMortem is what is known of a missing person before death, to match
// against remains.
type AnteMortem struct {
	LastSeenAt    string `json:"last_seen_at,omitempty"`
	LastSeenPlace string `json:"last_seen_place,omitempty"`
	Description   string `json:"description,omitempty"` // height, build, hair, marks
	Clothing      string `json:"clothing,omitempty"`
	Dental        string `json:"dental,omitempty"`
	Medical       string `json:"medical,omitempty"`
	FamilyContact string `json:"family_contact,omitempty"` // for reference samples
}

// Person is a victim, a missing person, a witness, a suspected perpetrator
// or an investigator. Every field of a natural person is personal data.
type Person struct {
	Roles      []string    `json:"roles"` // PersonRoles
	Name       string      `json:"name"`
	Sex        string      `json:"sex,omitempty"`
	BornOn     string      `json:"born_on,omitempty"` // YYYY-MM-DD or YYYY
	Locality   string      `json:"locality,omitempty"`
	Unit       string      `json:"unit,omitempty"`       // suspects: military unit
	Protection string      `json:"protection,omitempty"` // witnesses: ProtectionLevels
	Status     string      `json:"status,omitempty"`     // missing persons: missing, found_alive, found_dead
	AnteMortem *AnteMortem `json:"ante_mortem,omitempty"`
	Notes      string      `json:"notes,omitempty"`
}

// Consent scopes.
var ConsentScopes = []string{"national_court", "international_court", "other"}

// Consent records what a witness agreed to.
type Consent struct {
	Given bool     `json:"given"`
	Scope []string `json:"scope,omitempty"` // ConsentScopes
	Notes string   `json:"notes,omitempty"`
}

// Testimony is a witness's account.
type Testimony struct {
	Witness     string   `json:"witness"` // person record
	Interviewer string   `json:"interviewer"`
	Date        string   `json:"date"` // YYYY-MM-DD
	Place       string   `json:"place,omitempty"`
	Locality    string   `json:"locality,omitempty"`
	Language    string   `json:"language"` // ISO 639-1: uk, ru, en, ...
	Interpreter string   `json:"interpreter,omitempty"`
	Consent     Consent  `json:"consent"`
	Transcript  string   `json:"transcript,omitempty"`
	Recordings  []string `json:"recordings,omitempty"` // items
	Incidents   []string `json:"incidents,omitempty"`
	Persons     []string `json:"persons,omitempty"`
	Case        string   `json:"case,omitempty"`
}

// Incident types, weapons, time precisions.
var (
	IncidentTypes    = []string{"strike", "killing", "torture", "detention", "disappearance", "deportation", "sexual_violence", "destruction", "looting", "attack_protected"}
	Weapons          = []string{"missile", "artillery", "air", "drone", "cluster", "mlrs", "mortar", "small_arms", "mine", "other"}
	TimePrecisions   = []string{"exact", "day", "month"}
	ProtectedObjects = []string{"hospital", "school", "shelter", "religious", "cultural", "civilian_infrastructure", "other"}
)

// Incident is an event under investigation.
type Incident struct {
	Type string `json:"type"` // IncidentTypes
	// Time is RFC 3339 when Precision is "exact", YYYY-MM-DD for "day",
	// YYYY-MM for "month".
	Time             string   `json:"time"`
	Precision        string   `json:"precision"`
	Locality         string   `json:"locality"`
	Site             string   `json:"site,omitempty"`
	Location         *Point   `json:"location,omitempty"`
	Weapon           string   `json:"weapon,omitempty"` // strikes: Weapons
	Munition         string   `json:"munition,omitempty"`
	ProtectedObject  string   `json:"protected_object,omitempty"` // attack_protected: ProtectedObjects
	KilledConfirmed  int      `json:"killed_confirmed,omitempty"`
	KilledEstimated  int      `json:"killed_estimated,omitempty"` // beyond the confirmed
	InjuredConfirmed int      `json:"injured_confirmed,omitempty"`
	InjuredEstimated int      `json:"injured_estimated,omitempty"`
	SuspectedUnit    string   `json:"suspected_unit,omitempty"`
	Description      string   `json:"description,omitempty"`
	Evidence         []string `json:"evidence,omitempty"` // items
	Remains          []string `json:"remains,omitempty"`
	Testimonies      []string `json:"testimonies,omitempty"`
	Persons          []string `json:"persons,omitempty"`
	Case             string   `json:"case,omitempty"`
}

// Team types and member roles.
var (
	TeamTypes   = []string{"mobile", "thematic"}
	MemberRoles = []string{"prosecutor", "police", "sapper", "security", "forensic", "interpreter", "analyst"}
	TaskStates  = []string{"open", "in_progress", "done", "cancelled"}
	CaseStates  = []string{"open", "suspended", "closed", "in_court"}
)

// Member is one member of a team.
type Member struct {
	Name   string `json:"name"`
	Role   string `json:"role"`           // MemberRoles
	User   string `json:"user,omitempty"` // the member's user account, if any
	Person string `json:"person,omitempty"`
}

// Team is a mobile or thematic group.
type Team struct {
	Name       string   `json:"name"`
	Type       string   `json:"type"` // TeamTypes
	Theme      string   `json:"theme,omitempty"`
	Area       string   `json:"area,omitempty"`
	Localities []string `json:"localities,omitempty"` // settlements it covers
	Members    []Member `json:"members,omitempty"`
}

// Task is work given to a team.
type Task struct {
	Title       string   `json:"title"`
	Team        string   `json:"team"`
	Assignee    string   `json:"assignee,omitempty"`
	Due         string   `json:"due,omitempty"` // YYYY-MM-DD
	Status      string   `json:"status"`        // TaskStates
	Site        string   `json:"site,omitempty"`
	Locality    string   `json:"locality,omitempty"`
	Description string   `json:"description,omitempty"`
	Produced    []string `json:"produced,omitempty"` // records and items the task produced
}

// Case is a criminal proceeding.
type Case struct {
	Number string `json:"number"` // national register (ЄРДР) number
	Title  string `json:"title"`
	Status string `json:"status,omitempty"` // CaseStates
	// Qualification lists the legal qualification, e.g. "CCU 438(1)",
	// "RS 8(2)(a)(ii)".
	Qualification []string `json:"qualification,omitempty"`
	Prosecutor    string   `json:"prosecutor,omitempty"`
	Incidents     []string `json:"incidents,omitempty"`
	Persons       []string `json:"persons,omitempty"`
	Items         []string `json:"items,omitempty"`
	OpenedOn      string   `json:"opened_on,omitempty"`
	Description   string   `json:"description,omitempty"`
	// Charges are the crimes charged and, element by element, what
	// supports them: the case matrix.
	Charges []Charge `json:"charges,omitempty"`
}

// Charge is one crime charged in a case (a crime ID of the legal
// catalogue, e.g. "RS 8(2)(a)(ii)-1") with the support for its elements.
type Charge struct {
	Crime   string    `json:"crime"`
	Support []Support `json:"support,omitempty"`
}

// Support links one element of a charged crime to a source that supports
// it: an evidence item, a testimony, a remains record or an incident, with
// the reason. Who linked it and when is the record version that added it.
type Support struct {
	Element string `json:"element"` // element ID, e.g. "RS 8(2)(a)(ii)-1/1"
	Source  string `json:"source"`  // item or record ID
	Reason  string `json:"reason"`
	// Verified is set when the source has been authenticated or
	// corroborated (by an expert report, a second source, ...); the gap
	// analysis flags elements resting only on unverified sources.
	Verified bool `json:"verified,omitempty"`
}

// RecordRef is a reference from a record to another record, an item or a
// locality, which must exist when the record is written.
type RecordRef struct {
	Field  string // the JSON field, e.g. "site", "injuries[2].photos"
	Target string // "record", "item" or "locality"
	Kind   string // for records: the kind it must be ("" for any)
	ID     string
}

// RecordFacts is what the index extracts from a record to filter, sort,
// search and count. It is derived from the data alone (deterministically:
// replaying the log re-derives it).
type RecordFacts struct {
	Title    string
	Locality string
	Site     string
	Case     string
	Team     string
	Type     string
	Status   string
	Date     string // YYYY-MM-DD, YYYY-MM or empty
	// Position is where the record is on the map: a site's point or the
	// first position of its polygon, an incident's location.
	Position *Point
	Text     string // the searchable text
	Personal bool   // holds personal data
	Refs     []RecordRef
	// Statistics.
	Bodies, Identified, Torture                                          int
	KilledConfirmed, KilledEstimated, InjuredConfirmed, InjuredEstimated int
	Localities                                                           []string // team coverage
	// Members are the user accounts (names or IDs) of a team's members:
	// each is granted the team's compartment.
	Members []string
	// Protection is a protected witness's protection level ("low",
	// "medium", "high"); empty for everyone else.
	Protection string
	Warnings   []string // accepted, but worth a look
}

// ParseRecordData decodes data strictly (no unknown fields, no trailing
// data) as kind's struct, validates it and extracts its facts. Errors:
// EINVALID naming the field.
func ParseRecordData(kind string, data []byte) (any, *RecordFacts, error) {
	var v any
	switch kind {
	case KindLocality:
		v = &LocalityInfo{}
	case KindSite:
		v = &Site{}
	case KindRemains:
		v = &Remains{}
	case KindPerson:
		v = &Person{}
	case KindTestimony:
		v = &Testimony{}
	case KindIncident:
		v = &Incident{}
	case KindTeam:
		v = &Team{}
	case KindTask:
		v = &Task{}
	case KindCase:
		v = &Case{}
	default:
		return nil, nil, Errorf(EINVALID, "unknown record kind %q", kind)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, nil, Errorf(EINVALID, "%s: %v", kind, jsonProblem(err))
	}
	if dec.More() {
		return nil, nil, Errorf(EINVALID, "%s: trailing data after the record", kind)
	}
	c := &checker{kind: kind}
	f := &RecordFacts{}
	switch r := v.(type) {
	case *LocalityInfo:
		r.facts(c, f)
	case *Site:
		r.facts(c, f)
	case *Remains:
		r.facts(c, f)
	case *Person:
		r.facts(c, f)
	case *Testimony:
		r.facts(c, f)
	case *Incident:
		r.facts(c, f)
	case *Team:
		r.facts(c, f)
	case *Task:
		r.facts(c, f)
	case *Case:
		r.facts(c, f)
	}
	if c.err != nil {
		return nil, nil, c.err
	}
	f.Warnings = c.warnings
	return v, f, nil
}

func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if ok := asTypeError(err, &te); ok {
		return fmt.Sprintf("field %q must be %s, not %s", te.Field, te.Type.String(), te.Value)
	}
	return err.Error()
}

func asTypeError(err error, te **json.UnmarshalTypeError) bool {
	t, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*te = t
	}
	return ok
}

// checker collects the first validation error and any warnings.
type checker struct {
	kind     string
	err      error
	warnings []string
}

func (c *checker) fail(field, format string, args ...any) {
	if c.err == nil {
		c.err = &Error{Code: EINVALID, Message: fmt.Sprintf("%s.%s: %s", c.kind, field, fmt.Sprintf(format, args...))}
	}
}

func (c *checker) warn(field, format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf("%s.%s: %s", c.kind, field, fmt.Sprintf(format, args...)))
}

// Field length limits.
const (
	maxShort = 512
	maxLong  = 1 << 20 // transcripts
)

func (c *checker) text(field, v string, required bool, max int) {
	if required && strings.TrimSpace(v) == "" {
		c.fail(field, "is required")
		return
	}
	if !utf8.ValidString(v) {
		c.fail(field, "is not valid UTF-8")
		return
	}
	if len(v) > max {
		c.fail(field, "is %d bytes; the limit is %d", len(v), max)
		return
	}
	for _, r := range v {
		if r < 0x20 && r != '\n' && r != '\t' && r != '\r' || r == 0x7f {
			c.fail(field, "contains a control character")
			return
		}
	}
}

func (c *checker) enum(field, v string, required bool, allowed []string) {
	if v == "" {
		if required {
			c.fail(field, "is required (one of %s)", strings.Join(allowed, ", "))
		}
		return
	}
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	c.fail(field, "%q is not one of %s", truncateRunes(v, 40), strings.Join(allowed, ", "))
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "..."
}

var katotthRe = regexp.MustCompile(`^UA\d{17}$`)

// locality checks the form of a KATOTTH code; the service checks that it
// exists in the codifier.
func (c *checker) locality(field, v string, required bool, f *RecordFacts) {
	if v == "" {
		if required {
			c.fail(field, "is required (a KATOTTH code such as UA63040090010029555)")
		}
		return
	}
	if !katotthRe.MatchString(v) {
		c.fail(field, "%q is not a KATOTTH code (UA and 17 digits)", truncateRunes(v, 40))
		return
	}
	f.Refs = append(f.Refs, RecordRef{Field: field, Target: "locality", ID: v})
}

var idRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func (c *checker) ref(field, v, target, kind string, required bool, f *RecordFacts) {
	if v == "" {
		if required {
			c.fail(field, "is required")
		}
		return
	}
	if !idRe.MatchString(v) {
		c.fail(field, "%q is not a record or item ID", truncateRunes(v, 40))
		return
	}
	f.Refs = append(f.Refs, RecordRef{Field: field, Target: target, Kind: kind, ID: v})
}

func (c *checker) refs(field string, vs []string, target, kind string, f *RecordFacts) {
	seen := make(map[string]bool, len(vs))
	for i, v := range vs {
		name := fmt.Sprintf("%s[%d]", field, i)
		if seen[v] {
			c.fail(name, "%s is listed twice", v)
			return
		}
		seen[v] = true
		c.ref(name, v, target, kind, true, f)
	}
}

// date checks YYYY-MM-DD (or, with month, YYYY-MM too) and returns it.
func (c *checker) date(field, v string, month bool) string {
	if v == "" {
		return ""
	}
	if _, err := time.Parse("2006-01-02", v); err == nil {
		c.plausible(field, v)
		return v
	}
	if month {
		if _, err := time.Parse("2006-01", v); err == nil {
			c.plausible(field, v)
			return v
		}
	}
	c.fail(field, "%q is not a date (YYYY-MM-DD)", truncateRunes(v, 40))
	return ""
}

// timestamp checks an RFC 3339 time and returns its date.
func (c *checker) timestamp(field, v string) string {
	if v == "" {
		return ""
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		// A date alone is accepted where a time is not known.
		return c.date(field, v, false)
	}
	d := t.Format("2006-01-02")
	c.plausible(field, d)
	return d
}

func (c *checker) plausible(field, d string) {
	if d < "1900" || d > "2100" {
		c.fail(field, "%s is not a plausible date", d)
	}
}

func (c *checker) order(field, from, to string) {
	if from != "" && to != "" && to < from {
		c.fail(field, "%s is before %s", to, from)
	}
}

func (c *checker) count(field string, n int) {
	if n < 0 {
		c.fail(field, "cannot be negative")
	}
	if n > 1_000_000 {
		c.fail(field, "%d is not plausible", n)
	}
}

// Ukraine's bounding box, generously: positions outside are accepted with a
// warning (a typo in a sign, or a deportation route abroad).
const (
	uaMinLat, uaMaxLat = 44.0, 52.5
	uaMinLon, uaMaxLon = 22.0, 40.3
)

func (c *checker) point(field string, p *Point) {
	if p == nil {
		return
	}
	if p.Lat < -90 || p.Lat > 90 || p.Lon < -180 || p.Lon > 180 || p.Lat != p.Lat || p.Lon != p.Lon {
		c.fail(field, "(%v, %v) is not a position", p.Lat, p.Lon)
		return
	}
	if p.Lat < uaMinLat || p.Lat > uaMaxLat || p.Lon < uaMinLon || p.Lon > uaMaxLon {
		c.warn(field, "(%v, %v) is outside Ukraine", p.Lat, p.Lon)
	}
}

func (c *checker) geometry(field string, g *Geometry) {
	if g == nil {
		return
	}
	if (g.Point == nil) == (len(g.Polygon) == 0) {
		c.fail(field, "give a point or a polygon")
		return
	}
	c.point(field+".point", g.Point)
	if len(g.Polygon) > 0 {
		if len(g.Polygon) < 4 || g.Polygon[0] != g.Polygon[len(g.Polygon)-1] {
			c.fail(field+".polygon", "a ring needs at least 4 positions, the last equal to the first")
			return
		}
		if len(g.Polygon) > 10000 {
			c.fail(field+".polygon", "more than 10000 positions")
			return
		}
		for i, p := range g.Polygon {
			c.point(fmt.Sprintf("%s.polygon[%d]", field, i), &Point{Lat: p[1], Lon: p[0]})
		}
	}
}

func words(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(p)
		}
	}
	return b.String()
}

func (r *LocalityInfo) facts(c *checker, f *RecordFacts) {
	c.locality("code", r.Code, true, f)
	f.Locality = r.Code
	f.Title = r.Code
	occ := c.date("occupied_on", r.OccupiedOn, false)
	lib := c.date("liberated_on", r.LiberatedOn, false)
	c.order("liberated_on", occ, lib)
	f.Date = lib
	for _, p := range []struct {
		name string
		v    *int
	}{{"population_before", r.PopulationBefore}, {"population_after", r.PopulationAfter}} {
		if p.v != nil && (*p.v < 0 || *p.v > 10_000_000) {
			c.fail(p.name, "%d is not a population of a Ukrainian locality", *p.v)
		}
	}
	c.text("evacuation_notes", r.EvacuationNotes, false, maxLong)
	c.text("notes", r.Notes, false, maxLong)
	f.Text = words(r.EvacuationNotes, r.Notes)
}

func (r *Site) facts(c *checker, f *RecordFacts) {
	c.text("name", r.Name, true, maxShort)
	c.enum("type", r.Type, true, SiteTypes)
	c.locality("locality", r.Locality, true, f)
	c.geometry("location", r.Location)
	f.Date = c.date("found_on", r.FoundOn, false)
	c.enum("status", r.Status, true, SiteStatuses)
	c.text("survey_datum", r.SurveyDatum, false, maxShort)
	c.text("grid", r.Grid, false, maxShort)
	c.count("graves", r.Graves)
	c.ref("team", r.Team, "record", KindTeam, false, f)
	c.ref("case", r.Case, "record", KindCase, false, f)
	c.text("description", r.Description, false, maxLong)
	f.Title, f.Type, f.Status, f.Locality, f.Team, f.Case = r.Name, r.Type, r.Status, r.Locality, r.Team, r.Case
	if g := r.Location; g != nil && c.err == nil {
		if g.Point != nil {
			f.Position = g.Point
		} else if len(g.Polygon) > 0 {
			f.Position = &Point{Lat: g.Polygon[0][1], Lon: g.Polygon[0][0]}
		}
	}
	f.Text = words(r.Name, r.Description)
}

// grade order on the Istanbul Protocol scale: anything from "consistent"
// up counts as a sign of torture in the statistics.
func tortureCounts(grade string) bool {
	return grade != "" && grade != "not_consistent"
}

func (r *Remains) facts(c *checker, f *RecordFacts) {
	c.ref("site", r.Site, "record", KindSite, true, f)
	c.text("grave", r.Grave, false, 64)
	c.text("body", r.Body, true, 64)
	f.Date = c.timestamp("recovered_at", r.RecoveredAt)
	c.text("grid_position", r.GridPosition, false, maxShort)
	c.enum("condition", r.Condition, false, Conditions)
	c.enum("sex", r.Sex, false, Sexes)
	if r.AgeMin != nil {
		c.count("age_min", *r.AgeMin)
		if *r.AgeMin > 120 {
			c.fail("age_min", "%d is not a human age", *r.AgeMin)
		}
	}
	if r.AgeMax != nil {
		c.count("age_max", *r.AgeMax)
		if *r.AgeMax > 120 {
			c.fail("age_max", "%d is not a human age", *r.AgeMax)
		}
	}
	if r.AgeMin != nil && r.AgeMax != nil && *r.AgeMax < *r.AgeMin {
		c.fail("age_max", "%d is below age_min %d", *r.AgeMax, *r.AgeMin)
	}
	c.text("clothing", r.Clothing, false, maxLong)
	c.text("effects", r.Effects, false, maxLong)
	c.count("mni", r.MNI)
	if r.MNI > 0 && !r.Commingled && r.MNI != 1 {
		c.fail("mni", "a minimum number of individuals above 1 needs commingled: true")
	}
	for i, in := range r.Injuries {
		p := fmt.Sprintf("injuries[%d]", i)
		c.enum(p+".region", in.Region, true, BodyRegions)
		c.enum(p+".type", in.Type, true, InjuryTypes)
		c.text(p+".description", in.Description, false, maxLong)
		c.refs(p+".photos", in.Photos, "item", "", f)
	}
	torture := false
	for i, t := range r.Torture {
		p := fmt.Sprintf("torture[%d]", i)
		c.text(p+".sign", t.Sign, true, maxShort)
		c.enum(p+".grade", t.Grade, true, IstanbulGrades)
		c.text(p+".description", t.Description, false, maxLong)
		c.refs(p+".photos", t.Photos, "item", "", f)
		if tortureCounts(t.Grade) {
			torture = true
		}
	}
	c.text("cause_of_death", r.CauseOfDeath, false, maxLong)
	c.enum("manner_of_death", r.MannerOfDeath, false, MannersOfDeath)
	c.text("pathologist", r.Pathologist, false, maxShort)
	c.refs("samples", r.Samples, "item", "", f)
	c.ref("case", r.Case, "record", KindCase, false, f)
	c.text("notes", r.Notes, false, maxLong)
	identified := false
	if id := r.Identification; id != nil {
		c.enum("identification.status", id.Status, true, IDStatuses)
		for i, m := range id.Method {
			c.enum(fmt.Sprintf("identification.method[%d]", i), m, true, IDMethods)
		}
		c.ref("identification.person", id.Person, "record", KindPerson, id.Status != "unidentified", f)
		c.date("identification.date", id.Date, false)
		if id.Status == "identified" {
			scientific := false
			for _, m := range id.Method {
				for _, s := range scientificMethods {
					scientific = scientific || m == s
				}
			}
			if !scientific {
				c.fail("identification.method", "an identification is confirmed by DNA, dental records or fingerprints; by other means record it as presumptive")
			}
			identified = true
		}
		f.Status = id.Status
	} else {
		f.Status = "unidentified"
	}
	f.Site, f.Case = r.Site, r.Case
	f.Title = "Body " + r.Body
	if r.Grave != "" {
		f.Title = "Grave " + r.Grave + ", body " + r.Body
	}
	f.Bodies = 1
	if r.Commingled && r.MNI > 1 {
		f.Bodies = r.MNI
	}
	if identified {
		f.Identified = 1
	}
	if torture {
		f.Torture = f.Bodies
	}
	f.Personal = true
	var tw []string
	for _, t := range r.Torture {
		tw = append(tw, t.Sign, t.Description)
	}
	for _, in := range r.Injuries {
		tw = append(tw, in.Description)
	}
	f.Text = words(append([]string{f.Title, r.Clothing, r.Effects, r.CauseOfDeath, r.Notes}, tw...)...)
}

func (r *Person) facts(c *checker, f *RecordFacts) {
	if len(r.Roles) == 0 {
		c.fail("roles", "is required (one or more of %s)", strings.Join(PersonRoles, ", "))
	}
	seen := map[string]bool{}
	for i, role := range r.Roles {
		c.enum(fmt.Sprintf("roles[%d]", i), role, true, PersonRoles)
		if seen[role] {
			c.fail(fmt.Sprintf("roles[%d]", i), "%s is listed twice", role)
		}
		seen[role] = true
	}
	c.text("name", r.Name, true, maxShort)
	c.enum("sex", r.Sex, false, Sexes)
	if r.BornOn != "" {
		if len(r.BornOn) == 4 {
			if _, err := time.Parse("2006", r.BornOn); err != nil {
				c.fail("born_on", "%q is not a year or a date", truncateRunes(r.BornOn, 20))
			}
		} else {
			c.date("born_on", r.BornOn, false)
		}
	}
	c.locality("locality", r.Locality, false, f)
	c.text("unit", r.Unit, false, maxShort)
	c.enum("protection", r.Protection, false, ProtectionLevels)
	if r.Protection != "" && !seen["witness"] {
		c.fail("protection", "applies to witnesses only")
	}
	c.enum("status", r.Status, false, []string{"missing", "found_alive", "found_dead"})
	if am := r.AnteMortem; am != nil {
		c.timestamp("ante_mortem.last_seen_at", am.LastSeenAt)
		for _, x := range []struct{ name, v string }{{"last_seen_place", am.LastSeenPlace}, {"description", am.Description},
			{"clothing", am.Clothing}, {"dental", am.Dental}, {"medical", am.Medical}, {"family_contact", am.FamilyContact}} {
			c.text("ante_mortem."+x.name, x.v, false, maxLong)
		}
	}
	c.text("notes", r.Notes, false, maxLong)
	f.Title, f.Locality, f.Status = r.Name, r.Locality, r.Status
	if len(r.Roles) > 0 {
		f.Type = r.Roles[0]
	}
	f.Personal = true
	f.Text = words(r.Name, r.Unit, r.Notes)
	if seen["witness"] && r.Protection != "" && r.Protection != "none" {
		f.Protection = r.Protection
	}
}

func (r *Testimony) facts(c *checker, f *RecordFacts) {
	c.ref("witness", r.Witness, "record", KindPerson, true, f)
	c.text("interviewer", r.Interviewer, true, maxShort)
	if r.Date == "" {
		c.fail("date", "is required")
	}
	f.Date = c.date("date", r.Date, false)
	c.text("place", r.Place, false, maxShort)
	c.locality("locality", r.Locality, false, f)
	if len(r.Language) < 2 || len(r.Language) > 3 || strings.ToLower(r.Language) != r.Language {
		c.fail("language", "%q is not an ISO 639 language code such as uk, ru or en", truncateRunes(r.Language, 10))
	}
	c.text("interpreter", r.Interpreter, false, maxShort)
	for i, s := range r.Consent.Scope {
		c.enum(fmt.Sprintf("consent.scope[%d]", i), s, true, ConsentScopes)
	}
	if !r.Consent.Given && len(r.Consent.Scope) > 0 {
		c.fail("consent.scope", "a scope needs consent given")
	}
	c.text("consent.notes", r.Consent.Notes, false, maxLong)
	c.text("transcript", r.Transcript, false, maxLong)
	c.refs("recordings", r.Recordings, "item", "", f)
	c.refs("incidents", r.Incidents, "record", KindIncident, f)
	c.refs("persons", r.Persons, "record", KindPerson, f)
	c.ref("case", r.Case, "record", KindCase, false, f)
	f.Locality, f.Case, f.Type = r.Locality, r.Case, r.Language
	f.Title = "Testimony of " + r.Date
	f.Personal = true
	f.Text = words(r.Place, r.Transcript)
}

func (r *Incident) facts(c *checker, f *RecordFacts) {
	c.enum("type", r.Type, true, IncidentTypes)
	c.enum("precision", r.Precision, true, TimePrecisions)
	switch r.Precision {
	case "exact":
		if _, err := time.Parse(time.RFC3339, r.Time); err != nil {
			c.fail("time", "%q is not an RFC 3339 time (precision exact)", truncateRunes(r.Time, 40))
		} else {
			f.Date = c.timestamp("time", r.Time)
		}
	case "day":
		if r.Time == "" {
			c.fail("time", "is required")
		}
		f.Date = c.date("time", r.Time, false)
	case "month":
		if _, err := time.Parse("2006-01", r.Time); err != nil {
			c.fail("time", "%q is not a month YYYY-MM (precision month)", truncateRunes(r.Time, 40))
		} else {
			f.Date = r.Time
			c.plausible("time", r.Time)
		}
	}
	c.locality("locality", r.Locality, true, f)
	c.ref("site", r.Site, "record", KindSite, false, f)
	c.point("location", r.Location)
	c.enum("weapon", r.Weapon, false, Weapons)
	if r.Weapon != "" && r.Type != "strike" && r.Type != "attack_protected" && r.Type != "destruction" && r.Type != "killing" {
		c.fail("weapon", "applies to strikes, attacks, destruction and killings")
	}
	c.text("munition", r.Munition, false, maxShort)
	c.enum("protected_object", r.ProtectedObject, r.Type == "attack_protected", ProtectedObjects)
	c.count("killed_confirmed", r.KilledConfirmed)
	c.count("killed_estimated", r.KilledEstimated)
	c.count("injured_confirmed", r.InjuredConfirmed)
	c.count("injured_estimated", r.InjuredEstimated)
	c.text("suspected_unit", r.SuspectedUnit, false, maxShort)
	c.text("description", r.Description, false, maxLong)
	c.refs("evidence", r.Evidence, "item", "", f)
	c.refs("remains", r.Remains, "record", KindRemains, f)
	c.refs("testimonies", r.Testimonies, "record", KindTestimony, f)
	c.refs("persons", r.Persons, "record", KindPerson, f)
	c.ref("case", r.Case, "record", KindCase, false, f)
	f.Type, f.Locality, f.Site, f.Case = r.Type, r.Locality, r.Site, r.Case
	if c.err == nil {
		f.Position = r.Location
	}
	f.KilledConfirmed, f.KilledEstimated = r.KilledConfirmed, r.KilledEstimated
	f.InjuredConfirmed, f.InjuredEstimated = r.InjuredConfirmed, r.InjuredEstimated
	f.Title = strings.ReplaceAll(r.Type, "_", " ")
	if r.Weapon != "" {
		f.Title += " (" + r.Weapon + ")"
	}
	if f.Date != "" {
		f.Title += ", " + f.Date
	}
	f.Text = words(r.Munition, r.SuspectedUnit, r.Description)
}

func (r *Team) facts(c *checker, f *RecordFacts) {
	c.text("name", r.Name, true, maxShort)
	c.enum("type", r.Type, true, TeamTypes)
	c.text("theme", r.Theme, false, maxShort)
	c.text("area", r.Area, false, maxShort)
	seen := map[string]bool{}
	for i, l := range r.Localities {
		name := fmt.Sprintf("localities[%d]", i)
		if seen[l] {
			c.fail(name, "%s is listed twice", l)
		}
		seen[l] = true
		c.locality(name, l, true, f)
	}
	if len(r.Localities) > 5000 {
		c.fail("localities", "more than 5000")
	}
	for i, m := range r.Members {
		p := fmt.Sprintf("members[%d]", i)
		c.text(p+".name", m.Name, true, maxShort)
		c.enum(p+".role", m.Role, true, MemberRoles)
		c.text(p+".user", m.User, false, maxShort)
		c.ref(p+".person", m.Person, "record", KindPerson, false, f)
		// A member's user account (its name or ID) is granted the team's
		// compartment; the service refuses an unknown user when the record
		// is written, the projection skips one (it must accept what older
		// versions accepted).
		if m.User != "" && !slices.Contains(f.Members, m.User) {
			f.Members = append(f.Members, m.User)
		}
	}
	f.Title, f.Type, f.Localities = r.Name, r.Type, r.Localities
	f.Text = words(r.Name, r.Theme, r.Area)
}

func (r *Task) facts(c *checker, f *RecordFacts) {
	c.text("title", r.Title, true, maxShort)
	c.ref("team", r.Team, "record", KindTeam, true, f)
	c.text("assignee", r.Assignee, false, maxShort)
	f.Date = c.date("due", r.Due, false)
	c.enum("status", r.Status, true, TaskStates)
	c.ref("site", r.Site, "record", KindSite, false, f)
	c.locality("locality", r.Locality, false, f)
	c.text("description", r.Description, false, maxLong)
	for i, p := range r.Produced {
		c.ref(fmt.Sprintf("produced[%d]", i), p, "any", "", true, f)
	}
	f.Title, f.Team, f.Status, f.Site, f.Locality = r.Title, r.Team, r.Status, r.Site, r.Locality
	f.Text = words(r.Title, r.Description)
}

// qualificationRe checks the form of a legal qualification; the service
// checks Rome Statute provisions and CCU 438 against the legal catalogue.
var qualificationRe = regexp.MustCompile(`^(CCU \d+(-\d+)?(\(\d+\))?|RS \d+( bis)?(\(\d+\))?(\([a-z]+\))?(\([ivx]+\))?)$`)

func (r *Case) facts(c *checker, f *RecordFacts) {
	c.text("number", r.Number, true, 64)
	c.text("title", r.Title, true, maxShort)
	c.enum("status", r.Status, false, CaseStates)
	for i, q := range r.Qualification {
		if !qualificationRe.MatchString(q) {
			c.fail(fmt.Sprintf("qualification[%d]", i), "%q is not an article such as \"CCU 438(1)\" or \"RS 8(2)(a)(ii)\"", truncateRunes(q, 40))
		}
	}
	c.text("prosecutor", r.Prosecutor, false, maxShort)
	c.refs("incidents", r.Incidents, "record", KindIncident, f)
	c.refs("persons", r.Persons, "record", KindPerson, f)
	c.refs("items", r.Items, "item", "", f)
	f.Date = c.date("opened_on", r.OpenedOn, false)
	c.text("description", r.Description, false, maxLong)
	charged := map[string]bool{}
	for i, ch := range r.Charges {
		p := fmt.Sprintf("charges[%d]", i)
		c.text(p+".crime", ch.Crime, true, 64)
		if charged[ch.Crime] {
			c.fail(p+".crime", "%s is charged twice", ch.Crime)
		}
		charged[ch.Crime] = true
		seen := map[[2]string]bool{}
		for j, sp := range ch.Support {
			q := fmt.Sprintf("%s.support[%d]", p, j)
			if !strings.HasPrefix(sp.Element, ch.Crime+"/") {
				c.fail(q+".element", "%q is not an element of %s", truncateRunes(sp.Element, 40), ch.Crime)
			}
			c.ref(q+".source", sp.Source, "any", "", true, f)
			c.text(q+".reason", sp.Reason, true, maxLong)
			k := [2]string{sp.Element, sp.Source}
			if seen[k] {
				c.fail(q, "the same source supports %s twice", sp.Element)
			}
			seen[k] = true
		}
	}
	f.Title, f.Status = r.Number+" "+r.Title, r.Status
	f.Text = words(r.Number, r.Title, strings.Join(r.Qualification, " "), r.Description)
}
