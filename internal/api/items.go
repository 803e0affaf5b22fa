package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/httpx"
)

// createItem takes in one file, streamed. Two forms are accepted:
//   - multipart/form-data: metadata fields first (case, collector,
//     collected_at, lat, lon, description, kind, seal, location,
//     device_time), then one part named "file";
//   - any other body: the raw file, with metadata in the query string and
//     the file name in ?name=.
//
// The body is never buffered whole: it is hashed and written as it arrives.
func (s *Server) createItem(w http.ResponseWriter, r *http.Request, u *custody.User) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxUpload)
	req := custody.IntakeRequest{}
	fields := map[string]string{}
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				s.error(w, r, badBody(err))
				return
			}
			if part.FormName() == "file" {
				req.Name = part.FileName()
				req.Content = part
				break
			}
			v, err := io.ReadAll(io.LimitReader(part, 8193))
			if err != nil {
				s.error(w, r, badBody(err))
				return
			}
			if len(v) > 8192 {
				s.error(w, r, custody.Errorf(custody.ETOOLARGE, "form field %q is over 8192 bytes", part.FormName()))
				return
			}
			fields[part.FormName()] = string(v)
		}
	} else {
		q := r.URL.Query()
		for k := range q {
			fields[k] = q.Get(k)
		}
		req.Name = fields["name"]
		req.Content = r.Body
	}
	if err := fillIntake(&req, fields); err != nil {
		s.error(w, r, err)
		return
	}
	if req.Kind == custody.KindPhysical && mt != "multipart/form-data" && r.ContentLength == 0 {
		req.Content = nil
	}
	it, err := s.svc.Intake(r.Context(), u, req)
	if err != nil {
		s.error(w, r, bodyErr(err))
		return
	}
	w.Header().Set("Location", "/api/v1/items/"+it.ID)
	s.json(w, http.StatusCreated, it)
}

func badBody(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return custody.Errorf(custody.EINVALID, "malformed upload: %v", err)
}

// bodyErr turns a failed read of the request body into a client error.
func bodyErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return custody.Errorf(custody.ETOOLARGE, "upload over the limit of %d bytes", mbe.Limit)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, multipart.ErrMessageTooLarge) {
		return custody.Errorf(custody.EINVALID, "the upload ended early; nothing was stored")
	}
	return err
}

func fillIntake(req *custody.IntakeRequest, f map[string]string) error {
	known := map[string]bool{"name": true, "case": true, "collector": true, "collected_at": true, "lat": true, "lon": true,
		"description": true, "kind": true, "seal": true, "location": true, "device_time": true, "compartments": true}
	for k := range f {
		if !known[k] {
			return custody.Errorf(custody.EINVALID, "unknown field %q", k)
		}
	}
	req.Case, req.Collector, req.CollectedAt = f["case"], f["collector"], f["collected_at"]
	req.Description, req.Kind, req.Seal, req.Location, req.DeviceTime = f["description"], f["kind"], f["seal"], f["location"], f["device_time"]
	req.Compartments = splitList(f["compartments"])
	for _, c := range []struct {
		name string
		dst  **float64
	}{{"lat", &req.Lat}, {"lon", &req.Lon}} {
		if v, ok := f[c.name]; ok && v != "" {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return custody.Errorf(custody.EINVALID, "%s %q is not a number", c.name, v)
			}
			*c.dst = &x
		}
	}
	return nil
}

func (s *Server) listItems(w http.ResponseWriter, r *http.Request, u *custody.User) {
	q := r.URL.Query()
	f := custody.ItemFilter{Case: q.Get("case"), After: q.Get("after")}
	if v := q.Get("blob"); v != "" {
		ref, err := custody.ParseRef(v)
		if err != nil {
			s.error(w, r, err)
			return
		}
		f.Blob = ref
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.error(w, r, custody.Errorf(custody.EINVALID, "limit must be 1..1000"))
			return
		}
		f.Limit = n
	}
	items, err := s.svc.Items(r.Context(), u, f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := struct {
		Items []*custody.Item `json:"items"`
		Next  string          `json:"next,omitempty"`
	}{Items: items}
	if out.Items == nil {
		out.Items = []*custody.Item{}
	}
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	if len(items) == limit {
		out.Next = items[len(items)-1].ID
	}
	s.json(w, http.StatusOK, out)
}

func (s *Server) getItem(w http.ResponseWriter, r *http.Request, u *custody.User) {
	it, err := s.svc.Item(r.Context(), u, r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, it)
}

// getContent streams an item's original bytes, with byte ranges (Range:
// bytes=N-M, to resume a download). The read is itself a custody event in
// the log: every read, ranges included — API clients read deliberately, so
// none is folded into an earlier one (the web application's previews are;
// see httpx.Content). The code is the web application's (httpx.Content):
// verified against the blob's hash before a response is let complete.
func (s *Server) getContent(w http.ResponseWriter, r *http.Request, u *custody.User) {
	it, err := s.svc.Item(r.Context(), u, r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	if it.Blob == "" {
		s.error(w, r, custody.Errorf(custody.ENOTFOUND, "item %s has no file", it.ID))
		return
	}
	c := httpx.Content{Blobs: s.svc.Blobs(), Logger: s.logger}
	err = c.Serve(w, r, httpx.ContentRequest{Item: it, User: u,
		Header: func(h http.Header) {
			h.Set("Content-Type", "application/octet-stream")
			h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": it.Name}))
		},
		Log: func(ctx context.Context) error {
			return s.svc.RecordAccess(ctx, u, it.ID, "access", r.URL.Query().Get("reason"))
		}})
	if err != nil {
		s.error(w, r, err)
	}
}

func (s *Server) itemHistory(w http.ResponseWriter, r *http.Request, u *custody.User) {
	evs, err := s.svc.History(r.Context(), u, r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"events": evs})
}

func (s *Server) itemProof(w http.ResponseWriter, r *http.Request, u *custody.User) {
	if err := s.svc.CanSee(r.Context(), u, "item", r.PathValue("id")); err != nil {
		s.error(w, r, err)
		return
	}
	p, err := s.svc.ProveItem(r.Context(), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, p)
}

type handoverBody struct {
	To         string `json:"to"`
	Reason     string `json:"reason"`
	Seal       string `json:"seal"`
	Location   string `json:"location"`
	DeviceTime string `json:"device_time"`
}

func (s *Server) handover(w http.ResponseWriter, r *http.Request, u *custody.User) {
	var b handoverBody
	if err := decodeJSON(r, w, &b); err != nil {
		s.error(w, r, err)
		return
	}
	ev, err := s.svc.Handover(r.Context(), u, custody.HandoverRequest{Item: r.PathValue("id"), To: b.To, Reason: b.Reason,
		Seal: b.Seal, Location: b.Location, DeviceTime: b.DeviceTime})
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusCreated, ev)
}

func (s *Server) apiCheckpoint(w http.ResponseWriter, r *http.Request, u *custody.User) {
	cp, raw, err := s.svc.Checkpoint(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"origin": cp.Origin, "size": cp.Size, "root": cp.Root, "note": string(raw)})
}

func (s *Server) apiKey(w http.ResponseWriter, r *http.Request, u *custody.User) {
	s.json(w, http.StatusOK, map[string]string{"verifier_key": s.svc.VerifierKey(), "origin": s.svc.Origin()})
}

func (s *Server) indexProof(w http.ResponseWriter, r *http.Request, u *custody.User) {
	n, err := parseUint(r.PathValue("index"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	p, err := s.svc.ProveIndex(r.Context(), n)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, p)
}

func (s *Server) consistency(w http.ResponseWriter, r *http.Request, u *custody.User) {
	from, err1 := parseUint(r.URL.Query().Get("from"))
	to, err2 := parseUint(r.URL.Query().Get("to"))
	if err := errors.Join(err1, err2); err != nil {
		s.error(w, r, custody.Errorf(custody.EINVALID, "give ?from=N&to=M"))
		return
	}
	hashes, err := s.svc.ConsistencyProof(r.Context(), from, to)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"from": from, "to": to, "hashes": hashes})
}

// logCheckpoint and logTile serve the published log straight from its
// object store: no database on this path (tlog-tiles).
func (s *Server) logCheckpoint(w http.ResponseWriter, r *http.Request) {
	s.serveObject(w, r, "checkpoint", "no-cache")
}

func (s *Server) logTile(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Path[len("/log/"):]
	if err := validTilePath(name); err != nil {
		s.error(w, r, err)
		return
	}
	cache := "public, max-age=31536000, immutable"
	if containsPartial(name) {
		cache = "no-cache"
	}
	s.serveObject(w, r, name, cache)
}

func (s *Server) serveObject(w http.ResponseWriter, r *http.Request, name, cache string) {
	data, err := s.svc.Public().Get(r.Context(), name)
	if err != nil {
		if custody.ErrorCode(err) == custody.ENOTFOUND {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		s.logger.Error("serve log object", "name", name, "err", err)
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if name != "checkpoint" {
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	w.Header().Set("Cache-Control", cache)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin") // the public log is for anyone to fetch
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.Write(data)
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
