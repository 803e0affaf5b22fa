package upload

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseMetadata(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
	}{
		{"", map[string]string{}},
		{"filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential", map[string]string{"filename": "world_domination_plan.pdf", "is_confidential": ""}},
		{"filename 0IbQt9GO0LwubXA0", map[string]string{"filename": "Ізюм.mp4"}},
		{" a YQ== , b Yg==,,", map[string]string{"a": "a", "b": "b"}},
		{"lat NDkuMTk0Nw", map[string]string{"lat": "49.1947"}}, // unpadded
		{"k ", map[string]string{"k": ""}},
	} {
		got, err := ParseMetadata(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseMetadata(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{
		"a YQ==,a Yg==",            // key twice
		"a !!!",                    // not base64
		"a YQ= =",                  // space in value
		"a Y",                      // wrong length, even unpadded
		"a YR==",                   // non-canonical padding bits
		"k\x00 YQ==",               // control character in the key
		"ключ YQ==",                // non-ASCII key
		strings.Repeat("a", 129),   // key too long
		strings.Repeat("x", 17000), // header too long
		func() string { // 65 keys
			var b strings.Builder
			for i := range 65 {
				b.WriteString("k" + string(rune('A'+i/26)) + string(rune('a'+i%26)) + ",")
			}
			return b.String()
		}(),
	} {
		if md, err := ParseMetadata(bad); err == nil {
			t.Errorf("ParseMetadata(%.40q) = %v, want an error", bad, md)
		}
	}
}

func TestEncodeMetadata(t *testing.T) {
	md := map[string]string{"filename": "Ізюм.mp4", "case": "12022220000000123", "flag": "", "bad key": "x", "": "y"}
	enc := EncodeMetadata(md)
	if enc != "case MTIwMjIyMjAwMDAwMDAxMjM=,filename 0IbQt9GO0LwubXA0,flag" {
		t.Errorf("EncodeMetadata = %q", enc)
	}
	back, err := ParseMetadata(enc)
	delete(md, "bad key")
	delete(md, "")
	if err != nil || !reflect.DeepEqual(back, md) {
		t.Errorf("round trip: %v, %v", back, err)
	}
}

// FuzzParseMetadata checks that ParseMetadata never panics and that what it
// accepts encodes back to something it parses to the same map.
func FuzzParseMetadata(f *testing.F) {
	for _, s := range []string{"", "filename d29ybGQ=,is_confidential", "a YQ==,a Yg==", " a YQ , b", "lat NDkuMTk0Nw", "k\x00 YQ=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		md, err := ParseMetadata(s)
		if err != nil {
			return
		}
		if len(md) > maxMetadataPairs {
			t.Fatalf("%d pairs", len(md))
		}
		back, err := ParseMetadata(EncodeMetadata(md))
		if err != nil || !reflect.DeepEqual(back, md) {
			t.Fatalf("round trip of %q: %v, %v", s, back, err)
		}
	})
}
