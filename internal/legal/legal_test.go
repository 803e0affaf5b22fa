package legal

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func load(t *testing.T) *Catalogue {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func labels(ps []Provision) []string {
	var out []string
	for _, p := range ps {
		id, _ := ParseID(p.ID)
		out = append(out, id.Path[len(id.Path)-1])
	}
	return out
}

func seq(first, last int, name func(int) string) []string {
	var out []string
	for i := first; i <= last; i++ {
		out = append(out, name(i))
	}
	return out
}

func letters(last byte) []string {
	return seq(0, int(last-'a'), func(i int) string { return string(rune('a' + i)) })
}

func numbers(last int) []string { return seq(1, last, strconv.Itoa) }

func romans(last int) []string { return seq(1, last, Roman) }

// TestSplitCounts checks the split of the Rome Statute against the structure
// of its text, list by list. Articles 8(2)(b) and 8(2)(e) run to (xxix) and
// (xviii): the source includes the amendments of 2010 (8(2)(e)(xiii)-(xv))
// and 2017 (8(2)(b)(xxvii)-(xxix), 8(2)(e)(xvi)-(xviii)).
func TestSplitCounts(t *testing.T) {
	c := load(t)
	tests := []struct {
		parent string
		want   []string
	}{
		{"RS 6", letters('e')},
		{"RS 7", numbers(3)},
		{"RS 7(1)", letters('k')},
		{"RS 7(2)", letters('i')},
		{"RS 7(3)", nil},
		{"RS 8", numbers(3)},
		{"RS 8(1)", nil},
		{"RS 8(2)", letters('f')},
		{"RS 8(2)(a)", romans(8)},
		{"RS 8(2)(b)", romans(29)},
		{"RS 8(2)(c)", romans(4)},
		{"RS 8(2)(d)", nil},
		{"RS 8(2)(e)", romans(18)},
		{"RS 8(2)(f)", nil},
		{"RS 8(3)", nil},
		{"RS 8 bis", numbers(2)},
		{"RS 8 bis(2)", letters('g')},
		{"CCU 438", numbers(2)},
	}
	total := 0
	for _, tt := range tests {
		t.Run(tt.parent, func(t *testing.T) {
			if _, ok := c.Provision(tt.parent); !ok {
				t.Fatalf("no provision %s", tt.parent)
			}
			if got := labels(c.Children(tt.parent)); !slices.Equal(got, tt.want) {
				t.Errorf("children of %s: %q, want %q", tt.parent, got, tt.want)
			}
		})
		total += len(tt.want)
	}
	// Every provision that is not an article is a child counted above.
	articles := 0
	for _, p := range c.Provisions() {
		if p.Parent == "" {
			articles++
		}
	}
	if got := len(c.Provisions()); got != total+articles || articles != 5 {
		t.Errorf("%d provisions in %d articles, want %d in 5", got, articles, total+5)
	}
}

func TestProvisionTexts(t *testing.T) {
	c := load(t)
	tests := []struct{ id, text, heading string }{
		{"RS 6", "For the purpose of this Statute, “genocide” means any of the following acts committed with intent to destroy, in whole or in part, a national, ethnical, racial or religious group, as such:", "Genocide"},
		{"RS 6(a)", "Killing members of the group;", "Genocide"},
		{"RS 7", "", "Crimes against humanity"},
		{"RS 7(1)(a)", "Murder;", "Crimes against humanity"},
		{"RS 7(1)(i)", "Enforced disappearance of persons;", "Crimes against humanity"},
		{"RS 7(1)(k)", "Other inhumane acts of a similar character intentionally causing great suffering, or serious injury to body or to mental or physical health.", "Crimes against humanity"},
		{"RS 8(2)(a)", "Grave breaches of the Geneva Conventions of 12 August 1949, namely, any of the following acts against persons or property protected under the provisions of the relevant Geneva Convention:", "War crimes"},
		{"RS 8(2)(a)(i)", "Wilful killing;", "War crimes"},
		{"RS 8(2)(a)(vii)", "Unlawful deportation or transfer or unlawful confinement;", "War crimes"},
		{"RS 8(2)(a)(viii)", "Taking of hostages.", "War crimes"},
		{"RS 8(2)(b)(xxi)", "Committing outrages upon personal dignity, in particular humiliating and degrading treatment;", "War crimes"},
		{"RS 8(2)(c)(i)", "Violence to life and person, in particular murder of all kinds, mutilation, cruel treatment and torture;", "War crimes"},
		{"RS 8(2)(e)(xv)", "Employing bullets which expand or flatten easily in the human body, such as bullets with a hard envelope which does not entirely cover the core or is pierced with incisions;", "War crimes"},
		{"RS 8 bis(2)(g)", "The sending by or on behalf of a State of armed bands, groups, irregulars or mercenaries, which carry out acts of armed force against another State of such gravity as to amount to the acts listed above, or its substantial involvement therein.", "Crime of aggression"},
	}
	for _, tt := range tests {
		p, ok := c.Provision(tt.id)
		if !ok {
			t.Errorf("no provision %s", tt.id)
			continue
		}
		if p.Text != tt.text || p.Heading != tt.heading {
			t.Errorf("%s: text %q heading %q, want %q %q", tt.id, p.Text, p.Heading, tt.text, tt.heading)
		}
		if p.Instrument != "Rome Statute of the International Criminal Court" || p.Unofficial {
			t.Errorf("%s: instrument %q unofficial %v", tt.id, p.Instrument, p.Unofficial)
		}
	}
	if p, _ := c.Provision("RS 8"); len(p.Notes) != 2 || !strings.Contains(p.Notes[1], "ICC-ASP/16/Res.4") {
		t.Errorf("RS 8 notes: %q", p.Notes)
	}
}

func TestCriminalCode(t *testing.T) {
	c := load(t)
	art, ok := c.Provision("CCU 438")
	if !ok {
		t.Fatal("no CCU 438")
	}
	if art.OriginalHeading != "Порушення законів та звичаїв війни" || art.Heading != "Violation of the laws and customs of war" {
		t.Errorf("headings %q / %q", art.Heading, art.OriginalHeading)
	}
	for _, tt := range []struct{ id, en, uk string }{
		{"CCU 438(1)", "Cruel treatment of prisoners of war or civilians, deportation of civilians for forced labour, pillage of national treasures in occupied territories, use of means of warfare prohibited by international law, other violations of the laws and customs of war", "Жорстоке поводження з військовополоненими або цивільним населенням"},
		{"CCU 438(2)", "The same acts, if combined with wilful killing", "Ті самі діяння, якщо вони поєднані з умисним вбивством"},
	} {
		p, ok := c.Provision(tt.id)
		if !ok {
			t.Errorf("no %s", tt.id)
			continue
		}
		if !strings.HasPrefix(p.Text, tt.en) || !strings.HasPrefix(p.OriginalText, tt.uk) {
			t.Errorf("%s: %q / %q", tt.id, p.Text, p.OriginalText)
		}
		if !p.Unofficial || p.Instrument != "Criminal Code of Ukraine" || p.Heading != art.Heading || p.OriginalHeading != art.OriginalHeading {
			t.Errorf("%s: %+v", tt.id, p)
		}
	}
	if p, _ := c.Provision("CCU 438(1)"); !strings.Contains(p.Text, "giving an order to commit such acts") ||
		!strings.Contains(p.Text, "Verkhovna Rada of Ukraine") {
		t.Errorf("CCU 438(1) translation incomplete: %q", p.Text)
	}
}

func TestProvisionTree(t *testing.T) {
	c := load(t)
	ps := c.Provisions()
	seen := map[string]int{}
	for i, p := range ps {
		id, err := ParseID(p.ID)
		if err != nil || id.String() != p.ID {
			t.Errorf("%q: not canonical (%v)", p.ID, err)
			continue
		}
		if _, dup := seen[p.ID]; dup {
			t.Errorf("%s twice", p.ID)
		}
		seen[p.ID] = i
		if !ValidID(p.ID) {
			t.Errorf("ValidID(%q) = false", p.ID)
		}
		if parent, ok := id.Parent(); ok {
			j, ok := seen[p.Parent]
			if !ok || p.Parent != parent.String() || j >= i {
				t.Errorf("%s: parent %q", p.ID, p.Parent)
			}
			anc := c.Ancestors(p.ID)
			if len(anc) != len(id.Path) || anc[len(anc)-1].ID != p.Parent || anc[0].Parent != "" {
				t.Errorf("%s: ancestors %v", p.ID, anc)
			}
			if !slices.ContainsFunc(c.Children(p.Parent), func(q Provision) bool { return q.ID == p.ID }) {
				t.Errorf("%s: not among its parent's children", p.ID)
			}
		} else if p.Parent != "" || p.Heading == "" {
			t.Errorf("article %s: parent %q heading %q", p.ID, p.Parent, p.Heading)
		}
	}
	// Document order: the Statute's articles, then the Code's.
	var arts []string
	for _, p := range ps {
		if p.Parent == "" {
			arts = append(arts, p.ID)
		}
	}
	if want := []string{"RS 6", "RS 7", "RS 8", "RS 8 bis", "CCU 438"}; !slices.Equal(arts, want) {
		t.Errorf("articles %q, want %q", arts, want)
	}
}

func TestValidID(t *testing.T) {
	for _, tt := range []struct {
		id   string
		want bool
	}{
		{"RS 6", true},
		{"RS 6(e)", true},
		{"RS 7(1)(k)", true},
		{"RS 8(2)(a)(i)", true},
		{"RS 8(2)(b)(xxvi)", true},
		{"RS 8(2)(b)(xxix)", true},
		{"RS 8(2)(e)(xv)", true},
		{"RS 8 bis(2)(g)", true},
		{"CCU 438", true},
		{"CCU 438(1)", true},
		{"CCU 438(2)", true},
		{"", false},
		{"RS 6(f)", false},
		{"RS 7(1)(l)", false},
		{"RS 8(2)(a)(ix)", false},
		{"RS 8(2)(b)(xxx)", false},
		{"RS 8(2)(e)(xix)", false},
		{"RS 8(2)(a)(ii)-1", false}, // a crime, not a provision
		{"RS 8(2)(a)(i)/1", false},  // an element
		{"RS 8 (2)(a)(i)", false},   // not canonical
		{"rs 8(2)(a)(i)", false},
		{" RS 8(2)(a)(i)", false},
		{"RS 9", false},
		{"CCU 438(3)", false},
		{"CCU 437", false},
	} {
		if got := ValidID(tt.id); got != tt.want {
			t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

// The crimes the product issue asks for, by ID.
var wantCrimes = map[string]string{
	"RS 8(2)(a)(i)":     ConductKilling,
	"RS 8(2)(c)(i)-1":   ConductKilling,
	"RS 7(1)(a)":        ConductKilling,
	"RS 8(2)(a)(ii)-1":  ConductTorture,
	"RS 8(2)(c)(i)-4":   ConductTorture,
	"RS 7(1)(f)":        ConductTorture,
	"RS 8(2)(a)(ii)-2":  ConductInhumanTreatment,
	"RS 8(2)(b)(xxi)":   ConductOutrageDignity,
	"RS 8(2)(c)(ii)":    ConductOutrageDignity,
	"RS 8(2)(b)(i)":     ConductAttackCivilians,
	"RS 8(2)(b)(ii)":    ConductAttackCivilianObjects,
	"RS 8(2)(a)(vii)-2": ConductUnlawfulConfinement,
	"RS 8(2)(a)(vii)-1": ConductDeportationTransfer,
	"RS 7(1)(d)":        ConductDeportationTransfer,
	"RS 7(1)(i)":        ConductEnforcedDisappearance,
	"RS 8(2)(a)(iv)":    ConductProperty,
	"CCU 438(1)":        ConductTorture,
	"CCU 438(2)":        ConductKilling,
}

func TestCrimes(t *testing.T) {
	c := load(t)
	for id, conduct := range wantCrimes {
		cr, ok := c.Crime(id)
		if !ok {
			t.Errorf("no crime %s", id)
			continue
		}
		if !slices.Contains(cr.Conducts, conduct) {
			t.Errorf("%s: conducts %q, want %q among them", id, cr.Conducts, conduct)
		}
	}
	elementIDs := map[string]string{}
	for _, cr := range c.Crimes() {
		t.Run(cr.ID, func(t *testing.T) {
			if cr.Title == "" || len(cr.Provisions) == 0 {
				t.Fatalf("title %q provisions %q", cr.Title, cr.Provisions)
			}
			id, err := ParseID(cr.ID)
			if err != nil || id.String() != cr.ID || id.Element != 0 {
				t.Fatalf("crime ID %q: %v", cr.ID, err)
			}
			if cr.Provisions[0] != id.Provision().String() {
				t.Errorf("first provision %q, want %q", cr.Provisions[0], id.Provision())
			}
			for _, p := range cr.Provisions {
				if !ValidID(p) {
					t.Errorf("provision %q is not in the catalogue", p)
				}
				if !slices.ContainsFunc(c.CrimesUnder(p), func(o Crime) bool { return o.ID == cr.ID }) {
					t.Errorf("CrimesUnder(%q) lacks %s", p, cr.ID)
				}
			}
			count := map[ElementKind]int{}
			var kinds []ElementKind
			for i, e := range cr.Elements {
				if other, dup := elementIDs[e.ID]; dup {
					t.Errorf("element %s also in %s", e.ID, other)
				}
				elementIDs[e.ID] = cr.ID
				eid, err := ParseID(e.ID)
				if err != nil || eid.String() != e.ID || eid.Element != i+1 ||
					!(ID{Code: eid.Code, Article: eid.Article, Path: eid.Path, Variant: eid.Variant}).Equal(id) {
					t.Errorf("element ID %q (position %d): %v", e.ID, i+1, err)
				}
				if strings.TrimSpace(e.Text) == "" {
					t.Errorf("%s: no text", e.ID)
				}
				count[e.Kind]++
				kinds = append(kinds, e.Kind)
			}
			for _, k := range []ElementKind{Material, Contextual, Mental} {
				if count[k] == 0 {
					t.Errorf("no %s element", k)
				}
			}
			if !slices.IsSortedFunc(kinds, func(a, b ElementKind) int { return kindOrder[a] - kindOrder[b] }) {
				t.Errorf("elements not in the order material, contextual, mental: %q", kinds)
			}
			if !slices.Equal(c.Elements(cr.ID), cr.Elements) {
				t.Errorf("Elements(%q) differs from the crime's", cr.ID)
			}
		})
	}
}

// TestContextualElements checks the context each kind of crime requires.
func TestContextualElements(t *testing.T) {
	c := load(t)
	has := func(cr Crime, kind ElementKind, substr string) bool {
		return slices.ContainsFunc(cr.Elements, func(e Element) bool {
			return e.Kind == kind && strings.Contains(e.Text, substr)
		})
	}
	for _, cr := range c.Crimes() {
		id, _ := ParseID(cr.ID)
		var want []string
		switch {
		case id.Code == CodeCriminalCode:
			want = []string{"armed conflict"}
		case id.Article == "7":
			want = []string{"committed as part of a widespread or systematic attack directed against a civilian population",
				"knew that the conduct was part of, or intended the conduct to be part of, a widespread or systematic attack"}
		case id.Path[1] == "c" || id.Path[1] == "e":
			want = []string{"associated with an armed conflict not of an international character",
				"aware of the factual circumstances that established the existence of an armed conflict",
				"taking no active part in the hostilities"}
		case id.Path[1] == "a":
			want = []string{"associated with an international armed conflict",
				"aware of the factual circumstances that established the existence of an armed conflict",
				"protected under one or more of the Geneva Conventions",
				"aware of the factual circumstances that established that protected status"}
		default:
			want = []string{"associated with an international armed conflict",
				"aware of the factual circumstances that established the existence of an armed conflict"}
		}
		for _, w := range want {
			if !has(cr, Contextual, w) {
				t.Errorf("%s: no contextual element with %q", cr.ID, w)
			}
		}
	}
}

func TestElementsByProvision(t *testing.T) {
	c := load(t)
	var ids []string
	for _, e := range c.Elements("RS 8(2)(a)(ii)") {
		ids = append(ids, e.ID)
	}
	if len(ids) != 13 || ids[0] != "RS 8(2)(a)(ii)-1/1" || ids[12] != "RS 8(2)(a)(ii)-2/6" {
		t.Errorf("Elements(RS 8(2)(a)(ii)) = %q", ids)
	}
	if got := c.CrimesUnder("RS 7(2)(i)"); len(got) != 1 || got[0].ID != "RS 7(1)(i)" {
		t.Errorf("CrimesUnder(RS 7(2)(i)) = %v", got)
	}
	if got := c.Elements("RS 8(2)(b)(xxii)"); got != nil {
		t.Errorf("Elements of an unstructured provision: %v", got)
	}
	if got := c.Elements("RS 8(2)(a)(i)/1"); got != nil {
		t.Errorf("Elements of an element ID: %v", got)
	}
}

func TestConducts(t *testing.T) {
	c := load(t)
	for _, k := range Conducts() {
		var rs, ccu bool
		for _, cr := range c.CrimesFor(k) {
			rs = rs || strings.HasPrefix(cr.ID, "RS ")
			ccu = ccu || strings.HasPrefix(cr.ID, "CCU ")
		}
		if !rs || !ccu {
			t.Errorf("conduct %q: Rome Statute crime %v, Criminal Code crime %v", k, rs, ccu)
		}
	}
	if got := c.CrimesFor("nonsense"); got != nil {
		t.Errorf("CrimesFor(nonsense) = %v", got)
	}
}

func TestSearch(t *testing.T) {
	c := load(t)
	ids := func(ps []Provision) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.ID)
		}
		return out
	}
	for _, tt := range []struct {
		q    string
		want []string
	}{
		{"", nil},
		{"   ", nil},
		{"wilful killing", []string{"RS 8(2)(a)(i)", "CCU 438(2)"}},
		{"WILFUL KILLING;", []string{"RS 8(2)(a)(i)"}},
		{"enemy's property", []string{"RS 8(2)(b)(xiii)"}}, // straight apostrophe finds ’
		{"“genocide”", []string{"RS 6"}},
		{"enforced disappearance", []string{"RS 7(1)(i)", "RS 7(2)(i)"}},
		{"crimes against humanity", []string{"RS 7"}},
		{"УМИСНИМ ВБИВСТВОМ", []string{"CCU 438(2)"}},
		{"звичаїв війни", []string{"CCU 438", "CCU 438(1)"}},
		{"rs 8(2)(e)(xv)", []string{"RS 8(2)(e)(xv)"}},
		{"rs 8(2)(e)(xv", []string{"RS 8(2)(e)(xv)", "RS 8(2)(e)(xvi)", "RS 8(2)(e)(xvii)", "RS 8(2)(e)(xviii)"}}, // a substring
		{"no such words anywhere", nil},
	} {
		if got := ids(c.Search(tt.q)); !slices.Equal(got, tt.want) {
			t.Errorf("Search(%q) = %q, want %q", tt.q, got, tt.want)
		}
	}
}

// TestReadOnly checks that callers cannot change the shared catalogue
// through what it returns.
func TestReadOnly(t *testing.T) {
	c := load(t)
	p, _ := c.Provision("RS 8")
	p.Notes[0] = "changed"
	c.Provisions()[0].Notes = nil
	cr, _ := c.Crime("RS 7(1)(f)")
	cr.Elements[0].Text = "changed"
	cr.Provisions[0] = "changed"
	cr.Conducts[0] = "changed"
	c.Crimes()[0].Elements[0].Text = "changed"
	c.Elements("RS 8(2)(a)(i)")[0].Text = "changed"
	c.CrimesUnder("RS 8(2)(a)(i)")[0].Elements[0].Text = "changed"

	p, _ = c.Provision("RS 8")
	cr, _ = c.Crime("RS 7(1)(f)")
	first, _ := c.Crime("RS 8(2)(a)(i)")
	for _, s := range []string{p.Notes[0], cr.Elements[0].Text, cr.Provisions[0], cr.Conducts[0], first.Elements[0].Text} {
		if s == "changed" {
			t.Fatal("the catalogue was changed through a returned value")
		}
	}
}

func TestLoadOnce(t *testing.T) {
	var wg sync.WaitGroup
	got := make([]*Catalogue, 8)
	for i := range got {
		wg.Go(func() {
			c, err := Load()
			if err != nil {
				t.Error(err)
			}
			got[i] = c
			ValidID("RS 8(2)(a)(i)")
			c.Search("torture")
		})
	}
	wg.Wait()
	for _, c := range got[1:] {
		if c != got[0] {
			t.Fatal("Load returned different catalogues")
		}
	}
}
