package locality

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"
)

// DefaultLimit is the number of results Search returns when limit <= 0.
const DefaultLimit = 10

// maxQuery bounds the query length Search looks at, in bytes.
const maxQuery = 256

type indexEntry struct {
	key string
	i   int32
}

func (g *Gazetteer) buildIndex() {
	n := len(g.units)
	g.exact = make([]indexEntry, 0, 2*n)
	g.phonetic = make([]indexEntry, 0, n)
	g.skeleton = make([]indexEntry, 0, n)
	for i, u := range g.units {
		i := int32(i)
		ne, nl := Normalize(u.Name), Normalize(u.NameLatin)
		g.exact = append(g.exact, indexEntry{ne, i})
		if nl != ne {
			g.exact = append(g.exact, indexEntry{nl, i})
		}
		f := Fold(u.Name)
		g.phonetic = append(g.phonetic, indexEntry{f, i})
		g.skeleton = append(g.skeleton, indexEntry{skeleton(f), i})
	}
	for _, idx := range [][]indexEntry{g.exact, g.phonetic, g.skeleton} {
		slices.SortFunc(idx, func(a, b indexEntry) int {
			return cmp.Or(strings.Compare(a.key, b.key), cmp.Compare(a.i, b.i))
		})
	}
}

// lookup returns the units whose key equals q (prefix false) or starts with q
// (prefix true).
func lookup(idx []indexEntry, q string, prefix bool) []int32 {
	if q == "" {
		return nil
	}
	lo, _ := slices.BinarySearchFunc(idx, q, func(e indexEntry, q string) int {
		return strings.Compare(e.key, q)
	})
	var out []int32
	for _, e := range idx[lo:] {
		if e.key == q || prefix && strings.HasPrefix(e.key, q) {
			out = append(out, e.i)
			continue
		}
		break
	}
	return out
}

// Search finds units by name. The query may be Ukrainian Cyrillic, Russian
// Cyrillic, the official Latin spelling or a common variant of it ("Izyum",
// "Kupyansk", "Balakleya", "Kharkov"); case, apostrophes (' ’ ʼ), hyphens
// and spaces do not matter.
//
// Results come in tiers, best first, each unit at most once:
//
//  1. the name equals the query (Ukrainian or official Latin spelling);
//  2. the name sounds the same (Fold keys equal);
//  3. the name starts with the query, exactly, then phonetically;
//  4. the name has the same consonants (Russian vowels: "Kharkov"). When
//     tiers 1 and 2 are empty this tier comes before tier 3.
//
// Within a tier, cities come before administrative units, urban
// settlements, settlements, villages and city districts; ties are broken by
// code, so results are deterministic and independent of population. At most
// limit results are returned (DefaultLimit when limit <= 0); an empty query
// finds nothing.
func (g *Gazetteer) Search(q string, limit int) []Locality {
	if limit <= 0 {
		limit = DefaultLimit
	}
	if len(q) > maxQuery {
		q = q[:maxQuery]
		for !utf8.ValidString(q) {
			q = q[:len(q)-1]
		}
	}
	ne, f := Normalize(q), Fold(q)
	if ne == "" && f == "" {
		return nil
	}
	// If the query is Latin, its Normalize form is compared with the
	// official Latin names, which are in the same index.
	tiers := [][]int32{
		lookup(g.exact, ne, false),
		lookup(g.phonetic, f, false),
	}
	var sk []int32
	if k := skeleton(f); utf8.RuneCountInString(k) >= 3 {
		sk = lookup(g.skeleton, k, false)
	}
	prefix := [][]int32{lookup(g.exact, ne, true), lookup(g.phonetic, f, true)}
	if len(tiers[0])+len(tiers[1]) == 0 {
		// No name sounds like the query: a whole name with other vowels
		// ("Kharkov") beats names that merely start like it.
		tiers = append(append(tiers, sk), prefix...)
	} else {
		tiers = append(append(tiers, prefix...), sk)
	}
	seen := make(map[int32]bool)
	var out []Locality
	for _, t := range tiers {
		slices.SortFunc(t, func(a, b int32) int {
			ua, ub := &g.units[a], &g.units[b]
			return cmp.Or(cmp.Compare(ua.Category.rank(), ub.Category.rank()), strings.Compare(ua.Code, ub.Code))
		})
		for _, i := range t {
			if seen[i] {
				continue
			}
			seen[i] = true
			out = append(out, g.units[i])
			if len(out) == limit {
				return out
			}
		}
	}
	return out
}
