package evidence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/verify"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Problem is one thing `custody verify` found wrong, named precisely.
type Problem struct {
	Kind     string `json:"kind"` // blob, entry, payload, tile, checkpoint, index
	Item     string `json:"item,omitempty"`
	Entry    *int64 `json:"entry,omitempty"` // log index
	Object   string `json:"object,omitempty"`
	Message  string `json:"message"`
	Expected string `json:"expected,omitempty"`
	Found    string `json:"found,omitempty"`
}

// Report is the outcome of Verify.
type Report struct {
	Entries     uint64    `json:"entries"`
	Checkpoints int       `json:"checkpoints"`
	Blobs       int       `json:"blobs"`
	BlobBytes   int64     `json:"blob_bytes"`
	IndexRows   int       `json:"index_rows"`
	Problems    []Problem `json:"problems"`
}

// OK reports whether nothing was wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) add(p Problem) { r.Problems = append(r.Problems, p) }

func idx(i uint64) *int64 { v := int64(i); return &v }

// Progress receives the progress of long operations.
type Progress func(phase string, done, total int64)

// Verify checks the whole store: every entry parses and its payload matches
// its hash, entry times never go backwards, the tree recomputed from the
// entries matches every signed checkpoint and the published tiles and entry
// bundles, successive checkpoints are consistent, every blob re-hashes to
// its reference, and every index row is what replaying the log produces.
// workers bounds parallel blob hashing (0: 2).
func (s *Service) Verify(ctx context.Context, workers int, progress Progress) (*Report, error) {
	if progress == nil {
		progress = func(string, int64, int64) {}
	}
	r := &Report{}
	if err := s.verifyLog(ctx, r, progress); err != nil {
		return nil, err
	}
	if err := s.verifyBlobs(ctx, r, workers, progress); err != nil {
		return nil, err
	}
	if err := s.verifyIndex(ctx, r, progress); err != nil {
		return nil, err
	}
	return r, nil
}

func (s *Service) verifyLog(ctx context.Context, r *Report, progress Progress) error {
	size, err := s.cfg.DB.LogSize(ctx)
	if err != nil {
		return err
	}
	r.Entries = size
	cps, err := s.cfg.DB.Checkpoints(ctx)
	if err != nil {
		return err
	}
	r.Checkpoints = len(cps)
	want := make(map[uint64]verify.Checkpoint) // by size, signature-checked
	var sizes []uint64
	for _, c := range cps {
		cp, err := verify.OpenCheckpoint(c.Note, s.cfg.VerifierKey)
		if err != nil {
			r.add(Problem{Kind: "checkpoint", Object: fmt.Sprintf("checkpoint %d", c.Size), Message: "signature or format does not verify: " + err.Error()})
			continue
		}
		if cp.Size != c.Size {
			r.add(Problem{Kind: "checkpoint", Object: fmt.Sprintf("checkpoint %d", c.Size), Message: "signed size differs from the recorded size",
				Expected: fmt.Sprint(c.Size), Found: fmt.Sprint(cp.Size)})
			continue
		}
		want[cp.Size] = cp
		sizes = append(sizes, cp.Size)
	}
	pub, err := s.cfg.DB.Published(ctx)
	if err != nil {
		return err
	}

	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	rng := rf.NewEmptyRange(0)
	roots := make(map[uint64][]byte)
	var last time.Time
	const step = 4096
	for from := uint64(0); from < size; from += step {
		if err := ctx.Err(); err != nil {
			return err
		}
		to := min(size, from+step)
		recs, err := s.cfg.DB.Records(ctx, from, to)
		if err != nil {
			return err
		}
		byIdx := make(map[uint64]custody.LogRecord, len(recs))
		for _, rec := range recs {
			byIdx[rec.Index] = rec
		}
		// The published entry bundles of this range, to compare.
		var published [][]byte
		if from < pub.Size {
			published, err = s.prover.Entries(ctx, from, min(to, pub.Size), pub.Size)
			if err != nil {
				r.add(Problem{Kind: "tile", Message: fmt.Sprintf("entry bundles for %d..%d cannot be read: %v", from, min(to, pub.Size), err)})
				published = nil
			}
		}
		for i := from; i < to; i++ {
			rec, ok := byIdx[i]
			if !ok {
				r.add(Problem{Kind: "entry", Entry: idx(i), Message: "log entry is missing from the database"})
				if int(i-from) < len(published) {
					rec = custody.LogRecord{Index: i, Leaf: published[i-from]}
				} else {
					rng.Append(make([]byte, 32), nil) // keep positions; roots will mismatch
					continue
				}
			}
			if int(i-from) < len(published) && !bytes.Equal(published[i-from], rec.Leaf) {
				r.add(Problem{Kind: "entry", Entry: idx(i), Message: "database entry differs from the published entry bundle",
					Expected: verify.ContentRef(published[i-from]), Found: verify.ContentRef(rec.Leaf)})
			}
			e, err := verify.ParseEntry(rec.Leaf)
			if err != nil {
				r.add(Problem{Kind: "entry", Entry: idx(i), Message: err.Error()})
			} else {
				if rec.Payload != nil {
					if err := verify.CheckPayload(e, rec.Payload); err != nil {
						r.add(Problem{Kind: "payload", Entry: idx(i), Message: err.Error()})
					}
				}
				t, err := time.Parse(time.RFC3339Nano, e.Time)
				if err != nil {
					r.add(Problem{Kind: "entry", Entry: idx(i), Message: "malformed time " + e.Time})
				} else if t.Before(last) {
					r.add(Problem{Kind: "entry", Entry: idx(i), Message: "entry time goes backwards (back-dated or reordered)",
						Expected: "at or after " + custody.FormatTime(last), Found: e.Time})
				} else {
					last = t
				}
			}
			if err := rng.Append(verify.LeafHash(rec.Leaf), nil); err != nil {
				return fmt.Errorf("tree: %w", err)
			}
			if _, ok := want[i+1]; ok {
				root, err := rng.GetRootHash(nil)
				if err != nil {
					return fmt.Errorf("tree root: %w", err)
				}
				roots[i+1] = root
			}
		}
		progress("log", int64(to), int64(size))
	}
	if size > 0 && len(sizes) == 0 {
		r.add(Problem{Kind: "checkpoint", Message: "the log has entries but no checkpoint"})
	}
	for i, sz := range sizes {
		cp := want[sz]
		root, ok := roots[sz]
		if !ok {
			r.add(Problem{Kind: "checkpoint", Object: fmt.Sprintf("checkpoint %d", sz), Message: "checkpoint is larger than the log"})
			continue
		}
		if !bytes.Equal(root, cp.Root) {
			r.add(Problem{Kind: "checkpoint", Object: fmt.Sprintf("checkpoint %d", sz), Message: "the entries do not hash to the signed root",
				Expected: fmt.Sprintf("%x", cp.Root), Found: fmt.Sprintf("%x", root)})
		}
		if i > 0 && sz <= pub.Size {
			prev := want[sizes[i-1]]
			proof, err := s.prover.ConsistencyProof(ctx, prev.Size, sz)
			if err == nil {
				err = verify.VerifyConsistency(prev.Size, sz, proof, prev.Root, cp.Root)
			}
			if err != nil {
				r.add(Problem{Kind: "checkpoint", Object: fmt.Sprintf("checkpoints %d and %d", prev.Size, sz), Message: "not consistent: " + err.Error()})
			}
		}
	}
	// The checkpoint served to the public must be the newest recorded one.
	if raw, err := s.cfg.Public.Get(ctx, "checkpoint"); err == nil {
		cp, err := verify.OpenCheckpoint(raw, s.cfg.VerifierKey)
		switch {
		case err != nil:
			r.add(Problem{Kind: "checkpoint", Object: "published checkpoint", Message: "does not verify: " + err.Error()})
		case cp.Size != pub.Size:
			r.add(Problem{Kind: "checkpoint", Object: "published checkpoint", Message: "published size differs from the integrated size",
				Expected: fmt.Sprint(pub.Size), Found: fmt.Sprint(cp.Size)})
		case roots[cp.Size] != nil && !bytes.Equal(roots[cp.Size], cp.Root):
			r.add(Problem{Kind: "checkpoint", Object: "published checkpoint", Message: "root does not match the entries",
				Expected: fmt.Sprintf("%x", roots[cp.Size]), Found: fmt.Sprintf("%x", cp.Root)})
		}
	} else if size > 0 {
		r.add(Problem{Kind: "checkpoint", Object: "published checkpoint", Message: "cannot be read: " + err.Error()})
	}
	return nil
}

func (s *Service) verifyBlobs(ctx context.Context, r *Report, workers int, progress Progress) error {
	if workers <= 0 {
		workers = 2
	}
	type job struct {
		item string
		ref  custody.Ref
		size int64
	}
	var jobs []job
	seen := make(map[custody.Ref]bool)
	var total int64
	after := ""
	for {
		items, err := s.cfg.DB.Items(ctx, custody.ItemFilter{After: after, Limit: 1000}, nil)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			break
		}
		for _, it := range items {
			if it.Blob != "" && !seen[it.Blob] {
				seen[it.Blob] = true
				jobs = append(jobs, job{it.ID, it.Blob, it.Size})
				total += it.Size
			}
		}
		after = items[len(items)-1].ID
	}
	r.Blobs = len(jobs)
	var mu sync.Mutex
	var done int64
	ch := make(chan job)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20)
			for j := range ch {
				n, err := s.checkBlob(ctx, j.ref, buf)
				mu.Lock()
				done += n
				r.BlobBytes += n
				switch {
				case err != nil:
					r.add(Problem{Kind: "blob", Item: j.item, Object: string(j.ref), Message: err.Error()})
				case n != j.size:
					r.add(Problem{Kind: "blob", Item: j.item, Object: string(j.ref), Message: "size differs from the record",
						Expected: fmt.Sprint(j.size), Found: fmt.Sprint(n)})
				}
				progress("blobs", done, total)
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		select {
		case ch <- j:
		case <-ctx.Done():
		}
	}
	close(ch)
	wg.Wait()
	return ctx.Err()
}

// checkBlob reads a blob to its end through the store's verifying reader.
func (s *Service) checkBlob(ctx context.Context, ref custody.Ref, buf []byte) (int64, error) {
	rc, err := s.cfg.Blobs.Open(ctx, ref)
	if err != nil {
		if custody.ErrorCode(err) == custody.ENOTFOUND {
			return 0, errors.New("blob is missing")
		}
		return 0, err
	}
	defer rc.Close()
	n, err := io.CopyBuffer(io.Discard, rc, buf)
	if err != nil {
		if custody.ErrorCode(err) == custody.ETAMPERED {
			return n, errors.New("content does not match its hash (altered on disk)")
		}
		return n, err
	}
	return n, nil
}

// verifyIndex replays the log into a scratch SQLite database and compares
// every index row with the live database.
func (s *Service) verifyIndex(ctx context.Context, r *Report, progress Progress) error {
	dir, err := os.MkdirTemp("", "custody-verify-")
	if err != nil {
		return fmt.Errorf("scratch database: %w", err)
	}
	defer os.RemoveAll(dir)
	// The scratch copy seals payloads as the store does (it lives in the
	// system's temporary directory until Verify returns).
	scratch, err := sqlstore.Open(ctx, filepath.Join(dir, "replay.db"), sqlstore.Options{Sealer: s.cfg.DB.Sealer()})
	if err != nil {
		return fmt.Errorf("scratch database: %w", err)
	}
	defer scratch.Close()
	size, err := s.cfg.DB.LogSize(ctx)
	if err != nil {
		return err
	}
	const step = 10000
	for from := uint64(0); from < size; from += step {
		recs, err := s.cfg.DB.Records(ctx, from, min(size, from+step))
		if err != nil {
			return err
		}
		if err := scratch.Load(ctx, recs); err != nil {
			r.add(Problem{Kind: "index", Message: "the log cannot be replayed: " + err.Error()})
			return nil
		}
		progress("index", int64(from)+int64(len(recs)), int64(size))
	}
	want, err := scratch.DumpIndex(ctx)
	if err != nil {
		return err
	}
	got, err := s.cfg.DB.DumpIndex(ctx)
	if err != nil {
		return err
	}
	for _, t := range sqlstore.IndexTables {
		keys := make(map[string]bool)
		for k := range want[t] {
			keys[k] = true
		}
		for k := range got[t] {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			w, g := want[t][k], got[t][k]
			r.IndexRows++
			switch {
			case w == g:
			case g == "":
				r.add(Problem{Kind: "index", Object: t + " " + k, Message: "row derived from the log is missing from the database", Expected: w})
			case w == "":
				r.add(Problem{Kind: "index", Object: t + " " + k, Message: "row in the database is not derived from any log entry", Found: g})
			default:
				r.add(Problem{Kind: "index", Object: t + " " + k, Message: "row differs from what the log says", Expected: w, Found: g})
			}
		}
	}
	return nil
}
