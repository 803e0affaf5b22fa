// Package demo generates Custody's demo dataset: a realistic, clearly
// synthetic investigation modelled on public reporting of the exhumations
// at Izium, Kharkiv oblast, in September 2022 — a forest burial site of
// about 450 numbered graves and the remains recovered from them, a
// collapsed apartment building with 47 bodies, strikes, killings, torture
// and detention across Kharkiv-oblast settlements, 23 mobile and 5
// thematic groups with their tasks, and criminal cases — with sample
// evidence files (photos, audio, documents, tables) it draws itself.
//
// Invariants:
//   - Nothing in the dataset is real. Persons are "Synthetic Person 0123",
//     team members "Synthetic Member 07-2", units fictitious; every record
//     and file says it is synthetic. Only the localities are real (KATOTTH
//     codes of real settlements), and their figures are approximations
//     marked as synthetic.
//   - Everything is written through the evidence service (CreateRecords,
//     UpdateRecord, Intake, Handover), so it is in the log like any other
//     change, and every record passes the domain's validation.
//   - The content is a function of Options.Seed alone (math/rand/v2 PCG):
//     the same seed gives the same records and byte-identical files. IDs
//     and log times are the store's and differ from run to run.
//   - Generate does not publish the log; its caller does.
//   - Access control (docs/roles.md): most records are general (in no
//     compartment): the localities, the registry of the forest burial
//     site and its remains, the victims and missing persons. What a case or
//     team field implies is compartmented: the cases and teams themselves,
//     the tasks (their team's), testimonies (their case's and the
//     interviewing team's), incidents and the other sites and remains
//     (their case's), and evidence items (the case that lists them and the
//     collecting team's). About two thirds of the witnesses are
//     protected (low, medium or high) and shown under pseudonyms.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/evidence"
)

// Options select the dataset.
type Options struct {
	// Seed selects the dataset; the same seed gives the same content.
	Seed uint64
	// Investigator, when set, names a user account that serves in
	// InvestigatorTeam (a member of the team record, so it holds the team's
	// compartment) and is granted InvestigatorCase.
	Investigator string
	// Reviewer, when set, names a user account (a reviewer: court or
	// defence) granted ReviewerCase, the case in court, and nothing else.
	Reviewer string
}

// What the users of Options.Investigator and Options.Reviewer hold.
var (
	InvestigatorTeam = teamName(investigatorTeam)
	InvestigatorCase = caseDefs[caseKillings].title
	ReviewerCase     = caseDefs[caseBuilding].title
)

// BurialGraves is the number of numbered graves at the forest burial site;
// BuildingBodies the number of bodies recovered from the collapsed
// building.
const (
	BurialGraves   = 447
	BuildingBodies = 47
	MobileTeams    = 23
	ThematicTeams  = 5
)

// Summary counts what Generate wrote and names its main records.
type Summary struct {
	Seed        uint64 `json:"seed"`
	Localities  int    `json:"localities"` // locality records
	Sites       int    `json:"sites"`
	Graves      int    `json:"graves"`  // numbered graves at the burial site
	Remains     int    `json:"remains"` // remains records, all sites
	Bodies      int    `json:"bodies"`  // individuals, counting commingled remains by MNI
	Persons     int    `json:"persons"`
	Testimonies int    `json:"testimonies"`
	Incidents   int    `json:"incidents"`
	Teams       int    `json:"teams"`
	Tasks       int    `json:"tasks"`
	Cases       int    `json:"cases"`
	Items       int    `json:"items"`
	Handovers   int    `json:"handovers"`
	Updates     int    `json:"updates"` // records given a second version
	// BurialSite and Building are the record IDs of the two main sites.
	BurialSite string `json:"burial_site"`
	Building   string `json:"building"`
	// CaseNumbers are the (synthetic) national register numbers.
	CaseNumbers []string `json:"case_numbers"`
}

// Records returns the number of records created.
func (s Summary) Records() int {
	return s.Localities + s.Sites + s.Remains + s.Persons + s.Testimonies + s.Incidents + s.Teams + s.Tasks + s.Cases
}

// Generate writes the demo dataset into the store of svc as actor, an
// administrator (cases are prosecutors' records, grants administrators'
// changes; a role that may not write fails with EFORBIDDEN). It takes a
// few seconds.
// The store should be empty of records: locality records are keyed by
// their KATOTTH code, so a second run fails with ECONFLICT rather than
// duplicating them.
func Generate(ctx context.Context, svc *evidence.Service, actor *custody.User, opts Options) (Summary, error) {
	g := &gen{
		ctx: ctx, svc: svc, actor: actor, opts: opts,
		r:   rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		sum: Summary{Seed: opts.Seed, Graves: BurialGraves},
	}
	steps := []struct {
		name string
		run  func() error
	}{
		{"localities", g.localities},
		{"cases", g.cases},
		{"remains plan", g.planRemains},
		{"persons", g.persons},
		{"teams", g.teams},
		{"sites", g.sites},
		{"post-mortem evidence", g.remainsEvidence},
		{"remains", g.remains},
		{"incidents", g.incidents},
		{"testimonies", g.testimonies},
		{"documents", g.documents},
		{"tasks", g.tasks},
		{"updates", g.updates},
		{"handovers", g.handovers},
		{"grants", g.grants},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return g.sum, err
		}
		if err := s.run(); err != nil {
			return g.sum, fmt.Errorf("demo %s: %w", s.name, err)
		}
	}
	return g.sum, nil
}

// gen is one run of Generate: the random source, the service, and the IDs
// of what it created so far.
type gen struct {
	ctx   context.Context
	svc   *evidence.Service
	actor *custody.User
	opts  Options
	r     *rand.Rand
	sum   Summary

	caseIDs     []string // by case index (caseKillings, ...)
	caseNumbers []string
	bodies      []*body // burial, then building, then single graves
	people      []*person
	victims     []*person // persons identified with a body
	missing     []*person
	witnesses   []*person
	suspects    []*person
	teamList    []*team
	siteList    []*site
	incList     []*incident
	testList    []*testimony
	samples     []string // DNA sample items
	fragments   []string // munition fragments
	placards    []string // grave placard photos
	docs        []string // PDF and CSV items
	personSeq   int
	teamIDs     map[string]string // team record IDs by name, for the compartments of items
}

// create validates and creates records of one kind in as few calls as the
// service's batch limit allows, returning their IDs in order.
func (g *gen) create(kind string, data []any) ([]string, error) {
	return g.createIn(kind, data, nil)
}

// createIn is create with explicit compartments: comps[i], when comps is
// not nil, are those of data[i] (besides the ones its fields imply).
func (g *gen) createIn(kind string, data []any, comps [][]string) ([]string, error) {
	if len(data) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(data))
	for start := 0; start < len(data); start += evidence.MaxRecordBatch {
		end := min(start+evidence.MaxRecordBatch, len(data))
		in := make([]custody.RecordInput, 0, end-start)
		for _, d := range data[start:end] {
			raw, err := marshal(d)
			if err != nil {
				return nil, err
			}
			in = append(in, custody.RecordInput{Kind: kind, Data: raw})
			if comps != nil {
				in[len(in)-1].Compartments = comps[start+len(in)-1]
			}
		}
		if kind == custody.KindLocality {
			for i := range in {
				in[i].ID = data[start+i].(*custody.LocalityInfo).Code
			}
		}
		recs, err := g.svc.CreateRecords(g.ctx, g.actor, in)
		if err != nil {
			return nil, fmt.Errorf("create %d %s records: %w", len(in), kind, err)
		}
		for _, r := range recs {
			ids = append(ids, r.ID)
		}
	}
	return ids, nil
}

// update writes version 2 of a record created by this run.
func (g *gen) update(kind, id string, data any, reason string) error {
	raw, err := marshal(data)
	if err != nil {
		return err
	}
	if _, err := g.svc.UpdateRecord(g.ctx, g.actor, custody.RecordInput{Kind: kind, ID: id, Data: raw, Base: 1, Reason: reason}); err != nil {
		return fmt.Errorf("update %s %s: %w", kind, id, err)
	}
	g.sum.Updates++
	return nil
}

// marshal encodes a record's data without HTML escaping.
func marshal(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode record: %w", err)
	}
	return bytes.TrimSpace(b.Bytes()), nil
}

// file is a sample evidence file or physical item to take in.
type file struct {
	name, caseNo, collector, description string
	at                                   time.Time
	lat, lon                             float64
	content                              []byte // nil for a physical item
	seal, location                       string
}

// intake takes in one item and returns its ID.
func (g *gen) intake(f file) (string, error) {
	lat, lon := f.lat, f.lon
	req := custody.IntakeRequest{
		Name: f.name, Case: f.caseNo, Collector: f.collector, CollectedAt: rfc3339(f.at),
		Description: f.description, Seal: f.seal, Location: f.location,
	}
	if lat != 0 || lon != 0 {
		req.Lat, req.Lon = &lat, &lon
	}
	if id, ok := g.teamIDs[f.collector]; ok {
		req.Compartments = []string{id} // the collecting team's; the case that lists the item adds its own
	}
	if f.content != nil {
		req.Kind, req.Content = custody.KindDigital, bytes.NewReader(f.content)
	} else {
		req.Kind = custody.KindPhysical
	}
	it, err := g.svc.Intake(g.ctx, g.actor, req)
	if err != nil {
		return "", fmt.Errorf("intake %s: %w", f.name, err)
	}
	g.sum.Items++
	return it.ID, nil
}

// grants gives the demo's users their compartments: the investigator (a
// member of InvestigatorTeam already, by the team record) the case its
// group works on; the reviewer the case in court.
func (g *gen) grants() error {
	for _, gr := range []struct{ user, compartment, reason string }{
		{g.opts.Investigator, g.caseIDs[caseKillings], "works the forest burial site for this case with " + InvestigatorTeam + " (synthetic demo grant)"},
		{g.opts.Reviewer, g.caseIDs[caseBuilding], "case in court: disclosed to the court and the defence (synthetic demo grant)"},
	} {
		if gr.user == "" {
			continue
		}
		if err := g.svc.Grant(g.ctx, g.actor, gr.user, gr.compartment, gr.reason, false); err != nil {
			return fmt.Errorf("grant %s: %w", gr.user, err)
		}
	}
	return nil
}

// Random helpers. Every draw goes through g.r, in program order, so the
// dataset is a function of the seed.

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

// between returns an integer in [lo, hi].
func (g *gen) between(lo, hi int) int { return lo + g.r.IntN(hi-lo+1) }

func pick[T any](g *gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

// weighted picks a value by integer weights.
func weighted[T any](g *gen, choices []weight[T]) T {
	total := 0
	for _, c := range choices {
		total += c.w
	}
	n := g.r.IntN(total)
	for _, c := range choices {
		if n < c.w {
			return c.v
		}
		n -= c.w
	}
	return choices[len(choices)-1].v
}

type weight[T any] struct {
	v T
	w int
}

// jitter moves a position by up to d degrees.
func (g *gen) jitter(lat, lon, d float64) (float64, float64) {
	return round6(lat + (g.r.Float64()*2-1)*d), round6(lon + (g.r.Float64()*2-1)*d*1.5)
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// Times are Ukrainian civil time: EET (+02:00) in winter, EEST (+03:00)
// from the last Sunday of March to the last Sunday of October.
var (
	eet  = time.FixedZone("EET", 2*3600)
	eest = time.FixedZone("EEST", 3*3600)
)

// day returns a date (midnight UTC, used for arithmetic).
func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// parseDay parses a YYYY-MM-DD constant of the dataset.
func parseDay(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(fmt.Sprintf("demo: bad date constant %q", s)) // a programming error, caught by the tests
	}
	return t
}

func lastSunday(y int, m time.Month) time.Time {
	t := day(y, m+1, 1).AddDate(0, 0, -1)
	return t.AddDate(0, 0, -int(t.Weekday()))
}

// at returns the local time h:mi on date d.
func at(d time.Time, h, mi int) time.Time {
	zone := eet
	if !d.Before(lastSunday(d.Year(), time.March)) && d.Before(lastSunday(d.Year(), time.October)) {
		zone = eest
	}
	return time.Date(d.Year(), d.Month(), d.Day(), h, mi, 0, 0, zone)
}

// someDay returns a date in [from, to].
func (g *gen) someDay(from, to time.Time) time.Time {
	n := int(to.Sub(from).Hours() / 24)
	if n <= 0 {
		return from
	}
	return from.AddDate(0, 0, g.r.IntN(n+1))
}

// someTime returns a local time on d between hours lo and hi.
func (g *gen) someTime(d time.Time, lo, hi int) time.Time {
	return at(d, g.between(lo, hi-1), g.r.IntN(60))
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

func date(t time.Time) string { return t.Format(time.DateOnly) }

func ptr[T any](v T) *T { return &v }
