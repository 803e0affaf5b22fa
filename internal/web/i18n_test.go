package web_test

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	_ "time/tzdata" // Europe/Kyiv, whatever the system has

	"github.com/custody-dev/custody/internal/web"
)

var verbRe = regexp.MustCompile(`%[-+# 0]*[0-9]*[vdsqfx%]`)

// Every message exists in every language, with the same arguments.
func TestCatalogues(t *testing.T) {
	cats, err := web.Catalogues()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range web.Languages {
		for _, b := range web.Languages {
			if a == b {
				continue
			}
			var missing []string
			for k := range cats[a] {
				if _, ok := cats[b][k]; !ok {
					missing = append(missing, k)
				}
			}
			sort.Strings(missing)
			for _, k := range missing {
				t.Errorf("%q is in %s but not in %s", k, a, b)
			}
		}
	}
	for _, l := range web.Languages {
		for k, v := range cats[l] {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s: %q is empty", l, k)
			}
			if other, ok := cats["en"][k]; ok && len(verbRe.FindAllString(v, -1)) != len(verbRe.FindAllString(other, -1)) {
				t.Errorf("%s: %q takes other arguments than in English: %q vs %q", l, k, v, other)
			}
		}
	}
}

// Every message the templates and the code name exists: literal keys in
// the templates and the Go files, and the keys built from the record
// schemas and enumerations.
func TestMessagesExist(t *testing.T) {
	cats, err := web.Catalogues()
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	srcs, err := web.TemplateSources()
	if err != nil {
		t.Fatal(err)
	}
	tmplKey := regexp.MustCompile(`\{\{t "([a-z0-9_.-]+)"`)
	for name, src := range srcs {
		for _, m := range tmplKey.FindAllStringSubmatch(src, -1) {
			keys[m[1]] = name
		}
	}
	goKey := regexp.MustCompile(`\.T\("([a-z0-9_.-]+)"[,)]`)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goKey.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = f
		}
	}
	for _, k := range web.MessageKeys() {
		keys[k] = "schema"
	}
	if len(keys) < 300 {
		t.Fatalf("found only %d keys: the patterns are wrong", len(keys))
	}
	for _, l := range web.Languages {
		for _, k := range sortedKeys(keys) {
			if _, ok := cats[l][k]; !ok {
				t.Errorf("%s: no message %q (used in %s)", l, k, keys[k])
			}
		}
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestLocaleFormats(t *testing.T) {
	for _, tc := range []struct{ lang, what, in, want string }{
		{"uk", "date", "2022-09-16", "16.09.2022"},
		{"en", "date", "2022-09-16", "16 Sep 2022"},
		{"en", "date", "2022-09-06", "6 Sep 2022"},
		{"uk", "date", "2022-09", "09.2022"},
		{"en", "date", "2022-09", "Sep 2022"},
		{"uk", "datetime", "2022-09-16T07:04:00.000000000Z", "16.09.2022 10:04"},
		{"en", "datetime", "2022-09-16T10:04:00+03:00", "16 Sep 2022, 10:04"},
		{"en", "datetime", "2022-09-16T10:04:33", "16 Sep 2022, 10:04"},
		{"uk", "month", "2022-02", "02.2022"},
		{"en", "date", "not a date", "not a date"},
	} {
		if got := web.Format(tc.lang, tc.what, tc.in); got != tc.want {
			t.Errorf("%s %s(%q) = %q, want %q", tc.lang, tc.what, tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		lang string
		n    int
		want string
	}{{"uk", 1234, "1\u00a0234"}, {"en", 1234, "1,234"}, {"uk", 1000000, "1\u00a0000\u00a0000"}, {"en", 999, "999"}, {"en", -45210, "-45,210"}} {
		if got := web.FormatNum(tc.lang, tc.n); got != tc.want {
			t.Errorf("%s Num(%d) = %q, want %q", tc.lang, tc.n, got, tc.want)
		}
	}
}

func TestLanguageSwitch(t *testing.T) {
	e := newEnv(t)
	c := e.signedIn("o.kovalenko", investigatorPass)
	r := c.get("/records?kind=site")
	if !strings.Contains(r.body, `<html lang="en">`) || !strings.Contains(r.body, ">Dashboard<") {
		t.Fatal("Accept-Language: en does not give English")
	}
	r = c.get("/lang/uk?next=" + "%2Frecords%3Fkind%3Dsite")
	wantStatus(t, r, http.StatusSeeOther)
	if r.Header.Get("Location") != "/records?kind=site" {
		t.Errorf("the switcher goes to %q", r.Header.Get("Location"))
	}
	r = c.get("/records?kind=site")
	if !strings.Contains(r.body, `<html lang="uk">`) || !strings.Contains(r.body, ">Огляд<") || r.Header.Get("Content-Language") != "uk" {
		t.Error("the chosen language does not stick")
	}
	if r := c.get("/lang/fr?next=/"); r.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown language: %d", r.StatusCode)
	}
	if r := c.get("/lang/en?next=//evil.example"); r.Header.Get("Location") != "/" {
		t.Errorf("the switcher sends to %q", r.Header.Get("Location"))
	}
	// Without a cookie, Accept-Language decides, Ukrainian by default.
	for al, want := range map[string]string{"": "uk", "de-DE,de;q=0.9": "uk", "uk-UA,uk;q=0.9,en;q=0.8": "uk", "de,en;q=0.5": "en", "en;q=0.1,uk;q=0.9": "uk"} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/signin", nil)
		req.Header.Set("Accept-Language", al)
		r := e.client().do(req)
		if !strings.Contains(r.body, `<html lang="`+want+`">`) {
			t.Errorf("Accept-Language %q: not %s", al, want)
		}
	}
}
