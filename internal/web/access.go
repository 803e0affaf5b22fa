package web

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/custody-dev/custody"
)

// Access control on record pages (docs/roles.md): a protected witness's
// protection level and, for roles that may reveal, a form to reveal the
// identity with a reason (the service checks the clearance and logs the
// reveal: who, when, why); a notice wherever identities are replaced by
// pseudonyms; for administrators, who read the record.
//
// A revealed identity is shown only in the response to the POST that
// revealed it: it is never in a URL, and pages are never cached, so
// reloading or going back shows the pseudonym again.

// recordAccess is what a record page shows of access control.
type recordAccess struct {
	ID         string
	CSRF       string
	Protection string // a protected witness's level; "" for anyone else
	Clearance  string // the reader's clearance, when it may reveal
	Redacted   bool   // this page shows pseudonyms in place of identities
	CanReveal  bool   // offer the reveal form
	Revealed   bool   // this page shows identities revealed just now (logged)
	Problem    string // why the reveal was refused
	Reason     string // the reason given, kept when the reveal was refused
	Audit      bool   // link to who read the record (administrators)
}

// revealState is the outcome of a reveal, for the page that follows it.
type revealState struct {
	Revealed bool
	Problem  string
	Reason   string
}

// recordAccess returns the access part of rec's page.
func (s *Server) recordAccess(r *http.Request, c *reqCtx, rec *custody.Record, rs *revealState) recordAccess {
	a := recordAccess{ID: rec.ID, Protection: rec.Protection, Redacted: rec.Redacted,
		Audit: c.user.Role.Can(custody.PermAudit)}
	if c.sess != nil {
		a.CSRF = c.sess.CSRF
	}
	if rs != nil {
		a.Revealed, a.Problem, a.Reason = rs.Revealed, rs.Problem, rs.Reason
	}
	if (rec.Protection != "" || rec.Redacted) && !a.Revealed && c.user.Role.Can(custody.PermReveal) {
		a.CanReveal = true
		if cl, err := s.svc.Clearance(r.Context(), c.user); err == nil {
			a.Clearance = cl
		}
	}
	return a
}

// noEditRedacted refuses to edit a record shown with pseudonyms: its form
// would hold the pseudonyms (and lack what a protected witness's record
// withholds), and saving it would overwrite the identities.
func noEditRedacted(c *reqCtx, rec *custody.Record) error {
	if rec.Redacted {
		return &custody.Error{Code: custody.ECONFLICT, Message: c.l.T("access.no_edit")}
	}
	return nil
}

// maxRevealReason bounds the reason of a reveal, in characters, as the
// form does (the service's bound is in bytes, and larger).
const maxRevealReason = 2000

// recordReveal reveals the protected identities a record holds, with the
// reason given, and shows the record with them (status 200); a refusal
// shows the record as before with the problem (400 without a reason, 403
// without the permission or the clearance).
func (s *Server) recordReveal(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	ctx := r.Context()
	id := r.PathValue("id")
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	var refusal error
	switch {
	case !c.user.Role.Can(custody.PermReveal):
		refusal = &custody.Error{Code: custody.EFORBIDDEN, Message: c.l.T("access.not_permitted", c.l.Enum("role", string(c.user.Role)))}
	case reason == "":
		refusal = &custody.Error{Code: custody.EINVALID, Message: c.l.T("access.no_reason")}
	case utf8.RuneCountInString(reason) > maxRevealReason:
		refusal = &custody.Error{Code: custody.EINVALID, Message: c.l.T("access.long_reason", maxRevealReason)}
	}
	if refusal == nil {
		rec, err := s.svc.RevealRecord(ctx, c.user, id, reason)
		if err == nil {
			s.showRecord(w, r, c, http.StatusOK, rec, &revealState{Revealed: true})
			return
		}
		if code := custody.ErrorCode(err); code != custody.EINVALID && code != custody.EFORBIDDEN {
			s.fail(w, r, c, err) // ENOTFOUND (hidden or absent) and faults
			return
		}
		refusal = err
	}
	// The record as the user may see it, with why the reveal was refused.
	rec, err := s.svc.Record(ctx, c.user, id)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	msg := s.problem(r, c, refusal)
	if custody.ErrorCode(refusal) == custody.EFORBIDDEN && rec.Protection != "" && c.user.Role.Can(custody.PermReveal) {
		if cl, err := s.svc.Clearance(ctx, c.user); err == nil && custody.ClearanceRank(cl) < custody.ClearanceRank(rec.Protection) {
			msg = c.l.T("access.clearance_low", c.l.Enum("protection", rec.Protection), c.l.Enum("protection", cl))
		}
	}
	s.showRecord(w, r, c, statusOf(custody.ErrorCode(refusal)), rec, &revealState{Problem: msg, Reason: reason})
}

// accessRow is one read of a record, as the page lists it.
type accessRow struct {
	Time, Who, Action, Reason string
	LogIndex                  uint64
}

type accessPage struct {
	ID, Kind string
	Rows     []accessRow
}

// recordAccessLog lists who read a record (administrators): audited reads
// of personal data and reveals, oldest first.
func (s *Server) recordAccessLog(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	ctx := r.Context()
	id := r.PathValue("id")
	evs, err := s.svc.AccessLog(ctx, c.user, id)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	// The record's kind, from the index: this page shows no title (which a
	// protected witness's would disclose), and reading it is no read of
	// personal data.
	rec, err := s.svc.DB().Record(ctx, id)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	names := s.userNames(r, c)
	d := accessPage{ID: rec.ID, Kind: rec.Kind}
	for _, e := range evs {
		d.Rows = append(d.Rows, accessRow{Time: e.Time, Who: names(e.Actor), Action: c.l.Enum("access_action", e.Action),
			Reason: e.Reason, LogIndex: e.LogIndex})
	}
	s.render(w, r, c, http.StatusOK, "access", &page{Title: c.l.T("access.log_title"), Nav: "records", Data: d})
}
