package api

import (
	"net/http"
	"strings"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/locality"
)

// Localities are the units of the KATOTTH codifier (embedded in the
// binary, read-only) and, for those the investigation has facts about,
// a locality record whose ID is the KATOTTH code. GET /api/v1/localities?q=
// searches the codifier in any common spelling ("Ізюм", "Izium", "Izyum");
// without q it lists the locality records like any other collection.
// Locality records are created and changed through the same routes as the
// other kinds.

// maxLocalityResults bounds the results of one codifier search.
const maxLocalityResults = 100

// localityRef names an enclosing unit.
type localityRef struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	NameLatin string `json:"name_latin"`
	Category  string `json:"category"`
}

// localityUnit is one unit of the codifier as the API shows it.
type localityUnit struct {
	Code      string `json:"code"`
	Name      string `json:"name"`       // official Ukrainian name, e.g. "Ізюм"
	NameLatin string `json:"name_latin"` // official transliteration, e.g. "Izium"
	Category  string `json:"category"`   // city, village, hromada, ... (locality.Category.String)
	// Path holds the enclosing units, outermost first: oblast, raion,
	// hromada (empty for an oblast).
	Path        []localityRef  `json:"path"`
	Coordinates *custody.Point `json:"coordinates,omitempty"` // WGS 84, where the codifier has them
	// Children counts the units directly inside (single lookups only).
	Children *int `json:"children,omitempty"`
	// Record is the investigation's locality record, if any (search
	// results only; a single lookup has it beside the unit).
	Record *custody.Record `json:"record,omitempty"`
}

// localityDetail is the body of GET /api/v1/localities/{id}.
type localityDetail struct {
	Locality *localityUnit            `json:"locality"`
	Record   *custody.Record          `json:"record"` // null when nothing is recorded of the locality
	History  []*custody.RecordVersion `json:"history"`
}

func unitOf(g *locality.Gazetteer, l locality.Locality) *localityUnit {
	u := &localityUnit{Code: l.Code, Name: l.Name, NameLatin: l.NameLatin, Category: l.Category.String(), Path: []localityRef{}}
	if l.HasCoord {
		u.Coordinates = &custody.Point{Lat: l.Lat, Lon: l.Lon}
	}
	path := g.Path(l.Code)
	for _, p := range path[:max(len(path)-1, 0)] {
		u.Path = append(u.Path, localityRef{Code: p.Code, Name: p.Name, NameLatin: p.NameLatin, Category: p.Category.String()})
	}
	return u
}

func (s *Server) gazetteer() (*locality.Gazetteer, error) {
	g := s.svc.Localities()
	if g == nil {
		return nil, custody.Errorf(custody.EUNSUPPORTED, "this server has no KATOTTH codifier loaded")
	}
	return g, nil
}

// localityRecord returns the locality record of code, or nil if there is
// none.
func (s *Server) localityRecord(r *http.Request, code string) (*custody.Record, error) {
	rec, err := s.svc.Record(r.Context(), UserFrom(r.Context()), code)
	if custody.ErrorCode(err) == custody.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if rec.Kind != custody.KindLocality {
		// Record IDs are UUIDs and codes are not: this cannot happen.
		return nil, nil
	}
	return rec, nil
}

// listLocalities: GET /api/v1/localities?q=NAME&limit=N searches the
// codifier → {"localities": [...]}; without q, the locality records are
// listed like any other collection → {"records": [...], "next": ...}.
func (s *Server) listLocalities(w http.ResponseWriter, r *http.Request, u *custody.User) {
	q, err := queryParams(r, append([]string{"q"}, listParams...)...)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if !q.Has("q") {
		s.serveRecordList(w, r, kindPath{custody.KindLocality, "localities"}, q)
		return
	}
	for k := range q {
		if k != "q" && k != "limit" {
			s.error(w, r, custody.Errorf(custody.EINVALID, "a search (q) takes only limit; %s filters the list of locality records", k))
			return
		}
	}
	name := strings.TrimSpace(q.Get("q"))
	if name == "" {
		s.error(w, r, custody.Errorf(custody.EINVALID, "give a name to search for, e.g. ?q=Izium"))
		return
	}
	limit, err := limitParam(q.Get("limit"), maxLocalityResults)
	if err != nil {
		s.error(w, r, err)
		return
	}
	g, err := s.gazetteer()
	if err != nil {
		s.error(w, r, err)
		return
	}
	found := g.Search(name, limit)
	out := make([]*localityUnit, 0, len(found))
	for _, l := range found {
		unit := unitOf(g, l)
		if unit.Record, err = s.localityRecord(r, l.Code); err != nil {
			s.error(w, r, err)
			return
		}
		out = append(out, unit)
	}
	s.json(w, http.StatusOK, map[string]any{"localities": out})
}

// getLocality: GET /api/v1/localities/{id}, id a KATOTTH code → the unit
// with its path and number of children, and its record and history if the
// investigation has one.
func (s *Server) getLocality(w http.ResponseWriter, r *http.Request, u *custody.User) {
	if _, err := queryParams(r); err != nil {
		s.error(w, r, err)
		return
	}
	raw := r.PathValue("id")
	code := strings.ToUpper(strings.TrimSpace(raw))
	if !katotthRe.MatchString(code) {
		s.error(w, r, custody.Errorf(custody.EINVALID, "%q is not a KATOTTH code (UA and 17 digits, e.g. UA63040090010029555)", truncateText(raw, 40)))
		return
	}
	g, err := s.gazetteer()
	if err != nil {
		s.error(w, r, err)
		return
	}
	d := localityDetail{History: []*custody.RecordVersion{}}
	if l, ok := g.Get(code); ok {
		d.Locality = unitOf(g, l)
		n := len(g.Children(code))
		d.Locality.Children = &n
	}
	if d.Record, err = s.localityRecord(r, code); err != nil {
		s.error(w, r, err)
		return
	}
	if d.Locality == nil && d.Record == nil {
		s.error(w, r, custody.Errorf(custody.ENOTFOUND, "no locality %s in the KATOTTH codifier", code))
		return
	}
	if d.Record != nil {
		if d.History, err = s.svc.RecordHistory(r.Context(), UserFrom(r.Context()), code); err != nil {
			s.error(w, r, err)
			return
		}
	}
	s.json(w, http.StatusOK, d)
}
