package legal

import (
	"strings"
	"testing"
)

// TestParseRejects checks that parse refuses inconsistent data, so that a
// mistake in a hand-edited data file fails the tests rather than reaching a
// user.
func TestParseRejects(t *testing.T) {
	const head = `{"instrument":"Test","code":"RS","source":{},"licence":"","derivation":"","provisions":[`
	const art = `{"id":"RS 6","parent":"","article":"6","heading":"Genocide","text":"x:"}`
	const okProvisions = head + art + `,{"id":"RS 6(a)","parent":"RS 6","article":"6","text":"Killing;"}]}`
	crime := func(body string) string { return `{"note":"","crimes":[` + body + `]}` }
	const okElements = `[{"id":"RS 6(a)/1","kind":"material","text":"m"},{"id":"RS 6(a)/2","kind":"contextual","text":"c"},{"id":"RS 6(a)/3","kind":"mental","text":"i"}]`
	okCrime := `{"id":"RS 6(a)","title":"Genocide by killing","provisions":["RS 6(a)"],"conducts":["killing"],"elements":` + okElements + `}`

	if _, err := parse([][]byte{[]byte(okProvisions)}, []byte(crime(okCrime))); err != nil {
		t.Fatalf("the valid base case fails: %v", err)
	}
	for _, tt := range []struct {
		name, provisions, elements, want string
	}{
		{"not JSON", `{`, crime(""), "provisions file 1"},
		{"unknown field", head + `{"id":"RS 6","parent":"","article":"6","heading":"G","text":"","extra":1}]}`, crime(""), "unknown field"},
		{"trailing data", okProvisions + `{}`, crime(""), "data after"},
		{"no instrument", `{"provisions":[]}`, crime(""), "no instrument"},
		{"bad ID", head + `{"id":"RS","parent":"","article":"6","heading":"G","text":""}]}`, crime(""), "not a legal provision ID"},
		{"not canonical", head + `{"id":"RS 6 (a)","parent":"RS 6","article":"6","text":"x"}]}`, crime(""), "not canonical"},
		{"wrong code", head + `{"id":"CCU 6","parent":"","article":"6","heading":"G","text":""}]}`, crime(""), "code is not"},
		{"crime as provision", head + art + `,{"id":"RS 6(a)-1","parent":"RS 6","article":"6","text":"x"}]}`, crime(""), "not a provision"},
		{"article mismatch", head + `{"id":"RS 6","parent":"","article":"7","heading":"G","text":""}]}`, crime(""), "does not match"},
		{"duplicate", head + art + `,` + art + `]}`, crime(""), "duplicate"},
		{"wrong parent", head + art + `,{"id":"RS 6(a)","parent":"RS 7","article":"6","text":"x"}]}`, crime(""), "parent"},
		{"parent after child", head + `{"id":"RS 6(a)","parent":"RS 6","article":"6","text":"x"},` + art + `]}`, crime(""), "does not come before"},
		{"heading on child", head + art + `,{"id":"RS 6(a)","parent":"RS 6","article":"6","heading":"H","text":"x"}]}`, crime(""), "heading on a provision"},
		{"no text", head + art + `,{"id":"RS 6(a)","parent":"RS 6","article":"6","text":" "}]}`, crime(""), "no text"},
		{"article with parent", head + `{"id":"RS 6","parent":"RS 5","article":"6","heading":"G","text":""}]}`, crime(""), "article with a parent"},
		{"article without heading", head + `{"id":"RS 6","parent":"","article":"6","text":""}]}`, crime(""), "without a heading"},

		{"elements not JSON", okProvisions, `[`, "elements file"},
		{"crime ID", okProvisions, crime(strings.Replace(okCrime, `"id":"RS 6(a)"`, `"id":"RS6(a)"`, 1)), "not a legal provision ID"},
		{"crime not canonical", okProvisions, crime(strings.Replace(okCrime, `"id":"RS 6(a)"`, `"id":"RS 6 (a)"`, 1)), "not canonical"},
		{"crime is an element", okProvisions, crime(strings.Replace(okCrime, `"id":"RS 6(a)"`, `"id":"RS 6(a)/1"`, 1)), "an element ID"},
		{"no title", okProvisions, crime(strings.Replace(okCrime, `Genocide by killing`, ``, 1)), "no title"},
		{"no provisions", okProvisions, crime(strings.Replace(okCrime, `["RS 6(a)"]`, `[]`, 1)), "no provisions"},
		{"first provision", okProvisions, crime(strings.Replace(okCrime, `["RS 6(a)"]`, `["RS 6","RS 6(a)"]`, 1)), "first provision"},
		{"unknown provision", okProvisions, crime(strings.Replace(okCrime, `["RS 6(a)"]`, `["RS 6(a)","RS 6(b)"]`, 1)), "not in the catalogue"},
		{"provision twice", okProvisions, crime(strings.Replace(okCrime, `["RS 6(a)"]`, `["RS 6(a)","RS 6(a)"]`, 1)), "listed twice"},
		{"duplicate crime", okProvisions, crime(okCrime + "," + okCrime), "duplicate"},
		{"no conducts", okProvisions, crime(strings.Replace(okCrime, `["killing"]`, `[]`, 1)), "no conducts"},
		{"unknown conduct", okProvisions, crime(strings.Replace(okCrime, `["killing"]`, `["looting"]`, 1)), "unknown conduct"},
		{"element of another crime", okProvisions, crime(strings.Replace(okCrime, `"RS 6(a)/2"`, `"RS 6(b)/2"`, 1)), "followed by a number"},
		{"element number", okProvisions, crime(strings.Replace(okCrime, `"RS 6(a)/2"`, `"RS 6(a)/02"`, 1)), "followed by a number"},
		{"duplicate element", okProvisions, crime(strings.Replace(okCrime, `"RS 6(a)/2"`, `"RS 6(a)/1"`, 1)), "duplicate element"},
		{"unknown kind", okProvisions, crime(strings.Replace(okCrime, `"contextual"`, `"circumstance"`, 1)), "unknown kind"},
		{"kinds out of order", okProvisions, crime(strings.Replace(okCrime,
			`"kind":"material","text":"m"},{"id":"RS 6(a)/2","kind":"contextual"`,
			`"kind":"contextual","text":"m"},{"id":"RS 6(a)/2","kind":"material"`, 1)), "after a later kind"},
		{"element without text", okProvisions, crime(strings.Replace(okCrime, `"text":"c"`, `"text":""`, 1)), "no text"},
		{"no mental element", okProvisions, crime(strings.Replace(okCrime, `,{"id":"RS 6(a)/3","kind":"mental","text":"i"}`, ``, 1)), "no mental element"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse([][]byte{[]byte(tt.provisions)}, []byte(tt.elements))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parse: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
