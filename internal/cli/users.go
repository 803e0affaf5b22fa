package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/evidence"
)

// Sign-in hardening on the command line: custody user totp | password |
// unlock, custody session, custody token.

// userSubcommands are the subcommands of custody user defined here; the
// others (add, token, list) are in commands.go.
func (m *Main) userSubcommands() map[string]func(ctx context.Context, args []string) error {
	return map[string]func(ctx context.Context, args []string) error{
		"totp":      m.cmdUserTOTP,
		"password":  m.cmdUserPassword,
		"unlock":    m.cmdUserUnlock,
		"clearance": m.cmdUserClearance, // access.go
	}
}

// oneName parses a subcommand's flags and its one positional argument.
func oneName(fs *flag.FlagSet, pos []string, what string, m *Main) (string, error) {
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		fmt.Fprintf(m.Stderr, "custody: name one %s\n", what)
		fs.Usage()
		return "", errUsage
	}
	return pos[0], nil
}

func (m *Main) cmdUserTOTP(ctx context.Context, args []string) error {
	fs, data, as := m.flags("user totp", "NAME [--disable]")
	disable := fs.Bool("disable", false, "remove the user's second factor")
	asJSON := fs.Bool("json", false, "print the key as JSON")
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
	if *disable {
		if err := st.svc.DisableTOTP(ctx, actor, name); err != nil {
			return err
		}
		if _, err := st.svc.Publish(ctx); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "%s signs in with a password alone now\n", name)
		return nil
	}
	enr, err := st.svc.EnrolTOTP(ctx, actor, name)
	if err != nil {
		return err
	}
	if _, err := st.svc.Publish(ctx); err != nil {
		return err
	}
	if *asJSON {
		return m.printJSON(enr)
	}
	fmt.Fprintf(m.Stderr, "Second factor of %s: add this key to an authenticator app (shown once; any earlier key stops working).\n"+
		"Turn the URI into a QR code, or type the key in (time-based, 6 digits, 30 seconds, SHA-1):\n", name)
	fmt.Fprintln(m.Stdout, enr.URI)
	fmt.Fprintln(m.Stdout, "key:", groupKey(enr.Secret))
	fmt.Fprintf(m.Stderr, "From now on the web sign-in of %s asks for a code after the password.\n", name)
	return nil
}

// groupKey writes a base32 key in groups of four, as apps let one type it.
func groupKey(k string) string {
	var b strings.Builder
	for i := 0; i < len(k); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k[i:min(len(k), i+4)])
	}
	return b.String()
}

func (m *Main) cmdUserPassword(ctx context.Context, args []string) error {
	fs, data, as := m.flags("user password", "NAME   (the password is read from standard input, or asked for on a terminal)")
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
	if actor.Role != custody.RoleAdmin {
		return custody.Errorf(custody.EFORBIDDEN, "only an admin may set passwords")
	}
	if _, err := st.db.UserByName(ctx, name); err != nil {
		return err
	}
	pw, err := m.readNewPassword(ctx, name)
	if err != nil {
		return err
	}
	if err := st.svc.SetPassword(ctx, actor, name, pw); err != nil {
		return err
	}
	if _, err := st.svc.Publish(ctx); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "password of %s set; their web sessions are ended\n", name)
	return nil
}

// readNewPassword reads a new password: asked for twice, without echo, on a
// terminal; else the first line of standard input.
func (m *Main) readNewPassword(ctx context.Context, name string) (string, error) {
	if f, ok := m.Stdin.(*os.File); ok && isTerminal(f) {
		pw, err := m.prompt(ctx, f, fmt.Sprintf("New password for %s (12 characters at least): ", name))
		if err != nil {
			return "", err
		}
		again, err := m.prompt(ctx, f, "The same again: ")
		if err != nil {
			return "", err
		}
		if pw != again {
			return "", custody.Errorf(custody.EINVALID, "the two passwords differ; nothing was changed")
		}
		return pw, nil
	}
	line, err := bufio.NewReaderSize(io.LimitReader(m.Stdin, 4096), 4096).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", custody.Errorf(custody.EINVALID, "cannot read the password from standard input: %v", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", &custody.Error{Code: custody.EINVALID, Message: "no password on standard input",
			Hint: "e.g. custody user password NAME < file, or run it on a terminal to be asked"}
	}
	return pw, nil
}

// prompt asks for a secret on a terminal with echo off, restoring the
// terminal however the read ends (an interrupt included).
func (m *Main) prompt(ctx context.Context, f *os.File, question string) (string, error) {
	fmt.Fprint(m.Stderr, question)
	restore, err := noEcho(f)
	if err != nil {
		fmt.Fprintln(m.Stderr)
		return "", &custody.Error{Code: custody.EUNSUPPORTED, Message: "cannot hide typing on this terminal: " + err.Error(),
			Hint: "pipe the password on standard input instead"}
	}
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := bufio.NewReaderSize(f, 4096).ReadString('\n')
		ch <- result{line, err}
	}()
	var r result
	select {
	case r = <-ch:
	case <-ctx.Done():
		r.err = ctx.Err()
	}
	restore()
	fmt.Fprintln(m.Stderr)
	if r.err != nil && (r.line == "" || !errors.Is(r.err, io.EOF)) {
		return "", custody.Errorf(custody.EINVALID, "no password given")
	}
	return strings.TrimRight(r.line, "\r\n"), nil
}

func (m *Main) cmdUserUnlock(ctx context.Context, args []string) error {
	fs, data, as := m.flags("user unlock", "NAME")
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
	was, err := st.svc.Unlock(ctx, actor, name)
	if err != nil {
		return err
	}
	if was {
		fmt.Fprintf(m.Stdout, "%s is unlocked\n", name)
	} else {
		fmt.Fprintf(m.Stdout, "%s was not locked; failed sign-ins so far are forgotten\n", name)
	}
	return nil
}

func (m *Main) cmdSession(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "revoke") {
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			fmt.Fprintf(m.Stderr, "custody session: unknown subcommand %q (list, revoke)\n", args[0])
		} else {
			fmt.Fprintln(m.Stderr, "Usage: custody session list [--user NAME] [--json] | revoke ID | revoke --user NAME")
		}
		return errUsage
	}
	sub := args[0]
	usage := "[--user NAME] [--json]"
	if sub == "revoke" {
		usage = "ID | --user NAME"
	}
	fs, data, as := m.flags("session "+sub, usage)
	user := fs.String("user", "", "the user whose sessions to list or revoke")
	asJSON := new(bool)
	if sub == "list" {
		asJSON = fs.Bool("json", false, "print JSON")
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	switch {
	case sub == "list" && len(pos) != 0,
		sub == "revoke" && (len(pos) == 1) == (*user != ""),
		sub == "revoke" && len(pos) > 1:
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
	switch {
	case sub == "list":
		list, err := st.svc.Sessions(ctx, actor, *user)
		if err != nil {
			return err
		}
		if *asJSON {
			return m.printJSON(list)
		}
		if len(list) == 0 {
			fmt.Fprintln(m.Stderr, "no open sessions")
			return nil
		}
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tSIGNED IN\tLAST SEEN\tADDRESS\tBROWSER")
		for _, s := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.User, shortTime(s.CreatedAt), shortTime(s.LastSeen), dash(s.Addr),
				dash(oneLine(s.UserAgent, 60)))
		}
		return tw.Flush()
	case *user != "":
		n, err := st.svc.RevokeUserSessions(ctx, actor, *user)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "revoked %d %s of %s\n", n, plural(int(n), "session", "sessions"), *user)
		return nil
	default:
		if err := st.svc.RevokeSession(ctx, actor, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "revoked session %s\n", strings.ToLower(pos[0]))
		return nil
	}
}

func (m *Main) cmdToken(ctx context.Context, args []string) error {
	subs := map[string]string{
		"create": "USER [--role ROLE] [--expires 30d] [--label TEXT]",
		"list":   "[USER] [--json]",
		"revoke": "ID",
	}
	if len(args) == 0 || subs[args[0]] == "" {
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			fmt.Fprintf(m.Stderr, "custody token: unknown subcommand %q (create, list, revoke)\n", args[0])
		} else {
			fmt.Fprintln(m.Stderr, "Usage: custody token create USER [--role ROLE] [--expires 30d] [--label TEXT] | list [USER] | revoke ID")
		}
		return errUsage
	}
	sub := args[0]
	fs, data, as := m.flags("token "+sub, subs[sub])
	role, expires, label := new(string), new(string), new(string)
	if sub == "create" {
		role = fs.String("role", "", "the token's role: the user's own (default), analyst or reviewer")
		expires = fs.String("expires", "30d", "lifetime: e.g. 12h, 30d, 8w (1 hour to 366 days)")
		label = fs.String("label", "", "what the token is for")
	}
	asJSON := new(bool)
	if sub != "revoke" {
		asJSON = fs.Bool("json", false, "print JSON")
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if sub != "list" && len(pos) != 1 || sub == "list" && len(pos) > 1 {
		fs.Usage()
		return errUsage
	}
	var life time.Duration
	var r custody.Role
	if sub == "create" {
		if life, err = parseLife(*expires); err != nil {
			return err
		}
		if *role != "" {
			if r, err = custody.ParseRole(*role); err != nil {
				return err
			}
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
	switch sub {
	case "create":
		t, token, err := st.svc.CreateToken(ctx, actor, evidence.TokenRequest{User: pos[0], Role: r, Expires: life, Label: *label})
		if err != nil {
			return err
		}
		if _, err := st.svc.Publish(ctx); err != nil {
			return err
		}
		if *asJSON {
			return m.printJSON(struct {
				*custody.APIToken
				Token string `json:"token"`
			}{t, token})
		}
		fmt.Fprintf(m.Stderr, "API token %s of %s, role %s, expires %s (shown once; use as Authorization: Bearer TOKEN):\n",
			t.ID, t.User, t.Role, shortTime(t.ExpiresAt))
		fmt.Fprintln(m.Stdout, token)
		return nil
	case "list":
		name := ""
		if len(pos) == 1 {
			name = pos[0]
		}
		list, err := st.svc.Tokens(ctx, actor, name)
		if err != nil {
			return err
		}
		if *asJSON {
			if list == nil {
				list = []*custody.APIToken{}
			}
			return m.printJSON(list)
		}
		if len(list) == 0 {
			fmt.Fprintln(m.Stderr, "no scoped tokens (each user's own token, from custody user add or user token, is not listed)")
			return nil
		}
		now := m.Now()
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tROLE\tSTATE\tEXPIRES\tLABEL")
		for _, t := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.User, t.Role, tokenState(t, now), shortTime(t.ExpiresAt), dash(oneLine(t.Label, 60)))
		}
		return tw.Flush()
	default: // revoke
		t, err := st.svc.RevokeToken(ctx, actor, pos[0])
		if err != nil {
			return err
		}
		if _, err := st.svc.Publish(ctx); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "revoked token %s of %s\n", t.ID, t.User)
		return nil
	}
}

func tokenState(t *custody.APIToken, now time.Time) string {
	if t.RevokedAt != "" {
		return "revoked"
	}
	if exp, err := time.Parse(custody.TimeFormat, t.ExpiresAt); err == nil && !now.Before(exp) {
		return "expired"
	}
	return "active"
}

// parseLife reads a token lifetime: Go durations (12h, 90m) and days (30d)
// or weeks (8w).
func parseLife(s string) (time.Duration, error) {
	bad := &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("--expires %q is not a lifetime", truncateName(s, 40)),
		Hint: "e.g. 12h, 30d, 8w"}
	s = strings.TrimSpace(s)
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v <= 0 || v > 10000 {
				return 0, bad
			}
			return time.Duration(v) * unit, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, bad
	}
	return d, nil
}

// shortTime shows a TimeFormat time to the minute, in UTC.
func shortTime(s string) string {
	t, err := time.Parse(custody.TimeFormat, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine makes text safe for a table row: no tabs or line breaks, at most
// n bytes.
func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return truncateName(s, n)
}
