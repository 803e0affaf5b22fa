package capture

import (
	"encoding/binary"
	"math"
	"time"
)

// box is an ISO base media file format box (a QuickTime atom).
type box struct {
	typ       string
	off       int64 // start of the header
	body, end int64 // payload is [body, end)
}

// bmff walks boxes, counting every one it visits against maxBoxes.
type bmff struct {
	s     *source
	boxes int
}

// children calls fn for each box in [start, end) until fn returns false, the
// boxes run out, or one is malformed. A size smaller than its header ends
// the walk; a size past end is clamped to end; size 0 means "to end".
func (w *bmff) children(start, end int64, depth int, fn func(box) bool) {
	if depth > maxBoxDepth {
		return
	}
	for off := start; end-off >= 8; {
		if w.boxes >= maxBoxes {
			return
		}
		w.boxes++
		h := w.s.readAt(off, 8)
		if h == nil {
			return
		}
		b := box{typ: string(h[4:]), off: off, body: off + 8}
		size := int64(binary.BigEndian.Uint32(h))
		switch size {
		case 0:
			size = end - off
		case 1:
			l := w.s.readAt(off+8, 8)
			if l == nil {
				return
			}
			u := binary.BigEndian.Uint64(l)
			if u > math.MaxInt64 {
				return
			}
			size, b.body = int64(u), off+16
		}
		b.end = off + min(size, end-off)
		if size < b.body-off || b.end < b.body {
			return
		}
		if !fn(b) {
			return
		}
		off = b.end
	}
}

// parseBMFF reads moov/mvhd (duration, creation time) and the first
// moov/trak/tkhd with a non-zero size. It never reads mdat.
func parseBMFF(s *source, md *Metadata) {
	w := &bmff{s: s}
	w.children(0, s.size, 0, func(b box) bool {
		if b.typ != "moov" {
			return true
		}
		w.children(b.body, b.end, 1, func(b box) bool {
			switch b.typ {
			case "mvhd":
				mvhd(s, b, md)
			case "trak":
				if md.Width == 0 {
					w.children(b.body, b.end, 2, func(b box) bool {
						if b.typ == "tkhd" {
							tkhd(s, b, md)
							return false
						}
						return true
					})
				}
			}
			return true
		})
		return false // the first moov is the movie
	})
}

// Seconds from 1904-01-01 (the ISO-BMFF and QuickTime epoch) to 1970-01-01,
// and to the end of year 9999, beyond which RFC 3339 has no form.
const (
	mp4EpochOffset = 2082844800
	maxMP4Seconds  = 253402300799 + mp4EpochOffset
)

func mvhd(s *source, b box, md *Metadata) {
	var created, timescale, duration uint64
	v := s.readAt(b.body, int(min(b.end-b.body, 32)))
	switch {
	case len(v) >= 20 && v[0] == 0:
		created = uint64(binary.BigEndian.Uint32(v[4:]))
		timescale = uint64(binary.BigEndian.Uint32(v[12:]))
		duration = uint64(binary.BigEndian.Uint32(v[16:]))
		if duration == math.MaxUint32 {
			duration = 0 // "unknown"
		}
	case len(v) >= 32 && v[0] == 1:
		created = binary.BigEndian.Uint64(v[4:])
		timescale = uint64(binary.BigEndian.Uint32(v[20:]))
		duration = binary.BigEndian.Uint64(v[24:])
		if duration == math.MaxUint64 {
			duration = 0
		}
	default:
		return
	}
	if timescale > 0 {
		md.Duration = float64(duration) / float64(timescale)
	}
	if created > 0 && created <= maxMP4Seconds {
		md.CreatedAt = time.Unix(int64(created)-mp4EpochOffset, 0).UTC().Format(time.RFC3339)
	}
}

func tkhd(s *source, b box, md *Metadata) {
	v := s.readAt(b.body, int(min(b.end-b.body, 96)))
	var at int
	switch {
	case len(v) >= 84 && v[0] == 0:
		at = 76
	case len(v) >= 96 && v[0] == 1:
		at = 88
	default:
		return
	}
	w, h := binary.BigEndian.Uint32(v[at:])>>16, binary.BigEndian.Uint32(v[at+4:])>>16
	if w > 0 && h > 0 {
		md.Width, md.Height = int(w), int(h)
	}
}
