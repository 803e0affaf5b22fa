package sqlstore

import (
	"strings"
	"testing"
)

func TestRedactorText(t *testing.T) {
	r := NewRedactor([]ProtectedPerson{
		{ID: "01a212ad-6e69-7424-921c-d13748045bee", Pseudonym: "Witness W-aaaaaa", Protection: "high", Name: "Оксана Приходько"},
		{ID: "01a212ad-6e69-7424-921c-d13748045bef", Pseudonym: "Witness W-bbbbbb", Protection: "low", Name: "Оксана"},
		{ID: "01a212ad-0000-7000-8000-000000000000", Pseudonym: "Witness W-cccccc", Protection: "low", Name: "Ян"}, // too short to match in text
	}, true)
	for _, c := range []struct{ in, want string }{
		{"Я, Оксана Приходько, бачила.", "Я, Witness W-aaaaaa, бачила."},
		{"оксана приходько і ОКСАНА", "Witness W-aaaaaa і Witness W-bbbbbb"},
		{"Oksana Prykhodko said", "Witness W-aaaaaa said"},
		{"Оксанівка — село", "Оксанівка — село"}, // no match inside a longer word
		{"Ян прийшов", "Ян прийшов"},
		{"see 01a212ad-6e69-7424-921c-d13748045bee.", "see Witness W-aaaaaa."},
		{"", ""},
	} {
		got, used := r.Text(c.in)
		if got != c.want {
			t.Errorf("Text(%q) = %q, want %q", c.in, got, c.want)
		}
		if (got != c.in) != (len(used) > 0) {
			t.Errorf("Text(%q): used %v", c.in, used)
		}
	}
	if got, _ := r.Without("01a212ad-6e69-7424-921c-d13748045bee").Text("Оксана Приходько"); got != "Witness W-bbbbbb Приходько" {
		t.Errorf("Without: %q", got)
	}
	out, fields, used, err := r.JSON([]byte(`{"a":["x Оксана Приходько"],"b":{"c":"none"}}`))
	if err != nil || strings.Contains(string(out), "Оксана") || len(fields) != 1 || fields[0] != "a[0]" || len(used) != 1 {
		t.Errorf("JSON = %s %v %v %v", out, fields, used, err)
	}
}

func FuzzRedactorText(f *testing.F) {
	f.Add("Оксана Приходько", "Я, Оксана Приходько, бачила")
	f.Add("Іван Іванов", "іван іванов іванович")
	f.Fuzz(func(t *testing.T, name, text string) {
		r := NewRedactor([]ProtectedPerson{{ID: "id", Pseudonym: "Witness W-000000", Protection: "high", Name: name}}, false)
		got, _ := r.Text(text)
		// What was replaced by the pseudonym is gone where it stood alone.
		if n := strings.TrimSpace(name); len([]rune(n)) >= minNameRunes && !strings.ContainsAny(n, "\x00") &&
			strings.Contains(" "+text+" ", " "+n+" ") && strings.Contains(" "+got+" ", " "+n+" ") &&
			!strings.Contains(n, "Witness") && firstWord(n) != "" && isWordStart(n) {
			t.Errorf("Text(%q) with %q kept it: %q", text, n, got)
		}
	})
}

func isWordStart(s string) bool {
	for _, c := range s {
		return isWord(c)
	}
	return false
}
