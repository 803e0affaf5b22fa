package evidence

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/legal"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/verify"
)

// MaxRecordData bounds one record's data (a long transcript fits).
const MaxRecordData = 2 << 20

// MaxRecordBatch bounds the records created in one call (one log append).
const MaxRecordBatch = 10000

// prepared is a validated record change, ready to append.
type prepared struct {
	kind, id string
	data     []byte
	facts    *custody.RecordFacts
}

// prepare validates one input: kind, data (strictly parsed, canonical),
// localities known to the codifier. References to records and items are
// checked by the caller, which knows the rest of the batch.
func (s *Service) prepare(in custody.RecordInput) (*prepared, error) {
	if !custody.IsRecordKind(in.Kind) {
		return nil, &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("unknown record kind %q", truncate(in.Kind, 40)),
			Hint: "kinds: " + strings.Join(custody.RecordKinds, ", ")}
	}
	if len(in.Data) == 0 {
		return nil, custody.Errorf(custody.EINVALID, "%s: data is required", in.Kind)
	}
	if len(in.Data) > MaxRecordData {
		return nil, custody.Errorf(custody.ETOOLARGE, "%s: data is %d bytes; the limit is %d", in.Kind, len(in.Data), MaxRecordData)
	}
	if err := checkText("reason", in.Reason, maxLongField); err != nil {
		return nil, err
	}
	if err := checkTime("device time", in.DeviceTime); err != nil {
		return nil, err
	}
	data, err := verify.CanonicalizeJSON(in.Data)
	if err != nil {
		return nil, custody.Errorf(custody.EINVALID, "%s: data is not JSON: %v", in.Kind, err)
	}
	v, f, err := custody.ParseRecordData(in.Kind, data)
	if err != nil {
		return nil, err
	}
	if c, ok := v.(*custody.Case); ok {
		if err := checkQualification(c.Qualification); err != nil {
			return nil, err
		}
		if err := checkCharges(c.Charges); err != nil {
			return nil, err
		}
	}
	if g := s.cfg.Localities; g != nil {
		for _, r := range f.Refs {
			if r.Target != "locality" {
				continue
			}
			if _, ok := g.Get(r.ID); !ok {
				return nil, custody.Errorf(custody.ENOTFOUND, "%s.%s: no locality %s in the KATOTTH codifier", in.Kind, r.Field, r.ID)
			}
		}
	}
	return &prepared{kind: in.Kind, data: data, facts: f}, nil
}

// pendingRecord is pending for a record create or update whose data
// prepare made canonical and parsed into f. Where every other field is
// plain ASCII (IDs, nonces, most reasons), the payload is written directly
// — the canonical encoding verify.Canonical would produce, without
// re-canonicalising the data (TestRecordPayload holds the two equal) — and
// the change and its facts are handed to the projection, which would
// decode exactly them from the payload. Otherwise, pending.
func (s *Service) pendingRecord(typ string, actor *custody.User, deviceTime string, c custody.RecordChange, f *custody.RecordFacts) (sqlstore.Pending, error) {
	raw, ok := recordPayload(c)
	if !ok {
		return s.pending(typ, actor, c.ID, deviceTime, c)
	}
	return sqlstore.Pending{
		Entry:   custody.Entry{ID: s.newID(), Type: typ, Store: s.cfg.StoreID, Actor: actor.ID, DeviceTime: deviceTime, Subject: c.ID},
		Payload: raw,
		Record:  &sqlstore.ParsedRecord{Change: c, Facts: f},
	}, nil
}

// recordPayload returns the canonical JSON of c, whose Data is canonical
// JSON, if every string of c is plain printable ASCII (which the canonical
// encoding writes as it is); ok is false otherwise.
func recordPayload(c custody.RecordChange) (raw []byte, ok bool) {
	plain := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if b := s[i]; b < 0x20 || b > 0x7e || b == '"' || b == '\\' {
				return false
			}
		}
		return true
	}
	if !plain(c.Nonce) || !plain(c.Kind) || !plain(c.ID) || !plain(c.Reason) {
		return nil, false
	}
	n := 96 + len(c.Nonce) + len(c.Kind) + len(c.ID) + len(c.Data) + len(c.Reason)
	for _, x := range c.Compartments {
		if !plain(x) {
			return nil, false
		}
		n += len(x) + 3
	}
	// Keys in byte order, as the canonical encoding sorts them; data,
	// reason and compartments are omitted when empty.
	b := make([]byte, 0, n)
	b = append(b, '{')
	if len(c.Compartments) > 0 {
		b = append(b, `"compartments":[`...)
		for i, x := range c.Compartments {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, x...)
			b = append(b, '"')
		}
		b = append(b, "],"...)
	}
	if len(c.Data) > 0 {
		b = append(b, `"data":`...)
		b = append(b, c.Data...)
		b = append(b, ',')
	}
	b = append(b, `"id":"`...)
	b = append(b, c.ID...)
	b = append(b, `","kind":"`...)
	b = append(b, c.Kind...)
	b = append(b, `","nonce":"`...)
	b = append(b, c.Nonce...)
	b = append(b, '"', ',')
	if c.Reason != "" {
		b = append(b, `"reason":"`...)
		b = append(b, c.Reason...)
		b = append(b, '"', ',')
	}
	b = append(b, `"version":`...)
	b = strconv.AppendInt(b, int64(c.Version), 10)
	b = append(b, '}')
	return b, true
}

// checkRefs fails with ENOTFOUND on the first reference to a record or item
// that does not exist (or is of another kind). batch holds the kinds of the
// records created alongside, which may be referenced.
func (s *Service) checkRefs(ctx context.Context, v *view, p *prepared, batch map[string]string) error {
	if p.kind == custody.KindTeam {
		if err := s.checkMembers(ctx, p.data); err != nil {
			return err
		}
	}
	var refs []custody.RecordRef
	for _, r := range p.facts.Refs {
		if r.Target == "locality" {
			continue
		}
		if k, ok := batch[r.ID]; ok && (r.Target == "any" || r.Target == "record" && (r.Kind == "" || r.Kind == k)) {
			continue
		}
		refs = append(refs, r)
	}
	missing, err := s.cfg.DB.Missing(ctx, refs)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		m := missing[0]
		what := m.Target
		if m.Kind != "" {
			what = m.Kind
		}
		return custody.Errorf(custody.ENOTFOUND, "%s.%s: no %s %s", p.kind, m.Field, what, m.ID)
	}
	// A record may refer only to what its writer may see: otherwise a
	// reference would confirm that a hidden record exists.
	for _, r := range refs {
		if err := s.visible(ctx, v, r.Target, r.ID); err != nil {
			return custody.Errorf(custody.ENOTFOUND, "%s.%s: no %s %s", p.kind, r.Field, r.Target, r.ID)
		}
	}
	return nil
}

// checkMembers refuses team members whose user is not a user ID: a member
// with a user account is granted the team's compartment.
func (s *Service) checkMembers(ctx context.Context, data []byte) error {
	var t custody.Team
	if err := json.Unmarshal(data, &t); err != nil {
		return custody.Errorf(custody.EINVALID, "team: %v", err)
	}
	for i, m := range t.Members {
		if m.User == "" {
			continue
		}
		_, err := s.cfg.DB.UserByName(ctx, m.User)
		if custody.ErrorCode(err) == custody.ENOTFOUND {
			_, err = s.cfg.DB.UserByID(ctx, m.User)
		}
		if custody.ErrorCode(err) == custody.ENOTFOUND {
			return &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("team.members[%d].user: no user %s", i, truncate(m.User, 40)),
				Hint: "give the user's name or ID (custody user list)"}
		} else if err != nil {
			return err
		}
	}
	return nil
}

// impliedCompartments returns the compartments of a new record: its
// explicit ones and those its kind, case and team imply (as the projection
// derives them; a case created in the same batch that lists it adds its
// own, which a read shows).
func impliedCompartments(p *prepared, explicit []string) []string {
	var out []string
	add := func(c string) {
		if c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if p.kind == custody.KindCase || p.kind == custody.KindTeam {
		add(p.id)
	}
	add(p.facts.Case)
	add(p.facts.Team)
	for _, c := range explicit {
		add(c)
	}
	slices.Sort(out)
	return out
}

// checkNoPseudonyms refuses a new version that holds a protected
// witness's pseudonym where the current version does not: data read with
// identities withheld and written back would replace the witness's real
// name by the pseudonym (and drop its withheld fields) for good. The
// writer reveals the record first and edits that.
func (s *Service) checkNoPseudonyms(ctx context.Context, cur *custody.Record, data []byte) error {
	if !bytes.Contains(data, []byte("Witness W-")) {
		return nil
	}
	red, err := s.redactor(ctx)
	if err != nil {
		return err
	}
	for id, ps := range red.ByPerson {
		if bytes.Contains(data, []byte(ps)) && !bytes.Contains(cur.Data, []byte(ps)) {
			return &custody.Error{Code: custody.ECONFLICT,
				Message: fmt.Sprintf("the new version holds the pseudonym %s of a protected witness (%s) where the current one does not", ps, id),
				Hint:    "an edit made from a redacted read would overwrite the identity: reveal the record (with a reason) and edit that"}
		}
	}
	return nil
}

// mayWrite checks that the actor's role may write records of kind.
func mayWrite(actor *custody.User, kind string) error {
	if !actor.Role.CanWriteKind(kind) {
		return custody.Errorf(custody.EFORBIDDEN, "role %s may not write %s records", actor.Role, kind)
	}
	return nil
}

func recordFrom(p *prepared, a sqlstore.Appended, version int, created *custody.Record) *custody.Record {
	r := &custody.Record{ID: p.id, Kind: p.kind, Version: version, Title: p.facts.Title, Data: p.data,
		UpdatedAt: a.Entry.Time, UpdatedBy: a.Entry.Actor, LogIndex: a.Index, Warnings: p.facts.Warnings}
	if created != nil {
		r.CreatedAt, r.CreatedBy = created.CreatedAt, created.CreatedBy
	} else {
		r.CreatedAt, r.CreatedBy = a.Entry.Time, a.Entry.Actor
	}
	return r
}

func batchErr(i, n int, err error) error {
	if n == 1 {
		return err
	}
	var e *custody.Error
	if ok := asError(err, &e); ok {
		return &custody.Error{Code: e.Code, Message: fmt.Sprintf("record %d: %s", i+1, e.Message), Hint: e.Hint}
	}
	return fmt.Errorf("record %d: %w", i+1, err)
}

// CreateRecords implements custody.RecordService: every record is
// validated, then all are appended as one unit.
func (s *Service) CreateRecords(ctx context.Context, actor *custody.User, in []custody.RecordInput) ([]*custody.Record, error) {
	if !actor.Role.CanWrite() {
		return nil, custody.Errorf(custody.EFORBIDDEN, "role %s may not create records", actor.Role)
	}
	v, err := s.view(ctx, actor)
	if err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, custody.Errorf(custody.EINVALID, "no records to create")
	}
	if len(in) > MaxRecordBatch {
		return nil, custody.Errorf(custody.ETOOLARGE, "%d records in one batch; the limit is %d", len(in), MaxRecordBatch)
	}
	ps := make([]*prepared, len(in))
	batch := make(map[string]string, len(in))
	comps := make([][]string, len(in))
	for i, x := range in {
		if err := mayWrite(actor, x.Kind); err != nil && custody.IsRecordKind(x.Kind) {
			return nil, batchErr(i, len(in), err)
		}
		p, err := s.prepare(x)
		if err != nil {
			return nil, batchErr(i, len(in), err)
		}
		if x.Kind != custody.KindLocality {
			if comps[i], err = s.checkCompartments(ctx, v, x.Compartments); err != nil {
				return nil, batchErr(i, len(in), err)
			}
		}
		switch {
		case x.Kind == custody.KindLocality:
			if x.ID != "" && x.ID != p.facts.Locality {
				return nil, batchErr(i, len(in), custody.Errorf(custody.EINVALID, "a locality's record ID is its code %s", p.facts.Locality))
			}
			p.id = p.facts.Locality
		case x.ID != "":
			return nil, batchErr(i, len(in), custody.Errorf(custody.EINVALID, "a new record gets its ID from the store; do not give one"))
		default:
			p.id = s.newID()
		}
		if _, dup := batch[p.id]; dup {
			return nil, batchErr(i, len(in), custody.Errorf(custody.ECONFLICT, "record %s is twice in the batch", p.id))
		}
		batch[p.id] = p.kind
		ps[i] = p
	}
	pend := make([]sqlstore.Pending, len(in))
	for i, p := range ps {
		if err := s.checkRefs(ctx, v, p, batch); err != nil {
			return nil, batchErr(i, len(in), err)
		}
		var err error
		pend[i], err = s.pendingRecord(custody.EntryRecordCreate, actor, in[i].DeviceTime,
			custody.RecordChange{Nonce: s.nonce(), Kind: p.kind, ID: p.id, Version: 1, Data: p.data, Reason: in[i].Reason, Compartments: comps[i]}, p.facts)
		if err != nil {
			return nil, err
		}
	}
	out, err := s.cfg.DB.Append(ctx, pend...)
	if err != nil {
		return nil, err
	}
	recs := make([]*custody.Record, len(ps))
	for i, p := range ps {
		recs[i] = recordFrom(p, out[i], 1, nil)
		recs[i].Compartments = impliedCompartments(p, comps[i])
	}
	return recs, nil
}

// UpdateRecord implements custody.RecordService.
func (s *Service) UpdateRecord(ctx context.Context, actor *custody.User, in custody.RecordInput) (*custody.Record, error) {
	if !actor.Role.CanWrite() {
		return nil, custody.Errorf(custody.EFORBIDDEN, "role %s may not change records", actor.Role)
	}
	v, err := s.view(ctx, actor)
	if err != nil {
		return nil, err
	}
	if err := s.visible(ctx, v, "record", in.ID); err != nil {
		return nil, err
	}
	cur, err := s.cfg.DB.Record(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if err := mayWrite(actor, cur.Kind); err != nil {
		return nil, err
	}
	var comps []string
	switch {
	case cur.Kind == custody.KindLocality:
	case in.Compartments == nil:
		if comps, err = s.cfg.DB.ExplicitCompartments(ctx, cur.ID, cur.Kind); err != nil {
			return nil, err
		}
	default:
		if len(in.Compartments) == 0 {
			return nil, custody.Errorf(custody.EINVALID, "compartments: give one or more, or leave them out to keep the current ones")
		}
		if comps, err = s.checkCompartments(ctx, v, in.Compartments); err != nil {
			return nil, err
		}
	}
	if in.Kind == "" {
		in.Kind = cur.Kind
	}
	if in.Kind != cur.Kind {
		return nil, custody.Errorf(custody.EINVALID, "record %s is a %s, not a %s", cur.ID, cur.Kind, truncate(in.Kind, 40))
	}
	if err := checkBase(cur, in.Base); err != nil {
		return nil, err
	}
	p, err := s.prepare(in)
	if err != nil {
		return nil, err
	}
	p.id = cur.ID
	if cur.Kind == custody.KindLocality && p.facts.Locality != cur.ID {
		return nil, custody.Errorf(custody.EINVALID, "a locality's code cannot change")
	}
	if err := s.checkRefs(ctx, v, p, map[string]string{cur.ID: cur.Kind}); err != nil {
		return nil, err
	}
	if err := s.checkNoPseudonyms(ctx, cur, p.data); err != nil {
		return nil, err
	}
	pend, err := s.pendingRecord(custody.EntryRecordUpdate, actor, in.DeviceTime,
		custody.RecordChange{Nonce: s.nonce(), Kind: cur.Kind, ID: cur.ID, Version: cur.Version + 1, Data: p.data, Reason: in.Reason, Compartments: comps}, p.facts)
	if err != nil {
		return nil, err
	}
	out, err := s.cfg.DB.Append(ctx, pend)
	if err != nil {
		return nil, err
	}
	r := recordFrom(p, out[0], cur.Version+1, cur)
	if r.Compartments, err = s.cfg.DB.Compartments(ctx, r.ID); err != nil {
		return nil, err
	}
	return r, nil
}

func checkBase(cur *custody.Record, base int) error {
	switch {
	case base <= 0:
		return &custody.Error{Code: custody.EINVALID, Message: "give the version the change was made from (base)",
			Hint: fmt.Sprintf("record %s is at version %d", cur.ID, cur.Version)}
	case cur.Withdrawn:
		return custody.Errorf(custody.ECONFLICT, "record %s is withdrawn (%s)", cur.ID, cur.WithdrawReason)
	case base != cur.Version:
		return &custody.Error{Code: custody.ECONFLICT, Message: fmt.Sprintf("record %s is at version %d; this change was made from version %d", cur.ID, cur.Version, base),
			Hint: "read the record again and redo the change on its current version"}
	}
	return nil
}

// WithdrawRecord implements custody.RecordService.
func (s *Service) WithdrawRecord(ctx context.Context, actor *custody.User, id string, base int, reason string) (*custody.Record, error) {
	if !actor.Role.CanWrite() {
		return nil, custody.Errorf(custody.EFORBIDDEN, "role %s may not withdraw records", actor.Role)
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, custody.Errorf(custody.EINVALID, "give the reason for the withdrawal")
	}
	if err := checkText("reason", reason, maxLongField); err != nil {
		return nil, err
	}
	if err := s.CanSee(ctx, actor, "record", id); err != nil {
		return nil, err
	}
	cur, err := s.cfg.DB.Record(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := mayWrite(actor, cur.Kind); err != nil {
		return nil, err
	}
	if err := checkBase(cur, base); err != nil {
		return nil, err
	}
	pend, err := s.pending(custody.EntryRecordWithdraw, actor, cur.ID, "",
		custody.RecordChange{Nonce: s.nonce(), Kind: cur.Kind, ID: cur.ID, Version: cur.Version + 1, Reason: reason})
	if err != nil {
		return nil, err
	}
	out, err := s.cfg.DB.Append(ctx, pend)
	if err != nil {
		return nil, err
	}
	r := *cur
	r.Version, r.Withdrawn, r.WithdrawReason = cur.Version+1, true, reason
	r.UpdatedAt, r.UpdatedBy, r.LogIndex = out[0].Entry.Time, actor.ID, out[0].Index
	return &r, nil
}

// Record implements custody.RecordService: a record the actor may see
// (ENOTFOUND otherwise), protected identities withheld; reading personal
// data is logged.
func (s *Service) Record(ctx context.Context, actor *custody.User, id string) (*custody.Record, error) {
	v, err := s.view(ctx, actor)
	if err != nil {
		return nil, err
	}
	if err := s.visible(ctx, v, "record", id); err != nil {
		return nil, err
	}
	r, err := s.cfg.DB.Record(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.Compartments, err = s.cfg.DB.Compartments(ctx, id); err != nil {
		return nil, err
	}
	red, err := s.redactor(ctx)
	if err != nil {
		return nil, err
	}
	if err := redactRecord(red, r); err != nil {
		return nil, err
	}
	if err := s.audit(ctx, v, "view", map[string]string{r.ID: r.Kind}); err != nil {
		return nil, err
	}
	return r, nil
}

// RecordHistory implements custody.RecordService, with the same rules as
// Record.
func (s *Service) RecordHistory(ctx context.Context, actor *custody.User, id string) ([]*custody.RecordVersion, error) {
	v, err := s.view(ctx, actor)
	if err != nil {
		return nil, err
	}
	if err := s.visible(ctx, v, "record", id); err != nil {
		return nil, err
	}
	hist, err := s.cfg.DB.RecordHistory(ctx, id)
	if err != nil {
		return nil, err
	}
	red, err := s.redactor(ctx)
	if err != nil {
		return nil, err
	}
	kind := ""
	if len(hist) > 0 {
		r, err := s.cfg.DB.Record(ctx, id)
		if err != nil {
			return nil, err
		}
		kind = r.Kind
	}
	for _, h := range hist {
		if len(h.Data) == 0 || red.Empty() {
			continue
		}
		r := &custody.Record{ID: id, Kind: kind, Data: h.Data}
		if err := redactRecord(red, r); err != nil {
			return nil, err
		}
		h.Data = r.Data
	}
	if err := s.audit(ctx, v, "history", map[string]string{id: kind}); err != nil {
		return nil, err
	}
	return hist, nil
}

// Records implements custody.RecordService: the records the actor may see,
// protected identities withheld; a page with personal data is logged.
func (s *Service) Records(ctx context.Context, actor *custody.User, f custody.RecordFilter) (*custody.RecordPage, error) {
	v, err := s.view(ctx, actor)
	if err != nil {
		return nil, err
	}
	page, err := s.cfg.DB.ListRecords(ctx, f, v.scope)
	if err != nil {
		return nil, err
	}
	red, err := s.redactor(ctx)
	if err != nil {
		return nil, err
	}
	kinds := make(map[string]string, len(page.Records))
	for _, r := range page.Records {
		if err := redactRecord(red, r); err != nil {
			return nil, err
		}
		kinds[r.ID] = r.Kind
	}
	if err := s.audit(ctx, v, "list", kinds); err != nil {
		return nil, err
	}
	return page, nil
}

func asError(err error, target **custody.Error) bool { return errors.As(err, target) }

// LinkedFrom returns the records that refer to id (a record, an item or a
// locality code).
func (s *Service) LinkedFrom(ctx context.Context, actor *custody.User, id string) ([]custody.Backlink, error) {
	v, err := s.view(ctx, actor)
	if err != nil {
		return nil, err
	}
	links, err := s.cfg.DB.LinkedFrom(ctx, id, 0, v.scope)
	if err != nil {
		return nil, err
	}
	red, err := s.redactor(ctx)
	if err != nil {
		return nil, err
	}
	kinds := make(map[string]string, len(links))
	for i := range links {
		if ps, ok := red.ByPerson[links[i].From]; ok {
			links[i].Title = ps
		} else {
			links[i].Title, _ = red.Text(links[i].Title)
		}
		kinds[links[i].From] = links[i].Kind
	}
	if err := s.audit(ctx, v, "list", kinds); err != nil {
		return nil, err
	}
	return links, nil
}

// checkQualification holds the Rome Statute provisions and article 438 of
// the Criminal Code cited by a case to the legal catalogue (other articles
// of the Code are not catalogued and are checked for form only).
func checkQualification(qs []string) error {
	for i, q := range qs {
		if (strings.HasPrefix(q, "RS ") || q == "CCU 438" || strings.HasPrefix(q, "CCU 438(")) && !legal.ValidID(q) {
			return &custody.Error{Code: custody.EINVALID,
				Message: fmt.Sprintf("case.qualification[%d]: %s is not a provision of the legal catalogue", i, truncate(q, 40)),
				Hint:    "for example RS 8(2)(a)(i), RS 7(1)(f), CCU 438(1); custody legal search TEXT lists them"}
		}
	}
	return nil
}
