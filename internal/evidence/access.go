package evidence

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/sqlstore"
)

// Access control in the service (docs/roles.md): every read resolves the
// actor's view — its compartments, whether it sees general records, its
// clearance — and passes it down to the queries; every output of a record
// goes through the view, which replaces protected witnesses' identities by
// their pseudonyms; every read of personal data is an access.read entry in
// the log.

// view is what one actor may see, resolved once per call. Reads need only
// the scope (the queries read the actor's grants themselves); the calls
// that need the grants in hand load them (loadGrants).
type view struct {
	user   *custody.User
	scope  *sqlstore.Scope // nil: everything
	loaded bool
	teams  []string // the teams the actor is a member of (default compartments)
	held   []string // every compartment the actor holds
}

// idRe is the form of record and item IDs.
var idRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// personalKinds hold personal data: reading them is audited.
var personalKinds = []string{custody.KindPerson, custody.KindTestimony, custody.KindRemains}

// view resolves actor's access. Errors: EUNAUTHORIZED (no actor),
// EFORBIDDEN (a role that may not read).
func (s *Service) view(ctx context.Context, actor *custody.User) (*view, error) {
	if actor == nil {
		return nil, custody.Errorf(custody.EUNAUTHORIZED, "sign in first")
	}
	if !actor.Role.Can(custody.PermRead) {
		return nil, custody.Errorf(custody.EFORBIDDEN, "role %s may not read", actor.Role)
	}
	v := &view{user: actor}
	if !actor.Role.Can(custody.PermAllCompartments) {
		v.scope = &sqlstore.Scope{User: actor.ID, General: actor.Role.Can(custody.PermReadGeneral)}
	}
	return v, nil
}

// loadGrants reads the compartments the actor holds and the teams it is a
// member of.
func (s *Service) loadGrants(ctx context.Context, v *view) error {
	if v.loaded || v.user == custody.SystemActor {
		v.loaded = true
		return nil
	}
	grants, err := s.cfg.DB.Grants(ctx, v.user.ID)
	if err != nil {
		return err
	}
	for _, g := range grants {
		if !slices.Contains(v.held, g.Compartment) {
			v.held = append(v.held, g.Compartment)
		}
		if g.Source != "grant" && g.Source != "creator" && !slices.Contains(v.teams, g.Compartment) {
			v.teams = append(v.teams, g.Compartment)
		}
	}
	v.loaded = true
	return nil
}

// clearance returns the actor's clearance: set by an administrator, or
// its role's default.
func (s *Service) clearance(ctx context.Context, u *custody.User) (string, error) {
	if u != custody.SystemActor {
		c, err := s.cfg.DB.Clearance(ctx, u.ID)
		if err != nil || c != "" {
			return c, err
		}
	}
	return custody.DefaultClearance(u.Role), nil
}

// all reports whether the view sees every compartment.
func (v *view) all() bool { return v.scope == nil }

// visible fails with ENOTFOUND when id (a record or item) is hidden from
// the view: to someone without access, a hidden record does not exist.
func (s *Service) visible(ctx context.Context, v *view, what, id string) error {
	ok, err := s.cfg.DB.Visible(ctx, v.scope, id)
	if err != nil {
		return err
	}
	if !ok {
		return custody.Errorf(custody.ENOTFOUND, "no %s %s", what, id)
	}
	return nil
}

// redactor returns the redactor of every protected witness: built again
// only when a person record has changed since (one indexed MAX per call
// otherwise), so that a store with thousands of protected witnesses pays
// for them once, not on every read.
func (s *Service) redactor(ctx context.Context) (*sqlstore.Redactor, error) {
	v, err := s.cfg.DB.IdentityVersion(ctx)
	if err != nil {
		return nil, err
	}
	s.redMu.Lock()
	defer s.redMu.Unlock()
	if s.red != nil && s.redVersion == v {
		return s.red, nil
	}
	ps, err := s.cfg.DB.ProtectedPersons(ctx)
	if err != nil {
		return nil, err
	}
	s.red, s.redVersion = sqlstore.NewRedactor(ps, false), v
	return s.red, nil
}

// BundleRedactor returns a redactor of every protected witness that also
// replaces their record IDs: what court bundles carry.
func (s *Service) BundleRedactor(ctx context.Context) (*sqlstore.Redactor, error) {
	ps, err := s.cfg.DB.ProtectedPersons(ctx)
	if err != nil {
		return nil, err
	}
	return sqlstore.NewRedactor(ps, true), nil
}

// redactRecord replaces protected identities in r (in place). A protected
// witness's own record keeps only its roles, status and protection level,
// its name replaced by its pseudonym; other records have every mention of
// a protected name replaced.
func redactRecord(red *sqlstore.Redactor, r *custody.Record) error {
	if red.Empty() {
		return nil
	}
	if level, ok := red.Level[r.ID]; ok && r.Kind == custody.KindPerson {
		r.Protection = level
		r.Redacted = true
		r.Title = red.ByPerson[r.ID]
		if len(r.Data) > 0 {
			d, err := redactPerson(r.Data, r.Title)
			if err != nil {
				return err
			}
			r.Data = d
		}
		return nil
	}
	return redactMentions(red, r)
}

// redactMentions replaces every mention of a protected name in r's title
// and data (in place).
func redactMentions(red *sqlstore.Redactor, r *custody.Record) error {
	if red.Empty() {
		return nil
	}
	t, used := red.Text(r.Title)
	d, _, used2, err := red.JSON(r.Data)
	if err != nil {
		return err
	}
	if len(used) > 0 || len(used2) > 0 {
		r.Title, r.Data, r.Redacted = t, d, true
	}
	return nil
}

// redactPerson keeps of a protected witness's data what identifies no one.
func redactPerson(data json.RawMessage, pseudonym string) (json.RawMessage, error) {
	var p custody.Person
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, custody.Errorf(custody.EINTERNAL, "read person: %v", err)
	}
	out := custody.Person{Roles: p.Roles, Name: pseudonym, Protection: p.Protection, Status: p.Status}
	return json.Marshal(out)
}

// protectedIn returns the protected persons r identifies: itself, or
// those whose names or pseudonyms its redacted output shows.
func protectedIn(red *sqlstore.Redactor, orig, redacted *custody.Record) []string {
	var ids []string
	if _, ok := red.Level[orig.ID]; ok && orig.Kind == custody.KindPerson {
		return []string{orig.ID}
	}
	for id, ps := range red.ByPerson {
		if strings.Contains(redacted.Title, ps) || strings.Contains(string(redacted.Data), ps) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// audit appends an access.read entry naming the personal records among
// recs (nothing when there are none).
func (s *Service) audit(ctx context.Context, v *view, action string, kinds map[string]string) error {
	var ids []string
	for id, kind := range kinds {
		if slices.Contains(personalKinds, kind) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 || v.user == custody.SystemActor {
		return nil
	}
	slices.Sort(ids)
	for len(ids) > 0 {
		n := min(len(ids), custody.MaxReadSubjects)
		p, err := s.pending(custody.EntryRead, v.user, ids[0], "", custody.ReadAudit{Nonce: s.nonce(), Subjects: ids[:n], Action: action})
		if err != nil {
			return err
		}
		if _, err := s.cfg.DB.Append(ctx, p); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// checkCompartments resolves the explicit compartments of a record or
// item being written: given ones must be case or team records the actor
// holds (administrators hold all); none given means the actor's teams.
func (s *Service) checkCompartments(ctx context.Context, v *view, given []string) ([]string, error) {
	if err := s.loadGrants(ctx, v); err != nil {
		return nil, err
	}
	if len(given) == 0 {
		return slices.Clone(v.teams), nil
	}
	if len(given) > 64 {
		return nil, custody.Errorf(custody.EINVALID, "compartments: more than 64")
	}
	var out []string
	for i, c := range given {
		if slices.Contains(out, c) {
			return nil, custody.Errorf(custody.EINVALID, "compartments[%d]: %s is listed twice", i, truncate(c, 40))
		}
		if !v.all() && !slices.Contains(v.held, c) {
			return nil, custody.Errorf(custody.EFORBIDDEN, "compartments[%d]: you do not hold compartment %s", i, truncate(c, 40))
		}
		r, err := s.cfg.DB.Record(ctx, c)
		if custody.ErrorCode(err) == custody.ENOTFOUND || err == nil && r.Kind != custody.KindCase && r.Kind != custody.KindTeam {
			return nil, custody.Errorf(custody.EINVALID, "compartments[%d]: %s is not a case or a team", i, truncate(c, 40))
		} else if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Grant gives a user a compartment (a case or a team record), or takes it
// back (revoke). Errors: EFORBIDDEN (not an administrator), ENOTFOUND (no
// such user), EINVALID (not a case or team).
func (s *Service) Grant(ctx context.Context, actor *custody.User, userName, compartment, reason string, revoke bool) error {
	if !actor.Role.Can(custody.PermGrant) {
		return custody.Errorf(custody.EFORBIDDEN, "only an administrator may grant compartments")
	}
	u, err := s.cfg.DB.UserByName(ctx, userName)
	if err != nil {
		return err
	}
	r, err := s.cfg.DB.Record(ctx, compartment)
	if custody.ErrorCode(err) == custody.ENOTFOUND || err == nil && r.Kind != custody.KindCase && r.Kind != custody.KindTeam {
		return custody.Errorf(custody.EINVALID, "%s is not a case or a team", truncate(compartment, 40))
	} else if err != nil {
		return err
	}
	if err := checkText("reason", reason, maxLongField); err != nil {
		return err
	}
	p, err := s.pending(custody.EntryGrant, actor, u.ID, "", custody.GrantChange{Nonce: s.nonce(), User: u.ID, Compartment: compartment, Revoke: revoke, Reason: strings.TrimSpace(reason)})
	if err != nil {
		return err
	}
	_, err = s.cfg.DB.Append(ctx, p)
	return err
}

// Grants lists a user's compartments. Errors: EFORBIDDEN (another user's,
// for a non-administrator).
func (s *Service) Grants(ctx context.Context, actor *custody.User, userName string) ([]custody.Grant, error) {
	// The permission first: otherwise 404 against 403 would tell anyone
	// which user names exist.
	if userName != actor.Name && !actor.Role.Can(custody.PermGrant) {
		return nil, custody.Errorf(custody.EFORBIDDEN, "only an administrator may list another user's compartments")
	}
	u, err := s.cfg.DB.UserByName(ctx, userName)
	if err != nil {
		return nil, err
	}
	g, err := s.cfg.DB.Grants(ctx, u.ID)
	if g == nil {
		g = []custody.Grant{}
	}
	return g, err
}

// SetClearance sets a user's clearance. Errors: EFORBIDDEN, ENOTFOUND,
// EINVALID.
func (s *Service) SetClearance(ctx context.Context, actor *custody.User, userName, level, reason string) error {
	if !actor.Role.Can(custody.PermUsers) {
		return custody.Errorf(custody.EFORBIDDEN, "only an administrator may set clearances")
	}
	if _, err := custody.ParseClearance(level); err != nil {
		return err
	}
	u, err := s.cfg.DB.UserByName(ctx, userName)
	if err != nil {
		return err
	}
	if err := checkText("reason", reason, maxLongField); err != nil {
		return err
	}
	p, err := s.pending(custody.EntryClearance, actor, u.ID, "", custody.ClearanceChange{Nonce: s.nonce(), User: u.ID, Clearance: level, Reason: strings.TrimSpace(reason)})
	if err != nil {
		return err
	}
	_, err = s.cfg.DB.Append(ctx, p)
	return err
}

// AccessLog lists who read a record or item (audited reads, reveals,
// content reads and exports). Errors: EFORBIDDEN (not an administrator).
func (s *Service) AccessLog(ctx context.Context, actor *custody.User, subject string) ([]custody.AccessEvent, error) {
	if !actor.Role.Can(custody.PermAudit) {
		return nil, custody.Errorf(custody.EFORBIDDEN, "only an administrator may list who read a record")
	}
	// Auditors see every compartment today; should a role audit without
	// doing so, a hidden record's reads stay hidden with it.
	v, err := s.view(ctx, actor)
	if err != nil {
		return nil, err
	}
	if err := s.visible(ctx, v, "record or item", subject); err != nil {
		return nil, err
	}
	return s.cfg.DB.AccessLog(ctx, subject, 0)
}

// RevealRecord returns a record with the protected identities it holds
// shown, and logs who revealed them, when and why (access.reveal). The
// actor needs the reveal permission and a clearance at least each
// identity's protection level. Errors: EINVALID (no reason), EFORBIDDEN,
// ENOTFOUND (hidden or absent).
func (s *Service) RevealRecord(ctx context.Context, actor *custody.User, id, reason string) (*custody.Record, error) {
	v, err := s.view(ctx, actor)
	if err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, custody.Errorf(custody.EINVALID, "give the reason for revealing a protected identity")
	}
	if err := checkText("reason", reason, maxLongField); err != nil {
		return nil, err
	}
	if !actor.Role.Can(custody.PermReveal) {
		return nil, custody.Errorf(custody.EFORBIDDEN, "role %s may not reveal protected identities", actor.Role)
	}
	if err := s.visible(ctx, v, "record", id); err != nil {
		return nil, err
	}
	r, err := s.cfg.DB.Record(ctx, id)
	if err != nil {
		return nil, err
	}
	red, err := s.redactor(ctx)
	if err != nil {
		return nil, err
	}
	shown := *r
	if err := redactRecord(red, &shown); err != nil {
		return nil, err
	}
	ids := protectedIn(red, r, &shown)
	if len(ids) == 0 {
		return nil, custody.Errorf(custody.EINVALID, "record %s holds no protected identity", id)
	}
	clear, err := s.clearance(ctx, actor)
	if err != nil {
		return nil, err
	}
	for _, p := range ids {
		if custody.ClearanceRank(clear) < custody.ClearanceRank(red.Level[p]) {
			return nil, custody.Errorf(custody.EFORBIDDEN, "revealing %s needs clearance %s; yours is %s", red.ByPerson[p], red.Level[p], clear)
		}
	}
	subjects := append([]string{id}, ids...)
	slices.Sort(subjects)
	subjects = slices.Compact(subjects)
	p, err := s.pending(custody.EntryReveal, actor, id, "", custody.ReadAudit{Nonce: s.nonce(), Subjects: subjects, Action: "reveal", Reason: reason})
	if err != nil {
		return nil, err
	}
	if _, err := s.cfg.DB.Append(ctx, p); err != nil {
		return nil, err
	}
	// The identities revealed are shown; any other protected name the
	// record mentions stays replaced. (Not redactRecord: a revealed
	// witness's own record must not be reduced to its pseudonym, which
	// the redactor's Level, shared by Without, would still ask for.)
	out := *r
	if err := redactMentions(red.Without(ids...), &out); err != nil {
		return nil, err
	}
	if lv, ok := red.Level[r.ID]; ok && r.Kind == custody.KindPerson {
		out.Protection = lv
	}
	return &out, nil
}

// CanSee reports whether actor may see a record or item (ENOTFOUND when
// not). For adapters that read through other paths (content, proofs).
func (s *Service) CanSee(ctx context.Context, actor *custody.User, what, id string) error {
	v, err := s.view(ctx, actor)
	if err != nil {
		return err
	}
	return s.visible(ctx, v, what, id)
}

// Clearance returns the actor's clearance.
func (s *Service) Clearance(ctx context.Context, actor *custody.User) (string, error) {
	if _, err := s.view(ctx, actor); err != nil {
		return "", err
	}
	return s.clearance(ctx, actor)
}
