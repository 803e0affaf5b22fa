package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/evidence"
)

// The investigation's records live under /api/v1/{kinds}: one collection
// per kind (sites, remains, persons, ...), each with the same five routes —
// list, create, read (with history), update (from a base version, 409 when
// it is stale) and withdraw. A record's kind never changes, so a record
// read through another kind's collection is not found there.

// kindPath pairs a record kind with its collection's path segment.
type kindPath struct {
	kind   string // custody.Kind*
	plural string // the segment after /api/v1/
}

// kindPaths lists the collections, in the order of custody.RecordKinds.
var kindPaths = []kindPath{
	{custody.KindLocality, "localities"},
	{custody.KindSite, "sites"},
	{custody.KindRemains, "remains"},
	{custody.KindPerson, "persons"},
	{custody.KindTestimony, "testimonies"},
	{custody.KindIncident, "incidents"},
	{custody.KindTeam, "teams"},
	{custody.KindTask, "tasks"},
	{custody.KindCase, "cases"},
}

// pluralOf returns the collection segment of kind, or "" for an unknown kind.
func pluralOf(kind string) string {
	for _, k := range kindPaths {
		if k.kind == kind {
			return k.plural
		}
	}
	return ""
}

// maxRecordBody bounds the body of a create, update or withdrawal: one
// record's data and the few fields around it.
const maxRecordBody = evidence.MaxRecordData + 64<<10

// maxBatchBody bounds the body of POST /api/v1/records.
const maxBatchBody = 64 << 20

// recordIDRe is the form of record and item IDs (UUIDs, v7 as issued).
var recordIDRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// katotthRe is the form of a KATOTTH code.
var katotthRe = regexp.MustCompile(`^UA[0-9]{17}$`)

// personStatuses are the values of Person.status (checked inline by the
// domain, which has no exported list of them).
var personStatuses = []string{"missing", "found_alive", "found_dead"}

// kindFilters names, per kind, the values its type and status filters take:
// nil when the kind has no such field; an empty, non-nil slice when the
// field is free (a testimony's type is its language).
var kindFilters = map[string]struct{ types, statuses []string }{
	custody.KindLocality:  {nil, nil},
	custody.KindSite:      {custody.SiteTypes, custody.SiteStatuses},
	custody.KindRemains:   {nil, custody.IDStatuses},
	custody.KindPerson:    {custody.PersonRoles, personStatuses},
	custody.KindTestimony: {[]string{}, nil},
	custody.KindIncident:  {custody.IncidentTypes, nil},
	custody.KindTeam:      {custody.TeamTypes, nil},
	custody.KindTask:      {nil, custody.TaskStates},
	custody.KindCase:      {nil, custody.CaseStates},
}

// queryParams parses r's query string strictly: a parameter not in allowed,
// or given twice, is EINVALID, so that a typo ("?localty=") fails loudly
// instead of silently not filtering.
func queryParams(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, custody.Errorf(custody.EINVALID, "malformed query string")
	}
	for k, vs := range q {
		if !slices.Contains(allowed, k) {
			return nil, &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("unknown query parameter %q", truncateText(k, 40)),
				Hint: "parameters: " + strings.Join(allowed, ", ")}
		}
		if len(vs) > 1 {
			return nil, custody.Errorf(custody.EINVALID, "query parameter %q is given %d times", k, len(vs))
		}
	}
	return q, nil
}

// truncateText shortens s to n runes for an error message.
func truncateText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "..."
}

// readBody reads a request body of at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, custody.Errorf(custody.EINVALID, "the request body could not be read")
	}
	return b, nil
}

// decodeBody decodes a JSON body of at most limit bytes strictly (no
// unknown fields, no trailing data) into v.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	b, err := readBody(w, r, limit)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return custody.Errorf(custody.EINVALID, "malformed JSON body: %v", jsonError(err))
	}
	if dec.More() {
		return custody.Errorf(custody.EINVALID, "malformed JSON body: trailing data")
	}
	return nil
}

// jsonError describes a decoding error without echoing Go type names.
func jsonError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("field %q cannot be a JSON %s", te.Field, te.Value)
		}
		return fmt.Sprintf("the body cannot be a JSON %s", te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	if errors.Is(err, io.EOF) {
		return "empty body"
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "the body ends early"
	}
	return truncateText(err.Error(), 200)
}

// checkData requires a record's data to be a JSON object.
func checkData(kind string, data json.RawMessage) error {
	d := strings.TrimLeft(string(data), " \t\r\n")
	if d == "" || strings.HasPrefix(d, "null") {
		return custody.Errorf(custody.EINVALID, "%s: data is required", kind)
	}
	if d[0] != '{' {
		return custody.Errorf(custody.EINVALID, "%s: data must be a JSON object", kind)
	}
	return nil
}

func mayWrite(u *custody.User, what string) error {
	if !u.Role.CanWrite() {
		return custody.Errorf(custody.EFORBIDDEN, "role %s may not %s records", u.Role, what)
	}
	return nil
}

// kindRecord reads record id and requires it to be of kind k: a record of
// another kind is not found in this collection.
func (s *Server) kindRecord(r *http.Request, k kindPath, id string) (*custody.Record, error) {
	if k.kind == custody.KindLocality {
		id = strings.ToUpper(strings.TrimSpace(id)) // a KATOTTH code, in any case
	}
	rec, err := s.svc.Record(r.Context(), UserFrom(r.Context()), id)
	if err != nil {
		return nil, err
	}
	if rec.Kind != k.kind {
		return nil, &custody.Error{Code: custody.ENOTFOUND, Message: fmt.Sprintf("no %s %s", k.kind, id),
			Hint: fmt.Sprintf("it is a %s: /api/v1/%s/%s", rec.Kind, pluralOf(rec.Kind), rec.ID)}
	}
	return rec, nil
}

// createRecord: POST /api/v1/{kinds}. The body is the kind's data; the
// reason and the device's clock, if any, come in the query string.
func (s *Server) createRecord(k kindPath) func(http.ResponseWriter, *http.Request, *custody.User) {
	return func(w http.ResponseWriter, r *http.Request, u *custody.User) {
		q, err := queryParams(r, "reason", "device_time", "compartments")
		if err != nil {
			s.error(w, r, err)
			return
		}
		if err := mayWrite(u, "create"); err != nil {
			s.error(w, r, err)
			return
		}
		data, err := readBody(w, r, maxRecordBody)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if err := checkData(k.kind, data); err != nil {
			s.error(w, r, err)
			return
		}
		recs, err := s.svc.CreateRecords(r.Context(), u, []custody.RecordInput{{Kind: k.kind, Data: data,
			Reason: q.Get("reason"), DeviceTime: q.Get("device_time"), Compartments: splitList(q.Get("compartments"))}})
		if err != nil {
			s.error(w, r, err)
			return
		}
		w.Header().Set("Location", "/api/v1/"+k.plural+"/"+url.PathEscape(recs[0].ID))
		s.json(w, http.StatusCreated, recs[0])
	}
}

// batchBody is the body of POST /api/v1/records.
type batchBody struct {
	Records []custody.RecordInput `json:"records"`
}

// createBatch: POST /api/v1/records creates records of any kinds, all or
// none, in one log append.
func (s *Server) createBatch(w http.ResponseWriter, r *http.Request, u *custody.User) {
	if _, err := queryParams(r); err != nil {
		s.error(w, r, err)
		return
	}
	if err := mayWrite(u, "create"); err != nil {
		s.error(w, r, err)
		return
	}
	var b batchBody
	if err := decodeBody(w, r, maxBatchBody, &b); err != nil {
		s.error(w, r, err)
		return
	}
	for i, in := range b.Records {
		if err := checkData(in.Kind, in.Data); err != nil {
			s.error(w, r, custody.Errorf(custody.EINVALID, "record %d: %s", i+1, custody.ErrorMessage(err)))
			return
		}
	}
	recs, err := s.svc.CreateRecords(r.Context(), u, b.Records)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusCreated, map[string]any{"records": recs})
}

// recordLink is a reference a record makes to another record, an item or a
// locality, as derived from its data.
type recordLink struct {
	Field  string `json:"field"`          // e.g. "site", "injuries[2].photos[0]"
	Target string `json:"target"`         // record, item, locality or any (a record or an item)
	Kind   string `json:"kind,omitempty"` // for records: the kind the field requires
	ID     string `json:"id"`
}

// recordDetail is the body of GET /api/v1/{kinds}/{id}.
type recordDetail struct {
	Record  *custody.Record          `json:"record"`
	History []*custody.RecordVersion `json:"history"`
	// Links are the references the current version makes.
	Links []recordLink `json:"links"`
	// LinkedFrom lists the records that refer to this one.
	LinkedFrom []custody.Backlink `json:"linked_from"`
}

// linksOf derives the references of a record from its data. Data that no
// longer validates (rules tightened since it was written) has none listed.
func linksOf(rec *custody.Record) []recordLink {
	out := []recordLink{}
	if rec == nil || len(rec.Data) == 0 {
		return out
	}
	_, f, err := custody.ParseRecordData(rec.Kind, rec.Data)
	if err != nil {
		return out
	}
	for _, ref := range f.Refs {
		if ref.Target == "locality" && ref.ID == rec.ID {
			continue // a locality's own code
		}
		out = append(out, recordLink{Field: ref.Field, Target: ref.Target, Kind: ref.Kind, ID: ref.ID})
	}
	return out
}

// getRecord: GET /api/v1/{kinds}/{id}.
func (s *Server) getRecord(k kindPath) func(http.ResponseWriter, *http.Request, *custody.User) {
	return func(w http.ResponseWriter, r *http.Request, u *custody.User) {
		if _, err := queryParams(r); err != nil {
			s.error(w, r, err)
			return
		}
		rec, err := s.kindRecord(r, k, r.PathValue("id"))
		if err != nil {
			s.error(w, r, err)
			return
		}
		hist, err := s.svc.RecordHistory(r.Context(), u, rec.ID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		back, err := s.svc.LinkedFrom(r.Context(), u, rec.ID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.json(w, http.StatusOK, recordDetail{Record: rec, History: hist, Links: linksOf(rec), LinkedFrom: back})
	}
}

// updateBody is the body of PUT /api/v1/{kinds}/{id}.
type updateBody struct {
	Base       int             `json:"base"`
	Data       json.RawMessage `json:"data"`
	Reason     string          `json:"reason"`
	DeviceTime string          `json:"device_time"`
}

// updateRecord: PUT /api/v1/{kinds}/{id} writes a new version, made from
// version base; ECONFLICT (409) when base is not the current version.
func (s *Server) updateRecord(k kindPath) func(http.ResponseWriter, *http.Request, *custody.User) {
	return func(w http.ResponseWriter, r *http.Request, u *custody.User) {
		if _, err := queryParams(r); err != nil {
			s.error(w, r, err)
			return
		}
		if err := mayWrite(u, "change"); err != nil {
			s.error(w, r, err)
			return
		}
		var b updateBody
		if err := decodeBody(w, r, maxRecordBody, &b); err != nil {
			s.error(w, r, err)
			return
		}
		if err := checkData(k.kind, b.Data); err != nil {
			s.error(w, r, err)
			return
		}
		rec, err := s.kindRecord(r, k, r.PathValue("id"))
		if err != nil {
			s.error(w, r, err)
			return
		}
		rec, err = s.svc.UpdateRecord(r.Context(), u, custody.RecordInput{Kind: k.kind, ID: rec.ID, Data: b.Data,
			Base: b.Base, Reason: b.Reason, DeviceTime: b.DeviceTime})
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.json(w, http.StatusOK, rec)
	}
}

// withdrawBody is the body of POST /api/v1/{kinds}/{id}/withdraw.
type withdrawBody struct {
	Base   int    `json:"base"`
	Reason string `json:"reason"`
}

// withdrawRecord: POST /api/v1/{kinds}/{id}/withdraw. The record stays
// readable, marked withdrawn with the reason.
func (s *Server) withdrawRecord(k kindPath) func(http.ResponseWriter, *http.Request, *custody.User) {
	return func(w http.ResponseWriter, r *http.Request, u *custody.User) {
		if _, err := queryParams(r); err != nil {
			s.error(w, r, err)
			return
		}
		if err := mayWrite(u, "withdraw"); err != nil {
			s.error(w, r, err)
			return
		}
		var b withdrawBody
		if err := decodeBody(w, r, maxJSON, &b); err != nil {
			s.error(w, r, err)
			return
		}
		// The kind is checked first: WithdrawRecord takes any record, and a
		// site must not be withdrawn through /persons/.
		rec, err := s.kindRecord(r, k, r.PathValue("id"))
		if err != nil {
			s.error(w, r, err)
			return
		}
		rec, err = s.svc.WithdrawRecord(r.Context(), u, rec.ID, b.Base, b.Reason)
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.json(w, http.StatusOK, rec)
	}
}

// listParams are the query parameters of GET /api/v1/{kinds}.
var listParams = []string{"locality", "site", "case", "team", "type", "status", "from", "to", "sort", "after", "limit", "include_withdrawn"}

// recordFilter parses the listing parameters of kind k's collection.
func recordFilter(k kindPath, q url.Values) (custody.RecordFilter, error) {
	f := custody.RecordFilter{Kind: k.kind, Sort: q.Get("sort"), After: q.Get("after")}
	var err error
	if f.Locality, err = localityParam(q.Get("locality")); err != nil {
		return f, err
	}
	for _, p := range []struct {
		name string
		dst  *string
	}{{"site", &f.Site}, {"case", &f.Case}, {"team", &f.Team}} {
		v := q.Get(p.name)
		if v != "" && !recordIDRe.MatchString(v) {
			return f, custody.Errorf(custody.EINVALID, "%s %q is not a record ID", p.name, truncateText(v, 40))
		}
		*p.dst = v
	}
	kf := kindFilters[k.kind]
	for _, p := range []struct {
		name    string
		v       string
		allowed []string
		dst     *string
	}{{"type", q.Get("type"), kf.types, &f.Type}, {"status", q.Get("status"), kf.statuses, &f.Status}} {
		if p.v == "" {
			continue
		}
		if p.allowed == nil {
			return f, custody.Errorf(custody.EINVALID, "%s records have no %s to filter by", k.kind, p.name)
		}
		if len(p.allowed) > 0 && !slices.Contains(p.allowed, p.v) {
			return f, custody.Errorf(custody.EINVALID, "%s %q is not one of %s", p.name, truncateText(p.v, 40), strings.Join(p.allowed, ", "))
		}
		*p.dst = p.v
	}
	if f.From, err = dateParam("from", q.Get("from")); err != nil {
		return f, err
	}
	if f.To, err = dateParam("to", q.Get("to")); err != nil {
		return f, err
	}
	if f.Limit, err = limitParam(q.Get("limit"), 1000); err != nil {
		return f, err
	}
	if v := q.Get("include_withdrawn"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, custody.Errorf(custody.EINVALID, "include_withdrawn must be true or false")
		}
		f.IncludeWithdrawn = b
	}
	return f, nil
}

// localityParam checks a locality filter, a KATOTTH code in any case.
func localityParam(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	code := strings.ToUpper(strings.TrimSpace(v))
	if !katotthRe.MatchString(code) {
		return "", custody.Errorf(custody.EINVALID, "locality %q is not a KATOTTH code (UA and 17 digits, e.g. UA63040090010029555)", truncateText(v, 40))
	}
	return code, nil
}

// dateParam checks a date filter: YYYY-MM-DD, YYYY-MM or YYYY.
func dateParam(name, v string) (string, error) {
	if v == "" {
		return "", nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01", "2006"} {
		if len(v) == len(layout) {
			if _, err := time.Parse(layout, v); err == nil {
				return v, nil
			}
		}
	}
	return "", custody.Errorf(custody.EINVALID, "%s %q is not a date (YYYY-MM-DD, YYYY-MM or YYYY)", name, truncateText(v, 40))
}

// limitParam parses a page size of 1..max; "" is 0, the service's default.
func limitParam(v string, max int) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, custody.Errorf(custody.EINVALID, "limit must be 1..%d", max)
	}
	return n, nil
}

// listRecords: GET /api/v1/{kinds} → {"records": [...], "next": cursor}.
func (s *Server) listRecords(k kindPath) func(http.ResponseWriter, *http.Request, *custody.User) {
	return func(w http.ResponseWriter, r *http.Request, u *custody.User) {
		q, err := queryParams(r, listParams...)
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.serveRecordList(w, r, k, q)
	}
}

func (s *Server) serveRecordList(w http.ResponseWriter, r *http.Request, k kindPath, q url.Values) {
	f, err := recordFilter(k, q)
	if err != nil {
		s.error(w, r, err)
		return
	}
	page, err := s.svc.Records(r.Context(), UserFrom(r.Context()), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if page.Records == nil {
		page.Records = []*custody.Record{}
	}
	s.json(w, http.StatusOK, page)
}

// maxSearchResults bounds the hits of one search (the service's limit).
const maxSearchResults = 200

// search: GET /api/v1/search?q=&kind=&locality=&from=&to=&limit= →
// {"hits": [...]}, best first, withdrawn records left out.
func (s *Server) search(w http.ResponseWriter, r *http.Request, u *custody.User) {
	q, err := queryParams(r, "q", "kind", "locality", "from", "to", "limit")
	if err != nil {
		s.error(w, r, err)
		return
	}
	sq := custody.SearchQuery{Q: q.Get("q"), Kind: q.Get("kind")}
	if strings.TrimSpace(sq.Q) == "" {
		s.error(w, r, custody.Errorf(custody.EINVALID, "give words to search for, e.g. ?q=Izium"))
		return
	}
	if sq.Kind != "" && !custody.IsRecordKind(sq.Kind) {
		s.error(w, r, &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("unknown record kind %q", truncateText(sq.Kind, 40)),
			Hint: "kinds: " + strings.Join(custody.RecordKinds, ", ")})
		return
	}
	if sq.Locality, err = localityParam(q.Get("locality")); err != nil {
		s.error(w, r, err)
		return
	}
	if sq.From, err = dateParam("from", q.Get("from")); err != nil {
		s.error(w, r, err)
		return
	}
	if sq.To, err = dateParam("to", q.Get("to")); err != nil {
		s.error(w, r, err)
		return
	}
	if sq.Limit, err = limitParam(q.Get("limit"), maxSearchResults); err != nil {
		s.error(w, r, err)
		return
	}
	hits, err := s.svc.Search(r.Context(), u, sq)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if hits == nil {
		hits = []*custody.SearchHit{}
	}
	s.json(w, http.StatusOK, map[string]any{"hits": hits})
}

// stats: GET /api/v1/stats?locality= → the investigation's figures,
// overall or for one locality.
func (s *Server) stats(w http.ResponseWriter, r *http.Request, u *custody.User) {
	q, err := queryParams(r, "locality")
	if err != nil {
		s.error(w, r, err)
		return
	}
	code, err := localityParam(q.Get("locality"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	st, err := s.svc.Stats(r.Context(), u, code)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, st)
}

// caseMatrix: GET /api/v1/cases/{id}/matrix.
func (s *Server) caseMatrix(w http.ResponseWriter, r *http.Request, u *custody.User) {
	if _, err := queryParams(r); err != nil {
		s.error(w, r, err)
		return
	}
	m, err := s.svc.CaseMatrix(r.Context(), u, r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, m)
}
