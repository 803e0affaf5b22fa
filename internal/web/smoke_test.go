package web_test

import (
	"net/http"
	"testing"
)

func TestSmoke(t *testing.T) {
	e := newEnv(t)
	site := e.seedSite(t)
	c := e.signedIn("o.kovalenko", investigatorPass)
	for _, p := range []string{"/", "/map", "/records", "/records?kind=site", "/records/" + site, "/records/new?kind=remains", "/items", "/upload", "/search?q=forest"} {
		r := c.get(p)
		if r.StatusCode != http.StatusOK {
			t.Errorf("%s: %d\n%.2000s", p, r.StatusCode, r.body)
		}
	}
}
