// This file holds the court bundle format (docs/bundle-format.md) and its
// offline verifier. (The package doc is in canonical.go; its invariants
// hold here too: VerifyBundle reads only through the fs.FS it is given.)
//
// A bundle is a directory or a zip archive with the same layout:
//
//	bundle.json          manifest: export ID, case, batch, store, tree size
//	SHA256SUMS           sha256sum -c format; every other file is listed
//	metadata.json, .csv  one row per item: registration number, title, ...
//	custody.json         each item's chain of custody
//	redactions.json      pseudonyms and payloads withheld (witness protection)
//	log/checkpoint       the signed checkpoint every proof is against
//	log/verifier.key     its verifier key (note format)
//	log/entries.json     every log entry about the items, with payloads
//	log/proofs.json      an inclusion proof of each entry
//	files/<regno>-<name> the original files
//	report.html, report.pdf, README.txt   for people; checked by hash only
//
// Invariants:
//   - What the verifier trusts is the checkpoint's signature by the verifier
//     key (pinned with BundleOptions.Key, else the bundle's own key, which
//     the report then says). Everything else is checked against it: entries
//     by inclusion proof, payloads by their hash in the entry, files and
//     metadata rows by the intake payload, chains of custody by payloads.
//   - A payload withheld for witness protection cannot be checked against
//     its hash; which payloads are withheld is itself fixed by the export's
//     access entries, whose payloads are never withheld.
//   - VerifyBundle never stops at the first problem: it reports each one it
//     finds, with the file, item and log index concerned.

package verify

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// BundleFormat and BundleVersion identify the bundle layout in bundle.json.
const (
	BundleFormat  = "custody-bundle"
	BundleVersion = 1
)

// Paths of a bundle's documents, relative to its root.
const (
	BundleManifestPath    = "bundle.json"
	BundleSumsPath        = "SHA256SUMS"
	BundleMetadataPath    = "metadata.json"
	BundleMetadataCSVPath = "metadata.csv"
	BundleCustodyPath     = "custody.json"
	BundleRedactionsPath  = "redactions.json"
	BundleCheckpointPath  = "log/checkpoint"
	BundleKeyPath         = "log/verifier.key"
	BundleEntriesPath     = "log/entries.json"
	BundleProofsPath      = "log/proofs.json"
	// BundleFilesDir holds the original files.
	BundleFilesDir = "files/"
)

// ExportAction is the action of the custody.access entry an export records
// for each item it writes.
const ExportAction = "export"

// maxBundleDoc bounds the size of a bundle document read into memory.
const maxBundleDoc = 1 << 30

// BundleManifest is bundle.json.
type BundleManifest struct {
	Format  string `json:"format"`  // BundleFormat
	Version int    `json:"version"` // BundleVersion
	Export  string `json:"export"`  // UUID of this export
	Case    string `json:"case"`
	// Batch is the log index of the first of the export's access entries,
	// in decimal with at least four digits: the middle part of every
	// registration number.
	Batch      string `json:"batch"`
	Created    string `json:"created"` // the store's clock
	Store      string `json:"store"`   // store ID
	StoreName  string `json:"store_name,omitempty"`
	Origin     string `json:"origin"`      // the log's origin (checkpoint first line)
	ExportedBy string `json:"exported_by"` // user ID
	Items      int    `json:"items"`
	TreeSize   uint64 `json:"tree_size"` // size of the checkpoint
	// Actors maps user IDs to names, as the store's index holds them: a
	// convenience for readers, not checked (user payloads are not exported).
	Actors map[string]string `json:"actors,omitempty"`
}

// BundleMetadata is metadata.json.
type BundleMetadata struct {
	Case  string       `json:"case"`
	Batch string       `json:"batch"`
	Items []BundleItem `json:"items"`
}

// BundleItem is one row of the metadata table.
type BundleItem struct {
	RegNo           string `json:"registration_number"` // <case>-<batch>-<sequence>
	Item            string `json:"item"`                // item ID
	Title           string `json:"title"`
	Date            string `json:"date"` // YYYY-MM-DD
	Type            string `json:"type"` // media type, or "physical"
	Author          string `json:"author"`
	Language        string `json:"language"`
	Source          string `json:"source"`
	Confidentiality string `json:"confidentiality"`
	Size            int64  `json:"size"`
	SHA256          string `json:"sha256"` // hex; empty for an item without a file
	File            string `json:"file"`   // path in the bundle; empty for an item without a file
	LogIndex        uint64 `json:"log_index"`
	Redacted        bool   `json:"redacted"`
}

// BundleEntry is one log entry of log/entries.json.
type BundleEntry struct {
	Index uint64 `json:"index"`
	Entry string `json:"entry"` // the envelope bytes
	// Payload is the payload bytes; when Withheld is not empty it is a
	// pseudonymised copy, which does not hash to the entry's reference.
	Payload  string   `json:"payload"`
	Withheld []string `json:"withheld,omitempty"` // JSON paths of the fields pseudonymised
}

// BundleEntries is log/entries.json.
type BundleEntries struct {
	Entries []BundleEntry `json:"entries"`
}

// BundleProof is the inclusion proof of one entry.
type BundleProof struct {
	Index    uint64   `json:"index"`
	LeafHash []byte   `json:"leaf_hash"`
	Hashes   [][]byte `json:"hashes"`
}

// BundleProofs is log/proofs.json: every proof is against one checkpoint.
type BundleProofs struct {
	TreeSize uint64        `json:"tree_size"`
	Root     []byte        `json:"root"`
	Proofs   []BundleProof `json:"proofs"`
}

// BundleEvent is one link of an item's chain of custody, as ChainEvent
// derives it from an entry and its payload.
type BundleEvent struct {
	Index    uint64 `json:"index"`
	Entry    string `json:"entry"` // entry ID
	Type     string `json:"type"`  // intake, handover, or the access action (read, export)
	Time     string `json:"time"`
	Actor    string `json:"actor"`
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"` // the holder after the event (intake, handover)
	Reason   string `json:"reason,omitempty"`
	Seal     string `json:"seal,omitempty"`
	Location string `json:"location,omitempty"`
	Withheld bool   `json:"withheld,omitempty"`
}

// BundleChain is an item's chain of custody in custody.json.
type BundleChain struct {
	RegNo  string        `json:"registration_number"`
	Item   string        `json:"item"`
	Holder string        `json:"holder"` // at export
	Events []BundleEvent `json:"events"`
}

// BundleCustody is custody.json.
type BundleCustody struct {
	Items []BundleChain `json:"items"`
}

// BundlePseudonym lists where one pseudonym stands for a protected identity.
type BundlePseudonym struct {
	Pseudonym string   `json:"pseudonym"`
	Items     []string `json:"items"` // registration numbers
}

// BundleWithheld is a payload withheld for witness protection.
type BundleWithheld struct {
	Index   uint64   `json:"index"`
	Item    string   `json:"item"`    // registration number
	Payload string   `json:"payload"` // the reference the entry names: what the unredacted payload hashes to
	Fields  []string `json:"fields"`
}

// BundleRedactions is redactions.json.
type BundleRedactions struct {
	Policy     string            `json:"policy"`
	Pseudonyms []BundlePseudonym `json:"pseudonyms"`
	Withheld   []BundleWithheld  `json:"withheld"`
}

// MarshalBundleJSON encodes a bundle document: indented, without HTML
// escaping, ending in a newline.
func MarshalBundleJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func parseStrict(data []byte, v any, what string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: %s: data after the document", ErrMalformed, what)
	}
	return nil
}

// ParseBundleManifest parses bundle.json and checks its format and version.
func ParseBundleManifest(data []byte) (*BundleManifest, error) {
	var m BundleManifest
	if err := parseStrict(data, &m, BundleManifestPath); err != nil {
		return nil, err
	}
	if m.Format != BundleFormat {
		return nil, fmt.Errorf("%w: %s: format %q, want %q", ErrMalformed, BundleManifestPath, truncate(m.Format, 40), BundleFormat)
	}
	if m.Version != BundleVersion {
		return nil, fmt.Errorf("%w: %s: version %d; this verifier reads version %d", ErrMalformed, BundleManifestPath, m.Version, BundleVersion)
	}
	return &m, nil
}

// ParseBundleMetadata parses metadata.json.
func ParseBundleMetadata(data []byte) (*BundleMetadata, error) {
	var m BundleMetadata
	if err := parseStrict(data, &m, BundleMetadataPath); err != nil {
		return nil, err
	}
	return &m, nil
}

// ParseBundleEntries parses log/entries.json (the entries' own format is
// checked by the verifier, entry by entry).
func ParseBundleEntries(data []byte) (*BundleEntries, error) {
	var e BundleEntries
	if err := parseStrict(data, &e, BundleEntriesPath); err != nil {
		return nil, err
	}
	return &e, nil
}

// ParseBundleProofs parses log/proofs.json and checks the size of every
// hash.
func ParseBundleProofs(data []byte) (*BundleProofs, error) {
	var p BundleProofs
	if err := parseStrict(data, &p, BundleProofsPath); err != nil {
		return nil, err
	}
	if len(p.Root) != HashSize {
		return nil, fmt.Errorf("%w: %s: root is %d bytes, want %d", ErrMalformed, BundleProofsPath, len(p.Root), HashSize)
	}
	for _, pr := range p.Proofs {
		if len(pr.LeafHash) != HashSize {
			return nil, fmt.Errorf("%w: %s: leaf hash of entry %d is %d bytes, want %d", ErrMalformed, BundleProofsPath, pr.Index, len(pr.LeafHash), HashSize)
		}
		if len(pr.Hashes) > 64 {
			return nil, fmt.Errorf("%w: %s: proof of entry %d has %d hashes, over 64", ErrMalformed, BundleProofsPath, pr.Index, len(pr.Hashes))
		}
		for _, h := range pr.Hashes {
			if len(h) != HashSize {
				return nil, fmt.Errorf("%w: %s: a hash in the proof of entry %d is %d bytes, want %d", ErrMalformed, BundleProofsPath, pr.Index, len(h), HashSize)
			}
		}
	}
	return &p, nil
}

// ParseBundleCustody parses custody.json.
func ParseBundleCustody(data []byte) (*BundleCustody, error) {
	var c BundleCustody
	if err := parseStrict(data, &c, BundleCustodyPath); err != nil {
		return nil, err
	}
	return &c, nil
}

// ParseBundleRedactions parses redactions.json.
func ParseBundleRedactions(data []byte) (*BundleRedactions, error) {
	var r BundleRedactions
	if err := parseStrict(data, &r, BundleRedactionsPath); err != nil {
		return nil, err
	}
	return &r, nil
}

// BundleCSVHeader is the header row of metadata.csv.
var BundleCSVHeader = []string{"registration_number", "item", "title", "date", "type", "author", "language", "source",
	"confidentiality", "size", "sha256", "file", "log_index", "redacted"}

// csvCell protects a cell from spreadsheet formula injection: a cell that
// begins with = + - @ ' or a tab or carriage return gets a leading
// apostrophe, which parseCSVCell removes (so the mapping is one to one).
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@'\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func parseCSVCell(s string) string {
	if t, ok := strings.CutPrefix(s, "'"); ok && t != "" && strings.ContainsRune("=+-@'\t\r", rune(t[0])) {
		return t
	}
	return s
}

// MarshalMetadataCSV returns metadata.csv for items: RFC 4180, UTF-8, CRLF
// line ends, BundleCSVHeader first, cells protected from formula injection.
func MarshalMetadataCSV(items []BundleItem) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	w.Write(BundleCSVHeader)
	for _, it := range items {
		rec := []string{it.RegNo, it.Item, it.Title, it.Date, it.Type, it.Author, it.Language, it.Source,
			it.Confidentiality, strconv.FormatInt(it.Size, 10), it.SHA256, it.File,
			strconv.FormatUint(it.LogIndex, 10), strconv.FormatBool(it.Redacted)}
		for i := range rec {
			rec[i] = csvCell(rec[i])
		}
		w.Write(rec)
	}
	w.Flush()
	return buf.Bytes()
}

// ParseMetadataCSV parses metadata.csv as MarshalMetadataCSV writes it.
func ParseMetadataCSV(data []byte) ([]BundleItem, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = len(BundleCSVHeader)
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, BundleMetadataCSVPath, err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], BundleCSVHeader) {
		return nil, fmt.Errorf("%w: %s: the header is not %s", ErrMalformed, BundleMetadataCSVPath, strings.Join(BundleCSVHeader, ","))
	}
	items := make([]BundleItem, 0, len(recs)-1)
	for n, rec := range recs[1:] {
		for i := range rec {
			rec[i] = parseCSVCell(rec[i])
		}
		it := BundleItem{RegNo: rec[0], Item: rec[1], Title: rec[2], Date: rec[3], Type: rec[4], Author: rec[5],
			Language: rec[6], Source: rec[7], Confidentiality: rec[8], SHA256: rec[10], File: rec[11]}
		var e1, e2, e3 error
		it.Size, e1 = strconv.ParseInt(rec[9], 10, 64)
		it.LogIndex, e2 = strconv.ParseUint(rec[12], 10, 64)
		it.Redacted, e3 = strconv.ParseBool(rec[13])
		if err := errors.Join(e1, e2, e3); err != nil {
			return nil, fmt.Errorf("%w: %s: row %d: %v", ErrMalformed, BundleMetadataCSVPath, n+2, err)
		}
		items = append(items, it)
	}
	return items, nil
}

// SumLine is one line of SHA256SUMS.
type SumLine struct {
	SHA256 string // 64 lowercase hex digits
	Path   string
}

// MarshalSums returns SHA256SUMS: "<hex>  <path>\n" per file, the format
// of `sha256sum` in text mode, which `sha256sum -c` reads back.
func MarshalSums(lines []SumLine) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l.SHA256)
		b.WriteString("  ")
		b.WriteString(l.Path)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ParseSums parses SHA256SUMS strictly: each line a 64-digit lowercase hex
// hash, two spaces (or a space and "*"), and a valid slash-separated path
// (no "..", no leading slash, no backslash escapes), each path once, and
// never SHA256SUMS itself.
func ParseSums(data []byte) ([]SumLine, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: %s is empty", ErrMalformed, BundleSumsPath)
	}
	body, ok := bytes.CutSuffix(data, []byte("\n"))
	if !ok {
		return nil, fmt.Errorf("%w: %s does not end in a newline", ErrMalformed, BundleSumsPath)
	}
	seen := map[string]bool{}
	var out []SumLine
	for i, line := range strings.Split(string(body), "\n") {
		bad := func(why string) ([]SumLine, error) {
			return nil, fmt.Errorf("%w: %s line %d: %s", ErrMalformed, BundleSumsPath, i+1, why)
		}
		if len(line) < 67 || !(line[64:66] == "  " || line[64:66] == " *") {
			return bad("want <64 hex digits>, two spaces, a path")
		}
		h, p := line[:64], line[66:]
		if !isLowerHex(h) {
			return bad("the hash is not 64 lowercase hex digits")
		}
		if !utf8.ValidString(p) || !fs.ValidPath(p) || p == "." || strings.ContainsAny(p, "\\\r") {
			return bad(fmt.Sprintf("path %q is not a clean relative path", truncate(p, 80)))
		}
		if p == BundleSumsPath {
			return bad("SHA256SUMS lists itself")
		}
		if seen[p] {
			return bad(fmt.Sprintf("%s is listed twice", truncate(p, 80)))
		}
		seen[p] = true
		out = append(out, SumLine{SHA256: h, Path: p})
	}
	return out, nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// CaseLabel returns the case number as it appears in registration numbers
// and file names: every character but ASCII letters, digits and "-"
// becomes "_".
func CaseLabel(caseID string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, caseID)
}

// FormatBatch writes a batch number: the log index, at least four digits.
func FormatBatch(index uint64) string { return fmt.Sprintf("%04d", index) }

// RegNo returns the registration number of the seq-th item (from 1) of a
// batch: "<case label>-<batch>-<sequence of at least four digits>", in the
// style of the ICC e-Court protocol.
func RegNo(caseID, batch string, seq int) string {
	return fmt.Sprintf("%s-%s-%04d", CaseLabel(caseID), batch, seq)
}

// ExportReason is the reason of the custody.access entry (action
// ExportAction) an export records for each item before writing the bundle:
// it binds the export ID, the case, the number of items, the holder at
// export and the entries whose payload is withheld into the log.
func ExportReason(export, caseID string, items int, holder string, withheld []uint64) string {
	w := "none"
	if len(withheld) > 0 {
		parts := make([]string, len(withheld))
		for i, x := range withheld {
			parts[i] = "#" + strconv.FormatUint(x, 10)
		}
		w = strings.Join(parts, ", ")
	}
	return fmt.Sprintf("court bundle %s: case %s, %d items; holder at export: %s; payloads withheld for witness protection: %s",
		export, caseID, items, holder, w)
}

// ItemFacts is what the metadata table takes from an item's intake payload.
type ItemFacts struct {
	ID, Kind    string
	SHA256      string // hex of the blob; empty without a file
	Size        int64
	Name        string
	Case        string
	Title       string // the description's first line, else the file name, else "physical item"
	Date        string // collected_at's date, else ingested_at's (YYYY-MM-DD)
	Type        string // the media type, else the kind
	Collector   string
	Holder      string // first holder: the collector, else the user who took it in
	Seal        string
	Location    string
	IngestedBy  string
	Description string
}

type itemPayload struct {
	Item struct {
		ID          string `json:"id"`
		Kind        string `json:"kind"`
		Blob        string `json:"blob"`
		Size        int64  `json:"size"`
		MediaType   string `json:"media_type"`
		Name        string `json:"name"`
		Case        string `json:"case"`
		Collector   string `json:"collector"`
		CollectedAt string `json:"collected_at"`
		Description string `json:"description"`
		Seal        string `json:"seal"`
		Location    string `json:"location"`
		IngestedBy  string `json:"ingested_by"`
		IngestedAt  string `json:"ingested_at"`
	} `json:"item"`
}

// ParseItemFacts reads the facts of an item.add payload.
func ParseItemFacts(payload []byte) (ItemFacts, error) {
	var p itemPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return ItemFacts{}, fmt.Errorf("%w: item payload: %v", ErrMalformed, err)
	}
	it := p.Item
	f := ItemFacts{ID: it.ID, Kind: it.Kind, Size: it.Size, Name: it.Name, Case: it.Case, Collector: it.Collector,
		Seal: it.Seal, Location: it.Location, IngestedBy: it.IngestedBy, Description: it.Description}
	if it.ID == "" || it.Kind == "" || it.IngestedBy == "" {
		return f, fmt.Errorf("%w: item payload: missing id, kind or ingested_by", ErrMalformed)
	}
	if it.Blob != "" {
		if !validRef(it.Blob) {
			return f, fmt.Errorf("%w: item payload: malformed blob reference", ErrMalformed)
		}
		f.SHA256 = strings.TrimPrefix(it.Blob, "sha256-")
	}
	f.Title, _, _ = strings.Cut(strings.TrimSpace(it.Description), "\n")
	f.Title = cutRunes(strings.TrimSpace(f.Title), 200)
	if f.Title == "" {
		f.Title = it.Name
	}
	if f.Title == "" {
		f.Title = it.Kind + " item"
	}
	f.Date = it.CollectedAt
	if len(f.Date) < 10 {
		f.Date = it.IngestedAt
	}
	if len(f.Date) >= 10 {
		f.Date = f.Date[:10]
	}
	f.Type = it.MediaType
	if f.Type == "" {
		f.Type = it.Kind
	}
	f.Holder = it.Collector
	if f.Holder == "" {
		f.Holder = it.IngestedBy
	}
	return f, nil
}

// cutRunes shortens s to at most n bytes on a rune boundary.
func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ChainEvent derives the chain-of-custody link of an entry about an item
// (item.add, custody.handover, custody.access) from its payload, and checks
// that the payload is about the entry's subject.
func ChainEvent(index uint64, e Entry, payload []byte) (BundleEvent, error) {
	ev := BundleEvent{Index: index, Entry: e.ID, Time: e.Time, Actor: e.Actor}
	var item string
	switch e.Type {
	case "item.add":
		f, err := ParseItemFacts(payload)
		if err != nil {
			return ev, err
		}
		item, ev.Type, ev.To, ev.Seal, ev.Location = f.ID, "intake", f.Holder, f.Seal, f.Location
	case "custody.handover":
		var p struct {
			Item     string `json:"item"`
			From     string `json:"from"`
			To       string `json:"to"`
			Reason   string `json:"reason"`
			Seal     string `json:"seal"`
			Location string `json:"location"`
		}
		if err := json.Unmarshal(payload, &p); err != nil {
			return ev, fmt.Errorf("%w: handover payload: %v", ErrMalformed, err)
		}
		item, ev.Type, ev.From, ev.To, ev.Reason, ev.Seal, ev.Location = p.Item, "handover", p.From, p.To, p.Reason, p.Seal, p.Location
	case "custody.access":
		var p struct {
			Item   string `json:"item"`
			Action string `json:"action"`
			Reason string `json:"reason"`
		}
		if err := json.Unmarshal(payload, &p); err != nil {
			return ev, fmt.Errorf("%w: access payload: %v", ErrMalformed, err)
		}
		if p.Action == "" {
			return ev, fmt.Errorf("%w: access payload without an action", ErrMalformed)
		}
		item, ev.Type, ev.Reason = p.Item, p.Action, p.Reason
	default:
		return ev, fmt.Errorf("%w: entry type %q is not about an item's custody", ErrMalformed, truncate(e.Type, 40))
	}
	if item != e.Subject {
		return ev, fmt.Errorf("%w: the payload is about item %q, the entry about %q", ErrMalformed, truncate(item, 60), truncate(e.Subject, 60))
	}
	return ev, nil
}

// OpenBundleZip returns a zip bundle as a file system. The result is a
// *zip.Reader, which VerifyBundle also checks for duplicate and unsafe
// names.
func OpenBundleZip(r io.ReaderAt, size int64) (fs.FS, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, fmt.Errorf("%w: zip bundle: %v", ErrMalformed, err)
	}
	return zr, nil
}

// BundleOptions adjust VerifyBundle. The zero value is usable.
type BundleOptions struct {
	// Key is the verifier key (note format) the checkpoint must be signed
	// by, obtained out of band (custody log key). Empty: the bundle's own
	// log/verifier.key is used, and the report says it was not pinned.
	Key string
	// Workers is the number of files hashed in parallel (default 2).
	Workers int
	// Progress, if set, is called (never concurrently) as bytes are hashed.
	Progress func(done, total int64)
}

// BundleProblem is one way a bundle is not intact.
type BundleProblem struct {
	// Check is the family of check: layout, manifest, sums, file,
	// checkpoint, entry, payload, proof, metadata, custody, redaction.
	Check    string  `json:"check"`
	Path     string  `json:"path,omitempty"` // the file in the bundle
	Item     string  `json:"item,omitempty"` // registration number or item ID
	Index    *uint64 `json:"index,omitempty"`
	Message  string  `json:"message"`
	Expected string  `json:"expected,omitempty"`
	Found    string  `json:"found,omitempty"`
}

func (p BundleProblem) String() string {
	var b strings.Builder
	b.WriteString("[" + p.Check + "]")
	if p.Path != "" {
		b.WriteString(" " + p.Path)
	}
	if p.Item != "" {
		b.WriteString(" item " + p.Item)
	}
	if p.Index != nil {
		fmt.Fprintf(&b, " entry #%d", *p.Index)
	}
	b.WriteString(": " + p.Message)
	return b.String()
}

// BundleReport is the outcome of VerifyBundle.
type BundleReport struct {
	Export    string `json:"export,omitempty"`
	Case      string `json:"case,omitempty"`
	Batch     string `json:"batch,omitempty"`
	Store     string `json:"store,omitempty"`
	Origin    string `json:"origin,omitempty"`
	Key       string `json:"key,omitempty"` // the key the checkpoint was checked with
	KeyPinned bool   `json:"key_pinned"`
	TreeSize  uint64 `json:"tree_size"`
	Root      []byte `json:"root,omitempty"`
	Items     int    `json:"items"`
	Files     int    `json:"files"`   // files hashed
	Bytes     int64  `json:"bytes"`   // bytes hashed
	Entries   int    `json:"entries"` // entries proven against the checkpoint
	Withheld  int    `json:"withheld"`
	// Notes say what was not or could not be checked; they are not problems.
	Notes    []string        `json:"notes"`
	Problems []BundleProblem `json:"problems"`
}

// OK reports whether no problem was found.
func (r *BundleReport) OK() bool { return len(r.Problems) == 0 }

// WriteText writes the report for people.
func (r *BundleReport) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "bundle: case %s, batch %s, export %s, %d items\n", r.Case, r.Batch, r.Export, r.Items)
	pin := "pinned"
	if !r.KeyPinned {
		pin = "taken from the bundle (not pinned: compare it with the store's published key, or pass --key)"
	}
	fmt.Fprintf(&b, "checkpoint: %s, tree size %d, root %s\nkey: %s, %s\n", r.Origin, r.TreeSize, base64.StdEncoding.EncodeToString(r.Root), r.Key, pin)
	fmt.Fprintf(&b, "entries: %d proven against the checkpoint (%d payloads withheld for witness protection)\nfiles: %d hashed, %d bytes\n",
		r.Entries, r.Withheld, r.Files, r.Bytes)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "PROBLEM %s\n", p)
		if p.Expected != "" || p.Found != "" {
			fmt.Fprintf(&b, "    expected: %s\n    found:    %s\n", p.Expected, p.Found)
		}
	}
	if r.OK() {
		b.WriteString("OK: the bundle is intact\n")
	} else {
		fmt.Fprintf(&b, "FAILED: %d problems\n", len(r.Problems))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// VerifyBundle checks a bundle (a directory as os.DirFS, or a zip from
// OpenBundleZip) offline: the checkpoint's signature, every entry against
// its inclusion proof, every payload against its entry, the metadata
// against the intake payloads, every file against SHA256SUMS and the
// metadata, the chains of custody for continuity and the export's own
// access entries. It returns an error only when fsys cannot be listed;
// everything else is a problem in the report. The order of the checks is
// given in docs/bundle-format.md.
func VerifyBundle(fsys fs.FS, opts *BundleOptions) (*BundleReport, error) {
	v := &bundleVerifier{fsys: fsys, rep: &BundleReport{Notes: []string{}, Problems: []BundleProblem{}}, present: map[string]int64{}}
	if opts != nil {
		v.opts = *opts
	}
	if v.opts.Workers <= 0 {
		v.opts.Workers = 2
	}
	if err := v.list(); err != nil {
		return nil, err
	}
	v.readManifest()
	v.readSums()
	v.checkCheckpoint()
	v.checkEntries()
	v.checkMetadata()
	v.checkChains()
	v.checkRedactions()
	v.checkLayout()
	v.checkFiles()
	// Name items by registration number where the metadata gives one.
	for i, p := range v.rep.Problems {
		if r := v.byItem[p.Item]; r != nil && r.RegNo != "" {
			v.rep.Problems[i].Item = r.RegNo
		}
	}
	return v.rep, nil
}

// BundleDocuments lists the files of a bundle besides the items' files.
// The three last are for people and are checked only against SHA256SUMS.
var BundleDocuments = []string{BundleManifestPath, BundleSumsPath, BundleMetadataPath, BundleMetadataCSVPath,
	BundleCustodyPath, BundleRedactionsPath, BundleCheckpointPath, BundleKeyPath, BundleEntriesPath, BundleProofsPath,
	"report.html", "report.pdf", "README.txt"}

// checkLayout refuses any file that is neither a bundle document nor the
// file of an item in the metadata, even if SHA256SUMS lists it: nothing
// the log does not vouch for may pass as part of the bundle.
func (v *bundleVerifier) checkLayout() {
	known := map[string]bool{}
	for _, d := range BundleDocuments {
		known[d] = true
	}
	for _, r := range v.rows {
		if r.File != "" {
			known[r.File] = true
		}
	}
	var extra []string
	for p := range v.present {
		if !known[p] {
			extra = append(extra, p)
		}
	}
	slices.Sort(extra)
	for _, p := range extra {
		v.fail("layout", p, "a file that is neither a bundle document nor an item's file in the metadata")
	}
}

type bundleEntry struct {
	BundleEntry
	env      Entry
	payload  []byte
	withheld bool
}

type bundleVerifier struct {
	fsys    fs.FS
	opts    BundleOptions
	rep     *BundleReport
	present map[string]int64 // regular files -> size

	man     *BundleManifest
	sums    []SumLine
	cp      *Checkpoint
	key     string
	entries map[uint64]*bundleEntry // parsed, proven or not
	order   []uint64                // indexes in log order
	rows    []BundleItem
	byItem  map[string]*BundleItem
	chains  map[string][]BundleEvent
	holders map[string]string
}

func (v *bundleVerifier) add(p BundleProblem) { v.rep.Problems = append(v.rep.Problems, p) }

func (v *bundleVerifier) fail(check, path, format string, args ...any) {
	v.add(BundleProblem{Check: check, Path: path, Message: fmt.Sprintf(format, args...)})
}

func idx(i uint64) *uint64 { return &i }

// list records every regular file, and refuses anything else.
func (v *bundleVerifier) list() error {
	if zr, ok := v.fsys.(*zip.Reader); ok {
		seen := map[string]bool{}
		for _, f := range zr.File {
			switch {
			case seen[f.Name]:
				v.fail("layout", f.Name, "the zip archive holds two files of this name")
			case strings.HasSuffix(f.Name, "/"):
			case !fs.ValidPath(f.Name) || strings.Contains(f.Name, "\\"):
				v.fail("layout", f.Name, "unsafe file name in the zip archive")
			}
			seen[f.Name] = true
		}
	}
	return fs.WalkDir(v.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return fmt.Errorf("read bundle: %w", err)
			}
			v.fail("layout", p, "cannot be read: %v", err)
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			v.fail("layout", p, "not a regular file (%v)", d.Type())
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			v.fail("layout", p, "cannot be read: %v", err)
			return nil
		}
		v.present[p] = fi.Size()
		return nil
	})
}

// read returns a document of the bundle, or nil after reporting why not.
func (v *bundleVerifier) read(path string) []byte {
	if _, ok := v.present[path]; !ok {
		v.fail("layout", path, "missing from the bundle")
		return nil
	}
	f, err := v.fsys.Open(path)
	if err != nil {
		v.fail("layout", path, "cannot be opened: %v", err)
		return nil
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxBundleDoc+1))
	if err != nil {
		v.fail("layout", path, "cannot be read: %v", err)
		return nil
	}
	if len(data) > maxBundleDoc {
		v.fail("layout", path, "over %d bytes", maxBundleDoc)
		return nil
	}
	return data
}

func (v *bundleVerifier) readManifest() {
	data := v.read(BundleManifestPath)
	if data == nil {
		return
	}
	m, err := ParseBundleManifest(data)
	if err != nil {
		v.fail("manifest", BundleManifestPath, "%v", err)
		return
	}
	v.man = m
	v.rep.Export, v.rep.Case, v.rep.Batch, v.rep.Store, v.rep.Items = m.Export, m.Case, m.Batch, m.Store, m.Items
}

func (v *bundleVerifier) readSums() {
	data := v.read(BundleSumsPath)
	if data == nil {
		return
	}
	sums, err := ParseSums(data)
	if err != nil {
		v.fail("sums", BundleSumsPath, "%v", err)
		return
	}
	v.sums = sums
	listed := map[string]bool{BundleSumsPath: true}
	for _, s := range sums {
		listed[s.Path] = true
		if _, ok := v.present[s.Path]; !ok {
			v.fail("sums", s.Path, "listed in SHA256SUMS but missing from the bundle")
		}
	}
	var extra []string
	for p := range v.present {
		if !listed[p] {
			extra = append(extra, p)
		}
	}
	slices.Sort(extra)
	for _, p := range extra {
		v.fail("sums", p, "a file not listed in SHA256SUMS: it is not part of the bundle as exported")
	}
}

func (v *bundleVerifier) checkCheckpoint() {
	keyData := v.read(BundleKeyPath)
	note := v.read(BundleCheckpointPath)
	bundleKey := strings.TrimSpace(string(keyData))
	v.key = bundleKey
	if v.opts.Key != "" {
		v.key, v.rep.KeyPinned = strings.TrimSpace(v.opts.Key), true
		if keyData != nil && bundleKey != v.key {
			v.add(BundleProblem{Check: "checkpoint", Path: BundleKeyPath, Message: "the bundle's verifier key is not the expected key",
				Expected: v.key, Found: truncate(bundleKey, 200)})
		}
	} else {
		v.rep.Notes = append(v.rep.Notes, "the verifier key was taken from the bundle: check that it is the key the store publishes (custody log key), or pass it with --key")
	}
	v.rep.Key = v.key
	if note == nil || v.key == "" {
		return
	}
	cp, err := OpenCheckpoint(note, v.key)
	if err != nil {
		v.fail("checkpoint", BundleCheckpointPath, "%v", err)
		return
	}
	v.cp = &cp
	v.rep.Origin, v.rep.TreeSize, v.rep.Root = cp.Origin, cp.Size, cp.Root
	if v.man != nil {
		if v.man.Origin != cp.Origin {
			v.add(BundleProblem{Check: "manifest", Path: BundleManifestPath, Message: "origin differs from the checkpoint's", Expected: cp.Origin, Found: v.man.Origin})
		}
		if v.man.TreeSize != cp.Size {
			v.add(BundleProblem{Check: "manifest", Path: BundleManifestPath, Message: "tree size differs from the checkpoint's",
				Expected: strconv.FormatUint(cp.Size, 10), Found: strconv.FormatUint(v.man.TreeSize, 10)})
		}
	}
}

func (v *bundleVerifier) checkEntries() {
	v.entries = map[uint64]*bundleEntry{}
	data := v.read(BundleEntriesPath)
	pdata := v.read(BundleProofsPath)
	if data == nil {
		return
	}
	ents, err := ParseBundleEntries(data)
	if err != nil {
		v.fail("entry", BundleEntriesPath, "%v", err)
		return
	}
	for _, be := range ents.Entries {
		i := be.Index
		if v.entries[i] != nil {
			v.add(BundleProblem{Check: "entry", Path: BundleEntriesPath, Index: idx(i), Message: "the entry is listed twice"})
			continue
		}
		e, err := ParseEntry([]byte(be.Entry))
		if err != nil {
			v.add(BundleProblem{Check: "entry", Path: BundleEntriesPath, Index: idx(i), Message: err.Error()})
			continue
		}
		ent := &bundleEntry{BundleEntry: be, env: e, payload: []byte(be.Payload), withheld: len(be.Withheld) > 0}
		if ent.withheld {
			v.rep.Withheld++
			if err := IsCanonical(ent.payload); err != nil {
				v.add(BundleProblem{Check: "payload", Path: BundleEntriesPath, Item: e.Subject, Index: idx(i), Message: "pseudonymised payload: " + err.Error()})
			}
		} else if err := CheckPayload(e, ent.payload); err != nil {
			v.add(BundleProblem{Check: "payload", Path: BundleEntriesPath, Item: e.Subject, Index: idx(i), Message: err.Error(),
				Expected: e.Payload, Found: ContentRef(ent.payload)})
		}
		v.entries[i] = ent
		v.order = append(v.order, i)
	}
	slices.Sort(v.order)
	// Times never decrease along the log.
	for k := 1; k < len(v.order); k++ {
		a, b := v.entries[v.order[k-1]], v.entries[v.order[k]]
		if b.env.Time < a.env.Time {
			v.add(BundleProblem{Check: "entry", Path: BundleEntriesPath, Index: idx(b.Index),
				Message: fmt.Sprintf("its time is before that of entry #%d: the log's clock never goes back", a.Index), Expected: ">= " + a.env.Time, Found: b.env.Time})
		}
	}
	v.checkStoreInit()
	if pdata == nil {
		return
	}
	proofs, err := ParseBundleProofs(pdata)
	if err != nil {
		v.fail("proof", BundleProofsPath, "%v", err)
		return
	}
	if v.cp != nil && (proofs.TreeSize != v.cp.Size || !bytes.Equal(proofs.Root, v.cp.Root)) {
		v.add(BundleProblem{Check: "proof", Path: BundleProofsPath, Message: "the proofs are against another tree than the checkpoint's",
			Expected: fmt.Sprintf("size %d root %x", v.cp.Size, v.cp.Root), Found: fmt.Sprintf("size %d root %x", proofs.TreeSize, proofs.Root)})
	}
	proven := map[uint64]bool{}
	for _, pr := range proofs.Proofs {
		ent := v.entries[pr.Index]
		switch {
		case proven[pr.Index]:
			v.add(BundleProblem{Check: "proof", Path: BundleProofsPath, Index: idx(pr.Index), Message: "two proofs for one entry"})
			continue
		case ent == nil:
			v.add(BundleProblem{Check: "proof", Path: BundleProofsPath, Index: idx(pr.Index), Message: "a proof of an entry the bundle does not hold"})
			continue
		}
		proven[pr.Index] = true
		leaf := LeafHash([]byte(ent.Entry))
		if !bytes.Equal(leaf, pr.LeafHash) {
			v.add(BundleProblem{Check: "proof", Path: BundleProofsPath, Item: ent.env.Subject, Index: idx(pr.Index),
				Message: "the proof's leaf hash is not the hash of the entry", Expected: hex.EncodeToString(leaf), Found: hex.EncodeToString(pr.LeafHash)})
		}
		if v.cp == nil {
			continue
		}
		if err := VerifyInclusion(leaf, pr.Index, v.cp.Size, pr.Hashes, v.cp.Root); err != nil {
			p := BundleProblem{Check: "proof", Path: BundleProofsPath, Item: ent.env.Subject, Index: idx(pr.Index)}
			if root, err := proof.RootFromInclusionProof(rfc6962.DefaultHasher, pr.Index, v.cp.Size, leaf, pr.Hashes); err != nil {
				p.Message = fmt.Sprintf("the entry is not in the log the checkpoint signs: the proof does not fit a tree of %d entries (%v)", v.cp.Size, err)
			} else {
				p.Message = "the entry is not in the log the checkpoint signs: its inclusion proof leads to another root"
				p.Expected, p.Found = base64.StdEncoding.EncodeToString(v.cp.Root), base64.StdEncoding.EncodeToString(root)
			}
			v.add(p)
			continue
		}
		v.rep.Entries++
	}
	for _, i := range v.order {
		if !proven[i] {
			v.add(BundleProblem{Check: "proof", Path: BundleProofsPath, Item: v.entries[i].env.Subject, Index: idx(i), Message: "the entry has no inclusion proof"})
		}
	}
}

// checkStoreInit checks entry 0: it binds the store ID, the origin and the
// verifier key.
func (v *bundleVerifier) checkStoreInit() {
	ent := v.entries[0]
	if ent == nil || ent.env.Type != "store.init" {
		v.add(BundleProblem{Check: "entry", Path: BundleEntriesPath, Index: idx(0), Message: "the store.init entry (index 0) is missing"})
		return
	}
	var p struct {
		StoreID   string `json:"store_id"`
		Origin    string `json:"origin"`
		VerifyKey string `json:"verify_key"`
	}
	if err := json.Unmarshal(ent.payload, &p); err != nil {
		v.add(BundleProblem{Check: "payload", Path: BundleEntriesPath, Index: idx(0), Message: "store.init payload: " + err.Error()})
		return
	}
	if p.VerifyKey != v.key {
		v.add(BundleProblem{Check: "entry", Path: BundleEntriesPath, Index: idx(0), Message: "the store was created with another verifier key", Expected: v.key, Found: p.VerifyKey})
	}
	if v.cp != nil && p.Origin != v.cp.Origin {
		v.add(BundleProblem{Check: "entry", Path: BundleEntriesPath, Index: idx(0), Message: "the store's origin is not the checkpoint's", Expected: v.cp.Origin, Found: p.Origin})
	}
	if v.man != nil && p.StoreID != v.man.Store {
		v.add(BundleProblem{Check: "manifest", Path: BundleManifestPath, Message: "store ID differs from the store.init entry's", Expected: p.StoreID, Found: v.man.Store})
	}
}

func (v *bundleVerifier) checkMetadata() {
	v.byItem = map[string]*BundleItem{}
	jdata := v.read(BundleMetadataPath)
	cdata := v.read(BundleMetadataCSVPath)
	var meta *BundleMetadata
	if jdata != nil {
		var err error
		if meta, err = ParseBundleMetadata(jdata); err != nil {
			v.fail("metadata", BundleMetadataPath, "%v", err)
		}
	}
	if cdata != nil {
		rows, err := ParseMetadataCSV(cdata)
		switch {
		case err != nil:
			v.fail("metadata", BundleMetadataCSVPath, "%v", err)
		case meta != nil:
			v.compareCSV(meta.Items, rows)
		}
	}
	if meta == nil {
		return
	}
	v.rows = meta.Items
	if v.man != nil {
		if meta.Case != v.man.Case || meta.Batch != v.man.Batch {
			v.add(BundleProblem{Check: "metadata", Path: BundleMetadataPath, Message: "case or batch differs from bundle.json",
				Expected: v.man.Case + " " + v.man.Batch, Found: meta.Case + " " + meta.Batch})
		}
		if len(meta.Items) != v.man.Items {
			v.add(BundleProblem{Check: "metadata", Path: BundleMetadataPath, Message: "the number of items differs from bundle.json",
				Expected: strconv.Itoa(v.man.Items), Found: strconv.Itoa(len(meta.Items))})
		}
	}
	files := map[string]string{}
	for n := range meta.Items {
		row := &meta.Items[n]
		bad := func(msg, want, got string) {
			v.add(BundleProblem{Check: "metadata", Path: BundleMetadataPath, Item: row.RegNo, Message: msg, Expected: want, Found: got})
		}
		if v.man != nil {
			if want := RegNo(v.man.Case, v.man.Batch, n+1); row.RegNo != want {
				bad(fmt.Sprintf("row %d: wrong registration number", n+1), want, row.RegNo)
			}
		}
		if v.byItem[row.Item] != nil {
			bad("the item is listed twice", "", row.Item)
			continue
		}
		v.byItem[row.Item] = row
		if row.File != "" {
			if other, ok := files[row.File]; ok {
				bad("two rows name the same file (the other: "+other+")", "", row.File)
			}
			files[row.File] = row.RegNo
		}
		var adds []*bundleEntry
		for _, i := range v.order {
			if e := v.entries[i]; e.env.Subject == row.Item && e.env.Type == "item.add" {
				adds = append(adds, e)
			}
		}
		if len(adds) != 1 {
			bad(fmt.Sprintf("the bundle holds %d intake entries for the item, want 1", len(adds)), "", row.Item)
			continue
		}
		add := adds[0]
		f, err := ParseItemFacts(add.payload)
		if err != nil {
			v.add(BundleProblem{Check: "payload", Path: BundleEntriesPath, Item: row.RegNo, Index: idx(add.Index), Message: err.Error()})
			continue
		}
		type field struct{ name, want, got string }
		for _, c := range []field{
			{"log_index", strconv.FormatUint(add.Index, 10), strconv.FormatUint(row.LogIndex, 10)},
			{"sha256", f.SHA256, row.SHA256},
			{"size", strconv.FormatInt(f.Size, 10), strconv.FormatInt(row.Size, 10)},
			{"title", f.Title, row.Title},
			{"date", f.Date, row.Date},
			{"type", f.Type, row.Type},
		} {
			if c.want != c.got {
				bad(c.name+" differs from the intake entry #"+strconv.FormatUint(add.Index, 10), c.want, c.got)
			}
		}
		wantPrefix := BundleFilesDir + row.RegNo + "-"
		switch {
		case f.SHA256 == "" && row.File != "":
			bad("the item has no file in the log, but the row names one", "", row.File)
		case f.SHA256 != "" && (!strings.HasPrefix(row.File, wantPrefix) || strings.Contains(row.File[len(wantPrefix)-1:], "/")):
			bad("the file is not named after the registration number", wantPrefix+"...", row.File)
		}
		if add.withheld && !row.Redacted {
			bad("the intake payload is withheld, but the row is not marked redacted", "true", "false")
		}
	}
	// Every entry but store.init is about an item of the bundle.
	for _, i := range v.order {
		if e := v.entries[i]; e.env.Type != "store.init" && v.byItem[e.env.Subject] == nil {
			v.add(BundleProblem{Check: "entry", Path: BundleEntriesPath, Index: idx(i), Item: e.env.Subject, Message: "an entry about an item the metadata does not list"})
		}
	}
}

func (v *bundleVerifier) compareCSV(rows, csvRows []BundleItem) {
	if len(rows) != len(csvRows) {
		v.add(BundleProblem{Check: "metadata", Path: BundleMetadataCSVPath, Message: "metadata.csv and metadata.json list different numbers of items",
			Expected: strconv.Itoa(len(rows)), Found: strconv.Itoa(len(csvRows))})
	}
	for n := range min(len(rows), len(csvRows)) {
		a, b := MarshalMetadataCSV(rows[n:n+1]), MarshalMetadataCSV(csvRows[n:n+1])
		if !bytes.Equal(a, b) {
			_, wa, _ := strings.Cut(string(a), "\r\n")
			_, wb, _ := strings.Cut(string(b), "\r\n")
			v.add(BundleProblem{Check: "metadata", Path: BundleMetadataCSVPath, Item: rows[n].RegNo,
				Message: fmt.Sprintf("row %d differs from metadata.json", n+2), Expected: strings.TrimSpace(wa), Found: strings.TrimSpace(wb)})
		}
	}
}

func (v *bundleVerifier) checkChains() {
	v.chains, v.holders = map[string][]BundleEvent{}, map[string]string{}
	if v.rows == nil {
		return
	}
	// Which entries are withheld, per item, from the entries themselves.
	withheld := map[string][]uint64{}
	for _, i := range v.order {
		if e := v.entries[i]; e.withheld {
			withheld[e.env.Subject] = append(withheld[e.env.Subject], i)
		}
	}
	var exportIdx []uint64
	for _, row := range v.rows {
		var evs []BundleEvent
		holder, exports := "", 0
		for _, i := range v.order {
			e := v.entries[i]
			if e.env.Subject != row.Item {
				continue
			}
			ev, err := ChainEvent(i, e.env, e.payload)
			if err != nil {
				v.add(BundleProblem{Check: "custody", Path: BundleEntriesPath, Item: row.RegNo, Index: idx(i), Message: err.Error()})
				continue
			}
			ev.Withheld = e.withheld
			bad := func(msg, want, got string) {
				v.add(BundleProblem{Check: "custody", Path: BundleEntriesPath, Item: row.RegNo, Index: idx(i), Message: msg, Expected: want, Found: got})
			}
			switch {
			case len(evs) == 0 && ev.Type != "intake":
				bad("the chain of custody does not start with the intake", "intake", ev.Type)
			case ev.Type == "intake" && len(evs) > 0:
				bad("a second intake in the chain of custody", "", "intake")
			case ev.Type == "intake":
				holder = ev.To
			case ev.Type == "handover":
				if ev.From != holder {
					bad(fmt.Sprintf("broken chain of custody: the handover to %q is from %q, but the item was held by %q", ev.To, ev.From, holder), holder, ev.From)
				}
				holder = ev.To
			case ev.Type == ExportAction && v.man != nil && strings.HasPrefix(ev.Reason, "court bundle "+v.man.Export+":"):
				exports++
				exportIdx = append(exportIdx, i)
				want := ExportReason(v.man.Export, v.man.Case, v.man.Items, holder, withheld[row.Item])
				if ev.Reason != want {
					bad("the export's access entry does not match this bundle (items, holder or withheld payloads differ)", want, ev.Reason)
				}
			}
			evs = append(evs, ev)
		}
		if v.man != nil && exports != 1 {
			v.add(BundleProblem{Check: "custody", Path: BundleEntriesPath, Item: row.RegNo,
				Message: fmt.Sprintf("%d access entries record this export of the item, want 1", exports)})
		}
		v.chains[row.Item], v.holders[row.Item] = evs, holder
	}
	if v.man != nil && len(exportIdx) > 0 {
		if b := FormatBatch(slices.Min(exportIdx)); b != v.man.Batch {
			v.add(BundleProblem{Check: "manifest", Path: BundleManifestPath, Message: "the batch is not the log index of the export's first access entry", Expected: b, Found: v.man.Batch})
		}
	}
	data := v.read(BundleCustodyPath)
	if data == nil {
		return
	}
	cust, err := ParseBundleCustody(data)
	if err != nil {
		v.fail("custody", BundleCustodyPath, "%v", err)
		return
	}
	if len(cust.Items) != len(v.rows) {
		v.add(BundleProblem{Check: "custody", Path: BundleCustodyPath, Message: "custody.json and the metadata list different numbers of items",
			Expected: strconv.Itoa(len(v.rows)), Found: strconv.Itoa(len(cust.Items))})
	}
	for n := range min(len(cust.Items), len(v.rows)) {
		c, row := cust.Items[n], v.rows[n]
		want := BundleChain{RegNo: row.RegNo, Item: row.Item, Holder: v.holders[row.Item], Events: v.chains[row.Item]}
		a, _ := json.Marshal(want)
		b, _ := json.Marshal(c)
		if !bytes.Equal(a, b) {
			v.add(BundleProblem{Check: "custody", Path: BundleCustodyPath, Item: row.RegNo,
				Message: "the chain of custody differs from the one the log entries give", Expected: truncate(string(a), 400), Found: truncate(string(b), 400)})
		}
	}
}

func (v *bundleVerifier) checkRedactions() {
	data := v.read(BundleRedactionsPath)
	if data == nil {
		return
	}
	red, err := ParseBundleRedactions(data)
	if err != nil {
		v.fail("redaction", BundleRedactionsPath, "%v", err)
		return
	}
	listed := map[uint64]bool{}
	regno := func(item string) string {
		if r := v.byItem[item]; r != nil {
			return r.RegNo
		}
		return ""
	}
	for _, w := range red.Withheld {
		listed[w.Index] = true
		e := v.entries[w.Index]
		switch {
		case e == nil || !e.withheld:
			v.add(BundleProblem{Check: "redaction", Path: BundleRedactionsPath, Index: idx(w.Index), Message: "listed as withheld, but the bundle holds no withheld payload for this entry"})
		case w.Payload != e.env.Payload || w.Item != regno(e.env.Subject) || !slices.Equal(w.Fields, e.Withheld):
			v.add(BundleProblem{Check: "redaction", Path: BundleRedactionsPath, Index: idx(w.Index), Message: "the record of the withheld payload differs from the entry",
				Expected: fmt.Sprintf("%s %s %v", regno(e.env.Subject), e.env.Payload, e.Withheld), Found: fmt.Sprintf("%s %s %v", w.Item, w.Payload, w.Fields)})
		}
	}
	for _, i := range v.order {
		if e := v.entries[i]; e.withheld {
			if !listed[i] {
				v.add(BundleProblem{Check: "redaction", Path: BundleRedactionsPath, Index: idx(i), Item: regno(e.env.Subject), Message: "a withheld payload that redactions.json does not list"})
			}
			v.rep.Notes = append(v.rep.Notes, fmt.Sprintf("entry #%d (item %s): payload withheld for witness protection; the entry is proven, its pseudonymised payload cannot be checked against %s",
				i, regno(e.env.Subject), e.env.Payload))
		}
	}
}

type hashResult struct {
	sum  string
	size int64
	err  error
}

// checkFiles hashes every file SHA256SUMS lists, with opts.Workers
// workers, and compares each with SHA256SUMS and the metadata.
func (v *bundleVerifier) checkFiles() {
	// Every file SHA256SUMS lists, and every item's file even if it does
	// not, is hashed once.
	var todo []SumLine
	var total int64
	queued := map[string]bool{}
	queue := func(s SumLine) {
		if size, ok := v.present[s.Path]; ok && !queued[s.Path] {
			queued[s.Path] = true
			todo = append(todo, s)
			total += size
		}
	}
	for _, s := range v.sums {
		queue(s)
	}
	for _, row := range v.rows {
		if row.File != "" {
			queue(SumLine{Path: row.File})
		}
	}
	// Largest first, so that the workers finish together.
	slices.SortStableFunc(todo, func(a, b SumLine) int { return int(min(max(v.present[b.Path]-v.present[a.Path], -1), 1)) })
	results := make([]hashResult, len(todo))
	var (
		mu   sync.Mutex
		done int64
		wg   sync.WaitGroup
		next = make(chan int)
	)
	progress := func(n int64) {
		if v.opts.Progress == nil {
			return
		}
		mu.Lock()
		done += n
		v.opts.Progress(done, total)
		mu.Unlock()
	}
	for range min(v.opts.Workers, max(len(todo), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20)
			for k := range next {
				results[k] = v.hashFile(todo[k].Path, buf, progress)
			}
		}()
	}
	for k := range todo {
		next <- k
	}
	close(next)
	wg.Wait()
	got := map[string]hashResult{}
	for k, s := range todo {
		r := results[k]
		got[s.Path] = r
		if errors.Is(r.err, zip.ErrChecksum) {
			v.fail("file", s.Path, "the file's bytes do not match the zip archive's CRC-32: it was changed inside the archive")
			continue
		} else if r.err != nil {
			v.fail("file", s.Path, "cannot be read: %v", r.err)
			continue
		}
		v.rep.Files++
		v.rep.Bytes += r.size
		if s.SHA256 != "" && r.sum != s.SHA256 {
			v.add(BundleProblem{Check: "file", Path: s.Path, Message: "the file's SHA-256 is not the one SHA256SUMS lists", Expected: s.SHA256, Found: r.sum})
		}
	}
	for _, row := range v.rows {
		if row.File == "" {
			continue
		}
		r, ok := got[row.File]
		switch {
		case !ok:
			v.add(BundleProblem{Check: "file", Path: row.File, Item: row.RegNo, Message: "the item's file is missing from the bundle"})
		case r.err != nil:
		case r.sum != row.SHA256:
			v.add(BundleProblem{Check: "file", Path: row.File, Item: row.RegNo, Message: "the file is not the one the log recorded at intake (SHA-256 differs from the metadata)", Expected: row.SHA256, Found: r.sum})
		case r.size != row.Size:
			v.add(BundleProblem{Check: "file", Path: row.File, Item: row.RegNo, Message: "the file's size differs from the metadata",
				Expected: strconv.FormatInt(row.Size, 10), Found: strconv.FormatInt(r.size, 10)})
		}
	}
}

func (v *bundleVerifier) hashFile(path string, buf []byte, progress func(int64)) hashResult {
	f, err := v.fsys.Open(path)
	if err != nil {
		return hashResult{err: err}
	}
	defer f.Close()
	h := sha256.New()
	var n int64
	for {
		k, err := f.Read(buf)
		h.Write(buf[:k])
		n += int64(k)
		if k > 0 {
			progress(int64(k))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return hashResult{err: err}
		}
	}
	return hashResult{sum: hex.EncodeToString(h.Sum(nil)), size: n}
}
