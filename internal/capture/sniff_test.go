package capture

import (
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSniff(t *testing.T) {
	nikon, err := os.ReadFile("testdata/nikon-d2h-gps.jpg")
	if err != nil {
		t.Fatal(err)
	}
	pad := func(s string) []byte { return append([]byte(s), make([]byte, 64)...) }
	ftypHead := func(major string, compat ...string) []byte { return ftyp(major, compat...) }
	tests := []struct {
		name string
		head []byte
		want string
	}{
		{"camera jpeg", nikon, TypeJPEG},
		{"png", pad(pngSignature), TypePNG},
		{"gif", pad("GIF89a"), "image/gif"},
		{"webp", pad("RIFF\x00\x00\x00\x00WEBPVP8 "), "image/webp"},
		{"tiff le", pad("II*\x00"), TypeTIFF},
		{"tiff be (dng)", pad("MM\x00*"), TypeTIFF},
		{"bigtiff", pad("II+\x00"), TypeTIFF},
		{"heic", ftypHead("heic", "mif1", "heic"), TypeHEIC},
		{"mif1 with heic brand", ftypHead("mif1", "mif1", "heic"), TypeHEIC},
		{"heif", ftypHead("mif1", "mif1"), TypeHEIF},
		{"avif", ftypHead("avif", "mif1"), "image/avif"},
		{"mp4 isom", ftypHead("isom", "isom", "avc1"), TypeMP4},
		{"mp4 mp42", ftypHead("mp42", "mp41"), TypeMP4},
		{"mp4 avc1", ftypHead("avc1"), TypeMP4},
		{"quicktime", ftypHead("qt  ", "qt  "), TypeQuickTime},
		{"quicktime without ftyp", pad("\x00\x00\x00\x08wide"), TypeQuickTime},
		{"m4a", ftypHead("M4A ", "M4A ", "mp42"), TypeM4A},
		{"3gp", ftypHead("3gp5", "3gp5"), Type3GPP},
		{"3g2", ftypHead("3g2a"), "video/3gpp2"},
		{"webm", pad("\x1A\x45\xDF\xA3\x9F\x42\x86\x81\x01\x42\x82\x84webm"), "video/webm"},
		{"matroska", pad("\x1A\x45\xDF\xA3\xA3\x42\x82\x88matroska"), "video/x-matroska"},
		{"avi", pad("RIFF\x00\x00\x00\x00AVI LIST"), "video/x-msvideo"},
		{"wav", wav(8000, 1, 8, 10), TypeWAV},
		{"mp3 id3", pad("ID3\x04\x00"), "audio/mpeg"},
		{"mp3 frame", pad("\xFF\xFB\x90\x64"), "audio/mpeg"},
		{"ogg vorbis", pad("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x01vorbis"), "audio/ogg"},
		{"ogg theora", pad("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x80theora"), "video/ogg"},
		{"flac", pad("fLaC"), "audio/flac"},
		{"pdf", pad("%PDF-1.7\n"), "application/pdf"},
		{"zip", pad("PK\x03\x04"), "application/zip"},
		{"text ascii", []byte("Witness statement, 16 September 2022\n"), TypeText},
		{"text ukrainian", []byte("Свідчення очевидця, Харків\n"), TypeText},
		{"text cut mid-character", []byte("Харків")[:5], TypeText},
		{"html is not html", []byte("<!DOCTYPE html><html><script>alert(1)</script>"), TypeText},
		{"svg is not an image", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), TypeText},
		{"text that says free", []byte("the free press"), TypeText},
		{"latin-1 html", []byte("<html><body>caf\xe9</body></html>"), TypeUnknown},
		{"utf-16le", []byte("\xFF\xFEh\x00i\x00"), "text/plain; charset=utf-16le"},
		{"gzip via net/http", pad("\x1F\x8B\x08"), "application/x-gzip"},
		{"binary", []byte{0, 1, 2, 3, 0xFE, 0x80}, TypeUnknown},
		{"empty", nil, TypeUnknown},
		{"one byte", []byte{0xFF}, TypeUnknown},
		{"ftyp in text is not mp4", []byte("abc ftypisom"), TypeText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sniff(tt.head); got != tt.want {
				t.Errorf("Sniff(%q) = %q, want %q", truncateForLog(tt.head), got, tt.want)
			}
		})
	}
}

func truncateForLog(b []byte) []byte { return b[:min(len(b), 32)] }

func TestSanitizeName(t *testing.T) {
	long := strings.Repeat("я", 200) + ".jpeg" // 405 bytes
	tests := []struct {
		name, in, want string
	}{
		{"plain", "IMG_0001.JPG", "IMG_0001.JPG"},
		{"traversal", "../../etc/passwd", "passwd"},
		{"only dots", "..", "unnamed"},
		{"dot dot slash", "../", "unnamed"},
		{"nul", "a\x00b.jpg", "ab.jpg"},
		{"windows path", "C:\\Users\\x\\фото.jpg", "фото.jpg"},
		{"drive prefix", "D:фото.jpg", "фото.jpg"},
		{"mixed separators", "a/b\\c/d.mp4", "d.mp4"},
		{"trailing separator", "DCIM/100APPLE/", "100APPLE"},
		{"bidi override", "evil\u202Egpj.exe", "evilgpj.exe"},
		{"bidi isolates", "\u2066a\u2067b\u2068c\u2069.png", "abc.png"},
		{"zero width", "in\u200Bvoice\u200D\uFEFF.pdf", "invoice.pdf"},
		{"c1 and del", "a\u0085b\x7Fc.txt", "abc.txt"},
		{"newlines", "line1\nline2\r.txt", "line1line2.txt"},
		{"line separator", "a\u2028b.txt", "ab.txt"},
		{"trim spaces and dots", "  . photo.jpg. . ", "photo.jpg"},
		{"hidden file", ".bashrc", "bashrc"},
		{"inner dots kept", "report..final.pdf", "report..final.pdf"},
		{"invalid utf-8", "caf\xe9.jpg", "caf\uFFFD.jpg"},
		{"ukrainian", "Харків_обстріл_2022-09-16.mp4", "Харків_обстріл_2022-09-16.mp4"},
		{"arabic", "صورة.jpg", "صورة.jpg"},
		{"emoji", "🙂.png", "🙂.png"},
		{"empty", "", "unnamed"},
		{"only controls", "\x00\x01\u202E", "unnamed"},
		{"long keeps extension", long, strings.Repeat("я", 125) + ".jpeg"},
		{"long ascii", strings.Repeat("a", 400), strings.Repeat("a", 255)},
		{"long extension not kept", strings.Repeat("b", 300) + "." + strings.Repeat("x", 40), strings.Repeat("b", 255)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SanitizeName(tt.in)
			if got != tt.want {
				t.Errorf("SanitizeName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			checkName(t, tt.in, got)
		})
	}
}

// checkName asserts SanitizeName's documented invariants.
func checkName(t *testing.T, in, got string) {
	t.Helper()
	switch {
	case got == "" || got == "." || got == "..":
		t.Errorf("SanitizeName(%q) = %q", in, got)
	case len(got) > maxName:
		t.Errorf("SanitizeName(%q) is %d bytes", in, len(got))
	case !utf8.ValidString(got):
		t.Errorf("SanitizeName(%q) = %q is not valid UTF-8", in, got)
	case strings.ContainsAny(got, "/\\"):
		t.Errorf("SanitizeName(%q) = %q contains a separator", in, got)
	case strings.TrimFunc(got, func(r rune) bool { return r == ' ' || r == '.' }) != got:
		t.Errorf("SanitizeName(%q) = %q has spaces or dots at an end", in, got)
	case strings.Map(dropInvisible, got) != got:
		t.Errorf("SanitizeName(%q) = %q has invisible characters", in, got)
	case SanitizeName(got) != got:
		t.Errorf("SanitizeName is not idempotent on %q: %q", got, SanitizeName(got))
	}
}
