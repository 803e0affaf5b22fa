package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/evidence"
	"github.com/custody-dev/custody/internal/importer"
	"github.com/custody-dev/custody/internal/locality"
)

// openForWrite opens a store whose record writes are checked against the
// KATOTTH gazetteer.
func (m *Main) openForWrite(ctx context.Context, dir string) (*store, error) {
	m.withLocalities = true
	return m.open(ctx, dir)
}

// subcommand picks args[0] among subs, or reports a usage error.
func (m *Main) subcommand(cmd, usage string, args []string, subs ...string) (string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(m.Stderr, "Usage: custody %s %s\n", cmd, usage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			return "", flag.ErrHelp
		}
		return "", errUsage
	}
	for _, s := range subs {
		if args[0] == s {
			return s, nil
		}
	}
	best, bestD := "", 3
	for _, s := range subs {
		if d := editDistance(args[0], s); d < bestD {
			best, bestD = s, d
		}
	}
	hint := strings.Join(subs, ", ")
	if best != "" {
		hint = fmt.Sprintf("did you mean %q?", best)
	}
	fmt.Fprintf(m.Stderr, "custody %s: unknown subcommand %q (%s)\n", cmd, args[0], hint)
	return "", errUsage
}

// checkKind refuses an unknown record kind, suggesting the nearest.
func checkKind(kind string) error {
	if custody.IsRecordKind(kind) {
		return nil
	}
	hint := "kinds: " + strings.Join(custody.RecordKinds, ", ")
	for _, k := range custody.RecordKinds {
		if editDistance(strings.ToLower(kind), k) <= 2 {
			hint = fmt.Sprintf("did you mean %q?", k)
			break
		}
	}
	return &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("unknown record kind %q", kind), Hint: hint}
}

// readData reads a record's JSON data from a file, or from standard input
// when name is "" or "-".
func (m *Main) readData(name string) ([]byte, error) {
	var r io.Reader = m.Stdin
	what := "standard input"
	if name != "" && name != "-" {
		if err := checkFile(name); err != nil {
			return nil, err
		}
		f, err := os.Open(name)
		if err != nil {
			return nil, custody.Errorf(custody.EINVALID, "cannot read %s: %v", name, errors.Unwrap(err))
		}
		defer f.Close()
		r, what = f, name
	}
	if r == nil {
		r = strings.NewReader("")
	}
	raw, err := io.ReadAll(io.LimitReader(r, evidence.MaxRecordData+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if len(raw) > evidence.MaxRecordData {
		return nil, custody.Errorf(custody.ETOOLARGE, "%s holds over %d bytes; a record's data is at most that", what, evidence.MaxRecordData)
	}
	raw = []byte(strings.TrimPrefix(strings.TrimSpace(string(raw)), "\ufeff"))
	if len(raw) == 0 {
		return nil, &custody.Error{Code: custody.EINVALID, Message: "no record data on " + what,
			Hint: "give the record's JSON with --data-file FILE, or on standard input"}
	}
	if !json.Valid(raw) {
		var v any
		err := json.Unmarshal(raw, &v)
		return nil, custody.Errorf(custody.EINVALID, "the data in %s is not JSON: %v", what, err)
	}
	return raw, nil
}

func (m *Main) printWarnings(ws []string) {
	for _, w := range ws {
		fmt.Fprintf(m.Stderr, "warning: %s\n", w)
	}
}

func (m *Main) printRecordLine(verb string, r *custody.Record) {
	fmt.Fprintf(m.Stdout, "%s %s %s  version %d  log #%d  %q\n", verb, r.Kind, r.ID, r.Version, r.LogIndex, r.Title)
}

// createRecord creates one record, publishes and prints it.
func (m *Main) createRecord(ctx context.Context, dir, as string, in custody.RecordInput, asJSON bool) error {
	st, err := m.openForWrite(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	actor, err := st.actor(ctx, as)
	if err != nil {
		return err
	}
	recs, err := st.svc.CreateRecords(ctx, actor, []custody.RecordInput{in})
	if err != nil {
		return err
	}
	if _, err := st.svc.Publish(ctx); err != nil {
		return err
	}
	m.printWarnings(recs[0].Warnings)
	if asJSON {
		return m.printJSON(recs[0])
	}
	m.printRecordLine("created", recs[0])
	return nil
}

func (m *Main) cmdRecord(ctx context.Context, args []string) error {
	sub, err := m.subcommand("record", "create | show | list | update | withdraw ...", args, "create", "show", "list", "update", "withdraw")
	if err != nil {
		return err
	}
	args = args[1:]
	switch sub {
	case "create":
		return m.recordCreate(ctx, args)
	case "show":
		return m.recordShow(ctx, args)
	case "list":
		return m.recordList(ctx, args)
	case "update":
		return m.recordUpdate(ctx, args)
	default:
		return m.recordWithdraw(ctx, args)
	}
}

func (m *Main) recordCreate(ctx context.Context, args []string) error {
	fs, data, as := m.flags("record create", "KIND [--data-file FILE | JSON on standard input] [--reason TEXT] [--compartment IDS] [--json]")
	compartments := fs.String("compartment", "", "cases and teams (record IDs, comma-separated) the record goes in; default: your teams")
	dataFile := fs.String("data-file", "", "the record's data as JSON (default, or -: standard input)")
	reason := fs.String("reason", "", "a note recorded with the change")
	asJSON := fs.Bool("json", false, "print the record as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintf(m.Stderr, "custody record create: name the kind (%s)\n", strings.Join(custody.RecordKinds, ", "))
		fs.Usage()
		return errUsage
	}
	if err := checkKind(pos[0]); err != nil {
		return err
	}
	raw, err := m.readData(*dataFile)
	if err != nil {
		return err
	}
	return m.createRecord(ctx, *data, *as, custody.RecordInput{Kind: pos[0], Data: raw, Reason: *reason, Compartments: splitList(*compartments)}, *asJSON)
}

// userNames maps user IDs to names, for people reading history.
func userNames(ctx context.Context, st *store) map[string]string {
	names := map[string]string{custody.SystemActor.ID: custody.SystemActor.Name}
	if users, err := st.db.Users(ctx); err == nil {
		for _, u := range users {
			names[u.ID] = u.Name
		}
	}
	return names
}

func nameOf(names map[string]string, id string) string {
	if n, ok := names[id]; ok && n != "" {
		return n
	}
	return id
}

func (m *Main) recordShow(ctx context.Context, args []string) error {
	fs, data, as := m.flags("record show", "ID [--json]")
	asJSON := fs.Bool("json", false, "print the record and its history as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
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
	r, err := st.svc.Record(ctx, actor, pos[0])
	if err != nil {
		return err
	}
	hist, err := st.svc.RecordHistory(ctx, actor, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return m.printJSON(struct {
			Record  *custody.Record          `json:"record"`
			History []*custody.RecordVersion `json:"history"`
		}{r, hist})
	}
	names := userNames(ctx, st)
	w := bufio.NewWriter(m.Stdout)
	fmt.Fprintf(w, "%s %s  version %d  %q\n", r.Kind, r.ID, r.Version, r.Title)
	fmt.Fprintf(w, "created %s by %s; updated %s by %s; log #%d\n", r.CreatedAt, nameOf(names, r.CreatedBy), r.UpdatedAt, nameOf(names, r.UpdatedBy), r.LogIndex)
	if r.Withdrawn {
		fmt.Fprintf(w, "WITHDRAWN: %s\n", r.WithdrawReason)
	}
	var pretty strings.Builder
	if err := indentJSON(&pretty, r.Data); err == nil {
		fmt.Fprintf(w, "data:\n%s\n", pretty.String())
	}
	fmt.Fprintln(w, "history:")
	for _, v := range hist {
		fmt.Fprintf(w, "  v%-3d %-8s %s  by %s  log #%d", v.Version, v.Change, v.Time, nameOf(names, v.Actor), v.LogIndex)
		if v.Reason != "" {
			fmt.Fprintf(w, "  reason: %s", v.Reason)
		}
		fmt.Fprintln(w)
	}
	return w.Flush()
}

func indentJSON(b *strings.Builder, raw json.RawMessage) error {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	out, err := json.MarshalIndent(v, "  ", "  ")
	if err != nil {
		return err
	}
	b.WriteString("  ")
	b.Write(out)
	return nil
}

func (m *Main) recordList(ctx context.Context, args []string) error {
	fs, data, as := m.flags("record list", "[--kind K] [--locality CODE] [--site ID] [--case ID] [--team ID] [--type T] [--status S] [--from DATE] [--to DATE] [--sort KEY] [--limit N] [--after CURSOR] [--withdrawn] [--json]")
	var f custody.RecordFilter
	fs.StringVar(&f.Kind, "kind", "", "only records of this kind ("+strings.Join(custody.RecordKinds, ", ")+")")
	fs.StringVar(&f.Locality, "locality", "", "only records in this locality (KATOTTH code)")
	fs.StringVar(&f.Site, "site", "", "only records of this site")
	fs.StringVar(&f.Case, "case", "", "only records of this case")
	fs.StringVar(&f.Team, "team", "", "only records of this team")
	fs.StringVar(&f.Type, "type", "", "only of this type (site type, incident type, person role)")
	fs.StringVar(&f.Status, "status", "", "only with this status")
	fs.StringVar(&f.From, "from", "", "dated on or after (YYYY-MM-DD)")
	fs.StringVar(&f.To, "to", "", "dated on or before (YYYY-MM-DD)")
	fs.StringVar(&f.Sort, "sort", "", "id (creation order, default), date, title or updated; -KEY reverses")
	fs.IntVar(&f.Limit, "limit", 50, "records per page, at most 1000")
	fs.StringVar(&f.After, "after", "", "the cursor of the next page, as the previous page printed it")
	fs.BoolVar(&f.IncludeWithdrawn, "withdrawn", false, "include withdrawn records")
	asJSON := fs.Bool("json", false, "print the page as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		fmt.Fprintf(m.Stderr, "custody record list: unexpected argument %q\n", pos[0])
		fs.Usage()
		return errUsage
	}
	if f.Kind != "" {
		if err := checkKind(f.Kind); err != nil {
			return err
		}
	}
	for _, d := range []struct{ flag, v string }{{"from", f.From}, {"to", f.To}} {
		if d.v != "" && !dateRe.MatchString(d.v) {
			return custody.Errorf(custody.EINVALID, "--%s %q is not a date (YYYY-MM-DD, or YYYY-MM)", d.flag, d.v)
		}
	}
	if f.Limit < 1 || f.Limit > 1000 {
		return custody.Errorf(custody.EINVALID, "--limit %d: give 1 to 1000", f.Limit)
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
	page, err := st.svc.Records(ctx, actor, f)
	if err != nil {
		return err
	}
	if *asJSON {
		return m.printJSON(page)
	}
	w := bufio.NewWriter(m.Stdout)
	for _, r := range page.Records {
		withdrawn := ""
		if r.Withdrawn {
			withdrawn = "  (withdrawn)"
		}
		fmt.Fprintf(w, "%s  %-9s v%-3d %s%s\n", r.ID, r.Kind, r.Version, r.Title, withdrawn)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if page.Next != "" {
		fmt.Fprintf(m.Stderr, "more records: add --after %s\n", page.Next)
	}
	return nil
}

var dateRe = regexp.MustCompile(`^\d{4}-\d{2}(-\d{2})?$`)

func (m *Main) recordUpdate(ctx context.Context, args []string) error {
	fs, data, as := m.flags("record update", "ID --base N [--data-file FILE | JSON on standard input] [--reason TEXT] [--json]")
	base := fs.Int("base", 0, "the version the change was made from (custody record show ID)")
	dataFile := fs.String("data-file", "", "the whole new version's data as JSON (default, or -: standard input)")
	reason := fs.String("reason", "", "why the record changes")
	asJSON := fs.Bool("json", false, "print the record as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errUsage
	}
	if *base <= 0 {
		return &custody.Error{Code: custody.EINVALID, Message: "give --base N, the version your change was made from",
			Hint: "custody record show " + pos[0] + " prints the current version"}
	}
	raw, err := m.readData(*dataFile)
	if err != nil {
		return err
	}
	st, err := m.openForWrite(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	actor, err := st.actor(ctx, *as)
	if err != nil {
		return err
	}
	r, err := st.svc.UpdateRecord(ctx, actor, custody.RecordInput{ID: pos[0], Data: raw, Base: *base, Reason: *reason})
	if err != nil {
		return err
	}
	if _, err := st.svc.Publish(ctx); err != nil {
		return err
	}
	m.printWarnings(r.Warnings)
	if *asJSON {
		return m.printJSON(r)
	}
	m.printRecordLine("updated", r)
	return nil
}

func (m *Main) recordWithdraw(ctx context.Context, args []string) error {
	fs, data, as := m.flags("record withdraw", "ID --base N --reason TEXT [--json]")
	base := fs.Int("base", 0, "the version the withdrawal was decided on (custody record show ID)")
	reason := fs.String("reason", "", "why the record is withdrawn (required); it stays readable")
	asJSON := fs.Bool("json", false, "print the record as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errUsage
	}
	if *base <= 0 {
		return &custody.Error{Code: custody.EINVALID, Message: "give --base N, the version the withdrawal was decided on",
			Hint: "custody record show " + pos[0] + " prints the current version"}
	}
	if strings.TrimSpace(*reason) == "" {
		return &custody.Error{Code: custody.EINVALID, Message: "give --reason: why the record is withdrawn", Hint: "a withdrawn record stays readable, with its reason"}
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
	r, err := st.svc.WithdrawRecord(ctx, actor, pos[0], *base, *reason)
	if err != nil {
		return err
	}
	if _, err := st.svc.Publish(ctx); err != nil {
		return err
	}
	if *asJSON {
		return m.printJSON(r)
	}
	m.printRecordLine("withdrew", r)
	return nil
}

var katotthRe = regexp.MustCompile(`^UA\d{17}$`)

// resolveLocality checks a --locality value: a KATOTTH code passes; a name
// is refused with the codes it may mean (never guessed).
func resolveLocality(flagName, v string) (string, error) {
	if v == "" || katotthRe.MatchString(v) {
		return v, nil
	}
	g, err := loadLocalities()
	if err != nil {
		return "", err
	}
	var cands []string
	for _, l := range g.Search(v, 3) {
		cands = append(cands, fmt.Sprintf("%s (%s)", l.Code, describe(g, l)))
	}
	hint := "custody locality find NAME prints the codes of settlements"
	if len(cands) > 0 {
		hint = "did you mean " + strings.Join(cands, ", or ") + "? " + hint
	}
	return "", &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("--%s %q is not a KATOTTH code (UA and 17 digits)", flagName, v), Hint: hint}
}

// describe names a unit and where it lies: "Izium, city, Kharkivska oblast".
func describe(g *locality.Gazetteer, l locality.Locality) string {
	s := l.NameLatin + ", " + l.Category.String()
	if p := g.Path(l.Code); len(p) > 1 {
		s += ", " + p[0].NameLatin + " " + p[0].Category.String()
	}
	return s
}

// point returns the position of --lat and --lon, which go together.
func point(lat, lon string) (*custody.Point, error) {
	la, err := floatFlag(lat, "lat")
	if err != nil {
		return nil, err
	}
	lo, err := floatFlag(lon, "lon")
	if err != nil {
		return nil, err
	}
	if (la == nil) != (lo == nil) {
		return nil, custody.Errorf(custody.EINVALID, "give --lat and --lon together")
	}
	if la == nil {
		return nil, nil
	}
	return &custody.Point{Lat: *la, Lon: *lo}, nil
}

func (m *Main) cmdSite(ctx context.Context, args []string) error {
	if _, err := m.subcommand("site", "add --name NAME --type TYPE --locality CODE [flags]", args, "add"); err != nil {
		return err
	}
	fs, data, as := m.flags("site add", "--name NAME --type TYPE --locality CODE [--lat N --lon N] [--status S] [--found-on DATE] [--description TEXT] [--json]")
	var s custody.Site
	fs.StringVar(&s.Name, "name", "", "the site's name (required)")
	fs.StringVar(&s.Type, "type", "", strings.Join(custody.SiteTypes, ", ")+" (required)")
	fs.StringVar(&s.Locality, "locality", "", "KATOTTH code of the settlement (required; custody locality find NAME)")
	lat := fs.String("lat", "", "latitude (decimal degrees, WGS 84)")
	lon := fs.String("lon", "", "longitude")
	fs.StringVar(&s.Status, "status", "reported", strings.Join(custody.SiteStatuses, ", "))
	fs.StringVar(&s.FoundOn, "found-on", "", "the date the site was found (YYYY-MM-DD)")
	fs.StringVar(&s.Description, "description", "", "description")
	fs.StringVar(&s.Case, "case", "", "the case record it belongs to")
	fs.StringVar(&s.Team, "team", "", "the responsible team's record")
	fs.IntVar(&s.Graves, "graves", 0, "number of graves")
	reason := fs.String("reason", "", "a note recorded with the change")
	asJSON := fs.Bool("json", false, "print the record as JSON")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		fmt.Fprintf(m.Stderr, "custody site add: unexpected argument %q (quote a name with spaces)\n", pos[0])
		return errUsage
	}
	if s.Locality, err = resolveLocality("locality", s.Locality); err != nil {
		return err
	}
	p, err := point(*lat, *lon)
	if err != nil {
		return err
	}
	if p != nil {
		s.Location = &custody.Geometry{Point: p}
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return m.createRecord(ctx, *data, *as, custody.RecordInput{Kind: custody.KindSite, Data: raw, Reason: *reason}, *asJSON)
}

// precisionOf infers an incident time's precision from its form.
func precisionOf(t string) string {
	switch {
	case len(t) == len("2006-01"):
		return "month"
	case len(t) == len("2006-01-02"):
		return "day"
	}
	return "exact"
}

func (m *Main) cmdIncident(ctx context.Context, args []string) error {
	if _, err := m.subcommand("incident", "add --type TYPE --time TIME --locality CODE [flags]", args, "add"); err != nil {
		return err
	}
	fs, data, as := m.flags("incident add", "--type TYPE --time TIME [--precision P] --locality CODE [--killed-confirmed N] [--killed-estimated N] [--weapon W] [--description TEXT] [--json]")
	var in custody.Incident
	fs.StringVar(&in.Type, "type", "", strings.Join(custody.IncidentTypes, ", ")+" (required)")
	fs.StringVar(&in.Time, "time", "", "when: RFC 3339 (2022-03-05T14:20:00+02:00), a day (2022-03-05) or a month (2022-03) (required)")
	fs.StringVar(&in.Precision, "precision", "", "exact, day or month (default: from the form of --time)")
	fs.StringVar(&in.Locality, "locality", "", "KATOTTH code of the settlement (required; custody locality find NAME)")
	lat := fs.String("lat", "", "latitude (decimal degrees, WGS 84)")
	lon := fs.String("lon", "", "longitude")
	fs.StringVar(&in.Site, "site", "", "the site record")
	fs.StringVar(&in.Weapon, "weapon", "", strings.Join(custody.Weapons, ", "))
	fs.StringVar(&in.Munition, "munition", "", "the munition, e.g. 9M55K")
	fs.StringVar(&in.ProtectedObject, "protected-object", "", strings.Join(custody.ProtectedObjects, ", ")+" (attack_protected)")
	fs.IntVar(&in.KilledConfirmed, "killed-confirmed", 0, "people killed, confirmed")
	fs.IntVar(&in.KilledEstimated, "killed-estimated", 0, "people killed beyond the confirmed, estimated")
	fs.IntVar(&in.InjuredConfirmed, "injured-confirmed", 0, "people injured, confirmed")
	fs.IntVar(&in.InjuredEstimated, "injured-estimated", 0, "people injured beyond the confirmed, estimated")
	fs.StringVar(&in.SuspectedUnit, "suspected-unit", "", "the unit suspected")
	fs.StringVar(&in.Description, "description", "", "description")
	fs.StringVar(&in.Case, "case", "", "the case record")
	reason := fs.String("reason", "", "a note recorded with the change")
	asJSON := fs.Bool("json", false, "print the record as JSON")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		fmt.Fprintf(m.Stderr, "custody incident add: unexpected argument %q (quote text with spaces)\n", pos[0])
		return errUsage
	}
	if in.Locality, err = resolveLocality("locality", in.Locality); err != nil {
		return err
	}
	if in.Precision == "" && in.Time != "" {
		in.Precision = precisionOf(in.Time)
	}
	if in.Location, err = point(*lat, *lon); err != nil {
		return err
	}
	raw, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return m.createRecord(ctx, *data, *as, custody.RecordInput{Kind: custody.KindIncident, Data: raw, Reason: *reason}, *asJSON)
}

func (m *Main) cmdLocality(ctx context.Context, args []string) error {
	if _, err := m.subcommand("locality", "find NAME [--limit N] [--json]", args, "find"); err != nil {
		return err
	}
	fs, _, _ := m.flags("locality find", "NAME [--limit N] [--json]")
	limit := fs.Int("limit", 10, "at most this many results")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	q := strings.TrimSpace(strings.Join(pos, " "))
	if q == "" {
		fmt.Fprintln(m.Stderr, "custody locality find: give a name, e.g. Izium, Ізюм or Izyum")
		return errUsage
	}
	g, err := loadLocalities()
	if err != nil {
		return err
	}
	found := g.Search(q, *limit)
	if len(found) == 0 {
		return &custody.Error{Code: custody.ENOTFOUND, Message: fmt.Sprintf("no locality named %q", q),
			Hint: "try another spelling, or the start of the name"}
	}
	type unit struct {
		Code      string   `json:"code"`
		Category  string   `json:"category"`
		Name      string   `json:"name"`
		NameLatin string   `json:"name_latin"`
		Within    []string `json:"within"` // oblast, raion, hromada, outermost first
		Lat       *float64 `json:"lat,omitempty"`
		Lon       *float64 `json:"lon,omitempty"`
	}
	var out []unit
	for _, l := range found {
		u := unit{Code: l.Code, Category: l.Category.String(), Name: l.Name, NameLatin: l.NameLatin, Within: []string{}}
		path := g.Path(l.Code)
		for _, p := range path[:max(len(path)-1, 0)] {
			u.Within = append(u.Within, p.NameLatin+" "+p.Category.String())
		}
		if l.HasCoord {
			u.Lat, u.Lon = &l.Lat, &l.Lon
		}
		out = append(out, u)
	}
	if *asJSON {
		return m.printJSON(out)
	}
	width := 0
	for _, u := range out {
		width = max(width, len(u.Category))
	}
	w := bufio.NewWriter(m.Stdout)
	for _, u := range out {
		fmt.Fprintf(w, "%s  %-*s  %s (%s)", u.Code, width, u.Category, u.Name, u.NameLatin)
		if len(u.Within) > 0 {
			fmt.Fprintf(w, "  %s", strings.Join(u.Within, " > "))
		}
		if u.Lat != nil {
			fmt.Fprintf(w, "  %.4f, %.4f", *u.Lat, *u.Lon)
		}
		fmt.Fprintln(w)
	}
	return w.Flush()
}

func (m *Main) cmdSearch(ctx context.Context, args []string) error {
	fs, data, as := m.flags("search", "QUERY [--kind K] [--locality CODE] [--from DATE] [--to DATE] [--limit N] [--json]")
	var q custody.SearchQuery
	fs.StringVar(&q.Kind, "kind", "", "only records of this kind")
	fs.StringVar(&q.Locality, "locality", "", "only records in this locality (KATOTTH code)")
	fs.StringVar(&q.From, "from", "", "dated on or after (YYYY-MM-DD)")
	fs.StringVar(&q.To, "to", "", "dated on or before")
	fs.IntVar(&q.Limit, "limit", 20, "at most this many results (up to 200)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	q.Q = strings.TrimSpace(strings.Join(pos, " "))
	if q.Q == "" {
		fmt.Fprintln(m.Stderr, "custody search: give the words to search for")
		fs.Usage()
		return errUsage
	}
	if q.Kind != "" {
		if err := checkKind(q.Kind); err != nil {
			return err
		}
	}
	if q.Locality, err = resolveLocality("locality", q.Locality); err != nil {
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
	hits, err := st.svc.Search(ctx, actor, q)
	if err != nil {
		return err
	}
	if *asJSON {
		if hits == nil {
			hits = []*custody.SearchHit{}
		}
		return m.printJSON(hits)
	}
	if len(hits) == 0 {
		fmt.Fprintf(m.Stderr, "no records match %q\n", q.Q)
		return nil
	}
	w := bufio.NewWriter(m.Stdout)
	for _, h := range hits {
		fmt.Fprintf(w, "%s  %-9s %s\n", h.ID, h.Kind, h.Title)
		if h.Snippet != "" {
			fmt.Fprintf(w, "    %s\n", strings.ReplaceAll(h.Snippet, "\n", " "))
		}
	}
	return w.Flush()
}

func (m *Main) cmdStats(ctx context.Context, args []string) error {
	fs, data, as := m.flags("stats", "[--locality CODE] [--json]")
	loc := fs.String("locality", "", "the figures of one locality (KATOTTH code)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		fmt.Fprintf(m.Stderr, "custody stats: unexpected argument %q\n", pos[0])
		fs.Usage()
		return errUsage
	}
	if *loc, err = resolveLocality("locality", *loc); err != nil {
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
	stats, err := st.svc.Stats(ctx, actor, *loc)
	if err != nil {
		return err
	}
	if *asJSON {
		return m.printJSON(stats)
	}
	w := bufio.NewWriter(m.Stdout)
	if *loc != "" {
		fmt.Fprintf(w, "locality %s\n", *loc)
	}
	for _, r := range []struct {
		name string
		n    int
	}{
		{"bodies recovered", stats.Bodies}, {"  identified", stats.Identified}, {"  with signs of torture", stats.Torture},
		{"killed, confirmed", stats.KilledConfirmed}, {"killed, estimated beyond", stats.KilledEstimated},
		{"injured, confirmed", stats.InjuredConfirmed}, {"injured, estimated beyond", stats.InjuredEstimated},
	} {
		fmt.Fprintf(w, "%-26s %8d\n", r.name, r.n)
	}
	fmt.Fprintf(w, "%-26s %8d of %d\n", "localities visited", stats.LocalitiesVisited, stats.LocalitiesTotal)
	var kinds []string
	for _, k := range custody.RecordKinds {
		if n := stats.Records[k]; n > 0 {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		}
	}
	if len(kinds) == 0 {
		kinds = []string{"none"}
	}
	fmt.Fprintf(w, "records: %s\n", strings.Join(kinds, ", "))
	if len(stats.IncidentsByMonth) > 0 {
		fmt.Fprintln(w, "incidents by month:")
		for _, c := range stats.IncidentsByMonth {
			fmt.Fprintf(w, "  %s  %-18s %6d\n", c.Month, c.Type, c.Count)
		}
	}
	if len(stats.PerLocality) > 0 {
		const row = "  %-19s  %-20s %7v %11v %8v %7v %10v %10v\n"
		fmt.Fprintln(w, "per locality:")
		fmt.Fprintf(w, row, "", "", "bodies", "identified", "torture", "killed", "estimated", "incidents")
		for _, l := range stats.PerLocality {
			fmt.Fprintf(w, row, l.Locality, truncateName(l.Name, 20), l.Bodies, l.Identified, l.Torture, l.KilledConfirmed, l.KilledEstimated, l.Incidents)
		}
	}
	return w.Flush()
}

func truncateName(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// mapFlag collects repeated --map FIELD=COLUMN,... values.
type mapFlag []importer.Map

func (f *mapFlag) String() string { return "" }

func (f *mapFlag) Set(s string) error {
	maps, err := importer.ParseMapping(s)
	if err != nil {
		return errors.New(custody.ErrorMessage(err))
	}
	*f = append(*f, maps...)
	return nil
}

// setFlag collects repeated --set FIELD=VALUE values: constants.
type setFlag []importer.Map

func (f *setFlag) String() string { return "" }

func (f *setFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
		return errors.New("give FIELD=VALUE, e.g. precision=day")
	}
	*f = append(*f, importer.Map{Field: strings.TrimSpace(k), Source: v, Const: true})
	return nil
}

// countingReader counts the bytes read, for the progress bar; it passes
// ReadAt through so that the importer can place JSON errors.
type countingReader struct {
	f *os.File
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) { return c.f.ReadAt(p, off) }

// importError is one rejected row, as --json prints it.
type importError struct {
	Pos   string `json:"pos"` // "line 4", "[2]", "features[2]"
	Error string `json:"error"`
}

// importResult is what import prints with --json.
type importResult struct {
	Kind     string        `json:"kind"`
	File     string        `json:"file"`
	Rows     int           `json:"rows"`
	Imported int           `json:"imported"`
	Rejected int           `json:"rejected"`
	DryRun   bool          `json:"dry_run,omitempty"`
	Errors   []importError `json:"errors,omitempty"`
	Warnings []importError `json:"warnings,omitempty"`
	// Records pairs each row with the record made of it.
	Records []importedRecord `json:"records,omitempty"`
}

type importedRecord struct {
	Pos      string `json:"pos"`
	ID       string `json:"id"`
	LogIndex uint64 `json:"log_index"`
}

// cmdImport imports a file of records in two passes. The first reads,
// converts and checks every row, keeping the records' JSON in one buffer
// (about the size of the file: the input itself is streamed, never held);
// only if every row is good does the second write them, a batch per log
// append (each all or nothing).
func (m *Main) cmdImport(ctx context.Context, args []string) error {
	fs, data, as := m.flags("import", "KIND FILE [--format csv|json|geojson] [--map FIELD=COLUMN,...] [--map-file FILE] [--set FIELD=VALUE] [--batch N] [--dry-run] [--json]")
	format := fs.String("format", "", "csv, json or geojson (default: from the file name's extension)")
	var maps mapFlag
	fs.Var(&maps, "map", "FIELD=COLUMN,...: the column (property) that feeds a record field; dotted fields reach nested ones (ante_mortem.last_seen_at). Repeatable. Without a mapping, columns are named like the fields")
	mapFile := fs.String("map-file", "", "a mapping file: a JSON object {\"FIELD\": \"COLUMN\"} or lines FIELD=COLUMN")
	var sets setFlag
	fs.Var(&sets, "set", "FIELD=VALUE: the field's value in every record, e.g. --set precision=day (repeatable)")
	batch := fs.Int("batch", 5000, fmt.Sprintf("records per log append (1 to %d); each batch is written whole or not at all", evidence.MaxRecordBatch))
	dry := fs.Bool("dry-run", false, "check every row, write nothing")
	delim := fs.String("delimiter", "", "CSV field delimiter (default: detected among , ; and tab)")
	reason := fs.String("reason", "", "a note recorded with every record, e.g. where the file comes from")
	asJSON := fs.Bool("json", false, "print the result as JSON: every row's record ID, or every rejected row")
	flagUsage := fs.Usage
	fs.Usage = func() {
		flagUsage()
		if len(args) > 0 && custody.IsRecordKind(args[0]) {
			fmt.Fprintf(m.Stderr, "\nFields of %s records, for --map and --set:\n%s\n", args[0], wrap(strings.Join(importer.Fields(args[0]), ", "), 90, "  "))
		} else {
			fmt.Fprintln(m.Stderr, "\ncustody import KIND -h lists the fields of a kind.")
		}
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		fmt.Fprintln(m.Stderr, "custody import: give the kind and the file, e.g. custody import incident incidents.csv")
		fs.Usage()
		return errUsage
	}
	kind, file := pos[0], pos[1]
	if err := checkKind(kind); err != nil {
		return err
	}
	if *batch < 1 || *batch > evidence.MaxRecordBatch {
		return custody.Errorf(custody.EINVALID, "--batch %d: give 1 to %d", *batch, evidence.MaxRecordBatch)
	}
	opts, err := importOptions(kind, file, *format, *delim, *mapFile, maps, sets)
	if err != nil {
		return err
	}
	if err := checkFile(file); err != nil {
		return err
	}
	in, err := os.Open(file)
	if err != nil {
		return custody.Errorf(custody.EINVALID, "cannot read %s: %v", file, errors.Unwrap(err))
	}
	defer in.Close()

	st, err := m.openForWrite(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	actor, err := st.actor(ctx, *as)
	if err != nil {
		return err
	}
	if !actor.Role.CanWrite() && !*dry {
		return custody.Errorf(custody.EFORBIDDEN, "role %s may not create records", actor.Role)
	}
	start := time.Now()
	res := &importResult{Kind: kind, File: file, DryRun: *dry}
	good, err := m.checkImport(ctx, st, in, opts, res)
	if err != nil {
		return err
	}
	if len(res.Errors) > 0 {
		if *asJSON {
			m.printJSON(res)
		}
		fmt.Fprintf(m.Stderr, "custody import: %d %s rejected, nothing imported\n", res.Rejected, plural(res.Rejected, "row", "rows"))
		for _, e := range res.Errors {
			fmt.Fprintf(m.Stderr, "  %s: %s\n", e.Pos, e.Error)
		}
		return errFailed
	}
	if good.len() == 0 {
		return custody.Errorf(custody.EINVALID, "%s holds no records", file)
	}
	m.importWarnings(res.Warnings)
	if *dry {
		if *asJSON {
			return m.printJSON(res)
		}
		fmt.Fprintf(m.Stdout, "checked %d %s records in %s: all valid; nothing imported (--dry-run)\n", good.len(), kind, file)
		return nil
	}
	first, last, batches, err := m.writeImport(ctx, st, actor, good, kind, *reason, *batch, *asJSON, res)
	if err != nil {
		return err
	}
	if _, err := st.svc.Publish(ctx); err != nil {
		return err
	}
	if *asJSON {
		return m.printJSON(res)
	}
	secs := time.Since(start).Seconds()
	fmt.Fprintf(m.Stdout, "imported %d %s records from %s in %d %s (log #%d to #%d), %.1f s, %.0f records/s\n",
		res.Imported, kind, file, batches, plural(batches, "batch", "batches"), first, last, secs, float64(res.Imported)/secs)
	return nil
}

// importOptions builds the importer's options from import's flags.
func importOptions(kind, file, format, delim, mapFile string, maps mapFlag, sets setFlag) (importer.Options, error) {
	opts := importer.Options{Kind: kind, Format: importer.Format(strings.ToLower(format))}
	if opts.Format == "" {
		f, ok := importer.FormatOf(file)
		if !ok {
			return opts, &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("cannot tell the format of %s from its name", file),
				Hint: "give --format csv, json or geojson"}
		}
		opts.Format = f
	}
	switch r := []rune(delim); {
	case delim == "":
	case delim == `\t` || delim == "tab":
		opts.Comma = '\t'
	case len(r) == 1:
		opts.Comma = r[0]
	default:
		return opts, custody.Errorf(custody.EINVALID, "--delimiter %q: give one character", delim)
	}
	if mapFile != "" {
		if err := checkFile(mapFile); err != nil {
			return opts, err
		}
		f, err := os.Open(mapFile)
		if err != nil {
			return opts, custody.Errorf(custody.EINVALID, "cannot read %s: %v", mapFile, errors.Unwrap(err))
		}
		fileMaps, err := importer.ReadMapping(f)
		f.Close()
		if err != nil {
			return opts, fmt.Errorf("%s: %w", mapFile, err)
		}
		opts.Mapping = fileMaps
	}
	opts.Mapping = append(opts.Mapping, maps...)
	opts.Mapping = append(opts.Mapping, sets...)
	return opts, nil
}

// checkedRows are the records of the rows that passed every check: their
// JSON, one after another in one buffer, and their places in the file.
type checkedRows struct {
	arena     []byte
	ends      []int // record i is arena[ends[i-1]:ends[i]]
	positions []importer.Pos
}

func (c *checkedRows) len() int { return len(c.ends) }

func (c *checkedRows) add(row importer.Row) {
	c.arena = append(c.arena, row.Data...)
	c.ends = append(c.ends, len(c.arena))
	c.positions = append(c.positions, row.Pos)
}

func (c *checkedRows) data(i int) json.RawMessage {
	from := 0
	if i > 0 {
		from = c.ends[i-1]
	}
	return c.arena[from:c.ends[i]:c.ends[i]]
}

// checkImport is the first pass: it reads every row of in, and returns the
// good ones; res gets the count of rows, the rejected ones and warnings.
func (m *Main) checkImport(ctx context.Context, st *store, in *os.File, opts importer.Options, res *importResult) (*checkedRows, error) {
	fi, err := in.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", res.File, err)
	}
	cr := &countingReader{f: in}
	dec, err := importer.NewDecoder(cr, opts)
	if err != nil {
		return nil, fileError(res.File, err)
	}
	good := &checkedRows{}
	progress := m.progress()
	chk := rowChecker{st: st, gaz: st.svc.Localities(), kind: opts.Kind, seen: map[string]importer.Pos{}}
	for {
		row, err := dec.Next()
		if err == io.EOF {
			break
		}
		var re *importer.RowError
		switch {
		case errors.As(err, &re):
			res.Errors = append(res.Errors, importError{re.Pos.String(), strings.TrimPrefix(re.Error(), re.Pos.String()+": ")})
		case err != nil:
			return nil, fileError(res.File, err)
		case ctx.Err() != nil:
			return nil, custody.Errorf(custody.EUNAVAILABLE, "interrupted; nothing imported")
		default:
			if msg := chk.check(ctx, row); msg != "" {
				res.Errors = append(res.Errors, importError{row.Pos.String(), msg})
				break
			}
			for _, w := range row.Facts.Warnings {
				res.Warnings = append(res.Warnings, importError{row.Pos.String(), w})
			}
			good.add(row)
		}
		res.Rows++
		if progress != nil && res.Rows%1000 == 0 {
			progress("check", cr.n, fi.Size())
		}
	}
	if progress != nil {
		progress("check", fi.Size(), fi.Size())
	}
	res.Rejected = len(res.Errors)
	return good, nil
}

// writeImport is the second pass: it creates the records, batch records
// per log append, and returns the log indexes of the first and last and the
// number of batches.
func (m *Main) writeImport(ctx context.Context, st *store, actor *custody.User, good *checkedRows, kind, reason string, batch int, ids bool,
	res *importResult) (first, last uint64, batches int, err error) {
	progress := m.progress()
	inputs := make([]custody.RecordInput, 0, batch)
	for lo := 0; lo < good.len(); lo += batch {
		hi := min(lo+batch, good.len())
		inputs = inputs[:0]
		for i := lo; i < hi; i++ {
			inputs = append(inputs, custody.RecordInput{Kind: kind, Data: good.data(i), Reason: reason})
		}
		err := ctx.Err()
		var recs []*custody.Record
		if err == nil {
			recs, err = st.svc.CreateRecords(ctx, actor, inputs)
		}
		if err != nil {
			return 0, 0, batches, m.batchFailed(ctx, st, res.File, lo, hi, good.positions, err)
		}
		if batches == 0 {
			first = recs[0].LogIndex
		}
		last = recs[len(recs)-1].LogIndex
		if ids {
			for i, r := range recs {
				res.Records = append(res.Records, importedRecord{good.positions[lo+i].String(), r.ID, r.LogIndex})
			}
		}
		res.Imported += len(recs)
		batches++
		if progress != nil {
			progress("import", int64(hi), int64(good.len()))
		}
	}
	return first, last, batches, nil
}

// rowChecker makes the checks CreateRecords would make against the store
// and the codifier, so that a bad row is reported before any batch is
// written.
type rowChecker struct {
	st   *store
	gaz  *locality.Gazetteer
	kind string
	seen map[string]importer.Pos // localities' codes, which are their IDs
}

func (c *rowChecker) check(ctx context.Context, row importer.Row) string {
	st, gaz, kind := c.st, c.gaz, c.kind
	if len(row.Data) > evidence.MaxRecordData {
		return fmt.Sprintf("the record is %d bytes; the limit is %d", len(row.Data), evidence.MaxRecordData)
	}
	var refs []custody.RecordRef
	for _, r := range row.Facts.Refs {
		if r.Target == "locality" {
			if gaz != nil {
				if _, ok := gaz.Get(r.ID); !ok {
					return fmt.Sprintf("%s.%s: no locality %s in the KATOTTH codifier", kind, r.Field, r.ID)
				}
			}
			continue
		}
		refs = append(refs, r)
	}
	if kind == custody.KindLocality {
		// Its ID is its code: one record per locality.
		code := row.Facts.Locality
		if p, dup := c.seen[code]; dup {
			return fmt.Sprintf("locality %s is also at %s", code, p)
		}
		c.seen[code] = row.Pos
		if _, err := st.db.Record(ctx, code); err == nil {
			return fmt.Sprintf("locality %s has a record already (custody record update %s changes it)", code, code)
		} else if custody.ErrorCode(err) != custody.ENOTFOUND {
			return "cannot check the store: " + custody.ErrorMessage(err)
		}
	}
	if len(refs) == 0 {
		return ""
	}
	missing, err := st.db.Missing(ctx, refs)
	if err != nil {
		return "cannot check references: " + custody.ErrorMessage(err)
	}
	if len(missing) > 0 {
		r := missing[0]
		what := r.Target
		if r.Kind != "" {
			what = r.Kind
		}
		return fmt.Sprintf("%s.%s: no %s %s in this store", kind, r.Field, what, r.ID)
	}
	return ""
}

func (m *Main) importWarnings(ws []importError) {
	const show = 20
	for i, w := range ws {
		if i == show {
			fmt.Fprintf(m.Stderr, "warning: and %d more (custody import --json lists them all)\n", len(ws)-show)
			break
		}
		fmt.Fprintf(m.Stderr, "warning: %s: %s\n", w.Pos, w.Error)
	}
}

var batchRecordRe = regexp.MustCompile(`^record (\d+): `)

// batchFailed reports a batch that CreateRecords refused: what was written
// before it, and which row it names.
func (m *Main) batchFailed(ctx context.Context, st *store, file string, lo, hi int, positions []importer.Pos, err error) error {
	if errors.Is(err, context.Canceled) {
		err = custody.Errorf(custody.EUNAVAILABLE, "interrupted")
		ctx = context.WithoutCancel(ctx)
	}
	msg := custody.ErrorMessage(err)
	if sm := batchRecordRe.FindStringSubmatch(msg); sm != nil {
		if k, _ := strconv.Atoi(sm[1]); k >= 1 && lo+k-1 < hi {
			msg = positions[lo+k-1].String() + ": " + strings.TrimPrefix(msg, sm[0])
		}
	}
	if lo > 0 {
		if _, perr := st.svc.Publish(ctx); perr != nil {
			m.logger().Warn("publish after a failed import", "err", perr)
		}
		fmt.Fprintf(m.Stderr, "custody import: %d records, up to %s of %s, were imported; the rows from %s on were not\n",
			lo, positions[lo-1], file, positions[lo])
		fmt.Fprintf(m.Stderr, "  to finish, import the rows from %s on (a new file), not the whole file again\n", positions[lo])
	} else {
		fmt.Fprintf(m.Stderr, "custody import: nothing imported\n")
	}
	if custody.ErrorCode(err) == custody.EINTERNAL {
		return fmt.Errorf("the batch from %s to %s: %w", positions[lo], positions[hi-1], err)
	}
	return &custody.Error{Code: custody.ErrorCode(err), Message: fmt.Sprintf("the batch from %s to %s was refused: %s", positions[lo], positions[hi-1], msg)}
}

// fileError prefixes a problem with the file's name, keeping its code.
func fileError(file string, err error) error {
	var e *custody.Error
	if errors.As(err, &e) {
		return &custody.Error{Code: e.Code, Message: file + ": " + e.Message, Hint: e.Hint}
	}
	return fmt.Errorf("%s: %w", file, err)
}

// wrap breaks text into lines of at most width bytes, each indented.
func wrap(text string, width int, indent string) string {
	var b strings.Builder
	line := indent
	for _, w := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += w
	}
	b.WriteString(line)
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
