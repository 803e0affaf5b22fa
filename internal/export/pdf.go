package export

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/custody-dev/custody/internal/locality"
)

// A minimal PDF 1.4 writer: A4 pages of text in the standard Type 1 fonts
// Helvetica, Helvetica-Bold and Courier with WinAnsiEncoding, content
// streams compressed with Flate. WinAnsi has no Cyrillic: Ukrainian text is
// transliterated (official national system) and any other character outside
// WinAnsi is written "?". The HTML report carries the full Unicode text.

const (
	pageW, pageH = 595.28, 841.89 // A4 in points
	marginX      = 50.0
	marginTop    = 60.0
	marginBottom = 60.0
)

// Font resource names.
const (
	fontRegular = "F1" // Helvetica
	fontBold    = "F2" // Helvetica-Bold
	fontMono    = "F3" // Courier
)

type pdfDoc struct {
	pages  []*bytes.Buffer
	cur    *bytes.Buffer
	y      float64
	footer string
}

func newPDF(footer string) *pdfDoc {
	d := &pdfDoc{footer: footer}
	d.newPage()
	return d
}

func (d *pdfDoc) newPage() {
	d.cur = &bytes.Buffer{}
	d.pages = append(d.pages, d.cur)
	d.y = pageH - marginTop
}

// need starts a new page unless h points fit above the bottom margin.
func (d *pdfDoc) need(h float64) {
	if d.y-h < marginBottom {
		d.newPage()
	}
}

func (d *pdfDoc) gap(h float64) {
	d.y -= h
	if d.y < marginBottom {
		d.newPage()
	}
}

// at writes one line of text at x, y with no wrapping.
func (d *pdfDoc) at(font string, size, x, y float64, s string) {
	fmt.Fprintf(d.cur, "BT /%s %s Tf %s %s Td (%s) Tj ET\n", font, num(size), num(x), num(y), pdfString(s))
}

// text writes s wrapped to the text width, indented by indent points.
func (d *pdfDoc) text(font string, size, indent float64, s string) {
	lead := size * 1.35
	for _, para := range strings.Split(s, "\n") {
		for _, line := range wrap(font, size, pageW-2*marginX-indent, para) {
			d.need(lead)
			d.y -= lead
			d.at(font, size, marginX+indent, d.y, line)
		}
	}
}

func (d *pdfDoc) heading(s string) {
	d.need(40)
	d.gap(10)
	d.text(fontBold, 13, 0, s)
	d.gap(4)
}

// row writes one line of cells starting at the given x offsets (from the
// left margin), each cut to fit before the next.
func (d *pdfDoc) row(font string, size float64, xs []float64, cells []string) {
	lead := size * 1.4
	d.need(lead)
	d.y -= lead
	for i, c := range cells {
		end := pageW - 2*marginX
		if i+1 < len(xs) {
			end = xs[i+1] - 6
		}
		for c != "" && width(font, size, c) > end-xs[i] {
			_, n := utf8.DecodeLastRuneInString(c)
			c = c[:len(c)-n]
		}
		d.at(font, size, marginX+xs[i], d.y, c)
	}
}

// rule draws a horizontal line across the text width.
func (d *pdfDoc) rule() {
	d.need(8)
	d.y -= 4
	fmt.Fprintf(d.cur, "0.6 G 0.5 w %s %s m %s %s l S 0 G\n", num(marginX), num(d.y), num(pageW-marginX), num(d.y))
	d.y -= 4
}

func num(f float64) string {
	s := fmt.Sprintf("%.2f", f)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" || s == "-0" {
		return "0"
	}
	return s
}

// bytes serialises the document.
func (d *pdfDoc) bytes(title string, created time.Time) []byte {
	var out bytes.Buffer
	var offsets []int
	obj := func(body string) {
		offsets = append(offsets, out.Len())
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	out.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	n := len(d.pages)
	kids := make([]string, n)
	for i := range n {
		kids[i] = fmt.Sprintf("%d 0 R", 7+2*i)
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n))
	for _, f := range []string{"Helvetica", "Helvetica-Bold", "Courier"} {
		obj("<< /Type /Font /Subtype /Type1 /BaseFont /" + f + " /Encoding /WinAnsiEncoding >>")
	}
	obj(fmt.Sprintf("<< /Title (%s) /Producer (Custody) /CreationDate (D:%s) >>", pdfString(title), created.UTC().Format("20060102150405Z")))
	for i, p := range d.pages {
		content := bytes.Clone(p.Bytes())
		footer := fmt.Sprintf("%s  -  page %d of %d", d.footer, i+1, n)
		content = fmt.Appendf(content, "BT /%s 8 Tf %s %s Td (%s) Tj ET\n", fontRegular, num(marginX), num(marginBottom/2), pdfString(footer))
		var z bytes.Buffer
		zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
		zw.Write(content)
		zw.Close()
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources << /Font << /F1 3 0 R /F2 4 0 R /F3 5 0 R >> >> /Contents %d 0 R >>",
			num(pageW), num(pageH), 8+2*i))
		offsets = append(offsets, out.Len())
		fmt.Fprintf(&out, "%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", len(offsets), z.Len())
		out.Write(z.Bytes())
		out.WriteString("\nendstream\nendobj\n")
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return out.Bytes()
}

// winAnsi maps the characters of WinAnsiEncoding above Latin-1's range.
var winAnsi = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88, '‰': 0x89,
	'Š': 0x8a, '‹': 0x8b, 'Œ': 0x8c, 'Ž': 0x8e, '‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95,
	'–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9a, '›': 0x9b, 'œ': 0x9c, 'ž': 0x9e, 'Ÿ': 0x9f,
}

// toWinAnsi transliterates Ukrainian and encodes s in WinAnsi, "?" for
// what it cannot show.
func toWinAnsi(s string) []byte {
	s = strings.ReplaceAll(transliterate(s), "→", "->")
	out := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r == '\t':
			out = append(out, ' ')
		case r >= 0x20 && r < 0x7f, r >= 0xa0 && r <= 0xff:
			out = append(out, byte(r))
		case winAnsi[r] != 0:
			out = append(out, winAnsi[r])
		default:
			out = append(out, '?')
		}
	}
	return out
}

// transliterate transliterates the words of s that hold Cyrillic letters,
// and leaves the others alone (locality.Transliterate drops apostrophes,
// which English needs).
func transliterate(s string) string {
	if !strings.ContainsFunc(s, isCyrillic) {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexFunc(s, unicode.IsSpace)
		if i < 0 {
			i = len(s)
		}
		word := s[:i]
		if strings.ContainsFunc(word, isCyrillic) {
			word = locality.Transliterate(word)
		}
		b.WriteString(word)
		s = s[i:]
		j := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsSpace(r) })
		if j < 0 {
			j = len(s)
		}
		b.WriteString(s[:j])
		s = s[j:]
	}
	return b.String()
}

func isCyrillic(r rune) bool { return unicode.Is(unicode.Cyrillic, r) }

// pdfString escapes s for a PDF literal string.
func pdfString(s string) string {
	var b strings.Builder
	for _, c := range toWinAnsi(s) {
		switch c {
		case '(', ')', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// helvetica holds the widths (1/1000 em) of ASCII 32 to 126 in Helvetica
// (Adobe's AFM); Helvetica-Bold is a little wider, so wrapping allows for it.
var helvetica = [95]int{
	278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // space to /
	556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0 to ?
	1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @ to O
	667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P to _
	333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // ` to o
	556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // p to ~
}

// width returns the width of s in points.
func width(font string, size float64, s string) float64 {
	var w float64
	for _, c := range toWinAnsi(s) {
		switch {
		case font == fontMono:
			w += 600
		case c >= 32 && c <= 126:
			w += float64(helvetica[c-32])
		default:
			w += 600
		}
	}
	if font == fontBold {
		w *= 1.08
	}
	return w * size / 1000
}

// wrap splits s into lines no wider than max points; a word wider than a
// line (a hash) is cut.
func wrap(font string, size, max float64, s string) []string {
	words := strings.Fields(s)
	if len(words) == 0 {
		return []string{""}
	}
	var lines []string
	cur := ""
	for _, w := range words {
		try := w
		if cur != "" {
			try = cur + " " + w
		}
		if width(font, size, try) <= max {
			cur = try
			continue
		}
		if cur != "" {
			lines = append(lines, cur)
		}
		for width(font, size, w) > max {
			cut := len(w)
			for cut > 1 && width(font, size, w[:cut]) > max {
				cut--
				for cut > 1 && !utf8.RuneStart(w[cut]) {
					cut--
				}
			}
			lines = append(lines, w[:cut])
			w = w[cut:]
		}
		cur = w
	}
	return append(lines, cur)
}
