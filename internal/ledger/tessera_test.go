package ledger_test

import (
	"context"
	"crypto/rand"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/ledger"
	"github.com/custody-dev/custody/verify"
	"github.com/google/go-cmp/cmp"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"
)

// serve exposes objs as a static tlog-tiles log.
func serve(t *testing.T, objs custody.ObjectStore) *client.HTTPFetcher {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		data, err := objs.Get(r.Context(), strings.TrimPrefix(r.URL.Path, "/"))
		if custody.ErrorCode(err) == custody.ENOTFOUND {
			http.NotFound(w, r)
			return
		} else if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Write(data)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL + "/")
	f, err := client.NewHTTPFetcher(u, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestTesseraClient checks the published log with tessera's client, an
// implementation independent of this package.
func TestTesseraClient(t *testing.T) {
	ctx := context.Background()
	const origin = "custody.example/test-log"
	skey, vkey, err := ledger.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ledger.NewCheckpointSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	entries := testEntries(70000)
	objs := newMemStore()
	f := serve(t, objs)
	prover := ledger.NewProver(objs, 100)

	publish := func(st ledger.State) []byte {
		msg, err := ledger.SignCheckpoint(signer, origin, st)
		if err != nil {
			t.Fatal(err)
		}
		if err := objs.Put(ctx, "checkpoint", msg); err != nil {
			t.Fatal(err)
		}
		return msg
	}

	states := integrateAll(t, objs, entries, []int{1000, 300, 65536 - 1300 + 7})
	publish(states[1])
	cp1, _, _, err := client.FetchCheckpoint(ctx, f.ReadCheckpoint, verifier, origin)
	if err != nil {
		t.Fatalf("FetchCheckpoint: %v", err)
	}
	if cp1.Size != states[1].Size || !cmp.Equal(cp1.Hash, states[1].Root) {
		t.Fatalf("checkpoint 1 = %d %x, want %d %x", cp1.Size, cp1.Hash, states[1].Size, states[1].Root)
	}
	publish(states[2])
	cp2, _, _, err := client.FetchCheckpoint(ctx, f.ReadCheckpoint, verifier, origin)
	if err != nil {
		t.Fatalf("FetchCheckpoint: %v", err)
	}
	if cp2.Size != states[2].Size {
		t.Fatalf("checkpoint 2 size %d, want %d", cp2.Size, states[2].Size)
	}

	r := mrand.New(mrand.NewPCG(5, 6))
	for _, cp := range []struct {
		size uint64
		root []byte
	}{{cp1.Size, cp1.Hash}, {cp2.Size, cp2.Hash}} {
		pb, err := client.NewProofBuilder(ctx, cp.size, f.ReadTile)
		if err != nil {
			t.Fatal(err)
		}
		indices := []uint64{0, cp.size - 1, 255, 256}
		for range 10 {
			indices = append(indices, r.Uint64N(cp.size))
		}
		for _, i := range indices {
			theirs, err := pb.InclusionProof(ctx, i)
			if err != nil {
				t.Fatalf("tessera InclusionProof(%d, %d): %v", i, cp.size, err)
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, cp.size, verify.LeafHash(entries[i]), theirs, cp.root); err != nil {
				t.Errorf("tessera proof of %d in %d does not verify: %v", i, cp.size, err)
			}
			ours, err := prover.InclusionProof(ctx, i, cp.size)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(theirs, ours); diff != "" {
				t.Errorf("InclusionProof(%d, %d) differs from tessera's (-tessera +ours):\n%s", i, cp.size, diff)
			}
		}
	}

	pb, err := client.NewProofBuilder(ctx, cp2.Size, f.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	for _, size1 := range []uint64{1, 1000, cp1.Size, cp2.Size} {
		theirs, err := pb.ConsistencyProof(ctx, size1, cp2.Size)
		if err != nil {
			t.Fatalf("tessera ConsistencyProof(%d, %d): %v", size1, cp2.Size, err)
		}
		ours, err := prover.ConsistencyProof(ctx, size1, cp2.Size)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(theirs, ours); diff != "" {
			t.Errorf("ConsistencyProof(%d, %d) differs from tessera's (-tessera +ours):\n%s", size1, cp2.Size, diff)
		}
	}
	theirs, err := pb.ConsistencyProof(ctx, cp1.Size, cp2.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, cp1.Size, cp2.Size, theirs, cp1.Hash, cp2.Hash); err != nil {
		t.Errorf("consistency %d -> %d: %v", cp1.Size, cp2.Size, err)
	}

	// Entry bundles, full and partial, through tessera's parser.
	for _, idx := range []uint64{0, 3, 5, cp2.Size / 256} {
		b, err := client.GetEntryBundle(ctx, f.ReadEntryBundle, idx, cp2.Size)
		if err != nil {
			t.Fatalf("GetEntryBundle(%d): %v", idx, err)
		}
		end := min((idx+1)*256, cp2.Size)
		if diff := cmp.Diff(entries[idx*256:end], b.Entries); diff != "" {
			t.Errorf("bundle %d (-want +got):\n%s", idx, diff)
		}
	}
	hashes, err := client.FetchLeafHashes(ctx, f.ReadTile, cp2.Size-300, 300, cp2.Size)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := prover.LeafHashes(ctx, cp2.Size-300, cp2.Size, cp2.Size)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(hashes, ours); diff != "" {
		t.Errorf("LeafHashes differ from tessera's (-tessera +ours):\n%s", diff)
	}
	rangeNodes, err := client.FetchRangeNodes(ctx, cp2.Size, f.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(states[2].Range, rangeNodes); diff != "" {
		t.Errorf("compact range differs from tessera's (-ours +tessera):\n%s", diff)
	}
}

// The 1M-entry log for the benchmarks, built once.
var bench struct {
	once    sync.Once
	objs    *memStore
	state   ledger.State
	entries [][]byte
}

const benchSize = 1 << 20

func benchLog(b *testing.B) {
	bench.once.Do(func() {
		bench.objs = newMemStore()
		bench.entries = testEntries(benchSize)
		var st ledger.State
		for off := 0; off < benchSize; off += 100_000 {
			var err error
			st, err = ledger.Integrate(context.Background(), bench.objs, st, bench.entries[off:min(off+100_000, benchSize)])
			if err != nil {
				panic(err)
			}
		}
		bench.state = st
	})
}

func benchmarkInclusionProof(b *testing.B, cacheTiles int) {
	benchLog(b)
	ctx := context.Background()
	p := ledger.NewProver(bench.objs, cacheTiles)
	r := mrand.New(mrand.NewPCG(1, 2))
	size := bench.state.Size
	if cacheTiles > 0 {
		for i := uint64(0); i < size; i += 256 { // warm the cache
			if _, err := p.InclusionProof(ctx, i, size); err != nil {
				b.Fatal(err)
			}
		}
	}
	for b.Loop() {
		if _, err := p.InclusionProof(ctx, r.Uint64N(size), size); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInclusionProof: random leaves of a 1M-entry log, with a cache
// big enough for every tile (the steady state of a server).
func BenchmarkInclusionProof(b *testing.B) { benchmarkInclusionProof(b, 5000) }

// BenchmarkInclusionProofNoCache: every tile read and parsed per proof.
func BenchmarkInclusionProofNoCache(b *testing.B) { benchmarkInclusionProof(b, 0) }

func BenchmarkConsistencyProof(b *testing.B) {
	benchLog(b)
	ctx := context.Background()
	p := ledger.NewProver(bench.objs, 0)
	for b.Loop() {
		if _, err := p.ConsistencyProof(ctx, 1000*256, bench.state.Size); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyInclusion(b *testing.B) {
	benchLog(b)
	ctx := context.Background()
	p := ledger.NewProver(bench.objs, 5000)
	size := bench.state.Size
	type item struct {
		index uint64
		leaf  []byte
		proof [][]byte
	}
	items := make([]item, 1024)
	for i := range items {
		idx := uint64(i) * (size / uint64(len(items)))
		pr, err := p.InclusionProof(ctx, idx, size)
		if err != nil {
			b.Fatal(err)
		}
		items[i] = item{idx, verify.LeafHash(bench.entries[idx]), pr}
	}
	i := 0
	for b.Loop() {
		it := items[i%len(items)]
		if err := verify.VerifyInclusion(it.leaf, it.index, size, it.proof, bench.state.Root); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkIntegrate appends batches of 1000 entries to a log that starts
// at 1M entries and grows with b.N.
func BenchmarkIntegrate(b *testing.B) {
	benchLog(b)
	ctx := context.Background()
	// Copy the log so that other benchmarks keep seeing 1M entries.
	objs := newMemStore()
	for k, v := range bench.objs.snapshot() {
		objs.objs[k] = v
	}
	st := bench.state
	const batch = 1000
	entries := testEntries(batch)
	n := 0
	for b.Loop() {
		var err error
		if st, err = ledger.Integrate(ctx, objs, st, entries); err != nil {
			b.Fatal(err)
		}
		n += batch
		if st.Size > math.MaxUint64/2 {
			b.Fatal("overflow")
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entries/s")
}
