package demo

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"image/png"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custody-dev/custody/internal/locality"
)

func TestPlacardPNG(t *testing.T) {
	a, err := placardPNG("#123", []string{"FOREST BURIAL SITE - IZIUM", "GRID C07"}, 60, 1)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 320 || b.Dy() != 240 {
		t.Errorf("size %v", b)
	}
	if !bytes.Contains(a, []byte("tEXtComment\x00Synthetic image")) {
		t.Error("no tEXt chunk marking the image synthetic")
	}
	b, _ := placardPNG("#124", []string{"FOREST BURIAL SITE - IZIUM", "GRID C07"}, 60, 1)
	if bytes.Equal(a, b) {
		t.Error("different placards encode the same")
	}
	c, _ := placardPNG("#123", []string{"FOREST BURIAL SITE - IZIUM", "GRID C07"}, 60, 1)
	if !bytes.Equal(a, c) {
		t.Error("the same placard encodes differently")
	}
}

func TestWrap(t *testing.T) {
	got := wrap([]string{"FINDING: LIGATURE MARKS ON BOTH WRISTS", "BODY IZ-F-0077", "2022-09-17", "A", "B"}, 30, 4)
	want := []string{"FINDING: LIGATURE MARKS ON", "BOTH WRISTS", "BODY IZ-F-0077", "2022-09-17"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("wrap: %q, want %q", got, want)
	}
	if got := wrap([]string{"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGH"}, 30, 4); len(got) != 2 || got[0] != "ABCDEFGHIJKLMNOPQRSTUVWXYZABCD" {
		t.Errorf("wrap of one long word: %q", got)
	}
}

func TestToneWAV(t *testing.T) {
	w := toneWAV(1.5, 180, "Testimony 01 (synthetic)")
	if string(w[:4]) != "RIFF" || string(w[8:12]) != "WAVE" {
		t.Fatalf("header %q", w[:12])
	}
	if n := binary.LittleEndian.Uint32(w[4:]); int(n) != len(w)-8 {
		t.Errorf("RIFF size %d, file %d", n, len(w))
	}
	// Walk the chunks: fmt, LIST, data; each size within the file.
	var ids []string
	var dataLen uint32
	for off := 12; off < len(w); {
		id, n := string(w[off:off+4]), binary.LittleEndian.Uint32(w[off+4:])
		ids = append(ids, id)
		if off+8+int(n) > len(w) {
			t.Fatalf("chunk %s of %d bytes runs past the end", id, n)
		}
		if id == "fmt " {
			if f := w[off+8:]; binary.LittleEndian.Uint16(f) != 1 || binary.LittleEndian.Uint16(f[2:]) != 1 ||
				binary.LittleEndian.Uint32(f[4:]) != 8000 || binary.LittleEndian.Uint16(f[14:]) != 16 {
				t.Errorf("fmt chunk % x", f[:16])
			}
		}
		if id == "data" {
			dataLen = n
		}
		off += 8 + int(n) + int(n&1)
	}
	if got := len(ids); got != 3 || ids[0] != "fmt " || ids[2] != "data" {
		t.Errorf("chunks %q", ids)
	}
	if dataLen != 2*12000 {
		t.Errorf("data %d bytes, want 1.5 s of 16-bit 8 kHz", dataLen)
	}
}

func TestTextPDF(t *testing.T) {
	p := textPDF("Report (SYNTHETIC)", []string{"line with (parentheses) and a \\ backslash", "Ізюм is not ASCII"})
	if !bytes.HasPrefix(p, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(p, []byte("%%EOF\n")) {
		t.Fatalf("not a PDF: %q ... %q", p[:10], p[len(p)-10:])
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n`).FindSubmatch(p)
	if m == nil {
		t.Fatal("no startxref")
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(p[xref:], []byte("xref\n0 7\n")) {
		t.Fatalf("startxref %d does not point at the xref table: %q", xref, p[xref:min(len(p), xref+20)])
	}
	entries := regexp.MustCompile(`(\d{10}) 00000 n \n`).FindAllSubmatch(p[xref:], -1)
	if len(entries) != 6 {
		t.Fatalf("%d in-use xref entries, want 6", len(entries))
	}
	for i, e := range entries {
		off, _ := strconv.Atoi(string(e[1]))
		want := strconv.Itoa(i+1) + " 0 obj\n"
		if !bytes.HasPrefix(p[off:], []byte(want)) {
			t.Errorf("xref entry %d points at %q, want %q", i+1, p[off:off+10], want)
		}
	}
	// Every xref line is 20 bytes.
	table := p[xref+len("xref\n0 7\n") : bytes.Index(p, []byte("trailer"))]
	if len(table) != 7*20 {
		t.Errorf("xref table is %d bytes, want 140", len(table))
	}
	loc := regexp.MustCompile(`/Length (\d+) >>\nstream\n`).FindSubmatchIndex(p)
	n, _ := strconv.Atoi(string(p[loc[2]:loc[3]]))
	if !bytes.HasPrefix(p[loc[1]+n:], []byte("endstream")) {
		t.Errorf("stream /Length %d does not end at endstream", n)
	}
	if !bytes.Contains(p, []byte(`(line with \(parentheses\) and a \\ backslash)`)) || !bytes.Contains(p, []byte("(???? is not ASCII)")) {
		t.Error("text not escaped")
	}
}

func TestCSVFile(t *testing.T) {
	b, err := csvFile([]string{"a", "b"}, [][]string{{"1", "x, y"}, {"2", `"q"`}})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(rows) != 3 || rows[1][1] != "x, y" || rows[2][1] != `"q"` {
		t.Errorf("rows %q, %v", rows, err)
	}
}

func TestTranscripts(t *testing.T) {
	d := day(2022, time.March, 9)
	for _, lang := range []string{"uk", "ru", "en"} {
		for _, theme := range []string{"strike", "building", "killing", "torture", "detention", "burial"} {
			s := transcript(lang, theme, places[pIzium], d)
			if len(s) < 80 {
				t.Errorf("%s %s: %q", lang, theme, s)
			}
		}
	}
	if s := transcript("uk", "strike", places[pIzium], d); !bytes.Contains([]byte(s), []byte("9 березня 2022 року")) || !bytes.Contains([]byte(s), []byte("Ізюм")) {
		t.Errorf("uk: %q", s)
	}
}

func TestCivilTime(t *testing.T) {
	for _, c := range []struct {
		d    time.Time
		want string
	}{
		{day(2022, time.March, 9), "+02:00"},
		{day(2022, time.March, 27), "+03:00"}, // last Sunday of March 2022
		{day(2022, time.September, 16), "+03:00"},
		{day(2022, time.October, 30), "+02:00"}, // last Sunday of October 2022
	} {
		if got := at(c.d, 12, 0).Format("-07:00"); got != c.want {
			t.Errorf("%s: %s, want %s", c.d.Format(time.DateOnly), got, c.want)
		}
	}
}

func TestPlaces(t *testing.T) {
	g, err := locality.Load()
	if err != nil {
		t.Fatal(err)
	}
	const kharkivOblast = "UA63000000000041885"
	for _, code := range iziumVillages {
		if path := g.Path(code); len(path) == 0 || path[0].Code != kharkivOblast {
			t.Errorf("%s is not a unit of Kharkiv oblast", code)
		}
	}
	for i, p := range places {
		u, ok := g.Get(p.code)
		if !ok || u.NameLatin != p.name || u.Name != p.uk {
			t.Errorf("%s: codifier has %+v, want %s / %s", p.code, u, p.name, p.uk)
		}
		if path := g.Path(p.code); len(path) == 0 || path[0].Code != kharkivOblast {
			t.Errorf("%s (%s) is not in Kharkiv oblast", p.name, p.code)
		}
		if p.occupied != "" && parseDay(p.liberated).Before(parseDay(p.occupied)) {
			t.Errorf("%s: liberated before occupied", p.name)
		}
		if p.lat < 49 || p.lat > 50.5 || p.lon < 35.5 || p.lon > 38.5 {
			t.Errorf("%s: position %v, %v outside Kharkiv oblast", p.name, p.lat, p.lon)
		}
		for j := range i {
			if places[j].code == p.code {
				t.Errorf("%s listed twice", p.code)
			}
		}
	}
}
