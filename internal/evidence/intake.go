package evidence

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/capture"
	"github.com/custody-dev/custody/verify"
)

// Field limits. Longer input is refused with ETOOLARGE, never truncated.
const (
	maxShortField = 256
	maxLongField  = 8192
)

// pather is implemented by blob stores on the local file system.
type pather interface{ Path(custody.Ref) string }

func checkText(field, v string, max int) error {
	if !utf8.ValidString(v) {
		return custody.Errorf(custody.EINVALID, "%s is not valid UTF-8", field)
	}
	if len(v) > max {
		return custody.Errorf(custody.ETOOLARGE, "%s is %d bytes; the limit is %d", field, len(v), max)
	}
	for _, r := range v {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return custody.Errorf(custody.EINVALID, "%s contains a control character", field)
		}
	}
	return nil
}

func checkTime(field, v string) error {
	if v == "" {
		return nil
	}
	if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
		return &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("%s %q is not an RFC 3339 time", field, truncate(v, 40)),
			Hint: "for example 2022-09-16T10:04:00+03:00"}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func validateIntake(req *custody.IntakeRequest) error {
	if req.Kind == "" {
		req.Kind = custody.KindDigital
	}
	if req.Kind != custody.KindDigital && req.Kind != custody.KindPhysical {
		return custody.Errorf(custody.EINVALID, "kind must be %q or %q", custody.KindDigital, custody.KindPhysical)
	}
	if req.Kind == custody.KindDigital && req.Content == nil {
		return custody.Errorf(custody.EINVALID, "a digital item needs its file")
	}
	for _, f := range []struct{ name, v string }{{"case", req.Case}, {"collector", req.Collector}, {"seal", req.Seal}, {"location", req.Location}} {
		if err := checkText(f.name, f.v, maxShortField); err != nil {
			return err
		}
	}
	if err := checkText("description", req.Description, maxLongField); err != nil {
		return err
	}
	if err := checkTime("collected-at", req.CollectedAt); err != nil {
		return err
	}
	if err := checkTime("device time", req.DeviceTime); err != nil {
		return err
	}
	if (req.Lat == nil) != (req.Lon == nil) {
		return custody.Errorf(custody.EINVALID, "give both latitude and longitude, or neither")
	}
	if req.Lat != nil {
		if math.IsNaN(*req.Lat) || *req.Lat < -90 || *req.Lat > 90 {
			return custody.Errorf(custody.EINVALID, "latitude %v is outside -90..90", *req.Lat)
		}
		if math.IsNaN(*req.Lon) || *req.Lon < -180 || *req.Lon > 180 {
			return custody.Errorf(custody.EINVALID, "longitude %v is outside -180..180", *req.Lon)
		}
	}
	return nil
}

// Intake stores the file (if any) and records the item: blob first, fsynced,
// then the log entry. It returns once the entry is durable.
func (s *Service) Intake(ctx context.Context, actor *custody.User, req custody.IntakeRequest) (*custody.Item, error) {
	if !actor.Role.CanWrite() {
		return nil, custody.Errorf(custody.EFORBIDDEN, "role %s may not take in evidence", actor.Role)
	}
	if err := validateIntake(&req); err != nil {
		return nil, err
	}
	v, err := s.view(ctx, actor)
	if err != nil {
		return nil, err
	}
	comps, err := s.checkCompartments(ctx, v, req.Compartments)
	if err != nil {
		return nil, err
	}
	if idRe.MatchString(req.Case) {
		// A case given by its record ID puts the item in the case.
		if err := s.visible(ctx, v, "case", req.Case); err != nil {
			return nil, err
		}
		if r, err := s.cfg.DB.Record(ctx, req.Case); err != nil {
			return nil, err
		} else if r.Kind != custody.KindCase {
			return nil, custody.Errorf(custody.EINVALID, "case: record %s is a %s, not a case", req.Case, r.Kind)
		}
		if !slices.Contains(comps, req.Case) {
			comps = append(comps, req.Case)
		}
	}
	now := s.cfg.Now()
	it := custody.Item{
		ID: s.newID(), Kind: req.Kind, Name: capture.SanitizeName(req.Name), Case: req.Case,
		Collector: req.Collector, CollectedAt: req.CollectedAt, Lat: req.Lat, Lon: req.Lon,
		Description: req.Description, Seal: req.Seal, Location: req.Location,
		IngestedBy: actor.ID, IngestedAt: custody.FormatTime(now), DeviceTime: req.DeviceTime, Store: s.cfg.StoreID,
		Compartments: comps,
	}
	if req.Name == "" {
		it.Name = ""
	}
	if req.Content != nil {
		// Refuse an empty file before anything is stored.
		br := bufio.NewReaderSize(req.Content, 64<<10)
		if _, err := br.Peek(1); errors.Is(err, io.EOF) {
			return nil, custody.Errorf(custody.EINVALID, "the file is empty")
		} else if err != nil {
			return nil, fmt.Errorf("read content: %w", err)
		}
		info, err := s.cfg.Blobs.Put(ctx, br)
		if err != nil {
			return nil, fmt.Errorf("store content: %w", err)
		}
		if info.Size == 0 {
			return nil, custody.Errorf(custody.EINVALID, "the file is empty")
		}
		it.Blob, it.Size = info.Ref, info.Size
		if it.Duplicate, err = s.cfg.DB.BlobKnown(ctx, info.Ref); err != nil {
			return nil, err
		}
		it.MediaType, it.Capture = s.inspect(ctx, info.Ref, info.Size)
	}
	p, err := s.pending(custody.EntryItemAdd, actor, it.ID, req.DeviceTime, custody.ItemAdded{Nonce: s.nonce(), Item: it})
	if err != nil {
		return nil, err
	}
	out, err := s.cfg.DB.Append(ctx, p)
	if err != nil {
		return nil, err
	}
	it.LogIndex = out[0].Index
	it.Holder = it.Collector
	if it.Holder == "" {
		it.Holder = actor.ID
	}
	return &it, nil
}

// inspect sniffs the media type and reads capture metadata from the stored
// blob. A file whose headers cannot be read is still evidence: failures are
// logged and the item is recorded without metadata.
func (s *Service) inspect(ctx context.Context, ref custody.Ref, size int64) (string, json.RawMessage) {
	var ra io.ReaderAt
	if p, ok := s.cfg.Blobs.(pather); ok {
		f, err := os.Open(p.Path(ref))
		if err != nil {
			s.cfg.Logger.Warn("open blob for metadata", "ref", ref, "err", err)
			return "application/octet-stream", nil
		}
		defer f.Close()
		ra = f
	} else {
		// Object storage: read the head only (EXIF lives there; an MP4
		// whose index is at the end yields no metadata this way).
		rc, err := s.cfg.Blobs.Open(ctx, ref)
		if err != nil {
			s.cfg.Logger.Warn("open blob for metadata", "ref", ref, "err", err)
			return "application/octet-stream", nil
		}
		head, _ := io.ReadAll(io.LimitReader(rc, 4<<20))
		rc.Close()
		ra = bytes.NewReader(head)
		size = int64(len(head))
	}
	head := make([]byte, 4096)
	n, err := ra.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		s.cfg.Logger.Warn("read blob head", "ref", ref, "err", err)
	}
	mt := capture.Sniff(head[:n])
	md, err := capture.Extract(ra, size, mt)
	if err != nil {
		s.cfg.Logger.Warn("read capture metadata", "ref", ref, "media_type", mt, "err", err)
	}
	// Canonical, as the payload records it: the item Intake returns must be
	// byte for byte what the index (and a replay) later returns.
	raw, err := verify.Canonical(md)
	if err != nil || string(raw) == "{}" {
		return mt, nil
	}
	return mt, raw
}

// Item returns one item the actor may see. Errors: ENOTFOUND (absent or
// hidden).
func (s *Service) Item(ctx context.Context, actor *custody.User, id string) (*custody.Item, error) {
	v, err := s.view(ctx, actor)
	if err != nil {
		return nil, err
	}
	if err := s.visible(ctx, v, "item", id); err != nil {
		return nil, err
	}
	it, err := s.cfg.DB.Item(ctx, id)
	if err != nil {
		return nil, err
	}
	if it.Compartments, err = s.cfg.DB.Compartments(ctx, id); err != nil {
		return nil, err
	}
	return it, nil
}

// Items lists the items the actor may see.
func (s *Service) Items(ctx context.Context, actor *custody.User, f custody.ItemFilter) ([]*custody.Item, error) {
	v, err := s.view(ctx, actor)
	if err != nil {
		return nil, err
	}
	return s.cfg.DB.Items(ctx, f, v.scope)
}

// Handover records that an item changed hands.
func (s *Service) Handover(ctx context.Context, actor *custody.User, req custody.HandoverRequest) (*custody.Event, error) {
	if !actor.Role.CanWrite() {
		return nil, custody.Errorf(custody.EFORBIDDEN, "role %s may not record handovers", actor.Role)
	}
	if err := s.CanSee(ctx, actor, "item", req.Item); err != nil {
		return nil, err
	}
	req.To, req.Reason = strings.TrimSpace(req.To), strings.TrimSpace(req.Reason)
	if req.To == "" {
		return nil, custody.Errorf(custody.EINVALID, "name the new holder (--to)")
	}
	if req.Reason == "" {
		return nil, custody.Errorf(custody.EINVALID, "give the reason for the handover (--reason)")
	}
	for _, f := range []struct{ name, v string }{{"holder", req.To}, {"seal", req.Seal}, {"location", req.Location}} {
		if err := checkText(f.name, f.v, maxShortField); err != nil {
			return nil, err
		}
	}
	if err := checkText("reason", req.Reason, maxLongField); err != nil {
		return nil, err
	}
	if err := checkTime("device time", req.DeviceTime); err != nil {
		return nil, err
	}
	it, err := s.cfg.DB.Item(ctx, req.Item)
	if err != nil {
		return nil, err
	}
	if it.Holder == req.To {
		return nil, custody.Errorf(custody.EINVALID, "item %s is already held by %q", it.ID, req.To)
	}
	p, err := s.pending(custody.EntryHandover, actor, it.ID, req.DeviceTime, custody.Handover{
		Nonce: s.nonce(), Item: it.ID, From: it.Holder, To: req.To, Reason: req.Reason, Seal: req.Seal, Location: req.Location})
	if err != nil {
		return nil, err
	}
	out, err := s.cfg.DB.Append(ctx, p)
	if err != nil {
		return nil, err
	}
	return &custody.Event{ID: p.Entry.ID, Item: it.ID, Type: "handover", From: it.Holder, To: req.To, Reason: req.Reason,
		Seal: req.Seal, Location: req.Location, Actor: actor.ID, Time: out[0].Entry.Time, LogIndex: out[0].Index}, nil
}

// RecordAccess logs that actor read or exported an item's content.
func (s *Service) RecordAccess(ctx context.Context, actor *custody.User, item, action, reason string) error {
	p, err := s.pending(custody.EntryAccess, actor, item, "", custody.Access{Nonce: s.nonce(), Item: item, Action: action, Reason: reason})
	if err != nil {
		return err
	}
	_, err = s.cfg.DB.Append(ctx, p)
	return err
}

// History returns the chain of custody of an item.
func (s *Service) History(ctx context.Context, actor *custody.User, id string) ([]*custody.Event, error) {
	if err := s.CanSee(ctx, actor, "item", id); err != nil {
		return nil, err
	}
	return s.cfg.DB.History(ctx, id)
}
