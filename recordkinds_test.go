package custody_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/custody-dev/custody"
)

func TestParseRecordData(t *testing.T) {
	for _, c := range []struct {
		kind, data string
		err        string // substring of the error; "" for valid
	}{
		{"site", `{"name":"Forest","type":"mass_burial","locality":"UA63040090010029555","status":"excavation"}`, ""},
		{"site", `{"name":"Forest","type":"mass_burial","locality":"UA63040090010029555","status":"excavation"} {}`, "trailing"},
		{"site", `{"name":"","type":"mass_burial","locality":"UA63040090010029555","status":"excavation"}`, "site.name: is required"},
		{"site", `{"name":"F","type":"mass_burial","locality":"UA63040090010029555","status":"excavation","graves":"many"}`, "graves"},
		{"site", `{"name":"F","type":"mass_burial","locality":"UA63040090010029555","status":"excavation","location":{"polygon":[[37,49],[37.1,49],[37,49]]}}`, "ring"},
		{"incident", `{"type":"strike","time":"2022-03-09T10:00:00+02:00","precision":"exact","locality":"UA63040090010029555"}`, ""},
		{"incident", `{"type":"strike","time":"2022-03-09","precision":"exact","locality":"UA63040090010029555"}`, "RFC 3339"},
		{"incident", `{"type":"strike","time":"2022-13","precision":"month","locality":"UA63040090010029555"}`, "month"},
		{"incident", `{"type":"torture","weapon":"missile","time":"2022-03","precision":"month","locality":"UA63040090010029555"}`, "weapon"},
		{"incident", `{"type":"strike","time":"2022-03","precision":"month","locality":"UA63040090010029555","killed_confirmed":-1}`, "negative"},
		{"remains", `{"site":"0193a4b0-0000-7000-8000-000000000001","body":"1","age_min":40,"age_max":30}`, "below age_min"},
		{"remains", `{"site":"0193a4b0-0000-7000-8000-000000000001","body":"1","mni":3}`, "commingled"},
		{"person", `{"roles":["victim"],"name":"X","protection":"high"}`, "witnesses only"},
		{"person", `{"roles":[],"name":"X"}`, "roles: is required"},
		{"testimony", `{"witness":"0193a4b0-0000-7000-8000-000000000001","interviewer":"I","date":"2022-09-20","language":"Ukrainian","consent":{"given":true}}`, "language"},
		{"testimony", `{"witness":"0193a4b0-0000-7000-8000-000000000001","interviewer":"I","date":"2022-09-20","language":"uk","consent":{"given":false,"scope":["national_court"]}}`, "consent"},
		{"case", `{"number":"12022220000000001","title":"T","qualification":["Article 438"]}`, "qualification[0]"},
		{"case", `{"number":"12022220000000001","title":"T","qualification":["CCU 438(2)","RS 7(1)(a)","RS 8(2)(b)(xxii)"]}`, ""},
		{"team", `{"name":"G","type":"mobile","localities":["UA63040090010029555","UA63040090010029555"]}`, "twice"},
		{"task", `{"title":"T","team":"0193a4b0-0000-7000-8000-000000000001","status":"open","due":"2022-02-30"}`, "not a date"},
		{"locality", `{"code":"UA63040090010029555","population_before":45000,"population_after":9000}`, ""},
		{"graves", `{}`, "unknown record kind"},
	} {
		_, f, err := custody.ParseRecordData(c.kind, []byte(c.data))
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s %s: %v", c.kind, c.data, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s %s: error %v, want one mentioning %q", c.kind, c.data, err, c.err)
		case c.err != "" && custody.ErrorCode(err) != custody.EINVALID:
			t.Errorf("%s: code %s, want EINVALID", c.kind, custody.ErrorCode(err))
		case err == nil && f.Title == "":
			t.Errorf("%s: no title", c.kind)
		}
	}
}

func TestRecordFactsStatistics(t *testing.T) {
	data := `{"site":"0193a4b0-0000-7000-8000-000000000001","body":"5","commingled":true,"mni":3,
		"torture":[{"sign":"burns","grade":"not_consistent"},{"sign":"ligature marks","grade":"typical"}],
		"identification":{"status":"identified","method":["dental"],"person":"0193a4b0-0000-7000-8000-000000000002"}}`
	_, f, err := custody.ParseRecordData("remains", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if f.Bodies != 3 || f.Torture != 3 || f.Identified != 1 || f.Status != "identified" || f.Site != "0193a4b0-0000-7000-8000-000000000001" {
		t.Errorf("facts = %+v", f)
	}
	_, f, _ = custody.ParseRecordData("remains", []byte(`{"site":"0193a4b0-0000-7000-8000-000000000001","body":"6","torture":[{"sign":"bruises","grade":"not_consistent"}]}`))
	if f.Bodies != 1 || f.Torture != 0 || f.Status != "unidentified" {
		t.Errorf("facts = %+v", f)
	}
}

// FuzzParseRecordData: any input is a clean EINVALID or a record whose
// facts re-derive identically from its canonical re-encoding.
func FuzzParseRecordData(f *testing.F) {
	for _, k := range custody.RecordKinds {
		f.Add(k, `{}`)
	}
	f.Add("site", `{"name":"Forest","type":"mass_burial","locality":"UA63040090010029555","status":"excavation","location":{"point":{"lat":49.2,"lon":37.3}}}`)
	f.Add("remains", `{"site":"0193a4b0-0000-7000-8000-000000000001","body":"1","injuries":[{"region":"head","type":"gunshot","photos":["0193a4b0-0000-7000-8000-000000000009"]}]}`)
	f.Add("incident", `{"type":"strike","time":"2022-03","precision":"month","locality":"UA63040090010029555","location":{"lat":1e308,"lon":-0}}`)
	f.Fuzz(func(t *testing.T, kind, data string) {
		v, facts, err := custody.ParseRecordData(kind, []byte(data))
		if err != nil {
			if custody.ErrorCode(err) != custody.EINVALID {
				t.Fatalf("code %s: %v", custody.ErrorCode(err), err)
			}
			return
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		_, facts2, err := custody.ParseRecordData(kind, again)
		if err != nil {
			t.Fatalf("re-encoded record refused: %v\n%s", err, again)
		}
		if facts.Title != facts2.Title || facts.Bodies != facts2.Bodies || len(facts.Refs) != len(facts2.Refs) {
			t.Fatalf("facts differ after re-encoding: %+v vs %+v", facts, facts2)
		}
	})
}
