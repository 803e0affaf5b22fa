package importer_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/importer"
)

// drain reads every row of data and checks what the package promises:
// no panic, rows in order, records that are JSON and pass the kind's
// checks, and an end.
func drain(t *testing.T, data []byte, o importer.Options) {
	dec, err := importer.NewDecoder(bytes.NewReader(data), o)
	if err != nil {
		if custody.ErrorCode(err) != custody.EINVALID {
			t.Fatalf("NewDecoder: %v", err)
		}
		return
	}
	last := -1
	for range len(data) + 2 {
		row, err := dec.Next()
		if err == io.EOF {
			return
		}
		var re *importer.RowError
		switch {
		case errors.As(err, &re):
			if re.Pos.N <= last && o.Format != importer.CSV || re.Pos.N < last {
				t.Fatalf("%s after %d", re.Pos, last)
			}
			last = re.Pos.N
			_ = re.Error()
			continue
		case err != nil:
			if _, again := dec.Next(); again == nil || again == io.EOF {
				t.Fatalf("Next after the fatal error %v: %v", err, again)
			}
			return
		}
		if row.Pos.N <= last && o.Format != importer.CSV || row.Pos.N < last {
			t.Fatalf("%s after %d", row.Pos, last)
		}
		last = row.Pos.N
		if !json.Valid(row.Data) {
			t.Fatalf("%s: not JSON: %q", row.Pos, row.Data)
		}
		if _, _, err := custody.ParseRecordData(o.Kind, row.Data); err != nil {
			t.Fatalf("%s: a row that does not parse: %v", row.Pos, err)
		}
	}
	t.Fatalf("no end after %d rows", len(data)+2)
}

func fuzzMapping(t *testing.T, spec string) []importer.Map {
	if spec == "" {
		return nil
	}
	m, err := importer.ParseMapping(spec)
	if err != nil {
		return nil
	}
	return m
}

func FuzzCSV(f *testing.F) {
	f.Add([]byte("type,time,precision,locality,killed_confirmed,location.lat,location.lon\nstrike,2022-03-05,day,"+izium+",3,49.2,37.2\n"), "")
	f.Add([]byte("\ufeffA;B;C\n\"strike\";2022-03;month\n\n;;\n\"x\ny\";\"\"\"\";\n"), "type=A,time=B,precision=C")
	f.Add([]byte("a,b\n1,\"unterminated\n"), "killed_confirmed=a,persons=b")
	f.Add([]byte("Name,Roles,Seen\nA,victim;missing,2022-03-20\n"), "name=Name,roles=Roles,ante_mortem.last_seen_at=Seen")
	f.Fuzz(func(t *testing.T, data []byte, mapping string) {
		for _, kind := range []string{custody.KindIncident, custody.KindPerson} {
			drain(t, data, importer.Options{Kind: kind, Format: importer.CSV, Mapping: fuzzMapping(t, mapping)})
		}
	})
}

func FuzzJSON(f *testing.F) {
	f.Add([]byte(`[{"type":"strike","time":"2022-03-05","precision":"day","locality":"`+izium+`","killed_confirmed":"3"}]`), "")
	f.Add([]byte(`[{"a": {"b": [1, "x", null]}}, 1, [], {"a": 1e400}]`), "killed_confirmed=a.b,persons=a")
	f.Add([]byte("\ufeff[\n{},\n{,}\n]"), "")
	f.Add([]byte(`[{"name": "A", "roles": "victim;missing", "ante_mortem": {"last_seen_at": "2022-03-20"}}]`), "")
	f.Fuzz(func(t *testing.T, data []byte, mapping string) {
		for _, kind := range []string{custody.KindIncident, custody.KindPerson} {
			drain(t, data, importer.Options{Kind: kind, Format: importer.JSON, Mapping: fuzzMapping(t, mapping)})
		}
	})
}

func FuzzGeoJSON(f *testing.F) {
	f.Add([]byte(geojson), "type=Type,time=Date,killed_confirmed=Killed")
	f.Add([]byte(`{"features":[{"type":"Feature","properties":{"type":"strike","time":"2022-03","precision":"month","locality":"`+izium+`"},"geometry":{"type":"Point","coordinates":[37.2,49.2]}}],"type":"FeatureCollection"}`), "")
	f.Add([]byte(`{"features":[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[1,2],[3,4],[5,6],[1,2]]]}}]}`), "")
	f.Add([]byte(`{"type":"FeatureCollection","features":[null, 1, {"type":"Feature","properties":[]}]}`), "name=x")
	f.Fuzz(func(t *testing.T, data []byte, mapping string) {
		for _, kind := range []string{custody.KindIncident, custody.KindSite, custody.KindPerson} {
			drain(t, data, importer.Options{Kind: kind, Format: importer.GeoJSON, Mapping: fuzzMapping(t, mapping)})
		}
	})
}
