package custody

import (
	"encoding/json"
	"time"
)

// EntryVersion is the version of the entry envelope this build writes.
const EntryVersion = 1

// Entry types. An entry's Type says how its payload is to be read and which
// index rows it produces.
const (
	EntryStoreInit = "store.init"       // the first entry of every store
	EntryUserAdd   = "user.add"         // a user was created
	EntryUserToken = "user.token"       // a new API token replaced the old ones
	EntryItemAdd   = "item.add"         // an evidence item was taken in
	EntryHandover  = "custody.handover" // an item changed hands
	EntryAccess    = "custody.access"   // an item's content was read or exported
)

// Entry types of sign-in hardening (docs/roles.md, docs/log-format.md).
const (
	// EntryUserTOTP set (or, with no secret, removed) a user's TOTP second
	// factor; EntryUserPassword set or reset a user's sign-in password.
	EntryUserTOTP     = "user.totp"
	EntryUserPassword = "user.password"
	// EntryTokenAdd issued a scoped, expiring API token (one of several a
	// user may hold); EntryTokenRevoke revoked one.
	EntryTokenAdd    = "token.add"
	EntryTokenRevoke = "token.revoke"
)

// Entry is the public envelope of one log entry: what the published log
// (tiles and entry bundles, served without authentication) holds. It names
// the change but carries none of its content; Payload is the content
// reference of the private payload (a salted canonical JSON document kept in
// the store and in court bundles). Anyone with the payload can check it
// against the entry; anyone without it learns only that a change of this type
// happened at this time.
//
// Its canonical encoding is specified in docs/log-format.md.
type Entry struct {
	V     int    `json:"v"`
	ID    string `json:"id"`    // UUIDv7 of this entry
	Type  string `json:"type"`  // one of the Entry* constants
	Store string `json:"store"` // ID of the store that made the entry
	Actor string `json:"actor"` // ID of the authenticated user; "system" for store.init
	// Time is the store's clock when the entry was sequenced (UTC, RFC 3339
	// with nanoseconds).
	Time string `json:"time"`
	// DeviceTime is the clock of the device the change came from, as it
	// reported it, if it differs from the store (a tablet uploading to a
	// laptop). Kept so that a later sync can reason about both clocks.
	DeviceTime string `json:"device_time,omitempty"`
	Subject    string `json:"subject"` // ID of the record changed
	Payload    Ref    `json:"payload"` // sha256 of the canonical payload bytes
}

// TimeFormat is how times are written in entries and payloads: UTC with
// nanoseconds, fixed width so that text order is time order.
const TimeFormat = "2006-01-02T15:04:05.000000000Z"

// FormatTime formats t with TimeFormat in UTC.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// LogRecord is a sequenced entry: its index in the log, its envelope bytes
// (the leaf), and its payload bytes.
type LogRecord struct {
	Index   uint64
	Leaf    []byte
	Payload []byte
}

// Payload types. Every payload has a Nonce: 16 random bytes (base64) that
// keep its hash from being confirmed by guessing its content.

// StoreInit is the payload of EntryStoreInit.
type StoreInit struct {
	Nonce     string `json:"nonce"`
	StoreID   string `json:"store_id"`
	Origin    string `json:"origin"`     // the log's origin line
	VerifyKey string `json:"verify_key"` // the checkpoint verifier key in note format
	Name      string `json:"name,omitempty"`
}

// UserAdded is the payload of EntryUserAdd and EntryUserToken.
type UserAdded struct {
	Nonce string `json:"nonce"`
	ID    string `json:"id"`
	Name  string `json:"name"`
	Role  Role   `json:"role"`
	// TokenHash is the hex SHA-256 of the API token (tokens are 256-bit
	// random, so a fast hash is right); the token itself is shown once.
	TokenHash string `json:"token_hash,omitempty"`
	// PasswordHash is an argon2id PHC string, if a password was set.
	PasswordHash string `json:"password_hash,omitempty"`
}

// ItemAdded is the payload of EntryItemAdd: the item as taken in.
type ItemAdded struct {
	Nonce string `json:"nonce"`
	Item  Item   `json:"item"`
}

// Handover is the payload of EntryHandover.
type Handover struct {
	Nonce    string `json:"nonce"`
	Item     string `json:"item"`
	From     string `json:"from"`
	To       string `json:"to"`
	Reason   string `json:"reason"`
	Seal     string `json:"seal,omitempty"`
	Location string `json:"location,omitempty"`
}

// Access is the payload of EntryAccess.
type Access struct {
	Nonce  string `json:"nonce"`
	Item   string `json:"item"`
	Action string `json:"action"` // "read", "export"
	Reason string `json:"reason,omitempty"`
}

// RawJSON is a JSON value kept as bytes.
type RawJSON = json.RawMessage
