package web

import (
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/custody-dev/custody"
)

// Upload from the field: the page takes many files by drag and drop or the
// file picker, with one metadata form for the batch. With script, each file
// goes up on its own with a progress bar — resumably (tus 1.0.0, under
// /upload/files/) when the server keeps an upload directory, so a large
// video survives a dropped link — and the browser hashes it meanwhile, so
// the SHA-256 shows as soon as it is known and is compared with the store's.
// Without script, the form posts the files in one request.

type uploadPage struct {
	Tus       string // the tus endpoint, or "" when only the plain upload is offered
	MaxUpload int64
	Results   []uploadResult
	Problem   string
	Zone      string
}

// uploadResult is what the uploader sees of a file taken in.
type uploadResult struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Hash      string   `json:"hash"`
	Size      int64    `json:"size"`
	MediaType string   `json:"media_type"`
	Href      string   `json:"href"`
	Duplicate bool     `json:"duplicate"`
	GPS       *gpsJSON `json:"gps,omitempty"`
	Position  string   `json:"position,omitempty"` // GPS, formatted for the page's language
	Error     string   `json:"error,omitempty"`
}

type gpsJSON struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

func (s *Server) resultOf(l *localizer, it *custody.Item) uploadResult {
	res := uploadResult{ID: it.ID, Name: it.Name, Hash: string(it.Blob), Size: it.Size, MediaType: it.MediaType,
		Href: "/items/" + it.ID, Duplicate: it.Duplicate}
	if len(it.Capture) > 0 {
		var ci captureInfo
		if json.Unmarshal(it.Capture, &ci) == nil && ci.GPS != nil {
			res.GPS = &gpsJSON{Lat: ci.GPS.Lat, Lon: ci.GPS.Lon}
			res.Position = l.Decimal(ci.GPS.Lat, 5) + ", " + l.Decimal(ci.GPS.Lon, 5)
		}
	}
	return res
}

func (s *Server) uploadPage(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	if !c.user.Role.CanWrite() {
		s.fail(w, r, c, &custody.Error{Code: custody.EFORBIDDEN, Message: c.l.T("error.read_only", c.user.Role)})
		return
	}
	d := uploadPage{MaxUpload: s.cfg.MaxUpload, Zone: c.l.Zone()}
	if s.upload != nil {
		d.Tus = tusPath
	}
	s.render(w, r, c, http.StatusOK, "upload", &page{Title: c.l.T("upload.title"), Nav: "upload", Data: d})
}

// intakeFields are the metadata of an upload batch.
var intakeFields = map[string]bool{"case": true, "collector": true, "collected_at": true, "lat": true, "lon": true,
	"description": true, "device_time": true}

// intakeRequest fills an intake request from the batch's fields.
func (s *Server) intakeRequest(l *localizer, f map[string]string) (custody.IntakeRequest, error) {
	req := custody.IntakeRequest{Case: strings.TrimSpace(f["case"]), Collector: strings.TrimSpace(f["collector"]),
		Description: strings.TrimSpace(f["description"]), DeviceTime: strings.TrimSpace(f["device_time"])}
	if v := strings.TrimSpace(f["collected_at"]); v != "" {
		// <input type="datetime-local"> gives a wall time without a zone:
		// it is read in the server's zone (shown beside the field).
		if t, err := time.ParseInLocation("2006-01-02T15:04", v, s.cfg.Location); err == nil {
			v = t.Format(time.RFC3339)
		} else if t, err := time.ParseInLocation("2006-01-02T15:04:05", v, s.cfg.Location); err == nil {
			v = t.Format(time.RFC3339)
		}
		req.CollectedAt = v
	}
	for _, p := range []struct {
		name string
		dst  **float64
	}{{"lat", &req.Lat}, {"lon", &req.Lon}} {
		if v := strings.TrimSpace(f[p.name]); v != "" {
			x, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64)
			if err != nil {
				return req, &custody.Error{Code: custody.EINVALID, Message: l.T("form.bad_value", l.T("upload."+p.name), truncate(v, 40))}
			}
			*p.dst = &x
		}
	}
	return req, nil
}

// uploadForm takes in the files of a multipart form, streamed one after
// the other (the metadata fields come first, as the page orders them).
func (s *Server) uploadForm(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	if c.mr == nil {
		s.fail(w, r, c, custody.Errorf(custody.EINVALID, "%s", c.l.T("upload.not_multipart")))
		return
	}
	fields := map[string]string{}
	var results []uploadResult
	var problem error
	for {
		part, err := c.mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			problem = bodyErr(err)
			break
		}
		if part.FormName() != "file" {
			if !intakeFields[part.FormName()] {
				continue
			}
			v, err := io.ReadAll(io.LimitReader(part, 8193))
			if err != nil {
				problem = bodyErr(err)
				break
			}
			fields[part.FormName()] = string(v)
			continue
		}
		if part.FileName() == "" {
			continue // the picker was left empty
		}
		req, err := s.intakeRequest(c.l, fields)
		if err != nil {
			problem = err
			break
		}
		req.Name, req.Content = part.FileName(), part
		it, err := s.svc.Intake(r.Context(), c.user, req)
		if err != nil {
			problem = bodyErr(err)
			if custody.ErrorCode(err) == custody.EINVALID {
				results = append(results, uploadResult{Name: part.FileName(), Error: custody.ErrorMessage(err)})
				problem = nil
				continue
			}
			break
		}
		results = append(results, s.resultOf(c.l, it))
	}
	status := http.StatusCreated
	msg := ""
	if problem != nil {
		status = statusOf(custody.ErrorCode(problem))
		msg = s.problem(r, c, problem)
	} else if len(results) == 0 {
		status, msg = http.StatusBadRequest, c.l.T("upload.no_files")
	}
	if wantsJSON(r) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"items": results, "error": msg})
		return
	}
	d := uploadPage{MaxUpload: s.cfg.MaxUpload, Results: results, Problem: msg, Zone: c.l.Zone()}
	if s.upload != nil {
		d.Tus = tusPath
	}
	s.render(w, r, c, status, "upload", &page{Title: c.l.T("upload.title"), Nav: "upload", Data: d})
}

// bodyErr turns a failed read of an upload into a user's error.
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
