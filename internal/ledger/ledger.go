// Package ledger publishes Custody's append-only Merkle log. Entries are
// sequenced durably in the SQL database elsewhere; this package turns the
// sequenced entries into a C2SP tlog-tiles log (hash tiles and entry
// bundles, 256 wide) stored in a custody.ObjectStore, signs C2SP
// tlog-checkpoint notes over it, and builds inclusion and consistency proofs
// from the stored tiles. The formats themselves live in package verify, which
// third parties use to check what this package writes.
//
// Invariants:
//   - The log is append-only. Entry i MUST be the same bytes in every call
//     that mentions it: Integrate MUST be given the entries prev.Size,
//     prev.Size+1, ... exactly as they were sequenced.
//   - Every object Integrate writes is a pure function of the log's prefix:
//     the tile or bundle at a given path never changes once written. A crash
//     part way through Integrate is repaired by calling Integrate again with
//     the same prev and entries, which rewrites identical bytes.
//   - A State is only valid once Integrate has returned it: the caller MUST
//     persist the State (MarshalBinary) and publish a checkpoint for it only
//     after Integrate returns without error, and MUST NOT publish a
//     checkpoint for a size no Integrate call returned (its partial tiles do
//     not exist).
//   - Hashing is RFC 6962 via github.com/transparency-dev/merkle; there is
//     no hand-written Merkle arithmetic here beyond mapping node IDs to tiles.
package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/verify"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

const (
	hashSize   = verify.HashSize
	tileWidth  = verify.TileWidth
	tileHeight = verify.TileHeight
	// writeConcurrency bounds the object writes Integrate has in flight.
	writeConcurrency = 8
)

var rangeFactory = &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

// State is the tree head of the log and what is needed to extend it: Range
// holds the compact range of [0, Size), the roots of the perfect subtrees
// along the tree's right edge, largest first. The zero State is the empty
// log.
type State struct {
	Size  uint64
	Root  []byte
	Range [][]byte
}

// stateVersion is the first byte of a marshalled State.
const stateVersion = 1

// root returns s.Root, or the empty tree's root for the zero State.
func (s State) root() []byte {
	if s.Size == 0 && len(s.Root) == 0 {
		return rfc6962.DefaultHasher.EmptyRoot()
	}
	return s.Root
}

// compactRange checks s and returns a fresh compact range for it, which
// owns its hashes (appending to it does not touch s.Range).
func (s State) compactRange() (*compact.Range, error) {
	if n := compact.RangeSize(0, s.Size); len(s.Range) != n {
		return nil, custody.Errorf(custody.EINVALID, "log state of size %d has %d range hashes, want %d", s.Size, len(s.Range), n)
	}
	hashes := make([][]byte, len(s.Range))
	for i, h := range s.Range {
		if len(h) != hashSize {
			return nil, custody.Errorf(custody.EINVALID, "log state range hash %d is %d bytes, want %d", i, len(h), hashSize)
		}
		hashes[i] = bytes.Clone(h)
	}
	r, err := rangeFactory.NewRange(0, s.Size, hashes)
	if err != nil {
		return nil, custody.Errorf(custody.EINVALID, "log state: %v", err)
	}
	root, err := rangeRoot(r)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(root, s.root()) {
		return nil, custody.Errorf(custody.ETAMPERED, "log state of size %d: root does not match its range", s.Size)
	}
	return r, nil
}

func rangeRoot(r *compact.Range) ([]byte, error) {
	if r.End() == 0 {
		return rfc6962.DefaultHasher.EmptyRoot(), nil
	}
	root, err := r.GetRootHash(nil)
	if err != nil {
		return nil, fmt.Errorf("log root: %w", err)
	}
	return root, nil
}

// MarshalBinary encodes the state as one blob: a version byte, the size as
// 8 big-endian bytes, the root, then the range hashes. It fails with
// EINVALID if the state is inconsistent.
func (s State) MarshalBinary() ([]byte, error) {
	if _, err := s.compactRange(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 1+8+hashSize*(1+len(s.Range)))
	b = append(b, stateVersion)
	b = binary.BigEndian.AppendUint64(b, s.Size)
	b = append(b, s.root()...)
	for _, h := range s.Range {
		b = append(b, h...)
	}
	return b, nil
}

// UnmarshalBinary decodes a state written by MarshalBinary. It fails with
// EUNSUPPORTED for an unknown version, EINVALID for a malformed blob and
// ETAMPERED if the root does not match the range.
func (s *State) UnmarshalBinary(data []byte) error {
	if len(data) == 0 || data[0] != stateVersion {
		return custody.Errorf(custody.EUNSUPPORTED, "log state: unknown format version")
	}
	if len(data) < 1+8+hashSize {
		return custody.Errorf(custody.EINVALID, "log state: %d bytes is too short", len(data))
	}
	size := binary.BigEndian.Uint64(data[1:])
	n := compact.RangeSize(0, size)
	if len(data) != 1+8+hashSize*(1+n) {
		return custody.Errorf(custody.EINVALID, "log state of size %d: %d bytes, want %d", size, len(data), 1+8+hashSize*(1+n))
	}
	hashes := make([][]byte, 1+n)
	for i := range hashes {
		off := 1 + 8 + hashSize*i
		hashes[i] = bytes.Clone(data[off : off+hashSize])
	}
	st := State{Size: size, Root: hashes[0], Range: hashes[1:]}
	if n == 0 {
		st.Range = nil
	}
	if _, err := st.compactRange(); err != nil {
		return err
	}
	*s = st
	return nil
}

// object is a pending write.
type object struct {
	name string
	data []byte
}

// levelTile accumulates the right-most tile of one tile level.
type levelTile struct {
	index  uint64 // tile index within the level
	hashes []byte // concatenated node hashes, up to tileWidth of them
}

// Integrate appends entries (the raw bytes of entries prev.Size,
// prev.Size+1, ... in sequence order) to the log whose state is prev, writes
// every tile and entry bundle that changed to objs, and returns the new
// state. Full tiles are written at their full path and the right-most
// partial ones at ".p/W"; each object is written at most once per call.
// Partial tiles that a bigger tile supersedes are left in place.
//
// Integrate reads the partial tiles and entry bundle at prev.Size that it
// extends. It is deterministic: calling it again with the same prev and
// entries (after a crash, say) rewrites identical objects. Concurrent calls
// on the same log MUST NOT happen; the caller serialises them.
//
// Errors: EINVALID (inconsistent prev, or an entry over 65535 bytes),
// ETAMPERED (stored tiles do not match what prev implies), and those of objs.
func Integrate(ctx context.Context, objs custody.ObjectStore, prev State, entries [][]byte) (State, error) {
	r, err := prev.compactRange()
	if err != nil {
		return State{}, err
	}
	if len(entries) == 0 {
		return State{Size: prev.Size, Root: bytes.Clone(prev.root()), Range: r.Hashes()}, nil
	}
	for i, e := range entries {
		if len(e) > verify.MaxEntrySize {
			return State{}, custody.Errorf(custody.EINVALID, "log entry %d is %d bytes, over the limit of %d", prev.Size+uint64(i), len(e), verify.MaxEntrySize)
		}
	}
	newSize, carry := bits.Add64(prev.Size, uint64(len(entries)), 0)
	if carry != 0 {
		return State{}, custody.Errorf(custody.EINVALID, "log size overflows")
	}

	// Load the right-most tile of every level that gains nodes, and the
	// right-most entry bundle.
	var levels []levelTile
	for l := uint64(0); l < 8 && newSize>>(tileHeight*l) > 0; l++ {
		n0 := prev.Size >> (tileHeight * l) // nodes at tree level 8l before
		if n0 == newSize>>(tileHeight*l) {
			break // this level, and so every level above, is unchanged
		}
		lt := levelTile{index: n0 / tileWidth, hashes: make([]byte, 0, tileWidth*hashSize)}
		if w := int(n0 % tileWidth); w > 0 {
			data, err := readTile(ctx, objs, verify.TilePath(l, lt.index, w), w)
			if err != nil {
				return State{}, err
			}
			lt.hashes = append(lt.hashes, data...)
		}
		levels = append(levels, lt)
	}
	bundleIndex := prev.Size / tileWidth
	bundle := make([][]byte, 0, tileWidth)
	if w := int(prev.Size % tileWidth); w > 0 {
		name := verify.EntriesPath(bundleIndex, w)
		data, err := objs.Get(ctx, name)
		if err != nil {
			return State{}, fmt.Errorf("read %s: %w", name, err)
		}
		old, err := verify.ParseBundle(data)
		if err != nil || len(old) != w {
			return State{}, custody.Errorf(custody.ETAMPERED, "entry bundle %s is malformed or not %d entries", name, w)
		}
		for i, e := range old {
			if !bytes.Equal(verify.LeafHash(e), levels[0].hashes[i*hashSize:(i+1)*hashSize]) {
				return State{}, custody.Errorf(custody.ETAMPERED, "entry %d in %s does not match its leaf hash", prev.Size-uint64(w)+uint64(i), name)
			}
		}
		bundle = append(bundle, old...)
	}

	var writes []object
	var visitErr error
	visit := func(id compact.NodeID, h []byte) {
		if id.Level%tileHeight != 0 || visitErr != nil {
			return
		}
		l := uint64(id.Level / tileHeight)
		if l >= uint64(len(levels)) {
			visitErr = fmt.Errorf("integrate: unexpected node at level %d", id.Level)
			return
		}
		lt := &levels[l]
		if want := lt.index*tileWidth + uint64(len(lt.hashes)/hashSize); id.Index != want {
			visitErr = fmt.Errorf("integrate: node %d at level %d, want %d", id.Index, id.Level, want)
			return
		}
		lt.hashes = append(lt.hashes, h...)
		if len(lt.hashes) == tileWidth*hashSize {
			writes = append(writes, object{verify.TilePath(l, lt.index, tileWidth), lt.hashes})
			lt.index++
			lt.hashes = make([]byte, 0, tileWidth*hashSize)
		}
	}
	for _, e := range entries {
		if err := r.Append(rfc6962.DefaultHasher.HashLeaf(e), visit); err != nil {
			return State{}, fmt.Errorf("integrate: %w", err)
		}
		if visitErr != nil {
			return State{}, visitErr
		}
		bundle = append(bundle, e)
		if len(bundle) == tileWidth {
			data, err := verify.EncodeBundle(bundle)
			if err != nil {
				return State{}, fmt.Errorf("integrate: %w", err)
			}
			writes = append(writes, object{verify.EntriesPath(bundleIndex, tileWidth), data})
			bundleIndex++
			bundle = bundle[:0]
		}
	}
	if len(bundle) > 0 {
		data, err := verify.EncodeBundle(bundle)
		if err != nil {
			return State{}, fmt.Errorf("integrate: %w", err)
		}
		writes = append(writes, object{verify.EntriesPath(bundleIndex, len(bundle)), data})
	}
	for l, lt := range levels {
		n := newSize >> (tileHeight * uint64(l))
		if got := lt.index*tileWidth + uint64(len(lt.hashes)/hashSize); got != n {
			return State{}, fmt.Errorf("integrate: tile level %d ends at node %d, want %d", l, got, n)
		}
		if w := len(lt.hashes) / hashSize; w > 0 {
			writes = append(writes, object{verify.TilePath(uint64(l), lt.index, w), lt.hashes})
		}
	}

	if err := putAll(ctx, objs, writes); err != nil {
		return State{}, err
	}
	root, err := rangeRoot(r)
	if err != nil {
		return State{}, err
	}
	return State{Size: newSize, Root: root, Range: r.Hashes()}, nil
}

// readTile reads a tile that must hold exactly width hashes.
func readTile(ctx context.Context, objs custody.ObjectStore, name string, width int) ([]byte, error) {
	data, err := objs.Get(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) != width*hashSize {
		return nil, custody.Errorf(custody.ETAMPERED, "tile %s is %d bytes, want %d", name, len(data), width*hashSize)
	}
	return data, nil
}

// putAll writes objects with bounded concurrency and returns the first error.
func putAll(ctx context.Context, objs custody.ObjectStore, writes []object) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan object)
	)
	workers := min(writeConcurrency, len(writes))
	for range workers {
		wg.Go(func() {
			for o := range next {
				if err := objs.Put(ctx, o.name, o.data); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("write %s: %w", o.name, err)
						cancel()
					}
					mu.Unlock()
				}
			}
		})
	}
feed:
	for _, o := range writes {
		select {
		case next <- o:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
