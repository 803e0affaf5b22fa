package verify

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
	"golang.org/x/mod/sumdb/note"
)

// testBundle builds a small bundle by hand, without the server: a log of
// five entries (store.init, user.add, item.add, a handover, the export's
// access entry), one item with its file. It is what the tests and fuzz
// targets of this package start from; internal/export tests bundles the
// server writes.
func testBundle(t testing.TB) (fstest.MapFS, string) {
	t.Helper()
	const store, origin = "0192f000-0000-7000-8000-000000000001", "custody.test/0192f000-0000-7000-8000-000000000001"
	const item, export, caseID = "0192f000-0000-7000-8000-0000000000aa", "0192f000-0000-7000-8000-0000000000ee", "UA-1"
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	file := []byte("a photo of the crater")
	sum := sha256.Sum256(file)
	payloads := []any{
		map[string]any{"nonce": "n0", "store_id": store, "origin": origin, "verify_key": vkey},
		map[string]any{"nonce": "n1", "id": "u1", "name": "admin", "role": "admin"},
		map[string]any{"nonce": "n2", "item": map[string]any{"id": item, "kind": "digital", "blob": "sha256-" + hex.EncodeToString(sum[:]),
			"size": len(file), "media_type": "image/jpeg", "name": "IMG_1.jpg", "case": caseID, "collector": "o.k",
			"collected_at": "2022-09-16T10:04:00+03:00", "ingested_by": "u1", "ingested_at": "2026-03-01T09:00:00.000000000Z", "store": store}},
		map[string]any{"nonce": "n3", "item": item, "from": "o.k", "to": "lab", "reason": "examination"},
		map[string]any{"nonce": "n4", "item": item, "action": ExportAction, "reason": ExportReason(export, caseID, 1, "lab", nil)},
	}
	types := []string{"store.init", "user.add", "item.add", "custody.handover", "custody.access"}
	subjects := []string{store, "u1", item, item, item}
	tree := testonly.New(rfc6962.DefaultHasher)
	var leaves, raw [][]byte
	for i, p := range payloads {
		pb, err := Canonical(p)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := Canonical(Entry{V: 1, ID: "e" + string(rune('0'+i)), Type: types[i], Store: store, Actor: "u1",
			Time: "2026-03-01T09:00:0" + string(rune('0'+i)) + ".000000000Z", Subject: subjects[i], Payload: ContentRef(pb)})
		if err != nil {
			t.Fatal(err)
		}
		tree.AppendData(leaf)
		leaves, raw = append(leaves, leaf), append(raw, pb)
	}
	cp := Checkpoint{Origin: origin, Size: tree.Size(), Root: tree.Hash()}
	signed, err := note.Sign(&note.Note{Text: string(cp.Marshal())}, signer)
	if err != nil {
		t.Fatal(err)
	}
	batch := FormatBatch(4)
	regno := RegNo(caseID, batch, 1)
	var ents BundleEntries
	proofs := BundleProofs{TreeSize: cp.Size, Root: cp.Root}
	var chain []BundleEvent
	for _, i := range []int{0, 2, 3, 4} {
		ents.Entries = append(ents.Entries, BundleEntry{Index: uint64(i), Entry: string(leaves[i]), Payload: string(raw[i])})
		hashes, err := tree.InclusionProof(uint64(i), cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		proofs.Proofs = append(proofs.Proofs, BundleProof{Index: uint64(i), LeafHash: LeafHash(leaves[i]), Hashes: hashes})
		if i > 0 {
			e, _ := ParseEntry(leaves[i])
			ev, err := ChainEvent(uint64(i), e, raw[i])
			if err != nil {
				t.Fatal(err)
			}
			chain = append(chain, ev)
		}
	}
	facts, err := ParseItemFacts(raw[2])
	if err != nil {
		t.Fatal(err)
	}
	rows := []BundleItem{{RegNo: regno, Item: item, Title: facts.Title, Date: facts.Date, Type: facts.Type, Author: "o.k",
		Source: "test", Confidentiality: "public", Size: facts.Size, SHA256: facts.SHA256, File: BundleFilesDir + regno + "-IMG_1.jpg", LogIndex: 2}}
	docs := map[string]any{
		BundleManifestPath: BundleManifest{Format: BundleFormat, Version: BundleVersion, Export: export, Case: caseID, Batch: batch,
			Created: "2026-03-01T10:00:00.000000000Z", Store: store, Origin: origin, ExportedBy: "u1", Items: 1, TreeSize: cp.Size},
		BundleMetadataPath:   BundleMetadata{Case: caseID, Batch: batch, Items: rows},
		BundleCustodyPath:    BundleCustody{Items: []BundleChain{{RegNo: regno, Item: item, Holder: "lab", Events: chain}}},
		BundleRedactionsPath: BundleRedactions{Policy: "test", Pseudonyms: []BundlePseudonym{}, Withheld: []BundleWithheld{}},
		BundleEntriesPath:    ents,
		BundleProofsPath:     proofs,
	}
	fsys := fstest.MapFS{}
	for name, v := range docs {
		data, err := MarshalBundleJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		fsys[name] = &fstest.MapFile{Data: data}
	}
	fsys[BundleMetadataCSVPath] = &fstest.MapFile{Data: MarshalMetadataCSV(rows)}
	fsys[BundleCheckpointPath] = &fstest.MapFile{Data: signed}
	fsys[BundleKeyPath] = &fstest.MapFile{Data: []byte(vkey + "\n")}
	fsys[rows[0].File] = &fstest.MapFile{Data: file}
	resum(fsys)
	return fsys, vkey
}

// resum rewrites SHA256SUMS for the files of fsys.
func resum(fsys fstest.MapFS) {
	var lines []SumLine
	for name, f := range fsys {
		if name != BundleSumsPath {
			s := sha256.Sum256(f.Data)
			lines = append(lines, SumLine{SHA256: hex.EncodeToString(s[:]), Path: name})
		}
	}
	fsys[BundleSumsPath] = &fstest.MapFile{Data: MarshalSums(lines)}
}

func mustVerify(t testing.TB, fsys fstest.MapFS, opts *BundleOptions) *BundleReport {
	t.Helper()
	rep, err := VerifyBundle(fsys, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestVerifyBundle(t *testing.T) {
	fsys, vkey := testBundle(t)
	var progress int64
	rep := mustVerify(t, fsys, &BundleOptions{Key: vkey, Progress: func(done, total int64) { progress = done }})
	if !rep.OK() {
		var b strings.Builder
		rep.WriteText(&b)
		t.Fatalf("the hand-made bundle does not verify:\n%s", b.String())
	}
	if rep.Entries != 4 || rep.Items != 1 || rep.Files != len(fsys)-1 || !rep.KeyPinned || progress != rep.Bytes {
		t.Errorf("report %+v, progress %d", rep, progress)
	}
	var out strings.Builder
	rep.WriteText(&out)
	if !strings.Contains(out.String(), "OK: the bundle is intact") {
		t.Errorf("text report:\n%s", out.String())
	}

	// As a zip.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, f := range fsys {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		w.Write(f.Data)
	}
	zw.Close()
	zfs, err := OpenBundleZip(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := VerifyBundle(zfs, &BundleOptions{Key: vkey}); err != nil || !rep.OK() {
		t.Errorf("zip: %v %+v", err, rep)
	}
	if _, err := OpenBundleZip(bytes.NewReader([]byte("PK not a zip")), 12); err == nil {
		t.Error("OpenBundleZip accepted garbage")
	}
}

func TestVerifyBundleTamper(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(fsys fstest.MapFS)
		check  string
	}{
		{"file byte", func(m fstest.MapFS) {
			for n, f := range m {
				if strings.HasPrefix(n, BundleFilesDir) {
					f.Data = append([]byte{'A'}, f.Data[1:]...)
				}
			}
			resum(m)
		}, "file"},
		{"empty bundle", func(m fstest.MapFS) {
			for n := range m {
				delete(m, n)
			}
		}, "layout"},
		{"checkpoint text", func(m fstest.MapFS) {
			m[BundleCheckpointPath].Data = bytes.Replace(m[BundleCheckpointPath].Data, []byte("\n5\n"), []byte("\n6\n"), 1)
			resum(m)
		}, "checkpoint"},
		{"garbage sums", func(m fstest.MapFS) { m[BundleSumsPath].Data = []byte("nonsense\n") }, "sums"},
		{"symlink-like entry", func(m fstest.MapFS) {
			m["files/link"] = &fstest.MapFile{Data: []byte("x"), Mode: 0o777 | fs.ModeSymlink}
		}, "layout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys, vkey := testBundle(t)
			tc.tamper(fsys)
			rep := mustVerify(t, fsys, &BundleOptions{Key: vkey})
			for _, p := range rep.Problems {
				if p.Check == tc.check {
					return
				}
			}
			t.Errorf("no %s problem: %v", tc.check, rep.Problems)
		})
	}
}

func TestParseSums(t *testing.T) {
	h := strings.Repeat("ab", 32)
	good := h + "  files/a b.jpg\n" + h + " *log/entries.json\n"
	got, err := ParseSums([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	want := []SumLine{{h, "files/a b.jpg"}, {h, "log/entries.json"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{
		"", h + "  a", h + "  a\n" + h + "  a\n", h + "  ../a\n", h + "  /a\n", strings.ToUpper(h) + "  a\n",
		h + " a\n", "\\" + h + "  a\n", h + "  SHA256SUMS\n", h + "  a\r\n", h[:63] + "  a\n", h + "  a/./b\n",
	} {
		if _, err := ParseSums([]byte(bad)); err == nil {
			t.Errorf("ParseSums(%q) accepted", bad)
		}
	}
}

func TestMetadataCSV(t *testing.T) {
	items := []BundleItem{
		{RegNo: "UA-1-0004-0001", Item: "i1", Title: "=HYPERLINK(\"http://x\")", Date: "2022-09-16", Type: "image/jpeg",
			Author: "Олена, \"О\"", Language: "uk", Source: "+s", Confidentiality: "@c", Size: 12, SHA256: "ab", File: "files/x",
			LogIndex: 2, Redacted: true},
		{RegNo: "UA-1-0004-0002", Item: "i2", Title: "'quoted", Author: "-minus", Source: "line\nbreak"},
	}
	data := MarshalMetadataCSV(items)
	if bytes.Contains(data, []byte(",=HYPERLINK")) || !bytes.Contains(data, []byte(`"'=HYPERLINK(""http://x"")"`)) {
		t.Errorf("formula not neutralised:\n%s", data)
	}
	got, err := ParseMetadataCSV(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(items, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "a,b\n", strings.Join(BundleCSVHeader, ",") + "\nx\n",
		strings.Join(BundleCSVHeader, ",") + "\n" + strings.Repeat("x,", 9) + "size,x,x,1,true\n"} {
		if _, err := ParseMetadataCSV([]byte(bad)); err == nil {
			t.Errorf("ParseMetadataCSV(%q) accepted", bad)
		}
	}
}

func TestRegNo(t *testing.T) {
	for _, tc := range []struct{ c, batch, want string }{
		{"12022220000000123", FormatBatch(42), "12022220000000123-0042-0007"},
		{"ICC-01/14-01/21", FormatBatch(123456), "ICC-01_14-01_21-123456-0007"},
		{"Справа 1", "0001", "_______1-0001-0007"},
	} {
		if got := RegNo(tc.c, tc.batch, 7); got != tc.want {
			t.Errorf("RegNo(%q) = %q, want %q", tc.c, got, tc.want)
		}
	}
	if got := ExportReason("E", "C", 3, "lab", []uint64{4, 9}); got != "court bundle E: case C, 3 items; holder at export: lab; payloads withheld for witness protection: #4, #9" {
		t.Errorf("ExportReason = %q", got)
	}
}

func TestChainEvent(t *testing.T) {
	e := Entry{ID: "e", Type: "custody.handover", Subject: "i", Time: "t", Actor: "a"}
	if _, err := ChainEvent(1, e, []byte(`{"item":"j","from":"a","to":"b"}`)); err == nil {
		t.Error("a payload about another item was accepted")
	}
	ev, err := ChainEvent(1, e, []byte(`{"item":"i","from":"a","to":"b","reason":"r"}`))
	if err != nil || ev.From != "a" || ev.To != "b" || ev.Type != "handover" {
		t.Errorf("%+v %v", ev, err)
	}
	e.Type = "user.add"
	if _, err := ChainEvent(1, e, []byte(`{}`)); err == nil {
		t.Error("user.add accepted as a custody event")
	}
}

// Fuzz targets: every bundle parser must refuse or round-trip, never panic.

func FuzzParseBundleMetadata(f *testing.F) {
	fsys, _ := testBundle(f)
	f.Add(fsys[BundleMetadataPath].Data)
	f.Add([]byte(`{"case":"c","batch":"b","items":[{"size":-1,"redacted":true}]}`))
	f.Add([]byte(`{"items":null} {}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseBundleMetadata(data)
		if err != nil {
			return
		}
		again, err := MarshalBundleJSON(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ParseBundleMetadata(again)
		if err != nil {
			t.Fatalf("re-encoded metadata does not parse: %v", err)
		}
		if diff := cmp.Diff(m, m2); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		// Its CSV form parses back to the same rows.
		rows, err := ParseMetadataCSV(MarshalMetadataCSV(m.Items))
		if err != nil {
			t.Fatalf("CSV of parsed metadata does not parse: %v", err)
		}
		if len(m.Items) == 0 {
			rows = m.Items
		}
		for i := range rows {
			a, b := m.Items[i], rows[i]
			// encoding/csv turns \r\n inside a quoted field into \n.
			for _, p := range []*string{&a.RegNo, &a.Item, &a.Title, &a.Date, &a.Type, &a.Author, &a.Language, &a.Source, &a.Confidentiality, &a.SHA256, &a.File} {
				*p = strings.ReplaceAll(*p, "\r\n", "\n")
			}
			if !strings.Contains(a.Title+a.Author+a.Source+a.RegNo+a.Item+a.Date+a.Type+a.Language+a.Confidentiality+a.SHA256+a.File, "\r") && a != b {
				t.Fatalf("CSV round trip:\n%+v\n%+v", a, b)
			}
		}
	})
}

func FuzzParseBundleProofs(f *testing.F) {
	fsys, _ := testBundle(f)
	f.Add(fsys[BundleProofsPath].Data)
	f.Add([]byte(`{"tree_size":1,"root":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","proofs":[{"index":0,"leaf_hash":"","hashes":[]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseBundleProofs(data)
		if err != nil {
			return
		}
		again, _ := MarshalBundleJSON(p)
		p2, err := ParseBundleProofs(again)
		if err != nil {
			t.Fatalf("re-encoded proofs do not parse: %v", err)
		}
		if diff := cmp.Diff(p, p2); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		for _, pr := range p.Proofs {
			if len(pr.LeafHash) != HashSize {
				t.Fatalf("accepted a %d-byte leaf hash", len(pr.LeafHash))
			}
		}
	})
}

func FuzzParseSums(f *testing.F) {
	fsys, _ := testBundle(f)
	f.Add(fsys[BundleSumsPath].Data)
	f.Add([]byte(strings.Repeat("0", 64) + " *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := ParseSums(data)
		if err != nil {
			return
		}
		// The text-mode encoding of what was parsed parses to the same.
		again, err := ParseSums(MarshalSums(lines))
		if err != nil || !cmpEqual(lines, again) {
			t.Fatalf("round trip: %v\n%v\n%v", err, lines, again)
		}
	})
}

func FuzzParseMetadataCSV(f *testing.F) {
	fsys, _ := testBundle(f)
	f.Add(fsys[BundleMetadataCSVPath].Data)
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ParseMetadataCSV(data)
		if err != nil {
			return
		}
		again, err := ParseMetadataCSV(MarshalMetadataCSV(rows))
		if err != nil {
			t.Fatalf("re-encoded CSV does not parse: %v", err)
		}
		if !bytes.Equal(MarshalMetadataCSV(rows), MarshalMetadataCSV(again)) {
			t.Fatal("CSV encoding is not stable")
		}
	})
}

func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{"", "=1", "'", "''=", "@x", "-", "plain"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := parseCSVCell(csvCell(s)); got != s {
			t.Fatalf("parseCSVCell(csvCell(%q)) = %q", s, got)
		}
		if c := csvCell(s); c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			t.Fatalf("csvCell(%q) = %q starts a formula", s, c)
		}
	})
}

// FuzzVerifyBundleEntries feeds arbitrary log/entries.json to the whole
// verifier: it must report, never panic, and never pass a changed file.
func FuzzVerifyBundleEntries(f *testing.F) {
	fsys, vkey := testBundle(f)
	orig := fsys[BundleEntriesPath].Data
	f.Add(orig)
	f.Add([]byte(`{"entries":[{"index":0,"entry":"{}","payload":"","withheld":["x"]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := cloneFS(fsys)
		m[BundleEntriesPath] = &fstest.MapFile{Data: data}
		resum(m)
		rep, err := VerifyBundle(m, &BundleOptions{Key: vkey})
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK() && !sameEntries(data, orig) {
			t.Fatalf("changed entries verify:\n%s", data)
		}
	})
}

// cloneFS returns a copy of fsys.
func cloneFS(fsys fstest.MapFS) fstest.MapFS {
	m := fstest.MapFS{}
	for k, v := range fsys {
		c := *v
		m[k] = &c
	}
	return m
}

// sameEntries reports whether two entries documents hold the same entries.
func sameEntries(a, b []byte) bool {
	x, err1 := ParseBundleEntries(a)
	y, err2 := ParseBundleEntries(b)
	if err1 != nil || err2 != nil {
		return false
	}
	return cmp.Diff(x, y, cmpopts.EquateEmpty()) == ""
}

func cmpEqual(a, b any) bool { return cmp.Diff(a, b) == "" }
