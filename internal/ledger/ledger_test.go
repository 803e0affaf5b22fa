package ledger_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/ledger"
	"github.com/custody-dev/custody/verify"
	"github.com/google/go-cmp/cmp"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// memStore is an in-memory custody.ObjectStore that counts writes.
type memStore struct {
	mu   sync.Mutex
	objs map[string][]byte
	puts map[string]int
	// failAfter, when > 0, makes Put fail once that many Puts succeeded.
	failAfter int
	nPut      int
}

func newMemStore() *memStore {
	return &memStore{objs: map[string][]byte{}, puts: map[string]int{}}
}

var _ custody.ObjectStore = (*memStore)(nil)

func (m *memStore) Get(_ context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[name]
	if !ok {
		return nil, custody.Errorf(custody.ENOTFOUND, "no object %s", name)
	}
	return bytes.Clone(b), nil
}

func (m *memStore) Put(_ context.Context, name string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAfter > 0 && m.nPut >= m.failAfter {
		return custody.Errorf(custody.EUNAVAILABLE, "injected failure")
	}
	m.nPut++
	m.objs[name] = bytes.Clone(data)
	m.puts[name]++
	return nil
}

func (m *memStore) snapshot() map[string][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string][]byte, len(m.objs))
	for k, v := range m.objs {
		out[k] = v
	}
	return out
}

func (m *memStore) resetCounts() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.puts = map[string]int{}
}

// testEntries returns n distinct entries of varied lengths.
func testEntries(n int) [][]byte {
	es := make([][]byte, n)
	for i := range es {
		es[i] = []byte(fmt.Sprintf("entry %d %s", i, strings.Repeat("x", i%37)))
	}
	return es
}

// naiveRoot is RFC 6962's Merkle Tree Hash of the entries, from the RFC.
func naiveRoot(leafHashes [][]byte) []byte {
	switch n := len(leafHashes); n {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		return leafHashes[0]
	default:
		k := 1
		for k*2 < n {
			k *= 2
		}
		h := sha256.New()
		h.Write([]byte{1})
		h.Write(naiveRoot(leafHashes[:k]))
		h.Write(naiveRoot(leafHashes[k:]))
		return h.Sum(nil)
	}
}

func leafHashes(entries [][]byte) [][]byte {
	hs := make([][]byte, len(entries))
	for i, e := range entries {
		h := sha256.Sum256(append([]byte{0}, e...))
		hs[i] = h[:]
	}
	return hs
}

// integrateAll integrates entries in batches of the given sizes and returns
// the states after each batch.
func integrateAll(t testing.TB, objs custody.ObjectStore, entries [][]byte, batches []int) []ledger.State {
	t.Helper()
	ctx := context.Background()
	var st ledger.State
	var states []ledger.State
	off := 0
	for _, n := range batches {
		next, err := ledger.Integrate(ctx, objs, st, entries[off:off+n])
		if err != nil {
			t.Fatalf("Integrate(size %d, %d entries): %v", st.Size, n, err)
		}
		off += n
		if next.Size != uint64(off) {
			t.Fatalf("Integrate size = %d, want %d", next.Size, off)
		}
		st = next
		states = append(states, st)
	}
	return states
}

func repeat(n, times int) []int {
	b := make([]int, times)
	for i := range b {
		b[i] = n
	}
	return b
}

func randomBatches(total int, maxBatch int, seed uint64) []int {
	r := mrand.New(mrand.NewPCG(seed, 0))
	var b []int
	for total > 0 {
		n := min(total, 1+r.IntN(maxBatch))
		b = append(b, n)
		total -= n
	}
	return b
}

func sum(b []int) int {
	s := 0
	for _, n := range b {
		s += n
	}
	return s
}

// checkTiles checks that every tile and bundle a tree of size needs exists
// with the right width and contents.
func checkTiles(t *testing.T, objs map[string][]byte, size uint64, lh [][]byte, entries [][]byte) {
	t.Helper()
	// Level-8L nodes, computed independently of the package with a compact
	// range visitor.
	levels := map[uint][][]byte{}
	r := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
	for _, h := range lh[:size] {
		r.Append(h, func(id compact.NodeID, h []byte) {
			if id.Level%8 == 0 {
				levels[id.Level/8] = append(levels[id.Level/8], h)
			}
		})
	}
	for l := uint64(0); l < 8; l++ {
		nodes := levels[uint(l)]
		for i := uint64(0); i*256 < uint64(len(nodes)); i++ {
			w := verify.TileWidthAt(l, i, size)
			name := verify.TilePath(l, i, w)
			got, ok := objs[name]
			if !ok {
				t.Fatalf("size %d: missing %s", size, name)
			}
			want := bytes.Join(nodes[i*256:i*256+uint64(w)], nil)
			if !bytes.Equal(got, want) {
				t.Fatalf("size %d: %s has wrong contents (%d bytes, want %d)", size, name, len(got), len(want))
			}
			if l == 0 {
				name := verify.EntriesPath(i, w)
				got, ok := objs[name]
				if !ok {
					t.Fatalf("size %d: missing %s", size, name)
				}
				want, _ := verify.EncodeBundle(entries[i*256 : i*256+uint64(w)])
				if !bytes.Equal(got, want) {
					t.Fatalf("size %d: %s has wrong contents", size, name)
				}
			}
		}
	}
}

func TestIntegrateBatchShapes(t *testing.T) {
	const big = 70000
	entries := testEntries(big)
	lh := leafHashes(entries)
	shapes := []struct {
		name    string
		batches []int
	}{
		{"one at a time", repeat(1, 600)},
		{"255s", repeat(255, 20)},
		{"256s", repeat(256, 20)},
		{"257s", repeat(257, 20)},
		{"boundaries", []int{255, 1, 256, 1, 255, 65536 - 768, 1, 255, 1}},
		{"all at once", []int{big}},
		{"random", randomBatches(big, 3000, 1)},
		{"random small", randomBatches(big, 300, 2)},
	}
	// Incremental reference roots, from a compact range over all leaves.
	rf := &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	stores := map[string]map[string][]byte{}
	for _, shape := range shapes {
		t.Run(shape.name, func(t *testing.T) {
			objs := newMemStore()
			states := integrateAll(t, objs, entries, shape.batches)
			ref := rf.NewEmptyRange(0)
			for _, st := range states {
				for ref.End() < st.Size {
					ref.Append(lh[ref.End()], nil)
				}
				want, _ := ref.GetRootHash(nil)
				if !bytes.Equal(st.Root, want) {
					t.Fatalf("root at size %d = %x, want %x", st.Size, st.Root, want)
				}
				if diff := cmp.Diff(ref.Hashes(), st.Range); diff != "" {
					t.Fatalf("range at size %d (-want +got):\n%s", st.Size, diff)
				}
			}
			last := states[len(states)-1]
			if want := naiveRoot(lh[:last.Size]); !bytes.Equal(last.Root, want) {
				t.Fatalf("final root %x, naive RFC 6962 root %x", last.Root, want)
			}
			snap := objs.snapshot()
			// Check the tiles at a few intermediate sizes too.
			for i, st := range states {
				if i%50 == 0 || i == len(states)-1 {
					checkTiles(t, snap, st.Size, lh, entries)
				}
			}
			stores[shape.name+fmt.Sprint(sum(shape.batches))] = snap
		})
	}
	// Objects with the same name are identical whatever the batching.
	seen := map[string][]byte{}
	for shape, objs := range stores {
		for name, data := range objs {
			if prev, ok := seen[name]; ok && !bytes.Equal(prev, data) {
				t.Errorf("%s differs across batchings (%s)", name, shape)
			}
			seen[name] = data
		}
	}
}

func TestIntegrateEmpty(t *testing.T) {
	ctx := context.Background()
	objs := newMemStore()
	st, err := ledger.Integrate(ctx, objs, ledger.State{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := rfc6962.DefaultHasher.EmptyRoot(); st.Size != 0 || !bytes.Equal(st.Root, want) {
		t.Errorf("empty state = %+v, want root %x", st, want)
	}
	if len(objs.snapshot()) != 0 {
		t.Errorf("empty Integrate wrote objects")
	}
}

func TestIntegrateWritesEachObjectOnce(t *testing.T) {
	entries := testEntries(100_000 + 300)
	objs := newMemStore()
	st := integrateAll(t, objs, entries, []int{300})[0]
	objs.resetCounts()
	next, err := ledger.Integrate(context.Background(), objs, st, entries[300:])
	if err != nil {
		t.Fatal(err)
	}
	objs.mu.Lock()
	defer objs.mu.Unlock()
	for name, n := range objs.puts {
		if n != 1 {
			t.Errorf("%s written %d times", name, n)
		}
	}
	// The first call wrote full tile and bundle 0. 100300 entries need 391
	// full bundles and level-0 tiles plus a partial each; level 1 has 391
	// nodes (a full tile and a partial one), level 2 one node.
	const want = 2*(391-1+1) + 2 + 1
	if got := len(objs.puts); got != want {
		t.Errorf("%d objects written, want %d", got, want)
	}
	if next.Size != 100300 {
		t.Errorf("size %d", next.Size)
	}
}

func TestIntegrateIdempotentAfterCrash(t *testing.T) {
	ctx := context.Background()
	entries := testEntries(5000)
	clean := newMemStore()
	states := integrateAll(t, clean, entries, []int{700, 4300})
	want := clean.snapshot()

	for _, failAfter := range []int{1, 3, 10, 30} {
		t.Run(fmt.Sprint(failAfter), func(t *testing.T) {
			objs := newMemStore()
			prev := integrateAll(t, objs, entries, []int{700})[0]
			prevCopy := cloneState(prev)
			objs.failAfter = objs.nPut + failAfter
			if _, err := ledger.Integrate(ctx, objs, prev, entries[700:]); custody.ErrorCode(err) != custody.EUNAVAILABLE {
				t.Fatalf("Integrate with failing store = %v, want EUNAVAILABLE", err)
			}
			if diff := cmp.Diff(prevCopy, prev); diff != "" {
				t.Fatalf("Integrate modified prev (-want +got):\n%s", diff)
			}
			objs.failAfter = 0
			got, err := ledger.Integrate(ctx, objs, prev, entries[700:])
			if err != nil {
				t.Fatalf("Integrate retry: %v", err)
			}
			if diff := cmp.Diff(states[1], got); diff != "" {
				t.Errorf("state after retry (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, objs.snapshot()); diff != "" {
				t.Errorf("objects after retry differ from a clean run (-want +got):\n%s", diff)
			}
		})
	}
	// Re-running a completed call rewrites identical objects.
	again, err := ledger.Integrate(ctx, clean, states[0], entries[700:])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(states[1], again); diff != "" {
		t.Errorf("state after re-run (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, clean.snapshot()); diff != "" {
		t.Errorf("objects after re-run (-want +got):\n%s", diff)
	}
}

func cloneState(s ledger.State) ledger.State {
	c := ledger.State{Size: s.Size, Root: bytes.Clone(s.Root)}
	for _, h := range s.Range {
		c.Range = append(c.Range, bytes.Clone(h))
	}
	return c
}

func TestIntegrateErrors(t *testing.T) {
	ctx := context.Background()
	entries := testEntries(300)
	objs := newMemStore()
	st := integrateAll(t, objs, entries, []int{300})[0]

	badRoot := cloneState(st)
	badRoot.Root[0] ^= 1
	short := cloneState(st)
	short.Range = short.Range[1:]
	tests := []struct {
		name    string
		objs    custody.ObjectStore
		prev    ledger.State
		entries [][]byte
		code    string
	}{
		{"root mismatch", objs, badRoot, entries[:1], custody.ETAMPERED},
		{"short range", objs, short, entries[:1], custody.EINVALID},
		{"entry too big", objs, st, [][]byte{make([]byte, 65536)}, custody.EINVALID},
		{"missing tiles", newMemStore(), st, entries[:1], custody.ENOTFOUND},
	}
	// A partial tile whose bytes are not the hashes of its bundle.
	tampered := newMemStore()
	for k, v := range objs.snapshot() {
		tampered.objs[k] = v
	}
	bundle := verify.EntriesPath(1, 44)
	tampered.objs[bundle] = bytes.Replace(tampered.objs[bundle], []byte("entry 256"), []byte("entry 999"), 1)
	tests = append(tests, struct {
		name    string
		objs    custody.ObjectStore
		prev    ledger.State
		entries [][]byte
		code    string
	}{"tampered bundle", tampered, st, entries[:1], custody.ETAMPERED})
	truncated := newMemStore()
	for k, v := range objs.snapshot() {
		truncated.objs[k] = v
	}
	truncated.objs[verify.TilePath(0, 1, 44)] = truncated.objs[verify.TilePath(0, 1, 44)][:40]
	tests = append(tests, struct {
		name    string
		objs    custody.ObjectStore
		prev    ledger.State
		entries [][]byte
		code    string
	}{"truncated tile", truncated, st, entries[:1], custody.ETAMPERED})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ledger.Integrate(ctx, tt.objs, tt.prev, tt.entries)
			if got := custody.ErrorCode(err); got != tt.code {
				t.Errorf("Integrate = %v (%s), want %s", err, got, tt.code)
			}
		})
	}
}

func TestStateMarshal(t *testing.T) {
	entries := testEntries(1000)
	for _, n := range []int{0, 1, 255, 256, 1000} {
		var st ledger.State
		if n > 0 {
			st = integrateAll(t, newMemStore(), entries, []int{n})[0]
		}
		b, err := st.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary(size %d): %v", n, err)
		}
		var got ledger.State
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("UnmarshalBinary(size %d): %v", n, err)
		}
		if n == 0 {
			st.Root = rfc6962.DefaultHasher.EmptyRoot()
		}
		if diff := cmp.Diff(st, got); diff != "" {
			t.Errorf("round trip size %d (-want +got):\n%s", n, diff)
		}
	}
	st := integrateAll(t, newMemStore(), entries, []int{1000})[0]
	b, _ := st.MarshalBinary()
	for _, tt := range []struct {
		name string
		data []byte
		code string
	}{
		{"empty", nil, custody.EUNSUPPORTED},
		{"version", append([]byte{2}, b[1:]...), custody.EUNSUPPORTED},
		{"short", b[:len(b)-1], custody.EINVALID},
		{"long", append(bytes.Clone(b), 0), custody.EINVALID},
		{"flipped", func() []byte { c := bytes.Clone(b); c[len(c)-1] ^= 1; return c }(), custody.ETAMPERED},
	} {
		var got ledger.State
		if err := got.UnmarshalBinary(tt.data); custody.ErrorCode(err) != tt.code {
			t.Errorf("%s: UnmarshalBinary = %v, want %s", tt.name, err, tt.code)
		}
	}
}

func TestSignCheckpoint(t *testing.T) {
	const origin = "custody.example/log"
	skey, vkey, err := ledger.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ledger.NewCheckpointSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	entries := testEntries(300)
	for _, st := range append([]ledger.State{{}}, integrateAll(t, newMemStore(), entries, []int{1, 299})...) {
		msg, err := ledger.SignCheckpoint(signer, origin, st)
		if err != nil {
			t.Fatalf("SignCheckpoint(size %d): %v", st.Size, err)
		}
		cp, err := verify.OpenCheckpoint(msg, vkey)
		if err != nil {
			t.Fatalf("OpenCheckpoint(size %d): %v", st.Size, err)
		}
		want := verify.Checkpoint{Origin: origin, Size: st.Size, Root: naiveRoot(leafHashes(entries[:st.Size]))}
		if diff := cmp.Diff(want, cp); diff != "" {
			t.Errorf("checkpoint (-want +got):\n%s", diff)
		}
	}
	if _, err := ledger.SignCheckpoint(signer, "other.example/log", ledger.State{}); custody.ErrorCode(err) != custody.EINVALID {
		t.Errorf("SignCheckpoint with another origin = %v, want EINVALID", err)
	}
	if _, err := ledger.NewCheckpointSigner("PRIVATE+KEY+nonsense"); custody.ErrorCode(err) != custody.EINVALID {
		t.Errorf("NewCheckpointSigner(garbage) = %v, want EINVALID", err)
	}
	if _, _, err := ledger.GenerateKey(rand.Reader, "bad origin"); custody.ErrorCode(err) != custody.EINVALID {
		t.Errorf("GenerateKey(bad origin) = %v, want EINVALID", err)
	}
}

func TestProver(t *testing.T) {
	ctx := context.Background()
	const n = 70000
	entries := testEntries(n)
	lh := leafHashes(entries)
	objs := newMemStore()
	batches := []int{1, 2, 253, 1, 255, 511, 256, 65536 - 1279, 1, 257, 3000, n - 65536 - 3258}
	states := integrateAll(t, objs, entries, batches)
	for _, cacheSize := range []int{0, 3, 1000} {
		t.Run(fmt.Sprintf("cache %d", cacheSize), func(t *testing.T) {
			p := ledger.NewProver(objs, cacheSize)
			r := mrand.New(mrand.NewPCG(3, 4))
			for _, st := range states {
				indices := []uint64{0, st.Size - 1, st.Size / 2}
				for range 20 {
					indices = append(indices, r.Uint64N(st.Size))
				}
				for _, i := range indices {
					pr, err := p.InclusionProof(ctx, i, st.Size)
					if err != nil {
						t.Fatalf("InclusionProof(%d, %d): %v", i, st.Size, err)
					}
					if err := verify.VerifyInclusion(lh[i], i, st.Size, pr, st.Root); err != nil {
						t.Fatalf("VerifyInclusion(%d, %d): %v", i, st.Size, err)
					}
				}
				for _, old := range states {
					if old.Size > st.Size {
						break
					}
					pr, err := p.ConsistencyProof(ctx, old.Size, st.Size)
					if err != nil {
						t.Fatalf("ConsistencyProof(%d, %d): %v", old.Size, st.Size, err)
					}
					if err := verify.VerifyConsistency(old.Size, st.Size, pr, old.Root, st.Root); err != nil {
						t.Fatalf("VerifyConsistency(%d, %d): %v", old.Size, st.Size, err)
					}
				}
			}
			last := states[len(states)-1].Size
			for _, rg := range [][2]uint64{{0, 0}, {0, 1}, {250, 600}, {last - 300, last}, {65000, 66000}} {
				got, err := p.Entries(ctx, rg[0], rg[1], last)
				if err != nil {
					t.Fatalf("Entries(%v): %v", rg, err)
				}
				if diff := cmp.Diff(entries[rg[0]:rg[1]], got, cmp.Comparer(bytes.Equal)); diff != "" {
					t.Errorf("Entries(%v) (-want +got):\n%s", rg, diff)
				}
				hs, err := p.LeafHashes(ctx, rg[0], rg[1], last)
				if err != nil {
					t.Fatalf("LeafHashes(%v): %v", rg, err)
				}
				if diff := cmp.Diff(lh[rg[0]:rg[1]], hs, cmp.Comparer(bytes.Equal)); diff != "" {
					t.Errorf("LeafHashes(%v) (-want +got):\n%s", rg, diff)
				}
			}
			// Entries at an older size read the partial bundle of that size.
			got, err := p.Entries(ctx, 0, 3, 3)
			if err != nil || len(got) != 3 {
				t.Errorf("Entries(0, 3, 3) = %d entries, %v", len(got), err)
			}
		})
	}

	p := ledger.NewProver(objs, 10)
	last := states[len(states)-1].Size
	for _, tt := range []struct {
		name string
		err  error
		code string
	}{
		{"index past size", second(p.InclusionProof(ctx, 5, 5)), custody.EINVALID},
		{"size1 > size2", second(p.ConsistencyProof(ctx, 6, 5)), custody.EINVALID},
		{"entries past size", second(p.Entries(ctx, 0, 6, 5)), custody.EINVALID},
		{"never integrated size", second(p.InclusionProof(ctx, 0, last-1)), custody.ENOTFOUND},
		{"past the log", second(p.InclusionProof(ctx, 0, last+1)), custody.ENOTFOUND},
	} {
		if got := custody.ErrorCode(tt.err); got != tt.code {
			t.Errorf("%s: %v (%s), want %s", tt.name, tt.err, got, tt.code)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestProverDetectsTampering(t *testing.T) {
	ctx := context.Background()
	entries := testEntries(600)
	objs := newMemStore()
	integrateAll(t, objs, entries, []int{600})
	name := verify.EntriesPath(1, 256)
	objs.objs[name] = bytes.Replace(objs.objs[name], []byte("entry 300"), []byte("entry 301"), 1)
	p := ledger.NewProver(objs, 10)
	if _, err := p.Entries(ctx, 290, 310, 600); custody.ErrorCode(err) != custody.ETAMPERED {
		t.Errorf("Entries over a tampered bundle = %v, want ETAMPERED", err)
	}
	objs.objs[verify.TilePath(0, 2, 88)] = []byte("short")
	if _, err := p.InclusionProof(ctx, 599, 600); custody.ErrorCode(err) != custody.ETAMPERED {
		t.Errorf("InclusionProof over a truncated tile = %v, want ETAMPERED", err)
	}
}

func TestProverFallsBackToFullTile(t *testing.T) {
	ctx := context.Background()
	entries := testEntries(512)
	objs := newMemStore()
	states := integrateAll(t, objs, entries, []int{100, 412})
	// Delete the partials of size 100; the full tiles serve instead.
	delete(objs.objs, verify.TilePath(0, 0, 100))
	delete(objs.objs, verify.EntriesPath(0, 100))
	p := ledger.NewProver(objs, 0)
	pr, err := p.InclusionProof(ctx, 7, 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify.VerifyInclusion(verify.LeafHash(entries[7]), 7, 100, pr, states[0].Root); err != nil {
		t.Error(err)
	}
	got, err := p.Entries(ctx, 90, 100, 100)
	if err != nil || len(got) != 10 || !bytes.Equal(got[0], entries[90]) {
		t.Errorf("Entries = %q, %v", got, err)
	}
}

func TestStoredNamesAreTlogTiles(t *testing.T) {
	objs := newMemStore()
	integrateAll(t, objs, testEntries(70000), []int{69999, 1})
	snap := objs.snapshot()
	if len(snap) == 0 {
		t.Fatal("no objects")
	}
	for name := range snap {
		if _, err := verify.ParsePath(name); err != nil {
			t.Errorf("stored object name: %v", err)
		}
	}
}
