package locality

import (
	"strings"
	"unicode"
)

// Normalize returns the exact-match form of a name: lowercase, with
// apostrophes, hyphens, spaces and other non-letters removed, and Latin
// look-alike letters inside Cyrillic words (a stray Latin "c", "o", "e", ...)
// replaced by their Cyrillic twins. "Куп’янськ", "куп'янськ" and
// "КУПʼЯНСЬК" all normalise to "купянськ"; "Kupiansk" to "kupiansk".
func Normalize(s string) string {
	cyr := false
	for _, r := range s {
		if unicode.Is(unicode.Cyrillic, r) {
			cyr = true
			break
		}
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if !unicode.IsLetter(r) {
			continue
		}
		r = unicode.ToLower(r)
		if cyr {
			if c, ok := lookalike[r]; ok {
				r = c
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

// lookalike maps Latin letters that are typed by mistake in Cyrillic names to
// the Cyrillic letter they look like.
var lookalike = map[rune]rune{
	'a': 'а', 'c': 'с', 'e': 'е', 'i': 'і', 'k': 'к', 'o': 'о', 'p': 'р',
	'x': 'х', 'y': 'у', 'ё': 'е',
}

// Fold returns the phonetic key of a name in Ukrainian or Russian Cyrillic or
// in any common Latin spelling. Names that sound alike under the usual
// transliterations share a key: "Izium", "Izyum", "Ізюм" and "Изюм" all fold
// to "izium"; "Balakliia" and "Balakleya" to "balaklia"; "Kupiansk" and
// "Kupyansk" to "kupiansk". The key is lossy: it is for finding candidates,
// not for telling names apart.
//
// Cyrillic is transliterated first (Russian letters included); then on the
// lowercase Latin letters "shch", "zh", "ch", "sh" and "ts" become one symbol
// each, "kh", "gh" and "g" become "h", "w" becomes "v", "q" becomes "k", and
// "y", "j", "e" become "i"; every non-letter is dropped and runs of one
// symbol collapse to one.
func Fold(s string) string {
	lat := strings.ToLower(transliterate(s, true))
	out := make([]rune, 0, len(lat))
	emit := func(r rune) {
		if n := len(out); n > 0 && out[n-1] == r {
			return
		}
		out = append(out, r)
	}
	for i := 0; i < len(lat); {
		rest := lat[i:]
		switch {
		case strings.HasPrefix(rest, "shch"):
			emit('щ')
			i += 4
		case strings.HasPrefix(rest, "zh"):
			emit('ж')
			i += 2
		case strings.HasPrefix(rest, "ch"):
			emit('ч')
			i += 2
		case strings.HasPrefix(rest, "sh"):
			emit('ш')
			i += 2
		case strings.HasPrefix(rest, "ts"), strings.HasPrefix(rest, "tz"):
			emit('ц')
			i += 2
		case strings.HasPrefix(rest, "kh"), strings.HasPrefix(rest, "gh"):
			emit('h')
			i += 2
		default:
			c := lat[i]
			i++
			switch {
			case c == 'g':
				emit('h')
			case c == 'w':
				emit('v')
			case c == 'q':
				emit('k')
			case c == 'x':
				emit('k')
				emit('s')
			case c == 'y' || c == 'j' || c == 'e':
				emit('i')
			case 'a' <= c && c <= 'z':
				emit(rune(c))
			}
			// Bytes of other runes (non-ASCII letters left after
			// transliteration, digits, punctuation) are dropped.
		}
	}
	return string(out)
}

// skeleton returns the consonants of a folded key: the last-resort key that
// lets Russian vowel spellings ("Kharkov") find Ukrainian names ("Kharkiv").
func skeleton(key string) string {
	var b strings.Builder
	for _, r := range key {
		switch r {
		case 'a', 'i', 'o', 'u':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
