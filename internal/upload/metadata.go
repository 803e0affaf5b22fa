package upload

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
)

// Limits on Upload-Metadata.
const (
	maxMetadataHeader = 16 << 10 // bytes of the header
	maxMetadataPairs  = 64
	maxMetadataKey    = 128
)

// ParseMetadata parses an Upload-Metadata header: comma-separated pairs of
// a key and, after one space, its value in standard base64 (padded, or
// unpadded as some clients send it); a key alone has the empty value.
// Spaces and tabs around a pair are ignored, and so are empty pairs. Keys are
// printable ASCII without spaces or commas, at most 128 bytes, each given
// once; values are returned decoded, as they were sent (they need not be
// UTF-8: check them where they are used). The empty header gives an empty
// map. At most 64 pairs and 16 KiB.
func ParseMetadata(header string) (map[string]string, error) {
	md := map[string]string{}
	if len(header) > maxMetadataHeader {
		return nil, fmt.Errorf("Upload-Metadata longer than %d bytes", maxMetadataHeader)
	}
	for pair := range strings.SplitSeq(header, ",") {
		pair = strings.Trim(pair, " \t")
		if pair == "" {
			continue
		}
		key, enc, _ := strings.Cut(pair, " ")
		if !validKey(key) {
			return nil, fmt.Errorf("Upload-Metadata: bad key %q", truncate(key))
		}
		if _, dup := md[key]; dup {
			return nil, fmt.Errorf("Upload-Metadata: key %q given twice", key)
		}
		if len(md) == maxMetadataPairs {
			return nil, fmt.Errorf("Upload-Metadata: more than %d keys", maxMetadataPairs)
		}
		val, err := decodeValue(enc)
		if err != nil {
			return nil, fmt.Errorf("Upload-Metadata: value of %q is not base64", key)
		}
		md[key] = val
	}
	return md, nil
}

func decodeValue(enc string) (string, error) {
	if strings.HasSuffix(enc, "=") || len(enc)%4 == 0 {
		b, err := base64.StdEncoding.Strict().DecodeString(enc)
		return string(b), err
	}
	b, err := base64.RawStdEncoding.Strict().DecodeString(enc)
	return string(b), err
}

func validKey(k string) bool {
	if k == "" || len(k) > maxMetadataKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c >= 0x7f || c == ',' {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// EncodeMetadata encodes md as an Upload-Metadata header, keys sorted,
// values in padded standard base64 (a key alone for the empty value). It
// leaves out keys that ParseMetadata would refuse.
func EncodeMetadata(md map[string]string) string {
	keys := make([]string, 0, len(md))
	for k := range md {
		if validKey(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		if v := md[k]; v != "" {
			b.WriteByte(' ')
			b.WriteString(base64.StdEncoding.EncodeToString([]byte(v)))
		}
	}
	return b.String()
}
