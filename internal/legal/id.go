package legal

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Instrument codes used as the first word of an ID.
const (
	CodeRomeStatute  = "RS"  // Rome Statute of the International Criminal Court
	CodeCriminalCode = "CCU" // Criminal Code of Ukraine
)

// maxIDLen is the longest input ParseID accepts, spaces included; no ID in
// the catalogue comes near it.
const maxIDLen = 80

// ErrBadID is returned (wrapped) by ParseID for text that is not an ID.
var ErrBadID = errors.New("not a legal provision ID")

// ID is a parsed provision, crime or element ID.
//
// Its canonical text (String) is how Custody writes legal qualifications:
//
//	RS 7(1)(a)           provision: article 7, paragraph 1, sub-paragraph (a)
//	RS 8(2)(a)(ii)       provision: ... item (ii)
//	RS 8 bis(2)(a)       provision of article 8 bis
//	CCU 438(2)           Criminal Code of Ukraine, article 438, part 2
//	RS 8(2)(a)(ii)-1     crime: the first crime the ICC Elements of Crimes
//	                     distinguish under a provision (here torture)
//	RS 8(2)(a)(ii)-1/3   element 3 of that crime
//	CCU 438(1)/2         element 2 of the crime under CCU 438(1)
//
// The zero ID is not valid.
type ID struct {
	Code    string   // CodeRomeStatute or CodeCriminalCode
	Article string   // "8", "8 bis", "438", "110-2"
	Path    []string // paragraph, sub-paragraph and item labels: "2", "a", "ii"
	Variant int      // the "-1" of "RS 8(2)(a)(ii)-1"; 0 when absent
	Element int      // the "/3" of ".../3"; 0 when absent
}

// String returns the canonical text of id.
func (id ID) String() string {
	var b strings.Builder
	b.WriteString(id.Code)
	b.WriteByte(' ')
	b.WriteString(id.Article)
	for _, p := range id.Path {
		b.WriteByte('(')
		b.WriteString(p)
		b.WriteByte(')')
	}
	if id.Variant > 0 {
		b.WriteByte('-')
		b.WriteString(strconv.Itoa(id.Variant))
	}
	if id.Element > 0 {
		b.WriteByte('/')
		b.WriteString(strconv.Itoa(id.Element))
	}
	return b.String()
}

// Equal reports whether id and o are the same ID.
func (id ID) Equal(o ID) bool {
	return id.Code == o.Code && id.Article == o.Article && slices.Equal(id.Path, o.Path) &&
		id.Variant == o.Variant && id.Element == o.Element
}

// Provision returns the provision part of id: without variant or element.
func (id ID) Provision() ID {
	return ID{Code: id.Code, Article: id.Article, Path: slices.Clone(id.Path)}
}

// Parent returns the ID of the provision that contains provision id (the
// last path label dropped) and false for an article, which has no parent.
func (id ID) Parent() (ID, bool) {
	if len(id.Path) == 0 {
		return ID{}, false
	}
	return ID{Code: id.Code, Article: id.Article, Path: slices.Clone(id.Path[:len(id.Path)-1])}, true
}

// ParseID parses a provision, crime or element ID. Besides the canonical form
// it accepts the spellings found in print: any case for the instrument code,
// letters and numerals ("rs 8(2)(A)(II)"), and spaces around the parentheses
// ("RS 8 (2) (a) (ii)-1"). Whether the ID names anything is a question for
// the Catalogue (see ValidID); ParseID checks only the form.
func ParseID(s string) (ID, error) {
	id, err := parseID(s)
	if err != nil {
		return ID{}, fmt.Errorf("%w: %q: %s", ErrBadID, truncate(s, 40), err)
	}
	return id, nil
}

// Canonical returns the canonical text of the ID s is a spelling of.
func Canonical(s string) (string, error) {
	id, err := ParseID(s)
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

func parseID(s string) (ID, error) {
	if len(s) > maxIDLen {
		return ID{}, errors.New("too long")
	}
	p := idParser{s: strings.TrimSpace(s)}
	var id ID

	code := p.while(isASCIILetter)
	switch strings.ToUpper(code) {
	case CodeRomeStatute:
		id.Code = CodeRomeStatute
	case CodeCriminalCode:
		id.Code = CodeCriminalCode
	case "":
		return ID{}, errors.New("no instrument code (RS or CCU)")
	default:
		return ID{}, fmt.Errorf("unknown instrument code %q", code)
	}
	if p.spaces() == 0 {
		return ID{}, errors.New("expected a space after the instrument code")
	}

	num, err := p.number("article")
	if err != nil {
		return ID{}, err
	}
	id.Article = num
	if p.peek() == '-' && isDigit(p.at(1)) && id.Code == CodeCriminalCode {
		// CCU articles inserted later are numbered 110-2, 146-1 ...
		p.i++
		sub, err := p.number("article")
		if err != nil {
			return ID{}, err
		}
		id.Article += "-" + sub
	}
	if save := p.i; p.spaces() > 0 {
		w := strings.ToLower(p.while(isASCIILetter))
		switch w {
		case "bis", "ter", "quater":
			id.Article += " " + w
		default:
			p.i = save
		}
	}

	for {
		save := p.i
		p.spaces()
		if p.peek() != '(' {
			p.i = save
			break
		}
		p.i++
		p.spaces()
		var label string
		switch c := p.peek(); {
		case isDigit(c):
			if label, err = p.number("paragraph"); err != nil {
				return ID{}, err
			}
		case isASCIILetter(c):
			label = strings.ToLower(p.while(isASCIILetter))
			if len(label) > 8 {
				return ID{}, errors.New("label longer than 8 letters")
			}
		default:
			return ID{}, errors.New("expected a number or letters after (")
		}
		p.spaces()
		if p.peek() != ')' {
			return ID{}, errors.New("expected )")
		}
		p.i++
		id.Path = append(id.Path, label)
		if len(id.Path) > 4 {
			return ID{}, errors.New("more than four levels of provision")
		}
	}

	if p.peek() == '-' {
		if len(id.Path) == 0 {
			return ID{}, errors.New("a crime variant (-N) follows a paragraph or item, not an article")
		}
		p.i++
		if id.Variant, err = p.positive("crime variant"); err != nil {
			return ID{}, err
		}
	}
	if p.peek() == '/' {
		p.i++
		if id.Element, err = p.positive("element number"); err != nil {
			return ID{}, err
		}
	}
	if p.i != len(p.s) {
		return ID{}, fmt.Errorf("unexpected %q", truncate(p.s[p.i:], 10))
	}
	return id, nil
}

type idParser struct {
	s string
	i int
}

func (p *idParser) at(k int) byte {
	if p.i+k < len(p.s) {
		return p.s[p.i+k]
	}
	return 0
}

func (p *idParser) peek() byte { return p.at(0) }

func (p *idParser) while(f func(byte) bool) string {
	start := p.i
	for p.i < len(p.s) && f(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *idParser) spaces() int { return len(p.while(func(c byte) bool { return c == ' ' })) }

// number reads a decimal number of 1 to 4 digits without a leading zero.
func (p *idParser) number(what string) (string, error) {
	n := p.while(isDigit)
	switch {
	case n == "":
		return "", fmt.Errorf("expected %s number", what)
	case len(n) > 4:
		return "", fmt.Errorf("%s number too long", what)
	case n[0] == '0':
		return "", fmt.Errorf("%s number with a leading zero", what)
	}
	return n, nil
}

func (p *idParser) positive(what string) (int, error) {
	n, err := p.number(what)
	if err != nil {
		return 0, err
	}
	v, _ := strconv.Atoi(n) // at most 4 digits, no sign: cannot fail
	return v, nil
}

func isDigit(c byte) bool       { return '0' <= c && c <= '9' }
func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// Roman returns the lower-case Roman numeral for n in 1..3999, the form the
// Rome Statute uses for items: Roman(4) == "iv", Roman(26) == "xxvi".
func Roman(n int) string {
	if n < 1 || n > 3999 {
		return ""
	}
	vals := [...]int{1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1}
	syms := [...]string{"m", "cm", "d", "cd", "c", "xc", "l", "xl", "x", "ix", "v", "iv", "i"}
	var b strings.Builder
	for i, v := range vals {
		for n >= v {
			b.WriteString(syms[i])
			n -= v
		}
	}
	return b.String()
}
