package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custody-dev/custody/verify"
)

// TestExportVerifyBundle runs the court bundle commands end to end: export
// a case to a directory and to a zip, verify both, then tamper.
func TestExportVerifyBundle(t *testing.T) {
	dir, _ := initStore(t)
	photo := writeFile(t, "IMG_0412.jpg", "\xff\xd8\xff a photo")
	doc := writeFile(t, "Протокол огляду.pdf", "%PDF-1.4 a report")
	r := run(t, nil, "add", "--data", dir, "--case", "12022220000000123", "--collector", "Mobile group 7", "--json", photo, doc)
	if r.code != 0 {
		t.Fatalf("add: %d %s", r.code, r.stderr)
	}
	items := itemsJSON(t, dir)
	if r := run(t, nil, "handover", "--data", dir, items[0].ID, "--to", "Forensic lab", "--reason", "examination"); r.code != 0 {
		t.Fatalf("handover: %d %s", r.code, r.stderr)
	}
	key := strings.TrimSpace(run(t, nil, "log", "key", "--data", dir).stdout)
	out := t.TempDir()

	bundle := filepath.Join(out, "bundle")
	r = run(t, nil, "export", "--data", dir, "--case", "12022220000000123", "--out", bundle, "--verify")
	if r.code != 0 {
		t.Fatalf("export: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"wrote " + bundle + ": case 12022220000000123, batch ", "2 items (2 files", "verify it with: custody-verify --key '" + key + "'", "OK: the bundle is intact"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("export output lacks %q:\n%s", want, r.stdout)
		}
	}
	// The export is in each item's history.
	h := run(t, nil, "history", "--data", dir, items[1].ID)
	if !strings.Contains(h.stdout, "export: court bundle ") {
		t.Errorf("history after export:\n%s", h.stdout)
	}

	zipPath := filepath.Join(out, "bundle.zip")
	r = run(t, nil, "export", "--data", dir, "--items", items[1].ID, "--out", zipPath, "--json")
	if r.code != 0 {
		t.Fatalf("export zip: %d %s", r.code, r.stderr)
	}
	var res struct {
		Items int    `json:"items"`
		Batch string `json:"batch"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Items != 1 {
		t.Errorf("export --json: %v %s", err, r.stdout)
	}

	for _, p := range []string{bundle, zipPath} {
		r = run(t, nil, "verify-bundle", "--key", key, p)
		if r.code != 0 || !strings.Contains(r.stdout, "OK: the bundle is intact") || !strings.Contains(r.stdout, ", pinned") {
			t.Errorf("verify-bundle %s: %d\n%s%s", p, r.code, r.stdout, r.stderr)
		}
	}
	keyFile := writeFile(t, "key.txt", key+"\n")
	r = run(t, nil, "verify-bundle", zipPath, "--json", "--key", "@"+keyFile)
	var rep verify.BundleReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); r.code != 0 || err != nil || !rep.OK() || !rep.KeyPinned || rep.Items != 1 {
		t.Errorf("verify-bundle --json: %d %v %s", r.code, err, r.stdout)
	}

	// Tampered: exit 1 and the problem named.
	var meta verify.BundleMetadata
	raw, _ := os.ReadFile(filepath.Join(bundle, verify.BundleMetadataPath))
	json.Unmarshal(raw, &meta)
	f := filepath.Join(bundle, meta.Items[0].File)
	os.WriteFile(f, []byte("\xff\xd8\xff another photo"), 0o600)
	r = run(t, nil, "verify-bundle", bundle)
	if r.code != 1 || !strings.Contains(r.stdout, "PROBLEM [file] "+meta.Items[0].File) || !strings.Contains(r.stdout, "FAILED") {
		t.Errorf("tampered bundle: %d\n%s", r.code, r.stdout)
	}
	// Usage and I/O errors: exit 2.
	for _, args := range [][]string{
		{"verify-bundle"},
		{"verify-bundle", filepath.Join(out, "nothing")},
		{"verify-bundle", keyFile},
		{"verify-bundle", "--key", "@" + filepath.Join(out, "nokey"), bundle},
		{"export", "--data", dir, "--case", "x"},
	} {
		if r := run(t, nil, args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, r.code, r.stderr)
		}
	}
	// An existing output is refused.
	if r := run(t, nil, "export", "--data", dir, "--case", "12022220000000123", "--out", bundle); r.code != 1 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("export over a bundle: %d %s", r.code, r.stderr)
	}
}
