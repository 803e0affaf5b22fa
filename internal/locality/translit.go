package locality

import (
	"strings"
	"unicode"
)

// Transliterate returns the Latin spelling of a Ukrainian name under the
// official national transliteration (Resolution of the Cabinet of Ministers of
// Ukraine No. 55 of 27 January 2010):
//
//   - є, ї, й, ю, я are Ye, Yi, Y, Yu, Ya at the start of a word and ie, i, i,
//     iu, ia elsewhere (Юрій → Yurii, Короп'є → Koropie);
//   - "зг" is written "zgh" to keep it apart from "ж" (Згорани → Zghorany);
//   - the soft sign and the apostrophe (' ’ ʼ ‘ `) are dropped.
//
// A letter starts a word when the rune before it is neither a letter nor an
// apostrophe. Capitalisation follows the source: a capital digraph letter is
// written "Zh", or "ZH" inside an all-capital word. Runes that are not
// Ukrainian letters (digits, punctuation, Latin) are copied unchanged.
func Transliterate(uk string) string {
	return transliterate(uk, false)
}

// ukLatin holds the lowercase transliteration of each Ukrainian letter in the
// middle of a word; ukInitial overrides it at the start of a word.
var ukLatin = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "h", 'ґ': "g", 'д': "d", 'е': "e",
	'є': "ie", 'ж': "zh", 'з': "z", 'и': "y", 'і': "i", 'ї': "i", 'й': "i",
	'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o", 'п': "p", 'р': "r",
	'с': "s", 'т': "t", 'у': "u", 'ф': "f", 'х': "kh", 'ц': "ts", 'ч': "ch",
	'ш': "sh", 'щ': "shch", 'ь': "", 'ю': "iu", 'я': "ia",
}

var ukInitial = map[rune]string{'є': "ye", 'ї': "yi", 'й': "y", 'ю': "yu", 'я': "ya"}

// ruLatin covers the Russian letters people type in queries. They are not
// part of the Ukrainian table and are used only when building search keys.
var ruLatin = map[rune]string{'ё': "yo", 'ъ': "", 'ы': "y", 'э': "e"}

// isApostrophe reports whether r is one of the characters used for the
// Ukrainian apostrophe.
func isApostrophe(r rune) bool {
	switch r {
	case '\'', '’', 'ʼ', '‘', '`', '´', 'ʹ', '′':
		return true
	}
	return false
}

func transliterate(s string, russian bool) string {
	rs := []rune(s)
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for i, r := range rs {
		if isApostrophe(r) {
			continue
		}
		lower := unicode.ToLower(r)
		lat, ok := ukLatin[lower]
		if !ok && russian {
			lat, ok = ruLatin[lower]
		}
		if !ok {
			b.WriteRune(r)
			continue
		}
		wordStart := i == 0 || !(unicode.IsLetter(rs[i-1]) || isApostrophe(rs[i-1]))
		if wordStart {
			if init, ok := ukInitial[lower]; ok {
				lat = init
			}
		}
		if lower == 'г' && i > 0 && unicode.ToLower(rs[i-1]) == 'з' {
			lat = "gh"
		}
		if lat == "" {
			continue
		}
		if lower == r { // lowercase source letter
			b.WriteString(lat)
			continue
		}
		// Capital: all caps inside an all-capital word, else capitalise.
		if neighbourUpper(rs, i) {
			b.WriteString(strings.ToUpper(lat))
		} else {
			b.WriteString(strings.ToUpper(lat[:1]))
			b.WriteString(lat[1:])
		}
	}
	return b.String()
}

// neighbourUpper reports whether a letter next to rs[i] is a capital, which
// marks an all-capital word ("ЩАСТЯ" → "SHCHASTIA").
func neighbourUpper(rs []rune, i int) bool {
	for _, j := range []int{i + 1, i - 1} {
		if j >= 0 && j < len(rs) && unicode.IsLetter(rs[j]) {
			return unicode.IsUpper(rs[j])
		}
	}
	return false
}
