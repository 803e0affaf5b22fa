package evidence

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/ledger"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/verify"
)

// maxIntegrate bounds the entries published in one transaction.
const maxIntegrate = 1 << 16

// Publish integrates every sequenced entry into the published log (tiles,
// entry bundles, private payload bundles) and signs a new checkpoint. It
// returns the published size. Safe to call from several goroutines and
// processes at once.
func (s *Service) Publish(ctx context.Context) (uint64, error) {
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	for {
		size, err := s.cfg.DB.LogSize(ctx)
		if err != nil {
			return 0, err
		}
		pub, err := s.cfg.DB.Integrate(ctx, maxIntegrate, s.integrate)
		if err != nil {
			return 0, fmt.Errorf("publish log: %w", err)
		}
		if pub >= size {
			return pub, nil
		}
	}
}

func (s *Service) integrate(ctx context.Context, prev sqlstore.Integration, recs []custody.LogRecord) (sqlstore.Integration, []byte, error) {
	var st ledger.State
	if len(prev.State) > 0 {
		if err := st.UnmarshalBinary(prev.State); err != nil {
			return prev, nil, fmt.Errorf("integration state: %w", err)
		}
	}
	if st.Size != prev.Size {
		return prev, nil, fmt.Errorf("integration state holds size %d, expected %d", st.Size, prev.Size)
	}
	leaves := make([][]byte, len(recs))
	for i, r := range recs {
		leaves[i] = r.Leaf
	}
	next, err := ledger.Integrate(ctx, s.cfg.Public, st, leaves)
	if err != nil {
		return prev, nil, err
	}
	if err := s.writePayloads(ctx, prev.Size, recs); err != nil {
		return prev, nil, err
	}
	cp, err := ledger.SignCheckpoint(s.signer, s.cfg.Origin, next)
	if err != nil {
		return prev, nil, err
	}
	if err := s.cfg.Private.Put(ctx, "checkpoints/"+strconv.FormatUint(next.Size, 10), cp); err != nil {
		return prev, nil, fmt.Errorf("save checkpoint history: %w", err)
	}
	if err := s.cfg.Public.Put(ctx, "checkpoint", cp); err != nil {
		return prev, nil, fmt.Errorf("publish checkpoint: %w", err)
	}
	state, err := next.MarshalBinary()
	if err != nil {
		return prev, nil, err
	}
	return sqlstore.Integration{Size: next.Size, State: state}, cp, nil
}

// Payload bundles mirror entry bundles (256 payloads each, same paths under
// "payload/"), but payloads may exceed 64 KiB: each is a 4-byte big-endian
// length and the bytes. They are private: they hold the content of the log.
// In an encrypted store each payload is sealed on its own, as in the
// database (the DB's Sealer: see docs/keys.md); the bundle's layout is the
// same, and the hashes in the entries are over the plaintext.

func payloadPath(bundle uint64, width int) string {
	return "payload/" + verify.EntriesPath(bundle, width)
}

func (s *Service) writePayloads(ctx context.Context, from uint64, recs []custody.LogRecord) error {
	for len(recs) > 0 {
		bundle := from / 256
		have := int(from % 256)
		var buf []byte
		if have > 0 {
			old, err := s.cfg.Private.Get(ctx, payloadPath(bundle, have))
			if err != nil {
				return fmt.Errorf("read payload bundle %d: %w", bundle, err)
			}
			buf = append(buf, old...)
		}
		n := min(256-have, len(recs))
		sealer := s.cfg.DB.Sealer()
		for _, r := range recs[:n] {
			p := r.Payload
			if sealer != nil {
				var err error
				if p, err = sealer.Seal(nil, p); err != nil {
					return fmt.Errorf("write payload bundle %d: %w", bundle, err)
				}
			}
			buf = binary.BigEndian.AppendUint32(buf, uint32(len(p)))
			buf = append(buf, p...)
		}
		if err := s.cfg.Private.Put(ctx, payloadPath(bundle, have+n), buf); err != nil {
			return fmt.Errorf("write payload bundle %d: %w", bundle, err)
		}
		recs = recs[n:]
		from += uint64(n)
	}
	return nil
}

// readPayloads returns the payloads of bundle number bundle, which holds
// width entries.
func (s *Service) readPayloads(ctx context.Context, bundle uint64, width int) ([][]byte, error) {
	raw, err := s.cfg.Private.Get(ctx, payloadPath(bundle, width))
	if err != nil {
		return nil, fmt.Errorf("read payload bundle %d: %w", bundle, err)
	}
	var out [][]byte
	sealer := s.cfg.DB.Sealer()
	for len(raw) > 0 {
		if len(raw) < 4 {
			return nil, custody.Errorf(custody.ETAMPERED, "payload bundle %d is truncated", bundle)
		}
		n := binary.BigEndian.Uint32(raw)
		if uint64(n) > uint64(len(raw)-4) {
			return nil, custody.Errorf(custody.ETAMPERED, "payload bundle %d is truncated", bundle)
		}
		p := raw[4 : 4+n]
		if len(p) > 0 && p[0] != '{' {
			// Sealed (payloads are JSON objects).
			if sealer == nil {
				return nil, custody.Errorf(custody.EINVALID, "payload bundle %d holds sealed payloads, and the store was opened without its keys", bundle)
			}
			opened, err := sealer.Open(nil, p)
			if err != nil {
				return nil, fmt.Errorf("payload bundle %d, payload %d: %w", bundle, len(out), err)
			}
			p = opened
		}
		out = append(out, p)
		raw = raw[4+n:]
	}
	if len(out) != width {
		return nil, custody.Errorf(custody.ETAMPERED, "payload bundle %d holds %d payloads, expected %d", bundle, len(out), width)
	}
	return out, nil
}

// Checkpoint returns the latest signed checkpoint, publishing first if
// entries are waiting.
func (s *Service) Checkpoint(ctx context.Context) (verify.Checkpoint, []byte, error) {
	if _, err := s.Publish(ctx); err != nil {
		return verify.Checkpoint{}, nil, err
	}
	raw, err := s.cfg.Public.Get(ctx, "checkpoint")
	if err != nil {
		return verify.Checkpoint{}, nil, fmt.Errorf("read checkpoint: %w", err)
	}
	cp, err := verify.OpenCheckpoint(raw, s.cfg.VerifierKey)
	if err != nil {
		return verify.Checkpoint{}, nil, custody.Errorf(custody.ETAMPERED, "the published checkpoint does not verify: %v", err)
	}
	return cp, raw, nil
}

// Proof is an inclusion proof of one log entry, with everything needed to
// check it offline: the entry, the signed checkpoint and the key.
type Proof struct {
	Index       uint64   `json:"index"`
	TreeSize    uint64   `json:"tree_size"`
	Entry       string   `json:"entry"`     // the entry envelope (canonical JSON)
	LeafHash    []byte   `json:"leaf_hash"` // RFC 6962 leaf hash
	Hashes      [][]byte `json:"hashes"`    // audit path, leaf to root
	Root        []byte   `json:"root"`
	Checkpoint  string   `json:"checkpoint"` // signed note
	VerifierKey string   `json:"verifier_key"`
	Verified    bool     `json:"verified"` // checked here against the checkpoint
}

// ProveIndex returns a verified inclusion proof of entry idx against the
// latest checkpoint.
func (s *Service) ProveIndex(ctx context.Context, idx uint64) (*Proof, error) {
	cp, raw, err := s.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	if idx >= cp.Size {
		return nil, custody.Errorf(custody.ENOTFOUND, "no log entry %d (the log has %d)", idx, cp.Size)
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
	p := &Proof{Index: idx, TreeSize: cp.Size, Entry: string(recs[0].Leaf), LeafHash: verify.LeafHash(recs[0].Leaf),
		Hashes: hashes, Root: cp.Root, Checkpoint: string(raw), VerifierKey: s.cfg.VerifierKey}
	if err := verify.VerifyInclusion(p.LeafHash, idx, cp.Size, hashes, cp.Root); err != nil {
		return p, custody.Errorf(custody.ETAMPERED, "entry %d does not verify against the checkpoint of size %d: %v", idx, cp.Size, err)
	}
	p.Verified = true
	return p, nil
}

// ProveItem returns the inclusion proof of the entry that took an item in.
func (s *Service) ProveItem(ctx context.Context, id string) (*Proof, error) {
	it, err := s.cfg.DB.Item(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.ProveIndex(ctx, it.LogIndex)
}

// ConsistencyProof proves that the log of size from is a prefix of the log
// of size to.
func (s *Service) ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error) {
	cp, _, err := s.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	if from > to || to > cp.Size {
		return nil, custody.Errorf(custody.EINVALID, "consistency needs 0 <= from <= to <= %d", cp.Size)
	}
	return s.prover.ConsistencyProof(ctx, from, to)
}
