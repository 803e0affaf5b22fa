package demo

import (
	"fmt"
	"time"

	"github.com/custody-dev/custody"
)

// Sites, by index into siteDefs.
const (
	sBurial = iota
	sBuilding
	sGraveKapytolivka
	sGraveKamianka
	sGraveBorova
	sDetentionIzium
	sDetentionBalakliia
	sTortureHrakove
	sDetentionKupiansk
	sBarracksIzium
	sCommandKupiansk
	sCommandBalakliia
	sBarracksBorova
)

// The burial site's position: a pine forest on Izium's outskirts
// (approximate, for the demo).
const burialLat, burialLon = 49.1947, 37.2816

var siteDefs = []struct {
	name, typ     string
	place         int
	lat, lon      float64
	found, status string
	team, caseIdx int
	description   string
}{
	{"Forest burial site, Izium (synthetic)", "mass_burial", pIzium, burialLat, burialLon, "2022-09-15", "excavation", tBurial, caseKillings,
		"Pine forest on the outskirts of Izium: about 450 individual graves under numbered wooden crosses and one common grave, dug during the occupation. Exhumation 16-23 September 2022."},
	{"Collapsed apartment building, central Izium (synthetic)", "building", pIzium, 49.2110, 37.2570, "2022-09-12", "cleared", 1, caseBuilding,
		"Five-storey residential building; two entrances collapsed after an air strike in March 2022. Bodies recovered from the rubble after liberation."},
	{"Grave in a private garden, Kapytolivka (synthetic)", "grave", pKapytolivka, 0, 0, "2022-09-18", "completed", 13, caseKillings,
		"Single grave reported by a neighbour; the body was exhumed and examined."},
	{"Roadside grave, Kamianka (synthetic)", "grave", pKamianka, 0, 0, "2022-09-21", "completed", 14, caseKillings,
		"Single grave beside the road out of the village, marked with a stick and a scarf."},
	{"Grave near a farm building, Borova (synthetic)", "grave", pBorova, 0, 0, "2022-10-05", "completed", 12, caseKillings,
		"Single grave found during the search of a farm used by the occupying forces."},
	{"Detention and torture site: basement of an administrative building, Izium (synthetic)", "torture", pIzium, 49.2075, 37.2660, "2022-09-14", "secured", tTorture, caseTorture,
		"Basement rooms with improvised cells, a chair bolted to the floor, wires and restraints; inscriptions on the walls photographed."},
	{"Detention site: former police building, Balakliia (synthetic)", "detention", pBalakliia, 0, 0, "2022-09-10", "completed", tTorture, caseTorture,
		"Cells in the basement used to hold residents during the occupation."},
	{"Torture site: outbuilding of an agricultural enterprise, Hrakove (synthetic)", "torture", pHrakove, 0, 0, "2022-09-12", "completed", tTorture, caseTorture,
		"Outbuilding with improvised cells and equipment for electric shocks."},
	{"Detention site: basement of a municipal building, Kupiansk (synthetic)", "detention", pKupiansk, 0, 0, "2022-09-20", "secured", tDetention, caseDisappearance,
		"Basement rooms with lists of detainees' names scratched on the doors (not reproduced here)."},
	{"Occupiers' barracks: school building, Izium (synthetic)", "barracks", pIzium, 49.2030, 37.2420, "2022-09-13", "cleared", tBarracks, caseKillings,
		"School building used as barracks; documents, equipment and unit markings left behind."},
	{"Command post: farm complex near Kupiansk (synthetic)", "command_post", pKupiansk, 0, 0, "2022-09-22", "cleared", tBarracks, caseShelling,
		"Dug-in command post with maps and radio equipment."},
	{"Command post: office building, Balakliia (synthetic)", "command_post", pBalakliia, 0, 0, "2022-09-11", "cleared", tBarracks, caseTorture,
		"Office building used as a command post; logbooks recovered."},
	{"Barracks: holiday camp near Borova (synthetic)", "barracks", pBorova, 0, 0, "2022-10-04", "secured", tBarracks, caseKillings,
		"Holiday camp used as barracks; mined on withdrawal, cleared by sappers."},
}

// site is a created site.
type site struct {
	s  custody.Site
	id string
}

// sites creates the fixed sites. Strike impact points are created with
// their strikes.
func (g *gen) sites() error {
	data := make([]any, 0, len(siteDefs))
	for i, d := range siteDefs {
		lat, lon := d.lat, d.lon
		if lat == 0 {
			p := places[d.place]
			lat, lon = g.jitter(p.lat, p.lon, 0.01)
		}
		s := custody.Site{
			Name: d.name, Type: d.typ, Locality: places[d.place].code, FoundOn: d.found, Status: d.status,
			Team: g.teamList[d.team].id, Case: g.caseIDs[d.caseIdx], Description: d.description + " " + syntheticNote,
			Location: &custody.Geometry{Point: &custody.Point{Lat: lat, Lon: lon}},
		}
		if i == sBurial {
			// A general record, in no compartment: every group works at
			// the site, and its registry of graves and remains is shared
			// for identification (see remains).
			s.Team, s.Case = "", ""
			// About 120 m by 100 m of forest.
			const dLat, dLon = 0.00055, 0.0008
			s.Location = &custody.Geometry{Polygon: [][2]float64{
				{round6(lon - dLon), round6(lat - dLat)}, {round6(lon + dLon), round6(lat - dLat)},
				{round6(lon + dLon), round6(lat + dLat)}, {round6(lon - dLon), round6(lat + dLat)},
				{round6(lon - dLon), round6(lat - dLat)},
			}}
			s.SurveyDatum = "WGS 84 / UTM zone 37N (EPSG:32637); site datum SD-1, a survey pin at the south-west corner"
			s.Grid = fmt.Sprintf("2 m squares, rows A-%c, columns 01-20, one grave per square", 'A'+(BurialGraves-1)/20)
			s.Graves = BurialGraves
		}
		if d.typ == "grave" {
			s.Graves = 1
		}
		g.siteList = append(g.siteList, &site{s: s})
		data = append(data, &g.siteList[i].s)
	}
	ids, err := g.create(custody.KindSite, data)
	if err != nil {
		return err
	}
	for i, s := range g.siteList {
		s.id = ids[i]
	}
	g.sum.Sites += len(ids)
	g.sum.BurialSite, g.sum.Building = g.siteList[sBurial].id, g.siteList[sBuilding].id
	return nil
}

// position returns the position of site i, jittered by up to d degrees.
func (g *gen) position(i int, d float64) (float64, float64) {
	s := g.siteList[i].s
	if s.Location.Point != nil {
		return g.jitter(s.Location.Point.Lat, s.Location.Point.Lon, d)
	}
	return g.jitter(burialLat, burialLon, d)
}

// remainsEvidence takes in the post-mortem photos and DNA samples the
// remains records link to.
func (g *gen) remainsEvidence() error {
	seal := 100
	for _, b := range g.bodies {
		rec, _ := time.Parse(time.RFC3339, b.rem.RecoveredAt)
		where := b.rem.Body
		if b.rem.Grave != "" {
			where = "grave " + b.rem.Grave
		}
		collector := g.teamList[siteDefs[b.site].team].t.Name
		caseNo := g.caseNumbers[siteDefs[b.site].caseIdx]
		lat, lon := g.position(b.site, 0.0003)
		if b.injuryPhoto && len(b.rem.Injuries) > 0 {
			in := &b.rem.Injuries[0]
			img, err := placardPNG(upper(where), []string{"INJURY: " + upper(in.Region) + " - " + upper(in.Type), "BODY " + b.rem.Body, rec.Format("2006-01-02")}, 90, g.r.Uint64())
			if err != nil {
				return err
			}
			id, err := g.intake(file{
				name:        fmt.Sprintf("%s-injury-1.png", b.rem.Body),
				caseNo:      caseNo,
				collector:   collector,
				description: fmt.Sprintf("Post-mortem photo of an injury (%s, %s), %s. Synthetic image.", in.Region, in.Type, where),
				at:          rec.Add(time.Duration(g.between(30, 180)) * time.Minute),
				lat:         lat,
				lon:         lon,
				content:     img,
			})
			if err != nil {
				return err
			}
			in.Photos = []string{id}
		}
		if b.torturePhoto {
			t := &b.rem.Torture[0]
			img, err := placardPNG(upper(where), []string{"FINDING: " + upper(t.Sign), "BODY " + b.rem.Body, rec.Format("2006-01-02")}, 140, g.r.Uint64())
			if err != nil {
				return err
			}
			id, err := g.intake(file{
				name:        fmt.Sprintf("%s-finding-1.png", b.rem.Body),
				caseNo:      g.caseNumbers[caseTorture],
				collector:   collector,
				description: fmt.Sprintf("Post-mortem photo: %s, %s. Synthetic image.", t.Sign, where),
				at:          rec.Add(time.Duration(g.between(30, 180)) * time.Minute),
				lat:         lat,
				lon:         lon,
				content:     img,
			})
			if err != nil {
				return err
			}
			t.Photos = []string{id}
		}
		if b.sample {
			seal++
			id, err := g.intake(file{
				caseNo:      caseNo,
				collector:   collector,
				description: fmt.Sprintf("DNA sample (femur fragment, sealed bag) from %s, body %s. Synthetic item.", where, b.rem.Body),
				at:          rec.Add(time.Duration(g.between(60, 240)) * time.Minute),
				lat:         lat,
				lon:         lon,
				seal:        fmt.Sprintf("DEMO-SEAL-%04d", seal),
				location:    "Field kit box 3, " + collector,
			})
			if err != nil {
				return err
			}
			b.rem.Samples = []string{id}
			g.samples = append(g.samples, id)
		}
	}
	// Placards: photos of a few numbered crosses at the burial site.
	for range 8 {
		gr := g.between(1, BurialGraves)
		b := g.bodies[gr-1]
		rec, _ := time.Parse(time.RFC3339, b.rem.RecoveredAt)
		img, err := placardPNG(fmt.Sprintf("#%d", gr), []string{"FOREST BURIAL SITE - IZIUM", "GRID " + b.rem.GridPosition, rec.Format("2006-01-02")}, 60, g.r.Uint64())
		if err != nil {
			return err
		}
		lat, lon := g.position(sBurial, 0.0004)
		id, err := g.intake(file{name: fmt.Sprintf("site-A-grave-%03d.png", gr), caseNo: g.caseNumbers[caseKillings],
			collector: g.teamList[6].t.Name, description: fmt.Sprintf("Numbered cross over grave %d before exhumation. Synthetic image.", gr),
			at: rec.Add(-time.Duration(g.between(20, 90)) * time.Minute), lat: lat, lon: lon, content: img})
		if err != nil {
			return err
		}
		g.placards = append(g.placards, id)
	}
	return nil
}

// remains creates the remains records, linked to sites, victims and items.
func (g *gen) remains() error {
	data := make([]any, len(g.bodies))
	for i, b := range g.bodies {
		b.rem.Site = g.siteList[b.site].id
		if b.site != sBurial {
			// The burial site's remains stay general records (the
			// registry every group and the families' identifications
			// draw on); the others are evidence of their case.
			b.rem.Case = g.caseIDs[siteDefs[b.site].caseIdx]
		}
		if b.victim != nil {
			b.rem.Identification.Person = b.victim.id
		}
		data[i] = &b.rem
	}
	ids, err := g.create(custody.KindRemains, data)
	if err != nil {
		return err
	}
	for i, b := range g.bodies {
		b.id = ids[i]
		g.sum.Bodies += max(1, b.rem.MNI)
	}
	g.sum.Remains = len(ids)
	return nil
}
