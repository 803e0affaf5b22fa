package web

import (
	"bytes"
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/httpx"
	"github.com/custody-dev/custody/verify"
)

type itemRow struct {
	ID, Name, Kind, Media, Size, Case, Collected, Holder, Hash string
}

type itemList struct {
	Rows []itemRow
	Next string
	Case string
}

// itemList lists evidence items in intake order.
func (s *Server) itemList(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	q := r.URL.Query()
	f := custody.ItemFilter{Case: q.Get("case"), After: q.Get("after"), Limit: 50}
	if v := q.Get("blob"); v != "" {
		ref, err := custody.ParseRef(v)
		if err != nil {
			s.fail(w, r, c, err)
			return
		}
		f.Blob = ref
	}
	items, err := s.svc.Items(r.Context(), c.user, f)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	d := itemList{Case: f.Case}
	for _, it := range items {
		d.Rows = append(d.Rows, s.itemRow(c.l, it))
	}
	if len(items) == f.Limit {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("after", items[len(items)-1].ID)
		d.Next = "/items?" + nq.Encode()
	}
	s.render(w, r, c, http.StatusOK, "items", &page{Title: c.l.T("items.title"), Nav: "items", Data: d})
}

func (s *Server) itemRow(l *localizer, it *custody.Item) itemRow {
	row := itemRow{ID: it.ID, Name: it.Name, Kind: l.T("item.kind." + it.Kind), Media: it.MediaType, Case: it.Case,
		Collected: l.DateTime(it.CollectedAt), Holder: it.Holder}
	if it.Blob != "" {
		row.Size = l.Bytes(it.Size)
		row.Hash = it.Blob.Hex()[:16] + "…"
	}
	if row.Name == "" {
		row.Name = it.Description
		if row.Name == "" {
			row.Name = l.T("item.physical")
		}
	}
	return row
}

// captureInfo is the capture metadata read from a file at intake (see
// internal/capture: the same JSON names).
type captureInfo struct {
	TakenAt     string  `json:"taken_at"`
	Make        string  `json:"make"`
	Model       string  `json:"model"`
	Orientation int     `json:"orientation"`
	Software    string  `json:"software"`
	Width       int     `json:"width"`
	Height      int     `json:"height"`
	Duration    float64 `json:"duration_s"`
	CreatedAt   string  `json:"created_at"`
	GPS         *struct {
		Lat  float64  `json:"lat"`
		Lon  float64  `json:"lon"`
		Alt  *float64 `json:"alt_m"`
		Time string   `json:"time"`
	} `json:"gps"`
}

// proofStatus is the outcome of checking an item's inclusion proof here,
// with package verify, against the signed checkpoint.
type proofStatus struct {
	Verified   bool
	Index      uint64
	Size       uint64
	Root       string
	Problem    string
	Checkpoint string
	Key        string
}

type eventRow struct {
	Type, From, To, Reason, Seal, Location, Actor, Time string
	LogIndex                                            uint64
}

type itemPage struct {
	Item       *custody.Item
	Preview    string // image, video, audio, pdf, or ""
	Content    string
	Download   string
	Capture    *captureInfo
	CaptureRaw string
	Events     []eventRow
	Proof      proofStatus
	Position   *mapInset // where the investigator said it was collected
	GPSInset   *mapInset // where the file says it was taken
	IngestedBy string
	Hash       string
}

// previewKind says how a media type is previewed in the page.
func previewKind(mt string) string {
	switch mt {
	case "image/jpeg", "image/png", "image/gif", "image/webp":
		return "image"
	case "video/mp4", "video/webm", "video/quicktime", "video/3gpp":
		return "video"
	case "audio/mpeg", "audio/wav", "audio/x-wav", "audio/wave", "audio/ogg", "audio/mp4", "audio/x-m4a", "audio/aac", "audio/flac":
		return "audio"
	case "application/pdf":
		return "pdf"
	}
	return ""
}

// itemView shows an item: preview, metadata, capture position, chain of
// custody, and its proof of inclusion in the log, checked now.
func (s *Server) itemView(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	ctx := r.Context()
	it, err := s.svc.Item(ctx, c.user, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	names := s.userNames(r, c)
	d := itemPage{Item: it, IngestedBy: names(it.IngestedBy)}
	if it.Blob != "" {
		d.Hash = it.Blob.Hex()
		d.Preview = previewKind(it.MediaType)
		d.Content = "/items/" + it.ID + "/content"
		d.Download = d.Content + "?download=1"
	}
	if len(it.Capture) > 0 {
		var ci captureInfo
		if err := json.Unmarshal(it.Capture, &ci); err == nil {
			d.Capture = &ci
			if ci.GPS != nil {
				d.GPSInset = s.inset(c.l, ci.GPS.Lat, ci.GPS.Lon)
			}
		}
		var pretty bytes.Buffer
		if json.Indent(&pretty, it.Capture, "", "  ") == nil {
			d.CaptureRaw = pretty.String()
		}
	}
	if it.Lat != nil && it.Lon != nil {
		d.Position = s.inset(c.l, *it.Lat, *it.Lon)
	}
	evs, err := s.svc.History(ctx, c.user, it.ID)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	for _, ev := range evs {
		d.Events = append(d.Events, eventRow{Type: c.l.T("event." + ev.Type), From: ev.From, To: ev.To, Reason: ev.Reason,
			Seal: ev.Seal, Location: ev.Location, Actor: names(ev.Actor), Time: ev.Time, LogIndex: ev.LogIndex})
	}
	d.Proof = s.proveItem(r, c, it)
	s.render(w, r, c, http.StatusOK, "item", &page{Title: c.l.T("item.title", itemName(c.l, it)), Nav: "items", Data: d})
}

func itemName(l *localizer, it *custody.Item) string {
	if it.Name != "" {
		return it.Name
	}
	if it.Description != "" {
		return truncate(it.Description, 60)
	}
	return l.T("item.physical")
}

// proveItem gets the inclusion proof of the item's intake entry and checks
// it with package verify — the checkpoint's signature, the entry's leaf
// hash, the audit path up to the signed root — before calling it verified.
func (s *Server) proveItem(r *http.Request, c *reqCtx, it *custody.Item) proofStatus {
	ps := proofStatus{Index: it.LogIndex, Key: s.svc.VerifierKey()}
	p, err := s.svc.ProveItem(r.Context(), it.ID)
	if err != nil {
		if code := custody.ErrorCode(err); code == custody.EINTERNAL || code == custody.ETAMPERED {
			s.logger.Error("prove item", "item", it.ID, "err", err)
		}
		ps.Problem = custody.ErrorMessage(err)
		return ps
	}
	ps.Checkpoint = p.Checkpoint
	cp, err := verify.OpenCheckpoint([]byte(p.Checkpoint), s.svc.VerifierKey())
	if err != nil {
		ps.Problem = c.l.T("proof.bad_checkpoint")
		return ps
	}
	ps.Size, ps.Root = cp.Size, strings.ToLower(hexOf(cp.Root))
	e, err := verify.ParseEntry([]byte(p.Entry))
	if err != nil || e.Subject != it.ID || e.Type != custody.EntryItemAdd || p.Index != it.LogIndex {
		ps.Problem = c.l.T("proof.wrong_entry")
		return ps
	}
	leaf := verify.LeafHash([]byte(p.Entry))
	if !bytes.Equal(leaf, p.LeafHash) {
		ps.Problem = c.l.T("proof.wrong_entry")
		return ps
	}
	if err := verify.VerifyInclusion(leaf, p.Index, cp.Size, p.Hashes, cp.Root); err != nil {
		ps.Problem = c.l.T("proof.failed")
		return ps
	}
	ps.Verified = true
	return ps
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// itemContent streams an item's original bytes for the preview or a
// download, by the same code as the API's content route (httpx.Content):
// the blob store's verifying reader, byte ranges for seeking in audio and
// video, and a custody access event in the log before any byte leaves (one
// per viewing: the ranges a media element asks for while one person watches
// are not logged again; see httpx.Content). Media types the browser can show
// safely are served inline, under a sandboxing policy; anything else only as
// a download.
func (s *Server) itemContent(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	it, err := s.svc.Item(r.Context(), c.user, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	if it.Blob == "" {
		s.fail(w, r, c, custody.Errorf(custody.ENOTFOUND, "%s", c.l.T("item.no_file")))
		return
	}
	download := r.URL.Query().Get("download") == "1" || previewKind(it.MediaType) == ""
	reason := "web preview"
	if download {
		reason = "web download"
	}
	err = s.content.Serve(w, r, httpx.ContentRequest{Item: it, User: c.user,
		Header: func(h http.Header) { contentHeaders(h, it, download) },
		Log: func(ctx context.Context) error {
			return s.svc.RecordAccess(ctx, c.user, it.ID, "access", reason)
		}})
	if err != nil {
		s.fail(w, r, c, err)
	}
}

// contentHeaders are the headers of an item's content: inline, sandboxed,
// for what the page previews; a download for anything else.
func contentHeaders(h http.Header, it *custody.Item, download bool) {
	if download {
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": it.Name}))
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		return
	}
	h.Set("Content-Type", it.MediaType)
	h.Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": it.Name}))
	if it.MediaType == "application/pdf" {
		// The browser's PDF viewer runs inside the item page's frame, so
		// this response may be framed by this origin (and only by it). No
		// sandbox: Chromium refuses to show a PDF in a sandboxed document.
		// Chromium's viewer needs nothing inline (checked by the browser
		// test); 'unsafe-inline' stays out here too.
		h.Set("Content-Security-Policy", "default-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
		h.Set("X-Frame-Options", "SAMEORIGIN")
	} else {
		h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; media-src 'self'; sandbox; frame-ancestors 'self'")
	}
}

// itemHandover records that an item changed hands.
func (s *Server) itemHandover(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	f := r.PostForm
	_, err := s.svc.Handover(r.Context(), c.user, custody.HandoverRequest{Item: r.PathValue("id"), To: f.Get("to"),
		Reason: f.Get("reason"), Seal: f.Get("seal"), Location: f.Get("location")})
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	http.Redirect(w, r, "/items/"+r.PathValue("id")+"#custody", http.StatusSeeOther)
}
