package export

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/evidence"
	"github.com/custody-dev/custody/verify"
)

// Witness protection (docs/roles.md): a person record with the role
// "witness" and a protection level other than "none" is a protected
// witness. Wherever an exported payload or metadata cell contains such a
// witness's name (its Ukrainian spelling or its official Latin
// transliteration, compared without regard to case, as whole words; names
// shorter than four letters are not matched) or record ID, it is replaced
// by the witness's pseudonym, whatever the exporter's clearance.
//
// The pseudonym is "Witness W-" and the first 6 hex digits of
// HMAC-SHA256(key: the 16-byte nonce of the person record's first version,
// message: "custody witness pseudonym v1"). The nonce is private (it is in
// the payload, never in the public log), so the pseudonym is stable across
// exports, recomputable by the store, and reveals nothing to anyone else.

// redactor is what the store's redactor (evidence.Service.BundleRedactor)
// does for a bundle.
type redactor interface {
	Text(s string) (string, []string)
	JSON(raw []byte) ([]byte, []string, []string, error)
}

// protector replaces protected identities by pseudonyms: the store's
// redactor, with record IDs replaced too.
type protector struct {
	r redactor
	// byPerson maps a protected witness's record ID to its pseudonym.
	byPerson map[string]string
}

// loadProtector reads the protected witnesses and their pseudonyms.
func loadProtector(ctx context.Context, svc *evidence.Service) (*protector, error) {
	r, err := svc.BundleRedactor(ctx)
	if err != nil {
		return nil, err
	}
	return &protector{r: r, byPerson: r.ByPerson}, nil
}

// text returns s with protected identities replaced, and the pseudonyms
// used.
func (p *protector) text(s string) (string, []string) { return p.r.Text(s) }

// payload returns the payload with protected identities replaced in every
// string value, in canonical JSON, the JSON paths of the values changed and
// the pseudonyms used. An untouched payload is returned as is (same bytes).
func (p *protector) payload(raw []byte) ([]byte, []string, []string, error) {
	out, fields, used, err := p.r.JSON(raw)
	if err != nil || len(fields) == 0 {
		return out, fields, used, err
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, nil, nil, fmt.Errorf("re-read payload: %w", err)
	}
	c, err := verify.Canonical(x)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("re-encode payload: %w", err)
	}
	return c, fields, used, nil
}

// eachRecord calls fn for every record f selects, page by page, as the
// store holds them (unredacted: the bundle redacts what it writes).
func eachRecord(ctx context.Context, svc *evidence.Service, f custody.RecordFilter, fn func(*custody.Record) error) error {
	f.Limit = 1000
	for {
		page, err := svc.DB().ListRecords(ctx, f, nil)
		if err != nil {
			return err
		}
		for _, r := range page.Records {
			if err := fn(r); err != nil {
				return err
			}
		}
		if page.Next == "" || len(page.Records) == 0 {
			return nil
		}
		f.After = page.Next
	}
}
