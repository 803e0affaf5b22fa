// Command gen derives internal/locality/data/localities.tsv.gz and its
// README.md from the KATOTTH codifier and the GeoNames postal gazetteer.
//
// Usage (from internal/locality, as in its go:generate line):
//
//	go run ./internal/gen -data ../../../shared/data -out data
//
// where -data is the reference-data directory holding
// katotth/kodifikator-2025-05-16.csv, gazetteer/geonames-UA.txt and
// geo/ukraine-adm1-simplified.geojson.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/custody-dev/custody/internal/locality/internal/derive"
)

func main() {
	data := flag.String("data", "", "reference data directory (required)")
	out := flag.String("out", "data", "output directory")
	flag.Parse()
	if err := run(*data, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(data, out string) error {
	if data == "" {
		return fmt.Errorf("-data is required")
	}
	k, err := os.Open(filepath.Join(data, derive.KATOTTHPath))
	if err != nil {
		return err
	}
	defer k.Close()
	g, err := os.Open(filepath.Join(data, derive.GeoNamesPath))
	if err != nil {
		return err
	}
	defer g.Close()
	b, err := os.Open(filepath.Join(data, derive.BoundariesPath))
	if err != nil {
		return err
	}
	defer b.Close()
	var buf bytes.Buffer
	st, err := derive.Generate(k, g, b, &buf)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "localities.tsv.gz"), buf.Bytes(), 0o644); err != nil {
		return err
	}
	readme := derive.README(st, buf.Len())
	if err := os.WriteFile(filepath.Join(out, "README.md"), []byte(readme), 0o644); err != nil {
		return err
	}
	fmt.Print(st.Report())
	fmt.Printf("wrote %d units, %d bytes\n", st.Units, buf.Len())
	return nil
}
