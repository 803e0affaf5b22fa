package export_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/export"
	"github.com/custody-dev/custody/verify"
	"golang.org/x/mod/sumdb/note"
)

const caseID = "UA-2026-001"

// fixture is a store with a case of four items: a photo handed over twice,
// a video with a Ukrainian name, a physical item without a file, and an
// item of another case.
type fixture struct {
	*store
	inv                    *custody.User
	photo, video, physical *custody.Item
	other                  *custody.Item
}

func newFixture(t testing.TB) *fixture {
	s := newStore(t)
	f := &fixture{store: s, inv: s.user("o.kovalenko", custody.RoleInvestigator)}
	f.photo = s.file(f.inv, caseID, "IMG_0412.jpg", "\xff\xd8\xff\xe0 a photo of the crater")
	f.video = s.file(f.inv, caseID, "Відео з місця.mp4", strings.Repeat("video bytes ", 5000))
	f.physical = s.intake(f.inv, custody.IntakeRequest{Kind: custody.KindPhysical, Case: caseID, Collector: "o.kovalenko",
		Seal: "SEAL-0042", Location: "Kit box 2", Description: "Rope fragment\nfound at the north wall"})
	f.other = s.file(f.inv, "UA-2026-002", "other.txt", "another case")
	s.handover(f.inv, f.photo.ID, "Forensic lab, Kharkiv", "examination")
	s.handover(f.inv, f.photo.ID, "Prosecutor's office", "for the trial")
	return f
}

func (f *fixture) export(t testing.TB, out string, opts export.Options) *export.Result {
	t.Helper()
	if opts.Case == "" && opts.Items == nil {
		opts.Case = caseID
	}
	opts.Out, opts.Actor = out, f.admin
	res, err := export.Export(context.Background(), f.svc, opts)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	return res
}

func verifyDir(t testing.TB, dir string, opts *verify.BundleOptions) *verify.BundleReport {
	t.Helper()
	rep, err := verify.VerifyBundle(os.DirFS(dir), opts)
	if err != nil {
		t.Fatalf("VerifyBundle: %v", err)
	}
	return rep
}

func verifyZip(t testing.TB, path string, opts *verify.BundleOptions) *verify.BundleReport {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	fsys, err := verify.OpenBundleZip(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := verify.VerifyBundle(fsys, opts)
	if err != nil {
		t.Fatalf("VerifyBundle: %v", err)
	}
	return rep
}

func wantOK(t testing.TB, rep *verify.BundleReport) {
	t.Helper()
	if !rep.OK() {
		var b strings.Builder
		rep.WriteText(&b)
		t.Fatalf("the bundle does not verify:\n%s", b.String())
	}
}

func TestExportAndVerify(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	before, _ := f.svc.DB().LogSize(ctx)
	dir := filepath.Join(t.TempDir(), "bundle")
	var phases []int64
	res := f.export(t, dir, export.Options{Progress: func(phase string, done, total int64) {
		if phase != "export" || done > total {
			t.Errorf("progress %s %d/%d", phase, done, total)
		}
		phases = append(phases, done)
	}})
	if res.Items != 3 || res.Files != 2 || res.Case != caseID || res.Withheld != 0 {
		t.Errorf("result %+v", res)
	}
	if len(phases) == 0 || phases[len(phases)-1] != res.Bytes {
		t.Errorf("progress ended at %v, want %d", phases, res.Bytes)
	}
	// The export is a custody event: one access entry per item.
	after, _ := f.svc.DB().LogSize(ctx)
	if after != before+3 {
		t.Errorf("log grew by %d entries, want 3", after-before)
	}
	hist, err := f.svc.History(ctx, custody.SystemActor, f.photo.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := hist[len(hist)-1]
	if last.Type != "export" || !strings.Contains(last.Reason, "court bundle "+res.Export) || !strings.Contains(last.Reason, "holder at export: Prosecutor's office") {
		t.Errorf("last event %+v", last)
	}
	if res.Batch != verify.FormatBatch(before) {
		t.Errorf("batch %s, want the first export entry's index %d", res.Batch, before)
	}

	rep := verifyDir(t, dir, nil)
	wantOK(t, rep)
	if rep.Items != 3 || rep.Entries != 1+4+2+2 || rep.KeyPinned {
		t.Errorf("report %+v", rep)
	}
	wantOK(t, verifyDir(t, dir, &verify.BundleOptions{Key: f.vkey, Workers: 1}))

	// The metadata.
	var meta verify.BundleMetadata
	readJSON(t, dir, verify.BundleMetadataPath, &meta)
	prefix := caseID + "-" + res.Batch + "-"
	want := []struct{ regno, item, title, typ, file, date string }{
		{prefix + "0001", f.photo.ID, "IMG_0412.jpg", "image/jpeg", "files/" + prefix + "0001-IMG_0412.jpg", "2022-09-16"},
		{prefix + "0002", f.video.ID, "Відео з місця.mp4", f.video.MediaType, "files/" + prefix + "0002-Video_z_mistsia.mp4", "2022-09-16"},
		{prefix + "0003", f.physical.ID, "Rope fragment", "physical", "", f.physical.IngestedAt[:10]},
	}
	if len(meta.Items) != len(want) {
		t.Fatalf("%d rows, want %d", len(meta.Items), len(want))
	}
	for i, w := range want {
		r := meta.Items[i]
		if r.RegNo != w.regno || r.Item != w.item || r.Title != w.title || r.Type != w.typ || r.File != w.file || r.Date != w.date ||
			r.Author != "o.kovalenko" || r.Confidentiality != "confidential" || !strings.Contains(r.Source, "Mobile group 7") {
			t.Errorf("row %d = %+v", i, r)
		}
	}
	if meta.Items[0].SHA256 != f.photo.Blob.Hex() || meta.Items[0].Size != f.photo.Size {
		t.Errorf("photo row %+v, item %+v", meta.Items[0], f.photo)
	}
	// The chain of custody.
	var cust verify.BundleCustody
	readJSON(t, dir, verify.BundleCustodyPath, &cust)
	var types []string
	for _, ev := range cust.Items[0].Events {
		types = append(types, ev.Type)
	}
	if !slices.Equal(types, []string{"intake", "handover", "handover", "export"}) || cust.Items[0].Holder != "Prosecutor's office" {
		t.Errorf("photo chain %v, holder %q", types, cust.Items[0].Holder)
	}
	// The files are the originals.
	got, err := os.ReadFile(filepath.Join(dir, want[0].file))
	if err != nil || string(got) != "\xff\xd8\xff\xe0 a photo of the crater" {
		t.Errorf("photo file %q, %v", got, err)
	}
	// sha256sum accepts SHA256SUMS.
	if _, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command("sha256sum", "-c", "--strict", "SHA256SUMS")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, out)
		}
	}
	// The reports.
	for _, name := range []string{"report.html", "report.pdf", "README.txt"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	html, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	for _, s := range []string{prefix + "0002", "Відео з місця.mp4", "handover o.kovalenko → Forensic lab, Kharkiv: examination", "Prosecutor&#39;s office"} {
		if !bytes.Contains(html, []byte(s)) {
			t.Errorf("report.html lacks %q", s)
		}
	}
	checkPDF(t, filepath.Join(dir, "report.pdf"), []string{"Court bundle", prefix + "0001", "Video z mistsia.mp4", "handover o.kovalenko -> Forensic lab"})
	// Nothing is left beside the bundle.
	ents, _ := os.ReadDir(filepath.Dir(dir))
	if len(ents) != 1 {
		t.Errorf("the output directory holds %d entries, want the bundle only", len(ents))
	}
}

func TestExportZip(t *testing.T) {
	f := newFixture(t)
	path := filepath.Join(t.TempDir(), "bundle.zip")
	f.export(t, path, export.Options{Items: []string{f.video.ID, f.photo.ID}})
	rep := verifyZip(t, path, &verify.BundleOptions{Key: f.vkey})
	wantOK(t, rep)
	if rep.Items != 2 || rep.Files < 12 {
		t.Errorf("report %+v", rep)
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, zf := range zr.File {
		if zf.Method != zip.Store {
			t.Errorf("%s: method %d, want Store", zf.Name, zf.Method)
		}
	}
	// Unzipped, it is the same bundle.
	dir := t.TempDir()
	for _, zf := range zr.File {
		rc, _ := zf.Open()
		data, _ := io.ReadAll(rc)
		rc.Close()
		p := filepath.Join(dir, filepath.FromSlash(zf.Name))
		os.MkdirAll(filepath.Dir(p), 0o700)
		os.WriteFile(p, data, 0o600)
	}
	wantOK(t, verifyDir(t, dir, nil))
}

func TestExportRefuses(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		opts export.Options
		code string
	}{
		{"no selection", export.Options{Out: filepath.Join(dir, "a")}, custody.EINVALID},
		{"no output", export.Options{Case: caseID}, custody.EINVALID},
		{"existing output", export.Options{Case: caseID, Out: dir}, custody.ECONFLICT},
		{"no such directory", export.Options{Case: caseID, Out: filepath.Join(dir, "none", "b.zip")}, custody.EINVALID},
		{"empty case", export.Options{Case: "nope", Out: filepath.Join(dir, "b")}, custody.ENOTFOUND},
		{"unknown item", export.Options{Items: []string{"0192f000-0000-7000-8000-00000000dead"}, Out: filepath.Join(dir, "c")}, custody.ENOTFOUND},
		{"item of another case", export.Options{Case: caseID, Items: []string{f.other.ID}, Out: filepath.Join(dir, "d")}, custody.EINVALID},
		{"mixed cases unlabelled", export.Options{Items: []string{f.other.ID, f.photo.ID}, Out: filepath.Join(dir, "e")}, custody.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Actor = f.admin
			_, err := export.Export(ctx, f.svc, tc.opts)
			if got := custody.ErrorCode(err); got != tc.code {
				t.Errorf("error %v (code %q), want %q", err, got, tc.code)
			}
		})
	}
	// A tampered blob aborts the export and leaves nothing behind.
	if err := os.WriteFile(f.blobs.Path(f.video.Blob), []byte("not the video"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "tampered.zip")
	_, err := export.Export(ctx, f.svc, export.Options{Case: caseID, Out: out, Actor: f.admin})
	if custody.ErrorCode(err) != custody.ETAMPERED {
		t.Errorf("export of a tampered blob: %v", err)
	}
	if ents, _ := filepath.Glob(out + "*"); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}

func TestWitnessProtection(t *testing.T) {
	f := newFixture(t)
	const name, latin = "Олена Петренко", "Olena Petrenko"
	witness := f.record(f.inv, custody.KindPerson, custody.Person{Roles: []string{"witness"}, Name: name, Protection: "high"})
	open := f.record(f.inv, custody.KindPerson, custody.Person{Roles: []string{"witness"}, Name: "Ivan Shevchenko", Protection: "none"})
	rec := f.intake(f.inv, custody.IntakeRequest{Name: "interview.m4a", Case: caseID, Collector: "o.kovalenko",
		Description: "Interview with " + latin + " about the strike; she was with ivan shevchenko", Content: strings.NewReader("audio")})
	f.handover(f.inv, rec.ID, "Custody of "+name, "kept by the witness")
	f.record(f.inv, custody.KindTestimony, custody.Testimony{Witness: witness.ID, Interviewer: "o.kovalenko", Date: "2022-09-20",
		Language: "uk", Consent: custody.Consent{Given: true, Scope: []string{"international_court"}}, Recordings: []string{rec.ID}})
	other := f.intake(f.inv, custody.IntakeRequest{Name: "note.txt", Case: caseID, Content: strings.NewReader("note")})
	f.record(f.inv, custody.KindTestimony, custody.Testimony{Witness: open.ID, Interviewer: "o.kovalenko", Date: "2022-09-21",
		Language: "en", Consent: custody.Consent{Given: true}, Recordings: []string{other.ID}})

	dir := filepath.Join(t.TempDir(), "bundle")
	res := f.export(t, dir, export.Options{})
	if res.Withheld != 2 || res.Pseudonyms != 1 {
		t.Errorf("result %+v, want 2 withheld payloads and 1 pseudonym", res)
	}
	rep := verifyDir(t, dir, nil)
	wantOK(t, rep)
	if rep.Withheld != 2 || !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, "withheld for witness protection") }) {
		t.Errorf("report %+v", rep)
	}
	// The protected name appears nowhere, in any spelling or case.
	walk(t, dir, func(p string, data []byte) {
		for _, s := range []string{name, latin, strings.ToLower(latin), witness.ID} {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s contains %q", p, s)
			}
		}
	})
	var red verify.BundleRedactions
	readJSON(t, dir, verify.BundleRedactionsPath, &red)
	if len(red.Pseudonyms) != 1 || !regexp.MustCompile(`^Witness W-[0-9a-f]{6}$`).MatchString(red.Pseudonyms[0].Pseudonym) || len(red.Withheld) != 2 {
		t.Fatalf("redactions %+v", red)
	}
	ps := red.Pseudonyms[0].Pseudonym
	var meta verify.BundleMetadata
	readJSON(t, dir, verify.BundleMetadataPath, &meta)
	var recRow, otherRow verify.BundleItem
	for _, r := range meta.Items {
		switch r.Item {
		case rec.ID:
			recRow = r
		case other.ID:
			otherRow = r
		}
	}
	if recRow.Author != ps || recRow.Language != "uk" || !recRow.Redacted || !strings.Contains(recRow.Title, ps) {
		t.Errorf("recording row %+v", recRow)
	}
	if otherRow.Author != "Ivan Shevchenko" || otherRow.Language != "en" || otherRow.Redacted {
		t.Errorf("unprotected witness's row %+v", otherRow)
	}
	// An unprotected witness's name stays.
	if !strings.Contains(recRow.Title, "ivan shevchenko") {
		t.Errorf("title %q lost the unprotected name", recRow.Title)
	}
	// The pseudonym is stable across exports.
	dir2 := filepath.Join(t.TempDir(), "again")
	f.export(t, dir2, export.Options{Items: []string{rec.ID}})
	var red2 verify.BundleRedactions
	readJSON(t, dir2, verify.BundleRedactionsPath, &red2)
	if len(red2.Pseudonyms) != 1 || red2.Pseudonyms[0].Pseudonym != ps {
		t.Errorf("second export's pseudonyms %+v, want %s", red2.Pseudonyms, ps)
	}
	// The export's access entry lists the withheld entries.
	hist, _ := f.svc.History(context.Background(), custody.SystemActor, rec.ID)
	reason := hist[len(hist)-1].Reason
	if !strings.Contains(reason, "payloads withheld for witness protection: #") || !strings.Contains(reason, "holder at export: Custody of "+ps) {
		t.Errorf("export reason %q", reason)
	}

	// Unmarking a withheld payload, or withholding another, is caught.
	t.Run("withheld flag removed", func(t *testing.T) {
		d := copyDir(t, dir)
		editEntries(t, d, func(e *verify.BundleEntries) {
			for i := range e.Entries {
				e.Entries[i].Withheld = nil
			}
		})
		resum(t, d)
		wantProblem(t, verifyDir(t, d, nil), "payload", "hash")
	})
	t.Run("payload forged as withheld", func(t *testing.T) {
		d := copyDir(t, dir)
		editEntries(t, d, func(e *verify.BundleEntries) {
			for i := range e.Entries {
				if strings.Contains(e.Entries[i].Payload, `"to":"Forensic lab, Kharkiv"`) {
					e.Entries[i].Payload = strings.Replace(e.Entries[i].Payload, "Forensic lab, Kharkiv", "Someone else", 1)
					e.Entries[i].Withheld = []string{"to"}
				}
			}
		})
		resum(t, d)
		wantProblem(t, verifyDir(t, d, nil), "custody", "export's access entry does not match")
	})
}

// TestTamper changes a bundle in every way we could think of; each change
// must be caught with a precise message.
func TestTamper(t *testing.T) {
	f := newFixture(t)
	base := filepath.Join(t.TempDir(), "bundle")
	f.export(t, base, export.Options{})
	wantOK(t, verifyDir(t, base, nil))
	var meta verify.BundleMetadata
	readJSON(t, base, verify.BundleMetadataPath, &meta)
	photo, video := meta.Items[0], meta.Items[1]

	// A second store, for a proof from another log.
	g := newFixture(t)
	gdir := filepath.Join(t.TempDir(), "other")
	g.export(t, gdir, export.Options{})
	var gents verify.BundleEntries
	var gproofs verify.BundleProofs
	readJSON(t, gdir, verify.BundleEntriesPath, &gents)
	readJSON(t, gdir, verify.BundleProofsPath, &gproofs)

	otherSigner := func(name string) note.Signer {
		skey, _, err := note.GenerateKey(rand.Reader, name)
		if err != nil {
			t.Fatal(err)
		}
		s, err := note.NewSigner(skey)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	realSigner, err := note.NewSigner(f.skey)
	if err != nil {
		t.Fatal(err)
	}
	resign := func(d string, signer note.Signer, edit func(*verify.Checkpoint)) {
		raw, _ := os.ReadFile(filepath.Join(d, verify.BundleCheckpointPath))
		cp, err := verify.OpenCheckpoint(raw, f.vkey)
		if err != nil {
			t.Fatal(err)
		}
		edit(&cp)
		msg, err := note.Sign(&note.Note{Text: string(cp.Marshal())}, signer)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, verify.BundleCheckpointPath), msg, 0o600)
	}

	for _, tc := range []struct {
		name         string
		tamper       func(d string)
		opts         *verify.BundleOptions
		check, words string
	}{
		{"a changed byte in a file", func(d string) { flipByte(t, filepath.Join(d, photo.File), 3) },
			nil, "file", "not the one SHA256SUMS lists"},
		{"a changed byte, SHA256SUMS recomputed", func(d string) { flipByte(t, filepath.Join(d, photo.File), 3); resum(t, d) },
			nil, "file", "not the one the log recorded at intake"},
		{"a changed byte, SHA256SUMS and metadata recomputed", func(d string) {
			flipByte(t, filepath.Join(d, photo.File), 3)
			sum := fileSum(t, filepath.Join(d, photo.File))
			editMetadata(t, d, func(m *verify.BundleMetadata) { m.Items[0].SHA256 = sum })
			resum(t, d)
		}, nil, "metadata", "sha256 differs from the intake entry"},
		{"two files swapped", func(d string) {
			a, b := filepath.Join(d, photo.File), filepath.Join(d, video.File)
			tmp := a + ".tmp"
			os.Rename(a, tmp)
			os.Rename(b, a)
			os.Rename(tmp, b)
		}, nil, "file", "SHA-256 differs from the metadata"},
		{"an item's file removed", func(d string) { os.Remove(filepath.Join(d, video.File)) },
			nil, "file", "the item's file is missing from the bundle"},
		{"an item removed entirely, everything recomputed", func(d string) {
			os.Remove(filepath.Join(d, video.File))
			editMetadata(t, d, func(m *verify.BundleMetadata) { m.Items = slices.Delete(m.Items, 1, 2) })
			editManifest(t, d, func(m *verify.BundleManifest) { m.Items-- })
			dropItemEntries(t, d, video.Item)
			resum(t, d)
		}, nil, "custody", "export's access entry does not match this bundle"},
		{"a metadata.csv row edited: registration number", func(d string) {
			editFile(t, filepath.Join(d, verify.BundleMetadataCSVPath), photo.RegNo+",", strings.Replace(photo.RegNo, "0001", "0009", 1)+",")
			resum(t, d)
		}, nil, "metadata", "row 2 differs from metadata.json"},
		{"a metadata.csv row edited: sha256", func(d string) {
			editFile(t, filepath.Join(d, verify.BundleMetadataCSVPath), photo.SHA256, strings.Repeat("0", 64))
			resum(t, d)
		}, nil, "metadata", "row 2 differs from metadata.json"},
		{"metadata.json edited: title", func(d string) {
			editMetadata(t, d, func(m *verify.BundleMetadata) { m.Items[1].Title = "Another video" })
			resum(t, d)
		}, nil, "metadata", "title differs from the intake entry"},
		{"metadata.json and .csv edited alike: size", func(d string) {
			editMetadata(t, d, func(m *verify.BundleMetadata) { m.Items[0].Size++ })
			resum(t, d)
		}, nil, "metadata", "size differs from the intake entry"},
		{"SHA256SUMS edited", func(d string) {
			editFile(t, filepath.Join(d, verify.BundleSumsPath), video.SHA256, strings.Repeat("a", 64))
		}, nil, "file", "not the one SHA256SUMS lists"},
		{"SHA256SUMS missing a line", func(d string) {
			editFile(t, filepath.Join(d, verify.BundleSumsPath), video.SHA256+"  "+video.File+"\n", "")
		}, nil, "sums", "not listed in SHA256SUMS"},
		{"an entry's payload edited", func(d string) {
			editEntries(t, d, func(e *verify.BundleEntries) {
				for i := range e.Entries {
					e.Entries[i].Payload = strings.Replace(e.Entries[i].Payload, `"reason":"examination"`, `"reason":"destroyed"`, 1)
				}
			})
			resum(t, d)
		}, nil, "payload", "hash sha256-"},
		{"an envelope edited", func(d string) {
			editEntries(t, d, func(e *verify.BundleEntries) {
				e.Entries[2].Entry = strings.Replace(e.Entries[2].Entry, `"time":"2026-`, `"time":"2025-`, 1)
			})
			resum(t, d)
		}, nil, "proof", "leaf hash is not the hash of the entry"},
		{"an envelope edited, its leaf hash recomputed", func(d string) {
			var idx uint64
			editEntries(t, d, func(e *verify.BundleEntries) {
				e.Entries[3].Entry = strings.Replace(e.Entries[3].Entry, `"actor":"`, `"actor":"x`, 1)
				idx = e.Entries[3].Index
			})
			editProofs(t, d, func(p *verify.BundleProofs) {
				for i := range p.Proofs {
					if p.Proofs[i].Index == idx {
						var e verify.BundleEntries
						readJSON(t, d, verify.BundleEntriesPath, &e)
						p.Proofs[i].LeafHash = verify.LeafHash([]byte(e.Entries[3].Entry))
					}
				}
			})
			resum(t, d)
		}, nil, "proof", "not in the log the checkpoint signs"},
		{"a proof hash flipped", func(d string) {
			editProofs(t, d, func(p *verify.BundleProofs) { p.Proofs[4].Hashes[0][7] ^= 1 })
			resum(t, d)
		}, nil, "proof", "not in the log the checkpoint signs"},
		{"a checkpoint signed by another key", func(d string) {
			resign(d, otherSigner(f.origin), func(*verify.Checkpoint) {})
			resum(t, d)
		}, nil, "checkpoint", "bad signature"},
		{"a checkpoint and key both replaced, the key pinned", func(d string) {
			skey, vkey, _ := note.GenerateKey(rand.Reader, f.origin)
			s, _ := note.NewSigner(skey)
			resign(d, s, func(*verify.Checkpoint) {})
			os.WriteFile(filepath.Join(d, verify.BundleKeyPath), []byte(vkey+"\n"), 0o600)
			resum(t, d)
		}, &verify.BundleOptions{Key: f.vkey}, "checkpoint", "not the expected key"},
		{"a checkpoint and key both replaced, not pinned", func(d string) {
			skey, vkey, _ := note.GenerateKey(rand.Reader, f.origin)
			s, _ := note.NewSigner(skey)
			resign(d, s, func(*verify.Checkpoint) {})
			os.WriteFile(filepath.Join(d, verify.BundleKeyPath), []byte(vkey+"\n"), 0o600)
			resum(t, d)
		}, nil, "entry", "created with another verifier key"},
		{"a checkpoint with a different root", func(d string) {
			resign(d, realSigner, func(c *verify.Checkpoint) { c.Root = bytes.Repeat([]byte{7}, 32) })
			resum(t, d)
		}, nil, "proof", "against another tree"},
		{"a checkpoint of a larger tree", func(d string) {
			resign(d, realSigner, func(c *verify.Checkpoint) { c.Size++ })
			resum(t, d)
		}, nil, "proof", "not in the log the checkpoint signs"},
		{"a proof from another log", func(d string) {
			// Replace the photo's intake entry and proof by the other store's.
			editEntries(t, d, func(e *verify.BundleEntries) {
				for i := range e.Entries {
					if e.Entries[i].Index == photo.LogIndex {
						e.Entries[i] = gents.Entries[i]
					}
				}
			})
			editProofs(t, d, func(p *verify.BundleProofs) {
				for i := range p.Proofs {
					if p.Proofs[i].Index == photo.LogIndex {
						p.Proofs[i] = gproofs.Proofs[i]
					}
				}
			})
			resum(t, d)
		}, nil, "proof", "not in the log the checkpoint signs"},
		{"a handover removed from the chain", func(d string) {
			var first uint64
			var cust verify.BundleCustody
			readJSON(t, d, verify.BundleCustodyPath, &cust)
			for _, ev := range cust.Items[0].Events {
				if ev.Type == "handover" {
					first = ev.Index
					break
				}
			}
			dropEntry(t, d, first)
			resum(t, d)
		}, nil, "custody", "broken chain of custody"},
		{"the last handover removed from the chain", func(d string) {
			var last uint64
			var cust verify.BundleCustody
			readJSON(t, d, verify.BundleCustodyPath, &cust)
			for _, ev := range cust.Items[0].Events {
				if ev.Type == "handover" {
					last = ev.Index
				}
			}
			dropEntry(t, d, last)
			resum(t, d)
		}, nil, "custody", "export's access entry does not match"},
		{"custody.json edited", func(d string) {
			editFile(t, filepath.Join(d, verify.BundleCustodyPath), `"reason": "examination"`, `"reason": "lost"`)
			resum(t, d)
		}, nil, "custody", "differs from the one the log entries give"},
		{"the batch edited", func(d string) {
			editManifest(t, d, func(m *verify.BundleManifest) { m.Batch = "9999" })
			resum(t, d)
		}, nil, "metadata", "case or batch differs from bundle.json"},
		{"an extra unlisted file", func(d string) {
			os.WriteFile(filepath.Join(d, "files", "confession.pdf"), []byte("%PDF"), 0o600)
		}, nil, "sums", "files/confession.pdf"},
		{"an extra file listed in SHA256SUMS", func(d string) {
			os.WriteFile(filepath.Join(d, "files", "confession.pdf"), []byte("%PDF"), 0o600)
			resum(t, d)
		}, nil, "layout", "neither a bundle document nor an item's file"},
		{"a document removed", func(d string) { os.Remove(filepath.Join(d, verify.BundleProofsPath)); resum(t, d) },
			nil, "layout", "log/proofs.json: missing"},
		{"the manifest's format changed", func(d string) {
			editFile(t, filepath.Join(d, verify.BundleManifestPath), verify.BundleFormat, "zip")
			resum(t, d)
		}, nil, "manifest", "format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := copyDir(t, base)
			tc.tamper(d)
			wantProblem(t, verifyDir(t, d, tc.opts), tc.check, tc.words)
		})
	}
}

func TestTamperZip(t *testing.T) {
	f := newFixture(t)
	path := filepath.Join(t.TempDir(), "b.zip")
	f.export(t, path, export.Options{})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A byte changed inside a stored file: zip's CRC and our hashes both
	// see it; the verifier reports the file.
	var meta verify.BundleMetadata
	readJSON(t, unzip(t, data), verify.BundleMetadataPath, &meta)
	i := bytes.Index(data, []byte("a photo of the crater"))
	if i < 0 {
		t.Fatal("photo not found in the zip")
	}
	bad := bytes.Clone(data)
	bad[i] ^= 1
	wantProblem(t, verifyZipBytes(t, bad), "file", meta.Items[0].File)

	// A second entry of the same name.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zr, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	for _, zf := range zr.File {
		zw.Copy(zf)
	}
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: meta.Items[0].File, Method: zip.Store})
	w.Write([]byte("forged"))
	zw.Close()
	wantProblem(t, verifyZipBytes(t, buf.Bytes()), "layout", "two files of this name")
}

func verifyZipBytes(t *testing.T, data []byte) *verify.BundleReport {
	t.Helper()
	fsys, err := verify.OpenBundleZip(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := verify.VerifyBundle(fsys, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func unzip(t *testing.T, data []byte) string {
	t.Helper()
	dir := t.TempDir()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, zf := range zr.File {
		rc, _ := zf.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		p := filepath.Join(dir, filepath.FromSlash(zf.Name))
		os.MkdirAll(filepath.Dir(p), 0o700)
		os.WriteFile(p, b, 0o600)
	}
	return dir
}

func wantProblem(t *testing.T, rep *verify.BundleReport, check, words string) {
	t.Helper()
	if rep.OK() {
		t.Fatalf("the tampered bundle verifies")
	}
	for _, p := range rep.Problems {
		if p.Check == check && strings.Contains(p.String()+" "+p.Expected+" "+p.Found, words) {
			t.Logf("caught (%d problems), e.g.: %s", len(rep.Problems), p)
			return
		}
	}
	var b strings.Builder
	rep.WriteText(&b)
	t.Errorf("no [%s] problem mentioning %q; the report:\n%s", check, words, b.String())
}

// Helpers that tamper with a bundle directory.

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "b")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func walk(t *testing.T, dir string, fn func(p string, data []byte)) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := os.ReadFile(p)
			fn(p, data)
		}
		return nil
	})
}

func readJSON(t testing.TB, dir, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func writeJSON(t *testing.T, dir, name string, v any) {
	t.Helper()
	data, err := verify.MarshalBundleJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func editManifest(t *testing.T, d string, fn func(*verify.BundleManifest)) {
	var m verify.BundleManifest
	readJSON(t, d, verify.BundleManifestPath, &m)
	fn(&m)
	writeJSON(t, d, verify.BundleManifestPath, m)
}

// editMetadata edits metadata.json and writes metadata.csv to match.
func editMetadata(t *testing.T, d string, fn func(*verify.BundleMetadata)) {
	var m verify.BundleMetadata
	readJSON(t, d, verify.BundleMetadataPath, &m)
	fn(&m)
	writeJSON(t, d, verify.BundleMetadataPath, m)
	os.WriteFile(filepath.Join(d, verify.BundleMetadataCSVPath), verify.MarshalMetadataCSV(m.Items), 0o600)
}

func editEntries(t *testing.T, d string, fn func(*verify.BundleEntries)) {
	var e verify.BundleEntries
	readJSON(t, d, verify.BundleEntriesPath, &e)
	fn(&e)
	writeJSON(t, d, verify.BundleEntriesPath, e)
}

func editProofs(t *testing.T, d string, fn func(*verify.BundleProofs)) {
	var p verify.BundleProofs
	readJSON(t, d, verify.BundleProofsPath, &p)
	fn(&p)
	writeJSON(t, d, verify.BundleProofsPath, p)
}

// dropEntry removes an entry, its proof and its event in custody.json.
func dropEntry(t *testing.T, d string, idx uint64) {
	editEntries(t, d, func(e *verify.BundleEntries) {
		e.Entries = slices.DeleteFunc(e.Entries, func(x verify.BundleEntry) bool { return x.Index == idx })
	})
	editProofs(t, d, func(p *verify.BundleProofs) {
		p.Proofs = slices.DeleteFunc(p.Proofs, func(x verify.BundleProof) bool { return x.Index == idx })
	})
	var c verify.BundleCustody
	readJSON(t, d, verify.BundleCustodyPath, &c)
	for i := range c.Items {
		c.Items[i].Events = slices.DeleteFunc(c.Items[i].Events, func(x verify.BundleEvent) bool { return x.Index == idx })
	}
	writeJSON(t, d, verify.BundleCustodyPath, c)
}

// dropItemEntries removes every entry about an item, and its chain.
func dropItemEntries(t *testing.T, d, item string) {
	var e verify.BundleEntries
	readJSON(t, d, verify.BundleEntriesPath, &e)
	for _, x := range e.Entries {
		if strings.Contains(x.Entry, `"subject":"`+item+`"`) {
			dropEntry(t, d, x.Index)
		}
	}
	var c verify.BundleCustody
	readJSON(t, d, verify.BundleCustodyPath, &c)
	c.Items = slices.DeleteFunc(c.Items, func(x verify.BundleChain) bool { return x.Item == item })
	writeJSON(t, d, verify.BundleCustodyPath, c)
}

func editFile(t *testing.T, p, old, new string) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s does not contain %q", p, old)
	}
	os.WriteFile(p, bytes.Replace(data, []byte(old), []byte(new), 1), 0o600)
}

func flipByte(t *testing.T, p string, at int) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[at] ^= 0x20
	os.WriteFile(p, data, 0o600)
}

func fileSum(t *testing.T, p string) string {
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// resum rewrites SHA256SUMS to match the files, as a careful forger would.
func resum(t *testing.T, d string) {
	t.Helper()
	var lines []verify.SumLine
	walk(t, d, func(p string, data []byte) {
		rel, _ := filepath.Rel(d, p)
		rel = filepath.ToSlash(rel)
		if rel == verify.BundleSumsPath {
			return
		}
		s := sha256.Sum256(data)
		lines = append(lines, verify.SumLine{SHA256: hex.EncodeToString(s[:]), Path: rel})
	})
	os.WriteFile(filepath.Join(d, verify.BundleSumsPath), verify.MarshalSums(lines), 0o600)
}

// checkPDF checks the structure of a PDF (header, every xref offset at its
// object, trailer) and that its pages show the given texts.
func checkPDF(t *testing.T, path string, texts []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(data, []byte("%%EOF\n")) {
		t.Fatalf("not a PDF: %q...", data[:min(20, len(data))])
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n`).FindSubmatch(data)
	if m == nil {
		t.Fatal("no startxref")
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(data[xref:], []byte("xref\n0 ")) {
		t.Fatalf("startxref %d does not point at the xref table", xref)
	}
	lines := strings.Split(string(data[xref:]), "\n")
	n, _ := strconv.Atoi(strings.Fields(lines[1])[1])
	for i := 1; i < n; i++ {
		off, _ := strconv.Atoi(lines[2+i][:10])
		if want := strconv.Itoa(i) + " 0 obj"; !bytes.HasPrefix(data[off:], []byte(want)) {
			t.Errorf("xref entry %d at %d does not point at %q", i, off, want)
		}
	}
	// The page text, inflated.
	var text bytes.Buffer
	for _, loc := range regexp.MustCompile(`(?s)stream\n(.*?)\nendstream`).FindAllSubmatch(data, -1) {
		text.Write(inflate(t, loc[1]))
	}
	for _, s := range texts {
		if !bytes.Contains(text.Bytes(), []byte(s)) {
			t.Errorf("the PDF does not show %q", s)
		}
	}
}
