package demo

import (
	"fmt"
	"time"

	"github.com/custody-dev/custody"
)

// incident is a planned incident.
type incident struct {
	in    custody.Incident
	place int
	day   time.Time
	theme string // for testimonies: strike, building, killing, torture, detention
	id    string
}

var munitions = map[string][]string{
	"missile":   {"Kh-101 cruise missile", "Iskander-M ballistic missile", "S-300 surface-to-air missile used against a ground target", "missile, type under examination"},
	"artillery": {"152 mm high-explosive shells", "122 mm high-explosive shells"},
	"cluster":   {"9M55K cluster rocket with 9N235 submunitions", "cluster munition, submunitions under examination"},
	"mlrs":      {"122 mm Grad rockets", "220 mm Uragan rockets"},
	"air":       {"FAB-500 high-explosive air bomb", "guided glide bomb, type under examination"},
	"mortar":    {"120 mm mortar bombs"},
	"drone":     {"Shahed-136 loitering munition", "small drone dropping a grenade"},
}

var strikeTargets = []string{
	"residential houses", "a five-storey apartment building", "a bus stop", "the central market", "private houses and a shop",
	"a crossroads near a pharmacy", "the railway station area", "a humanitarian aid distribution point", "a petrol station",
	"a kindergarten yard", "garages and allotments",
}

// strikeDay returns a day of a strike on p: during the fighting before its
// occupation, or after its liberation (shelling from across the front);
// any day for a settlement never occupied.
func (g *gen) strikeDay(p place) time.Time {
	first, last := day(2022, time.February, 24), day(2023, time.June, 30)
	if p.occupied == "" {
		return g.someDay(first, last)
	}
	occ, lib := parseDay(p.occupied), parseDay(p.liberated)
	if occ.After(first) && g.chance(0.35) {
		return g.someDay(first, occ.AddDate(0, 0, -1))
	}
	return g.someDay(lib.AddDate(0, 0, 1), last)
}

// incidents creates the incidents: the air strike on the building, the
// killings, torture, detentions and disappearances behind the remains and
// the missing, and strikes across the oblast (some with impact-point sites,
// photos and munition fragments).
func (g *gen) incidents() error {
	var list []*incident
	add := func(in *incident) { list = append(list, in) }

	// The air strike on the apartment building.
	bld := &incident{place: pIzium, day: day(2022, time.March, 9), theme: "building"}
	bld.in = custody.Incident{
		Type: "strike", Time: rfc3339(at(bld.day, 1, 40)), Precision: "exact", Locality: places[pIzium].code,
		Site: g.siteList[sBuilding].id, Location: &custody.Point{Lat: 49.2110, Lon: 37.2570},
		Weapon: "air", Munition: "FAB-500 high-explosive air bomb (type under examination)",
		KilledConfirmed: BuildingBodies, KilledEstimated: 5, InjuredConfirmed: 9, InjuredEstimated: 4,
		Description: "Night air strike on a five-storey residential building in central Izium; two entrances collapsed with residents sheltering in the basement. " + syntheticNote,
		Case:        g.caseIDs[caseBuilding],
	}
	for _, b := range g.bodies {
		if b.site == sBuilding {
			bld.in.Remains = append(bld.in.Remains, b.id)
			if b.victim != nil {
				bld.in.Persons = append(bld.in.Persons, b.victim.id)
			}
		}
	}
	for k := range 4 {
		img, err := placardPNG("IZIUM", []string{"COLLAPSED BUILDING", fmt.Sprintf("VIEW %d OF 4", k+1), "2022-09-12"}, 30, g.r.Uint64())
		if err != nil {
			return err
		}
		lat, lon := g.position(sBuilding, 0.0003)
		id, err := g.intake(file{
			name:        fmt.Sprintf("building-view-%d.png", k+1),
			caseNo:      g.caseNumbers[caseBuilding],
			collector:   g.teamList[1].t.Name,
			description: fmt.Sprintf("Collapsed entrances of the apartment building, view %d of 4. Synthetic image.", k+1),
			at:          at(day(2022, time.September, 12), 10+k, 15),
			lat:         lat,
			lon:         lon,
			content:     img,
		})
		if err != nil {
			return err
		}
		bld.in.Evidence = append(bld.in.Evidence, id)
	}
	add(bld)

	// Killings: the gunshot victims of the burial site, a few at a time,
	// and the three single graves.
	var shot []*body
	for _, b := range g.bodies {
		if b.cause == "gunshot" && b.site == sBurial {
			shot = append(shot, b)
		}
	}
	for k := 0; k < 9 && len(shot) > 0; k++ {
		n := min(len(shot), g.between(1, 4))
		group := shot[:n]
		shot = shot[n:]
		p := weighted(g, []weight[int]{{pIzium, 6}, {pKapytolivka, 2}, {pKamianka, 1}, {pOskil, 1}})
		in := g.killing(p, group)
		in.in.Description = fmt.Sprintf("%d civilian(s) shot dead during the occupation; buried at the forest burial site. ", n) + syntheticNote
		add(in)
	}
	for _, b := range g.bodies {
		if b.site != sBurial && b.site != sBuilding {
			in := g.killing(b.home, []*body{b})
			in.in.Site = g.siteList[b.site].id
			in.in.Description = "Civilian shot dead and buried where found. " + syntheticNote
			add(in)
		}
	}

	// Torture: one incident per detention and torture site, with the
	// survivors and the bodies bearing signs of torture.
	var tortured []*body
	for _, b := range g.bodies {
		if len(b.rem.Torture) > 0 {
			tortured = append(tortured, b)
		}
	}
	var survivors []*person
	for _, w := range g.witnesses {
		if w.theme == "torture" {
			survivors = append(survivors, w)
		}
	}
	tortureSites := []int{sDetentionIzium, sDetentionIzium, sDetentionBalakliia, sTortureHrakove, sDetentionKupiansk, sDetentionIzium, sDetentionBalakliia}
	for k, s := range tortureSites {
		p := siteDefs[s].place
		in := &incident{place: p, theme: "torture"}
		in.day = g.someDay(parseDay(places[p].occupied), parseDay(places[p].liberated).AddDate(0, 0, -1))
		lat, lon := g.position(s, 0.0002)
		in.in = custody.Incident{
			Type: "torture", Time: in.day.Format("2006-01"), Precision: "month", Locality: places[p].code,
			Site: g.siteList[s].id, Location: &custody.Point{Lat: lat, Lon: lon}, Case: g.caseIDs[caseTorture],
			Description: "Detained residents held in improvised cells, beaten, tied and given electric shocks during interrogations. " + syntheticNote,
		}
		if k < len(survivors) {
			in.in.Persons = append(in.in.Persons, survivors[k].id)
		}
		if k < len(g.suspects) {
			in.in.Persons = append(in.in.Persons, g.suspects[k].id)
			in.in.SuspectedUnit = g.suspects[k].p.Unit
		}
		for j := k; j < len(tortured); j += len(tortureSites) {
			if siteDefs[s].place == pIzium || j < 2*len(tortureSites) {
				in.in.Remains = append(in.in.Remains, tortured[j].id)
				if v := tortured[j].victim; v != nil {
					in.in.Persons = append(in.in.Persons, v.id)
				}
			}
		}
		if k < 2 {
			img, err := placardPNG("CELL", []string{upper(places[p].name) + " DETENTION SITE", fmt.Sprintf("ROOM %d", k+1), "2022-09-15"}, 200, g.r.Uint64())
			if err != nil {
				return err
			}
			id, err := g.intake(file{name: fmt.Sprintf("detention-site-room-%d.png", k+1), caseNo: g.caseNumbers[caseTorture],
				collector: g.teamList[tTorture].t.Name, description: "Improvised cell in the basement, with restraints. Synthetic image.",
				at: at(day(2022, time.September, 15), 11+k, 5), lat: lat, lon: lon, content: img})
			if err != nil {
				return err
			}
			in.in.Evidence = []string{id}
		}
		add(in)
	}

	// Detentions, disappearances and deportations of the missing.
	for k, m := range g.missing {
		if k >= 11 {
			break
		}
		typ := "detention"
		switch {
		case k >= 9:
			typ = "deportation"
		case k >= 5:
			typ = "disappearance"
		}
		p := pIzium
		for i, pl := range places {
			if pl.code == m.p.Locality {
				p = i
			}
		}
		in := &incident{place: p, theme: "detention"}
		last, _ := time.Parse(time.RFC3339, m.p.AnteMortem.LastSeenAt)
		in.day = day(last.Year(), last.Month(), last.Day())
		in.in = custody.Incident{
			Type: typ, Time: date(in.day), Precision: "day", Locality: m.p.Locality, Persons: []string{m.id},
			Case: g.caseIDs[caseDisappearance],
		}
		switch typ {
		case "detention":
			in.in.Site = g.siteList[pick(g, []int{sDetentionIzium, sDetentionBalakliia, sDetentionKupiansk})].id
			in.in.Description = "Resident detained at home and taken to a detention site; relatives given no information. " + syntheticNote
		case "disappearance":
			in.in.Description = "Resident last seen at a checkpoint; whereabouts unknown. " + syntheticNote
		default:
			in.in.Precision, in.in.Time = "month", in.day.Format("2006-01")
			in.in.Description = "Resident taken through a filtration point and transferred across the state border. " + syntheticNote
		}
		add(in)
	}

	// Strikes across the oblast.
	weights := make([]weight[int], len(places))
	for i, p := range places {
		weights[i] = weight[int]{i, p.weight}
	}
	var strikes []*incident
	for range 36 {
		p := weighted(g, weights)
		in := g.strike(p)
		strikes = append(strikes, in)
		add(in)
	}
	// Attacks on protected objects, destruction and looting.
	for _, a := range []struct {
		place       int
		object      string
		weapon      string
		description string
	}{
		{pIzium, "hospital", "artillery", "Shelling of the town hospital; the surgical block destroyed."},
		{pBalakliia, "school", "mlrs", "Rocket strike on a school used as a shelter."},
		{pKupiansk, "religious", "artillery", "Shelling of a church during a service."},
		{pKharkiv, "cultural", "missile", "Missile strike on a museum building."},
	} {
		in := g.strike(a.place)
		in.in.Type, in.in.ProtectedObject, in.in.Weapon = "attack_protected", a.object, a.weapon
		in.in.Munition = pick(g, munitions[a.weapon])
		in.in.Description = a.description + " " + syntheticNote
		add(in)
	}
	for _, d := range []struct {
		place       int
		typ, weapon string
		description string
	}{
		{pIzium, "destruction", "artillery", "Destruction of the road bridge over the Siverskyi Donets."},
		{pKupiansk, "destruction", "missile", "Destruction of the water pumping station."},
		{pIzium, "looting", "", "Looting of homes and shops in the centre of the town."},
		{pBalakliia, "looting", "", "Looting of an agricultural enterprise: vehicles and grain taken."},
	} {
		in := &incident{place: d.place, theme: "strike"}
		in.day = g.someDay(parseDay(places[d.place].occupied), parseDay(places[d.place].liberated))
		in.in = custody.Incident{Type: d.typ, Time: in.day.Format("2006-01"), Precision: "month", Locality: places[d.place].code,
			Weapon: d.weapon, Description: d.description + " " + syntheticNote, Case: g.caseIDs[caseShelling]}
		add(in)
	}

	// Impact-point sites, photos and munition fragments for some strikes.
	var impacts []any
	var withSite []*incident
	for k, in := range strikes {
		if k%6 != 0 {
			continue
		}
		p := places[in.place]
		s := custody.Site{
			Name: fmt.Sprintf("Impact point, %s, %s (synthetic)", p.name, date(in.day)), Type: "strike_impact", Locality: p.code,
			Location: &custody.Geometry{Point: in.in.Location}, FoundOn: date(in.day), Status: "cleared",
			Team: g.teamList[tStrikes].id, Case: g.caseIDs[caseShelling],
			Description: "Crater and damaged buildings surveyed; fragments collected. " + syntheticNote,
		}
		impacts = append(impacts, &s)
		withSite = append(withSite, in)
		img, err := placardPNG("CRATER", []string{upper(p.name), date(in.day), upper(in.in.Weapon)}, 110, g.r.Uint64())
		if err != nil {
			return err
		}
		collected := g.someTime(in.day.AddDate(0, 0, g.between(0, 2)), 9, 17)
		id, err := g.intake(file{name: fmt.Sprintf("impact-%s-%s.png", date(in.day), p.name), caseNo: g.caseNumbers[caseShelling],
			collector: g.teamList[tStrikes].t.Name, description: fmt.Sprintf("Crater and damage after the strike (%s). Synthetic image.", in.in.Weapon),
			at: collected, lat: in.in.Location.Lat, lon: in.in.Location.Lon, content: img})
		if err != nil {
			return err
		}
		in.in.Evidence = append(in.in.Evidence, id)
		if len(g.fragments) < 3 {
			id, err := g.intake(file{
				caseNo:      g.caseNumbers[caseShelling],
				collector:   g.teamList[tStrikes].t.Name,
				description: fmt.Sprintf("Munition fragment (%s) from the crater, sealed bag. Synthetic item.", in.in.Munition),
				at:          collected.Add(30 * time.Minute),
				lat:         in.in.Location.Lat,
				lon:         in.in.Location.Lon,
				seal:        fmt.Sprintf("DEMO-SEAL-%04d", 500+len(g.fragments)),
				location:    "Evidence bag, " + g.teamList[tStrikes].t.Name,
			})
			if err != nil {
				return err
			}
			in.in.Evidence = append(in.in.Evidence, id)
			g.fragments = append(g.fragments, id)
		}
	}
	ids, err := g.create(custody.KindSite, impacts)
	if err != nil {
		return err
	}
	for k, in := range withSite {
		in.in.Site = ids[k]
	}
	g.sum.Sites += len(ids)

	data := make([]any, len(list))
	for i, in := range list {
		data[i] = &in.in
	}
	if ids, err = g.create(custody.KindIncident, data); err != nil {
		return err
	}
	for i, in := range list {
		in.id = ids[i]
	}
	g.incList = list
	g.sum.Incidents = len(ids)
	return nil
}

// killing plans the killing of the people of bodies at place p.
func (g *gen) killing(p int, bodies []*body) *incident {
	pl := places[p]
	in := &incident{place: p, theme: "killing"}
	in.day = g.someDay(parseDay(pl.occupied), parseDay(pl.liberated).AddDate(0, 0, -1))
	lat, lon := g.jitter(pl.lat, pl.lon, 0.01)
	in.in = custody.Incident{
		Type: "killing", Time: date(in.day), Precision: "day", Locality: pl.code, Location: &custody.Point{Lat: lat, Lon: lon},
		Weapon: "small_arms", KilledConfirmed: len(bodies), Case: g.caseIDs[caseKillings],
	}
	for _, b := range bodies {
		in.in.Remains = append(in.in.Remains, b.id)
		if b.victim != nil {
			in.in.Persons = append(in.in.Persons, b.victim.id)
		}
	}
	if g.chance(0.4) {
		s := pick(g, g.suspects)
		in.in.SuspectedUnit = s.p.Unit
		in.in.Persons = append(in.in.Persons, s.id)
	}
	return in
}

// strike plans a strike on place p.
func (g *gen) strike(p int) *incident {
	pl := places[p]
	in := &incident{place: p, theme: "strike", day: g.strikeDay(pl)}
	weapon := weighted(g, []weight[string]{{"artillery", 30}, {"missile", 20}, {"mlrs", 15}, {"cluster", 15}, {"air", 10}, {"mortar", 5}, {"drone", 5}})
	lat, lon := g.jitter(pl.lat, pl.lon, 0.015)
	killed := weighted(g, []weight[int]{{0, 40}, {1, 20}, {2, 12}, {3, 8}, {g.between(4, 9), 6}})
	injured := killed + weighted(g, []weight[int]{{0, 30}, {g.between(1, 5), 50}, {g.between(6, 25), 20}})
	in.in = custody.Incident{
		Type: "strike", Time: rfc3339(g.someTime(in.day, 0, 24)), Precision: "exact", Locality: pl.code,
		Location: &custody.Point{Lat: lat, Lon: lon}, Weapon: weapon, Munition: pick(g, munitions[weapon]),
		KilledConfirmed: killed, InjuredConfirmed: injured, Case: g.caseIDs[caseShelling],
		Description: fmt.Sprintf("Strike on %s in %s. ", pick(g, strikeTargets), pl.name) + syntheticNote,
	}
	if g.chance(0.2) {
		in.in.KilledEstimated = g.between(1, 3)
	}
	return in
}

// testimony is a planned testimony.
type testimony struct {
	t  custody.Testimony
	id string
}

// testimonies creates the witnesses' accounts, a third of them with an
// audio recording, and links the main incidents to them (a second version
// of those incidents).
func (g *gen) testimonies() error {
	byTheme := func(theme string) []*incident {
		var out []*incident
		for _, in := range g.incList {
			if in.theme == theme {
				out = append(out, in)
			}
		}
		return out
	}
	used := map[string]int{}
	var list []*testimony
	var about []*incident
	var interviewers [][]string
	for k, w := range g.witnesses {
		var in *incident
		switch w.theme {
		case "burial":
		default:
			cands := byTheme(w.theme)
			in = cands[used[w.theme]%len(cands)]
			used[w.theme]++
		}
		p := pIzium
		ev := day(2022, time.September, 10)
		team := 6
		switch {
		case in != nil:
			p, ev = in.place, in.day
			switch in.theme {
			case "torture":
				team = tTorture
			case "detention":
				team = tDetention
			case "strike":
				team = tStrikes
			case "building":
				team = 1
			}
		case w.theme == "burial":
			ev = g.someDay(day(2022, time.April, 5), day(2022, time.August, 30))
		}
		from := ev.AddDate(0, 0, 3)
		if lib := places[p].liberated; lib != "" && parseDay(lib).After(from) {
			from = parseDay(lib).AddDate(0, 0, 5)
		}
		lang := weighted(g, []weight[string]{{"uk", 55}, {"ru", 35}, {"en", 10}})
		t := custody.Testimony{
			Witness: w.id, Interviewer: g.member(team, "prosecutor", "police"),
			Date:     date(g.someDay(from, from.AddDate(0, 0, 60))),
			Place:    pick(g, []string{"witness's home", "local administration office", "temporary accommodation centre", "prosecutor's office"}) + ", " + places[p].name,
			Locality: places[p].code, Language: lang,
			Transcript: transcript(lang, w.theme, places[p], ev),
			Case:       g.caseIDs[themeCase(w.theme)],
		}
		if lang == "en" {
			t.Interpreter = g.member(team, "interpreter")
			if t.Interpreter == g.teamList[team].t.Members[0].Name {
				t.Interpreter = "Synthetic Interpreter 01"
			}
		}
		switch c := g.r.IntN(100); {
		case c < 5:
			t.Consent = custody.Consent{Given: false, Notes: "Consent to use in proceedings withheld; account recorded as a lead only."}
		case c < 35:
			t.Consent = custody.Consent{Given: true, Scope: []string{"national_court"}}
		default:
			t.Consent = custody.Consent{Given: true, Scope: []string{"national_court", "international_court"}}
		}
		if in != nil {
			t.Incidents = []string{in.id}
			for _, id := range in.in.Persons {
				if len(t.Persons) < 3 && id != w.id {
					t.Persons = append(t.Persons, id)
				}
			}
		}
		if k%3 == 0 {
			d := parseDay(t.Date)
			wav := toneWAV(1.5+float64(g.r.IntN(10))/10, 140+float64(g.r.IntN(120)), fmt.Sprintf("Testimony %02d (synthetic)", k+1))
			id, err := g.intake(file{name: fmt.Sprintf("testimony-%02d.wav", k+1), caseNo: g.caseNumbers[themeCase(w.theme)],
				collector: g.teamList[team].t.Name, description: "Audio recording of a testimony: synthetic tones, not speech.",
				at: g.someTime(d, 9, 18), content: wav})
			if err != nil {
				return err
			}
			t.Recordings = []string{id}
		}
		list = append(list, &testimony{t: t})
		about = append(about, in)
		// The interviewing team holds the testimony too (the case it is
		// evidence of holds it by its case field).
		interviewers = append(interviewers, []string{g.teamList[team].id})
	}
	data := make([]any, len(list))
	for i, t := range list {
		data[i] = &t.t
	}
	ids, err := g.createIn(custody.KindTestimony, data, interviewers)
	if err != nil {
		return err
	}
	for i, t := range list {
		t.id = ids[i]
	}
	g.testList = list
	g.sum.Testimonies = len(ids)
	// Link the building strike and the first torture incident to their
	// testimonies.
	for _, target := range []*incident{byTheme("building")[0], byTheme("torture")[0]} {
		for i, in := range about {
			if in == target {
				target.in.Testimonies = append(target.in.Testimonies, list[i].id)
			}
		}
		if err := g.update(custody.KindIncident, target.id, &target.in, "testimonies linked"); err != nil {
			return err
		}
	}
	return nil
}

func themeCase(theme string) int {
	switch theme {
	case "torture":
		return caseTorture
	case "building":
		return caseBuilding
	case "detention":
		return caseDisappearance
	case "strike":
		return caseShelling
	}
	return caseKillings
}
