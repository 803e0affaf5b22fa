package capture

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxName is the longest name SanitizeName returns, in bytes: the common
// file-system limit.
const maxName = 255

// maxExt is the longest extension (with its dot, in bytes) that SanitizeName
// keeps when it shortens a name.
const maxExt = 16

// SanitizeName returns the original file name as it is kept in the record.
// The result:
//   - is the last path element only, whether the path used '/' or '\' (and a
//     Windows drive prefix such as "C:" is dropped), so it never contains a
//     separator and is never "." or "..";
//   - is valid UTF-8, with each invalid byte replaced by U+FFFD;
//   - has no control characters (C0, DEL, C1), no line or paragraph
//     separators, and no format characters (Unicode category Cf: bidi
//     embeddings, overrides, isolates and marks, zero-width spaces and
//     joiners, the byte-order mark), so what is displayed is what is stored;
//   - has no spaces or dots at either end;
//   - is at most 255 bytes, shortened at a character boundary before the
//     extension so that the extension survives;
//   - is "unnamed" if nothing is left.
//
// Letters of every script are kept as they are: "фото_Харків.jpg" stays
// unchanged. No Unicode normalization is applied.
func SanitizeName(name string) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	name = strings.Map(dropInvisible, name)
	name = strings.TrimRight(name, `/\`)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if len(name) >= 2 && name[1] == ':' && isASCIILetter(name[0]) {
		name = name[2:]
	}
	name = trimName(name)
	if len(name) > maxName {
		name = shorten(name)
	}
	if name == "" {
		return "unnamed"
	}
	return name
}

// dropInvisible maps the characters SanitizeName and cleanText remove to -1.
func dropInvisible(r rune) rune {
	if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) ||
		unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) {
		return -1
	}
	return r
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func trimName(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r == '.' || unicode.IsSpace(r) })
}

// shorten cuts a name longer than maxName bytes, keeping its extension when
// it has a short one.
func shorten(name string) string {
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= maxExt {
		name, ext = name[:i], name[i:]
	}
	name = truncateUTF8(name, maxName-len(ext))
	return trimName(trimName(name) + ext)
}

// truncateUTF8 returns the longest prefix of s that is at most n bytes and
// ends at a character boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// cleanText makes a string read from a file safe to record and display:
// valid UTF-8, no control or format characters, trimmed, at most maxText
// bytes.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(dropInvisible, s)
	return strings.TrimSpace(truncateUTF8(s, maxText))
}
