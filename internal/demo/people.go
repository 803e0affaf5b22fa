package demo

import (
	"fmt"
	"strconv"
	"time"

	"github.com/custody-dev/custody"
)

// localities records the facts of every demo settlement.
func (g *gen) localities() error {
	data := make([]any, 0, len(places))
	for _, p := range places {
		li := &custody.LocalityInfo{
			Code:        p.code,
			OccupiedOn:  p.occupied,
			LiberatedOn: p.liberated,
			Notes: syntheticNote + " Dates and populations approximate public reporting on " + p.name +
				" and are not official statistics.",
		}
		if p.pop > 0 {
			li.PopulationBefore, li.PopulationAfter = ptr(p.pop), ptr(p.pop*p.remained/100/100*100)
		}
		if p.occupied != "" {
			li.EvacuationNotes = "Partial evacuation before and during the occupation; no safe corridor for most of the period. Synthetic demo figures."
		} else {
			li.EvacuationNotes = "Not occupied; repeated strikes. Part of the population left for western Ukraine. Synthetic demo figures."
		}
		data = append(data, li)
	}
	if _, err := g.create(custody.KindLocality, data); err != nil {
		return err
	}
	g.sum.Localities = len(data)
	return nil
}

// Cases, by index.
const (
	caseKillings = iota
	caseTorture
	caseBuilding
	caseShelling
	caseDisappearance
)

var caseDefs = []struct {
	title, opened, prosecutor, description string
	qualification                          []string
	status                                 string
}{
	{"Killings of civilians in Izium during the occupation", "2022-09-15", "Synthetic Prosecutor 01",
		"Wilful killings of civilians in Izium and nearby villages, April-September 2022; victims buried at the forest burial site and in single graves.",
		[]string{"CCU 438(2)", "RS 8(2)(a)(i)"}, "open"},
	{"Torture and unlawful detention of residents of Izium raion", "2022-09-17", "Synthetic Prosecutor 02",
		"Torture and cruel treatment of detained civilians at detention sites in Izium, Balakliia, Kupiansk and Hrakove.",
		[]string{"CCU 438(1)", "RS 8(2)(a)(ii)", "RS 8(2)(a)(vii)"}, "open"},
	{"Air strike on an apartment building in Izium, March 2022", "2022-09-14", "Synthetic Prosecutor 03",
		"Air strike on a residential building in central Izium; 47 bodies recovered from the rubble after liberation.",
		[]string{"CCU 438(2)", "RS 8(2)(b)(i)"}, "in_court"},
	{"Shelling of settlements of Kharkiv oblast", "2022-03-01", "Synthetic Prosecutor 04",
		"Artillery, rocket, missile and air strikes on residential areas and civilian objects across Kharkiv oblast.",
		[]string{"CCU 438(1)", "RS 8(2)(b)(i)", "RS 8(2)(b)(iv)"}, "open"},
	{"Enforced disappearances and deportation of civilians", "2022-09-20", "Synthetic Prosecutor 05",
		"Civilians detained during the occupation and not seen since; transfers across the state border.",
		[]string{"CCU 438(1)", "RS 7(1)(i)", "RS 8(2)(a)(vii)"}, "suspended"},
}

// cases creates the criminal cases, without their links (added at the end,
// as a second version, once incidents and items exist).
func (g *gen) cases() error {
	data := make([]any, 0, len(caseDefs))
	for _, c := range caseDefs {
		// ЄРДР numbers: body (4, prosecutor's office), year, region (22,
		// Kharkiv oblast), sequence. Synthetic.
		n := fmt.Sprintf("4%s22%010d", c.opened[:4], g.between(10000, 999999))
		g.caseNumbers = append(g.caseNumbers, n)
		data = append(data, g.caseData(len(data), nil, nil, nil))
	}
	ids, err := g.create(custody.KindCase, data)
	if err != nil {
		return err
	}
	g.caseIDs = ids
	g.sum.Cases = len(ids)
	g.sum.CaseNumbers = g.caseNumbers
	return nil
}

func (g *gen) caseData(i int, incidents, persons, items []string) *custody.Case {
	c := caseDefs[i]
	return &custody.Case{
		Number: g.caseNumbers[i], Title: c.title, Status: c.status, Qualification: c.qualification,
		Prosecutor: c.prosecutor, OpenedOn: c.opened, Incidents: incidents, Persons: persons, Items: items,
		Description: c.description + " " + syntheticNote,
	}
}

// body is a planned remains record.
type body struct {
	rem    custody.Remains
	site   int    // index into siteDefs
	cause  string // shelling, gunshot, blunt, natural, undetermined, pending, military, collapse
	age    int
	home   int     // place index of the person's home
	victim *person // identified (or presumptively identified) as
	// Evidence to attach: an injury photo, a torture photo, a DNA sample.
	injuryPhoto, torturePhoto, sample bool
	id                                string
}

// person is a planned person record.
type person struct {
	p     custody.Person
	theme string // witnesses: what they speak of
	id    string
}

func (g *gen) newPerson(roles ...string) *person {
	g.personSeq++
	p := &person{p: custody.Person{Roles: roles, Name: fmt.Sprintf("Synthetic Person %04d", g.personSeq), Notes: syntheticNote}}
	g.people = append(g.people, p)
	return p
}

// planRemains decides every body: the burial site's graves, the collapsed
// building's 47 bodies and three single graves.
func (g *gen) planRemains() error {
	// Commingled graves: one common grave of 17 servicemen, three graves of
	// two or three civilians.
	commingled := map[int]int{g.between(380, BurialGraves): 17}
	for len(commingled) < 4 {
		gr := g.between(1, 379)
		if _, dup := commingled[gr]; !dup {
			commingled[gr] = g.between(2, 3)
		}
	}
	start := day(2022, time.September, 16)
	military := 0
	for gr := 1; gr <= BurialGraves; gr++ {
		d := start.AddDate(0, 0, (gr-1)*8/BurialGraves)
		b := &body{site: sBurial, home: pIzium}
		b.rem = custody.Remains{
			Grave:        strconv.Itoa(gr),
			Body:         fmt.Sprintf("IZ-F-%04d", gr),
			RecoveredAt:  rfc3339(g.someTime(d, 8, 18)),
			GridPosition: fmt.Sprintf("%c%02d", 'A'+(gr-1)/20, (gr-1)%20+1),
			Pathologist:  pick(g, pathologists),
			Effects:      pick(g, effects),
			Notes:        syntheticNote,
		}
		if g.chance(0.12) {
			b.home = weighted(g, []weight[int]{{pKapytolivka, 3}, {pKamianka, 2}, {pOskil, 2}, {pKunie, 1}})
		}
		if mni, ok := commingled[gr]; ok {
			g.commingled(b, mni)
			if mni > 3 {
				military += mni
			}
		} else {
			isMilitary := military < 22 && g.chance(0.012)
			if isMilitary {
				military++
			}
			g.single(b, isMilitary, false)
		}
		g.bodies = append(g.bodies, b)
	}
	for i := 1; i <= BuildingBodies; i++ {
		d := day(2022, time.September, 13).AddDate(0, 0, (i-1)*10/BuildingBodies)
		b := &body{site: sBuilding, home: pIzium, cause: "collapse"}
		b.rem = custody.Remains{
			Body:         fmt.Sprintf("IZ-BLD-%02d", i),
			RecoveredAt:  rfc3339(g.someTime(d, 9, 19)),
			GridPosition: fmt.Sprintf("entrance %d, floor %d, collapse zone %c", g.between(1, 2), g.between(1, 5), 'A'+g.r.IntN(4)),
			Pathologist:  pick(g, pathologists),
			Effects:      pick(g, effects),
			Notes:        syntheticNote,
		}
		g.single(b, false, true)
		g.bodies = append(g.bodies, b)
	}
	for _, s := range []struct{ site, home int }{{sGraveKapytolivka, pKapytolivka}, {sGraveKamianka, pKamianka}, {sGraveBorova, pBorova}} {
		b := &body{site: s.site, home: s.home, cause: "gunshot"}
		d := parseDay(siteDefs[s.site].found).AddDate(0, 0, g.between(1, 4))
		b.rem = custody.Remains{
			Grave: "1", Body: "1", RecoveredAt: rfc3339(g.someTime(d, 9, 17)),
			Pathologist: pick(g, pathologists), Effects: pick(g, effects), Notes: syntheticNote,
		}
		g.single(b, false, false)
		g.bodies = append(g.bodies, b)
	}
	// Evidence: injury photos, torture photos and DNA samples for a few.
	var photos, torture, samples int
	for _, b := range g.bodies {
		switch {
		case photos < 6 && b.site == sBurial && (b.cause == "gunshot" || b.cause == "shelling") && g.chance(0.2):
			b.injuryPhoto = true
			photos++
		case torture < 5 && len(b.rem.Torture) > 0 && b.rem.Torture[0].Grade != "not_consistent":
			b.torturePhoto = true
			torture++
		}
		id := b.rem.Identification
		if id != nil && id.Status == "identified" && (samples < 10 && b.site == sBurial && g.chance(0.05) || samples < 13 && b.site == sBuilding) {
			b.sample = true
			samples++
		}
	}
	return nil
}

// commingled plans the remains of a grave holding several individuals.
func (g *gen) commingled(b *body, mni int) {
	b.cause = "undetermined"
	b.rem.Commingled, b.rem.MNI = true, mni
	b.rem.Condition = "commingled"
	b.rem.Sex = "undetermined"
	b.rem.Identification = &custody.Identification{Status: "unidentified"}
	if mni > 3 {
		b.cause = "military"
		b.rem.Clothing = clothingMilitary + " (several sets)"
		b.rem.Injuries = []custody.Injury{
			{Region: "multiple", Type: "shrapnel", Description: "fragment wounds on several individuals"},
			{Region: "head", Type: "gunshot", Description: "gunshot wounds of the head on at least three individuals"},
		}
		b.rem.CauseOfDeath = "multiple: fragment and gunshot wounds (per individual, pending)"
		b.rem.MannerOfDeath = "homicide"
		b.rem.Notes = fmt.Sprintf("Common grave of servicemen; minimum number of individuals %d from the count of left femurs. DNA sampling of each individual in progress. %s", mni, syntheticNote)
		b.rem.AgeMin, b.rem.AgeMax = ptr(20), ptr(55)
		return
	}
	b.rem.Clothing = pick(g, clothingCivil) + "; " + pick(g, clothingCivil)
	b.rem.CauseOfDeath = "undetermined: commingled and decomposed remains"
	b.rem.MannerOfDeath = "pending"
	b.rem.Notes = fmt.Sprintf("Grave holding the remains of %d individuals buried together; minimum number of individuals from duplicated elements. %s", mni, syntheticNote)
	b.rem.AgeMin, b.rem.AgeMax = ptr(30), ptr(90)
}

// single plans the post-mortem findings and identification of one body.
func (g *gen) single(b *body, military, building bool) {
	r := &b.rem
	switch {
	case military:
		b.cause = "military"
		b.age = g.between(20, 52)
		r.Sex = "male"
	default:
		r.Sex = weighted(g, []weight[string]{{"male", 50}, {"female", 44}, {"undetermined", 6}})
		band := weighted(g, []weight[int]{{0, 1}, {1, 15}, {2, 34}, {3, 50}})
		if building {
			band = weighted(g, []weight[int]{{0, 10}, {1, 25}, {2, 35}, {3, 30}})
		}
		switch band {
		case 0:
			b.age = g.between(2, 16)
		case 1:
			b.age = g.between(18, 39)
		case 2:
			b.age = g.between(40, 64)
		default:
			b.age = g.between(65, 92)
		}
	}
	spread := 5
	switch {
	case b.age < 18:
		spread = 2
	case r.Sex == "undetermined":
		spread = 10
	}
	r.AgeMin, r.AgeMax = ptr(max(0, b.age-spread)), ptr(min(100, b.age+spread))
	if building {
		r.Condition = weighted(g, []weight[string]{{"decomposed", 50}, {"fragmented", 15}, {"partial", 20}, {"burned", 15}})
	} else {
		r.Condition = weighted(g, []weight[string]{{"decomposed", 60}, {"skeletonised", 12}, {"partial", 8}, {"complete", 15}, {"burned", 3}, {"fragmented", 2}})
	}
	if military {
		r.Clothing = clothingMilitary
	} else {
		r.Clothing = pick(g, clothingCivil)
	}
	if b.cause == "" {
		b.cause = weighted(g, []weight[string]{{"shelling", 30}, {"gunshot", 14}, {"blunt", 4}, {"natural", 22}, {"undetermined", 20}, {"pending", 10}})
	}
	switch b.cause {
	case "collapse":
		r.Injuries = []custody.Injury{g.injury("blunt")}
		if g.chance(0.5) {
			r.Injuries = append(r.Injuries, g.injury("fracture"))
		}
		if g.chance(0.3) {
			r.Injuries = append(r.Injuries, g.injury("blast"))
		}
		r.CauseOfDeath = pick(g, []string{
			"multiple blunt force injuries from the collapse of the building",
			"compression asphyxia under rubble",
			"blast and blunt force injuries",
		})
		r.MannerOfDeath = "homicide"
	case "shelling", "military":
		for range g.between(1, 3) {
			if g.chance(0.7) {
				r.Injuries = append(r.Injuries, g.injury("shrapnel"))
			} else {
				r.Injuries = append(r.Injuries, g.injury("blast"))
			}
		}
		if b.cause == "military" && g.chance(0.5) {
			r.Injuries = append(r.Injuries, g.injury("gunshot"))
		}
		r.CauseOfDeath = pick(g, []string{"multiple fragment wounds from an explosive munition", "blast injuries", "fragment wound of the chest with haemorrhage"})
		r.MannerOfDeath = "homicide"
	case "gunshot":
		for range g.between(1, 2) {
			r.Injuries = append(r.Injuries, g.injury("gunshot"))
		}
		if g.chance(0.3) {
			r.Injuries = append(r.Injuries, g.injury("blunt"))
		}
		r.CauseOfDeath = "gunshot injury: " + r.Injuries[0].Description
		r.MannerOfDeath = "homicide"
	case "blunt":
		r.Injuries = []custody.Injury{g.injury("blunt")}
		r.CauseOfDeath = "blunt force trauma: " + r.Injuries[0].Description
		r.MannerOfDeath = "homicide"
	case "natural":
		r.CauseOfDeath = "natural causes; lack of medical care during the occupation (presumed)"
		r.MannerOfDeath = "natural"
	case "undetermined":
		r.CauseOfDeath = "undetermined: advanced decomposition"
		r.MannerOfDeath = "undetermined"
	default:
		r.MannerOfDeath = "pending"
	}
	tortureP := 0.01
	if b.cause == "gunshot" || b.cause == "blunt" {
		tortureP = 0.35
	}
	if !building && g.chance(tortureP) {
		n := g.between(1, 3)
		first := g.r.IntN(len(tortureSigns))
		for k := range n {
			s := tortureSigns[(first+k*3)%len(tortureSigns)]
			r.Torture = append(r.Torture, custody.TortureFinding{Sign: s.sign, Grade: pick(g, s.grades), Description: s.description})
		}
	}
	// Identification: mostly by DNA, months later; some presumptive (by
	// relatives, from clothing or documents); some not yet.
	status := weighted(g, []weight[string]{{"identified", 72}, {"presumptive", 14}, {"unidentified", 14}})
	if building {
		status = weighted(g, []weight[string]{{"identified", 60}, {"presumptive", 30}, {"unidentified", 10}})
	}
	if b.site != sBurial && b.site != sBuilding {
		status = "identified"
	}
	recovered, _ := time.Parse(time.RFC3339, r.RecoveredAt)
	rec := day(recovered.Year(), recovered.Month(), recovered.Day())
	id := &custody.Identification{Status: status}
	switch status {
	case "identified":
		id.Method = weighted(g, []weight[[]string]{{[]string{"dna"}, 80}, {[]string{"dna", "dental"}, 10}, {[]string{"fingerprints"}, 5}, {[]string{"dental"}, 5}})
		id.Date = date(g.someDay(rec.AddDate(0, 0, 20), day(2023, time.August, 31)))
	case "presumptive":
		id.Method = weighted(g, []weight[[]string]{{[]string{"visual"}, 40}, {[]string{"documents"}, 25}, {[]string{"visual", "documents"}, 25}, {[]string{"medical"}, 10}})
		id.Date = date(g.someDay(rec, rec.AddDate(0, 0, 30)))
	}
	r.Identification = id
	if status == "unidentified" {
		return
	}
	roles := []string{"victim"}
	if status == "identified" && g.chance(0.5) {
		roles = append(roles, "missing") // reported missing; matched by a family reference sample
	}
	v := g.newPerson(roles...)
	v.p.Sex = r.Sex
	if v.p.Sex == "undetermined" {
		v.p.Sex = pick(g, []string{"male", "female"})
	}
	v.p.BornOn = strconv.Itoa(2022 - b.age)
	v.p.Locality = places[b.home].code
	if len(roles) == 2 {
		v.p.Status = "found_dead"
		v.p.AnteMortem = g.anteMortem(b.home, r.Clothing)
	}
	if b.cause == "military" {
		v.p.Notes = "Serviceman (synthetic). " + syntheticNote
	}
	b.victim = v
	g.victims = append(g.victims, v)
}

func (g *gen) injury(typ string) custody.Injury {
	t := pick(g, injuryText[typ])
	return custody.Injury{Region: t.region, Type: typ, Description: t.text}
}

// anteMortem returns what a family reported of a missing person.
func (g *gen) anteMortem(home int, clothing string) *custody.AnteMortem {
	p := places[home]
	from, to := day(2022, time.March, 1), day(2022, time.September, 1)
	if p.occupied != "" {
		from, to = parseDay(p.occupied), parseDay(p.liberated).AddDate(0, 0, -1)
	}
	return &custody.AnteMortem{
		LastSeenAt:    rfc3339(g.someTime(g.someDay(from, to), 7, 21)),
		LastSeenPlace: pick(g, []string{"at home", "at a checkpoint", "in the street near home", "at the market", "in a queue for humanitarian aid"}) + ", " + p.name,
		Description: fmt.Sprintf("height about %d cm, %s build, %s hair", g.between(152, 190),
			pick(g, []string{"slim", "medium", "heavy"}), pick(g, []string{"grey", "dark", "fair", "no", "greying dark"})),
		Clothing:      clothing,
		Dental:        pick(g, []string{"crown on the upper left first molar", "full upper denture", "several missing lower molars", "no known dental work"}),
		Medical:       pick(g, []string{"healed fracture of the right forearm", "appendectomy scar", "pacemaker", "none known"}),
		FamilyContact: "relative (synthetic contact); reference DNA sample taken",
	}
}

// Witness themes, in order: the first are survivors of torture (witness
// and victim).
var witnessThemes = []struct {
	theme string
	n     int
}{{"torture", 6}, {"building", 4}, {"burial", 3}, {"killing", 8}, {"detention", 5}, {"strike", 4}}

// persons creates every person: the team leaders (investigators), the
// victims identified with bodies, missing persons, witnesses and suspects.
func (g *gen) persons() error {
	// Missing persons, not (yet) found among the remains.
	for range 30 {
		m := g.newPerson("missing")
		home := weighted(g, []weight[int]{{pIzium, 10}, {pBalakliia, 3}, {pKupiansk, 3}, {pBorova, 2}, {pKapytolivka, 1}, {pVovchansk, 2}})
		m.p.Sex = weighted(g, []weight[string]{{"male", 75}, {"female", 25}})
		m.p.BornOn = strconv.Itoa(g.between(1950, 2003))
		m.p.Locality = places[home].code
		m.p.Status = weighted(g, []weight[string]{{"missing", 24}, {"found_alive", 6}})
		m.p.AnteMortem = g.anteMortem(home, pick(g, clothingCivil))
		if m.p.Status == "found_alive" {
			m.p.Notes = "Returned in an exchange of detained civilians (synthetic). " + syntheticNote
		}
		g.missing = append(g.missing, m)
	}
	for _, t := range witnessThemes {
		for range t.n {
			roles := []string{"witness"}
			if t.theme == "torture" {
				roles = append(roles, "victim")
			}
			w := g.newPerson(roles...)
			w.theme = t.theme
			w.p.Sex = pick(g, []string{"male", "female"})
			w.p.BornOn = strconv.Itoa(g.between(1948, 2002))
			home := pIzium
			if t.theme == "torture" || t.theme == "detention" || t.theme == "strike" {
				home = weighted(g, []weight[int]{{pIzium, 4}, {pBalakliia, 2}, {pKupiansk, 2}, {pHrakove, 1}, {pKharkiv, 1}})
			}
			w.p.Locality = places[home].code
			w.p.Protection = weighted(g, []weight[string]{{"none", 40}, {"low", 25}, {"medium", 20}, {"high", 15}})
			if t.theme == "torture" {
				w.p.Protection = pick(g, []string{"medium", "high"})
			}
			g.witnesses = append(g.witnesses, w)
		}
	}
	for i := range 4 {
		s := g.newPerson("suspect")
		s.p.Name = fmt.Sprintf("Unidentified serviceman S-%02d (synthetic)", i+1)
		s.p.Sex = "male"
		s.p.Unit = fmt.Sprintf("fictitious unit designation X-%d (synthetic)", 100+g.r.IntN(900))
		s.p.Notes = "Described by witnesses; call sign and unit fictitious. " + syntheticNote
		g.suspects = append(g.suspects, s)
	}
	data := make([]any, len(g.people))
	for i, p := range g.people {
		data[i] = &p.p
	}
	ids, err := g.create(custody.KindPerson, data)
	if err != nil {
		return err
	}
	for i, p := range g.people {
		p.id = ids[i]
	}
	g.sum.Persons += len(ids)
	return nil
}

// team is a planned team.
type team struct {
	t        custody.Team
	id       string
	leader   *person
	interp   bool
	coverage []int // place indexes
}

// investigatorTeam is the mobile group the demo's investigator
// (Options.Investigator) serves in: the forest burial site's.
const investigatorTeam = 6

// teamName is the name of team i.
func teamName(i int) string {
	if i < MobileTeams {
		return fmt.Sprintf("Mobile group %02d (synthetic)", i+1)
	}
	k := i - MobileTeams
	return fmt.Sprintf("Thematic group %d: %s (synthetic)", k+1, themes[k])
}

// Thematic teams, by index into g.teamList (after the mobile groups).
const (
	tTorture = MobileTeams + iota
	tBarracks
	tBurial
	tStrikes
	tDetention
)

var themes = []string{
	"torture of local residents",
	"barracks and command posts of the occupying forces",
	"burial sites, exhumation and identification",
	"strikes on civilian objects",
	"unlawful detention, disappearance and deportation",
}

// Villages of Izium raion the mobile groups also cover (KATOTTH codes).
var iziumVillages = []string{
	"UA63040090020055671", // Babenkove
	"UA63040090050043504", // Zabavne
	"UA63040090070038733", // Iskra
	"UA63040090090058847", // Kramarivka
	"UA63040090130061005", // Synycheno
	"UA63040130060089359", // Dibrova
	"UA63040130250019246", // Topolske
	"UA63040130030099334", // Brazhkivka
	"UA63040110040080179", // Ivanchukivka
	"UA63040050120042348", // Horokhovatka
}

// mobileAreas assigns the 23 mobile groups: eight to Izium's sectors, the
// rest to other settlements.
var mobileAreas = []struct {
	area   string
	places []int
}{
	{"Izium, sector 1 (centre)", []int{pIzium}},
	{"Izium, sector 2 (centre, east)", []int{pIzium}},
	{"Izium, sector 3 (north)", []int{pIzium}},
	{"Izium, sector 4 (south)", []int{pIzium}},
	{"Izium, sector 5 (west)", []int{pIzium}},
	{"Izium, sector 6 (left bank)", []int{pIzium}},
	{"Izium and the forest burial site", []int{pIzium}},
	{"Izium, sector 8 (outskirts)", []int{pIzium, pKamianka}},
	{"Balakliia", []int{pBalakliia}},
	{"Balakliia hromada and Savyntsi", []int{pBalakliia, pSavyntsi}},
	{"Kupiansk, right bank", []int{pKupiansk}},
	{"Kupiansk, left bank", []int{pKupiansk}},
	{"Borova hromada", []int{pBorova}},
	{"Kapytolivka and Oskil", []int{pKapytolivka, pOskil}},
	{"Kamianka and Kunie", []int{pKamianka, pKunie}},
	{"Shevchenkove hromada", []int{pShevchenkove}},
	{"Vovchansk", []int{pVovchansk}},
	{"Kozacha Lopan", []int{pKozachaLopan}},
	{"Hrakove and Chuhuiv raion", []int{pHrakove}},
	{"Velykyi Burluk", []int{pVelykyiBurluk}},
	{"Kharkiv (strike sites)", []int{pKharkiv}},
	{"Villages of Iziumska hromada", []int{pIzium}},
	{"Villages of Oskilska and Kunievska hromadas", []int{pOskil, pKunie}},
}

// teams creates the 23 mobile and 5 thematic groups, each led by a
// prosecutor recorded as an investigator person.
func (g *gen) teams() error {
	leaders := make([]*person, 0, MobileTeams+ThematicTeams)
	for i := range MobileTeams + ThematicTeams {
		tm := &team{}
		var label string
		if i < MobileTeams {
			label = fmt.Sprintf("%02d", i+1)
			a := mobileAreas[i]
			tm.t = custody.Team{Name: teamName(i), Type: "mobile", Area: a.area}
			tm.coverage = a.places
		} else {
			k := i - MobileTeams
			label = fmt.Sprintf("T%d", k+1)
			tm.t = custody.Team{Name: teamName(i), Type: "thematic",
				Theme: themes[k], Area: "liberated areas of Kharkiv oblast"}
			switch i {
			case tTorture, tDetention:
				tm.coverage = []int{pIzium, pBalakliia, pKupiansk, pHrakove, pVovchansk}
			case tBarracks:
				tm.coverage = []int{pIzium, pBalakliia, pKupiansk, pBorova}
			case tBurial:
				tm.coverage = []int{pIzium, pKapytolivka, pKamianka, pBorova}
			case tStrikes:
				for p := range places {
					tm.coverage = append(tm.coverage, p)
				}
			}
		}
		for _, p := range tm.coverage {
			tm.t.Localities = append(tm.t.Localities, places[p].code)
		}
		if i >= 21 && i < MobileTeams {
			// The villages' groups cover several villages each.
			for k, v := range iziumVillages {
				if k%2 == i%2 {
					tm.t.Localities = append(tm.t.Localities, v)
				}
			}
		}
		roles := []string{"prosecutor", "police", "police", "sapper", "security"}
		if i >= MobileTeams {
			roles = []string{"prosecutor", "police", "analyst", "analyst", "security"}
		}
		switch {
		case i == tBurial || i == 6:
			roles = append(roles, "forensic", "forensic", "forensic")
		case g.chance(0.5):
			roles = append(roles, "forensic")
		}
		if g.chance(0.25) || i == tTorture {
			roles = append(roles, "interpreter")
			tm.interp = true
		}
		if i < MobileTeams && g.chance(0.3) {
			roles = append(roles, "analyst")
		}
		for k, role := range roles {
			m := custody.Member{Name: fmt.Sprintf("Synthetic Member %s-%d", label, k+1), Role: role}
			if i == investigatorTeam && k == 1 && g.opts.Investigator != "" {
				m.User = g.opts.Investigator // the demo's investigator serves in the burial site's mobile group
			}
			tm.t.Members = append(tm.t.Members, m)
		}
		leader := &person{p: custody.Person{Roles: []string{"investigator"}, Name: tm.t.Members[0].Name,
			Notes: "Team leader (prosecutor) of " + tm.t.Name + ". " + syntheticNote}}
		tm.leader = leader
		leaders = append(leaders, leader)
		g.teamList = append(g.teamList, tm)
	}
	data := make([]any, len(leaders))
	for i, p := range leaders {
		data[i] = &p.p
	}
	ids, err := g.create(custody.KindPerson, data)
	if err != nil {
		return err
	}
	for i, p := range leaders {
		p.id = ids[i]
		g.teamList[i].t.Members[0].Person = p.id
	}
	g.sum.Persons += len(ids)
	data = make([]any, len(g.teamList))
	for i, tm := range g.teamList {
		data[i] = &tm.t
	}
	if ids, err = g.create(custody.KindTeam, data); err != nil {
		return err
	}
	g.teamIDs = map[string]string{}
	for i, tm := range g.teamList {
		tm.id = ids[i]
		g.teamIDs[tm.t.Name] = tm.id
	}
	g.sum.Teams = len(ids)
	return nil
}

// member returns the name of a member of team i with one of the roles.
func (g *gen) member(i int, roles ...string) string {
	for _, m := range g.teamList[i].t.Members {
		for _, r := range roles {
			if m.Role == r {
				return m.Name
			}
		}
	}
	return g.teamList[i].t.Members[0].Name
}
