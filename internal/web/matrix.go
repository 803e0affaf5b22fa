package web

import (
	"net/http"

	"github.com/custody-dev/custody"
)

// matrixPage is a case's matrix as the page shows it: each charged crime,
// each of its elements, what supports it and the gaps.
type matrixPage struct {
	Case    string // the case record's ID
	Number  string
	Title   string
	Gaps    int
	Charges []chargeView
}

type chargeView struct {
	Crime      string
	Title      string
	Provisions []string
	Elements   []elementView
	Gaps       int
}

type elementView struct {
	ID, Kind, Text string
	Gap            string // "", or custody.GapUnsupported, GapSingleSource, GapUnverified
	GapLabel       string
	Support        []supportView
}

type supportView struct {
	Href, Kind, Title, Reason string
	LinkedBy, LinkedAt        string
	Verified, Withdrawn       bool
}

// caseMatrix shows a case's matrix (evidence.Service.CaseMatrix, as GET
// /api/v1/cases/{id}/matrix and custody case matrix give it): for each
// charged crime, each element the prosecution must prove, the sources
// linked to it, who linked each and why, and the gaps — elements with no
// source, a single source, or no verified source — highlighted.
func (s *Server) caseMatrix(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	m, err := s.svc.CaseMatrix(r.Context(), c.user, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	names := s.userNames(r, c)
	d := matrixPage{Case: m.Case, Number: m.Number, Title: m.Title, Gaps: m.Gaps}
	for _, ch := range m.Charges {
		cv := chargeView{Crime: ch.Crime, Title: ch.Title, Provisions: ch.Provisions}
		for _, el := range ch.Elements {
			ev := elementView{ID: el.Element, Kind: elementKind(c.l, el.Kind), Text: el.Text, Gap: el.Gap, GapLabel: gapLabel(c.l, el.Gap)}
			if el.Gap != "" {
				cv.Gaps++
			}
			for _, sp := range el.Support {
				sv := supportView{Href: "/records/" + sp.Source, Kind: c.l.Kind(sp.SourceKind), Title: sp.Title, Reason: sp.Reason,
					LinkedAt: sp.LinkedAt, Verified: sp.Verified, Withdrawn: sp.Withdrawn}
				if sp.SourceKind == "item" {
					sv.Href, sv.Kind = "/items/"+sp.Source, c.l.T("matrix.item")
				}
				if sv.Title == "" {
					sv.Title = sp.Source
				}
				if sp.LinkedBy != "" {
					sv.LinkedBy = names(sp.LinkedBy)
				}
				ev.Support = append(ev.Support, sv)
			}
			cv.Elements = append(cv.Elements, ev)
		}
		d.Charges = append(d.Charges, cv)
	}
	title := m.Number
	if title == "" {
		title = m.Title
	}
	s.render(w, r, c, http.StatusOK, "matrix", &page{Title: c.l.T("matrix.title", title), Nav: "records", Data: d})
}

// elementKind names an element's kind (legal.ElementKind).
func elementKind(l *localizer, kind string) string {
	switch kind {
	case "material":
		return l.T("matrix.kind.material")
	case "contextual":
		return l.T("matrix.kind.contextual")
	case "mental":
		return l.T("matrix.kind.mental")
	}
	return kind
}

// gapLabel names a gap of the case matrix.
func gapLabel(l *localizer, gap string) string {
	switch gap {
	case "":
		return ""
	case custody.GapUnsupported:
		return l.T("matrix.gap.unsupported")
	case custody.GapSingleSource:
		return l.T("matrix.gap.single_source")
	case custody.GapUnverified:
		return l.T("matrix.gap.unverified")
	}
	return gap
}
