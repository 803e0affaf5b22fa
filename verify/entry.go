package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// Entry is the public envelope of a Custody log entry (docs/log-format.md).
// It mirrors the server's type field for field, so that this package need
// not import the server.
type Entry struct {
	V          int    `json:"v"`
	ID         string `json:"id"`
	Type       string `json:"type"`
	Store      string `json:"store"`
	Actor      string `json:"actor"`
	Time       string `json:"time"`
	DeviceTime string `json:"device_time,omitempty"`
	Subject    string `json:"subject"`
	Payload    string `json:"payload"`
}

// MaxEntrySize is the largest entry envelope: entry bundles encode lengths
// in two bytes.
const MaxEntrySize = 65535

// ParseEntry decodes an entry envelope and checks that it is canonical,
// version 1, and has its required fields.
func ParseEntry(leaf []byte) (Entry, error) {
	var e Entry
	if len(leaf) > MaxEntrySize {
		return e, fmt.Errorf("entry: %d bytes, over the limit of %d", len(leaf), MaxEntrySize)
	}
	if err := IsCanonical(leaf); err != nil {
		return e, fmt.Errorf("entry: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(leaf))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return e, fmt.Errorf("entry: %w", err)
	}
	// One entry, one encoding: the bytes must be exactly what encoding the
	// parsed entry gives (this also refuses empty optional fields spelled out).
	if again, err := Canonical(e); err != nil || !bytes.Equal(again, leaf) {
		return e, fmt.Errorf("entry: not in canonical form")
	}
	switch {
	case e.V != 1:
		return e, fmt.Errorf("entry: unsupported version %d", e.V)
	case e.ID == "" || e.Type == "" || e.Store == "" || e.Actor == "" || e.Time == "" || e.Subject == "":
		return e, fmt.Errorf("entry: missing a required field")
	case !validRef(e.Payload):
		return e, fmt.Errorf("entry: malformed payload reference %q", e.Payload)
	}
	return e, nil
}

// ContentRef returns the "sha256-<hex>" reference of data.
func ContentRef(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256-" + hex.EncodeToString(sum[:])
}

// CheckPayload verifies that payload is canonical JSON whose reference is
// the one the entry names.
func CheckPayload(e Entry, payload []byte) error {
	if got := ContentRef(payload); got != e.Payload {
		return fmt.Errorf("payload of entry %s: hash %s, entry names %s", e.ID, got, e.Payload)
	}
	if err := IsCanonical(payload); err != nil {
		return fmt.Errorf("payload of entry %s: %w", e.ID, err)
	}
	return nil
}

func validRef(s string) bool {
	h, ok := strings.CutPrefix(s, "sha256-")
	if !ok || len(h) != 64 {
		return false
	}
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
