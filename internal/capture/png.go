package capture

import (
	"encoding/binary"
	"math"
)

const pngSignature = "\x89PNG\r\n\x1a\n"

// parsePNG reads the IHDR size and the first eXIf chunk.
func parsePNG(s *source, md *Metadata) {
	if b := s.readAt(0, 8); b == nil || string(b) != pngSignature {
		return
	}
	off := int64(8)
	exif := false
	for i := range maxChunks {
		h := s.readAt(off, 8)
		if h == nil {
			return
		}
		n := int64(binary.BigEndian.Uint32(h))
		typ := string(h[4:])
		if n > math.MaxInt32 { // the PNG limit; anything bigger is corrupt
			return
		}
		switch {
		case i == 0 && typ == "IHDR" && n >= 8:
			if d := s.readAt(off+8, 8); d != nil {
				w, h := binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:])
				if w > 0 && h > 0 && w <= math.MaxInt32 && h <= math.MaxInt32 {
					md.Width, md.Height = int(w), int(h)
				}
			}
		case typ == "eXIf" && !exif:
			exif = true
			newTIFF(s, off+8, min(n, s.size-off-8)).parse(md, false)
		case typ == "IEND":
			return
		}
		off += 12 + n
	}
}
