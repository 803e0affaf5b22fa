package ledger

import (
	"bytes"
	"container/list"
	"context"
	"fmt"
	"sync"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/verify"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Prover builds proofs and reads entries from the tiles Integrate stored.
// It reads only objs, never the database.
//
// Every size passed to its methods MUST be a size an Integrate call
// returned (a checkpointed size): the partial tiles of other sizes were
// never written, and requests needing them fail with ENOTFOUND. (Sizes
// whose partial tiles are missing are still served where the full tiles
// that superseded them exist, as tlog-tiles clients do.)
//
// A Prover is safe for concurrent use. It keeps an LRU cache of parsed
// tiles, keyed by tile level, index and width. That is sound because a tile
// object with a given width never changes (package invariant), so a partial
// tile is only ever used for the sizes it is valid for; full tiles are the
// ones that stay hot.
type Prover struct {
	objs  custody.ObjectStore
	cache *tileCache
}

// NewProver returns a Prover reading objs and caching up to cacheTiles
// parsed tiles (each about 32 KiB; 0 disables the cache). A log of size
// entries has about size/255 tiles; proofs about recent entries touch only
// a few of them.
func NewProver(objs custody.ObjectStore, cacheTiles int) *Prover {
	return &Prover{objs: objs, cache: newTileCache(cacheTiles)}
}

// InclusionProof returns the RFC 6962 inclusion proof of entry index in
// the tree of size entries. Errors: EINVALID (index >= size), ENOTFOUND,
// ETAMPERED.
func (p *Prover) InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error) {
	if index >= size {
		return nil, custody.Errorf(custody.EINVALID, "entry %d is not in a log of size %d", index, size)
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, custody.Errorf(custody.EINVALID, "inclusion proof: %v", err)
	}
	return p.build(ctx, nodes, size)
}

// ConsistencyProof returns the RFC 6962 consistency proof between the trees
// of size1 and size2 entries. Errors: EINVALID (size1 > size2), ENOTFOUND,
// ETAMPERED.
func (p *Prover) ConsistencyProof(ctx context.Context, size1, size2 uint64) ([][]byte, error) {
	if size1 > size2 {
		return nil, custody.Errorf(custody.EINVALID, "consistency proof from size %d to the smaller size %d", size1, size2)
	}
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, custody.Errorf(custody.EINVALID, "consistency proof: %v", err)
	}
	return p.build(ctx, nodes, size2)
}

func (p *Prover) build(ctx context.Context, nodes proof.Nodes, size uint64) ([][]byte, error) {
	f := p.fetcher(size)
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		h, err := f.node(ctx, id)
		if err != nil {
			return nil, err
		}
		hashes[i] = h
	}
	hashes, err := nodes.Rehash(hashes, rfc6962.DefaultHasher.HashChildren)
	if err != nil {
		return nil, fmt.Errorf("rehash proof: %w", err)
	}
	// Hand out copies: the hashes alias cached tiles.
	out := make([][]byte, len(hashes))
	buf := make([]byte, len(hashes)*hashSize)
	for i, h := range hashes {
		out[i] = buf[i*hashSize : (i+1)*hashSize : (i+1)*hashSize]
		copy(out[i], h)
	}
	return out, nil
}

// LeafHashes returns the leaf hashes of entries [from, to) of the tree of
// size entries. The caller bounds to-from. Errors: EINVALID, ENOTFOUND,
// ETAMPERED.
func (p *Prover) LeafHashes(ctx context.Context, from, to, size uint64) ([][]byte, error) {
	if from > to || to > size {
		return nil, custody.Errorf(custody.EINVALID, "entries [%d, %d) are not in a log of size %d", from, to, size)
	}
	f := p.fetcher(size)
	out := make([][]byte, 0, to-from)
	for i := from; i < to; {
		t, err := f.tile(ctx, 0, i/tileWidth)
		if err != nil {
			return nil, err
		}
		for ; i < to && i/tileWidth == t.index; i++ {
			out = append(out, bytes.Clone(t.nodes[0][i%tileWidth]))
		}
	}
	return out, nil
}

// Entries returns entries [from, to) of the tree of size entries, read from
// the entry bundles and checked against the leaf hashes in the tiles. The
// caller bounds to-from. Errors: EINVALID, ENOTFOUND, ETAMPERED.
func (p *Prover) Entries(ctx context.Context, from, to, size uint64) ([][]byte, error) {
	if from > to || to > size {
		return nil, custody.Errorf(custody.EINVALID, "entries [%d, %d) are not in a log of size %d", from, to, size)
	}
	f := p.fetcher(size)
	out := make([][]byte, 0, to-from)
	for i := from; i < to; {
		index := i / tileWidth
		width := verify.TileWidthAt(0, index, size)
		data, err := getWithFallback(ctx, p.objs, verify.EntriesPath(index, width), verify.EntriesPath(index, tileWidth))
		if err != nil {
			return nil, err
		}
		bundle, err := verify.ParseBundle(data)
		if err != nil || len(bundle) < width {
			return nil, custody.Errorf(custody.ETAMPERED, "entry bundle %s is malformed or short", verify.EntriesPath(index, width))
		}
		t, err := f.tile(ctx, 0, index)
		if err != nil {
			return nil, err
		}
		for ; i < to && i/tileWidth == index; i++ {
			e := bundle[i%tileWidth]
			if !bytes.Equal(verify.LeafHash(e), t.nodes[0][i%tileWidth]) {
				return nil, custody.Errorf(custody.ETAMPERED, "log entry %d does not match its leaf hash", i)
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// getWithFallback reads name, or full if name is a partial object that is
// missing (tlog-tiles lets a log delete partial tiles once the full one
// exists).
func getWithFallback(ctx context.Context, objs custody.ObjectStore, name, full string) ([]byte, error) {
	data, err := objs.Get(ctx, name)
	if custody.ErrorCode(err) == custody.ENOTFOUND && name != full {
		data, err = objs.Get(ctx, full)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return data, nil
}

// tile is a parsed hash tile: nodes[r][j] is node j of relative level r,
// that is tree level 8*level+r. Only nodes complete within the tile's width
// are present. A tile is immutable once built.
type tile struct {
	level, index uint64
	nodes        [tileHeight][][]byte
}

type tileKey struct {
	level, index uint64
	width        int
}

// newTile parses width hashes and computes the tile's inner nodes with a
// compact range.
func newTile(level, index uint64, width int, data []byte) (*tile, error) {
	t := &tile{level: level, index: index}
	r := rangeFactory.NewEmptyRange(0)
	var err error
	for i := 0; i < width && err == nil; i++ {
		err = r.Append(data[i*hashSize:(i+1)*hashSize:(i+1)*hashSize], func(id compact.NodeID, h []byte) {
			if id.Level < tileHeight {
				t.nodes[id.Level] = append(t.nodes[id.Level], h)
			}
		})
	}
	if err != nil {
		return nil, fmt.Errorf("tile: %w", err)
	}
	return t, nil
}

// fetcher resolves node IDs to hashes for one tree size.
type fetcher struct {
	p     *Prover
	size  uint64
	local map[tileKey]*tile // tiles used by this request
}

func (p *Prover) fetcher(size uint64) *fetcher {
	return &fetcher{p: p, size: size, local: make(map[tileKey]*tile, 4)}
}

// tile returns the tile at level and index as it is in the tree of f.size.
func (f *fetcher) tile(ctx context.Context, level, index uint64) (*tile, error) {
	width := verify.TileWidthAt(level, index, f.size)
	if width == 0 {
		return nil, custody.Errorf(custody.EINVALID, "tile %d/%d is not in a log of size %d", level, index, f.size)
	}
	key := tileKey{level, index, width}
	if t := f.local[key]; t != nil {
		return t, nil
	}
	if t := f.p.cache.get(key); t != nil {
		f.local[key] = t
		return t, nil
	}
	name, full := verify.TilePath(level, index, width), verify.TilePath(level, index, tileWidth)
	data, err := getWithFallback(ctx, f.p.objs, name, full)
	if err != nil {
		return nil, err
	}
	if len(data) != width*hashSize && !(len(data) == tileWidth*hashSize && width < tileWidth) {
		return nil, custody.Errorf(custody.ETAMPERED, "tile %s is %d bytes, want %d", name, len(data), width*hashSize)
	}
	t, err := newTile(level, index, width, data)
	if err != nil {
		return nil, err
	}
	f.p.cache.add(key, t)
	f.local[key] = t
	return t, nil
}

// node returns the hash of a complete node of the tree of f.size. Nodes at
// tree levels that are not a multiple of 8 come from the tile below them.
func (f *fetcher) node(ctx context.Context, id compact.NodeID) ([]byte, error) {
	level, r := uint64(id.Level/tileHeight), id.Level%tileHeight
	perTile := uint64(tileWidth >> r) // nodes of relative level r in one tile
	t, err := f.tile(ctx, level, id.Index/perTile)
	if err != nil {
		return nil, err
	}
	j := id.Index % perTile
	if j >= uint64(len(t.nodes[r])) {
		return nil, fmt.Errorf("node %d at level %d is not complete in a log of size %d", id.Index, id.Level, f.size)
	}
	return t.nodes[r][j], nil
}

// tileCache is a mutex-guarded LRU of parsed tiles.
type tileCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *cacheItem, most recent first
	items map[tileKey]*list.Element
}

type cacheItem struct {
	key  tileKey
	tile *tile
}

func newTileCache(max int) *tileCache {
	return &tileCache{max: max, order: list.New(), items: make(map[tileKey]*list.Element)}
}

func (c *tileCache) get(k tileKey) *tile {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.items[k]
	if e == nil {
		return nil
	}
	c.order.MoveToFront(e)
	return e.Value.(*cacheItem).tile
}

func (c *tileCache) add(k tileKey, t *tile) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.items[k]; e != nil {
		c.order.MoveToFront(e)
		return
	}
	c.items[k] = c.order.PushFront(&cacheItem{k, t})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheItem).key)
	}
}
