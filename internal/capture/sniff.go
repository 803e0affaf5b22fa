package capture

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"strings"
	"unicode/utf8"
)

// SniffLen is how many leading bytes of a file Sniff wants. It looks at no
// more than this, and works with fewer.
const SniffLen = 1024

// Media types returned by Sniff for the formats Extract understands.
const (
	TypeJPEG      = "image/jpeg"
	TypePNG       = "image/png"
	TypeTIFF      = "image/tiff"
	TypeHEIC      = "image/heic"
	TypeHEIF      = "image/heif"
	TypeMP4       = "video/mp4"
	TypeQuickTime = "video/quicktime"
	TypeM4A       = "audio/mp4"
	Type3GPP      = "video/3gpp"
	TypeWAV       = "audio/wav"
	TypeText      = "text/plain; charset=utf-8"
	TypeUnknown   = "application/octet-stream"
)

// Sniff returns the media type of a file from its first bytes (ideally
// [SniffLen] of them), never from its name. It recognises JPEG, PNG, GIF,
// WebP, TIFF (including TIFF-based raw files such as DNG), HEIC/HEIF/AVIF,
// MP4, QuickTime, M4A, 3GP, WebM/Matroska, AVI, WAV, MP3, Ogg, FLAC, PDF,
// ZIP and UTF-8 plain text, then whatever net/http.DetectContentType knows
// that is not text; anything else is application/octet-stream.
//
// Sniff never returns text/html, XML or any other active type: markup is
// reported as plain text (or octet-stream if it is not UTF-8), so a stored
// file can never be served as a page.
func Sniff(head []byte) string {
	if len(head) > SniffLen {
		head = head[:SniffLen]
	}
	if len(head) == 0 {
		return TypeUnknown
	}
	has := func(off int, s string) bool {
		return len(head) >= off+len(s) && string(head[off:off+len(s)]) == s
	}
	switch {
	case has(0, "\xFF\xD8\xFF"):
		return TypeJPEG
	case has(0, pngSignature):
		return TypePNG
	case has(0, "GIF87a"), has(0, "GIF89a"):
		return "image/gif"
	case has(0, "II*\x00"), has(0, "MM\x00*"), has(0, "II+\x00"), has(0, "MM\x00+"):
		return TypeTIFF
	case has(0, "RIFF") && has(8, "WEBP"):
		return "image/webp"
	case has(0, "RIFF") && has(8, "WAVE"):
		return TypeWAV
	case has(0, "RIFF") && has(8, "AVI "):
		return "video/x-msvideo"
	case has(4, "ftyp") && len(head) >= 12 && head[0] == 0 && binary.BigEndian.Uint32(head) >= 12:
		return ftypType(head)
	case has(0, "\x1A\x45\xDF\xA3"):
		if bytes.Contains(head, []byte("\x42\x82\x84webm")) {
			return "video/webm"
		}
		return "video/x-matroska"
	case has(0, "ID3"), isMP3Frame(head):
		return "audio/mpeg"
	case has(0, "OggS"):
		if bytes.Contains(head, []byte("\x80theora")) {
			return "video/ogg"
		}
		return "audio/ogg"
	case has(0, "fLaC"):
		return "audio/flac"
	case has(0, "%PDF-"):
		return "application/pdf"
	case has(0, "PK\x03\x04"), has(0, "PK\x05\x06"):
		return "application/zip"
	case has(0, "\xFE\xFF"):
		return "text/plain; charset=utf-16be"
	case has(0, "\xFF\xFE"):
		return "text/plain; charset=utf-16le"
	case isText(head):
		return TypeText
	case has(4, "moov"), has(4, "mdat"), has(4, "wide"), has(4, "pnot"), has(4, "free"), has(4, "skip"):
		if binary.BigEndian.Uint32(head) >= 8 {
			return TypeQuickTime // QuickTime files from before ftyp
		}
	}
	if t := http.DetectContentType(head); !strings.HasPrefix(t, "text/") &&
		!strings.Contains(t, "xml") && !strings.Contains(t, "html") {
		return t
	}
	return TypeUnknown
}

// ftypType maps an ISO-BMFF ftyp box's brands to a media type.
func ftypType(head []byte) string {
	major := string(head[8:12])
	n := min(int(binary.BigEndian.Uint32(head)), len(head))
	var compat []string
	for i := 16; i+4 <= n; i += 4 {
		compat = append(compat, string(head[i:i+4]))
	}
	hasBrand := func(pred func(string) bool) bool {
		for _, c := range compat {
			if pred(c) {
				return true
			}
		}
		return false
	}
	isHEIC := func(b string) bool {
		switch b {
		case "heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs":
			return true
		}
		return false
	}
	isAVIF := func(b string) bool { return b == "avif" || b == "avis" }
	switch {
	case isHEIC(major):
		return TypeHEIC
	case isAVIF(major):
		return "image/avif"
	case major == "mif1" || major == "msf1" || major == "heif":
		if hasBrand(isHEIC) {
			return TypeHEIC
		}
		if hasBrand(isAVIF) {
			return "image/avif"
		}
		return TypeHEIF
	case major == "qt  ":
		return TypeQuickTime
	case major == "M4A " || major == "M4B " || major == "M4P ", major == "F4A ":
		return TypeM4A
	case strings.HasPrefix(major, "3g2"):
		return "video/3gpp2"
	case strings.HasPrefix(major, "3g"):
		return Type3GPP
	case major == "crx ":
		return "image/x-canon-cr3"
	}
	return TypeMP4
}

// isMP3Frame reports whether head starts with a plausible MPEG audio layer
// II or III frame header (an MP3 file without an ID3 tag).
func isMP3Frame(h []byte) bool {
	if len(h) < 4 || h[0] != 0xFF || h[1]&0xE0 != 0xE0 {
		return false
	}
	version := h[1] >> 3 & 3
	layer := h[1] >> 1 & 3
	bitrate := h[2] >> 4
	rate := h[2] >> 2 & 3
	return version != 1 && (layer == 1 || layer == 2) && bitrate != 0 && bitrate != 15 && rate != 3
}

// isText reports whether head looks like UTF-8 text: valid UTF-8 (a
// character cut off at the end is allowed) without control characters other
// than tab, newline, form feed, carriage return and escape.
func isText(head []byte) bool {
	for i := 0; i < len(head); {
		c := head[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\f' && c != '\r' && c != 0x1B || c == 0x7F {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(head[i:])
		if r == utf8.RuneError && n <= 1 {
			// A sequence cut off by the end of head is fine.
			return len(head)-i < utf8.UTFMax && !utf8.FullRune(head[i:])
		}
		if r >= 0x80 && r <= 0x9F {
			return false // C1 controls
		}
		i += n
	}
	return true
}
