package capture

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// fuzzExtract checks Extract's invariants on arbitrary bytes: no panic, no
// error from a consistent in-memory reader, bounded reads, and a result
// that marshals to JSON with clean strings.
func fuzzExtract(t *testing.T, data []byte, mediaType string) {
	cr := &countingReader{r: bytes.NewReader(data)}
	md, err := Extract(cr, int64(len(data)), mediaType)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if cr.bytes > maxRead || cr.calls > maxReads {
		t.Fatalf("read %d bytes in %d calls", cr.bytes, cr.calls)
	}
	if _, err := json.Marshal(md); err != nil {
		t.Fatalf("json.Marshal(%+v): %v", md, err)
	}
	for _, s := range []string{md.Make, md.Model, md.Software, md.TakenAt, md.CreatedAt} {
		if !utf8.ValidString(s) || len(s) > maxText || cleanText(s) != s {
			t.Fatalf("unclean string %q", s)
		}
	}
	if md.Orientation < 0 || md.Orientation > 8 || md.Width < 0 || md.Height < 0 || md.Duration < 0 {
		t.Fatalf("out of range: %+v", md)
	}
	if g := md.GPS; g != nil && (g.Lat < -90 || g.Lat > 90 || g.Lon < -180 || g.Lon > 180) {
		t.Fatalf("GPS out of range: %+v", g)
	}
}

func addFiles(f *testing.F, pattern string) {
	paths, err := filepath.Glob(pattern)
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzExtractJPEG(f *testing.F) {
	addFiles(f, "testdata/*.jpg")
	for _, h := range hostileCases() {
		if h.mediaType == TypeJPEG && len(h.data) < 1<<16 {
			f.Add(h.data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzExtract(t, data, TypeJPEG) })
}

func FuzzExtractTIFF(f *testing.F) {
	// The TIFF bodies of the camera files' Exif segments.
	paths, _ := filepath.Glob("testdata/*.jpg")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if i := bytes.Index(b, []byte("Exif\x00\x00")); i >= 0 {
			f.Add(b[i+6 : min(len(b), i+6+1<<16)])
		}
	}
	for _, h := range hostileCases() {
		if h.mediaType == TypeTIFF {
			f.Add(h.data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzExtract(t, data, TypeTIFF)
		// PNG eXIf uses the same parser at an offset.
		png := append([]byte(pngSignature), be32(uint32(len(data)))...)
		png = append(append(append(png, "eXIf"...), data...), 0, 0, 0, 0)
		fuzzExtract(t, png, TypePNG)
	})
}

func FuzzExtractMP4(f *testing.F) {
	for _, m := range mediaCases {
		f.Add(m.data)
	}
	for _, h := range hostileCases() {
		if (h.mediaType == TypeMP4 || h.mediaType == TypeQuickTime || h.mediaType == TypeWAV) && len(h.data) < 1<<16 {
			f.Add(h.data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzExtract(t, data, TypeMP4)
		fuzzExtract(t, data, TypeWAV)
	})
}

func FuzzSniff(f *testing.F) {
	addFiles(f, "testdata/*.jpg")
	for _, m := range mediaCases {
		f.Add(m.data)
	}
	f.Add([]byte("Свідчення\n"))
	f.Add([]byte("<html>"))
	f.Fuzz(func(t *testing.T, head []byte) {
		got := Sniff(head)
		if got == "" || Sniff(head) != got {
			t.Fatalf("Sniff = %q", got)
		}
		for _, bad := range []string{"text/html", "xml", "javascript"} {
			if bytes.Contains([]byte(got), []byte(bad)) {
				t.Fatalf("Sniff returned active type %q", got)
			}
		}
		if len(head) > SniffLen && Sniff(head[:SniffLen]) != got {
			t.Fatalf("Sniff looked past SniffLen")
		}
	})
}

func FuzzSanitizeName(f *testing.F) {
	for _, s := range []string{"../../etc/passwd", "a\x00b.jpg", "C:\\Users\\x\\фото.jpg",
		"evil\u202Egpj.exe", "  . x. ", "caf\xe9.jpg", "я.jpeg", "..", "a.\u200B."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) { checkName(t, in, SanitizeName(in)) })
}
