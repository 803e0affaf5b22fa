package custody

import (
	"context"
	"encoding/json"
)

// Record kinds: the investigation's records. Every record is created and
// changed through the log (entries record.create, record.update,
// record.withdraw), so its whole history is provable; nothing is deleted.
const (
	KindLocality  = "locality"  // facts about a KATOTTH unit: occupation, liberation, population
	KindSite      = "site"      // burial site, grave, building, detention site, barracks, impact point
	KindRemains   = "remains"   // exhumed remains and the post-mortem findings
	KindPerson    = "person"    // victim, missing person, witness, suspect, investigator
	KindTestimony = "testimony" // a witness's account
	KindIncident  = "incident"  // strike, killing, torture, detention, ...
	KindTeam      = "team"      // a mobile or thematic group
	KindTask      = "task"      // work given to a team
	KindCase      = "case"      // criminal proceedings and their legal qualification
)

// RecordKinds lists the kinds in the order pages and documents present them.
var RecordKinds = []string{KindLocality, KindSite, KindRemains, KindPerson, KindTestimony, KindIncident, KindTeam, KindTask, KindCase}

// IsRecordKind reports whether k names a record kind.
func IsRecordKind(k string) bool {
	for _, x := range RecordKinds {
		if x == k {
			return true
		}
	}
	return false
}

// Entry types of records.
const (
	EntryRecordCreate   = "record.create"
	EntryRecordUpdate   = "record.update"
	EntryRecordWithdraw = "record.withdraw"
)

// RecordChange is the payload of the record.* entries. Data is the kind's
// struct (Site, Remains, ...) in canonical JSON: the whole new version, not
// a difference, so that any version reads without its predecessors.
type RecordChange struct {
	Nonce string `json:"nonce"`
	Kind  string `json:"kind"`
	ID    string `json:"id"`
	// Version is the version this change makes: 1 for a create, the
	// previous version + 1 otherwise. The projection refuses any other
	// (ECONFLICT), which is how concurrent edits are detected.
	Version int             `json:"version"`
	Data    json.RawMessage `json:"data,omitempty"`   // absent for a withdrawal
	Reason  string          `json:"reason,omitempty"` // required for a withdrawal; optional for an update
	// Compartments are the cases and teams (record IDs) the record is put
	// in explicitly, besides those its data implies (its case and team
	// fields, the cases that list it); see docs/roles.md. Absent for a
	// withdrawal, which keeps them.
	Compartments []string `json:"compartments,omitempty"`
}

// Record is the current version of a record, as the index holds it.
type Record struct {
	ID             string          `json:"id"`
	Kind           string          `json:"kind"`
	Version        int             `json:"version"`
	Title          string          `json:"title"`
	Data           json.RawMessage `json:"data"`
	Withdrawn      bool            `json:"withdrawn,omitempty"`
	WithdrawReason string          `json:"withdraw_reason,omitempty"`
	CreatedAt      string          `json:"created_at"`
	CreatedBy      string          `json:"created_by"`
	UpdatedAt      string          `json:"updated_at"`
	UpdatedBy      string          `json:"updated_by"`
	LogIndex       uint64          `json:"log_index"` // the entry that made this version
	// Compartments are the explicit compartments of the current version.
	Compartments []string `json:"compartments,omitempty"`
	// Protection is, for a protected witness, the protection level: the
	// clearance needed to reveal the identity (with a reason, logged).
	Protection string `json:"protection,omitempty"`
	// Redacted is true when this output replaced protected identities by
	// pseudonyms.
	Redacted bool `json:"redacted,omitempty"`
	// Warnings are returned when a record is written, not stored: accepted
	// input worth a second look (a position outside Ukraine).
	Warnings []string `json:"warnings,omitempty"`
}

// RecordVersion is one step of a record's history.
type RecordVersion struct {
	Version  int             `json:"version"`
	Change   string          `json:"change"` // create, update or withdraw
	Data     json.RawMessage `json:"data,omitempty"`
	Reason   string          `json:"reason,omitempty"`
	Actor    string          `json:"actor"`
	Time     string          `json:"time"`
	EntryID  string          `json:"entry"`
	LogIndex uint64          `json:"log_index"`
}

// Backlink is a reference to a record (or an item) from another record's
// current version.
type Backlink struct {
	From  string `json:"from"`  // the referring record
	Kind  string `json:"kind"`  // its kind
	Title string `json:"title"` // its title
	Field string `json:"field"` // the field that refers, e.g. "injuries[0].photos[1]"
}

// RecordFilter selects records. Empty fields do not filter.
type RecordFilter struct {
	Kind     string `json:"kind,omitempty"`
	Locality string `json:"locality,omitempty"` // KATOTTH code of the settlement
	Site     string `json:"site,omitempty"`
	Case     string `json:"case,omitempty"`
	Team     string `json:"team,omitempty"`
	Type     string `json:"type,omitempty"`   // the kind's type field (site type, incident type, person role)
	Status   string `json:"status,omitempty"` // the kind's status field
	From     string `json:"from,omitempty"`   // date (YYYY-MM-DD) at or after
	To       string `json:"to,omitempty"`     // date at or before
	// Sort is "id" (creation order, the default), "date", "title" or
	// "updated"; a leading "-" reverses it.
	Sort             string `json:"sort,omitempty"`
	After            string `json:"after,omitempty"` // cursor from the previous page
	Limit            int    `json:"limit,omitempty"` // default 50, at most 1000
	IncludeWithdrawn bool   `json:"include_withdrawn,omitempty"`
}

// RecordPage is one page of a listing.
type RecordPage struct {
	Records []*Record `json:"records"`
	Next    string    `json:"next,omitempty"` // cursor of the next page; empty on the last
}

// SearchQuery is a full-text search across records (and transcripts).
type SearchQuery struct {
	Q        string `json:"q"`
	Kind     string `json:"kind,omitempty"`
	Locality string `json:"locality,omitempty"`
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	Limit    int    `json:"limit,omitempty"` // default 20, at most 200
}

// SearchHit is one result, best first.
type SearchHit struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Title   string `json:"title"`
	Snippet string `json:"snippet"` // plain text; the matched terms between « and »
}

// Stats are the investigation's figures, overall or for one locality.
type Stats struct {
	Bodies           int `json:"bodies_recovered"`
	Identified       int `json:"bodies_identified"`
	Torture          int `json:"bodies_with_signs_of_torture"`
	KilledConfirmed  int `json:"killed_confirmed"`
	KilledEstimated  int `json:"killed_estimated"`
	InjuredConfirmed int `json:"injured_confirmed"`
	InjuredEstimated int `json:"injured_estimated"`
	// Records counts the records of each kind (withdrawn ones excluded).
	Records map[string]int `json:"records"`
	// IncidentsByMonth counts incidents by type and month (YYYY-MM).
	IncidentsByMonth []MonthCount `json:"incidents_by_month"`
	// PerLocality holds the figures of each locality that has any.
	PerLocality []LocalityStats `json:"per_locality,omitempty"`
	// LocalitiesVisited counts the localities some team covers, of
	// LocalitiesTotal settlements.
	LocalitiesVisited int `json:"localities_visited"`
	LocalitiesTotal   int `json:"localities_total"`
}

// MonthCount is a number of incidents of one type in one month.
type MonthCount struct {
	Month string `json:"month"`
	Type  string `json:"type"`
	Count int    `json:"count"`
}

// LocalityStats are the figures of one locality.
type LocalityStats struct {
	Locality        string `json:"locality"`
	Name            string `json:"name,omitempty"`
	Bodies          int    `json:"bodies_recovered"`
	Identified      int    `json:"bodies_identified"`
	Torture         int    `json:"bodies_with_signs_of_torture"`
	KilledConfirmed int    `json:"killed_confirmed"`
	KilledEstimated int    `json:"killed_estimated"`
	Incidents       int    `json:"incidents"`
}

// RecordInput is a record to create or a new version of one.
type RecordInput struct {
	Kind string          `json:"kind"`
	ID   string          `json:"id,omitempty"` // set for an update; for a locality, its KATOTTH code
	Data json.RawMessage `json:"data"`
	// Base is the version the change was made from (updates only): when it
	// is not the current version, the update fails with ECONFLICT.
	Base       int    `json:"base,omitempty"`
	Reason     string `json:"reason,omitempty"`
	DeviceTime string `json:"device_time,omitempty"`
	// Compartments puts the record in these cases and teams (record IDs).
	// On create, when empty, the record goes to the creator's teams; on
	// update, when nil, the current ones are kept.
	Compartments []string `json:"compartments,omitempty"`
}

// RecordService creates, corrects, withdraws and reads records.
type RecordService interface {
	// CreateRecords creates records, all or none, in one log append.
	// Errors: EINVALID (with the index of the failing input), ENOTFOUND (a
	// referenced record, item or locality does not exist), EFORBIDDEN.
	CreateRecords(ctx context.Context, actor *User, in []RecordInput) ([]*Record, error)
	// UpdateRecord writes a new version. Errors: ENOTFOUND, ECONFLICT (in.Base is
	// not the current version, or the record is withdrawn), EINVALID, EFORBIDDEN.
	UpdateRecord(ctx context.Context, actor *User, in RecordInput) (*Record, error)
	// WithdrawRecord marks a record withdrawn, with a reason; it stays readable.
	WithdrawRecord(ctx context.Context, actor *User, id string, base int, reason string) (*Record, error)
	Record(ctx context.Context, actor *User, id string) (*Record, error)
	RecordHistory(ctx context.Context, actor *User, id string) ([]*RecordVersion, error)
	Records(ctx context.Context, actor *User, f RecordFilter) (*RecordPage, error)
	Search(ctx context.Context, actor *User, q SearchQuery) ([]*SearchHit, error)
	Stats(ctx context.Context, actor *User, locality string) (*Stats, error)
}

// CaseMatrix is a case's charged crimes, element by element, with what
// supports each and the gaps.
type CaseMatrix struct {
	Case    string         `json:"case"`
	Number  string         `json:"number"`
	Title   string         `json:"title"`
	Charges []ChargeMatrix `json:"charges"`
	// Gaps counts the elements with a gap, over all charges.
	Gaps int `json:"gaps"`
}

// ChargeMatrix is one charged crime.
type ChargeMatrix struct {
	Crime      string          `json:"crime"`
	Title      string          `json:"title"`
	Provisions []string        `json:"provisions"`
	Elements   []ElementMatrix `json:"elements"`
}

// ElementMatrix is one element of a charged crime and its support.
type ElementMatrix struct {
	Element string          `json:"element"`
	Kind    string          `json:"kind"` // material, contextual, mental
	Text    string          `json:"text"`
	Support []SupportMatrix `json:"support"`
	// Gap is "" when the element is supported by two or more sources of
	// which one at least is verified; otherwise "unsupported",
	// "single-source" or "unverified".
	Gap string `json:"gap,omitempty"`
}

// SupportMatrix is one source supporting an element.
type SupportMatrix struct {
	Source     string `json:"source"`
	SourceKind string `json:"source_kind"` // item, testimony, remains, incident, ...
	Title      string `json:"title"`
	Reason     string `json:"reason"`
	Verified   bool   `json:"verified"`
	LinkedBy   string `json:"linked_by"` // the actor of the case version that added the link
	LinkedAt   string `json:"linked_at"`
	Withdrawn  bool   `json:"withdrawn,omitempty"` // the source has been withdrawn since
}

// Gap kinds of the case matrix.
const (
	GapUnsupported  = "unsupported"
	GapSingleSource = "single-source"
	GapUnverified   = "unverified"
)
