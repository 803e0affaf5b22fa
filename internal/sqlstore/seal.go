package sqlstore

import (
	"fmt"

	"github.com/custody-dev/custody"
)

// Sealer encrypts the private payloads of log entries at rest: the
// log_entries.payload column holds what Seal returns, and every read opens
// it again, so callers of Records, Replay and the integrator see plaintext
// payloads as if nothing were sealed. What the log commits to does not
// change: an entry's payload hash is over the plaintext.
//
// The blob store's key ring provides one (blobstore.FieldSealer); this
// package does not know the format beyond its first byte.
type Sealer interface {
	// Seal appends the sealed form of plaintext to dst. It MUST NOT begin
	// with '{' (a plaintext payload is a JSON object), and MUST be safe for
	// concurrent use.
	Seal(dst, plaintext []byte) ([]byte, error)
	// Open appends the plaintext of sealed to dst. Errors: ETAMPERED (the
	// stored bytes are damaged or were altered), others if a key is missing.
	Open(dst, sealed []byte) ([]byte, error)
}

// Sealer returns the sealer of the store's payloads, or nil if they are
// stored as they are. Payload bundles written from this database are
// sealed with the same one.
func (db *DB) Sealer() Sealer { return db.sealer }

// isPlainPayload reports whether a stored payload is plaintext: payloads
// are canonical JSON objects, sealed ones never start with '{'.
func isPlainPayload(b []byte) bool { return len(b) > 0 && b[0] == '{' }

// sealPayloads returns the stored form of the payloads of entries: sealed
// if the database has a sealer, else nil (store them as they are).
func (db *DB) sealPayloads(entries []Pending) ([][]byte, error) {
	if db.sealer == nil {
		return nil, nil
	}
	out := make([][]byte, len(entries))
	for i, p := range entries {
		s, err := db.sealer.Seal(nil, p.Payload)
		if err != nil {
			return nil, fmt.Errorf("seal payload: %w", err)
		}
		out[i] = s
	}
	return out, nil
}

// storedPayload returns the stored form of one payload.
func (db *DB) storedPayload(p []byte) ([]byte, error) {
	if db.sealer == nil {
		return p, nil
	}
	s, err := db.sealer.Seal(nil, p)
	if err != nil {
		return nil, fmt.Errorf("seal payload: %w", err)
	}
	return s, nil
}

// openPayload returns the plaintext of the stored payload of entry idx.
// A plaintext payload is returned as it is, sealer or not (a store whose
// older entries predate sealing); a sealed one needs the sealer.
func (db *DB) openPayload(idx uint64, p []byte) ([]byte, error) {
	if p == nil || isPlainPayload(p) {
		return p, nil
	}
	if db.sealer == nil {
		return nil, &custody.Error{Code: custody.EINVALID,
			Message: fmt.Sprintf("the payload of log entry %d is sealed, and the database was opened without the store's keys", idx),
			Hint:    "open the store through custody, which loads its keys/ directory"}
	}
	out, err := db.sealer.Open(nil, p)
	if err != nil {
		return nil, fmt.Errorf("payload of log entry %d: %w", idx, err)
	}
	return out, nil
}
