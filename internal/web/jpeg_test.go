package web_test

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"strconv"
	"testing"
)

// exifJPEG draws a small JPEG and gives it an Exif segment with a GPS
// position (north and east), as a phone camera would.
func exifJPEG(t testing.TB, lat, lon float64) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 96, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 96; x++ {
			img.Set(x, y, color.RGBA{uint8(60 + x), uint8(80 + y), 90, 255})
		}
	}
	var plain bytes.Buffer
	if err := jpeg.Encode(&plain, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	// TIFF, little-endian: IFD0 with one entry (the GPS IFD's offset), then
	// the GPS IFD: version, latitude ref and value, longitude ref and value.
	le := binary.LittleEndian
	var tiff []byte
	u16 := func(v uint16) { tiff = le.AppendUint16(tiff, v) }
	u32 := func(v uint32) { tiff = le.AppendUint32(tiff, v) }
	entry := func(tag, typ uint16, count, value uint32) { u16(tag); u16(typ); u32(count); u32(value) }
	tiff = append(tiff, 'I', 'I')
	u16(42)
	u32(8)
	// IFD0 at 8: 1 entry (2 + 12 + 4 bytes) → GPS IFD at 26.
	u16(1)
	entry(0x8825, 4, 1, 26)
	u32(0)
	// GPS IFD at 26: 5 entries (2 + 60 + 4 bytes) → values at 92.
	const values = 26 + 2 + 5*12 + 4
	u16(5)
	entry(0x0000, 1, 4, 0x00000202)  // GPSVersionID 2.2.0.0
	entry(0x0001, 2, 2, uint32('N')) // GPSLatitudeRef "N"
	entry(0x0002, 5, 3, values)      // GPSLatitude
	entry(0x0003, 2, 2, uint32('E')) // GPSLongitudeRef "E"
	entry(0x0004, 5, 3, values+24)   // GPSLongitude
	u32(0)
	dms := func(v float64) {
		d := math.Floor(v)
		m := math.Floor((v - d) * 60)
		s := ((v-d)*60 - m) * 60
		u32(uint32(d))
		u32(1)
		u32(uint32(m))
		u32(1)
		u32(uint32(math.Round(s * 10000)))
		u32(10000)
	}
	dms(lat)
	dms(lon)
	app1 := append([]byte("Exif\x00\x00"), tiff...)
	var out bytes.Buffer
	out.Write(plain.Bytes()[:2]) // SOI
	out.Write([]byte{0xFF, 0xE1})
	binary.Write(&out, binary.BigEndian, uint16(len(app1)+2))
	out.Write(app1)
	out.Write(plain.Bytes()[2:])
	return out.Bytes()
}

func strconvItoa(n int) string { return strconv.Itoa(n) }
