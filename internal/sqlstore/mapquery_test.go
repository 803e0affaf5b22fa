package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
)

func TestMapCells(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db := open(t, sqltest.DSN(t, dialect), newClock(time.Millisecond).Now)
		type pt struct {
			kind, typ, date string
			lat, lon        float64
		}
		pts := []pt{
			{"site", "grave", "2022-09-15", 49.19, 37.28}, {"site", "mass_burial", "2022-09-16", 49.21, 37.26},
			{"incident", "strike", "2022-03-09", 49.20, 37.27}, {"incident", "killing", "2022-04-01", 49.99, 36.23},
			{"incident", "strike", "2023-01-01", 50.45, 30.52}, {"incident", "strike", "2022-05-05", -33.9, 18.4}, // far away
		}
		var ids []string
		for i, p := range pts {
			rid := fmt.Sprintf("01a2123d-0000-7000-8000-%012d", i+1)
			var data string
			if p.kind == "site" {
				data = fmt.Sprintf(`{"name":"Site %d","type":%q,"locality":"UA63040090010029555","status":"reported","found_on":%q,"location":{"point":{"lat":%v,"lon":%v}}}`,
					i, p.typ, p.date, p.lat, p.lon)
			} else {
				data = fmt.Sprintf(`{"type":%q,"time":%q,"precision":"day","locality":"UA63040090010029555","location":{"lat":%v,"lon":%v}}`,
					p.typ, p.date, p.lat, p.lon)
			}
			if _, err := db.Append(ctx, pending(t, custody.EntryRecordCreate, rid, custody.RecordChange{Nonce: "bm9uY2U", Kind: p.kind,
				ID: rid, Version: 1, Data: json.RawMessage(data)})); err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			ids = append(ids, rid)
		}
		ua := sqlstore.MapFilter{Kinds: []string{"site", "incident"}, MinLat: 44, MaxLat: 53, MinLon: 22, MaxLon: 41}
		count := func(cells []sqlstore.MapCell) (n int) {
			for _, c := range cells {
				n += c.Count
			}
			return n
		}
		cells, err := db.MapCells(ctx, ua, 0.625, 1)
		if err != nil {
			t.Fatal(err)
		}
		// Izium's three in one cell (row 78, col 37), by kind; Kharkiv and
		// Kyiv alone.
		if count(cells) != 5 || len(cells) != 4 {
			t.Fatalf("cells: %+v", cells)
		}
		for _, c := range cells {
			if c.Row == int(math.Floor(49.19/0.625)) && c.Col == 37 && c.Kind == "site" && (c.Count != 2 || math.Abs(c.Lat-49.2) > 1e-9) {
				t.Errorf("Izium's sites: %+v", c)
			}
		}
		// The cells of negative coordinates are floors, not truncations.
		world := sqlstore.MapFilter{Kinds: []string{"incident"}, MinLat: -90, MaxLat: 90, MinLon: -180, MaxLon: 180}
		cells, _ = db.MapCells(ctx, world, 0.625, 1)
		found := false
		for _, c := range cells {
			if c.Lat < 0 {
				found = c.Row == int(math.Floor(-33.9/0.625)) && c.Col == 18
			}
		}
		if !found {
			t.Errorf("southern cell: %+v", cells)
		}
		// Filters: type, dates.
		f := ua
		f.Type = "strike"
		if cells, _ := db.MapCells(ctx, f, 0.625, 1); count(cells) != 2 {
			t.Errorf("strikes: %+v", cells)
		}
		f = ua
		f.From, f.To = "2022-09", "2022-09"
		if cells, _ := db.MapCells(ctx, f, 0.625, 1); count(cells) != 2 {
			t.Errorf("September 2022: %+v", cells)
		}
		// A withdrawn record leaves the map, on the index-only path too.
		if _, err := db.Append(ctx, pending(t, custody.EntryRecordWithdraw, ids[0], custody.RecordChange{Nonce: "bm9uY2U", Kind: "site",
			ID: ids[0], Version: 2, Reason: "duplicate"})); err != nil {
			t.Fatal(err)
		}
		if cells, _ := db.MapCells(ctx, ua, 0.625, 1); count(cells) != 4 {
			t.Errorf("after a withdrawal: %+v", cells)
		}
		pts2, err := db.MapPoints(ctx, ua, 10)
		if err != nil || len(pts2) != 4 || pts2[0].Title != "Site 1" || pts2[0].Type != "mass_burial" {
			t.Errorf("MapPoints = %+v, %v", pts2, err)
		}
		for _, bad := range []sqlstore.MapFilter{{}, {Kinds: []string{"nope"}}, {Kinds: []string{"site"}, MinLat: math.NaN()}} {
			if _, err := db.MapCells(ctx, bad, 1, 1); custody.ErrorCode(err) != custody.EINVALID {
				t.Errorf("MapCells(%+v) = %v", bad, err)
			}
		}
		if _, err := db.MapCells(ctx, ua, 0, 1); custody.ErrorCode(err) != custody.EINVALID {
			t.Error("a zero cell size is accepted")
		}
	})
}
