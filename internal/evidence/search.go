package evidence

import (
	"context"
	"sync"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/locality"
)

var _ custody.RecordService = (*Service)(nil)

// Search implements custody.RecordService: full-text search over the
// records that are not withdrawn, best first (see sqlstore.DB.Search for the
// query language: words, "phrases", the last word also as a prefix).
// Errors: EINVALID (no words, query too long, unknown kind, limit over 200).
//
// Only records the actor may see are searched; protected identities are
// withheld from titles and snippets (and from the index itself, so that a
// protected name finds nothing); hits holding personal data are logged.
func (s *Service) Search(ctx context.Context, actor *custody.User, q custody.SearchQuery) ([]*custody.SearchHit, error) {
	v, err := s.view(ctx, actor)
	if err != nil {
		return nil, err
	}
	hits, err := s.cfg.DB.Search(ctx, q, v.scope)
	if err != nil {
		return nil, err
	}
	red, err := s.redactor(ctx)
	if err != nil {
		return nil, err
	}
	kinds := make(map[string]string, len(hits))
	for _, h := range hits {
		if ps, ok := red.ByPerson[h.ID]; ok {
			h.Title = ps
		} else {
			h.Title, _ = red.Text(h.Title)
		}
		h.Snippet, _ = red.Text(h.Snippet)
		kinds[h.ID] = h.Kind
	}
	if err := s.audit(ctx, v, "search", kinds); err != nil {
		return nil, err
	}
	return hits, nil
}

// Stats implements custody.RecordService: the investigation's figures,
// overall or for one locality, with localities' names and the number of
// settlements in the codifier (LocalitiesTotal) when the service has one.
// Errors: ENOTFOUND (a locality the codifier does not know).
//
// The figures count only the records the actor may see (see
// sqlstore.DB.Stats): a count never reveals a hidden record.
func (s *Service) Stats(ctx context.Context, actor *custody.User, code string) (*custody.Stats, error) {
	v, err := s.view(ctx, actor)
	if err != nil {
		return nil, err
	}
	g := s.cfg.Localities
	if code != "" && g != nil {
		if _, ok := g.Get(code); !ok {
			return nil, custody.Errorf(custody.ENOTFOUND, "no locality %s in the KATOTTH codifier", truncate(code, 40))
		}
	}
	st, err := s.cfg.DB.Stats(ctx, code, v.scope)
	if err != nil {
		return nil, err
	}
	if g == nil {
		return st, nil
	}
	for i := range st.PerLocality {
		if u, ok := g.Get(st.PerLocality[i].Locality); ok {
			st.PerLocality[i].Name = u.Name
		}
	}
	st.LocalitiesTotal = settlements(g)
	return st, nil
}

// settlementCounts memoizes settlements per codifier: a Gazetteer is
// read-only after Load (package locality's invariant), so its count never
// changes, and a walk of its 31,748 units costs several milliseconds.
var settlementCounts struct {
	sync.Mutex
	n map[*locality.Gazetteer]int
}

// settlements counts the codifier's settlements: cities (including those
// with special status), urban-type settlements, villages and rural
// settlements.
func settlements(g *locality.Gazetteer) int {
	settlementCounts.Lock()
	defer settlementCounts.Unlock()
	if n, ok := settlementCounts.n[g]; ok {
		return n
	}
	n := 0
	var walk func(code string)
	walk = func(code string) {
		for _, u := range g.Children(code) {
			if isSettlement(u.Category) {
				n++
			}
			walk(u.Code)
		}
	}
	walk("")
	if settlementCounts.n == nil {
		settlementCounts.n = map[*locality.Gazetteer]int{}
	}
	settlementCounts.n[g] = n
	return n
}

func isSettlement(c locality.Category) bool {
	switch c {
	case locality.SpecialCity, locality.City, locality.UrbanSettlement, locality.Village, locality.Settlement:
		return true
	}
	return false
}
