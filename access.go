package custody

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
)

// Access control: roles carry permissions (RolePermissions, the one table
// the documentation and the authorisation test matrix are generated from);
// compartments — cases and teams — decide which records and items a user
// sees; clearances decide whose identity a user may reveal. The rules are
// described in docs/roles.md.

// Permission is one thing a role may do.
type Permission string

// The permissions.
const (
	// PermRead: read records and items in the user's compartments, the
	// statistics over them, the public log.
	PermRead Permission = "read"
	// PermReadGeneral: also read the records and items that belong to no
	// compartment (general records). Reviewers (court, defence) lack it:
	// they see only what the cases granted to them disclose.
	PermReadGeneral Permission = "read-general"
	// PermAllCompartments: see every compartment (administrators).
	PermAllCompartments Permission = "all-compartments"
	// PermWrite: create, correct and withdraw records of the kinds in
	// RoleWriteKinds; take in evidence and record handovers.
	PermWrite Permission = "write"
	// PermExport: write court bundles.
	PermExport Permission = "export"
	// PermReveal: reveal a protected witness's identity, with a reason,
	// when the user's clearance is at least the witness's protection level.
	PermReveal Permission = "reveal"
	// PermUsers: add users, issue tokens, set clearances.
	PermUsers Permission = "users"
	// PermGrant: grant and revoke compartments.
	PermGrant Permission = "grant"
	// PermAudit: list who read a record or item.
	PermAudit Permission = "audit"
)

// Permissions lists every permission in a stable order.
var Permissions = []Permission{PermRead, PermReadGeneral, PermAllCompartments, PermWrite, PermExport, PermReveal,
	PermUsers, PermGrant, PermAudit}

// RolePermissions is the permission table.
var RolePermissions = map[Role][]Permission{
	RoleAdmin:        {PermRead, PermReadGeneral, PermAllCompartments, PermWrite, PermExport, PermReveal, PermUsers, PermGrant, PermAudit},
	RoleProsecutor:   {PermRead, PermReadGeneral, PermWrite, PermExport, PermReveal},
	RoleInvestigator: {PermRead, PermReadGeneral, PermWrite, PermReveal},
	RoleForensic:     {PermRead, PermReadGeneral, PermWrite, PermReveal},
	RoleSapper:       {PermRead, PermReadGeneral, PermWrite},
	RoleAnalyst:      {PermRead, PermReadGeneral},
	RoleReviewer:     {PermRead},
}

// RoleWriteKinds lists, per role with PermWrite, the record kinds it may
// create, correct and withdraw. Cases (their legal qualification and
// charges) are the prosecutors'; remains and post-mortem findings the
// forensic experts'; sappers record sites, incidents and tasks.
var RoleWriteKinds = map[Role][]string{
	RoleAdmin:        RecordKinds,
	RoleProsecutor:   RecordKinds,
	RoleInvestigator: {KindLocality, KindSite, KindRemains, KindPerson, KindTestimony, KindIncident, KindTeam, KindTask},
	RoleForensic:     {KindSite, KindRemains, KindPerson, KindTask},
	RoleSapper:       {KindSite, KindIncident, KindTask},
}

// Can reports whether the role has permission p.
func (r Role) Can(p Permission) bool { return slices.Contains(RolePermissions[r], p) }

// CanWriteKind reports whether the role may write records of kind.
func (r Role) CanWriteKind(kind string) bool {
	return r.Can(PermWrite) && slices.Contains(RoleWriteKinds[r], kind)
}

// Clearance levels, in increasing order; they are also the witness
// protection levels (ProtectionLevels): a user sees a protected witness's
// identity only with a clearance at least the witness's level, and then
// only by revealing it with a reason, which is logged.
var Clearances = ProtectionLevels

// ClearanceRank orders clearance and protection levels: "" and "none" are
// 0, "low" 1, "medium" 2, "high" 3; an unknown level ranks above every
// clearance, so that it protects rather than exposes.
func ClearanceRank(level string) int {
	if level == "" {
		return 0
	}
	if i := slices.Index(ProtectionLevels, level); i >= 0 {
		return i
	}
	return len(ProtectionLevels)
}

// DefaultClearance is a role's clearance until an administrator sets
// another: prosecutors high, investigators medium, forensic experts low,
// everyone else none (administrators manage access; they do not read
// identities by default).
func DefaultClearance(r Role) string {
	switch r {
	case RoleProsecutor:
		return "high"
	case RoleInvestigator:
		return "medium"
	case RoleForensic:
		return "low"
	}
	return "none"
}

// ParseClearance checks a clearance level.
func ParseClearance(s string) (string, error) {
	if slices.Contains(Clearances, s) {
		return s, nil
	}
	return "", &Error{Code: EINVALID, Message: "unknown clearance " + quote(s), Hint: "one of " + strings.Join(Clearances, ", ")}
}

// Entry types of access control.
const (
	EntryGrant     = "access.grant"   // a user was granted or lost a compartment
	EntryClearance = "user.clearance" // a user's clearance changed
	EntryRead      = "access.read"    // personal data was read
	EntryReveal    = "access.reveal"  // a protected identity was revealed, with a reason
)

// GrantChange is the payload of access.grant.
type GrantChange struct {
	Nonce       string `json:"nonce"`
	User        string `json:"user"`        // user ID
	Compartment string `json:"compartment"` // a case or team record ID
	Revoke      bool   `json:"revoke,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// ClearanceChange is the payload of user.clearance.
type ClearanceChange struct {
	Nonce     string `json:"nonce"`
	User      string `json:"user"`
	Clearance string `json:"clearance"`
	Reason    string `json:"reason,omitempty"`
}

// ReadAudit is the payload of access.read and access.reveal: who read
// (the entry's actor), what (record and item IDs), how and why.
type ReadAudit struct {
	Nonce    string   `json:"nonce"`
	Subjects []string `json:"subjects"`
	Action   string   `json:"action"` // view, list, search, history, export, reveal
	Reason   string   `json:"reason,omitempty"`
}

// MaxReadSubjects bounds the subjects of one access.read entry.
const MaxReadSubjects = 1000

// AccessEvent is one read of a record or item, as an administrator lists
// them.
type AccessEvent struct {
	Subject  string `json:"subject"`
	Action   string `json:"action"`
	Reason   string `json:"reason,omitempty"`
	Actor    string `json:"actor"`
	Time     string `json:"time"`
	LogIndex uint64 `json:"log_index"`
}

// Grant is a user's access to a compartment.
type Grant struct {
	User        string `json:"user"`
	Compartment string `json:"compartment"`
	Source      string `json:"source"` // "grant" or the team record that makes the user a member
}

// PseudonymLabel is the HMAC message of witness pseudonyms.
const PseudonymLabel = "custody witness pseudonym v1"

// WitnessPseudonym is the stable pseudonym of a person: "Witness W-" and
// the first 6 hex digits of HMAC-SHA256(key: the nonce of the person
// record's first version, message: PseudonymLabel). The nonce is private
// (it is in the payload, never in the public log), so the pseudonym
// reveals nothing and the store can always recompute it.
func WitnessPseudonym(nonce string) string {
	key, err := base64.RawStdEncoding.DecodeString(nonce)
	if err != nil {
		key = []byte(nonce)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(PseudonymLabel))
	return "Witness W-" + hex.EncodeToString(m.Sum(nil))[:6]
}
