// Package locality is Custody's gazetteer of the administrative-territorial
// units of Ukraine: oblasts, raions, territorial hromadas, settlements and
// city districts, as listed in the Codifier of administrative-territorial
// units and territories of territorial hromadas (KATOTTH, edition of
// 16 May 2025), with Latin names and, where they could be joined reliably,
// coordinates from the GeoNames postal gazetteer.
//
// Use it to turn what an investigator types ("Izium", "Ізюм", "Izyum") into
// a stable KATOTTH code (UA63040090010029555) and back into a full,
// human-readable place (Kharkivska oblast → Iziumskyi raion → Iziumska
// hromada → Izium).
//
// Invariants:
//   - The data is embedded in the binary (data/localities.tsv.gz, derived by
//     internal/gen from the sources named in data/README.md); nothing is read
//     from disk or the network at run time.
//   - There is no package state. Load parses the embedded data into a new
//     *Gazetteer on every call; callers load once and keep it.
//   - A Gazetteer is read-only after Load and safe for concurrent use.
//   - Every unit's Parent is the empty string (oblasts and the two cities
//     with special status) or the code of another unit in the same
//     Gazetteer; codes are unique.
//   - Coordinates are WGS 84 degrees and only present (HasCoord) where the
//     join was unambiguous; a missing coordinate is never guessed.
package locality

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

//go:generate go run ./internal/gen -data ../../../shared/data -out data

// Category is the kind of an administrative-territorial unit. Its value is the
// KATOTTH category letter.
type Category byte

// Categories as defined by KATOTTH.
const (
	Oblast          Category = 'O' // oblast or the Autonomous Republic of Crimea
	SpecialCity     Category = 'K' // city with special status: Kyiv, Sevastopol
	Raion           Category = 'P' // raion (district), 2020 division
	Hromada         Category = 'H' // territorial hromada (community)
	City            Category = 'M' // city (місто)
	UrbanSettlement Category = 'T' // urban-type settlement (селище міського типу)
	Village         Category = 'C' // village (село)
	Settlement      Category = 'X' // rural settlement (селище)
	CityDistrict    Category = 'B' // district of a city
)

var categoryNames = map[Category][2]string{
	Oblast:          {"oblast", "область"},
	SpecialCity:     {"city with special status", "місто зі спеціальним статусом"},
	Raion:           {"raion", "район"},
	Hromada:         {"hromada", "територіальна громада"},
	City:            {"city", "місто"},
	UrbanSettlement: {"urban-type settlement", "селище міського типу"},
	Village:         {"village", "село"},
	Settlement:      {"settlement", "селище"},
	CityDistrict:    {"city district", "район у місті"},
}

// String returns the English name of the category ("city", "village", ...).
func (c Category) String() string {
	if n, ok := categoryNames[c]; ok {
		return n[0]
	}
	return fmt.Sprintf("Category(%q)", rune(c))
}

// Ukrainian returns the Ukrainian name of the category ("місто", "село", ...).
func (c Category) Ukrainian() string {
	if n, ok := categoryNames[c]; ok {
		return n[1]
	}
	return c.String()
}

// Valid reports whether c is one of the KATOTTH categories.
func (c Category) Valid() bool {
	_, ok := categoryNames[c]
	return ok
}

// rank orders categories in search results: the places people mean most often
// come first.
func (c Category) rank() int {
	switch c {
	case SpecialCity:
		return 0
	case City:
		return 1
	case Oblast:
		return 2
	case Raion:
		return 3
	case Hromada:
		return 4
	case UrbanSettlement:
		return 5
	case Settlement:
		return 6
	case Village:
		return 7
	case CityDistrict:
		return 8
	}
	return 9
}

// Locality is one administrative-territorial unit.
type Locality struct {
	// Code is the unit's KATOTTH code, e.g. "UA63040090010029555".
	Code string
	// Parent is the code of the enclosing unit, or "" for oblasts and the
	// cities with special status.
	Parent   string
	Category Category
	// Name is the official Ukrainian name, e.g. "Ізюм". Hromadas, raions
	// and oblasts are named by their adjective ("Ізюмська").
	Name string
	// NameLatin is Name under the official transliteration (Transliterate).
	NameLatin string
	// Lat and Lon are WGS 84 degrees, meaningful only when HasCoord is set.
	// For a settlement they are the GeoNames postal point(s) of the place;
	// for a hromada, raion or oblast, those of its administrative centre.
	Lat, Lon float64
	HasCoord bool
}

// Gazetteer holds every unit and the indexes to find them. Build it with
// Load; the zero value is empty.
type Gazetteer struct {
	units    []Locality
	byCode   map[string]int32
	children map[int32][]int32
	roots    []int32      // units without a parent
	exact    []indexEntry // Normalize(Name), Normalize(NameLatin)
	phonetic []indexEntry // Fold(Name)
	skeleton []indexEntry // skeleton(Fold(Name))
}

//go:embed data/localities.tsv.gz
var embedded []byte // read-only; parsed by Load

// dataHeader is the first line of the data file; it names the format version.
const dataHeader = "#custody-localities v1\tcode\tparent\tcategory\tname\tname_latin\tlat\tlon"

// Load parses the embedded gazetteer and returns a new Gazetteer. It takes
// a few hundred milliseconds and about 20 MB; call it once and share the
// result.
func Load() (*Gazetteer, error) {
	zr, err := gzip.NewReader(bytes.NewReader(embedded))
	if err != nil {
		return nil, fmt.Errorf("locality: open embedded data: %w", err)
	}
	g, err := parse(zr)
	if err != nil {
		return nil, fmt.Errorf("locality: embedded data: %w", err)
	}
	return g, nil
}

func parse(r io.Reader) (*Gazetteer, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<16)
	if !sc.Scan() || sc.Text() != dataHeader {
		return nil, fmt.Errorf("missing or unknown header")
	}
	g := &Gazetteer{
		units:    make([]Locality, 0, 32768),
		byCode:   make(map[string]int32, 32768),
		children: make(map[int32][]int32, 2048),
	}
	line := 1
	for sc.Scan() {
		line++
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 7 {
			return nil, fmt.Errorf("line %d: %d fields, want 7", line, len(f))
		}
		u := Locality{Code: f[0], Parent: f[1], Name: f[3], NameLatin: f[4]}
		if len(f[2]) != 1 || !Category(f[2][0]).Valid() {
			return nil, fmt.Errorf("line %d: bad category %q", line, f[2])
		}
		u.Category = Category(f[2][0])
		if f[5] != "" {
			lat, err1 := strconv.ParseFloat(f[5], 64)
			lon, err2 := strconv.ParseFloat(f[6], 64)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("line %d: bad coordinates", line)
			}
			u.Lat, u.Lon, u.HasCoord = lat, lon, true
		}
		if _, dup := g.byCode[u.Code]; dup {
			return nil, fmt.Errorf("line %d: duplicate code %s", line, u.Code)
		}
		g.byCode[u.Code] = int32(len(g.units))
		g.units = append(g.units, u)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for i, u := range g.units {
		if u.Parent == "" {
			g.roots = append(g.roots, int32(i))
			continue
		}
		p, ok := g.byCode[u.Parent]
		if !ok {
			return nil, fmt.Errorf("%s: unknown parent %s", u.Code, u.Parent)
		}
		g.children[p] = append(g.children[p], int32(i))
	}
	g.buildIndex()
	return g, nil
}

// Len returns the number of units.
func (g *Gazetteer) Len() int { return len(g.units) }

// Get returns the unit with the given KATOTTH code. Codes are matched exactly
// after trimming spaces and upper-casing the "UA" prefix.
func (g *Gazetteer) Get(code string) (Locality, bool) {
	i, ok := g.byCode[canonicalCode(code)]
	if !ok {
		return Locality{}, false
	}
	return g.units[i], true
}

func canonicalCode(code string) string {
	return strings.ToUpper(strings.TrimSpace(code))
}

// Path returns the unit and its ancestors, outermost first: oblast → raion →
// hromada → settlement (→ city district). It returns nil for an unknown code.
func (g *Gazetteer) Path(code string) []Locality {
	i, ok := g.byCode[canonicalCode(code)]
	if !ok {
		return nil
	}
	var path []Locality
	for {
		u := g.units[i]
		path = append(path, u)
		if u.Parent == "" || len(path) > 8 {
			break
		}
		i = g.byCode[u.Parent]
	}
	slices.Reverse(path)
	return path
}

// Children returns the units directly inside the given one, in codifier order.
// Children("") returns the top-level units: the oblasts, the Autonomous
// Republic of Crimea, Kyiv and Sevastopol. It returns nil for an unknown code
// or a unit without children.
func (g *Gazetteer) Children(code string) []Locality {
	var kids []int32
	if code = canonicalCode(code); code == "" {
		kids = g.roots
	} else if i, ok := g.byCode[code]; ok {
		kids = g.children[i]
	}
	if len(kids) == 0 {
		return nil
	}
	out := make([]Locality, len(kids))
	for j, k := range kids {
		out[j] = g.units[k]
	}
	return out
}
