// Package export writes court bundles (docs/bundle-format.md): the original
// files of a case's items, a metadata table with e-Court style registration
// numbers, every log entry about each item with its payload and an
// inclusion proof against one signed checkpoint, each item's chain of
// custody, a report for the court (HTML and PDF) and a README. The bundle
// is a directory or a .zip with the same layout; verify.VerifyBundle (and
// the standalone custody-verify) checks it offline.
//
// Invariants:
//   - An export is a custody event: one custody.access entry (action
//     "export", reason verify.ExportReason) per item is appended and
//     published before the bundle is written, and the bundle's checkpoint
//     covers them.
//   - Files are streamed from the blob store, whose reader checks each
//     blob's hash; no file is held in memory. A blob that fails its check
//     aborts the export.
//   - The output appears at its path only when complete: it is written
//     under a temporary name beside it, synced, then renamed. On any error
//     nothing is left at the path.
//   - Protected witnesses' identities never reach the bundle (see
//     redact.go); every replacement is recorded in redactions.json and, as
//     the list of withheld entries, in the export's access entries.
package export

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/evidence"
	"github.com/custody-dev/custody/internal/locality"
	"github.com/custody-dev/custody/verify"
	"github.com/google/uuid"
)

// Options say what to export and where.
type Options struct {
	// Case selects the items of a case; with Items, it only labels the
	// bundle (and every item must belong to it). One of the two is needed.
	Case string
	// Items selects items by ID.
	Items []string
	// Out is the bundle's path: a new directory, or a file ending in .zip.
	// It must not exist.
	Out string
	// Actor is the user who exports; the access entries name them.
	Actor *custody.User
	// Confidentiality is the level written in the metadata (default
	// "confidential").
	Confidentiality string
	// Workers is the number of files copied at once into a directory
	// (default 2; a zip is written by one).
	Workers int
	// Progress, if set, is called (never concurrently) as bytes are written.
	Progress func(phase string, done, total int64)
	// Now is the clock of the bundle's timestamps (default time.Now).
	Now func() time.Time
}

// Result describes a written bundle.
type Result struct {
	Path       string `json:"path"`
	Export     string `json:"export"`
	Case       string `json:"case"`
	Batch      string `json:"batch"`
	Items      int    `json:"items"`
	Files      int    `json:"files"`
	Bytes      int64  `json:"bytes"` // bytes of original files
	Entries    int    `json:"entries"`
	TreeSize   uint64 `json:"tree_size"`
	Withheld   int    `json:"withheld"`   // payloads withheld for witness protection
	Pseudonyms int    `json:"pseudonyms"` // protected identities replaced
}

// Export records the export in the log, then writes the bundle.
// Errors: EINVALID (no items, bad options), ENOTFOUND (no such item),
// ECONFLICT (the output exists; an item changed hands during the export),
// ETAMPERED (a blob or the log does not verify), ENOSPACE.
func Export(ctx context.Context, svc *evidence.Service, opts Options) (*Result, error) {
	if opts.Actor == nil {
		return nil, custody.Errorf(custody.EINVALID, "an export needs the user who makes it")
	}
	if !opts.Actor.Role.Can(custody.PermExport) {
		return nil, custody.Errorf(custody.EFORBIDDEN, "role %s may not export court bundles", opts.Actor.Role)
	}
	if opts.Out == "" {
		return nil, custody.Errorf(custody.EINVALID, "name the bundle's path with --out (a new directory, or a file ending in .zip)")
	}
	if _, err := os.Lstat(opts.Out); err == nil {
		return nil, &custody.Error{Code: custody.ECONFLICT, Message: fmt.Sprintf("%s already exists", opts.Out), Hint: "choose a new path: a bundle is never written over another"}
	}
	if fi, err := os.Stat(filepath.Dir(opts.Out)); err != nil || !fi.IsDir() {
		return nil, custody.Errorf(custody.EINVALID, "cannot write %s: %s is not a directory", opts.Out, filepath.Dir(opts.Out))
	}
	if opts.Confidentiality == "" {
		opts.Confidentiality = "confidential"
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	items, caseID, err := selectItems(ctx, svc, opts.Actor, opts.Case, opts.Items)
	if err != nil {
		return nil, err
	}
	prot, err := loadProtector(ctx, svc)
	if err != nil {
		return nil, err
	}
	testimonies, err := loadTestimonies(ctx, svc, prot)
	if err != nil {
		return nil, err
	}
	exportID := uuid.Must(uuid.NewV7()).String()

	// The holder and the withheld entries of each item, as of now: the
	// export's access entries name them.
	reasons := make([]string, len(items))
	for i, it := range items {
		evs, err := svc.History(ctx, opts.Actor, it.ID)
		if err != nil {
			return nil, err
		}
		var idxs []uint64
		for _, ev := range evs {
			idxs = append(idxs, ev.LogIndex)
		}
		recs, err := records(ctx, svc, idxs)
		if err != nil {
			return nil, err
		}
		st, err := chainOf(prot, it.ID, recs, "")
		if err != nil {
			return nil, err
		}
		reasons[i] = verify.ExportReason(exportID, caseID, len(items), st.holder, st.withheld)
	}
	for i, it := range items {
		if err := svc.RecordAccess(ctx, opts.Actor, it.ID, verify.ExportAction, reasons[i]); err != nil {
			return nil, fmt.Errorf("record the export of %s: %w", it.ID, err)
		}
	}
	if _, err := svc.Publish(ctx); err != nil {
		return nil, err
	}

	// Everything about the items, proven against one checkpoint.
	perItem := make([][]uint64, len(items))
	all := []uint64{0} // store.init binds the store ID, origin and key
	for i, it := range items {
		evs, err := svc.History(ctx, opts.Actor, it.ID)
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			perItem[i] = append(perItem[i], ev.LogIndex)
			all = append(all, ev.LogIndex)
		}
	}
	slices.Sort(all)
	all = slices.Compact(all)
	proofs, err := svc.ProveEntries(ctx, all)
	if err != nil {
		return nil, err
	}
	byIndex := map[uint64]evidence.ProvedEntry{}
	for _, e := range proofs.Entries {
		byIndex[e.Index] = e
	}
	b := &bundle{svc: svc, opts: opts, prot: prot, exportID: exportID, caseID: caseID, proofs: proofs, byIndex: byIndex,
		created: custody.FormatTime(opts.Now()), withheld: map[uint64][]string{}, payloads: map[uint64][]byte{}}
	if err := b.build(ctx, items, perItem, testimonies); err != nil {
		return nil, err
	}
	return b.write(ctx)
}

// selectItems returns the items to export in intake (log) order, and the
// case the bundle is labelled with.
func selectItems(ctx context.Context, svc *evidence.Service, actor *custody.User, caseID string, ids []string) ([]*custody.Item, string, error) {
	var items []*custody.Item
	seen := map[string]bool{}
	if len(ids) > 0 {
		for _, id := range ids {
			id = strings.TrimSpace(id)
			if id == "" || seen[id] {
				continue
			}
			seen[id] = true
			it, err := svc.Item(ctx, actor, id)
			if err != nil {
				return nil, "", err
			}
			if caseID != "" && it.Case != caseID {
				return nil, "", custody.Errorf(custody.EINVALID, "item %s belongs to case %q, not %q", id, it.Case, caseID)
			}
			items = append(items, it)
		}
	} else if caseID != "" {
		after := ""
		for {
			page, err := svc.Items(ctx, actor, custody.ItemFilter{Case: caseID, After: after, Limit: 1000})
			if err != nil {
				return nil, "", err
			}
			if len(page) == 0 {
				break
			}
			items = append(items, page...)
			after = page[len(page)-1].ID
		}
	} else {
		return nil, "", custody.Errorf(custody.EINVALID, "name a case (--case) or items (--items)")
	}
	if len(items) == 0 {
		return nil, "", custody.Errorf(custody.ENOTFOUND, "case %q has no items", caseID)
	}
	if caseID == "" {
		caseID = items[0].Case
		for _, it := range items {
			if it.Case != caseID {
				return nil, "", &custody.Error{Code: custody.EINVALID, Message: "the items belong to different cases", Hint: "label the bundle with --case"}
			}
		}
		if caseID == "" {
			return nil, "", &custody.Error{Code: custody.EINVALID, Message: "the items belong to no case", Hint: "label the bundle with --case"}
		}
	}
	if strings.TrimSpace(caseID) == "" || !utf8.ValidString(caseID) || len(caseID) > 256 {
		return nil, "", custody.Errorf(custody.EINVALID, "case %q cannot label a bundle", caseID)
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].LogIndex < items[j].LogIndex })
	return items, caseID, nil
}

// testimony is what a testimony says of an item that records it.
type testimony struct {
	author   string // the witness's name, or pseudonym if protected
	language string
	redacted bool
}

// loadTestimonies maps each item that is a testimony's recording to the
// witness (its author) and the testimony's language.
func loadTestimonies(ctx context.Context, svc *evidence.Service, prot *protector) (map[string]testimony, error) {
	out := map[string]testimony{}
	names := map[string]string{}
	err := eachRecord(ctx, svc, custody.RecordFilter{Kind: custody.KindTestimony}, func(r *custody.Record) error {
		var t custody.Testimony
		if err := json.Unmarshal(r.Data, &t); err != nil {
			return fmt.Errorf("read testimony %s: %w", r.ID, err)
		}
		if len(t.Recordings) == 0 {
			return nil
		}
		tm := testimony{language: t.Language}
		if ps, ok := prot.byPerson[t.Witness]; ok {
			tm.author, tm.redacted = ps, true
		} else if t.Witness != "" {
			name, ok := names[t.Witness]
			if !ok {
				if p, err := svc.DB().Record(ctx, t.Witness); err == nil {
					var person custody.Person
					if json.Unmarshal(p.Data, &person) == nil {
						name = person.Name
					}
				}
				names[t.Witness] = name
			}
			tm.author = name
		}
		for _, id := range t.Recordings {
			out[id] = tm
		}
		return nil
	})
	return out, err
}

// records reads log records by index.
func records(ctx context.Context, svc *evidence.Service, idxs []uint64) ([]custody.LogRecord, error) {
	out := make([]custody.LogRecord, 0, len(idxs))
	for _, i := range idxs {
		recs, err := svc.DB().Records(ctx, i, i+1)
		if err != nil {
			return nil, err
		}
		if len(recs) != 1 {
			return nil, custody.Errorf(custody.ETAMPERED, "log entry %d is missing from the database", i)
		}
		out = append(out, recs[0])
	}
	return out, nil
}

// chainState is an item's chain of custody as the bundle shows it.
type chainState struct {
	events   []verify.BundleEvent
	holder   string   // the holder after the events (at the export entry, if any)
	withheld []uint64 // entries whose payload is pseudonymised
	// exportEvent is the export's own access entry, if found.
	exportEvent *verify.BundleEvent
	exportAt    string // the holder when the export entry was made
	payloads    map[uint64][]byte
	fields      map[uint64][]string
	pseudonyms  []string
}

// chainOf rebuilds an item's chain from its log records, pseudonymising
// payloads, exactly as the verifier will from the bundle. exportID, when
// set, picks out the export's own access entry.
func chainOf(prot *protector, item string, recs []custody.LogRecord, exportID string) (*chainState, error) {
	st := &chainState{payloads: map[uint64][]byte{}, fields: map[uint64][]string{}}
	for _, r := range recs {
		e, err := verify.ParseEntry(r.Leaf)
		if err != nil {
			return nil, custody.Errorf(custody.ETAMPERED, "log entry %d: %v", r.Index, err)
		}
		payload, fields, used, err := prot.payload(r.Payload)
		if err != nil {
			return nil, fmt.Errorf("log entry %d: %w", r.Index, err)
		}
		st.payloads[r.Index] = payload
		if len(fields) > 0 {
			st.withheld = append(st.withheld, r.Index)
			st.fields[r.Index] = fields
			for _, u := range used {
				if !slices.Contains(st.pseudonyms, u) {
					st.pseudonyms = append(st.pseudonyms, u)
				}
			}
		}
		ev, err := verify.ChainEvent(r.Index, e, payload)
		if err != nil {
			return nil, custody.Errorf(custody.ETAMPERED, "log entry %d about item %s: %v", r.Index, item, err)
		}
		ev.Withheld = len(fields) > 0
		switch ev.Type {
		case "intake", "handover":
			st.holder = ev.To
		case verify.ExportAction:
			if exportID != "" && strings.HasPrefix(ev.Reason, "court bundle "+exportID+":") {
				ev := ev
				st.exportEvent, st.exportAt = &ev, st.holder
			}
		}
		st.events = append(st.events, ev)
	}
	return st, nil
}

// bundle is an export being assembled.
type bundle struct {
	svc      *evidence.Service
	opts     Options
	prot     *protector
	exportID string
	caseID   string
	batch    string
	created  string
	proofs   *evidence.EntryProofs
	byIndex  map[uint64]evidence.ProvedEntry

	manifest   verify.BundleManifest
	rows       []verify.BundleItem
	chains     []verify.BundleChain
	redactions verify.BundleRedactions
	withheld   map[uint64][]string
	payloads   map[uint64][]byte
	entries    []verify.BundleEntry
	actors     map[string]string
	storeName  string
}

func (b *bundle) build(ctx context.Context, items []*custody.Item, perItem [][]uint64, testimonies map[string]testimony) error {
	states := make([]*chainState, len(items))
	var exportIdx []uint64
	pseudonymItems := map[string][]string{}
	for i, it := range items {
		recs := make([]custody.LogRecord, 0, len(perItem[i]))
		for _, idx := range perItem[i] {
			e := b.byIndex[idx]
			recs = append(recs, custody.LogRecord{Index: idx, Leaf: e.Leaf, Payload: e.Payload})
		}
		st, err := chainOf(b.prot, it.ID, recs, b.exportID)
		if err != nil {
			return err
		}
		if st.exportEvent == nil {
			return custody.Errorf(custody.EINTERNAL, "the export's access entry for item %s is not in its history", it.ID)
		}
		want := verify.ExportReason(b.exportID, b.caseID, len(items), st.exportAt, st.withheld)
		if st.exportEvent.Reason != want {
			return &custody.Error{Code: custody.ECONFLICT, Message: fmt.Sprintf("item %s changed while it was being exported", it.ID),
				Hint: "run the export again (the interrupted export stays recorded in the log)"}
		}
		exportIdx = append(exportIdx, st.exportEvent.Index)
		for idx, p := range st.payloads {
			b.payloads[idx] = p
		}
		for idx, f := range st.fields {
			b.withheld[idx] = f
		}
		states[i] = st
	}
	b.batch = verify.FormatBatch(slices.Min(exportIdx))

	// Store name and actors.
	if e0, ok := b.byIndex[0]; ok {
		var init custody.StoreInit
		if json.Unmarshal(e0.Payload, &init) == nil {
			b.storeName = init.Name
		}
		b.payloads[0] = e0.Payload
	}
	b.actors = map[string]string{}
	for _, e := range b.proofs.Entries {
		env, err := verify.ParseEntry(e.Leaf)
		if err != nil {
			return custody.Errorf(custody.ETAMPERED, "log entry %d: %v", e.Index, err)
		}
		if _, ok := b.actors[env.Actor]; ok {
			continue
		}
		name := env.Actor
		if u, err := b.svc.DB().UserByID(ctx, env.Actor); err == nil {
			name = u.Name
		}
		b.actors[env.Actor], _ = b.prot.text(name)
	}

	// Rows and chains.
	source := "Custody store " + b.svc.StoreID()
	if b.storeName != "" {
		source = "Custody store " + b.storeName + " (" + b.svc.StoreID() + ")"
	}
	for i, it := range items {
		st := states[i]
		add := b.payloads[it.LogIndex]
		f, err := verify.ParseItemFacts(add)
		if err != nil {
			return custody.Errorf(custody.ETAMPERED, "intake entry %d of item %s: %v", it.LogIndex, it.ID, err)
		}
		regno := verify.RegNo(b.caseID, b.batch, i+1)
		row := verify.BundleItem{RegNo: regno, Item: it.ID, Title: f.Title, Date: f.Date, Type: f.Type, Author: f.Collector,
			Source: source, Confidentiality: b.opts.Confidentiality, Size: f.Size, SHA256: f.SHA256, LogIndex: it.LogIndex,
			Redacted: len(st.withheld) > 0}
		if row.Author == "" {
			row.Author = b.actors[f.IngestedBy]
		}
		if t, ok := testimonies[it.ID]; ok {
			if t.author != "" {
				row.Author = t.author
			}
			row.Language = t.language
			row.Redacted = row.Redacted || t.redacted
			if t.redacted {
				st.pseudonyms = append(st.pseudonyms, t.author)
			}
		}
		var used []string
		row.Author, used = b.prot.text(row.Author)
		if len(used) > 0 {
			row.Redacted = true
			st.pseudonyms = append(st.pseudonyms, used...)
		}
		if f.SHA256 != "" {
			row.File = verify.BundleFilesDir + regno + "-" + safeName(f.Name)
		}
		b.rows = append(b.rows, row)
		b.chains = append(b.chains, verify.BundleChain{RegNo: regno, Item: it.ID, Holder: st.holder, Events: st.events})
		for _, ps := range st.pseudonyms {
			if !slices.Contains(pseudonymItems[ps], regno) {
				pseudonymItems[ps] = append(pseudonymItems[ps], regno)
			}
		}
		for _, idx := range st.withheld {
			env, _ := verify.ParseEntry(b.byIndex[idx].Leaf)
			b.redactions.Withheld = append(b.redactions.Withheld, verify.BundleWithheld{Index: idx, Item: regno, Payload: env.Payload, Fields: st.fields[idx]})
		}
	}
	b.redactions.Policy = redactionPolicy
	b.redactions.Pseudonyms = []verify.BundlePseudonym{}
	for ps, regnos := range pseudonymItems {
		b.redactions.Pseudonyms = append(b.redactions.Pseudonyms, verify.BundlePseudonym{Pseudonym: ps, Items: regnos})
	}
	slices.SortFunc(b.redactions.Pseudonyms, func(a, c verify.BundlePseudonym) int { return strings.Compare(a.Pseudonym, c.Pseudonym) })
	slices.SortFunc(b.redactions.Withheld, func(a, c verify.BundleWithheld) int { return int(a.Index) - int(c.Index) })
	if b.redactions.Withheld == nil {
		b.redactions.Withheld = []verify.BundleWithheld{}
	}

	for _, e := range b.proofs.Entries {
		b.entries = append(b.entries, verify.BundleEntry{Index: e.Index, Entry: string(e.Leaf), Payload: string(b.payloads[e.Index]), Withheld: b.withheld[e.Index]})
	}
	b.manifest = verify.BundleManifest{Format: verify.BundleFormat, Version: verify.BundleVersion, Export: b.exportID, Case: b.caseID,
		Batch: b.batch, Created: b.created, Store: b.svc.StoreID(), StoreName: b.storeName, Origin: b.proofs.Checkpoint.Origin,
		ExportedBy: b.opts.Actor.ID, Items: len(items), TreeSize: b.proofs.Checkpoint.Size, Actors: b.actors}
	return nil
}

// redactionPolicy is recorded in redactions.json.
const redactionPolicy = "Witnesses whose person record has a protection level other than none are protected: their name " +
	"(Ukrainian spelling and official Latin transliteration, any case) and record ID are replaced wherever they occur, " +
	"in payloads and in the metadata, by a stable pseudonym, Witness W-<6 hex digits of an HMAC keyed with a private " +
	"nonce of the person record>. A payload so changed no longer hashes to its entry's reference: it is listed here as " +
	"withheld, with the reference the unredacted payload hashes to, and the export's access entries in the log name " +
	"these entries. The unredacted payloads can be disclosed to the court under protective measures."

// safeName returns a file name made of ASCII letters, digits, ".", "_" and
// "-": Ukrainian is transliterated, anything else becomes "_".
func safeName(name string) string {
	s := locality.Transliterate(name)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-'):
			b.WriteRune(r)
		default:
			if !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
		}
	}
	out := strings.Trim(b.String(), "._-")
	if len(out) > 100 {
		ext := ""
		if i := strings.LastIndexByte(out, '.'); i > 0 && len(out)-i <= 10 {
			ext = out[i:]
		}
		out = out[:100-len(ext)] + ext
	}
	if out == "" {
		return "file"
	}
	return out
}

// write writes the bundle: the files, then the documents, then SHA256SUMS.
func (b *bundle) write(ctx context.Context) (res *Result, err error) {
	s, err := newSink(b.opts.Out, b.opts.Now())
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.abort()
		}
	}()
	res = &Result{Path: b.opts.Out, Export: b.exportID, Case: b.caseID, Batch: b.batch, Items: len(b.rows),
		Entries: len(b.entries), TreeSize: b.proofs.Checkpoint.Size, Withheld: len(b.redactions.Withheld), Pseudonyms: len(b.redactions.Pseudonyms)}
	var sums []verify.SumLine
	var total int64
	var todo []verify.BundleItem
	for _, r := range b.rows {
		if r.File != "" {
			todo = append(todo, r)
			total += r.Size
			sums = append(sums, verify.SumLine{SHA256: r.SHA256, Path: r.File})
		}
	}
	if err := b.copyFiles(ctx, s, todo, total); err != nil {
		return nil, err
	}
	res.Files, res.Bytes = len(todo), total

	docs, err := b.documents()
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		if err := s.put(d.name, d.data); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(d.data)
		sums = append(sums, verify.SumLine{SHA256: hex.EncodeToString(sum[:]), Path: d.name})
	}
	slices.SortFunc(sums, func(a, c verify.SumLine) int { return strings.Compare(a.Path, c.Path) })
	if err := s.put(verify.BundleSumsPath, verify.MarshalSums(sums)); err != nil {
		return nil, err
	}
	if err := s.commit(); err != nil {
		return nil, err
	}
	return res, nil
}

// copyFiles streams the items' blobs into the bundle, each checked against
// its hash by the blob store's reader as it is read.
func (b *bundle) copyFiles(ctx context.Context, s sink, rows []verify.BundleItem, total int64) error {
	var mu sync.Mutex
	var done int64
	progress := func(n int64) {
		if b.opts.Progress == nil {
			return
		}
		mu.Lock()
		done += n
		b.opts.Progress("export", done, total)
		mu.Unlock()
	}
	progress(0)
	workers := 1
	if s.concurrent() {
		workers = b.opts.Workers
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan verify.BundleItem)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				if err := b.copyFile(ctx, s, r, progress); err != nil {
					errs <- err
					cancel()
					for range next {
					}
					return
				}
			}
		}()
	}
feed:
	for _, r := range rows {
		select {
		case next <- r:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := errors.Join(collect(errs)...); err != nil {
		return err
	}
	return ctx.Err()
}

func collect(errs <-chan error) []error {
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	if len(out) > 1 {
		out = out[:1] // the first cause; the others are its cancellation
	}
	return out
}

func (b *bundle) copyFile(ctx context.Context, s sink, r verify.BundleItem, progress func(int64)) error {
	rc, err := b.svc.Blobs().Open(ctx, custody.Ref("sha256-"+r.SHA256))
	if err != nil {
		return fmt.Errorf("item %s: %w", r.RegNo, err)
	}
	defer rc.Close()
	w, err := s.create(r.File, r.Size)
	if err != nil {
		return err
	}
	n, err := pipeCopy(ctx, w, rc, progress)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("item %s (%s): %w", r.RegNo, r.Item, err)
	}
	if n != r.Size {
		return custody.Errorf(custody.ETAMPERED, "item %s: the blob holds %d bytes, the log %d", r.RegNo, n, r.Size)
	}
	return nil
}

// pipeCopy copies src to dst with reading (and the blob store's hashing)
// and writing on two goroutines, through a few 1 MiB buffers.
func pipeCopy(ctx context.Context, dst io.Writer, src io.Reader, progress func(int64)) (int64, error) {
	const bufs, size = 4, 1 << 20
	free := make(chan []byte, bufs)
	for range bufs {
		free <- make([]byte, size)
	}
	type chunk struct {
		b   []byte
		err error
	}
	full := make(chan chunk, bufs)
	stop := make(chan struct{})
	go func() {
		defer close(full)
		for {
			var buf []byte
			select {
			case buf = <-free:
			case <-stop:
				return
			}
			n, err := io.ReadFull(src, buf)
			if n > 0 {
				full <- chunk{b: buf[:n]}
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return
			}
			if err != nil {
				full <- chunk{err: err}
				return
			}
		}
	}()
	var written int64
	var werr error
	for c := range full {
		if werr != nil {
			continue // drain
		}
		if c.err != nil {
			werr = c.err
			close(stop)
			continue
		}
		if err := ctx.Err(); err != nil {
			werr = err
			close(stop)
			continue
		}
		n, err := dst.Write(c.b)
		written += int64(n)
		progress(int64(n))
		if err != nil {
			werr = err
			close(stop)
			continue
		}
		free <- c.b[:cap(c.b)]
	}
	return written, werr
}

type document struct {
	name string
	data []byte
}

// documents returns every bundle document but SHA256SUMS.
func (b *bundle) documents() ([]document, error) {
	var docs []document
	add := func(name string, v any) error {
		data, err := verify.MarshalBundleJSON(v)
		if err != nil {
			return fmt.Errorf("encode %s: %w", name, err)
		}
		docs = append(docs, document{name, data})
		return nil
	}
	proofs := verify.BundleProofs{TreeSize: b.proofs.Checkpoint.Size, Root: b.proofs.Checkpoint.Root}
	for _, e := range b.proofs.Entries {
		proofs.Proofs = append(proofs.Proofs, verify.BundleProof{Index: e.Index, LeafHash: verify.LeafHash(e.Leaf), Hashes: nonNil(e.Hashes)})
	}
	for _, d := range []struct {
		name string
		v    any
	}{
		{verify.BundleManifestPath, b.manifest},
		{verify.BundleMetadataPath, verify.BundleMetadata{Case: b.caseID, Batch: b.batch, Items: b.rows}},
		{verify.BundleCustodyPath, verify.BundleCustody{Items: b.chains}},
		{verify.BundleRedactionsPath, b.redactions},
		{verify.BundleEntriesPath, verify.BundleEntries{Entries: b.entries}},
		{verify.BundleProofsPath, proofs},
	} {
		if err := add(d.name, d.v); err != nil {
			return nil, err
		}
	}
	docs = append(docs,
		document{verify.BundleMetadataCSVPath, verify.MarshalMetadataCSV(b.rows)},
		document{verify.BundleCheckpointPath, b.proofs.Note},
		document{verify.BundleKeyPath, []byte(b.proofs.VerifierKey + "\n")},
	)
	rep := b.report()
	html, err := rep.html()
	if err != nil {
		return nil, err
	}
	docs = append(docs,
		document{"report.html", html},
		document{"report.pdf", rep.pdf()},
		document{"README.txt", rep.readme()},
	)
	return docs, nil
}

func nonNil(h [][]byte) [][]byte {
	if h == nil {
		return [][]byte{}
	}
	return h
}
