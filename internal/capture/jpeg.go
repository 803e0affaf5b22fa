package capture

import "encoding/binary"

// parseJPEG walks the marker segments before the first scan, reading the
// first Exif APP1 segment and the first start-of-frame header.
func parseJPEG(s *source, md *Metadata) {
	if b := s.readAt(0, 2); b == nil || b[0] != 0xFF || b[1] != 0xD8 {
		return
	}
	off := int64(2)
	exif, sof := false, false
	for range maxSegments {
		h := s.readAt(off, 4)
		if h == nil || h[0] != 0xFF {
			return
		}
		marker := h[1]
		switch {
		case marker == 0xFF: // fill byte
			off++
			continue
		case marker == 0x01 || marker >= 0xD0 && marker <= 0xD8: // no length
			off += 2
			continue
		case marker == 0xD9 || marker == 0xDA: // end of image, start of scan
			return
		}
		n := int64(binary.BigEndian.Uint16(h[2:]))
		if n < 2 {
			return
		}
		body, blen := off+4, n-2
		switch {
		case marker == 0xE1 && !exif && blen > 6:
			if id := s.readAt(body, 6); id != nil && string(id) == "Exif\x00\x00" {
				exif = true
				newTIFF(s, body+6, min(blen-6, s.size-body-6)).parse(md, false)
			}
		case isSOF(marker) && !sof && blen >= 5:
			if f := s.readAt(body, 5); f != nil {
				sof = true
				h, w := int(binary.BigEndian.Uint16(f[1:])), int(binary.BigEndian.Uint16(f[3:]))
				if w > 0 && h > 0 {
					md.Width, md.Height = w, h
				}
			}
		}
		off = body + blen
	}
}

// isSOF reports whether marker starts a frame (SOF0-3, 5-7, 9-11, 13-15).
func isSOF(m byte) bool {
	return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC
}
