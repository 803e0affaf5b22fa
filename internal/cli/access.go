package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/custody-dev/custody"
)

// Access control on the command line (docs/roles.md): custody grant,
// grants, user clearance, access (who read a record or item) and reveal (a
// protected witness's identity, with a reason). The service checks every
// permission; these commands resolve names, print, and publish what they
// log.

// recordIDRe is the form of record and item IDs.
var recordIDRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// compartment is a case or team record, as the access commands name it.
type compartment struct {
	ID    string `json:"id"`
	Kind  string `json:"kind,omitempty"`
	Title string `json:"title,omitempty"`
}

func (c compartment) String() string {
	if c.Title == "" {
		return c.ID
	}
	return fmt.Sprintf("%s %q (%s)", c.Kind, c.Title, c.ID)
}

// describeCompartment names a case or team record for output. It reads
// the index directly: naming a compartment is no read of its contents
// (and a case or team record holds no personal data to audit).
func describeCompartment(ctx context.Context, st *store, id string) compartment {
	c := compartment{ID: id}
	if r, err := st.db.Record(ctx, id); err == nil {
		c.Kind, c.Title = r.Kind, r.Title
	}
	return c
}

// resolveCompartment turns the CASE_OR_TEAM argument into a record ID: a
// record ID as it is (the service checks that it is a case or a team), a
// case's register number, or a team's name (in any letter case).
func resolveCompartment(ctx context.Context, st *store, actor *custody.User, arg string) (string, error) {
	arg = strings.TrimSpace(arg)
	if recordIDRe.MatchString(arg) {
		return strings.ToLower(arg), nil
	}
	var found []compartment
	for _, kind := range []string{custody.KindCase, custody.KindTeam} {
		f := custody.RecordFilter{Kind: kind, Limit: 1000}
		for {
			page, err := st.svc.Records(ctx, actor, f)
			if err != nil {
				return "", err
			}
			for _, r := range page.Records {
				var v struct {
					Number string `json:"number"`
					Name   string `json:"name"`
				}
				if json.Unmarshal(r.Data, &v) != nil {
					continue
				}
				if kind == custody.KindCase && v.Number == arg || kind == custody.KindTeam && strings.EqualFold(v.Name, arg) {
					found = append(found, compartment{ID: r.ID, Kind: r.Kind, Title: r.Title})
				}
			}
			if page.Next == "" {
				break
			}
			f.After = page.Next
		}
	}
	switch len(found) {
	case 1:
		return found[0].ID, nil
	case 0:
		return "", &custody.Error{Code: custody.EINVALID,
			Message: fmt.Sprintf("no case numbered %q and no team named %q", truncateName(arg, 60), truncateName(arg, 60)),
			Hint:    "give the case's or team's record ID (custody record list --kind case, --kind team)"}
	}
	var names []string
	for _, c := range found {
		names = append(names, c.String())
	}
	return "", &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("%q names %d records: %s", truncateName(arg, 60), len(found), strings.Join(names, "; ")),
		Hint: "give the record ID of the one you mean"}
}

// sourceText says how a user holds a compartment.
func sourceText(ctx context.Context, st *store, g custody.Grant) string {
	switch source := g.Source; {
	case source == "grant":
		return "granted"
	case source == "creator":
		return "created it"
	case source == g.Compartment:
		return "member"
	}
	source := g.Source
	t := describeCompartment(ctx, st, source)
	if t.Title == "" {
		return "member of team " + source
	}
	return fmt.Sprintf("member of team %q", t.Title)
}

func (m *Main) cmdGrant(ctx context.Context, args []string) error {
	fs, data, as := m.flags("grant", "USER CASE_OR_TEAM [--reason TEXT] [--revoke] [--json]\n\n"+
		"Gives USER the compartment of a case or team (its record ID, a case's register number or a team's name),\n"+
		"or takes a grant back with --revoke. Administrators only; the change is in the log.")
	reason := fs.String("reason", "", "why (logged with the change)")
	revoke := fs.Bool("revoke", false, "take the compartment back (team membership is changed on the team's record instead)")
	asJSON := fs.Bool("json", false, "print the user's compartments afterwards as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || strings.TrimSpace(pos[0]) == "" || strings.TrimSpace(pos[1]) == "" {
		fmt.Fprintln(m.Stderr, "custody grant: name a user and a case or team")
		fs.Usage()
		return errUsage
	}
	user := pos[0]
	st, err := m.open(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	actor, err := st.actor(ctx, *as)
	if err != nil {
		return err
	}
	if !actor.Role.Can(custody.PermGrant) {
		// The service's refusal, before any name is resolved.
		return st.svc.Grant(ctx, actor, user, pos[1], *reason, *revoke)
	}
	u, err := st.db.UserByName(ctx, user)
	if err != nil {
		return &custody.Error{Code: custody.ENOTFOUND, Message: fmt.Sprintf("no user %q in this store", truncateName(user, 60)),
			Hint: "custody user list shows the users"}
	}
	id, err := resolveCompartment(ctx, st, actor, pos[1])
	if err != nil {
		return err
	}
	before, err := st.svc.Grants(ctx, actor, u.Name)
	if err != nil {
		return err
	}
	var direct bool // held by a grant (or as the creator): what --revoke takes back
	for _, g := range before {
		if g.Compartment == id && (g.Source == "grant" || g.Source == "creator") {
			direct = true
		}
	}
	comp := describeCompartment(ctx, st, id)
	changed := true
	switch {
	case *revoke && !direct:
		return &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("%s holds no grant of %s; nothing was changed", u.Name, comp),
			Hint: "custody grants " + u.Name + " lists how the user holds each compartment"}
	case !*revoke && slices.ContainsFunc(before, func(g custody.Grant) bool { return g.Compartment == id && g.Source == "grant" }):
		changed = false
		fmt.Fprintf(m.Stderr, "%s already holds a grant of %s; nothing was changed\n", u.Name, comp)
	default:
		if err := st.svc.Grant(ctx, actor, u.Name, id, *reason, *revoke); err != nil {
			return err
		}
		if _, err := st.svc.Publish(ctx); err != nil {
			return err
		}
	}
	after, err := st.svc.Grants(ctx, actor, u.Name)
	if err != nil {
		return err
	}
	if *asJSON {
		return m.printJSON(m.grantRows(ctx, st, after))
	}
	if changed {
		verb := "granted"
		if *revoke {
			verb = "revoked"
		}
		fmt.Fprintf(m.Stdout, "%s %s: %s\n", verb, u.Name, comp)
	}
	if *revoke {
		for _, g := range after {
			if g.Compartment == id {
				fmt.Fprintf(m.Stderr, "note: %s still holds it (%s); change the team's members to end that\n", u.Name, sourceText(ctx, st, g))
			}
		}
	}
	return nil
}

// grantRow is one compartment a user holds, as custody grants prints it.
type grantRow struct {
	custody.Grant
	Kind  string `json:"kind,omitempty"`
	Title string `json:"title,omitempty"`
	How   string `json:"how"`
}

func (m *Main) grantRows(ctx context.Context, st *store, gs []custody.Grant) []grantRow {
	rows := make([]grantRow, 0, len(gs))
	for _, g := range gs {
		c := describeCompartment(ctx, st, g.Compartment)
		rows = append(rows, grantRow{Grant: g, Kind: c.Kind, Title: c.Title, How: sourceText(ctx, st, g)})
	}
	return rows
}

func (m *Main) cmdGrants(ctx context.Context, args []string) error {
	fs, data, as := m.flags("grants", "USER [--json]\n\nLists the cases and teams USER holds: granted, created, or as a team member.\n"+
		"Administrators see anyone's; a user sees its own.")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	name, err := oneName(fs, pos, "user", m)
	if err != nil {
		return err
	}
	st, err := m.open(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	actor, err := st.actor(ctx, *as)
	if err != nil {
		return err
	}
	gs, err := st.svc.Grants(ctx, actor, name)
	if err != nil {
		return err
	}
	rows := m.grantRows(ctx, st, gs)
	if *asJSON {
		return m.printJSON(rows)
	}
	u, err := st.db.UserByName(ctx, name)
	if err != nil {
		return err
	}
	general := "and the general records (those in no case or team)"
	if !u.Role.Can(custody.PermReadGeneral) {
		general = "and nothing else: role " + string(u.Role) + " does not see general records"
	}
	if u.Role.Can(custody.PermAllCompartments) {
		fmt.Fprintf(m.Stderr, "%s is an administrator and sees every compartment\n", u.Name)
		general = ""
	}
	if len(rows) == 0 {
		if general != "" {
			fmt.Fprintf(m.Stderr, "%s holds no case or team: it sees the localities %s\n", u.Name, general)
		}
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPARTMENT\tKIND\tTITLE\tHOW")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Compartment, dash(r.Kind), dash(oneLine(r.Title, 70)), r.How)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if general != "" {
		these := "this compartment"
		if len(rows) > 1 {
			these = fmt.Sprintf("these %d compartments", len(rows))
		}
		fmt.Fprintf(m.Stderr, "%s sees the records and items of %s %s\n", u.Name, these, general)
	}
	return nil
}

// cmdUserClearance is custody user clearance USER [LEVEL]: show or set a
// user's clearance (the protection level up to which it may reveal
// protected witnesses' identities, with a reason).
func (m *Main) cmdUserClearance(ctx context.Context, args []string) error {
	fs, data, as := m.flags("user clearance", "USER [LEVEL] [--reason TEXT]\n\n"+
		"Sets USER's clearance to LEVEL ("+strings.Join(custody.Clearances, ", ")+"), or shows it.\n"+
		"A user with the reveal permission may reveal a protected witness whose protection level is at most its clearance.")
	reason := fs.String("reason", "", "why (logged with the change)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 || strings.TrimSpace(pos[0]) == "" {
		fmt.Fprintln(m.Stderr, "custody user clearance: name a user, and the level to set")
		fs.Usage()
		return errUsage
	}
	if len(pos) == 2 {
		if _, err := custody.ParseClearance(pos[1]); err != nil {
			return err
		}
	}
	st, err := m.open(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	actor, err := st.actor(ctx, *as)
	if err != nil {
		return err
	}
	if len(pos) == 2 {
		if err := st.svc.SetClearance(ctx, actor, pos[0], pos[1], *reason); err != nil {
			return err
		}
		if _, err := st.svc.Publish(ctx); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "clearance of %s: %s\n", pos[0], pos[1])
		return nil
	}
	u, err := st.db.UserByName(ctx, pos[0])
	if err != nil {
		return err
	}
	if u.ID != actor.ID && !actor.Role.Can(custody.PermUsers) {
		return custody.Errorf(custody.EFORBIDDEN, "only an administrator may see another user's clearance")
	}
	level, err := st.db.Clearance(ctx, u.ID)
	if err != nil {
		return err
	}
	how := "set by an administrator"
	if level == "" {
		level, how = custody.DefaultClearance(u.Role), "the default of role "+string(u.Role)
	}
	reveal := "may reveal protected identities up to that level, with a reason"
	switch {
	case !u.Role.Can(custody.PermReveal):
		reveal = "role " + string(u.Role) + " may not reveal protected identities"
	case level == "none":
		reveal = "may reveal no protected identity"
	}
	fmt.Fprintf(m.Stdout, "clearance of %s: %s (%s); %s\n", u.Name, level, how, reveal)
	return nil
}

func (m *Main) cmdAccess(ctx context.Context, args []string) error {
	fs, data, as := m.flags("access", "RECORD_OR_ITEM [--json]\n\nLists who read a record or item: audited reads of personal data, reveals, content reads\nand exports, oldest first. Administrators only.")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	id, err := oneName(fs, pos, "record or item", m)
	if err != nil {
		return err
	}
	st, err := m.open(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	actor, err := st.actor(ctx, *as)
	if err != nil {
		return err
	}
	evs, err := st.svc.AccessLog(ctx, actor, id)
	if err != nil {
		return err
	}
	if len(evs) == 0 {
		// Nothing read, or nothing there: say which. The index is read
		// directly, so that looking does not count as a read.
		_, rerr := st.db.Record(ctx, id)
		_, ierr := st.db.Item(ctx, id)
		if custody.ErrorCode(rerr) == custody.ENOTFOUND && custody.ErrorCode(ierr) == custody.ENOTFOUND {
			return custody.Errorf(custody.ENOTFOUND, "no record or item %s", truncateName(id, 60))
		}
	}
	names := userNames(ctx, st)
	if *asJSON {
		type row struct {
			custody.AccessEvent
			ActorName string `json:"actor_name,omitempty"`
		}
		out := make([]row, 0, len(evs))
		for _, e := range evs {
			out = append(out, row{e, nameOf(names, e.Actor)})
		}
		return m.printJSON(out)
	}
	if len(evs) == 0 {
		fmt.Fprintf(m.Stderr, "nobody has read %s (no audited read, reveal, content read or export)\n", id)
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tWHO\tACTION\tLOG\tREASON")
	for _, e := range evs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t#%d\t%s\n", shortTime(e.Time), oneLine(nameOf(names, e.Actor), 40), e.Action, e.LogIndex, dash(oneLine(e.Reason, 80)))
	}
	return tw.Flush()
}

func (m *Main) cmdReveal(ctx context.Context, args []string) error {
	fs, data, as := m.flags("reveal", "RECORD --reason TEXT [--json]\n\n"+
		"Shows a record with the protected witnesses' identities it holds. Needs the reveal permission and a clearance\n"+
		"at least each witness's protection level; the reveal is in the log with your name and reason.")
	reason := fs.String("reason", "", "why you need the identity (required; logged)")
	asJSON := fs.Bool("json", false, "print the record as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	id, err := oneName(fs, pos, "record", m)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		fmt.Fprintln(m.Stderr, "custody reveal: give --reason TEXT: why you need the identity (it is logged with your name)")
		fs.Usage()
		return errUsage
	}
	st, err := m.open(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	actor, err := st.actor(ctx, *as)
	if err != nil {
		return err
	}
	r, err := st.svc.RevealRecord(ctx, actor, id, *reason)
	if err != nil {
		return err
	}
	if _, err := st.svc.Publish(ctx); err != nil {
		return err
	}
	if *asJSON {
		return m.printJSON(r)
	}
	w := bufio.NewWriter(m.Stdout)
	fmt.Fprintf(w, "%s %s  version %d  %q\n", r.Kind, r.ID, r.Version, r.Title)
	if r.Protection != "" {
		fmt.Fprintf(w, "protection: %s\n", r.Protection)
	}
	var pretty strings.Builder
	if err := indentJSON(&pretty, r.Data); err == nil {
		fmt.Fprintf(w, "data:\n%s\n", pretty.String())
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "revealed by %s; the reveal and its reason are in the log\n", actor.Name)
	return nil
}
