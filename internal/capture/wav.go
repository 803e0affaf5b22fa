package capture

import "encoding/binary"

// parseWAV computes the duration from the fmt chunk's byte rate and the
// data chunk's size. A data size past the end of the file (as written by
// recorders that were cut off) is clamped to the bytes actually present.
func parseWAV(s *source, md *Metadata) {
	h := s.readAt(0, 12)
	if h == nil || string(h[:4]) != "RIFF" || string(h[8:]) != "WAVE" {
		return
	}
	var byteRate uint32
	off := int64(12)
	for range maxChunks {
		c := s.readAt(off, 8)
		if c == nil {
			return
		}
		n := int64(binary.LittleEndian.Uint32(c[4:]))
		body := off + 8
		switch string(c[:4]) {
		case "fmt ":
			if f := s.readAt(body, 12); f != nil && n >= 12 {
				byteRate = binary.LittleEndian.Uint32(f[8:])
			}
		case "data":
			if byteRate > 0 {
				md.Duration = float64(min(n, s.size-body)) / float64(byteRate)
			}
			return
		}
		off = body + n + n&1 // chunks are padded to even sizes
	}
}
