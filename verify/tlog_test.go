package verify

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

func TestTilePath(t *testing.T) {
	tests := []struct {
		tile Tile
		want string
	}{
		{Tile{Level: 0, Index: 0, Width: 256}, "tile/0/000"},
		{Tile{Level: 0, Index: 0, Width: 1}, "tile/0/000.p/1"},
		{Tile{Level: 1, Index: 234, Width: 256}, "tile/1/234"},
		{Tile{Level: 0, Index: 1000, Width: 256}, "tile/0/x001/000"},
		{Tile{Level: 2, Index: 1234067, Width: 8}, "tile/2/x001/x234/067.p/8"},
		{Tile{Level: 63, Index: 999, Width: 255}, "tile/63/999.p/255"},
		{Tile{Entries: true, Index: 1234067, Width: 256}, "tile/entries/x001/x234/067"},
		{Tile{Entries: true, Index: 5, Width: 17}, "tile/entries/005.p/17"},
		{Tile{Index: 18446744073709551615, Width: 256}, "tile/0/x018/x446/x744/x073/x709/x551/615"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.tile.Path(); got != tt.want {
				t.Errorf("Path() = %q, want %q", got, tt.want)
			}
			got, err := ParsePath(tt.want)
			if err != nil {
				t.Fatalf("ParsePath: %v", err)
			}
			if diff := cmp.Diff(tt.tile, got); diff != "" {
				t.Errorf("ParsePath mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if got, want := TilePath(1, 2, 3), "tile/1/002.p/3"; got != want {
		t.Errorf("TilePath = %q, want %q", got, want)
	}
	if got, want := EntriesPath(1234, 256), "tile/entries/x001/234"; got != want {
		t.Errorf("EntriesPath = %q, want %q", got, want)
	}
}

func TestTilePathPanics(t *testing.T) {
	for _, w := range []int{0, -1, 257} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("TilePath(0, 0, %d) did not panic", w)
				}
			}()
			TilePath(0, 0, w)
		}()
	}
}

func TestParsePathRejects(t *testing.T) {
	for _, p := range []string{
		"", "tile/", "tile/0", "tile/0/", "tiles/0/000", "/tile/0/000",
		"tile/00/000", "tile/64/000", "tile/-1/000", "tile/+1/000",
		"tile/0/0", "tile/0/0000", "tile/0/x000/000", "tile/0/x001/00", "tile/0/001/000",
		"tile/0/x001", "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/01",
		"tile/0/000.p/+1", "tile/0/000.p/", "tile/0/000.p", "tile/0/000/", "tile/entry/000",
		"tile/entries/000.p/1/", "tile/0/x018/x446/x744/x073/x709/x551/616",
		"tile/0/x999/x999/x999/x999/x999/x999/x999/999",
	} {
		if got, err := ParsePath(p); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParsePath(%q) = %+v, %v; want ErrMalformed", p, got, err)
		}
	}
}

func TestTileWidthAt(t *testing.T) {
	tests := []struct {
		level, index, size uint64
		want               int
	}{
		{0, 0, 0, 0},
		{0, 0, 1, 1},
		{0, 0, 255, 255},
		{0, 0, 256, 256},
		{0, 1, 256, 0},
		{0, 1, 257, 1},
		{1, 0, 256, 1},
		{1, 0, 255, 0},
		{1, 0, 65536, 256},
		{1, 1, 65536 + 256*3 + 7, 3},
		{2, 0, 65536, 1},
		{7, 0, 1 << 56, 1},
		{8, 0, ^uint64(0), 0},
	}
	for _, tt := range tests {
		if got := TileWidthAt(tt.level, tt.index, tt.size); got != tt.want {
			t.Errorf("TileWidthAt(%d, %d, %d) = %d, want %d", tt.level, tt.index, tt.size, got, tt.want)
		}
	}
}

func TestBundle(t *testing.T) {
	entries := [][]byte{{}, []byte("a"), bytes.Repeat([]byte{7}, MaxEntrySize)}
	b, err := EncodeBundle(entries)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[:5], []byte{0, 0, 0, 1, 'a'}) {
		t.Errorf("bundle starts %x", b[:5])
	}
	got, err := ParseBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(entries, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}

	for _, bad := range [][][]byte{nil, {make([]byte, MaxEntrySize+1)}, make([][]byte, TileWidth+1)} {
		if _, err := EncodeBundle(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("EncodeBundle(%d entries) = %v, want ErrMalformed", len(bad), err)
		}
	}
	full, err := EncodeBundle(make([][]byte, TileWidth))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{nil, {0}, {0, 2, 'a'}, append(full, 0, 0)} {
		if _, err := ParseBundle(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseBundle(%x) = %v, want ErrMalformed", truncate(string(bad), 8), err)
		}
	}
}

var testRoot = sha256.Sum256([]byte("root"))

func TestParseCheckpoint(t *testing.T) {
	root := base64.StdEncoding.EncodeToString(testRoot[:])
	good := []struct {
		text string
		want Checkpoint
	}{
		{"example.com/log\n0\n" + root + "\n", Checkpoint{Origin: "example.com/log", Size: 0, Root: testRoot[:]}},
		{"example.com/log\n20852163\n" + root + "\n", Checkpoint{Origin: "example.com/log", Size: 20852163, Root: testRoot[:]}},
		{"o\n18446744073709551615\n" + root + "\nx y\nz\n", Checkpoint{Origin: "o", Size: 18446744073709551615, Root: testRoot[:], Extra: []string{"x y", "z"}}},
	}
	for _, tt := range good {
		got, err := ParseCheckpoint([]byte(tt.text))
		if err != nil {
			t.Errorf("ParseCheckpoint(%q): %v", tt.text, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseCheckpoint(%q) (-want +got):\n%s", tt.text, diff)
		}
		if m := string(got.Marshal()); m != tt.text {
			t.Errorf("Marshal = %q, want %q", m, tt.text)
		}
	}
	short := base64.StdEncoding.EncodeToString(testRoot[:31])
	// Same root, but with non-zero padding bits: not canonical.
	nonCanonical := root[:42] + string(root[42]+1) + "="
	for _, text := range []string{
		"",
		"o\n1\n" + root,          // no trailing newline
		"o\n1\n" + root + "\n\n", // empty extension line
		"\n1\n" + root + "\n",    // empty origin
		"o\n01\n" + root + "\n",  // leading zero
		"o\n+1\n" + root + "\n",  // sign
		"o\n-1\n" + root + "\n",  // sign
		"o\n 1\n" + root + "\n",  // space
		"o\n18446744073709551616\n" + root + "\n",      // overflow
		"o\n1\n" + short + "\n",                        // 31-byte hash
		"o\n1\n" + nonCanonical + "\n",                 // padding bits
		"o\n1\n" + strings.TrimRight(root, "=") + "\n", // no padding
		"o\n1\n" + base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 32)) + "\n",
		"o\r\n1\n" + root + "\n",   // control character
		"o\xff\n1\n" + root + "\n", // invalid UTF-8
		"o\n1\n",                   // two lines
	} {
		if c, err := ParseCheckpoint([]byte(text)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseCheckpoint(%q) = %+v, %v; want ErrMalformed", text, c, err)
		}
	}
}

func TestOpenCheckpoint(t *testing.T) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "example.com/log")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	otherSkey, otherVkey, err := note.GenerateKey(rand.Reader, "example.com/log")
	if err != nil {
		t.Fatal(err)
	}
	otherSigner, _ := note.NewSigner(otherSkey)
	wrongNameSkey, wrongNameVkey, _ := note.GenerateKey(rand.Reader, "example.com/other")
	wrongNameSigner, _ := note.NewSigner(wrongNameSkey)

	cp := Checkpoint{Origin: "example.com/log", Size: 42, Root: testRoot[:]}
	sign := func(s note.Signer, text []byte) []byte {
		msg, err := note.Sign(&note.Note{Text: string(text)}, s)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	signed := sign(signer, cp.Marshal())
	got, err := OpenCheckpoint(signed, vkey)
	if err != nil {
		t.Fatalf("OpenCheckpoint: %v", err)
	}
	if diff := cmp.Diff(cp, got); diff != "" {
		t.Errorf("OpenCheckpoint (-want +got):\n%s", diff)
	}
	// A cosignature by another key is ignored.
	cosigned := sign(signer, cp.Marshal())
	cosigned, _ = note.Sign(&note.Note{Text: string(cp.Marshal())}, signer, wrongNameSigner)
	if _, err := OpenCheckpoint(cosigned, vkey); err != nil {
		t.Errorf("OpenCheckpoint(cosigned): %v", err)
	}

	tampered := bytes.Replace(signed, []byte("\n42\n"), []byte("\n43\n"), 1)
	for _, tt := range []struct {
		name string
		msg  []byte
		vkey string
		want error
	}{
		{"other key", sign(otherSigner, cp.Marshal()), vkey, ErrBadSignature},
		{"verifier for other key", signed, otherVkey, ErrBadSignature},
		{"tampered", tampered, vkey, ErrBadSignature},
		{"origin not key name", sign(wrongNameSigner, cp.Marshal()), wrongNameVkey, ErrBadSignature},
		{"bad key", signed, "nonsense", ErrMalformed},
		{"bad body", sign(signer, []byte("example.com/log\n042\nx\n")), vkey, ErrMalformed},
		{"not a note", []byte("hello"), vkey, ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := OpenCheckpoint(tt.msg, tt.vkey); !errors.Is(err, tt.want) {
				t.Errorf("OpenCheckpoint = %v, want %v", err, tt.want)
			}
		})
	}
}

// naiveRoot is RFC 6962's Merkle Tree Hash, written from the RFC.
func naiveRoot(leaves [][]byte) []byte {
	switch n := len(leaves); n {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		return leaves[0]
	default:
		k := 1
		for k*2 < n {
			k *= 2
		}
		h := sha256.New()
		h.Write([]byte{1})
		h.Write(naiveRoot(leaves[:k]))
		h.Write(naiveRoot(leaves[k:]))
		return h.Sum(nil)
	}
}

func TestLeafHash(t *testing.T) {
	want := sha256.Sum256([]byte("\x00entry"))
	if got := LeafHash([]byte("entry")); !bytes.Equal(got, want[:]) {
		t.Errorf("LeafHash = %x, want %x", got, want)
	}
}

func TestProofs(t *testing.T) {
	const n = 70
	leaves := make([][]byte, n)
	for i := range leaves {
		leaves[i] = LeafHash([]byte(fmt.Sprint(i)))
	}
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	// nodes[level][index] for every complete node.
	nodes := map[compact.NodeID][]byte{}
	r := rf.NewEmptyRange(0)
	for _, l := range leaves {
		if err := r.Append(l, func(id compact.NodeID, h []byte) { nodes[id] = h }); err != nil {
			t.Fatal(err)
		}
	}
	build := func(ns proof.Nodes) [][]byte {
		hs := make([][]byte, len(ns.IDs))
		for i, id := range ns.IDs {
			hs[i] = nodes[id]
		}
		p, err := ns.Rehash(hs, rfc6962.DefaultHasher.HashChildren)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for size := uint64(1); size <= n; size++ {
		root := naiveRoot(leaves[:size])
		for index := uint64(0); index < size; index++ {
			ns, err := proof.Inclusion(index, size)
			if err != nil {
				t.Fatal(err)
			}
			p := build(ns)
			if err := VerifyInclusion(leaves[index], index, size, p, root); err != nil {
				t.Errorf("VerifyInclusion(%d, %d): %v", index, size, err)
			}
			if err := VerifyInclusion(leaves[(index+1)%size], index, size, p, root); size > 1 && !errors.Is(err, ErrInvalidProof) {
				t.Errorf("VerifyInclusion(wrong leaf %d, %d) = %v, want ErrInvalidProof", index, size, err)
			}
		}
		for size1 := uint64(1); size1 <= size; size1 += 7 {
			ns, err := proof.Consistency(size1, size)
			if err != nil {
				t.Fatal(err)
			}
			p := build(ns)
			root1 := naiveRoot(leaves[:size1])
			if err := VerifyConsistency(size1, size, p, root1, root); err != nil {
				t.Errorf("VerifyConsistency(%d, %d): %v", size1, size, err)
			}
			if err := VerifyConsistency(size1, size, p, root, testRoot[:]); !errors.Is(err, ErrInvalidProof) {
				t.Errorf("VerifyConsistency(%d, %d, wrong roots) = %v, want ErrInvalidProof", size1, size, err)
			}
		}
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	root := base64.StdEncoding.EncodeToString(testRoot[:])
	f.Add([]byte("example.com/log\n20852163\n" + root + "\n"))
	f.Add([]byte("o\n0\n" + root + "\next\n"))
	f.Add([]byte("o\n01\n" + root + "\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		c, err := ParseCheckpoint(text)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if m := c.Marshal(); !bytes.Equal(m, text) {
			t.Fatalf("Marshal = %q, input %q", m, text)
		}
	})
}

func FuzzParseBundle(f *testing.F) {
	f.Add([]byte{0, 1, 'a', 0, 0})
	f.Add([]byte{0, 3, 'a'})
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseBundle(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		b, err := EncodeBundle(entries)
		if err != nil {
			t.Fatalf("EncodeBundle of parsed bundle: %v", err)
		}
		if !bytes.Equal(b, data) {
			t.Fatalf("EncodeBundle = %x, input %x", b, data)
		}
	})
}

func FuzzParsePath(f *testing.F) {
	f.Add("tile/0/x001/x234/067.p/8")
	f.Add("tile/entries/000")
	f.Add("tile/63/999.p/255")
	f.Fuzz(func(t *testing.T, p string) {
		tile, err := ParsePath(p)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if got := tile.Path(); got != p {
			t.Fatalf("Path = %q, input %q", got, p)
		}
	})
}

// TestImports keeps the package importable by third parties: the standard
// library, sumdb/note and transparency-dev/merkle only.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			first, _, _ := strings.Cut(p, "/")
			if !strings.Contains(first, ".") || p == "golang.org/x/mod/sumdb/note" ||
				strings.HasPrefix(p, "github.com/transparency-dev/merkle") {
				continue
			}
			t.Errorf("%s imports %s", name, p)
		}
	}
}
