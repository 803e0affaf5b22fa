package evidence

import (
	"bytes"
	"context"
	"fmt"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/verify"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// RebuildInto fills into, a freshly created and empty database, from the
// published log alone: the signed checkpoint, the entry bundles and the
// private payload bundles. The entries are checked against the checkpoint's
// root before anything is written, so a damaged log is refused rather than
// half-loaded. It returns the number of entries loaded.
func (s *Service) RebuildInto(ctx context.Context, into *sqlstore.DB, progress Progress) (uint64, error) {
	if progress == nil {
		progress = func(string, int64, int64) {}
	}
	raw, err := s.cfg.Public.Get(ctx, "checkpoint")
	if err != nil {
		return 0, fmt.Errorf("read published checkpoint: %w", err)
	}
	cp, err := verify.OpenCheckpoint(raw, s.cfg.VerifierKey)
	if err != nil {
		return 0, custody.Errorf(custody.ETAMPERED, "the published checkpoint does not verify: %v", err)
	}
	if n, err := into.LogSize(ctx); err != nil {
		return 0, err
	} else if n != 0 {
		return 0, fmt.Errorf("rebuild: the target database is not empty (%d entries)", n)
	}
	// First pass: check every entry and payload against the signed root.
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	rng := rf.NewEmptyRange(0)
	if err := s.eachPublished(ctx, cp.Size, func(recs []custody.LogRecord) error {
		for _, r := range recs {
			// The payloads too: Load commits group by group, so a damaged
			// payload found only while loading would leave a half-loaded
			// database behind.
			e, err := verify.ParseEntry(r.Leaf)
			if err != nil {
				return custody.Errorf(custody.ETAMPERED, "published entry %d: %v", r.Index, err)
			}
			if err := verify.CheckPayload(e, r.Payload); err != nil {
				return custody.Errorf(custody.ETAMPERED, "payload of published entry %d: %v", r.Index, err)
			}
			if err := rng.Append(verify.LeafHash(r.Leaf), nil); err != nil {
				return err
			}
		}
		progress("check", int64(rng.End()), int64(cp.Size))
		return nil
	}); err != nil {
		return 0, err
	}
	if cp.Size > 0 {
		root, err := rng.GetRootHash(nil)
		if err != nil {
			return 0, err
		}
		if !bytes.Equal(root, cp.Root) {
			return 0, custody.Errorf(custody.ETAMPERED, "the published entries do not hash to the signed root of size %d", cp.Size)
		}
	}
	// Second pass: load.
	var done uint64
	err = s.eachPublished(ctx, cp.Size, func(recs []custody.LogRecord) error {
		if err := into.Load(ctx, recs); err != nil {
			return err
		}
		done += uint64(len(recs))
		progress("load", int64(done), int64(cp.Size))
		return nil
	})
	return done, err
}

// eachPublished reads the published log up to size in groups of bundles.
func (s *Service) eachPublished(ctx context.Context, size uint64, fn func([]custody.LogRecord) error) error {
	const group = 64 * 256
	for from := uint64(0); from < size; from += group {
		to := min(size, from+group)
		leaves, err := s.prover.Entries(ctx, from, to, size)
		if err != nil {
			return fmt.Errorf("read entry bundles %d..%d: %w", from, to, err)
		}
		recs := make([]custody.LogRecord, 0, to-from)
		for b := from / 256; b*256 < to; b++ {
			width := int(min(256, size-b*256))
			payloads, err := s.readPayloads(ctx, b, width)
			if err != nil {
				return err
			}
			for j, p := range payloads {
				i := b*256 + uint64(j)
				if i < from || i >= to {
					continue
				}
				recs = append(recs, custody.LogRecord{Index: i, Leaf: leaves[i-from], Payload: p})
			}
		}
		if err := fn(recs); err != nil {
			return err
		}
	}
	return nil
}
