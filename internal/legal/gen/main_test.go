package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/custody-dev/custody/internal/legal"
)

const (
	// excerpt holds the entries of the source that the generator reads
	// (metadata, articles 6 to 8 bis, their footnotes), each kept
	// byte-for-byte, so that the generator is tested without ../shared.
	excerpt = "testdata/rome-statute-6-8bis.json"
	// shared is the full source, where the workspace has it.
	shared = "../../../../shared/data/legal/rome-statute.json"
	// embedded is the generated file package legal embeds.
	embedded = "../data/rome-statute.json"
)

// generateTwice runs the generator twice on a copy of src in a fresh
// directory and checks that both runs write the same bytes as the embedded
// file.
func generateTwice(t *testing.T, src string) {
	t.Helper()
	in, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(embedded)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copySrc := filepath.Join(dir, "rome-statute.json")
	if err := os.WriteFile(copySrc, in, 0o644); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"first.json", "second.json"} {
		out := filepath.Join(dir, name)
		if err := run(copySrc, out, io.Discard); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("run %d on %s: output differs from %s (%d bytes, want %d); run `go generate ./internal/legal`",
				i+1, src, embedded, len(got), len(want))
		}
	}
}

func TestGenerateFromExcerpt(t *testing.T) { generateTwice(t, excerpt) }

func TestGenerateFromSharedSource(t *testing.T) {
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("source not present: %v", err)
	}
	generateTwice(t, shared)
}

// TestSplitReconstructs checks that the provisions, with their labels put
// back, are exactly the text of each article, and that every ID is
// canonical and names its parent.
func TestSplitReconstructs(t *testing.T) {
	in, err := os.ReadFile(excerpt)
	if err != nil {
		t.Fatal(err)
	}
	var entries []sourceEntry
	if err := json.Unmarshal(in, &entries); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Article == nil {
			continue
		}
		n++
		rows, err := split(e.Article.Number, e.Article.Name, e.Article.Text)
		if err != nil {
			t.Fatalf("article %s: %v", e.Article.Number, err)
		}
		if got := reconstruct(t, rows); got != e.Article.Text {
			t.Errorf("article %s: reconstructed text differs:\n%s\nwant\n%s", e.Article.Number, got, e.Article.Text)
		}
	}
	if n != len(articles) {
		t.Errorf("%d articles in the excerpt, want %d", n, len(articles))
	}
}

var digits = regexp.MustCompile(`^[0-9]+$`)

func reconstruct(t *testing.T, rows []provision) string {
	t.Helper()
	var lines []string
	if rows[0].Text != "" {
		lines = append(lines, rows[0].Text)
	}
	seen := map[string]bool{rows[0].ID: true}
	for _, r := range rows[1:] {
		id, err := legal.ParseID(r.ID)
		if err != nil || id.String() != r.ID {
			t.Fatalf("%q: not canonical (%v)", r.ID, err)
		}
		parent, _ := id.Parent()
		if parent.String() != r.Parent || !seen[r.Parent] || seen[r.ID] {
			t.Fatalf("%q: parent %q", r.ID, r.Parent)
		}
		seen[r.ID] = true
		label := id.Path[len(id.Path)-1]
		if digits.MatchString(label) {
			lines = append(lines, label+". "+r.Text)
		} else {
			lines = append(lines, "("+label+") "+r.Text)
		}
	}
	return strings.Join(lines, "\n")
}

func TestSplitErrors(t *testing.T) {
	for _, tt := range []struct{ name, text, want string }{
		{"letter out of sequence", "Chapeau:\n(a) One;\n(c) Three.", "out of sequence"},
		{"number out of sequence", "1. One.\n3. Three.", "out of sequence"},
		{"roman out of sequence", "1. List:\n(a) Items:\n(i) One;\n(iii) Three.", "out of sequence"},
		{"list without colon", "1. No colon.\n(a) Item.", "out of sequence"},
		{"colon without list", "1. List:\n2. Next.", "does not start one"},
		{"colon at the end", "1. List:", "never comes"},
		{"unlabelled line", "1. One.\nloose text", "no label"},
		{"empty line", "1. One.\n\n2. Two.", "empty"},
		{"padded line", "1. One. ", "padded"},
		{"label without text", "1. One.\n(a)", "no label"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := split("7", "Heading", tt.text)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("split(%q): %v, want an error containing %q", tt.text, err, tt.want)
			}
		})
	}
	if _, err := split("7", " ", "1. One."); err == nil {
		t.Error("split without heading succeeded")
	}
}

func TestGenerateErrors(t *testing.T) {
	in, err := os.ReadFile(excerpt)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, src, want string }{
		{"not JSON", `{`, "decode"},
		{"no metadata", `[{"article":{"number":"6","name":"Genocide","text":"x"}}]`, "no metadata"},
		{"other licence", strings.Replace(string(in), "licenses/by/4.0/", "licenses/by-nc/4.0/", 1), "licence"},
		{"article missing", strings.Replace(string(in), `"number": "8 bis"`, `"number": "8 ter"`, 1), "article 8 bis missing"},
		{"bad article", strings.Replace(string(in), `(b) Causing serious`, `(c) Causing serious`, 1), "article 6: line 3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := generate([]byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("generate: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// FuzzSplit checks that split never panics and that whatever it accepts it
// splits losslessly into canonical, unique IDs.
func FuzzSplit(f *testing.F) {
	in, err := os.ReadFile(excerpt)
	if err != nil {
		f.Fatal(err)
	}
	var entries []sourceEntry
	if err := json.Unmarshal(in, &entries); err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if e.Article != nil {
			f.Add(e.Article.Text)
		}
	}
	f.Add("Chapeau:\n(a) One;\n(b) Two:\n(i) Item;\n(ii) Item.\n(c) Three.")
	f.Add("1. One:\n(a) x;\n(h) y\n(i) z")
	f.Fuzz(func(t *testing.T, text string) {
		rows, err := split("7", "Heading", text)
		if err != nil {
			return
		}
		if got := reconstruct(t, rows); got != text {
			t.Fatalf("split(%q) reconstructs as %q", text, got)
		}
	})
}
