// Package legal is Custody's catalogue of the law that investigators qualify
// conduct under: the crimes of the Rome Statute of the International Criminal
// Court (articles 6, 7, 8 and 8 bis, split into their paragraphs, lettered
// sub-paragraphs and Roman-numbered items) and article 438 of the Criminal
// Code of Ukraine ("Violation of the laws and customs of war", parts 1 and 2),
// together with the elements of the crimes investigators meet most often:
// killing, torture, inhuman treatment, outrages upon personal dignity, attacks
// on civilians and civilian objects, unlawful confinement, deportation or
// transfer, enforced disappearance, and destruction and appropriation of
// property.
//
// A provision is named by the ID Custody writes in a case's legal
// qualification: "RS 8(2)(a)(i)", "RS 7(1)(k)", "CCU 438(2)". A crime is named
// as in the ICC Elements of Crimes, which split some provisions into several
// crimes: "RS 8(2)(a)(ii)-1" is torture and "RS 8(2)(a)(ii)-2" inhuman
// treatment under the same item; where a provision holds one crime, the crime
// has the provision's ID. An element is named by its crime and number:
// "RS 8(2)(a)(i)/1".
//
//	c, err := legal.Load()
//	p, _ := c.Provision("RS 8(2)(a)(i)")  // p.Text == "Wilful killing;"
//	for _, e := range c.Elements("RS 8(2)(a)(i)") {
//		fmt.Println(e.ID, e.Kind, e.Text)
//	}
//
// Invariants:
//   - The data is embedded (data/*.json; see data/README.md for sources,
//     licences and how rome-statute.json is derived by ./gen). Nothing is
//     read from disk or the network.
//   - Load parses and checks the data on its first call and returns the same
//     read-only *Catalogue on every call; a Catalogue is safe for concurrent
//     use, and every slice it returns is the caller's own copy.
//   - Every ID in the catalogue is in the canonical form of ParseID
//     (ParseID(id).String() == id). Provision IDs are unique; crime IDs are
//     unique; element IDs are unique and are their crime's ID, "/" and a
//     number.
//   - Every provision but an article has a parent that comes before it, and
//     its ID is its parent's ID plus one label. Provisions are kept in the
//     order of the text: the Rome Statute, then the Criminal Code.
//   - Provision texts of the Rome Statute are the source text with only the
//     label removed. Texts of the Criminal Code are an unofficial English
//     working translation (Provision.Unofficial); OriginalText is the
//     Ukrainian text, which is authoritative.
//   - Every crime rests on provisions in the catalogue, has at least one
//     material, one contextual and one mental element, and lists them in
//     that order.
package legal

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

//go:generate go run ./gen -src ../../../shared/data/legal/rome-statute.json -out data/rome-statute.json

var (
	//go:embed data/rome-statute.json
	romeStatuteJSON []byte
	//go:embed data/ccu-438.json
	criminalCodeJSON []byte
	//go:embed data/elements.json
	elementsJSON []byte
)

// Provision is one article, paragraph, sub-paragraph or item of a legal
// instrument.
type Provision struct {
	ID         string // "RS 8(2)(a)(i)", "CCU 438(1)"
	Parent     string // ID of the containing provision; "" for an article
	Instrument string // "Rome Statute of the International Criminal Court", "Criminal Code of Ukraine"
	Article    string // "8", "8 bis", "438"
	Heading    string // the article's heading: "War crimes"
	// Text is the provision's own text, without its label and without the
	// text of the provisions under it; for a provision that opens a list it
	// is the words introducing the list (ending in a colon), and it may be
	// empty for an article that starts with a numbered paragraph.
	Text string
	// OriginalHeading and OriginalText are the text in the original language
	// where Heading and Text are a translation (Criminal Code of Ukraine).
	OriginalHeading string
	OriginalText    string
	// Unofficial is true when Heading and Text are an unofficial translation.
	Unofficial bool
	// Notes are notes on the provision: footnotes of the source (dates of
	// amendments) or of the translator.
	Notes []string
}

// ElementKind says what an element of a crime is about.
type ElementKind string

// The kinds of element. Kind classifies by subject, not by whether an
// element is objective or subjective: awareness of the armed conflict, of a
// protected status or of the attack on a civilian population is contextual.
const (
	Material   ElementKind = "material"   // the conduct, its consequences and circumstances
	Contextual ElementKind = "contextual" // the armed conflict or the attack on a civilian population, protected status, and awareness of them
	Mental     ElementKind = "mental"     // intent, knowledge and any specific intent or purpose
)

var kindOrder = map[ElementKind]int{Material: 1, Contextual: 2, Mental: 3}

// Element is one element of a crime: something the prosecution must prove.
type Element struct {
	ID   string // "RS 8(2)(a)(i)/1"
	Kind ElementKind
	Text string
}

// Conducts group crimes of different instruments and articles that describe
// the same kind of conduct, so that one act can be matched to every
// qualification that may fit it.
const (
	ConductKilling               = "killing"
	ConductTorture               = "torture"
	ConductInhumanTreatment      = "inhuman-treatment"
	ConductOutrageDignity        = "outrage-dignity"
	ConductAttackCivilians       = "attack-civilians"
	ConductAttackCivilianObjects = "attack-civilian-objects"
	ConductUnlawfulConfinement   = "unlawful-confinement"
	ConductDeportationTransfer   = "deportation-transfer"
	ConductEnforcedDisappearance = "enforced-disappearance"
	ConductProperty              = "property" // destruction and appropriation of property
)

// Conducts returns the conduct names used in Crime.Conducts, in a fixed
// order.
func Conducts() []string {
	return []string{
		ConductKilling, ConductTorture, ConductInhumanTreatment, ConductOutrageDignity,
		ConductAttackCivilians, ConductAttackCivilianObjects, ConductUnlawfulConfinement,
		ConductDeportationTransfer, ConductEnforcedDisappearance, ConductProperty,
	}
}

// Crime is a crime with its elements.
type Crime struct {
	ID         string   // "RS 8(2)(a)(ii)-1", "RS 7(1)(a)", "CCU 438(2)"
	Title      string   // "War crime of torture"
	Provisions []string // the provisions that define it, the one it is charged under first
	Conducts   []string // kinds of conduct it covers (Conducts)
	Elements   []Element
}

// Catalogue holds the provisions and crimes. It is read-only.
type Catalogue struct {
	provisions []Provision
	byID       map[string]int   // provision ID → index
	children   map[string][]int // provision ID → indexes of its children
	haystack   []string         // folded search text per provision
	crimes     []Crime
	crimeByID  map[string]int
	byProv     map[string][]int // provision ID → indexes of crimes resting on it
	notes      string
}

// Load returns the catalogue, parsing the embedded data on the first call.
// An error means the embedded data is inconsistent, which the package's
// tests rule out.
func Load() (*Catalogue, error) { return loadOnce() }

var loadOnce = sync.OnceValues(func() (*Catalogue, error) {
	return parse([][]byte{romeStatuteJSON, criminalCodeJSON}, elementsJSON)
})

// ValidID reports whether id is, exactly, the ID of a provision in the
// catalogue (for instance a legal qualification such as "RS 8(2)(a)(ii)" or
// "CCU 438(1)"). Crime IDs that are not also provision IDs, such as
// "RS 8(2)(a)(ii)-1", are not provisions; use (*Catalogue).Crime for them.
// Other spellings of an ID ("RS 8 (2)(a)(ii)") are not valid: canonicalise
// user input with Canonical first.
func ValidID(id string) bool {
	c, err := Load()
	if err != nil {
		return false
	}
	_, ok := c.byID[id]
	return ok
}

// Provision returns the provision with the given canonical ID.
func (c *Catalogue) Provision(id string) (Provision, bool) {
	i, ok := c.byID[id]
	if !ok {
		return Provision{}, false
	}
	return c.provision(i), true
}

func (c *Catalogue) provision(i int) Provision {
	p := c.provisions[i]
	p.Notes = slices.Clone(p.Notes)
	return p
}

// Provisions returns every provision in document order: the Rome Statute
// (articles 6, 7, 8, 8 bis), then the Criminal Code of Ukraine (article 438),
// each article followed by its paragraphs, each paragraph by its
// sub-paragraphs and so on.
func (c *Catalogue) Provisions() []Provision {
	out := make([]Provision, len(c.provisions))
	for i := range c.provisions {
		out[i] = c.provision(i)
	}
	return out
}

// Children returns the provisions directly under provision id, in order.
func (c *Catalogue) Children(id string) []Provision {
	var out []Provision
	for _, i := range c.children[id] {
		out = append(out, c.provision(i))
	}
	return out
}

// Ancestors returns the provisions containing provision id, from its article
// down to its parent: what a reader needs to make sense of an item such as
// "Wilful killing;". It returns nil for an article or an unknown ID.
func (c *Catalogue) Ancestors(id string) []Provision {
	i, ok := c.byID[id]
	if !ok {
		return nil
	}
	var out []Provision
	for p := c.provisions[i].Parent; p != ""; p = c.provisions[c.byID[p]].Parent {
		out = append(out, c.provision(c.byID[p]))
	}
	slices.Reverse(out)
	return out
}

// Crimes returns the crimes with their elements, in catalogue order: the Rome
// Statute crimes, then those of the Criminal Code.
func (c *Catalogue) Crimes() []Crime {
	out := make([]Crime, len(c.crimes))
	for i := range c.crimes {
		out[i] = c.crime(i)
	}
	return out
}

func (c *Catalogue) crime(i int) Crime {
	cr := c.crimes[i]
	cr.Provisions = slices.Clone(cr.Provisions)
	cr.Conducts = slices.Clone(cr.Conducts)
	cr.Elements = slices.Clone(cr.Elements)
	return cr
}

// Crime returns the crime with the given canonical ID.
func (c *Catalogue) Crime(id string) (Crime, bool) {
	i, ok := c.crimeByID[id]
	if !ok {
		return Crime{}, false
	}
	return c.crime(i), true
}

// CrimesUnder returns the crimes that rest on provision id (list it in
// Crime.Provisions), in catalogue order: for "RS 8(2)(a)(ii)" torture and
// inhuman treatment; for "RS 7(2)(e)", which defines torture, the crime
// against humanity of torture.
func (c *Catalogue) CrimesUnder(provisionID string) []Crime {
	var out []Crime
	for _, i := range c.byProv[provisionID] {
		out = append(out, c.crime(i))
	}
	return out
}

// Elements returns the elements for a provision or crime ID: the elements of
// the crime with that ID if there is one, otherwise those of every crime
// resting on the provision (CrimesUnder), crime after crime. Element IDs tell
// the crimes apart. It returns nil when no structured crime covers the ID.
func (c *Catalogue) Elements(id string) []Element {
	if i, ok := c.crimeByID[id]; ok {
		return slices.Clone(c.crimes[i].Elements)
	}
	var out []Element
	for _, i := range c.byProv[id] {
		out = append(out, c.crimes[i].Elements...)
	}
	return out
}

// CrimesFor returns the crimes covering a kind of conduct (one of Conducts),
// in catalogue order.
func (c *Catalogue) CrimesFor(conduct string) []Crime {
	var out []Crime
	for i, cr := range c.crimes {
		if slices.Contains(cr.Conducts, conduct) {
			out = append(out, c.crime(i))
		}
	}
	return out
}

// Note returns the note on the sources and standing of the elements of
// crimes, for display beside them.
func (c *Catalogue) Note() string { return c.notes }

// Search returns the provisions whose ID, text or, for an article, heading
// (in English or in the original language) contains q, ignoring case and the difference between
// straight and typographic quotes, in document order. An empty q matches
// nothing.
func (c *Catalogue) Search(q string) []Provision {
	q = fold(strings.TrimSpace(q))
	if q == "" {
		return nil
	}
	var out []Provision
	for i, h := range c.haystack {
		if strings.Contains(h, q) {
			out = append(out, c.provision(i))
		}
	}
	return out
}

var quoteFolder = strings.NewReplacer("’", "'", "‘", "'", "ʼ", "'", "“", `"`, "”", `"`, "«", `"`, "»", `"`)

func fold(s string) string { return strings.ToLower(quoteFolder.Replace(s)) }

// provisionsFile is the format of data/rome-statute.json (written by ./gen)
// and data/ccu-438.json.
type provisionsFile struct {
	Instrument string            `json:"instrument"`
	Code       string            `json:"code"`
	Source     map[string]string `json:"source"`
	Licence    string            `json:"licence"`
	Derivation string            `json:"derivation"`
	Provisions []struct {
		ID              string   `json:"id"`
		Parent          string   `json:"parent"`
		Article         string   `json:"article"`
		Heading         string   `json:"heading"`
		Text            string   `json:"text"`
		OriginalHeading string   `json:"original_heading"`
		OriginalText    string   `json:"original_text"`
		Unofficial      bool     `json:"unofficial"`
		Notes           []string `json:"notes"`
	} `json:"provisions"`
}

// elementsFile is the format of data/elements.json.
type elementsFile struct {
	Note   string `json:"note"`
	Crimes []struct {
		ID         string   `json:"id"`
		Title      string   `json:"title"`
		Provisions []string `json:"provisions"`
		Conducts   []string `json:"conducts"`
		Elements   []struct {
			ID   string      `json:"id"`
			Kind ElementKind `json:"kind"`
			Text string      `json:"text"`
		} `json:"elements"`
	} `json:"crimes"`
}

func decodeStrict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}

// parse builds and checks a catalogue from provision files and an elements
// file.
func parse(provisionFiles [][]byte, elements []byte) (*Catalogue, error) {
	c := &Catalogue{
		byID:      map[string]int{},
		children:  map[string][]int{},
		crimeByID: map[string]int{},
		byProv:    map[string][]int{},
	}
	for n, b := range provisionFiles {
		var f provisionsFile
		if err := decodeStrict(b, &f); err != nil {
			return nil, fmt.Errorf("provisions file %d: %w", n+1, err)
		}
		if f.Instrument == "" {
			return nil, fmt.Errorf("provisions file %d: no instrument", n+1)
		}
		heading := map[string]string{} // article ID → heading
		for _, r := range f.Provisions {
			fail := func(format string, a ...any) error {
				return fmt.Errorf("%s: provision %q: %s", f.Instrument, r.ID, fmt.Sprintf(format, a...))
			}
			id, err := ParseID(r.ID)
			switch {
			case err != nil:
				return nil, fail("%v", err)
			case id.String() != r.ID:
				return nil, fail("not canonical (%q)", id.String())
			case id.Code != f.Code:
				return nil, fail("code is not %q", f.Code)
			case id.Variant != 0 || id.Element != 0:
				return nil, fail("a crime or element ID, not a provision")
			case id.Article != r.Article:
				return nil, fail("article %q does not match the ID", r.Article)
			}
			if _, dup := c.byID[r.ID]; dup {
				return nil, fail("duplicate")
			}
			p := Provision{
				ID: r.ID, Parent: r.Parent, Instrument: f.Instrument, Article: r.Article,
				Heading: r.Heading, Text: r.Text, OriginalHeading: r.OriginalHeading,
				OriginalText: r.OriginalText, Unofficial: r.Unofficial, Notes: r.Notes,
			}
			if parent, ok := id.Parent(); ok {
				if r.Parent != parent.String() {
					return nil, fail("parent %q, want %q", r.Parent, parent.String())
				}
				if _, ok := c.byID[r.Parent]; !ok {
					return nil, fail("parent %q does not come before it", r.Parent)
				}
				if r.Heading != "" || r.OriginalHeading != "" {
					return nil, fail("a heading on a provision that is not an article")
				}
				if strings.TrimSpace(r.Text) == "" {
					return nil, fail("no text")
				}
				p.Heading = heading[r.Parent]
				if r.OriginalHeading == "" {
					p.OriginalHeading = c.provisions[c.byID[r.Parent]].OriginalHeading
				}
			} else {
				if r.Parent != "" {
					return nil, fail("an article with a parent")
				}
				if strings.TrimSpace(r.Heading) == "" {
					return nil, fail("an article without a heading")
				}
			}
			heading[r.ID] = p.Heading
			i := len(c.provisions)
			c.provisions = append(c.provisions, p)
			c.byID[r.ID] = i
			if p.Parent != "" {
				c.children[p.Parent] = append(c.children[p.Parent], i)
			}
			// Headings are searched on their article only, so that "war
			// crimes" finds article 8 rather than every provision in it.
			c.haystack = append(c.haystack, fold(strings.Join([]string{
				p.ID, r.Heading, p.Text, r.OriginalHeading, p.OriginalText}, "\n")))
		}
	}

	var ef elementsFile
	if err := decodeStrict(elements, &ef); err != nil {
		return nil, fmt.Errorf("elements file: %w", err)
	}
	c.notes = ef.Note
	conducts := Conducts()
	elementIDs := map[string]bool{}
	for _, r := range ef.Crimes {
		fail := func(format string, a ...any) error {
			return fmt.Errorf("crime %q: %s", r.ID, fmt.Sprintf(format, a...))
		}
		id, err := ParseID(r.ID)
		switch {
		case err != nil:
			return nil, fail("%v", err)
		case id.String() != r.ID:
			return nil, fail("not canonical (%q)", id.String())
		case id.Element != 0:
			return nil, fail("an element ID, not a crime")
		case strings.TrimSpace(r.Title) == "":
			return nil, fail("no title")
		case len(r.Provisions) == 0:
			return nil, fail("no provisions")
		case r.Provisions[0] != id.Provision().String():
			return nil, fail("first provision %q, want %q", r.Provisions[0], id.Provision().String())
		}
		if _, dup := c.crimeByID[r.ID]; dup {
			return nil, fail("duplicate")
		}
		for i, p := range r.Provisions {
			if _, ok := c.byID[p]; !ok {
				return nil, fail("provision %q is not in the catalogue", p)
			}
			if slices.Contains(r.Provisions[:i], p) {
				return nil, fail("provision %q listed twice", p)
			}
		}
		if len(r.Conducts) == 0 {
			return nil, fail("no conducts")
		}
		for _, k := range r.Conducts {
			if !slices.Contains(conducts, k) {
				return nil, fail("unknown conduct %q", k)
			}
		}
		cr := Crime{ID: r.ID, Title: r.Title, Provisions: r.Provisions, Conducts: r.Conducts}
		last := 0
		seen := map[ElementKind]bool{}
		for _, e := range r.Elements {
			num, ok := strings.CutPrefix(e.ID, r.ID+"/")
			if n, err := strconv.Atoi(num); !ok || err != nil || n < 1 || strconv.Itoa(n) != num {
				return nil, fail("element ID %q is not %q followed by a number", e.ID, r.ID+"/")
			}
			if elementIDs[e.ID] {
				return nil, fail("duplicate element %q", e.ID)
			}
			elementIDs[e.ID] = true
			order, ok := kindOrder[e.Kind]
			switch {
			case !ok:
				return nil, fail("element %q: unknown kind %q", e.ID, e.Kind)
			case order < last:
				return nil, fail("element %q: %s element after a later kind", e.ID, e.Kind)
			case strings.TrimSpace(e.Text) == "":
				return nil, fail("element %q: no text", e.ID)
			}
			last = order
			seen[e.Kind] = true
			cr.Elements = append(cr.Elements, Element{ID: e.ID, Kind: e.Kind, Text: e.Text})
		}
		for _, k := range []ElementKind{Material, Contextual, Mental} {
			if !seen[k] {
				return nil, fail("no %s element", k)
			}
		}
		i := len(c.crimes)
		c.crimes = append(c.crimes, cr)
		c.crimeByID[r.ID] = i
		for _, p := range r.Provisions {
			c.byProv[p] = append(c.byProv[p], i)
		}
	}
	return c, nil
}
