package web

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/custody-dev/custody"
)

// statsValue is the dashboard's cached figures.
type statsValue = *custody.Stats

// The figures depend on what the user may see: users who see every
// compartment share one cache entry, every other user has its own.
func (s *Server) cachedStats(ctx context.Context, u *custody.User) (*custody.Stats, error) {
	return s.stats.get(ctx, s, scopeKey(u), func(ctx context.Context) (statsValue, error) { return s.svc.Stats(ctx, u, "") })
}

// scopeKey names what u sees, for the caches of figures and maps.
func scopeKey(u *custody.User) string {
	if u.Role.Can(custody.PermAllCompartments) {
		return "all"
	}
	return "user:" + u.ID
}

type tile struct {
	Label, Value, Sub, Href, Class string
}

type dashboardData struct {
	Tiles    []tile
	Records  []tile
	Charts   []*chart
	Coverage struct {
		Visited, Total int
		Percent        float64
		Label          string
	}
}

// dashboard shows the figures: totals, deaths and bodies per locality,
// incidents by type and month, team coverage.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	st, err := s.cachedStats(r.Context(), c.user)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	l := c.l
	d := dashboardData{}
	d.Tiles = []tile{
		{Label: l.T("stats.bodies"), Value: l.Num(st.Bodies), Href: "/records?kind=remains", Class: "t-bodies"},
		{Label: l.T("stats.identified"), Value: l.Num(st.Identified), Sub: pct(l, st.Identified, st.Bodies), Href: "/records?kind=remains&status=identified"},
		{Label: l.T("stats.torture"), Value: l.Num(st.Torture), Sub: pct(l, st.Torture, st.Bodies), Class: "t-torture"},
		{Label: l.T("stats.killed"), Value: l.Num(st.KilledConfirmed), Sub: l.T("stats.plus_estimated", l.Num(st.KilledEstimated)), Href: "/records?kind=incident"},
		{Label: l.T("stats.injured"), Value: l.Num(st.InjuredConfirmed), Sub: l.T("stats.plus_estimated", l.Num(st.InjuredEstimated))},
	}
	for _, k := range custody.RecordKinds {
		d.Records = append(d.Records, tile{Label: l.Kinds(k), Value: l.Num(st.Records[k]), Href: "/records?kind=" + k})
	}

	// Deaths and bodies per locality: the localities with the most.
	per := append([]custody.LocalityStats(nil), st.PerLocality...)
	name := func(ls custody.LocalityStats) string {
		return s.localityName(l, ls.Locality)
	}
	top := func(key func(custody.LocalityStats) int) []custody.LocalityStats {
		sort.SliceStable(per, func(i, j int) bool {
			if a, b := key(per[i]), key(per[j]); a != b {
				return a > b
			}
			return per[i].Locality < per[j].Locality
		})
		var out []custody.LocalityStats
		for _, ls := range per {
			if key(ls) > 0 && len(out) < 12 {
				out = append(out, ls)
			}
		}
		return out
	}
	deaths := top(func(x custody.LocalityStats) int { return x.KilledConfirmed + x.KilledEstimated })
	var cats []string
	conf, est := series{Name: l.T("stats.confirmed"), Class: "s-conf"}, series{Name: l.T("stats.estimated"), Class: "s-est"}
	for _, ls := range deaths {
		cats = append(cats, name(ls))
		conf.Values = append(conf.Values, ls.KilledConfirmed)
		est.Values = append(est.Values, ls.KilledEstimated)
	}
	d.Charts = append(d.Charts, hbars(l, "deaths", l.T("chart.deaths"), l.T("chart.deaths_desc"), cats, []series{conf, est}, true))

	bodies := top(func(x custody.LocalityStats) int { return x.Bodies })
	cats = nil
	rec, idn, tor := series{Name: l.T("stats.bodies"), Class: "s-bodies"}, series{Name: l.T("stats.identified"), Class: "s-ident"},
		series{Name: l.T("stats.torture"), Class: "s-torture"}
	for _, ls := range bodies {
		cats = append(cats, name(ls))
		rec.Values = append(rec.Values, ls.Bodies)
		idn.Values = append(idn.Values, ls.Identified)
		tor.Values = append(tor.Values, ls.Torture)
	}
	d.Charts = append(d.Charts, hbars(l, "bodies", l.T("chart.bodies"), l.T("chart.bodies_desc"), cats, []series{rec, idn, tor}, false))

	// Incidents by type per month, the months continuous.
	months := map[string]bool{}
	byType := map[string]map[string]int{}
	for _, m := range st.IncidentsByMonth {
		if len(m.Month) != 7 {
			continue
		}
		months[m.Month] = true
		if byType[m.Type] == nil {
			byType[m.Type] = map[string]int{}
		}
		byType[m.Type][m.Month] += m.Count
	}
	keys := continuousMonths(sortedKeys(months))
	cats = nil
	for _, m := range keys {
		cats = append(cats, l.MonthKey(m))
	}
	var ss []series
	for i, t := range custody.IncidentTypes {
		if byType[t] == nil {
			continue
		}
		sr := series{Name: l.Enum("incident_type", t), Class: "c" + string(rune('0'+i%10))}
		for _, m := range keys {
			sr.Values = append(sr.Values, byType[t][m])
		}
		ss = append(ss, sr)
	}
	d.Charts = append(d.Charts, columns(l, "incidents", l.T("chart.incidents"), l.T("chart.incidents_desc"), cats, ss))

	d.Coverage.Visited, d.Coverage.Total = st.LocalitiesVisited, st.LocalitiesTotal
	if st.LocalitiesTotal > 0 {
		d.Coverage.Percent = 100 * float64(st.LocalitiesVisited) / float64(st.LocalitiesTotal)
	}
	d.Coverage.Label = l.T("stats.coverage_of", l.Num(st.LocalitiesVisited), l.Num(st.LocalitiesTotal), l.Decimal(d.Coverage.Percent, 1))
	s.render(w, r, c, http.StatusOK, "dashboard", &page{Title: l.T("dashboard.title"), Nav: "dashboard", Data: d})
}

func pct(l *localizer, part, whole int) string {
	if whole == 0 {
		return ""
	}
	return l.Decimal(100*float64(part)/float64(whole), 1) + "\u00a0%"
}

// continuousMonths fills the gaps between the first and last month (at
// most ten years of months).
func continuousMonths(ms []string) []string {
	if len(ms) < 2 {
		return ms
	}
	first, err1 := time.Parse("2006-01", ms[0])
	last, err2 := time.Parse("2006-01", ms[len(ms)-1])
	if err1 != nil || err2 != nil {
		return ms
	}
	var out []string
	for t := first; !t.After(last) && len(out) < 120; t = t.AddDate(0, 1, 0) {
		out = append(out, t.Format("2006-01"))
	}
	return out
}
