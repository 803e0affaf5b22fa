package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

//go:embed static
var staticFS embed.FS

// asset is one embedded static file, with its checksum and a gzipped copy.
type asset struct {
	name  string
	ctype string
	body  []byte
	gz    []byte // nil when compression does not pay
	sum   string // the first 16 hex digits of its SHA-256
}

// assets are the static files, served under /static/<sum>/<name>.
type assets struct {
	byName map[string]*asset
}

func loadAssets() (*assets, error) {
	a := &assets{byName: map[string]*asset{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(body)
		ct := mime.TypeByExtension(path.Ext(name))
		switch path.Ext(name) {
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".svg":
			ct = "image/svg+xml"
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		as := &asset{name: name, ctype: ct, body: body, sum: hex.EncodeToString(sum[:8])}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		if buf.Len() < len(body)*9/10 {
			as.gz = buf.Bytes()
		}
		a.byName[name] = as
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: static assets: %w", err)
	}
	return a, nil
}

// URL returns the checksum URL of a static file.
func (a *assets) URL(name string) string {
	as, ok := a.byName[name]
	if !ok {
		panic("web: no static asset " + name) // a template names a file that is not embedded: a bug caught by tests
	}
	return "/static/" + as.sum + "/" + as.name
}

// serveStatic serves an asset under its checksum URL, cached for a year.
// A stale checksum (a page from before an upgrade) is not found.
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	as, ok := s.static.byName[r.PathValue("name")]
	if !ok || as.sum != r.PathValue("sum") {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", as.ctype)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", `"`+as.sum+`"`)
	h.Set("Vary", "Accept-Encoding")
	if r.Header.Get("If-None-Match") == `"`+as.sum+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := as.body
	if as.gz != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = as.gz
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.TrimSpace(params) != "q=0" {
			return true
		}
	}
	return false
}

func (s *Server) favicon(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, s.static.URL("icon.svg"), http.StatusMovedPermanently)
}
