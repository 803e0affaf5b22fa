package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// refData is the shared reference-data directory, relative to this package.
const refData = "../../../../shared/data"

// TestUpToDate regenerates the boundaries and compares them with the
// embedded file, byte for byte. It needs the shared reference data and is
// skipped without it (or with CUSTODY_NO_SHARED set).
func TestUpToDate(t *testing.T) {
	if os.Getenv("CUSTODY_NO_SHARED") != "" {
		t.Skip("CUSTODY_NO_SHARED set")
	}
	if _, err := os.Stat(filepath.Join(refData, boundariesPath)); err != nil {
		t.Skipf("no reference data: %v", err)
	}
	dir := t.TempDir()
	if err := run(refData, dir, 0.75, io.Discard); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, outName))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "data", outName))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("internal/geo/data/%s is stale: run go run ./internal/geo/gen", outName)
	}
}

// TestDouglasPeucker checks the simplification of one arc, in both
// directions, and that a whole ring never collapses.
func TestDouglasPeucker(t *testing.T) {
	proj := func(p pt) [2]float64 { return [2]float64{p[0], p[1]} }
	line := []pt{{0, 0}, {1, 0.1}, {2, -0.1}, {3, 5}, {4, 6}, {5, 7}, {6, 8.05}, {7, 9}}
	got := douglasPeucker(line, 0.5, proj)
	want := []pt{{0, 0}, {2, -0.1}, {3, 5}, {7, 9}}
	if len(got) != len(want) {
		t.Fatalf("douglasPeucker = %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("douglasPeucker = %v, want %v", got, want)
		}
	}
	// An arc and its reverse simplify to the same points.
	cache := map[string][]pt{}
	a := simplifyArc(line, 0.5, proj, cache)
	rev := append([]pt(nil), line...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	b := simplifyArc(rev, 0.5, proj, map[string][]pt{})
	if len(a) != len(b) {
		t.Fatalf("arc %v, reversed %v", a, b)
	}
	for i := range a {
		if a[i] != b[len(b)-1-i] {
			t.Fatalf("arc %v, reversed %v", a, b)
		}
	}
	// A closed arc (a whole ring) keeps at least a triangle.
	ring := []pt{{0, 0}, {0.1, 0}, {0.1, 0.1}, {0, 0.1}, {0, 0}}
	if s := simplifyArc(ring, 10, proj, cache); len(s) < 4 {
		t.Errorf("tiny ring simplified to %v", s)
	}
}
