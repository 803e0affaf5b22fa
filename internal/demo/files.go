package demo

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
)

// The sample evidence files. Each is small, valid for its format, built
// with the standard library only, and says in its own content that it is
// synthetic demo data.

// glyphs is a 5x7 bitmap font: each glyph is 7 rows of 5 columns.
var glyphs = map[rune][7]string{
	'0': {"01110", "10001", "10011", "10101", "11001", "10001", "01110"},
	'1': {"00100", "01100", "00100", "00100", "00100", "00100", "01110"},
	'2': {"01110", "10001", "00001", "00010", "00100", "01000", "11111"},
	'3': {"11111", "00010", "00100", "00010", "00001", "10001", "01110"},
	'4': {"00010", "00110", "01010", "10010", "11111", "00010", "00010"},
	'5': {"11111", "10000", "11110", "00001", "00001", "10001", "01110"},
	'6': {"00110", "01000", "10000", "11110", "10001", "10001", "01110"},
	'7': {"11111", "00001", "00010", "00100", "01000", "01000", "01000"},
	'8': {"01110", "10001", "10001", "01110", "10001", "10001", "01110"},
	'9': {"01110", "10001", "10001", "01111", "00001", "00010", "01100"},
	'A': {"01110", "10001", "10001", "11111", "10001", "10001", "10001"},
	'B': {"11110", "10001", "10001", "11110", "10001", "10001", "11110"},
	'C': {"01110", "10001", "10000", "10000", "10000", "10001", "01110"},
	'D': {"11100", "10010", "10001", "10001", "10001", "10010", "11100"},
	'E': {"11111", "10000", "10000", "11110", "10000", "10000", "11111"},
	'F': {"11111", "10000", "10000", "11110", "10000", "10000", "10000"},
	'G': {"01110", "10001", "10000", "10111", "10001", "10001", "01111"},
	'H': {"10001", "10001", "10001", "11111", "10001", "10001", "10001"},
	'I': {"01110", "00100", "00100", "00100", "00100", "00100", "01110"},
	'J': {"00111", "00010", "00010", "00010", "00010", "10010", "01100"},
	'K': {"10001", "10010", "10100", "11000", "10100", "10010", "10001"},
	'L': {"10000", "10000", "10000", "10000", "10000", "10000", "11111"},
	'M': {"10001", "11011", "10101", "10101", "10001", "10001", "10001"},
	'N': {"10001", "10001", "11001", "10101", "10011", "10001", "10001"},
	'O': {"01110", "10001", "10001", "10001", "10001", "10001", "01110"},
	'P': {"11110", "10001", "10001", "11110", "10000", "10000", "10000"},
	'Q': {"01110", "10001", "10001", "10001", "10101", "10010", "01101"},
	'R': {"11110", "10001", "10001", "11110", "10100", "10010", "10001"},
	'S': {"01111", "10000", "10000", "01110", "00001", "00001", "11110"},
	'T': {"11111", "00100", "00100", "00100", "00100", "00100", "00100"},
	'U': {"10001", "10001", "10001", "10001", "10001", "10001", "01110"},
	'V': {"10001", "10001", "10001", "10001", "10001", "01010", "00100"},
	'W': {"10001", "10001", "10001", "10101", "10101", "10101", "01010"},
	'X': {"10001", "10001", "01010", "00100", "01010", "10001", "10001"},
	'Y': {"10001", "10001", "10001", "01010", "00100", "00100", "00100"},
	'Z': {"11111", "00001", "00010", "00100", "01000", "10000", "11111"},
	'-': {"00000", "00000", "00000", "11111", "00000", "00000", "00000"},
	'.': {"00000", "00000", "00000", "00000", "00000", "01100", "01100"},
	'/': {"00001", "00010", "00010", "00100", "01000", "01000", "10000"},
	':': {"00000", "01100", "01100", "00000", "01100", "01100", "00000"},
	'#': {"01010", "01010", "11111", "01010", "11111", "01010", "01010"},
	'(': {"00010", "00100", "01000", "01000", "01000", "00100", "00010"},
	')': {"01000", "00100", "00010", "00010", "00010", "00100", "01000"},
}

// drawText draws s (upper-cased; unknown characters as blanks) with its
// top-left corner at (x, y), each font pixel scale x scale.
func drawText(img *image.RGBA, x, y, scale int, s string, c color.RGBA) {
	for _, ch := range strings.ToUpper(s) {
		if g, ok := glyphs[ch]; ok {
			for row, bits := range g {
				for col, b := range bits {
					if b == '1' {
						fillRect(img, x+col*scale, y+row*scale, scale, scale, c)
					}
				}
			}
		}
		x += 6 * scale
	}
}

// wrap breaks lines at spaces to at most width characters, and keeps at
// most n lines.
func wrap(lines []string, width, n int) []string {
	var out []string
	for _, l := range lines {
		for len([]rune(l)) > width {
			r := []rune(l)
			cut := width
			for cut > 0 && r[cut] != ' ' {
				cut--
			}
			if cut == 0 {
				cut = width
			}
			out = append(out, strings.TrimSpace(string(r[:cut])))
			l = strings.TrimSpace(string(r[cut:]))
		}
		out = append(out, l)
	}
	return out[:min(len(out), n)]
}

// textWidth is the width drawText uses for s.
func textWidth(s string, scale int) int {
	return len([]rune(s))*6*scale - scale
}

func fillRect(img *image.RGBA, x, y, w, h int, c color.RGBA) {
	r := image.Rect(x, y, x+w, y+h).Intersect(img.Bounds())
	for py := r.Min.Y; py < r.Max.Y; py++ {
		for px := r.Min.X; px < r.Max.X; px++ {
			i := img.PixOffset(px, py)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
		}
	}
}

// placardPNG draws a photo-like scene: a background of the given hue with
// a little deterministic texture, a white placard bearing the title
// (large) and the caption (wrapped, up to four lines), and a "SYNTHETIC
// DEMO DATA" band.
func placardPNG(title string, caption []string, hue uint8, seed uint64) ([]byte, error) {
	const w, h = 320, 240
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	x := seed | 1
	for py := 0; py < h; py++ {
		for px := 0; px < w; px++ {
			// xorshift noise, so that every image differs and compresses
			// like a photograph a little.
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			n := uint8(x & 0x0f)
			i := img.PixOffset(px, py)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = hue/2+n, 70+uint8(py/6)+n, 40+hue/3+n, 255
		}
	}
	fillRect(img, 60, 40, 200, 130, color.RGBA{20, 20, 20, 255})
	fillRect(img, 64, 44, 192, 122, color.RGBA{245, 245, 240, 255})
	scale := 4
	for textWidth(title, scale) > 180 && scale > 1 {
		scale--
	}
	drawText(img, 160-textWidth(title, scale)/2, 56, scale, title, color.RGBA{0, 0, 0, 255})
	for i, line := range wrap(caption, 30, 4) {
		drawText(img, 160-textWidth(line, 1)/2, 108+i*12, 1, line, color.RGBA{60, 60, 60, 255})
	}
	fillRect(img, 0, 208, w, 32, color.RGBA{180, 20, 20, 255})
	drawText(img, 160-textWidth("SYNTHETIC DEMO DATA", 2)/2, 217, 2, "SYNTHETIC DEMO DATA", color.RGBA{255, 255, 255, 255})
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode png: %w", err)
	}
	return withPNGText(buf.Bytes(), "Comment", "Synthetic image generated by custody demo; not evidence of any real event."), nil
}

// withPNGText inserts a tEXt chunk after the IHDR chunk of an encoded PNG.
func withPNGText(p []byte, key, text string) []byte {
	const ihdrEnd = 8 + 8 + 13 + 4 // signature, IHDR header, IHDR data, CRC
	if len(p) < ihdrEnd {
		return p
	}
	data := append([]byte(key+"\x00"), text...)
	chunk := make([]byte, 0, 12+len(data))
	chunk = binary.BigEndian.AppendUint32(chunk, uint32(len(data)))
	chunk = append(chunk, "tEXt"...)
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	out := make([]byte, 0, len(p)+len(chunk))
	out = append(out, p[:ihdrEnd]...)
	out = append(out, chunk...)
	return append(out, p[ihdrEnd:]...)
}

// toneWAV synthesises a mono 16-bit PCM WAV: a few soft tones (a stand-in
// for speech, which the demo cannot have), with an INFO chunk that says so.
func toneWAV(seconds float64, baseHz float64, title string) []byte {
	const rate = 8000
	n := int(seconds * rate)
	pcm := make([]byte, 0, 2*n)
	for i := range n {
		t := float64(i) / rate
		// A syllable-like envelope: 4 bursts a second.
		env := math.Max(0, math.Sin(math.Pi*4*t))
		f := baseHz * (1 + 0.15*math.Sin(2*math.Pi*0.7*t))
		v := 0.3 * env * (math.Sin(2*math.Pi*f*t) + 0.4*math.Sin(2*math.Pi*2*f*t))
		// Fade in and out over 50 ms.
		if fade := math.Min(t, seconds-t) / 0.05; fade < 1 {
			v *= fade
		}
		pcm = binary.LittleEndian.AppendUint16(pcm, uint16(int16(v*32767)))
	}
	info := []byte("INFO")
	info = appendRIFFChunk(info, "INAM", []byte(title+"\x00"))
	info = appendRIFFChunk(info, "ICMT", []byte("Synthetic audio generated by custody demo: tones, not a real recording.\x00"))
	var body []byte
	body = append(body, "WAVE"...)
	var fmtChunk []byte
	fmtChunk = binary.LittleEndian.AppendUint16(fmtChunk, 1)      // PCM
	fmtChunk = binary.LittleEndian.AppendUint16(fmtChunk, 1)      // mono
	fmtChunk = binary.LittleEndian.AppendUint32(fmtChunk, rate)   // sample rate
	fmtChunk = binary.LittleEndian.AppendUint32(fmtChunk, rate*2) // byte rate
	fmtChunk = binary.LittleEndian.AppendUint16(fmtChunk, 2)      // block align
	fmtChunk = binary.LittleEndian.AppendUint16(fmtChunk, 16)     // bits per sample
	body = appendRIFFChunk(body, "fmt ", fmtChunk)
	body = appendRIFFChunk(body, "LIST", info)
	body = appendRIFFChunk(body, "data", pcm)
	out := []byte("RIFF")
	out = binary.LittleEndian.AppendUint32(out, uint32(len(body)))
	return append(out, body...)
}

// appendRIFFChunk appends a chunk, padded to an even size.
func appendRIFFChunk(b []byte, id string, data []byte) []byte {
	b = append(b, id...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	if len(data)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// textPDF writes a one-page PDF 1.4 document in Helvetica: a title and
// lines of text (ASCII; others are replaced), with a correct cross-reference
// table.
func textPDF(title string, lines []string) []byte {
	esc := func(s string) string {
		var b strings.Builder
		for _, r := range s {
			switch {
			case r == '(' || r == ')' || r == '\\':
				b.WriteByte('\\')
				b.WriteRune(r)
			case r >= 0x20 && r < 0x7f:
				b.WriteRune(r)
			default:
				b.WriteByte('?')
			}
		}
		return b.String()
	}
	var content strings.Builder
	content.WriteString("BT\n/F1 15 Tf\n56 790 Td\n18 TL\n(" + esc(title) + ") Tj\n/F1 10 Tf\n14 TL\nT*\n")
	for i, l := range lines {
		if i == 52 {
			content.WriteString("(...) Tj T*\n")
			break
		}
		content.WriteString("(" + esc(l) + ") Tj T*\n")
	}
	content.WriteString("ET\n")
	stream := content.String()
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		"<< /Title (" + esc(title) + ") /Producer (custody demo: synthetic document) >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, len(objs), xref)
	return b.Bytes()
}

// csvFile writes a header and rows as RFC 4180 CSV.
func csvFile(header []string, rows [][]string) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(header); err != nil {
		return nil, err
	}
	if err := w.WriteAll(rows); err != nil {
		return nil, fmt.Errorf("write csv: %w", err)
	}
	return b.Bytes(), nil
}
