package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

type vectorFile struct {
	Vectors []struct {
		Name        string `json:"name"`
		Payload     string `json:"payload"`
		PayloadRef  string `json:"payload_ref"`
		Entry       string `json:"entry"`
		LeafHashHex string `json:"leaf_hash_hex"`
	} `json:"vectors"`
	NonCanonical []struct {
		Why   string `json:"why"`
		Entry string `json:"entry"`
		JSON  string `json:"json"`
	} `json:"non_canonical"`
}

func loadVectors(t *testing.T) vectorFile {
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestVectors checks the shared test vectors of docs/log-format.md,
// recomputing the hashes from first principles (SHA-256 and the RFC 6962
// leaf prefix) rather than with this package's helpers.
func TestVectors(t *testing.T) {
	v := loadVectors(t)
	if len(v.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	for _, x := range v.Vectors {
		t.Run(x.Name, func(t *testing.T) {
			sum := sha256.Sum256([]byte(x.Payload))
			if got := "sha256-" + hex.EncodeToString(sum[:]); got != x.PayloadRef {
				t.Errorf("payload ref %s, vector says %s", got, x.PayloadRef)
			}
			leaf := sha256.Sum256(append([]byte{0}, x.Entry...))
			if got := hex.EncodeToString(leaf[:]); got != x.LeafHashHex {
				t.Errorf("leaf hash %s, vector says %s", got, x.LeafHashHex)
			}
			if got := hex.EncodeToString(LeafHash([]byte(x.Entry))); got != x.LeafHashHex {
				t.Errorf("LeafHash %s, vector says %s", got, x.LeafHashHex)
			}
			e, err := ParseEntry([]byte(x.Entry))
			if err != nil {
				t.Fatalf("ParseEntry: %v", err)
			}
			if err := CheckPayload(e, []byte(x.Payload)); err != nil {
				t.Errorf("CheckPayload: %v", err)
			}
			if err := CheckPayload(e, append([]byte(x.Payload[:len(x.Payload)-1]), ' ', '}')); err == nil {
				t.Error("CheckPayload accepted an altered payload")
			}
		})
	}
	for _, x := range v.NonCanonical {
		t.Run("reject/"+x.Why, func(t *testing.T) {
			if x.Entry != "" {
				if _, err := ParseEntry([]byte(x.Entry)); err == nil {
					t.Errorf("ParseEntry accepted a non-canonical entry (%s)", x.Why)
				}
			}
			if x.JSON != "" {
				if err := IsCanonical([]byte(x.JSON)); err == nil {
					t.Errorf("IsCanonical accepted %s (%s)", x.JSON, x.Why)
				}
			}
		})
	}
}

func FuzzParseEntry(f *testing.F) {
	f.Add([]byte(`{"actor":"a","id":"b","payload":"sha256-0000000000000000000000000000000000000000000000000000000000000000","store":"s","subject":"x","time":"t","type":"item.add","v":1}`))
	f.Add([]byte(`{"a":[1,2.5,{"b":null}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEntry(b)
		if err != nil {
			return
		}
		// Whatever parses must re-encode to exactly the same bytes.
		again, err := Canonical(e)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if string(again) != string(b) {
			t.Fatalf("parsed entry re-encodes differently:\n%s\n%s", b, again)
		}
	})
}

func FuzzCanonicalizeJSON(f *testing.F) {
	f.Add([]byte(`{"b":1,"a":[1.5e3,"<>&"],"c":{"z":null,"y":true}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := CanonicalizeJSON(b)
		if err != nil {
			return
		}
		// Canonical form is a fixed point.
		if err := IsCanonical(c); err != nil {
			t.Fatalf("canonical output %s is not canonical: %v", c, err)
		}
	})
}
