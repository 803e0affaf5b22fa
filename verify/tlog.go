// This file holds the transparency log formats and checks. (The package
// doc is in canonical.go; these invariants belong to it too.)
//
// The log follows three C2SP specifications:
//
//   - c2sp.org/tlog-tiles: the Merkle tree (RFC 6962 hashing) is published as
//     hash tiles "tile/<L>/<N>[.p/<W>]" and entry bundles
//     "tile/entries/<N>[.p/<W>]", each 256 wide.
//   - c2sp.org/tlog-checkpoint: the tree head is a note whose text is the
//     origin, the tree size in decimal and the base64 root hash.
//   - c2sp.org/signed-note: checkpoints are signed with Ed25519.
//
// Invariants:
//   - Parsers are strict: every accepted input re-encodes to exactly the
//     same bytes (ParseCheckpoint/Marshal, ParseBundle/EncodeBundle,
//     ParsePath/Tile.Path). Anything else is rejected with ErrMalformed.
//   - A checkpoint MUST NOT be trusted unless it came from OpenCheckpoint
//     with a verifier key obtained out of band; ParseCheckpoint alone checks
//     the format, not the signature.
//   - Verification failures wrap ErrInvalidProof or ErrBadSignature, so
//     callers can tell a malformed input from a log that misbehaved with
//     errors.Is.
//   - Nothing here does I/O.

package verify

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// Sentinel errors. Errors returned by this package wrap exactly one of them.
var (
	// ErrMalformed reports an input that does not follow its format.
	ErrMalformed = errors.New("malformed")
	// ErrBadSignature reports a note with no valid signature by the
	// expected key, or whose origin is not the key's name.
	ErrBadSignature = errors.New("bad signature")
	// ErrInvalidProof reports an inclusion or consistency proof that does
	// not lead to the expected root.
	ErrInvalidProof = errors.New("invalid proof")
)

// TileWidth is the number of hashes in a full hash tile and the number of
// entries in a full entry bundle. Each tile level spans TileHeight tree
// levels.
const (
	TileWidth  = 256
	TileHeight = 8
	// HashSize is the size of every hash in the log (SHA-256).
	HashSize = 32
)

// Tile names a hash tile or an entry bundle.
type Tile struct {
	// Entries is true for an entry bundle, false for a hash tile.
	Entries bool
	// Level is the tile level (0 to 63) of a hash tile; a level-L tile holds
	// nodes of tree level 8L. It is 0 for entry bundles.
	Level uint64
	// Index is the position of the tile within its level.
	Index uint64
	// Width is the number of hashes or entries, 1 to 256; 256 is a full
	// tile, anything less a partial one.
	Width int
}

// Path returns the tile's path per tlog-tiles: "tile/<L>/<N>" or
// "tile/entries/<N>", with the suffix ".p/<W>" when Width < 256. N is written
// in groups of three digits, all but the last prefixed with "x"
// (1234067 is "x001/x234/067"). Path panics if Width is outside [1, 256] or
// Level is over 63: both are programming errors.
func (t Tile) Path() string {
	if t.Width < 1 || t.Width > TileWidth {
		panic(fmt.Sprintf("verify: tile width %d outside [1, %d]", t.Width, TileWidth))
	}
	if t.Level > 63 {
		panic(fmt.Sprintf("verify: tile level %d over 63", t.Level))
	}
	b := make([]byte, 0, 48)
	b = append(b, "tile/"...)
	if t.Entries {
		b = append(b, "entries"...)
	} else {
		b = strconv.AppendUint(b, t.Level, 10)
	}
	b = append(b, '/')
	b = appendN(b, t.Index)
	if t.Width < TileWidth {
		b = append(b, ".p/"...)
		b = strconv.AppendInt(b, int64(t.Width), 10)
	}
	return string(b)
}

// appendN appends the tlog-tiles encoding of n.
func appendN(b []byte, n uint64) []byte {
	var groups [7]uint64 // a uint64 has at most 20 decimal digits
	k := 0
	for {
		groups[k] = n % 1000
		k++
		n /= 1000
		if n == 0 {
			break
		}
	}
	for i := k - 1; i >= 0; i-- {
		if i > 0 {
			b = append(b, 'x')
		}
		g := groups[i]
		b = append(b, byte('0'+g/100), byte('0'+g/10%10), byte('0'+g%10))
		if i > 0 {
			b = append(b, '/')
		}
	}
	return b
}

// TilePath returns the path of the level-level hash tile at index holding
// width hashes (1 to 256; 256 is a full tile). It panics on a width outside
// that range or a level over 63.
func TilePath(level, index uint64, width int) string {
	return Tile{Level: level, Index: index, Width: width}.Path()
}

// EntriesPath returns the path of the entry bundle at index holding width
// entries (1 to 256; 256 is a full bundle). It panics on a width outside
// that range.
func EntriesPath(index uint64, width int) string {
	return Tile{Entries: true, Index: index, Width: width}.Path()
}

// TileWidthAt returns the width of the level-level tile (or, for level 0,
// entry bundle) at index in a tree of size leaves: 256 for a full tile, 1 to
// 255 for a partial one, and 0 if the tree has no such tile.
func TileWidthAt(level, index, size uint64) int {
	var n uint64 // nodes at tree level 8*level
	if level < 8 {
		n = size >> (TileHeight * level)
	}
	full := n / TileWidth
	switch {
	case index < full:
		return TileWidth
	case index == full:
		return int(n % TileWidth)
	default:
		return 0
	}
}

// ParsePath parses a tile or entry bundle path as produced by Tile.Path.
// Only canonical paths are accepted.
func ParsePath(p string) (Tile, error) {
	bad := func(why string) (Tile, error) {
		return Tile{}, fmt.Errorf("%w: tile path %q: %s", ErrMalformed, truncate(p, 80), why)
	}
	rest, ok := strings.CutPrefix(p, "tile/")
	if !ok {
		return bad("want prefix tile/")
	}
	first, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return bad("missing index")
	}
	var t Tile
	if first == "entries" {
		t.Entries = true
	} else {
		l, err := strconv.ParseUint(first, 10, 64)
		if err != nil || l > 63 {
			return bad("level is not a number from 0 to 63")
		}
		t.Level = l
	}
	t.Width = TileWidth
	if i := strings.Index(rest, ".p/"); i >= 0 {
		w, err := strconv.Atoi(rest[i+3:])
		if err != nil || w < 1 || w >= TileWidth {
			return bad("partial width is not a number from 1 to 255")
		}
		t.Width, rest = w, rest[:i]
	}
	groups := strings.Split(rest, "/")
	for i, g := range groups {
		if i < len(groups)-1 {
			if g, ok = strings.CutPrefix(g, "x"); !ok {
				return bad("index group without x prefix")
			}
		}
		if len(g) != 3 || !isDigits(g) {
			return bad("index group is not three digits")
		}
		d := uint64(g[0]-'0')*100 + uint64(g[1]-'0')*10 + uint64(g[2]-'0')
		if t.Index > (math.MaxUint64-d)/1000 {
			return bad("index overflows 64 bits")
		}
		t.Index = t.Index*1000 + d
	}
	if t.Path() != p {
		return bad("not in canonical form")
	}
	return t, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// EncodeBundle encodes 1 to 256 entries as an entry bundle: each entry is a
// 2-byte big-endian length followed by its bytes. Entries longer than
// 65535 bytes (MaxEntrySize) are an error.
func EncodeBundle(entries [][]byte) ([]byte, error) {
	if len(entries) == 0 || len(entries) > TileWidth {
		return nil, fmt.Errorf("%w: entry bundle of %d entries, want 1 to %d", ErrMalformed, len(entries), TileWidth)
	}
	n := 0
	for i, e := range entries {
		if len(e) > math.MaxUint16 {
			return nil, fmt.Errorf("%w: entry %d is %d bytes, over the limit of %d", ErrMalformed, i, len(e), math.MaxUint16)
		}
		n += 2 + len(e)
	}
	b := make([]byte, 0, n)
	for _, e := range entries {
		b = binary.BigEndian.AppendUint16(b, uint16(len(e)))
		b = append(b, e...)
	}
	return b, nil
}

// ParseBundle decodes an entry bundle of 1 to 256 entries. The returned
// slices alias data.
func ParseBundle(data []byte) ([][]byte, error) {
	var entries [][]byte
	for len(data) > 0 {
		if len(entries) == TileWidth {
			return nil, fmt.Errorf("%w: entry bundle has more than %d entries", ErrMalformed, TileWidth)
		}
		if len(data) < 2 {
			return nil, fmt.Errorf("%w: entry bundle: truncated length after entry %d", ErrMalformed, len(entries))
		}
		n := int(binary.BigEndian.Uint16(data))
		if len(data)-2 < n {
			return nil, fmt.Errorf("%w: entry bundle: entry %d wants %d bytes, %d left", ErrMalformed, len(entries), n, len(data)-2)
		}
		entries = append(entries, data[2:2+n:2+n])
		data = data[2+n:]
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: empty entry bundle", ErrMalformed)
	}
	return entries, nil
}

// Checkpoint is the body of a tlog-checkpoint note: the tree head of the log
// at Size entries.
type Checkpoint struct {
	// Origin identifies the log; it is also the name of the signing key.
	Origin string
	// Size is the number of entries in the tree.
	Size uint64
	// Root is the RFC 6962 root hash of the first Size entries.
	Root []byte
	// Extra holds the optional extension lines, without newlines.
	Extra []string
}

// Marshal returns the checkpoint as note text: origin, size and base64 root,
// then the extension lines, each ending in a newline. It does not validate c;
// ParseCheckpoint(c.Marshal()) succeeds exactly when c is well formed.
func (c Checkpoint) Marshal() []byte {
	b := make([]byte, 0, len(c.Origin)+80)
	b = append(b, c.Origin...)
	b = append(b, '\n')
	b = strconv.AppendUint(b, c.Size, 10)
	b = append(b, '\n')
	b = base64.StdEncoding.AppendEncode(b, c.Root)
	b = append(b, '\n')
	for _, x := range c.Extra {
		b = append(b, x...)
		b = append(b, '\n')
	}
	return b
}

// ParseCheckpoint parses checkpoint note text strictly: at least three
// non-empty lines (origin, decimal size without leading zeros, standard
// base64 of a 32-byte hash), then optional non-empty extension lines, the
// whole being valid UTF-8 without control characters and ending in a
// newline. It does not check any signature; see OpenCheckpoint.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	bad := func(format string, args ...any) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	if !utf8.Valid(text) {
		return bad("not valid UTF-8")
	}
	for _, r := range string(text) {
		if r != '\n' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)) {
			return bad("control character %U", r)
		}
	}
	body, ok := bytes.CutSuffix(text, []byte("\n"))
	if !ok {
		return bad("does not end in a newline")
	}
	lines := strings.Split(string(body), "\n")
	if len(lines) < 3 {
		return bad("%d lines, want at least 3", len(lines))
	}
	for i, l := range lines {
		if l == "" {
			return bad("line %d is empty", i+1)
		}
	}
	var c Checkpoint
	c.Origin = lines[0]
	if !isDigits(lines[1]) || (len(lines[1]) > 1 && lines[1][0] == '0') {
		return bad("size %q is not a decimal number without leading zeros", truncate(lines[1], 30))
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return bad("size %q overflows 64 bits", truncate(lines[1], 30))
	}
	c.Size = size
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != HashSize {
		return bad("root hash is not base64 of %d bytes", HashSize)
	}
	c.Root = root
	if len(lines) > 3 {
		c.Extra = lines[3:]
	}
	return c, nil
}

// OpenCheckpoint verifies a signed checkpoint note against verifierKey (a
// note verifier key, "<name>+<hash>+<key>") and returns its body. The note
// MUST carry a valid signature by that key and its origin MUST equal the
// key's name. Other signatures (witness cosignatures) are ignored.
func OpenCheckpoint(signedNote []byte, verifierKey string) (Checkpoint, error) {
	v, err := note.NewVerifier(verifierKey)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: verifier key: %v", ErrMalformed, err)
	}
	n, err := note.Open(signedNote, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &unverified) || errors.As(err, &invalid) {
			return Checkpoint{}, fmt.Errorf("%w: checkpoint by %s: %v", ErrBadSignature, v.Name(), err)
		}
		return Checkpoint{}, fmt.Errorf("%w: signed checkpoint: %v", ErrMalformed, err)
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint origin %q is not the key name %q", ErrBadSignature, truncate(c.Origin, 80), v.Name())
	}
	return c, nil
}

// LeafHash returns the RFC 6962 leaf hash of an entry: SHA-256(0x00 || entry).
func LeafHash(entry []byte) []byte {
	return rfc6962.DefaultHasher.HashLeaf(entry)
}

// VerifyInclusion checks that proof shows the leaf with leafHash at index is
// in the tree of size leaves whose root is root.
func VerifyInclusion(leafHash []byte, index, size uint64, proofHashes [][]byte, root []byte) error {
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, leafHash, proofHashes, root); err != nil {
		return fmt.Errorf("%w: inclusion of leaf %d in tree of size %d: %v", ErrInvalidProof, index, size, err)
	}
	return nil
}

// VerifyConsistency checks that proof shows the tree of size1 leaves with
// root1 is a prefix of the tree of size2 leaves with root2.
func VerifyConsistency(size1, size2 uint64, proofHashes [][]byte, root1, root2 []byte) error {
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, size1, size2, proofHashes, root1, root2); err != nil {
		return fmt.Errorf("%w: consistency of tree sizes %d and %d: %v", ErrInvalidProof, size1, size2, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
