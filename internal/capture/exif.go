package capture

import (
	"encoding/binary"
	"math"
	"strings"
	"time"
)

// TIFF field types and their sizes in bytes.
const (
	tByte      = 1
	tASCII     = 2
	tShort     = 3
	tLong      = 4
	tRational  = 5
	tUndefined = 7
	tSLong     = 9
	tSRational = 10
	tIFD       = 13
)

var typeSize = [...]int{0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4}

// Tags read by the parser.
const (
	tagNewSubfileType     = 0x00FE
	tagImageWidth         = 0x0100
	tagImageLength        = 0x0101
	tagMake               = 0x010F
	tagModel              = 0x0110
	tagOrientation        = 0x0112
	tagSoftware           = 0x0131
	tagDateTime           = 0x0132
	tagExifIFD            = 0x8769
	tagGPSIFD             = 0x8825
	tagDateTimeOriginal   = 0x9003
	tagDateTimeDigitized  = 0x9004
	tagOffsetTime         = 0x9010
	tagOffsetTimeOriginal = 0x9011
	tagOffsetTimeDigit    = 0x9012

	tagGPSLatRef    = 0x0001
	tagGPSLat       = 0x0002
	tagGPSLonRef    = 0x0003
	tagGPSLon       = 0x0004
	tagGPSAltRef    = 0x0005
	tagGPSAlt       = 0x0006
	tagGPSTimeStamp = 0x0007
	tagGPSDateStamp = 0x001D
)

// tiff parses one TIFF structure (a TIFF file, or the body of an Exif
// segment) lying at [base, base+n) in the source.
type tiff struct {
	s     *source
	base  int64
	n     int64
	order binary.ByteOrder
	seen  map[uint32]bool // IFD offsets already visited
	// budget is the number of bytes this structure may still read.
	budget int
}

type ifdEntry struct {
	tag, typ uint16
	count    uint32
	val      [4]byte // the value itself, or its offset
}

func newTIFF(s *source, base, n int64) *tiff {
	return &tiff{s: s, base: base, n: n, budget: maxExif}
}

// bytes returns n bytes at offset off from the TIFF header, or nil.
func (t *tiff) bytes(off int64, n int) []byte {
	if off < 0 || n < 0 || off > t.n || int64(n) > t.n-off || n > t.budget {
		return nil
	}
	t.budget -= n
	return t.s.readAt(t.base+off, n)
}

// parse reads IFD0 and the Exif and GPS IFDs it points to into md. When
// file is true the structure is a whole TIFF file and IFD0's image size is
// taken as the picture size.
func (t *tiff) parse(md *Metadata, file bool) {
	h := t.bytes(0, 8)
	if h == nil {
		return
	}
	switch string(h[:4]) {
	case "II*\x00":
		t.order = binary.LittleEndian
	case "MM\x00*":
		t.order = binary.BigEndian
	default:
		return
	}
	t.seen = make(map[uint32]bool)
	var x exifFields
	for _, e := range t.ifd(t.order.Uint32(h[4:])) {
		switch e.tag {
		case tagMake, tagModel, tagSoftware:
			x.setName(e.tag, t.text(e))
		case tagDateTime:
			x.dateTime = t.text(e)
		case tagOrientation:
			x.orientation, _ = t.uint(e)
		case tagNewSubfileType:
			x.subfile, _ = t.uint(e)
		case tagImageWidth:
			x.width, _ = t.uint(e)
		case tagImageLength:
			x.height, _ = t.uint(e)
		case tagExifIFD:
			x.exifIFD, x.hasExif = t.uint(e)
		case tagGPSIFD:
			x.gpsIFD, x.hasGPS = t.uint(e)
		}
	}
	if x.hasExif {
		for _, e := range t.ifd(x.exifIFD) {
			switch e.tag {
			case tagMake, tagModel, tagSoftware:
				// Some phones (HTC) put these in the Exif IFD; IFD0 wins.
				x.setName(e.tag, t.text(e))
			case tagDateTimeOriginal:
				x.original = t.text(e)
			case tagDateTimeDigitized:
				x.digitized = t.text(e)
			case tagOffsetTime:
				x.offset = t.text(e)
			case tagOffsetTimeOriginal:
				x.offsetOriginal = t.text(e)
			case tagOffsetTimeDigit:
				x.offsetDigitized = t.text(e)
			}
		}
	}
	if x.hasGPS {
		x.gps = t.gps(x.gpsIFD)
	}
	x.fill(md, file)
}

// exifFields collects raw values before they are checked and converted.
type exifFields struct {
	make, model, software                   string
	dateTime, original, digitized           string
	offset, offsetOriginal, offsetDigitized string
	orientation, width, height, subfile     uint32
	exifIFD, gpsIFD                         uint32
	hasExif, hasGPS                         bool
	gps                                     *GPS
	named                                   map[uint16]bool
}

// setName sets Make, Model or Software unless the tag was already seen, even
// with an empty value: the first (IFD0) occurrence wins, as in exiftool.
func (x *exifFields) setName(tag uint16, v string) {
	if x.named[tag] {
		return
	}
	if x.named == nil {
		x.named = make(map[uint16]bool)
	}
	x.named[tag] = true
	switch tag {
	case tagMake:
		x.make = v
	case tagModel:
		x.model = v
	case tagSoftware:
		x.software = v
	}
}

func (x *exifFields) fill(md *Metadata, file bool) {
	md.Make, md.Model, md.Software = x.make, x.model, x.software
	if 1 <= x.orientation && x.orientation <= 8 {
		md.Orientation = int(x.orientation)
	}
	// In raw files such as DNG, IFD0 is often a reduced-resolution preview
	// (NewSubfileType bit 0); its size is not the picture's.
	if file && x.subfile&1 == 0 && x.width > 0 && x.height > 0 && x.width <= math.MaxInt32 && x.height <= math.MaxInt32 {
		md.Width, md.Height = int(x.width), int(x.height)
	}
	for _, c := range [...]struct{ dt, off string }{
		{x.original, x.offsetOriginal},
		{x.digitized, x.offsetDigitized},
		{x.dateTime, x.offset},
	} {
		if s, ok := exifTime(c.dt, c.off); ok {
			md.TakenAt = s
			break
		}
	}
	md.GPS = x.gps
}

// exifTime converts an EXIF "YYYY:MM:DD HH:MM:SS" and an optional offset
// "+HH:MM" to RFC 3339, without a zone when the offset is absent or invalid.
func exifTime(dt, off string) (string, bool) {
	if len(dt) < 19 {
		return "", false
	}
	// Some writers use '-' or '/' in the date; accept them.
	b := []byte(dt[:19])
	if b[4] == '-' || b[4] == '/' {
		b[4], b[7] = ':', ':'
	}
	t, err := time.Parse("2006:01:02 15:04:05", string(b))
	if err != nil || t.Year() < 1 {
		return "", false
	}
	s := t.Format("2006-01-02T15:04:05")
	if z, ok := exifOffset(off); ok {
		s += z
	}
	return s, true
}

// exifOffset checks an EXIF OffsetTime value such as "+03:00" or "Z".
func exifOffset(off string) (string, bool) {
	if off == "Z" {
		return "Z", true
	}
	if len(off) != 6 || (off[0] != '+' && off[0] != '-') || off[3] != ':' {
		return "", false
	}
	for _, i := range [...]int{1, 2, 4, 5} {
		if off[i] < '0' || off[i] > '9' {
			return "", false
		}
	}
	h := int(off[1]-'0')*10 + int(off[2]-'0')
	m := int(off[4]-'0')*10 + int(off[5]-'0')
	if h > 14 || m > 59 {
		return "", false
	}
	return off, true
}

// ifd returns the entries of the IFD at off (at most maxIFDEntries), or nil
// if it is out of range, already visited, or one IFD too many.
func (t *tiff) ifd(off uint32) []ifdEntry {
	if t.seen[off] || len(t.seen) >= maxIFDs || off < 8 {
		return nil
	}
	t.seen[off] = true
	c := t.bytes(int64(off), 2)
	if c == nil {
		return nil
	}
	n := int(t.order.Uint16(c))
	n = int(min(int64(n), maxIFDEntries, (t.n-int64(off)-2)/12))
	if n <= 0 {
		return nil
	}
	b := t.bytes(int64(off)+2, n*12)
	if b == nil {
		return nil
	}
	es := make([]ifdEntry, n)
	for i := range es {
		p := b[i*12:]
		es[i] = ifdEntry{tag: t.order.Uint16(p), typ: t.order.Uint16(p[2:]), count: t.order.Uint32(p[4:])}
		copy(es[i].val[:], p[8:12])
	}
	return es
}

// data returns the bytes of the first k elements of e's value, or nil.
func (t *tiff) data(e ifdEntry, k int) []byte {
	if int(e.typ) >= len(typeSize) || e.typ == 0 || e.count == 0 {
		return nil
	}
	size := typeSize[e.typ]
	k = int(min(uint32(k), e.count))
	if uint64(e.count)*uint64(size) <= 4 {
		return e.val[:k*size]
	}
	return t.bytes(int64(t.order.Uint32(e.val[:])), k*size)
}

// uint returns the first value of an integer entry.
func (t *tiff) uint(e ifdEntry) (uint32, bool) {
	b := t.data(e, 1)
	switch {
	case b == nil:
		return 0, false
	case e.typ == tByte || e.typ == tUndefined:
		return uint32(b[0]), true
	case e.typ == tShort:
		return uint32(t.order.Uint16(b)), true
	case e.typ == tLong || e.typ == tIFD || e.typ == tSLong:
		return t.order.Uint32(b), true
	}
	return 0, false
}

// text returns an ASCII (or, leniently, byte or undefined) value as clean
// text, cut at the first NUL.
func (t *tiff) text(e ifdEntry) string {
	if e.typ != tASCII && e.typ != tByte && e.typ != tUndefined {
		return ""
	}
	b := t.data(e, maxText)
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return cleanText(string(b))
}

// rationals returns up to k (signed or unsigned) rational values, or nil if
// any has a zero denominator.
func (t *tiff) rationals(e ifdEntry, k int) []float64 {
	if e.typ != tRational && e.typ != tSRational {
		return nil
	}
	b := t.data(e, k)
	if b == nil {
		return nil
	}
	fs := make([]float64, len(b)/8)
	for i := range fs {
		num, den := t.order.Uint32(b[i*8:]), t.order.Uint32(b[i*8+4:])
		if den == 0 {
			return nil
		}
		if e.typ == tSRational {
			fs[i] = float64(int32(num)) / float64(int32(den))
		} else {
			fs[i] = float64(num) / float64(den)
		}
	}
	return fs
}

// gps reads the GPS IFD at off.
func (t *tiff) gps(off uint32) *GPS {
	var (
		latRef, lonRef, date string
		lat, lon, alt, tod   []float64
		altRef               uint32
	)
	for _, e := range t.ifd(off) {
		switch e.tag {
		case tagGPSLatRef:
			latRef = t.text(e)
		case tagGPSLonRef:
			lonRef = t.text(e)
		case tagGPSLat:
			lat = t.rationals(e, 3)
		case tagGPSLon:
			lon = t.rationals(e, 3)
		case tagGPSAltRef:
			altRef, _ = t.uint(e)
		case tagGPSAlt:
			alt = t.rationals(e, 1)
		case tagGPSTimeStamp:
			tod = t.rationals(e, 3)
		case tagGPSDateStamp:
			date = t.text(e)
		}
	}
	la, ok1 := degrees(lat, latRef, "S", 90)
	lo, ok2 := degrees(lon, lonRef, "W", 180)
	if !ok1 || !ok2 {
		return nil
	}
	g := &GPS{Lat: la, Lon: lo}
	if len(alt) == 1 && finite(alt[0]) && math.Abs(alt[0]) < 1e7 {
		a := alt[0]
		if altRef == 1 && a != 0 {
			a = -a
		}
		g.Alt = &a
	}
	g.Time = gpsTime(date, tod)
	return g
}

// degrees converts degrees, minutes and seconds to signed decimal degrees.
func degrees(dms []float64, ref, neg string, limit float64) (float64, bool) {
	if len(dms) == 0 {
		return 0, false
	}
	d := 0.0
	for i, f := range dms {
		d += f / math.Pow(60, float64(i))
	}
	if !finite(d) || d < -limit || d > limit {
		return 0, false
	}
	if strings.EqualFold(ref, neg) {
		d = -d
	}
	return d, true
}

// gpsTime joins GPSDateStamp "YYYY:MM:DD" and GPSTimeStamp h, m, s (UTC).
func gpsTime(date string, tod []float64) string {
	if len(date) < 10 || len(tod) != 3 {
		return ""
	}
	d, err := time.Parse("2006:01:02", strings.ReplaceAll(date[:10], "-", ":"))
	if err != nil {
		return ""
	}
	h, m, s := tod[0], tod[1], tod[2]
	if h < 0 || h >= 24 || m < 0 || m >= 60 || s < 0 || s >= 61 || h != math.Trunc(h) || m != math.Trunc(m) {
		return ""
	}
	sec := math.Trunc(s)
	ns := int(math.Round((s - sec) * 1e9))
	t := time.Date(d.Year(), d.Month(), d.Day(), int(h), int(m), int(sec), ns, time.UTC)
	return t.Format(time.RFC3339Nano)
}
