package legal

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseID(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want ID
	}{
		{"RS 6", ID{Code: "RS", Article: "6"}},
		{"RS 6(a)", ID{Code: "RS", Article: "6", Path: []string{"a"}}},
		{"RS 7(1)(k)", ID{Code: "RS", Article: "7", Path: []string{"1", "k"}}},
		{"RS 8(2)(b)(xxvi)", ID{Code: "RS", Article: "8", Path: []string{"2", "b", "xxvi"}}},
		{"RS 8 bis(2)(a)", ID{Code: "RS", Article: "8 bis", Path: []string{"2", "a"}}},
		{"RS 8(2)(a)(ii)-1", ID{Code: "RS", Article: "8", Path: []string{"2", "a", "ii"}, Variant: 1}},
		{"RS 8(2)(a)(ii)-1/7", ID{Code: "RS", Article: "8", Path: []string{"2", "a", "ii"}, Variant: 1, Element: 7}},
		{"RS 8(2)(a)(i)/1", ID{Code: "RS", Article: "8", Path: []string{"2", "a", "i"}, Element: 1}},
		{"CCU 438", ID{Code: "CCU", Article: "438"}},
		{"CCU 438(2)", ID{Code: "CCU", Article: "438", Path: []string{"2"}}},
		{"CCU 438(1)/5", ID{Code: "CCU", Article: "438", Path: []string{"1"}, Element: 5}},
		{"CCU 110-2", ID{Code: "CCU", Article: "110-2"}},
		{"CCU 146-1(2)", ID{Code: "CCU", Article: "146-1", Path: []string{"2"}}},
		// Spellings found in print.
		{"  rs 8 (2) (a) (ii)-1 ", ID{Code: "RS", Article: "8", Path: []string{"2", "a", "ii"}, Variant: 1}},
		{"RS 8 (2)( A )(II)", ID{Code: "RS", Article: "8", Path: []string{"2", "a", "ii"}}},
		{"Rs 8 BIS (1)", ID{Code: "RS", Article: "8 bis", Path: []string{"1"}}},
		{"ccu 438 (1)", ID{Code: "CCU", Article: "438", Path: []string{"1"}}},
	} {
		got, err := ParseID(tt.in)
		if err != nil {
			t.Errorf("ParseID(%q): %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("ParseID(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.want.String() {
			t.Errorf("ParseID(%q).String() = %q", tt.in, s)
		}
	}
}

func TestParseIDErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"   ",
		"RS",
		"RS ",
		"RS8(2)",
		"ICC 8(2)",
		"Art. 8(2)",
		"RS (2)",
		"RS 08(2)",
		"RS 8(02)",
		"RS 8()",
		"RS 8(2",
		"RS 8(2)(a)(",
		"RS 8(2)x",
		"RS 8(-)",
		"RS 8(ä)",
		"RS 8-1",       // a variant needs a paragraph
		"RS 8(2)(a)-0", // variants count from 1
		"RS 8(2)(a)-",  // and have a number
		"RS 8(2)(a)/0", // so do elements
		"RS 8(2)(a)/1/2",
		"RS 8(2)(a)(i)(1)(a)",
		"RS 8(abcdefghi)",
		"RS 8(12345)",
		"RS 8 bisx(1)",
		"RS 8 bis bis",
		"CCU 438-",
		"CCU 438 - 1",
		"RS 8(2)(a)(i) RS 8(2)(a)(ii)",
		"RS 8(2)(a)(i)" + strings.Repeat(" ", 80),
	} {
		if id, err := ParseID(in); err == nil {
			t.Errorf("ParseID(%q) = %#v, want an error", in, id)
		} else if !errors.Is(err, ErrBadID) {
			t.Errorf("ParseID(%q): %v is not ErrBadID", in, err)
		}
	}
}

func TestCanonical(t *testing.T) {
	got, err := Canonical("rs 8 (2) (a) (I)")
	if err != nil || got != "RS 8(2)(a)(i)" {
		t.Errorf("Canonical = %q, %v", got, err)
	}
	if _, err := Canonical("8(2)(a)(i)"); err == nil {
		t.Error("Canonical of an ID without instrument code succeeded")
	}
}

func TestIDParent(t *testing.T) {
	id, _ := ParseID("RS 8(2)(a)(ii)-1/3")
	if p := id.Provision().String(); p != "RS 8(2)(a)(ii)" {
		t.Errorf("Provision() = %q", p)
	}
	p, ok := id.Parent()
	if !ok || p.String() != "RS 8(2)(a)" {
		t.Errorf("Parent() = %q, %v", p, ok)
	}
	art, _ := ParseID("RS 8")
	if _, ok := art.Parent(); ok {
		t.Error("an article has a parent")
	}
}

func TestRoman(t *testing.T) {
	for n, want := range map[int]string{0: "", 1: "i", 4: "iv", 8: "viii", 9: "ix", 14: "xiv", 19: "xix",
		26: "xxvi", 29: "xxix", 40: "xl", 1999: "mcmxcix", 3999: "mmmcmxcix", 4000: ""} {
		if got := Roman(n); got != want {
			t.Errorf("Roman(%d) = %q, want %q", n, got, want)
		}
	}
}

// FuzzParseID checks that ParseID never panics, that what it accepts has a
// canonical form that parses back to the same ID, and that it accepts every
// ID in the catalogue as is.
func FuzzParseID(f *testing.F) {
	c, err := Load()
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range c.Provisions() {
		f.Add(p.ID)
	}
	for _, cr := range c.Crimes() {
		f.Add(cr.ID)
		for _, e := range cr.Elements {
			f.Add(e.ID)
		}
	}
	for _, s := range []string{"rs 8 (2) (a) (ii)-1", "CCU 110-2(1)", "RS 8 BIS(2)", "RS 8(2)(a)(i)/", "RS 8(2)(a)(ix) ", "RS 8((2)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			if !errors.Is(err, ErrBadID) {
				t.Fatalf("ParseID(%q): %v is not ErrBadID", s, err)
			}
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("ParseID(%q): error message is not valid UTF-8: %q", s, err)
			}
			return
		}
		canon := id.String()
		again, err := ParseID(canon)
		if err != nil {
			t.Fatalf("ParseID(%q) = %q, which does not parse: %v", s, canon, err)
		}
		if !again.Equal(id) || again.String() != canon {
			t.Fatalf("ParseID(%q) = %#v; its canonical form %q parses to %#v", s, id, canon, again)
		}
		if ValidID(s) && s != canon {
			t.Fatalf("ValidID(%q) but its canonical form is %q", s, canon)
		}
	})
}
