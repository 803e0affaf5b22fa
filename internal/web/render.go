package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/custody-dev/custody"
)

//go:embed all:templates
var templateFS embed.FS

// page is what every template gets: the page's own Data and what the
// layout needs.
type page struct {
	Title string
	Nav   string // the navigation entry to mark current
	CSRF  string
	Data  any

	// Set by render.
	Lang     string
	User     *custody.User
	CanWrite bool
	Path     string // this page's path and query, for the language switcher
	Langs    []langLink
	Query    string // the search box's text
}

type langLink struct {
	Code, Name, Href string
	Current          bool
}

// parseTemplates parses every page once per language, each with the
// layout and partials (files starting with "_") and the language's
// functions bound.
func (s *Server) parseTemplates() (map[string]map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]*template.Template{}
	for _, lang := range languages {
		l := s.localizer(lang)
		base, err := template.New("").Funcs(s.funcs(l)).ParseFS(templateFS, "templates/_*.html")
		if err != nil {
			return nil, fmt.Errorf("web: templates: %w", err)
		}
		out[lang] = map[string]*template.Template{}
		for _, n := range names {
			name := strings.TrimSuffix(path.Base(n), ".html")
			if strings.HasPrefix(name, "_") {
				continue
			}
			t, err := base.Clone()
			if err == nil {
				t, err = t.ParseFS(templateFS, n)
			}
			if err != nil {
				return nil, fmt.Errorf("web: template %s: %w", name, err)
			}
			out[lang][name] = t
		}
	}
	return out, nil
}

func (s *Server) funcs(l *localizer) template.FuncMap {
	return template.FuncMap{
		"t":        l.T,
		"enum":     l.Enum,
		"kind":     l.Kind,
		"kinds":    l.Kinds,
		"date":     l.Date,
		"datetime": l.DateTime,
		"num":      l.Num,
		"decimal":  l.Decimal,
		"bytes":    l.Bytes,
		"static":   s.static.URL,
		"recordKinds": func() []string {
			return custody.RecordKinds
		},
	}
}

// render executes a page template into a buffer (so a template error
// never sends half a page) and writes it.
func (s *Server) render(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, name string, p *page) {
	lang := c.l.lang
	t, ok := s.pages[lang][name]
	if !ok {
		s.logger.Error("no template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	p.Lang = lang
	p.User = c.user
	if c.user != nil {
		p.CanWrite = c.user.Role.CanWrite()
		if p.CSRF == "" && c.sess != nil {
			p.CSRF = c.sess.CSRF
		}
	}
	p.Path = r.URL.RequestURI()
	if r.Method != http.MethodGet {
		p.Path = r.URL.Path
	}
	for _, l := range languages {
		p.Langs = append(p.Langs, langLink{Code: l, Name: s.localizer(l).T("lang.name"), Current: l == lang,
			Href: "/lang/" + l + "?next=" + url.QueryEscape(p.Path)})
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, p); err != nil {
		s.logger.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", lang)
	h.Set("Vary", "Cookie, Accept-Language")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail shows an error page: the status from the error's code, the
// message when it is meant for users, a generic one otherwise (internal
// details are logged, never shown).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, c *reqCtx, err error) {
	code := custody.ErrorCode(err)
	if code == custody.EINTERNAL || code == custody.ETAMPERED {
		s.logger.Error("web request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	status := statusOf(code)
	if wantsJSON(r) {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, custody.ErrorMessage(err), status)
		return
	}
	msg := custody.ErrorMessage(err)
	if code == custody.EINTERNAL {
		msg = c.l.T("error.internal")
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	s.render(w, r, c, status, "error", &page{Title: c.l.T("error.title." + titleKey(status)), Data: map[string]any{
		"Status": status, "Message": msg, "Heading": c.l.T("error.title." + titleKey(status)), "SignIn": c.user == nil}})
}

func titleKey(status int) string {
	switch status {
	case http.StatusNotFound:
		return "not_found"
	case http.StatusForbidden, http.StatusUnauthorized:
		return "forbidden"
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return "invalid"
	case http.StatusConflict:
		return "conflict"
	}
	return "internal"
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	s.fail(w, r, c, custody.Errorf(custody.ENOTFOUND, "%s", c.l.T("error.no_page")))
}
