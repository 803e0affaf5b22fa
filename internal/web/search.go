package web

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/locality"
)

// snippetPart is a piece of a search snippet; Mark is set on the matched
// words (between « and » in the service's snippets).
type snippetPart struct {
	Text string
	Mark bool
}

type searchHit struct {
	Href, Kind, Title string
	Snippet           []snippetPart
}

type searchPage struct {
	Q          string
	Kind       string
	Hits       []searchHit
	Items      []itemRow
	Localities []viewLink
	Problem    string
	Searched   bool
}

var (
	uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	hexRe  = regexp.MustCompile(`^(sha256-)?[0-9a-f]{64}$`)
)

// splitSnippet cuts a snippet at its « » marks.
func splitSnippet(s string) []snippetPart {
	var out []snippetPart
	for s != "" {
		i := strings.Index(s, "«")
		if i < 0 {
			out = append(out, snippetPart{Text: s})
			break
		}
		if i > 0 {
			out = append(out, snippetPart{Text: s[:i]})
		}
		s = s[i+len("«"):]
		j := strings.Index(s, "»")
		if j < 0 {
			out = append(out, snippetPart{Text: s, Mark: true})
			break
		}
		out = append(out, snippetPart{Text: s[:j], Mark: true})
		s = s[j+len("»"):]
	}
	return out
}

// search looks for the query everywhere: an ID or a file's hash goes
// straight to its record or item; words search the records' text and the
// codifier's localities.
func (s *Server) search(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	ctx := r.Context()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	kind := r.URL.Query().Get("kind")
	d := searchPage{Q: q, Kind: kind}
	lq := strings.ToLower(q)
	switch {
	case q == "":
	case uuidRe.MatchString(lq):
		if _, err := s.svc.Record(ctx, c.user, lq); err == nil {
			http.Redirect(w, r, "/records/"+lq, http.StatusSeeOther)
			return
		}
		if _, err := s.svc.Item(ctx, c.user, lq); err == nil {
			http.Redirect(w, r, "/items/"+lq, http.StatusSeeOther)
			return
		}
	case hexRe.MatchString(lq):
		ref := custody.Ref("sha256-" + strings.TrimPrefix(lq, "sha256-"))
		items, err := s.svc.Items(ctx, c.user, custody.ItemFilter{Blob: ref, Limit: 50})
		if err != nil {
			s.fail(w, r, c, err)
			return
		}
		if len(items) == 1 {
			http.Redirect(w, r, "/items/"+items[0].ID, http.StatusSeeOther)
			return
		}
		for _, it := range items {
			d.Items = append(d.Items, s.itemRow(c.l, it))
		}
	}
	if q != "" {
		d.Searched = true
		hits, err := s.svc.Search(ctx, c.user, custody.SearchQuery{Q: q, Kind: kind, Limit: 50})
		switch {
		case custody.ErrorCode(err) == custody.EINVALID:
			d.Problem = custody.ErrorMessage(err)
		case err != nil:
			s.fail(w, r, c, err)
			return
		}
		for _, h := range hits {
			d.Hits = append(d.Hits, searchHit{Href: "/records/" + h.ID, Kind: c.l.Kind(h.Kind), Title: h.Title, Snippet: splitSnippet(h.Snippet)})
		}
		if g := s.svc.Localities(); g != nil {
			for _, u := range g.Search(q, 8) {
				d.Localities = append(d.Localities, viewLink{Href: "/records?locality=" + u.Code, Text: s.localityName(c.l, u.Code),
					Sub: c.l.T("locality.category." + string(rune(u.Category)))})
			}
		}
	}
	s.render(w, r, c, http.StatusOK, "search", &page{Title: c.l.T("search.title"), Nav: "search", Data: d, Query: q})
}

type suggestion struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

// localities suggests KATOTTH units for a locality field.
func (s *Server) localities(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	out := []suggestion{}
	g := s.svc.Localities()
	if q := r.URL.Query().Get("q"); g != nil && q != "" {
		for _, u := range g.Search(q, 10) {
			if u.Category == locality.Oblast || u.Category == locality.Raion || u.Category == locality.Hromada {
				continue
			}
			out = append(out, suggestion{Value: u.Code, Label: s.localityName(c.l, u.Code)})
		}
	}
	writeJSON(w, out)
}

// lookup suggests records of a kind for a reference field: those matching
// the words typed, or the latest ones.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	kind, q := r.URL.Query().Get("kind"), strings.TrimSpace(r.URL.Query().Get("q"))
	out := []suggestion{}
	if !custody.IsRecordKind(kind) {
		writeJSON(w, out)
		return
	}
	if q == "" || uuidRe.MatchString(q) {
		pg, err := s.svc.Records(r.Context(), c.user, custody.RecordFilter{Kind: kind, Sort: "-updated", Limit: 10})
		if err == nil {
			for _, rec := range pg.Records {
				out = append(out, suggestion{Value: rec.ID, Label: rec.Title})
			}
		}
		writeJSON(w, out)
		return
	}
	hits, err := s.svc.Search(r.Context(), c.user, custody.SearchQuery{Q: q, Kind: kind, Limit: 10})
	if err == nil {
		for _, h := range hits {
			out = append(out, suggestion{Value: h.ID, Label: h.Title})
		}
	}
	writeJSON(w, out)
}
