package evidence

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/verify"
)

// TestRecordPayload holds recordPayload to verify.Canonical, which it
// stands in for on the append path, and checks that what it declines is
// what it cannot write as it is.
func TestRecordPayload(t *testing.T) {
	datas := []string{
		`{"type":"strike","time":"2022-03-09","killed_confirmed":47,"lat":49.1947,"big":1e21,"small":1.5e-7,"neg":-0}`,
		`{"description":"Мешканці повідомили, що \"ракета\" влучила\n в будинок \\ <b>&amp;</b> \u2028 😀","tags":["a","б"],"nested":{"z":[1,{"y":null,"x":true}],"a":false}}`,
		`{}`,
		`{"a":"\u0001\u001f\u007f"}`,
	}
	changes := []custody.RecordChange{
		{Nonce: "n0nce/+AA", Kind: custody.KindIncident, ID: "0192f5a0-0000-7000-8000-000000000001", Version: 1},
		{Nonce: "x", Kind: custody.KindRemains, ID: "r", Version: 3, Reason: "grave number corrected (see p. 2)", Compartments: []string{"c1", "c2"}},
		{Nonce: "x", Kind: custody.KindRemains, ID: "r", Version: 2, Compartments: []string{}},
		{Nonce: "x", Kind: custody.KindRemains, ID: "r", Version: 12, Reason: "номер могили"},
		{Nonce: "x", Kind: custody.KindRemains, ID: "r", Version: 2, Reason: `quote " here`},
		{Nonce: "x", Kind: custody.KindRemains, ID: "r", Version: 2, Compartments: []string{"tab\there"}},
	}
	for _, d := range datas {
		data, err := verify.CanonicalizeJSON([]byte(d))
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range changes {
			c.Data = data
			want, err := verify.Canonical(c)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := recordPayload(c)
			if i >= 3 {
				if ok {
					t.Errorf("change %d: written directly: %s", i, got)
				}
				continue
			}
			if !ok {
				t.Fatalf("change %d: declined", i)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("change %d:\n got %s\nwant %s", i, got, want)
			}
			// What the projection decodes is the change handed over.
			var back custody.RecordChange
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back.Data, c.Data) || back.ID != c.ID || back.Kind != c.Kind || back.Nonce != c.Nonce ||
				back.Version != c.Version || back.Reason != c.Reason || len(back.Compartments) != len(c.Compartments) {
				t.Errorf("change %d: decodes as %+v", i, back)
			}
		}
	}
}
