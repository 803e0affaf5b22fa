package custody_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/custody-dev/custody"

// TestBoundaries walks every non-test Go file and fails on an import that
// breaks the layering: the domain imports only the standard library; verify
// imports nothing of Custody; adapters never import each other; reference
// data (the codifier of localities, the legal catalogue) may be read by any
// layer but imports nothing internal itself; only internal/cli wires
// everything.
func TestBoundaries(t *testing.T) {
	adapters := []string{"internal/blobstore", "internal/sqlstore", "internal/ledger", "internal/capture", "internal/api", "internal/web", "internal/importer", "internal/export"}
	rules := map[string]func(imp string) bool{ // dir -> forbidden(import)
		".": func(imp string) bool { return strings.Contains(imp, ".") }, // stdlib only
		"verify": func(imp string) bool {
			return strings.HasPrefix(imp, module)
		},
	}
	// Libraries (reference data, the map, the tus protocol) likewise.
	for _, ref := range []string{"internal/locality", "internal/legal", "internal/geo", "internal/upload"} {
		rules[ref] = func(imp string) bool {
			own := imp == module+"/"+ref || strings.HasPrefix(imp, module+"/"+ref+"/")
			return strings.HasPrefix(imp, module+"/internal/") && !own
		}
	}
	for _, a := range adapters {
		a := a
		rules[a] = func(imp string) bool {
			for _, b := range adapters {
				if b != a && (imp == module+"/"+b || strings.HasPrefix(imp, module+"/"+b+"/")) {
					return true
				}
			}
			return strings.HasPrefix(imp, module+"/internal/cli")
		}
	}
	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		var rule func(string) bool
		for prefix, r := range rules {
			if dir == prefix || (prefix != "." && strings.HasPrefix(dir, prefix+"/") && !strings.Contains(dir[len(prefix):], "/internal/")) {
				rule = r
			}
		}
		if rule == nil {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, is := range f.Imports {
			imp, _ := strconv.Unquote(is.Path.Value)
			checked++
			if rule(imp) {
				t.Errorf("%s imports %s: forbidden by the layering (see GUIDE.md)", path, imp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d imports checked: the walk is broken", checked)
	}
}
