// Package derive builds the gazetteer data file embedded by package locality
// from the KATOTTH codifier and the GeoNames postal gazetteer.
//
// Invariants: the output depends only on the bytes of the two inputs (no
// map-order, clock or locale effects), so regenerating from the same sources
// gives a byte-identical file. A coordinate is attached only when the join is
// unambiguous; when in doubt a unit is left without one.
package derive

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/custody-dev/custody/internal/locality"
)

// Parameters of the join.
const (
	// ClusterKm: postal points of one name closer than this are one place.
	ClusterKm = 15.0
	// NearKm: a duplicate name is resolved by proximity to the rest of its
	// hromada only if the nearest place is within NearKm ...
	NearKm = 20.0
	// ... and the next one is at least FarKm farther away.
	FarKm = 15.0
	// OutlierKm: a match farther than this from the median of the other
	// matched settlements of its hromada is dropped as a likely namesake.
	OutlierKm = 40.0
)

// header must equal locality's dataHeader.
const header = "#custody-localities v1\tcode\tparent\tcategory\tname\tname_latin\tlat\tlon"

// Unit is one row of the codifier as derived.
type Unit struct {
	Code, Parent string
	Category     locality.Category
	Name         string
	Lat, Lon     float64
	HasCoord     bool
	oblast       string // code of the level-1 unit
	raion        string // code of the level-2 unit, if any
	hromada      string // code of the level-3 unit, if any
	how          string // "unique", "raion", "near"
}

// Stats reports the outcome of the join.
type Stats struct {
	Units int
	// Total and Matched count settlements by category (M, T, C, X, K).
	Total, Matched map[locality.Category]int
	// By method: "unique", "raion", "near".
	ByMethod map[string]int
	// TotalOutsideCrimea and MatchedOutsideCrimea leave out the Autonomous
	// Republic of Crimea and Sevastopol, which GeoNames does not cover.
	TotalOutsideCrimea, MatchedOutsideCrimea map[locality.Category]int
	// AdminTotal and AdminWithCoord count O, P, H units and their centres.
	AdminTotal, AdminWithCoord map[locality.Category]int
	DroppedOutliers            int
	// OutsideOblast counts postal points dropped for lying outside the
	// oblast GeoNames assigns them to.
	OutsideOblast              int
	GeoNamesRows, GeoNamesUsed int
}

func isSettlement(c locality.Category) bool {
	switch c {
	case locality.City, locality.UrbanSettlement, locality.Village, locality.Settlement, locality.SpecialCity:
		return true
	}
	return false
}

// ReadKATOTTH parses the codifier CSV (";"-separated, header line, 7 columns).
func ReadKATOTTH(r io.Reader) ([]*Unit, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	var units []*Unit
	seen := map[string]bool{}
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if line == 1 {
			continue // header
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		f := strings.Split(text, ";")
		if len(f) != 7 {
			return nil, fmt.Errorf("katotth line %d: %d fields, want 7", line, len(f))
		}
		var code, parent string
		for _, c := range f[:5] {
			c = strings.TrimSpace(c)
			if c == "" || c == code {
				continue
			}
			if !validCode(c) {
				return nil, fmt.Errorf("katotth line %d: bad code %q", line, c)
			}
			parent, code = code, c
		}
		cat := strings.TrimSpace(f[5])
		if code == "" || len(cat) != 1 || !locality.Category(cat[0]).Valid() {
			return nil, fmt.Errorf("katotth line %d: bad row", line)
		}
		if seen[code] {
			return nil, fmt.Errorf("katotth line %d: duplicate code %s", line, code)
		}
		seen[code] = true
		name := strings.Join(strings.Fields(f[6]), " ")
		if name == "" || strings.ContainsAny(name, "\t\n") {
			return nil, fmt.Errorf("katotth line %d: bad name", line)
		}
		u := &Unit{Code: code, Parent: parent, Category: locality.Category(cat[0]), Name: name,
			oblast: strings.TrimSpace(f[0]), raion: strings.TrimSpace(f[1]), hromada: strings.TrimSpace(f[2])}
		units = append(units, u)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("katotth: %w", err)
	}
	return units, nil
}

func validCode(c string) bool {
	if len(c) != 19 || c[:2] != "UA" {
		return false
	}
	for _, d := range c[2:] {
		if d < '0' || d > '9' {
			return false
		}
	}
	return true
}

// point is one usable GeoNames row.
type point struct {
	lat, lon float64
	raion    string // Fold of the admin2 (pre-2020 raion) name
	codes    int    // postal codes at this point
}

// placeKey is the join key: oblast code and normalised Ukrainian name.
type placeKey struct{ oblast, name string }

// matchName normalises a name for the join: the part before any
// parenthesis or slash, then locality.Normalize.
func matchName(s string) string {
	if i := strings.IndexAny(s, "(/"); i >= 0 {
		s = s[:i]
	}
	return locality.Normalize(s)
}

// readGeoNames parses the postal gazetteer and groups usable points by
// oblast and name. Rows with accuracy 1 ("estimated": thousands of places
// share a few hundred such points, often tens of km off) are skipped.
func readGeoNames(r io.Reader, oblastOf map[string]string, bounds Bounds, st *Stats) (map[placeKey][]point, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	out := map[placeKey][]point{}
	line := 0
	for sc.Scan() {
		line++
		f := strings.Split(strings.TrimSuffix(sc.Text(), "\r"), "\t")
		if len(f) < 12 {
			return nil, fmt.Errorf("geonames line %d: %d fields, want 12", line, len(f))
		}
		st.GeoNamesRows++
		if acc := strings.TrimSpace(f[11]); acc == "1" {
			continue
		}
		ob, ok := oblastOf[locality.Fold(f[3])]
		if !ok {
			return nil, fmt.Errorf("geonames line %d: unknown admin1 %q", line, f[3])
		}
		lat, err1 := strconv.ParseFloat(f[9], 64)
		lon, err2 := strconv.ParseFloat(f[10], 64)
		if err1 != nil || err2 != nil || lat < 44 || lat > 53 || lon < 22 || lon > 41 {
			continue
		}
		k := placeKey{ob, matchName(f[2])}
		if k.name == "" {
			continue
		}
		if !bounds.Near(ob[:4], lat, lon) {
			st.OutsideOblast++
			continue
		}
		p := point{lat, lon, locality.Fold(f[5]), 1}
		if i := slices.IndexFunc(out[k], func(q point) bool { return q.lat == lat && q.lon == lon && q.raion == p.raion }); i >= 0 {
			out[k][i].codes++
		} else {
			out[k] = append(out[k], p)
		}
		st.GeoNamesUsed++ // counted after the oblast check
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("geonames: %w", err)
	}
	return out, nil
}

// cluster is a set of postal points of one name lying within ClusterKm of
// each other (single linkage): one place.
type cluster struct {
	lat, lon float64
	raions   []string
	codes    int // postal codes in the cluster
}

func clusters(pts []point) []cluster {
	n := len(pts)
	comp := make([]int, n)
	for i := range comp {
		comp[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for comp[i] != i {
			i = comp[i]
		}
		return i
	}
	for i := range n {
		for j := i + 1; j < n; j++ {
			if km(pts[i].lat, pts[i].lon, pts[j].lat, pts[j].lon) < ClusterKm {
				a, b := find(i), find(j)
				if a != b {
					comp[max(a, b)] = min(a, b)
				}
			}
		}
	}
	var out []cluster
	idx := map[int]int{}
	count := []int{}
	for i, p := range pts {
		r := find(i)
		c, ok := idx[r]
		if !ok {
			c = len(out)
			idx[r] = c
			out = append(out, cluster{})
			count = append(count, 0)
		}
		out[c].lat += p.lat
		out[c].lon += p.lon
		count[c]++
		out[c].codes += p.codes
		if !slices.Contains(out[c].raions, p.raion) {
			out[c].raions = append(out[c].raions, p.raion)
		}
	}
	for c := range out {
		out[c].lat /= float64(count[c])
		out[c].lon /= float64(count[c])
	}
	return out
}

// km is the great-circle distance in kilometres.
func km(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dlat, dlon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}

// Join attaches coordinates to the units in place and returns statistics.
func Join(units []*Unit, geonames io.Reader, bounds Bounds) (Stats, error) {
	st := Stats{
		Units:                len(units),
		Total:                map[locality.Category]int{},
		Matched:              map[locality.Category]int{},
		ByMethod:             map[string]int{},
		TotalOutsideCrimea:   map[locality.Category]int{},
		MatchedOutsideCrimea: map[locality.Category]int{},
		AdminTotal:           map[locality.Category]int{},
		AdminWithCoord:       map[locality.Category]int{},
	}
	byCode := map[string]*Unit{}
	oblastOf := map[string]string{} // Fold(Latin oblast name) → code
	for _, u := range units {
		byCode[u.Code] = u
		if u.Category == locality.Oblast || u.Category == locality.SpecialCity {
			oblastOf[locality.Fold(u.Name)] = u.Code
		}
	}
	pts, err := readGeoNames(geonames, oblastOf, bounds, &st)
	if err != nil {
		return st, err
	}

	// Group settlements by join key, in codifier order.
	groups := map[placeKey][]*Unit{}
	var keys []placeKey
	for _, u := range units {
		if !isSettlement(u.Category) {
			continue
		}
		k := placeKey{u.oblast, matchName(u.Name)}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], u)
	}

	type pending struct {
		units []*Unit
		cs    []cluster
	}
	var later []pending
	for _, k := range keys {
		us, ps := groups[k], pts[k]
		if len(ps) == 0 {
			continue
		}
		cs := clusters(ps)
		if len(us) == 1 && len(cs) == 1 {
			set(us[0], cs[0], "unique")
			continue
		}
		// City rule: the only city of the name takes the place with by
		// far the most postal codes (a village namesake has one or two).
		taken := map[int]bool{}
		if ci := cityCluster(us, cs); ci >= 0 {
			for _, u := range us {
				if u.Category == locality.City || u.Category == locality.SpecialCity {
					set(u, cs[ci], "city")
				}
			}
			taken[ci] = true
		}
		// Raion rule: a unit whose (new) raion name equals the old
		// raion of exactly one place, and no other unit claims it.
		claim := map[int][]*Unit{}
		for _, u := range us {
			if u.HasCoord {
				continue
			}
			r := locality.Fold(nameOf(byCode, u.raion))
			var hit []int
			for ci, c := range cs {
				if r != "" && !taken[ci] && slices.Contains(c.raions, r) {
					hit = append(hit, ci)
				}
			}
			if len(hit) == 1 {
				claim[hit[0]] = append(claim[hit[0]], u)
			}
		}
		for ci := range cs {
			if cu := claim[ci]; len(cu) == 1 {
				set(cu[0], cs[ci], "raion")
			}
		}
		var rest []*Unit
		for _, u := range us {
			if !u.HasCoord {
				rest = append(rest, u)
			}
		}
		if len(rest) > 0 {
			var free []cluster
			for ci, c := range cs {
				if !taken[ci] {
					free = append(free, c)
				}
			}
			later = append(later, pending{rest, free})
		}
	}

	// Drop unique matches far from the rest of their hromada: the GeoNames
	// place is then most likely a namesake elsewhere in the oblast.
	// Cities are exempt: their many postal codes make them reliable.
	var drop []*Unit
	byHromada := map[string][]*Unit{}
	for _, u := range units {
		if u.HasCoord && u.hromada != "" && u.Category != locality.SpecialCity {
			byHromada[u.hromada] = append(byHromada[u.hromada], u)
		}
	}
	for _, u := range units {
		if u.how != "unique" || u.Category == locality.City {
			continue
		}
		var lats, lons []float64
		for _, o := range byHromada[u.hromada] {
			if o != u {
				lats, lons = append(lats, o.Lat), append(lons, o.Lon)
			}
		}
		if len(lats) >= 3 && km(u.Lat, u.Lon, median(lats), median(lons)) > OutlierKm {
			drop = append(drop, u)
		}
	}
	for _, u := range drop {
		u.Lat, u.Lon, u.HasCoord, u.how = 0, 0, false, ""
		st.DroppedOutliers++
	}

	// Proximity rule for names left ambiguous: the place clearly nearest
	// to the median of the hromada's other matched settlements.
	ref := hromadaMedians(units)
	for _, p := range later {
		pick := map[*Unit]int{}
		used := map[int]int{}
		for _, u := range p.units {
			c, ok := ref[u.hromada]
			if !ok {
				continue
			}
			best, d1, d2 := -1, math.Inf(1), math.Inf(1)
			for ci, cl := range p.cs {
				d := km(c.lat, c.lon, cl.lat, cl.lon)
				if d < d1 {
					best, d1, d2 = ci, d, d1
				} else if d < d2 {
					d2 = d
				}
			}
			if best >= 0 && d1 < NearKm && d2-d1 > FarKm {
				pick[u] = best
				used[best]++
			}
		}
		for _, u := range p.units {
			if ci, ok := pick[u]; ok && used[ci] == 1 {
				set(u, p.cs[ci], "near")
			}
		}
	}

	for _, u := range units {
		if !isSettlement(u.Category) {
			continue
		}
		st.Total[u.Category]++
		crimea := strings.HasPrefix(u.Code, "UA01") || strings.HasPrefix(u.Code, "UA85")
		if !crimea {
			st.TotalOutsideCrimea[u.Category]++
		}
		if u.HasCoord {
			st.Matched[u.Category]++
			st.ByMethod[u.how]++
			if !crimea {
				st.MatchedOutsideCrimea[u.Category]++
			}
		}
	}
	adminCentres(units, byCode, &st)
	return st, nil
}

func set(u *Unit, c cluster, how string) {
	u.Lat, u.Lon, u.HasCoord, u.how = c.lat, c.lon, true, how
}

func nameOf(byCode map[string]*Unit, code string) string {
	if u, ok := byCode[code]; ok {
		return u.Name
	}
	return ""
}

type centre struct {
	lat, lon float64
	n        int
}

// hromadaMedians returns, per hromada code, the coordinate-wise median of its
// matched settlements.
func hromadaMedians(units []*Unit) map[string]centre {
	lats, lons := map[string][]float64{}, map[string][]float64{}
	for _, u := range units {
		if u.HasCoord && u.hromada != "" && u.Category != locality.SpecialCity {
			lats[u.hromada] = append(lats[u.hromada], u.Lat)
			lons[u.hromada] = append(lons[u.hromada], u.Lon)
		}
	}
	out := map[string]centre{}
	for h, la := range lats {
		out[h] = centre{median(la), median(lons[h]), len(la)}
	}
	return out
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// oblastCentres names the administrative centre of oblasts whose name is not
// derived from it.
var oblastCentres = map[string]string{
	"Волинська":                 "Луцьк",
	"Закарпатська":              "Ужгород",
	"Кіровоградська":            "Кропивницький",
	"Автономна Республіка Крим": "Сімферополь",
}

// adminCentres gives oblasts, raions and hromadas the coordinate of their
// administrative centre: the settlement inside the unit whose name the
// unit's adjective is formed from (Ізюмська → Ізюм, Андріївська →
// Андріївка), preferring cities.
func adminCentres(units []*Unit, byCode map[string]*Unit, st *Stats) {
	within := map[string][]*Unit{} // admin code → settlements inside it
	for _, u := range units {
		if !isSettlement(u.Category) || u.Category == locality.SpecialCity {
			continue
		}
		for _, a := range []string{u.oblast, u.raion, u.hromada} {
			if a != "" && a != u.Code {
				within[a] = append(within[a], u)
			}
		}
	}
	for _, a := range units {
		switch a.Category {
		case locality.Oblast, locality.Raion, locality.Hromada:
		default:
			continue
		}
		st.AdminTotal[a.Category]++
		var best *Unit
		bestScore := -1
		if a.Category == locality.Oblast {
			if c, ok := oblastCentres[a.Name]; ok {
				for _, s := range within[a.Code] {
					if s.Category == locality.City && s.Name == c {
						best = s
					}
				}
			}
		}
		an := []rune(locality.Normalize(a.Name))
		for _, s := range within[a.Code] {
			if best != nil && a.Category == locality.Oblast {
				break
			}
			if a.Category == locality.Oblast && s.Category != locality.City {
				continue
			}
			sn := []rune(locality.Normalize(s.Name))
			cp := 0
			for cp < len(an) && cp < len(sn) && an[cp] == sn[cp] {
				cp++
			}
			if cp < 3 || cp < len(sn)-2 {
				continue
			}
			score := cp*10 + 5 - settlementRank(s.Category)
			if score > bestScore {
				best, bestScore = s, score
			}
		}
		if best != nil && best.HasCoord {
			a.Lat, a.Lon, a.HasCoord = best.Lat, best.Lon, true
			st.AdminWithCoord[a.Category]++
		}
	}
}

// Write writes the data file: a header line and one tab-separated line per
// unit, gzip-compressed with fixed header fields so output is reproducible.
func Write(w io.Writer, units []*Unit) error {
	var buf bytes.Buffer
	buf.WriteString(header + "\n")
	for _, u := range units {
		lat, lon := "", ""
		if u.HasCoord {
			lat = strconv.FormatFloat(u.Lat, 'f', 4, 64)
			lon = strconv.FormatFloat(u.Lon, 'f', 4, 64)
		}
		fmt.Fprintf(&buf, "%s\t%s\t%c\t%s\t%s\t%s\t%s\n", u.Code, u.Parent, u.Category, u.Name,
			locality.Transliterate(u.Name), lat, lon)
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(buf.Bytes()); err != nil {
		return err
	}
	return zw.Close()
}

// Generate reads the sources and writes the data file to w. boundaries
// may be nil: then no postal point is rejected for lying outside its oblast.
func Generate(katotth, geonames, boundaries io.Reader, w io.Writer) (Stats, error) {
	units, err := ReadKATOTTH(katotth)
	if err != nil {
		return Stats{}, err
	}
	var bounds Bounds
	if boundaries != nil {
		if bounds, err = ReadBounds(boundaries); err != nil {
			return Stats{}, err
		}
	}
	st, err := Join(units, geonames, bounds)
	if err != nil {
		return st, err
	}
	return st, Write(w, units)
}

// sortedCats lists categories in report order.
var sortedCats = []locality.Category{locality.City, locality.UrbanSettlement, locality.Settlement, locality.Village, locality.SpecialCity}

func pct(a, b int) string {
	if b == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*float64(a)/float64(b), 'f', 1, 64) + "%"
}

// Report formats the statistics as a Markdown table.
func (st Stats) Report() string {
	var b strings.Builder
	b.WriteString("| category | units | with coordinates | rate | rate outside Crimea and Sevastopol |\n| --- | ---: | ---: | ---: | ---: |\n")
	var t, m, to, mo int
	for _, c := range sortedCats {
		t += st.Total[c]
		m += st.Matched[c]
		to += st.TotalOutsideCrimea[c]
		mo += st.MatchedOutsideCrimea[c]
		fmt.Fprintf(&b, "| %s (%c) | %d | %d | %s | %s |\n", c, c, st.Total[c], st.Matched[c],
			pct(st.Matched[c], st.Total[c]), pct(st.MatchedOutsideCrimea[c], st.TotalOutsideCrimea[c]))
	}
	fmt.Fprintf(&b, "| all settlements | %d | %d | %s | %s |\n", t, m, pct(m, t), pct(mo, to))
	b.WriteString("\n| administrative unit | units | with centre coordinates | rate |\n| --- | ---: | ---: | ---: |\n")
	for _, c := range []locality.Category{locality.Oblast, locality.Raion, locality.Hromada} {
		fmt.Fprintf(&b, "| %s (%c) | %d | %d | %s |\n", c, c, st.AdminTotal[c], st.AdminWithCoord[c], pct(st.AdminWithCoord[c], st.AdminTotal[c]))
	}
	methods := slices.Sorted(func(yield func(string) bool) {
		for k := range st.ByMethod {
			if !yield(k) {
				return
			}
		}
	})
	b.WriteString("\nSettlements matched by rule:")
	for _, k := range methods {
		fmt.Fprintf(&b, " %s %d;", k, st.ByMethod[k])
	}
	fmt.Fprintf(&b, " unique matches dropped as outliers (> %.0f km from their hromada): %d.\n", OutlierKm, st.DroppedOutliers)
	fmt.Fprintf(&b, "GeoNames rows: %d; with accuracy above 1 and inside their oblast (within %.0f km of its outline): %d; dropped as outside their oblast: %d.\n", st.GeoNamesRows, BorderKm, st.GeoNamesUsed, st.OutsideOblast)
	return b.String()
}

// settlementRank prefers cities as administrative centres.
func settlementRank(c locality.Category) int {
	switch c {
	case locality.City:
		return 0
	case locality.UrbanSettlement:
		return 1
	case locality.Settlement:
		return 2
	}
	return 3
}

// Paths of the sources inside the reference-data directory.
const (
	KATOTTHPath    = "katotth/kodifikator-2025-05-16.csv"
	GeoNamesPath   = "gazetteer/geonames-UA.txt"
	BoundariesPath = "geo/ukraine-adm1-simplified.geojson"
)

// README returns data/README.md for a generated file of size bytes.
func README(st Stats, size int) string {
	return fmt.Sprintf(`# Gazetteer data

localities.tsv.gz is derived by ../internal/gen (run `+"`go generate`"+` in
internal/locality) from two public sources. Do not edit it by hand.

## Sources and attribution

- **KATOTTH**: Codifier of administrative-territorial units and territories of
  territorial hromadas (Кодифікатор адміністративно-територіальних одиниць та
  територій територіальних громад), edition of 16 May 2025, Ministry for
  Communities and Territories Development of Ukraine (mirrored in
  github.com/igskak/KATOTTG). An official act of Ukraine, not subject to
  copyright (Law of Ukraine "On Copyright and Related Rights", art. 10 of the
  2001 edition / art. 8 of the 2022 edition). Codes, categories, names and the
  hierarchy come from it unchanged; Latin names are its names transliterated
  under Resolution of the Cabinet of Ministers of Ukraine No. 55 of
  27 January 2010.
- **GeoNames**: postal-code gazetteer for Ukraine (UA.txt), GeoNames,
  https://www.geonames.org/, licensed under Creative Commons Attribution 4.0
  (https://creativecommons.org/licenses/by/4.0/). Coordinates of settlements
  are derived from it (averaged and joined by name and oblast). Any product
  that shows these coordinates must credit GeoNames.
- **geoBoundaries**: simplified ADM1 (oblast) boundaries of Ukraine,
  geoBoundaries (https://www.geoboundaries.org/), open release (CC BY 4.0);
  used only to reject postal points lying outside their oblast. No boundary
  data is shipped.

## Format

gzip-compressed UTF-8, one header line, then one line per unit in codifier
order, tab-separated: code, parent code, category letter (O K P H M T C X B),
Ukrainian name, Latin name, latitude, longitude (WGS 84, 4 decimals; empty
when unknown). %d units, %d bytes compressed.

## How coordinates were joined

GeoNames rows with accuracy 1 ("estimated": a few hundred points shared by
thousands of places, often tens of km off) are not used, nor are points more
than %.0f km outside the geoBoundaries outline of the oblast GeoNames gives. The remaining postal
points are grouped by oblast and normalised Ukrainian name (text before any
parenthesis, lowercase, apostrophes, hyphens and spaces removed), and points
of one name closer than %.0f km to each other are taken as one place (their
mean). A settlement gets a coordinate when:

- unique: it is the only settlement of that name in its oblast and there is
  one such place;
- city: it is the only city of that name in its oblast and one place has at
  least 3 postal codes and 3 times as many as any namesake;
- raion: its raion's name equals the (pre-2020) raion GeoNames gives for
  exactly one of the places, and no namesake claims the same place;
- near: otherwise, when one place is within %.0f km of the median of the
  other matched settlements of its hromada and every other place is more
  than %.0f km farther.

Unique matches more than %.0f km from the median of at least three other
matched settlements of their hromada are dropped as likely namesakes. Everything
else (renamed places, names GeoNames lacks, Crimea and Sevastopol, which
GeoNames does not cover) is left without coordinates rather than guessed.
Oblasts, raions and hromadas take the coordinate of their administrative
centre: the settlement inside the unit whose name the unit's adjective is
formed from (Ізюмська → Ізюм), preferring cities.

## Measured match rate

The 2025 codifier has no urban-type settlements (T): the category was
abolished in 2024 and those places are now settlements (X).

%s`, st.Units, size, BorderKm, ClusterKm, NearKm, FarKm, OutlierKm, st.Report())
}

// cityCluster returns the cluster the group's only city should take: the one
// with at least 2 postal codes and at least 3 times as many as any other; or
// -1.
func cityCluster(us []*Unit, cs []cluster) int {
	cities := 0
	for _, u := range us {
		if u.Category == locality.City || u.Category == locality.SpecialCity {
			cities++
		}
	}
	if cities != 1 {
		return -1
	}
	best, second := -1, 0
	for ci, c := range cs {
		if best < 0 || c.codes > cs[best].codes {
			if best >= 0 {
				second = cs[best].codes
			}
			best = ci
		} else if c.codes > second {
			second = c.codes
		}
	}
	if best < 0 || cs[best].codes < 2 || cs[best].codes < 3*second {
		return -1
	}
	return best
}
