package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/custody-dev/custody"
)

// recordRow is one line of a list of records.
type recordRow struct {
	ID, Kind, Title                      string
	Type, Status, Date, Locality, Update string
	Grave, Body, Sex                     string
	Torture, Withdrawn                   bool
}

// kindFilter names the enumerations of a kind's type and status filters.
var kindFilter = map[string]struct{ typ, status enumDef }{
	custody.KindSite:     {enumDef{"site_type", custody.SiteTypes}, enumDef{"site_status", custody.SiteStatuses}},
	custody.KindRemains:  {enumDef{}, enumDef{"id_status", custody.IDStatuses}},
	custody.KindPerson:   {enumDef{"person_role", custody.PersonRoles}, enumDef{"person_status", personStatuses}},
	custody.KindIncident: {enumDef{"incident_type", custody.IncidentTypes}, enumDef{}},
	custody.KindTeam:     {enumDef{"team_type", custody.TeamTypes}, enumDef{}},
	custody.KindTask:     {enumDef{}, enumDef{"task_status", custody.TaskStates}},
	custody.KindCase:     {enumDef{}, enumDef{"case_status", custody.CaseStates}},
}

// rowOf summarises a record for a list, from its data's facts.
func (s *Server) rowOf(l *localizer, r *custody.Record) recordRow {
	row := recordRow{ID: r.ID, Kind: r.Kind, Title: r.Title, Withdrawn: r.Withdrawn, Update: r.UpdatedAt}
	v, f, err := custody.ParseRecordData(r.Kind, r.Data)
	if err != nil {
		return row
	}
	kf := kindFilter[r.Kind]
	row.Type, row.Status = f.Type, f.Status
	if kf.typ.name != "" {
		row.Type = l.Enum(kf.typ.name, f.Type)
	}
	if kf.status.name != "" {
		row.Status = l.Enum(kf.status.name, f.Status)
	}
	if r.Kind == custody.KindTestimony {
		row.Type = l.T("lang.code", f.Type)
	}
	row.Date = l.Date(f.Date)
	row.Locality = s.localityName(l, f.Locality)
	row.Torture = f.Torture > 0
	if rm, ok := v.(*custody.Remains); ok {
		row.Grave, row.Body, row.Sex = rm.Grave, rm.Body, l.Enum("sex", rm.Sex)
	}
	return row
}

type listData struct {
	Filter    custody.RecordFilter
	Kind      string
	Rows      []recordRow
	Next      string
	Types     []option
	Statuses  []option
	Sorts     []option
	Withdrawn bool
	Locality  string
	Empty     bool
	Remains   bool // show the post-mortem columns
}

// recordList lists records of a kind (or all), filtered.
func (s *Server) recordList(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	q := r.URL.Query()
	f := custody.RecordFilter{Kind: q.Get("kind"), Locality: q.Get("locality"), Site: q.Get("site"), Case: q.Get("case"),
		Team: q.Get("team"), Type: q.Get("type"), Status: q.Get("status"), From: q.Get("from"), To: q.Get("to"),
		Sort: q.Get("sort"), After: q.Get("after"), IncludeWithdrawn: q.Get("withdrawn") == "1", Limit: 50}
	if f.Kind != "" && !custody.IsRecordKind(f.Kind) {
		s.fail(w, r, c, custody.Errorf(custody.EINVALID, "%s", c.l.T("error.unknown_kind")))
		return
	}
	pg, err := s.svc.Records(r.Context(), c.user, f)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	d := listData{Filter: f, Kind: f.Kind, Withdrawn: f.IncludeWithdrawn, Locality: s.localityName(c.l, f.Locality)}
	for _, rec := range pg.Records {
		d.Rows = append(d.Rows, s.rowOf(c.l, rec))
	}
	d.Empty = len(d.Rows) == 0
	d.Remains = f.Kind == custody.KindRemains
	if pg.Next != "" {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("after", pg.Next)
		d.Next = "/records?" + nq.Encode()
	}
	if kf, ok := kindFilter[f.Kind]; ok {
		if kf.typ.name != "" {
			d.Types = enumOptions(c.l, kf.typ, f.Type)
		}
		if kf.status.name != "" {
			d.Statuses = enumOptions(c.l, kf.status, f.Status)
		}
	}
	for _, so := range []string{"", "-updated", "date", "-date", "title"} {
		key := "sort.id"
		if so != "" {
			key = "sort." + so
		}
		d.Sorts = append(d.Sorts, option{Value: so, Label: c.l.T(key), Selected: so == f.Sort})
	}
	title := c.l.T("records.title")
	if f.Kind != "" {
		title = c.l.Kinds(f.Kind)
	}
	s.render(w, r, c, http.StatusOK, "records", &page{Title: title, Nav: "records", Data: d})
}

func enumOptions(l *localizer, e enumDef, cur string) []option {
	out := []option{{Value: "", Label: l.T("filter.any"), Selected: cur == ""}}
	for _, v := range e.values {
		out = append(out, option{Value: v, Label: l.Enum(e.name, v), Selected: v == cur})
	}
	return out
}

// versionRow is one step of a record's history.
type versionRow struct {
	Version  int
	Change   string
	Actor    string
	Time     string
	LogIndex uint64
	Reason   string
	Changed  []string
}

// related is a list of records linked to the one shown.
type related struct {
	Title   string
	Kind    string
	Rows    []recordRow
	More    string
	New     string // link to add one
	Remains bool   // show the post-mortem columns
}

type recordPage struct {
	Record    *custody.Record
	Sections  []viewSection
	History   []versionRow
	Related   []related
	Warnings  []string
	CreatedBy string
	UpdatedBy string
	Saved     bool
	Position  *mapInset
	Access    recordAccess // protection, reveal, who read it (access.go)
}

// recordView shows a record: its data, links, related records and history.
func (s *Server) recordView(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	rec, err := s.svc.Record(r.Context(), c.user, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	s.showRecord(w, r, c, http.StatusOK, rec, nil)
}

// showRecord renders the page of rec as read by the user (or as revealed
// to it: see recordReveal).
func (s *Server) showRecord(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, rec *custody.Record, rs *revealState) {
	ctx := r.Context()
	_, facts, err := custody.ParseRecordData(rec.Kind, rec.Data)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	rv := s.newResolver(c.user, c.l)
	recIDs, itemIDs := refIDs(facts)
	if err := rv.load(ctx, recIDs, itemIDs); err != nil {
		s.fail(w, r, c, err)
		return
	}
	secs, err := makeView(c.l, rv, rec.Kind, rec.Data)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	hist, err := s.svc.RecordHistory(ctx, c.user, rec.ID)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	names := s.userNames(r, c)
	d := recordPage{Record: rec, Sections: secs, Warnings: facts.Warnings, CreatedBy: names(rec.CreatedBy),
		UpdatedBy: names(rec.UpdatedBy), Saved: r.URL.Query().Get("saved") == "1", Access: s.recordAccess(r, c, rec, rs)}
	var prev map[string]string
	for i := len(hist) - 1; i >= 0; i-- {
		v := hist[i]
		row := versionRow{Version: v.Version, Change: c.l.T("change." + v.Change), Actor: names(v.Actor), Time: v.Time,
			LogIndex: v.LogIndex, Reason: v.Reason}
		d.History = append(d.History, row)
	}
	// Fields changed by each version, oldest first.
	for i, v := range hist {
		cur := topLevel(v.Data)
		if i > 0 && v.Change == "update" {
			var changed []string
			for _, k := range sortedKeys(union(prev, cur)) {
				if prev[k] != cur[k] {
					changed = append(changed, c.l.T("field."+k))
				}
			}
			d.History[len(hist)-1-i].Changed = changed
		}
		if v.Data != nil {
			prev = cur
		}
	}
	if facts.Position != nil {
		d.Position = s.inset(c.l, facts.Position.Lat, facts.Position.Lon)
	}
	rel := func(title, kind string, f custody.RecordFilter, newLink string) error {
		f.Kind, f.Limit = kind, 100
		if kind == custody.KindRemains {
			f.Sort = "title"
		}
		pg, err := s.svc.Records(ctx, c.user, f)
		if err != nil {
			return err
		}
		rl := related{Title: title, Kind: kind, New: newLink, Remains: kind == custody.KindRemains}
		for _, x := range pg.Records {
			rl.Rows = append(rl.Rows, s.rowOf(c.l, x))
		}
		if pg.Next != "" {
			q := url.Values{"kind": {kind}}
			switch {
			case f.Site != "":
				q.Set("site", f.Site)
			case f.Team != "":
				q.Set("team", f.Team)
			case f.Case != "":
				q.Set("case", f.Case)
			case f.Locality != "":
				q.Set("locality", f.Locality)
			}
			rl.More = "/records?" + q.Encode()
		}
		if len(rl.Rows) > 0 || newLink != "" {
			d.Related = append(d.Related, rl)
		}
		return nil
	}
	var relErr error
	switch rec.Kind {
	case custody.KindSite:
		relErr = firstErr(
			rel(c.l.T("related.remains"), custody.KindRemains, custody.RecordFilter{Site: rec.ID}, "/records/new?"+url.Values{"kind": {"remains"}, "site": {rec.ID}}.Encode()),
			rel(c.l.T("related.incidents"), custody.KindIncident, custody.RecordFilter{Site: rec.ID}, ""),
			rel(c.l.T("related.tasks"), custody.KindTask, custody.RecordFilter{Site: rec.ID}, ""))
	case custody.KindTeam:
		relErr = firstErr(
			rel(c.l.T("related.sites"), custody.KindSite, custody.RecordFilter{Team: rec.ID}, ""),
			rel(c.l.T("related.tasks"), custody.KindTask, custody.RecordFilter{Team: rec.ID}, "/records/new?"+url.Values{"kind": {"task"}, "team": {rec.ID}}.Encode()))
	case custody.KindCase:
		for _, k := range []string{custody.KindIncident, custody.KindSite, custody.KindRemains, custody.KindTestimony} {
			if relErr = rel(c.l.Kinds(k), k, custody.RecordFilter{Case: rec.ID}, ""); relErr != nil {
				break
			}
		}
	case custody.KindLocality:
		for _, k := range []string{custody.KindSite, custody.KindIncident} {
			if relErr = rel(c.l.Kinds(k), k, custody.RecordFilter{Locality: rec.ID}, ""); relErr != nil {
				break
			}
		}
	}
	if relErr != nil {
		s.fail(w, r, c, relErr)
		return
	}
	s.render(w, r, c, status, "record", &page{Title: c.l.Kind(rec.Kind) + ": " + rec.Title, Nav: "records", Data: d})
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func union(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// userNames returns a function naming user IDs, looking each up once.
func (s *Server) userNames(r *http.Request, c *reqCtx) func(string) string {
	cache := map[string]string{}
	return func(id string) string {
		if n, ok := cache[id]; ok {
			return n
		}
		n := id
		if id == custody.SystemActor.ID {
			n = c.l.T("user.system")
		} else if u, err := s.svc.DB().UserByID(r.Context(), id); err == nil {
			n = u.Name
		}
		cache[id] = n
		return n
	}
}

// recordNew shows an empty form for a kind, with values given in the
// query string (a new remains record from its site's page has its site).
func (s *Server) recordNew(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	kind := r.URL.Query().Get("kind")
	if !custody.IsRecordKind(kind) {
		s.fail(w, r, c, custody.Errorf(custody.EINVALID, "%s", c.l.T("error.unknown_kind")))
		return
	}
	if !c.user.Role.CanWrite() {
		s.fail(w, r, c, &custody.Error{Code: custody.EFORBIDDEN, Message: c.l.T("error.read_only", c.user.Role)})
		return
	}
	vals := url.Values{}
	for k, v := range r.URL.Query() {
		if k != "kind" {
			vals[k] = v
		}
	}
	s.renderForm(w, r, c, http.StatusOK, &recordForm{Kind: kind, Sections: makeForm(c.l, kind, vals), Action: "/records"})
}

func (s *Server) renderForm(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, f *recordForm) {
	title := c.l.T("form.new", c.l.Kind(f.Kind))
	if f.Record != nil {
		title = c.l.T("form.edit", c.l.Kind(f.Kind), f.Record.Title)
	}
	s.render(w, r, c, status, "recordform", &page{Title: title, Nav: "records", Data: f})
}

// formValues returns the record fields of a posted form.
func formValues(r *http.Request) url.Values {
	vals := url.Values{}
	for k, v := range r.PostForm {
		switch k {
		case csrfField, "base", "reason", "kind":
			continue
		}
		vals[k] = v
	}
	return vals
}

// recordCreate creates a record from the form.
func (s *Server) recordCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	kind := r.PostForm.Get("kind")
	if !custody.IsRecordKind(kind) {
		s.fail(w, r, c, custody.Errorf(custody.EINVALID, "%s", c.l.T("error.unknown_kind")))
		return
	}
	vals := formValues(r)
	redo := func(err error) {
		s.renderForm(w, r, c, statusOf(custody.ErrorCode(err)), &recordForm{Kind: kind, Sections: makeForm(c.l, kind, vals),
			Action: "/records", Problem: s.problem(r, c, err), Reason: r.PostForm.Get("reason")})
	}
	data, err := build(c.l, kind, vals)
	if err != nil {
		redo(err)
		return
	}
	in := custody.RecordInput{Kind: kind, Data: data, Reason: r.PostForm.Get("reason")}
	recs, err := s.svc.CreateRecords(r.Context(), c.user, []custody.RecordInput{in})
	if err != nil {
		redo(err)
		return
	}
	s.stats.invalidate()
	s.maps.invalidate()
	http.Redirect(w, r, "/records/"+recs[0].ID+"?saved=1", http.StatusSeeOther)
}

// problem is the message of a failed change shown above its form: the
// service's own message for users' mistakes, a generic one for faults.
func (s *Server) problem(r *http.Request, c *reqCtx, err error) string {
	code := custody.ErrorCode(err)
	if code == custody.EINTERNAL || code == custody.ETAMPERED {
		s.logger.Error("web change failed", "path", r.URL.Path, "err", err)
		return c.l.T("error.internal")
	}
	msg := custody.ErrorMessage(err)
	if code == custody.ECONFLICT {
		msg = c.l.T("form.conflict") + " (" + msg + ")"
	}
	return msg
}

// recordEdit shows the form of a record's current version.
func (s *Server) recordEdit(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	if !c.user.Role.CanWrite() {
		s.fail(w, r, c, &custody.Error{Code: custody.EFORBIDDEN, Message: c.l.T("error.read_only", c.user.Role)})
		return
	}
	rec, err := s.svc.Record(r.Context(), c.user, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	if rec.Withdrawn {
		s.fail(w, r, c, custody.Errorf(custody.ECONFLICT, "%s", c.l.T("record.withdrawn_no_edit")))
		return
	}
	if err := noEditRedacted(c, rec); err != nil {
		s.fail(w, r, c, err)
		return
	}
	vals, err := flatten(rec.Kind, rec.Data)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	s.renderForm(w, r, c, http.StatusOK, &recordForm{Kind: rec.Kind, Record: rec, Sections: makeForm(c.l, rec.Kind, vals),
		Action: "/records/" + rec.ID, Base: rec.Version})
}

// recordUpdate writes a new version from the form, made from version base:
// if someone else changed the record meanwhile, the form comes back with
// the user's values and the conflict explained.
func (s *Server) recordUpdate(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	rec, err := s.svc.Record(r.Context(), c.user, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	if err := noEditRedacted(c, rec); err != nil {
		s.fail(w, r, c, err)
		return
	}
	base, _ := strconv.Atoi(r.PostForm.Get("base"))
	vals := formValues(r)
	redo := func(err error) {
		s.renderForm(w, r, c, statusOf(custody.ErrorCode(err)), &recordForm{Kind: rec.Kind, Record: rec,
			Sections: makeForm(c.l, rec.Kind, vals), Action: "/records/" + rec.ID, Base: base,
			Problem: s.problem(r, c, err), Reason: r.PostForm.Get("reason")})
	}
	data, err := build(c.l, rec.Kind, vals)
	if err != nil {
		redo(err)
		return
	}
	_, err = s.svc.UpdateRecord(r.Context(), c.user, custody.RecordInput{Kind: rec.Kind, ID: rec.ID, Data: data,
		Base: base, Reason: r.PostForm.Get("reason")})
	if err != nil {
		redo(err)
		return
	}
	s.stats.invalidate()
	s.maps.invalidate()
	http.Redirect(w, r, "/records/"+rec.ID+"?saved=1", http.StatusSeeOther)
}

// recordWithdraw withdraws a record, with a reason; it stays readable.
func (s *Server) recordWithdraw(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	base, _ := strconv.Atoi(r.PostForm.Get("base"))
	rec, err := s.svc.WithdrawRecord(r.Context(), c.user, r.PathValue("id"), base, r.PostForm.Get("reason"))
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	s.stats.invalidate()
	s.maps.invalidate()
	http.Redirect(w, r, "/records/"+rec.ID, http.StatusSeeOther)
}
