package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/custody-dev/custody"
)

// Languages: Ukrainian first (the default), then English. Every message
// exists in both catalogues (a test checks it).
var languages = []string{"uk", "en"}

// langCookie remembers the language a user chose.
const langCookie = "lang"

//go:embed i18n/*.json
var i18nFS embed.FS

// catalogue is one language's messages: flat keys ("nav.map",
// "enum.site_type.grave", "field.name") to text, with fmt verbs where the
// text takes arguments.
type catalogue struct {
	lang string
	msgs map[string]string
}

func loadCatalogues() (map[string]*catalogue, error) {
	out := map[string]*catalogue{}
	for _, l := range languages {
		raw, err := i18nFS.ReadFile("i18n/" + l + ".json")
		if err != nil {
			return nil, fmt.Errorf("web: catalogue %s: %w", l, err)
		}
		var m map[string]string
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("web: catalogue %s: %w", l, err)
		}
		out[l] = &catalogue{lang: l, msgs: m}
	}
	return out, nil
}

// requestLang picks the language of a request: the cookie a user set with
// the switcher, else the first supported language of Accept-Language, else
// Ukrainian.
func requestLang(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil {
		for _, l := range languages {
			if c.Value == l {
				return l
			}
		}
	}
	type pref struct {
		lang string
		q    float64
	}
	var prefs []pref
	for i, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		if i > 20 {
			break
		}
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		prefs = append(prefs, pref{base, q})
	}
	sort.SliceStable(prefs, func(i, j int) bool { return prefs[i].q > prefs[j].q })
	for _, p := range prefs {
		for _, l := range languages {
			if p.lang == l && p.q > 0 {
				return l
			}
		}
	}
	return "uk"
}

// localizer formats text, dates and numbers in one language.
type localizer struct {
	lang string
	msgs map[string]string
	loc  *time.Location
}

func (s *Server) localizer(lang string) *localizer {
	c, ok := s.cats[lang]
	if !ok {
		c = s.cats["uk"]
	}
	return &localizer{lang: c.lang, msgs: c.msgs, loc: s.cfg.Location}
}

// T returns the message of key, formatted with args; a missing key shows
// as itself (a test keeps that from happening).
func (l *localizer) T(key string, args ...any) string {
	m, ok := l.msgs[key]
	if !ok {
		m = key
	}
	if len(args) > 0 {
		return fmt.Sprintf(m, args...)
	}
	return m
}

// Enum returns the label of a value of the enumeration name.
func (l *localizer) Enum(name, value string) string {
	if value == "" {
		return ""
	}
	if m, ok := l.msgs["enum."+name+"."+value]; ok {
		return m
	}
	return strings.ReplaceAll(value, "_", " ")
}

// Kind returns the name of a record kind.
func (l *localizer) Kind(kind string) string { return l.T("kind." + kind) }

// Kinds returns the plural name of a record kind.
func (l *localizer) Kinds(kind string) string { return l.T("kinds." + kind) }

var enMonths = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// Date formats a date or a time as a date: 16.09.2022 (uk), 16 Sep 2022
// (en). Months (2022-09) and years pass at their precision; anything that
// does not parse is shown as given.
func (l *localizer) Date(s string) string {
	if s == "" {
		return ""
	}
	if t, ok := l.parseTime(s); ok {
		return l.day(t)
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return l.day(t)
	}
	if len(s) == 7 {
		if t, err := time.Parse("2006-01", s); err == nil {
			return l.Month(t)
		}
	}
	return s
}

func (l *localizer) day(t time.Time) string {
	if l.lang == "en" {
		return fmt.Sprintf("%d %s %d", t.Day(), enMonths[t.Month()-1], t.Year())
	}
	return t.Format("02.01.2006")
}

// Month formats a month: 09.2022 (uk), Sep 2022 (en).
func (l *localizer) Month(t time.Time) string {
	if l.lang == "en" {
		return fmt.Sprintf("%s %d", enMonths[t.Month()-1], t.Year())
	}
	return t.Format("01.2006")
}

// MonthKey formats a YYYY-MM key as Month does.
func (l *localizer) MonthKey(s string) string {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return s
	}
	return l.Month(t)
}

// DateTime formats a time with its date and minutes, in the server's zone
// when the time has one: 16.09.2022 10:04 (uk), 16 Sep 2022, 10:04 (en).
// A time without a zone (camera clocks) is shown as its wall time.
func (l *localizer) DateTime(s string) string {
	if s == "" {
		return ""
	}
	t, ok := l.parseTime(s)
	if !ok {
		if t2, err := time.Parse("2006-01-02T15:04:05", s); err == nil {
			t = t2
		} else {
			return l.Date(s)
		}
	}
	if l.lang == "en" {
		return l.day(t) + ", " + t.Format("15:04")
	}
	return l.day(t) + " " + t.Format("15:04")
}

// Zone names the zone times are shown in.
func (l *localizer) Zone() string { return l.loc.String() }

func (l *localizer) parseTime(s string) (time.Time, bool) {
	for _, f := range []string{custody.TimeFormat, time.RFC3339Nano} {
		if t, err := time.Parse(f, s); err == nil {
			return t.In(l.loc), true
		}
	}
	return time.Time{}, false
}

// nbsp groups digits: a no-break space, as Ukrainian typography writes
// 1 234 (and a line never breaks inside a number).
const nbsp = "\u00a0"

// Num formats an integer with the language's digit grouping: 1 234 (uk),
// 1,234 (en).
func (l *localizer) Num(v any) string {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	case uint64:
		if x > math.MaxInt64 {
			return strconv.FormatUint(x, 10)
		}
		n = int64(x)
	case float64:
		n = int64(math.Round(x))
	default:
		return fmt.Sprint(v)
	}
	neg := n < 0
	if neg {
		n = -n
	}
	digits := strconv.FormatInt(n, 10)
	sep := ","
	if l.lang == "uk" {
		sep = nbsp
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Decimal formats a number with places decimals and the language's
// decimal separator: 49,19470 (uk), 49.19470 (en).
func (l *localizer) Decimal(f float64, places int) string {
	s := strconv.FormatFloat(f, 'f', places, 64)
	if l.lang == "uk" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// Bytes formats a size: 1,2 МБ (uk), 1.2 MB (en).
func (l *localizer) Bytes(n int64) string {
	units := []string{"B", "KB", "MB", "GB", "TB"}
	if l.lang == "uk" {
		units = []string{"Б", "КБ", "МБ", "ГБ", "ТБ"}
	}
	if n < 1024 {
		return l.Num(n) + nbsp + units[0]
	}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return l.Decimal(f, 1) + nbsp + units[i]
}

// mustKyiv returns Kyiv's time zone, or UTC where the system has no zone data.
func mustKyiv() *time.Location {
	if loc, err := time.LoadLocation("Europe/Kyiv"); err == nil {
		return loc
	}
	return time.UTC
}
