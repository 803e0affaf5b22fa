package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/custody-dev/custody"
)

func TestCaseMatrixCommand(t *testing.T) {
	dir, _ := initStore(t)
	inc := recordJSON(t, mustRun(t, `{"type":"killing","time":"2022-04","precision":"month","locality":"`+izium+`","killed_confirmed":1}`,
		"record", "create", "incident", "--data", dir, "--json").stdout)
	// The store refuses control characters in text; a bidirectional
	// override (which would reverse the rest of the terminal line) it
	// keeps, and the table drops.
	caseData := `{"number":"12022220000000001","title":"Killings \u202ein Izium","charges":[{"crime":"RS 8(2)(a)(i)","support":[` +
		`{"element":"RS 8(2)(a)(i)/1","source":"` + inc.ID + `","reason":"the incident record\u202e","verified":true}]}]}`
	cs := recordJSON(t, mustRun(t, caseData, "record", "create", "case", "--data", dir, "--json").stdout)

	for _, arg := range []string{cs.ID, "12022220000000001"} {
		out := mustRun(t, "", "case", "matrix", arg, "--data", dir).stdout
		for _, want := range []string{
			"case " + cs.ID + "  number 12022220000000001",
			"element(s) with a gap",
			"charge RS 8(2)(a)(i): War crime of wilful killing",
			"ELEMENT  ", "KIND  ", "GAP  ", "SOURCE  ", "LINKED BY  ", "REASON  ",
			"RS 8(2)(a)(i)/1  material",
			"GAP: single source",
			`incident "` + inc.Title + `" (verified)`,
			"admin ",
			"the incident record",
			inc.ID,
			"GAP: no source",
			"(none)",
			"elements:\n  RS 8(2)(a)(i)/1  The perpetrator killed",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("case matrix %s: no %q in\n%s", arg, want, out)
			}
		}
		if strings.ContainsRune(out, '\u202e') || !strings.Contains(out, `"Killings in Izium"`) {
			t.Errorf("case matrix %s prints a bidirectional override from the store: %q", arg, out)
		}
	}

	var m custody.CaseMatrix
	out := mustRun(t, "", "case", "matrix", cs.ID, "--json", "--data", dir).stdout
	if err := json.Unmarshal([]byte(out), &m); err != nil || m.Case != cs.ID || len(m.Charges) != 1 || m.Gaps < 2 ||
		m.Charges[0].Elements[0].Support[0].Source != inc.ID || m.Charges[0].Elements[0].Gap != custody.GapSingleSource {
		t.Errorf("--json: %v\n%s", err, out)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"case", "matrix", "12022229999999999"}, 1, "no case with the number 12022229999999999"},
		{[]string{"case", "matrix", "12022229999999999"}, 1, "custody record list --kind case"},
		{[]string{"case", "matrix", inc.ID}, 1, "not a case"},
		{[]string{"case", "matrix"}, 2, "name one case"},
		{[]string{"case", "matrx", cs.ID}, 2, `did you mean "matrix"?`},
	} {
		r := runMain(t, "", false, append(tc.args, "--data", dir)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("custody %s: exit %d, %q; want %d and %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.code, tc.want)
		}
	}
}
