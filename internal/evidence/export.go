package evidence

import (
	"context"
	"fmt"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/verify"
)

// ProvedEntry is a log entry with its private payload and its inclusion
// proof, as a court bundle carries it.
type ProvedEntry struct {
	Index   uint64
	Leaf    []byte   // the envelope
	Payload []byte   // the private payload
	Hashes  [][]byte // audit path against EntryProofs.Checkpoint
}

// EntryProofs holds entries proven against one signed checkpoint.
type EntryProofs struct {
	Checkpoint  verify.Checkpoint
	Note        []byte // the signed checkpoint
	VerifierKey string
	Entries     []ProvedEntry // in the order asked
}

// ProveEntries publishes what is pending, then returns the entries at idxs
// with their payloads and inclusion proofs, all against the one checkpoint
// it read (so that a court bundle needs a single tree head), each proof
// checked here. Payloads leave the store: callers MUST hand them only to
// courts (see the package invariants). Errors: ENOTFOUND, ETAMPERED.
func (s *Service) ProveEntries(ctx context.Context, idxs []uint64) (*EntryProofs, error) {
	cp, raw, err := s.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	out := &EntryProofs{Checkpoint: cp, Note: raw, VerifierKey: s.cfg.VerifierKey, Entries: make([]ProvedEntry, 0, len(idxs))}
	for _, idx := range idxs {
		if idx >= cp.Size {
			return nil, custody.Errorf(custody.ENOTFOUND, "no log entry %d (the checkpoint covers %d)", idx, cp.Size)
		}
		recs, err := s.cfg.DB.Records(ctx, idx, idx+1)
		if err != nil {
			return nil, err
		}
		if len(recs) != 1 {
			return nil, custody.Errorf(custody.ETAMPERED, "log entry %d is missing from the database", idx)
		}
		hashes, err := s.prover.InclusionProof(ctx, idx, cp.Size)
		if err != nil {
			return nil, fmt.Errorf("inclusion proof of %d: %w", idx, err)
		}
		if err := verify.VerifyInclusion(verify.LeafHash(recs[0].Leaf), idx, cp.Size, hashes, cp.Root); err != nil {
			return nil, custody.Errorf(custody.ETAMPERED, "entry %d does not verify against the checkpoint of size %d: %v", idx, cp.Size, err)
		}
		out.Entries = append(out.Entries, ProvedEntry{Index: idx, Leaf: recs[0].Leaf, Payload: recs[0].Payload, Hashes: hashes})
	}
	return out, nil
}
