package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/custody-dev/custody"
)

func (m *Main) cmdCase(ctx context.Context, args []string) error {
	if _, err := m.subcommand("case", "matrix CASE [--json]", args, "matrix"); err != nil {
		return err
	}
	return m.caseMatrix(ctx, args[1:])
}

// caseMatrix prints a case's matrix: for each charged crime, each element
// with its kind, the sources that support it (kind, title, who linked it,
// when and why) and its gap.
func (m *Main) caseMatrix(ctx context.Context, args []string) error {
	fs, data, as := m.flags("case matrix", "CASE [--json]\n\nCASE is the case record's ID or its national register (ЄРДР) number.")
	asJSON := fs.Bool("json", false, "print the matrix as JSON (as GET /api/v1/cases/{id}/matrix gives it)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(m.Stderr, "custody case matrix: name one case (its record ID or its national register number)")
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
	id, err := findCase(ctx, st, actor, pos[0])
	if err != nil {
		return err
	}
	mx, err := st.svc.CaseMatrix(ctx, actor, id)
	if err != nil {
		return err
	}
	if *asJSON {
		return m.printJSON(mx)
	}
	return m.printMatrix(mx, userNames(ctx, st))
}

// findCase returns the ID of the case named by arg: a record ID, or a
// national register number (digits only), looked up among the cases the
// actor may see.
func findCase(ctx context.Context, st *store, actor *custody.User, arg string) (string, error) {
	arg = strings.TrimSpace(arg)
	if arg == "" || strings.Trim(arg, "0123456789") != "" {
		return arg, nil
	}
	var found []string
	f := custody.RecordFilter{Kind: custody.KindCase, Limit: 1000}
	for {
		pg, err := st.svc.Records(ctx, actor, f)
		if err != nil {
			return "", err
		}
		for _, r := range pg.Records {
			var c custody.Case
			if json.Unmarshal(r.Data, &c) == nil && c.Number == arg {
				found = append(found, r.ID)
			}
		}
		if pg.Next == "" {
			break
		}
		f.After = pg.Next
	}
	switch len(found) {
	case 0:
		return "", &custody.Error{Code: custody.ENOTFOUND, Message: fmt.Sprintf("no case with the number %s", arg),
			Hint: "custody record list --kind case lists the cases; give the case record's ID or its national register number"}
	case 1:
		return found[0], nil
	}
	return "", &custody.Error{Code: custody.ECONFLICT, Message: fmt.Sprintf("%d cases have the number %s: %s", len(found), arg, strings.Join(found, ", ")),
		Hint: "give the case record's ID"}
}

// printMatrix prints the matrix as a table per charge, then the elements'
// wording. Text from the store is cleaned of control characters (a title
// cannot move the cursor or recolour the terminal) and long text is cut in
// the table; --json has it whole.
func (m *Main) printMatrix(mx *custody.CaseMatrix, names map[string]string) error {
	w := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "case %s  number %s  %q\n", mx.Case, clean(mx.Number, 40), clean(mx.Title, 120))
	switch {
	case len(mx.Charges) == 0:
		fmt.Fprintln(w, "no charges recorded: add them to the case record (charges, with the support of each element)")
	case mx.Gaps == 0:
		fmt.Fprintln(w, "no gaps: every element has two sources or more, one verified at least")
	default:
		fmt.Fprintf(w, "%d element(s) with a gap (no source, a single source, or no verified source)\n", mx.Gaps)
	}
	for _, ch := range mx.Charges {
		fmt.Fprintf(w, "\ncharge %s: %s\n", clean(ch.Crime, 60), clean(ch.Title, 120))
		if len(ch.Provisions) > 0 {
			fmt.Fprintf(w, "provisions: %s\n", clean(strings.Join(ch.Provisions, ", "), 200))
		}
		fmt.Fprintln(w, "ELEMENT\tKIND\tGAP\tSOURCE\tLINKED BY\tREASON\tSOURCE ID")
		for _, el := range ch.Elements {
			gap := "-"
			if el.Gap != "" {
				gap = "GAP: " + gapText(el.Gap)
			}
			lead := fmt.Sprintf("%s\t%s\t%s\t", clean(el.Element, 40), clean(el.Kind, 20), gap)
			if len(el.Support) == 0 {
				fmt.Fprintf(w, "%s(none)\n", lead)
				continue
			}
			for i, sp := range el.Support {
				if i > 0 {
					lead = "\t\t\t"
				}
				src := clean(sp.SourceKind, 20) + " " + fmt.Sprintf("%q", clean(sp.Title, 48))
				if sp.Verified {
					src += " (verified)"
				}
				if sp.Withdrawn {
					src += " (WITHDRAWN)"
				}
				by := "-"
				if sp.LinkedBy != "" {
					by = clean(nameOf(names, sp.LinkedBy), 30)
					if len(sp.LinkedAt) >= 10 {
						by += " " + sp.LinkedAt[:10]
					}
				}
				reason := clean(sp.Reason, 60)
				if reason == "" {
					reason = "-"
				}
				fmt.Fprintf(w, "%s%s\t%s\t%s\t%s\n", lead, src, by, reason, sp.Source)
			}
		}
		if err := w.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(m.Stdout, "elements:")
		for _, el := range ch.Elements {
			fmt.Fprintf(m.Stdout, "  %s  %s\n", clean(el.Element, 40), clean(el.Text, 2000))
		}
	}
	return w.Flush()
}

func gapText(gap string) string {
	switch gap {
	case custody.GapUnsupported:
		return "no source"
	case custody.GapSingleSource:
		return "single source"
	case custody.GapUnverified:
		return "no verified source"
	}
	return gap
}

// clean makes text from the store safe and tidy on one line of a terminal
// table: control characters (escape sequences, tabs, newlines, bidi
// overrides) become spaces or are dropped, and text over max runes is cut
// with an ellipsis.
func clean(s string, max int) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			r = ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			continue
		}
		if n == max {
			return strings.TrimRight(b.String(), " ") + "…"
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
