package capture

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custody-dev/custody"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// exiftoolArgs are the tags the golden files hold; see testdata/README.md.
var exiftoolArgs = []string{"-json", "-n", "-DateTimeOriginal", "-OffsetTimeOriginal",
	"-CreateDate", "-ModifyDate", "-Make", "-Model", "-Orientation",
	"-GPSLatitude", "-GPSLongitude", "-GPSAltitude", "-ImageWidth", "-ImageHeight"}

// goldenFiles are the real camera files in testdata, each with a
// <name>.exiftool.json made by exiftool with exiftoolArgs.
var goldenFiles = []string{
	"nikon-d2h-gps.jpg",
	"iphone4s-gps.jpg",
	"htc-m8-gps.jpg",
	"samsung-n920t-gps.jpg",
	"scaled-south-gps.jpg",
	"orientation6-nogps.jpg",
}

// deviations are where Extract knowingly differs from exiftool, and why.
var deviations = map[string]func(want *Metadata){
	// The HTC One M8 writes GPS coordinates as ASCII strings with decimal
	// commas ("52,00000,50,00000,34,01180") instead of rationals. exiftool
	// reads the commas as separators (52°0'50"), which is probably wrong
	// (52°50'34.0118"). An evidence record must not hold a guessed
	// position, so Extract reports no GPS for it.
	"htc-m8-gps.jpg": func(want *Metadata) { want.GPS = nil },
}

// exiftoolRecord is one object of `exiftool -json -n` output. Values are
// kept as any because exiftool prints numeric-looking strings as numbers.
type exiftoolRecord struct {
	DateTimeOriginal   any
	OffsetTimeOriginal any
	CreateDate         any
	ModifyDate         any
	Make               any
	Model              any
	Orientation        *int
	GPSLatitude        *float64
	GPSLongitude       *float64
	GPSAltitude        *float64
	ImageWidth         *int
	ImageHeight        *int
	Duration           *float64
}

// wantFromExiftool converts exiftool's JSON for one file to the Metadata
// that Extract should return (ignoring Software and GPS time, which the
// golden files do not hold).
func wantFromExiftool(t *testing.T, data []byte) Metadata {
	t.Helper()
	var recs []exiftoolRecord
	if err := json.Unmarshal(data, &recs); err != nil || len(recs) != 1 {
		t.Fatalf("exiftool JSON: %v (%d records)", err, len(recs))
	}
	r := recs[0]
	str := func(v any) string {
		if v == nil {
			return ""
		}
		return fmt.Sprint(v)
	}
	var md Metadata
	md.Make, md.Model = str(r.Make), str(r.Model)
	if r.Orientation != nil {
		md.Orientation = *r.Orientation
	}
	if r.ImageWidth != nil && r.ImageHeight != nil {
		md.Width, md.Height = *r.ImageWidth, *r.ImageHeight
	}
	for _, c := range []struct{ dt, off string }{
		{str(r.DateTimeOriginal), str(r.OffsetTimeOriginal)},
		{str(r.CreateDate), ""},
		{str(r.ModifyDate), ""},
	} {
		if len(c.dt) >= 19 {
			d := c.dt
			md.TakenAt = d[0:4] + "-" + d[5:7] + "-" + d[8:10] + "T" + d[11:19] + c.off
			break
		}
	}
	if r.GPSLatitude != nil && r.GPSLongitude != nil {
		md.GPS = &GPS{Lat: *r.GPSLatitude, Lon: *r.GPSLongitude, Alt: r.GPSAltitude}
	}
	if r.Duration != nil {
		md.Duration = *r.Duration
	}
	return md
}

// comparable strips what exiftool is not asked for.
func comparable(md Metadata) Metadata {
	md.Software = ""
	if md.GPS != nil {
		g := *md.GPS
		g.Time = ""
		md.GPS = &g
	}
	return md
}

var approx = cmpopts.EquateApprox(0, 1e-6)

func extractFile(t *testing.T, path string) Metadata {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, SniffLen)
	n, _ := f.ReadAt(head, 0)
	md, err := Extract(f, fi.Size(), Sniff(head[:n]))
	if err != nil {
		t.Fatalf("Extract(%s): %v", path, err)
	}
	return md
}

func TestExtractGolden(t *testing.T) {
	for _, name := range goldenFiles {
		t.Run(name, func(t *testing.T) {
			golden, err := os.ReadFile(filepath.Join("testdata", strings.TrimSuffix(name, ".jpg")+".exiftool.json"))
			if err != nil {
				t.Fatal(err)
			}
			want := wantFromExiftool(t, golden)
			if fix := deviations[name]; fix != nil {
				fix(&want)
			}
			got := comparable(extractFile(t, filepath.Join("testdata", name)))
			if diff := cmp.Diff(want, got, approx); diff != "" {
				t.Errorf("Extract mismatch vs exiftool (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExtractDetails checks what the golden files do not hold.
func TestExtractDetails(t *testing.T) {
	tests := []struct {
		name     string
		software string
		gpsTime  string
	}{
		{"nikon-d2h-gps.jpg", "Opanda PowerExif", "2003-11-23T18:07:37Z"},
		{"samsung-n920t-gps.jpg", "GIMP 2.8.20", "2018-04-29T01:22:57Z"},
		{"iphone4s-gps.jpg", "7.1.1", ""},
		{"htc-m8-gps.jpg", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := extractFile(t, filepath.Join("testdata", tt.name))
			if md.Software != tt.software {
				t.Errorf("Software = %q, want %q", md.Software, tt.software)
			}
			var got string
			if md.GPS != nil {
				got = md.GPS.Time
			}
			if got != tt.gpsTime {
				t.Errorf("GPS.Time = %q, want %q", got, tt.gpsTime)
			}
			if _, err := json.Marshal(md); err != nil {
				t.Errorf("json.Marshal: %v", err)
			}
		})
	}
}

// needExiftool returns exiftool's path, skipping the test when it is not
// installed, except under CI (CI=true), where it must be.
func needExiftool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("exiftool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("exiftool not found on PATH; CI must install it (apt-get install libimage-exiftool-perl)")
		}
		t.Skip("exiftool not found on PATH; install libimage-exiftool-perl to compare against it live")
	}
	return p
}

func runExiftool(t *testing.T, exiftool string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(exiftool, args...).Output()
	if err != nil {
		t.Fatalf("exiftool %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func TestExtractExiftoolLive(t *testing.T) {
	exiftool := needExiftool(t)
	for _, name := range goldenFiles {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			want := wantFromExiftool(t, runExiftool(t, exiftool, append(exiftoolArgs, path)...))
			if fix := deviations[name]; fix != nil {
				fix(&want)
			}
			got := comparable(extractFile(t, path))
			if diff := cmp.Diff(want, got, approx); diff != "" {
				t.Errorf("Extract mismatch vs live exiftool (-want +got):\n%s", diff)
			}
		})
	}
}

// Synthetic ISO-BMFF files.

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func mp4Box(typ string, payload ...[]byte) []byte {
	p := cat(payload...)
	return cat(be32(uint32(8+len(p))), []byte(typ), p)
}

// mp4LargeBox writes a box with a 64-bit size.
func mp4LargeBox(typ string, payload ...[]byte) []byte {
	p := cat(payload...)
	return cat(be32(1), []byte(typ), be64(uint64(16+len(p))), p)
}

var identity = cat(be32(0x10000), be32(0), be32(0), be32(0), be32(0x10000), be32(0), be32(0), be32(0), be32(0x40000000))

func mvhd0(created, timescale, duration uint32) []byte {
	return mp4Box("mvhd", []byte{0, 0, 0, 0}, be32(created), be32(created), be32(timescale), be32(duration),
		be32(0x10000), []byte{1, 0}, make([]byte, 10), identity, make([]byte, 24), be32(2))
}

func mvhd1(created uint64, timescale uint32, duration uint64) []byte {
	return mp4Box("mvhd", []byte{1, 0, 0, 0}, be64(created), be64(created), be32(timescale), be64(duration),
		be32(0x10000), []byte{1, 0}, make([]byte, 10), identity, make([]byte, 24), be32(2))
}

func tkhd0(w, h uint32) []byte {
	return mp4Box("tkhd", []byte{0, 0, 0, 3}, be32(0), be32(0), be32(1), be32(0), be32(0),
		make([]byte, 8), make([]byte, 8), identity, be32(w<<16), be32(h<<16))
}

func tkhd1(w, h uint32) []byte {
	return mp4Box("tkhd", []byte{1, 0, 0, 3}, be64(0), be64(0), be32(1), be32(0), be64(0),
		make([]byte, 8), make([]byte, 8), identity, be32(w<<16), be32(h<<16))
}

func ftyp(major string, compat ...string) []byte {
	return mp4Box("ftyp", []byte(major), be32(0x200), []byte(strings.Join(compat, "")))
}

// mp4Seconds is t in seconds since 1904-01-01 UTC.
func mp4Seconds(t time.Time) uint64 { return uint64(t.Unix() + mp4EpochOffset) }

func wav(rate, channels, bits uint16, dataBytes int) []byte {
	le16 := func(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
	le32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	align := channels * bits / 8
	fmtc := cat([]byte("fmt "), le32(16), le16(1), le16(channels), le32(uint32(rate)),
		le32(uint32(rate)*uint32(align)), le16(align), le16(bits))
	list := cat([]byte("LIST"), le32(9), []byte("INFOISFT\x00"), []byte{0}) // odd size, padded
	data := cat([]byte("data"), le32(uint32(dataBytes)), make([]byte, dataBytes))
	body := cat([]byte("WAVE"), fmtc, list, data)
	return cat([]byte("RIFF"), le32(uint32(len(body))), body)
}

var (
	taken     = time.Date(2022, 9, 16, 10, 4, 33, 0, time.UTC)
	takenSecs = mp4Seconds(taken)
)

// mediaCases are synthetic media files with the Metadata they hold.
var mediaCases = []struct {
	name string
	ext  string
	data []byte
	want Metadata
	// exiftoolDuration, when set, is what exiftool reports instead of
	// want.Duration: for WAV it estimates file size / byte rate, while
	// Extract uses the data chunk's size.
	exiftoolDuration float64
	// noExiftool says why exiftool is not compared.
	noExiftool string
}{
	{
		name: "mp4 mvhd v0 tkhd v0",
		ext:  ".mp4",
		data: cat(ftyp("isom", "isom", "mp42"),
			mp4Box("moov", mvhd0(uint32(takenSecs), 1000, 12345), mp4Box("trak", tkhd0(1920, 1080))),
			mp4Box("mdat", make([]byte, 64))),
		want: Metadata{Duration: 12.345, CreatedAt: "2022-09-16T10:04:33Z", Width: 1920, Height: 1080},
	},
	{
		name: "mov mvhd v1, 64-bit mdat first, audio track first",
		ext:  ".mov",
		data: cat(ftyp("qt  ", "qt  "),
			mp4LargeBox("mdat", make([]byte, 100)),
			mp4Box("moov", mvhd1(takenSecs+3600, 600, 600*90),
				mp4Box("trak", tkhd1(0, 0)),
				mp4Box("trak", tkhd1(1280, 720)))),
		want: Metadata{Duration: 90, CreatedAt: "2022-09-16T11:04:33Z", Width: 1280, Height: 720},
	},
	{
		name: "m4a zero creation time, moov to end of file",
		ext:  ".m4a",
		data: cat(ftyp("M4A ", "M4A ", "isom"),
			mp4Box("mdat", make([]byte, 16)),
			func() []byte { b := mp4Box("moov", mvhd0(0, 44100, 44100*3)); copy(b, be32(0)); return b }()),
		want:       Metadata{Duration: 3},
		noExiftool: "exiftool 12.57 ignores a last box of size 0 (to end of file), which ISO 14496-12 allows",
	},
	{
		name: "3gp",
		ext:  ".3gp",
		data: cat(ftyp("3gp4", "isom", "3gp4"),
			mp4Box("moov", mvhd0(uint32(takenSecs), 90000, 90000/2), mp4Box("trak", tkhd0(176, 144)))),
		want: Metadata{Duration: 0.5, CreatedAt: "2022-09-16T10:04:33Z", Width: 176, Height: 144},
	},
	{
		name: "wav 8 kHz mono 8-bit",
		ext:  ".wav",
		data: wav(8000, 1, 8, 12000),
		want: Metadata{Duration: 1.5},
		// 12062 bytes / 8000 bytes per second.
		exiftoolDuration: 1.50775,
	},
	{
		name: "wav 44.1 kHz stereo 16-bit",
		ext:  ".wav",
		data: wav(44100, 2, 16, 44100*4/4),
		want: Metadata{Duration: 0.25},
		// 44162 bytes / 176400 bytes per second.
		exiftoolDuration: 44162.0 / 176400,
	},
}

func TestExtractMedia(t *testing.T) {
	for _, tt := range mediaCases {
		t.Run(tt.name, func(t *testing.T) {
			mt := Sniff(tt.data)
			got, err := Extract(bytes.NewReader(tt.data), int64(len(tt.data)), mt)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, approx); diff != "" {
				t.Errorf("Extract(%s) mismatch (-want +got):\n%s", mt, diff)
			}
		})
	}
}

func TestExtractMediaExiftoolLive(t *testing.T) {
	exiftool := needExiftool(t)
	dir := t.TempDir()
	for i, tt := range mediaCases {
		t.Run(tt.name, func(t *testing.T) {
			if tt.noExiftool != "" {
				t.Skip(tt.noExiftool)
			}
			path := filepath.Join(dir, fmt.Sprintf("f%d%s", i, tt.ext))
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			var recs []struct {
				Duration   *float64
				CreateDate string
			}
			out := runExiftool(t, exiftool, "-json", "-n", "-Duration", "-CreateDate", path)
			if err := json.Unmarshal(out, &recs); err != nil || len(recs) != 1 {
				t.Fatalf("exiftool JSON %q: %v", out, err)
			}
			var want Metadata
			if recs[0].Duration != nil {
				want.Duration = *recs[0].Duration
			}
			if d := recs[0].CreateDate; len(d) >= 19 && !strings.HasPrefix(d, "0000") {
				want.CreatedAt = d[0:4] + "-" + d[5:7] + "-" + d[8:10] + "T" + d[11:19] + "Z"
			}
			got := extractFile(t, path)
			got.Width, got.Height = 0, 0
			if tt.exiftoolDuration != 0 {
				if diff := cmp.Diff(tt.exiftoolDuration, want.Duration, approx); diff != "" {
					t.Errorf("exiftool's duration estimate changed (-want +got):\n%s", diff)
				}
				want.Duration = tt.want.Duration
			}
			if diff := cmp.Diff(want, got, approx); diff != "" {
				t.Errorf("Extract mismatch vs exiftool (-want +got):\n%s", diff)
			}
		})
	}
}

// Hostile input.

// countingReader records what Extract asks of it.
type countingReader struct {
	r            io.ReaderAt
	calls, bytes int
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.calls++
	c.bytes += len(p)
	return c.r.ReadAt(p, off)
}

// tiffFile builds a big-endian TIFF with one IFD at offset 8 holding the
// given 12-byte entries, followed by extra.
func tiffFile(next uint32, entries [][]byte, extra ...[]byte) []byte {
	n := make([]byte, 2)
	binary.BigEndian.PutUint16(n, uint16(len(entries)))
	return cat([]byte("MM\x00*"), be32(8), n, cat(entries...), be32(next), cat(extra...))
}

func ifdEntryBytes(tag, typ uint16, count, val uint32) []byte {
	b := binary.BigEndian.AppendUint16(nil, tag)
	b = binary.BigEndian.AppendUint16(b, typ)
	return cat(b, be32(count), be32(val))
}

// jpegWithExif wraps a TIFF structure in a minimal JPEG.
func jpegWithExif(tiff []byte) []byte {
	seg := cat([]byte("Exif\x00\x00"), tiff)
	n := binary.BigEndian.AppendUint16(nil, uint16(len(seg)+2))
	return cat([]byte{0xFF, 0xD8, 0xFF, 0xE1}, n, seg, []byte{0xFF, 0xD9})
}

func nested(depth int, typ string, inner []byte) []byte {
	for range depth {
		inner = mp4Box(typ, inner)
	}
	return inner
}

func hostileCases() []struct {
	name, mediaType string
	data            []byte
} {
	manyBoxes := bytes.Repeat(mp4Box("free"), 200000)
	manyChunks := cat([]byte(pngSignature), bytes.Repeat(cat(be32(0), []byte("tEXt"), be32(0)), 100000))
	return []struct {
		name, mediaType string
		data            []byte
	}{
		{"empty jpeg", TypeJPEG, nil},
		{"jpeg SOI only", TypeJPEG, []byte{0xFF, 0xD8}},
		{"jpeg segment length 0", TypeJPEG, []byte{0xFF, 0xD8, 0xFF, 0xE1, 0, 0}},
		{"jpeg segment past end", TypeJPEG, []byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 'E', 'x'}},
		{"jpeg endless fill bytes", TypeJPEG, cat([]byte{0xFF, 0xD8}, bytes.Repeat([]byte{0xFF}, 1<<20))},
		{"jpeg many empty segments", TypeJPEG, cat([]byte{0xFF, 0xD8}, bytes.Repeat([]byte{0xFF, 0xFE, 0, 2}, 1<<18))},
		{"ifd loop exif->ifd0, gps->self", TypeJPEG, jpegWithExif(tiffFile(8, [][]byte{
			ifdEntryBytes(tagExifIFD, tLong, 1, 8),
			ifdEntryBytes(tagGPSIFD, tLong, 1, 8),
		}))},
		{"ifd next points to itself", TypeTIFF, tiffFile(8, [][]byte{ifdEntryBytes(tagOrientation, tShort, 1, 0x00030000)})},
		{"ifd giant entry count", TypeTIFF, cat([]byte("MM\x00*"), be32(8), []byte{0xFF, 0xFF}, bytes.Repeat([]byte{0x01}, 1<<16))},
		{"ifd offset past end", TypeTIFF, cat([]byte("II*\x00"), []byte{0xFF, 0xFF, 0xFF, 0xFF})},
		{"ifd offset into header", TypeTIFF, cat([]byte("II*\x00"), []byte{0, 0, 0, 0})},
		{"ascii count 2^32-1", TypeTIFF, tiffFile(0, [][]byte{
			ifdEntryBytes(tagMake, tASCII, 0xFFFFFFFF, 8),
			ifdEntryBytes(tagModel, tASCII, 0xFFFFFFFF, 0xFFFFFFF0),
		})},
		{"rational zero denominators", TypeTIFF, tiffFile(0, [][]byte{ifdEntryBytes(tagGPSIFD, tLong, 1, 26)},
			[]byte{0, 2}, ifdEntryBytes(tagGPSLat, tRational, 3, 56), ifdEntryBytes(tagGPSLon, tRational, 3, 56), be32(0),
			make([]byte, 24))},
		{"unknown field type", TypeTIFF, tiffFile(0, [][]byte{ifdEntryBytes(tagOrientation, 0xFFFF, 0xFFFFFFFF, 0)})},
		{"box size 0 nested", TypeMP4, cat(ftyp("isom"), mp4Box("moov", be32(0), []byte("trak"), be32(0), []byte("tkhd")))},
		{"box size smaller than header", TypeMP4, cat(be32(4), []byte("ftyp"), be32(0))},
		{"largesize smaller than header", TypeMP4, cat(ftyp("isom"), be32(1), []byte("moov"), be64(3))},
		{"largesize 2^64-1", TypeMP4, cat(ftyp("isom"), be32(1), []byte("mdat"), be64(^uint64(0)))},
		{"truncated mvhd", TypeQuickTime, cat(ftyp("qt  "), mp4Box("moov", []byte("\x00\x00\x00\x30mvhd\x01\x00\x00\x00")))},
		{"deep nesting moov", TypeMP4, nested(5000, "moov", mvhd0(1, 1, 1))},
		{"deep nesting trak", TypeMP4, mp4Box("moov", nested(5000, "trak", tkhd0(1, 1)))},
		{"200000 boxes", TypeMP4, manyBoxes},
		{"mvhd huge values", TypeMP4, mp4Box("moov", mvhd1(^uint64(0)-1, 1, ^uint64(0)-1))},
		{"png huge chunk length", TypePNG, cat([]byte(pngSignature), be32(0xFFFFFFF0), []byte("IHDR"))},
		{"png 100000 chunks", TypePNG, manyChunks},
		{"png eXIf loop", TypePNG, func() []byte {
			tf := tiffFile(8, [][]byte{ifdEntryBytes(tagExifIFD, tLong, 1, 8)})
			return cat([]byte(pngSignature), be32(uint32(len(tf))), []byte("eXIf"), tf, be32(0))
		}()},
		{"wav data size past end", TypeWAV, func() []byte { b := wav(8000, 1, 8, 100); copy(b[len(b)-104:], be32(0xFFFFFFFF)); return b }()},
		{"wav byte rate 0", TypeWAV, wav(0, 1, 8, 100)},
		{"wav chunk size 2^32-1", TypeWAV, cat([]byte("RIFF\x00\x00\x00\x00WAVE"), []byte("junk\xFF\xFF\xFF\xFF"))},
	}
}

func TestExtractHostile(t *testing.T) {
	for _, tt := range hostileCases() {
		t.Run(tt.name, func(t *testing.T) {
			cr := &countingReader{r: bytes.NewReader(tt.data)}
			start := time.Now()
			md, err := Extract(cr, int64(len(tt.data)), tt.mediaType)
			if err != nil {
				t.Errorf("Extract: %v (want nil: odd files are not errors)", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Extract took %v", d)
			}
			if cr.bytes > maxRead || cr.calls > maxReads {
				t.Errorf("read %d bytes in %d calls; limits are %d and %d", cr.bytes, cr.calls, maxRead, maxReads)
			}
			if _, err := json.Marshal(md); err != nil {
				t.Errorf("json.Marshal(%+v): %v", md, err)
			}
		})
	}
}

// TestExtractTruncated cuts every testdata and synthetic file short at
// many lengths: no error (the reader is consistent), no panic.
func TestExtractTruncated(t *testing.T) {
	type file struct {
		name string
		data []byte
	}
	var files []file
	paths, _ := filepath.Glob("testdata/*.jpg")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, file{filepath.Base(p), b})
	}
	for _, m := range mediaCases {
		files = append(files, file{m.name, m.data})
	}
	for _, f := range files {
		mt := Sniff(f.data)
		step := max(1, len(f.data)/300)
		for n := 0; n < len(f.data); n += step {
			md, err := Extract(bytes.NewReader(f.data[:n]), int64(n), mt)
			if err != nil {
				t.Fatalf("%s cut at %d: %v", f.name, n, err)
			}
			if _, err := json.Marshal(md); err != nil {
				t.Fatalf("%s cut at %d: json: %v", f.name, n, err)
			}
		}
	}
}

type failingReader struct{ err error }

func (f failingReader) ReadAt([]byte, int64) (int, error) { return 0, f.err }

func TestExtractErrors(t *testing.T) {
	jpeg, err := os.ReadFile("testdata/nikon-d2h-gps.jpg")
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk on fire")
	tests := []struct {
		name     string
		r        io.ReaderAt
		size     int64
		wantIs   error
		wantCode string
	}{
		{"reader fails", failingReader{boom}, 1000, boom, custody.EINTERNAL},
		{"reader shorter than size", bytes.NewReader(jpeg[:100]), int64(len(jpeg)), io.ErrUnexpectedEOF, custody.EINTERNAL},
		{"negative size", bytes.NewReader(jpeg), -1, nil, custody.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Extract(tt.r, tt.size, TypeJPEG)
			if err == nil {
				t.Fatal("Extract succeeded; want an error")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tt.wantIs)
			}
			if code := custody.ErrorCode(err); code != tt.wantCode {
				t.Errorf("ErrorCode = %q, want %q", code, tt.wantCode)
			}
		})
	}
}

func TestExtractUnknownType(t *testing.T) {
	for _, mt := range []string{"", "application/pdf", "text/plain; charset=utf-8", "bogus"} {
		md, err := Extract(failingReader{errors.New("must not read")}, 10, mt)
		if err != nil || md != (Metadata{}) {
			t.Errorf("Extract(%q) = %+v, %v; want empty, nil", mt, md, err)
		}
	}
}

func TestExifTime(t *testing.T) {
	tests := []struct {
		dt, off, want string
		ok            bool
	}{
		{"2022:09:16 10:04:33", "", "2022-09-16T10:04:33", true},
		{"2022:09:16 10:04:33", "+03:00", "2022-09-16T10:04:33+03:00", true},
		{"2022:09:16 10:04:33", "-05:30", "2022-09-16T10:04:33-05:30", true},
		{"2022:09:16 10:04:33", "+3", "2022-09-16T10:04:33", true},
		{"2022-09-16 10:04:33", "", "2022-09-16T10:04:33", true},
		{"2022:09:16 10:04:33.123", "", "2022-09-16T10:04:33", true},
		{"0000:00:00 00:00:00", "", "", false},
		{"    :  :     :  :  ", "", "", false},
		{"2022:02:30 10:04:33", "", "", false},
		{"2022:09:16", "", "", false},
	}
	for _, tt := range tests {
		got, ok := exifTime(tt.dt, tt.off)
		if got != tt.want || ok != tt.ok {
			t.Errorf("exifTime(%q, %q) = %q, %v; want %q, %v", tt.dt, tt.off, got, ok, tt.want, tt.ok)
		}
	}
}

// TestExtractTIFF checks a little-endian TIFF file with every tag Extract
// reads, including signed GPS and an offset for the original time.
func TestExtractTIFF(t *testing.T) {
	le16 := func(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
	le32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	entry := func(tag, typ uint16, count, val uint32) []byte {
		return cat(le16(tag), le16(typ), le32(count), le32(val))
	}
	rat := func(n, d uint32) []byte { return cat(le32(n), le32(d)) }
	// Layout: header 8, IFD0 at 8 (7 entries: 2+84+4=90) -> 98,
	// Exif IFD at 98 (2 entries: 2+24+4=30) -> 128, GPS IFD at 128
	// (7 entries: 90) -> 218, then data.
	const data = 218
	mk := "Canon\x00"
	model := "Canon EOS 5D Mark III\x00"
	dto := "2022:09:16 10:04:33\x00"
	dateStamp := "2022:09:16\x00"
	ifd0 := cat(le16(7),
		entry(tagImageWidth, tShort, 1, 6000),
		entry(tagImageLength, tLong, 1, 4000),
		entry(tagMake, tASCII, uint32(len(mk)), data),
		entry(tagModel, tASCII, uint32(len(model)), data+6),
		entry(tagOrientation, tShort, 1, 8),
		entry(tagExifIFD, tLong, 1, 98),
		entry(tagGPSIFD, tIFD, 1, 128),
		le32(0))
	exif := cat(le16(2),
		entry(tagDateTimeOriginal, tASCII, 20, data+28),
		entry(tagOffsetTimeOriginal, tASCII, 7, data+48),
		le32(0))
	gps := cat(le16(7),
		entry(tagGPSLatRef, tASCII, 2, 'S'),
		entry(tagGPSLat, tRational, 3, data+56),
		entry(tagGPSLonRef, tASCII, 2, 'W'),
		entry(tagGPSLon, tRational, 3, data+80),
		entry(tagGPSAltRef, tByte, 1, 1),
		entry(tagGPSAlt, tRational, 1, data+104),
		entry(tagGPSDateStamp, tASCII, 11, data+112),
		le32(0))
	file := cat([]byte("II*\x00"), le32(8), ifd0, exif, gps,
		[]byte(mk), []byte(model), []byte(dto), []byte("+03:00\x00"), []byte{0},
		rat(33, 1), rat(30, 1), rat(1530, 100),
		rat(70, 1), rat(15, 1), rat(0, 1),
		rat(125, 10),
		[]byte(dateStamp))
	if len(file) != data+123 {
		t.Fatalf("layout: len %d", len(file))
	}
	alt := -12.5
	want := Metadata{
		TakenAt: "2022-09-16T10:04:33+03:00", Make: "Canon", Model: "Canon EOS 5D Mark III",
		Orientation: 8, Width: 6000, Height: 4000,
		GPS: &GPS{Lat: -(33 + 30.0/60 + 15.3/3600), Lon: -(70 + 15.0/60), Alt: &alt},
	}
	if got := Sniff(file); got != TypeTIFF {
		t.Errorf("Sniff = %q, want %q", got, TypeTIFF)
	}
	got, err := Extract(bytes.NewReader(file), int64(len(file)), TypeTIFF)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, approx); diff != "" {
		t.Errorf("Extract mismatch (-want +got):\n%s", diff)
	}
}

// TestExtractPNG wraps a camera file's Exif in a PNG eXIf chunk: the EXIF
// fields come through, the size comes from IHDR.
func TestExtractPNG(t *testing.T) {
	jpeg, err := os.ReadFile("testdata/nikon-d2h-gps.jpg")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Extract(bytes.NewReader(jpeg), int64(len(jpeg)), TypeJPEG)
	if err != nil {
		t.Fatal(err)
	}
	want.Width, want.Height = 640, 480
	i := bytes.Index(jpeg, []byte("Exif\x00\x00"))
	n := int(binary.BigEndian.Uint16(jpeg[i-2:])) - 2 - 6
	body := jpeg[i+6 : i+6+n]
	chunk := func(typ string, data []byte) []byte {
		return cat(be32(uint32(len(data))), []byte(typ), data, be32(0))
	}
	png := cat([]byte(pngSignature),
		chunk("IHDR", cat(be32(640), be32(480), []byte{8, 2, 0, 0, 0})),
		chunk("eXIf", body),
		chunk("IDAT", make([]byte, 10)),
		chunk("IEND", nil))
	if mt := Sniff(png); mt != TypePNG {
		t.Fatalf("Sniff = %q", mt)
	}
	got, err := Extract(bytes.NewReader(png), int64(len(png)), TypePNG)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Extract mismatch (-want +got):\n%s", diff)
	}
	if got.GPS == nil || got.TakenAt == "" {
		t.Errorf("Exif not read from eXIf: %+v", got)
	}
}

// TestExtractTIFFPreview: a raw file whose IFD0 is a reduced-resolution
// preview (NewSubfileType 1, as in DNG) reports no size.
func TestExtractTIFFPreview(t *testing.T) {
	file := tiffFile(0, [][]byte{
		ifdEntryBytes(tagNewSubfileType, tLong, 1, 1),
		ifdEntryBytes(tagImageWidth, tLong, 1, 256),
		ifdEntryBytes(tagImageLength, tLong, 1, 171),
		ifdEntryBytes(tagOrientation, tShort, 1, 1<<16),
	})
	got, err := Extract(bytes.NewReader(file), int64(len(file)), "image/x-adobe-dng")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Metadata{Orientation: 1}); got != want {
		t.Errorf("Extract = %+v, want %+v", got, want)
	}
}
