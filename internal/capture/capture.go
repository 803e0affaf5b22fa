// Package capture reads capture metadata (when, where, with what) from the
// headers of evidence files at intake, sniffs their media type from content,
// and cleans their original names for the record.
//
// It understands JPEG (APP1 Exif and SOF), TIFF and TIFF-based raw files
// such as DNG, PNG (IHDR and eXIf), ISO base media files (MP4, MOV, 3GP,
// M4A, HEIC: moov/mvhd and tkhd) and WAV (fmt and data chunks). Any other
// media type yields an empty Metadata. Not read yet: the Exif item of HEIC
// and AVIF still images (meta/iinf/iloc; they have no moov, so they yield
// only what ftyp-level boxes give, which today is nothing), WebP's EXIF
// chunk, QuickTime user-data dates (©day, mdta keys), and raw files' full
// image size when IFD0 is a preview.
//
// Invariants:
//   - Extract never modifies, writes or locks the file: it only calls ReadAt.
//   - Nothing here panics, whatever the input. Every length, offset and count
//     read from a file is checked against the file size and a fixed cap
//     before use. One Extract reads at most 1 MiB in at most 16384 ReadAt
//     calls, at most 256 KiB per Exif structure, 1024 entries per IFD,
//     8 IFDs, 1024 JPEG segments, 4096 PNG or RIFF chunks, and 4096
//     ISO-BMFF boxes nested at most 8 deep; it never reads mdat or image
//     data. A hostile file therefore costs bounded memory and time, every
//     walk moves forward, and no IFD is visited twice.
//   - A file that is merely odd (corrupt, truncated, or lying about sizes)
//     is not an error: Extract returns what it could read. Only an I/O error
//     from the reader (including a reader shorter than the size it was given)
//     is returned, together with whatever was read before it. Intake keeps the
//     evidence either way; callers log the error and continue.
//   - Strings taken from a file are valid UTF-8 with control, bidi and other
//     invisible format characters removed, and at most 256 bytes long.
//   - Floating-point results are finite, so a Metadata always marshals to JSON.
package capture

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/custody-dev/custody"
)

// Metadata is what Custody records from a file's own headers. Zero values
// mean "not present". Every field is a claim made by the file, not a fact
// checked by Custody: cameras have wrong clocks, and headers can be edited.
type Metadata struct {
	// TakenAt is EXIF DateTimeOriginal, or else DateTimeDigitized, or else
	// DateTime (the first that parses), formatted as RFC 3339. EXIF stores
	// local wall-clock time without a zone; when the matching offset tag
	// (OffsetTimeOriginal, OffsetTimeDigitized, OffsetTime) is present the
	// offset is appended ("2022-09-16T10:04:33+03:00"), otherwise the value
	// has no zone at all ("2022-09-16T10:04:33") and must not be read as UTC.
	TakenAt string `json:"taken_at,omitempty"`
	// Make is the camera or phone maker (EXIF IFD0 Make).
	Make string `json:"make,omitempty"`
	// Model is the camera or phone model (EXIF IFD0 Model).
	Model string `json:"model,omitempty"`
	// Orientation is the EXIF orientation, 1 to 8; 0 when absent or invalid.
	Orientation int `json:"orientation,omitempty"`
	// Software is the EXIF IFD0 Software tag: firmware or editing program.
	Software string `json:"software,omitempty"`
	// Width is the pixel width: JPEG SOF, PNG IHDR, TIFF IFD0 (unless IFD0
	// is marked as a reduced-resolution preview), or the first
	// ISO-BMFF track header with a non-zero width (before any rotation).
	Width int `json:"width,omitempty"`
	// Height is the pixel height, from the same place as Width.
	Height int `json:"height,omitempty"`
	// GPS is the position from the EXIF GPS IFD; nil unless both latitude
	// and longitude are present and in range.
	GPS *GPS `json:"gps,omitempty"`
	// Duration is the length in seconds of video or audio: ISO-BMFF mvhd
	// duration/timescale, or WAV data size / byte rate.
	Duration float64 `json:"duration_s,omitempty"`
	// CreatedAt is the ISO-BMFF mvhd creation time (seconds since
	// 1904-01-01 UTC) as RFC 3339 in UTC; empty when the file says zero.
	CreatedAt string `json:"created_at,omitempty"`
}

// GPS is a position as recorded by the device.
type GPS struct {
	// Lat is the latitude in signed decimal degrees (south is negative).
	Lat float64 `json:"lat"`
	// Lon is the longitude in signed decimal degrees (west is negative).
	Lon float64 `json:"lon"`
	// Alt is the altitude in metres (below sea level is negative), or nil.
	Alt *float64 `json:"alt_m,omitempty"`
	// Time is GPSDateStamp plus GPSTimeStamp as RFC 3339 UTC; empty unless
	// both are present and valid.
	Time string `json:"time,omitempty"`
}

// Limits on what one Extract call will do, whatever the file says.
const (
	maxRead       = 1 << 20 // bytes read per Extract
	maxReads      = 1 << 14 // ReadAt calls per Extract
	maxExif       = 256 << 10
	maxIFDEntries = 1024 // entries examined per IFD
	maxIFDs       = 8    // IFDs visited per TIFF structure
	maxBoxes      = 4096 // ISO-BMFF boxes visited
	maxBoxDepth   = 8    // ISO-BMFF nesting levels
	maxChunks     = 4096 // PNG / RIFF chunks visited
	maxSegments   = 1024 // JPEG marker segments visited
	maxText       = 256  // bytes kept of a text value
)

// Extract reads capture metadata from the file r of the given size, choosing
// the parser by mediaType (as returned by [Sniff]; parameters such as
// "; charset=" are ignored). Unknown media types yield an empty Metadata and
// a nil error.
//
// Extract never fails because a file is corrupt: it returns what it could
// read and a nil error. It returns an error only when r fails (or is shorter
// than size), and then also returns what was read before the failure; the
// error wraps the reader's error. A negative size is an error with code
// custody.EINVALID.
func Extract(r io.ReaderAt, size int64, mediaType string) (Metadata, error) {
	var md Metadata
	if size < 0 {
		return md, custody.Errorf(custody.EINVALID, "capture: negative file size %d", size)
	}
	s := &source{r: r, size: size, budget: maxRead, reads: maxReads}
	switch normType(mediaType) {
	case "image/jpeg", "image/jpg", "image/pjpeg":
		parseJPEG(s, &md)
	case "image/tiff", "image/x-adobe-dng", "image/dng", "image/x-tiff":
		t := newTIFF(s, 0, size)
		t.parse(&md, true)
	case "image/png":
		parsePNG(s, &md)
	case "video/mp4", "video/quicktime", "video/3gpp", "video/3gpp2", "audio/mp4",
		"audio/x-m4a", "audio/m4a", "video/x-m4v", "image/heic", "image/heif",
		"image/heic-sequence", "image/heif-sequence", "image/avif":
		parseBMFF(s, &md)
	case "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave":
		parseWAV(s, &md)
	}
	if md.GPS != nil && !(finite(md.GPS.Lat) && finite(md.GPS.Lon)) {
		md.GPS = nil // unreachable by construction; kept so JSON never fails
	}
	if !finite(md.Duration) || md.Duration < 0 {
		md.Duration = 0
	}
	if s.err != nil {
		return md, fmt.Errorf("capture: %s: %w", normType(mediaType), s.err)
	}
	return md, nil
}

func normType(t string) string {
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = t[:i]
	}
	return strings.ToLower(strings.TrimSpace(t))
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// source is a bounded view of the file: every read is checked against the
// file size and the per-Extract budget, and the first I/O error is kept.
type source struct {
	r      io.ReaderAt
	size   int64
	budget int64 // bytes left to read
	reads  int   // ReadAt calls left
	err    error // first I/O error; no reads after it
}

// readAt returns n bytes at off, or nil when they lie outside the file,
// exceed the budget, or cannot be read.
func (s *source) readAt(off int64, n int) []byte {
	if s.err != nil || n < 0 || off < 0 || off > s.size || int64(n) > s.size-off ||
		int64(n) > s.budget || s.reads <= 0 {
		return nil
	}
	s.budget -= int64(n)
	s.reads--
	b := make([]byte, n)
	m, err := s.r.ReadAt(b, off)
	if m == n {
		return b // io.ReaderAt may return io.EOF with a full read at the end
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	s.err = fmt.Errorf("read %d bytes at offset %d: %w", n, off, err)
	return nil
}
