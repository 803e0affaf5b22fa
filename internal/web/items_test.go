package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/custody-dev/custody"
)

func TestItemPage(t *testing.T) {
	e := newEnv(t)
	photo := exifJPEG(t, 49.1947, 37.2816)
	it := e.intake(t, "IMG_0412.jpg", photo)
	sum := sha256.Sum256(photo)
	c := e.signedIn("court", reviewerPassword) // reading is for everyone
	r := c.get("/items/" + it.ID)
	wantStatus(t, r, http.StatusOK)
	for _, want := range []string{hex.EncodeToString(sum[:]), "image/jpeg", "49.19470, 37.28160", "Kharkiv Oblast",
		"Included in the log at index", "verified against the checkpoint of size", `src="/items/` + it.ID + `/content"`, "Chain of custody", "taken in"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("item page lacks %q", want)
		}
	}
	if strings.Contains(r.body, "Record a handover") {
		t.Error("a reviewer is offered a handover")
	}
	wantStatus(t, c.get("/items/nope"), http.StatusNotFound)
	wantStatus(t, c.get("/items"), http.StatusOK)

	// The preview streams the original and logs the access; HEAD does not.
	before, _ := e.svc.History(context.Background(), custody.SystemActor, it.ID)
	req, _ := http.NewRequest(http.MethodHead, e.srv.URL+"/items/"+it.ID+"/content", nil)
	wantStatus(t, c.do(req), http.StatusOK)
	r = c.get("/items/" + it.ID + "/content")
	wantStatus(t, r, http.StatusOK)
	if r.body != string(photo) || r.Header.Get("Content-Type") != "image/jpeg" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "inline") {
		t.Errorf("content: %d bytes, %v", len(r.body), r.Header)
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("content CSP %q", csp)
	}
	r = c.get("/items/" + it.ID + "/content?download=1")
	if r.Header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download headers %v", r.Header)
	}
	after, _ := e.svc.History(context.Background(), custody.SystemActor, it.ID)
	if len(after) != len(before)+2 || after[len(after)-1].Type != "access" || after[len(after)-1].Actor != e.reviewer.ID {
		t.Errorf("history after two reads: %d events (was %d)", len(after), len(before))
	}

	// A file the browser should not run is only ever a download.
	html := e.intake(t, "page.html", []byte("<html><script>alert(1)</script></html>"))
	r = c.get("/items/" + html.ID + "/content")
	if r.Header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("an HTML file is served as %q, %q", r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"))
	}

	// Handover, by someone who may.
	inv := e.signedIn("o.kovalenko", investigatorPass)
	inv.get("/items/" + it.ID)
	r = inv.post("/items/"+it.ID+"/handover", url.Values{"to": {"Forensic laboratory, Kharkiv"}, "reason": {"examination"}, "seal": {"SEAL-0043"}})
	wantStatus(t, r, http.StatusSeeOther)
	r = inv.get("/items/" + it.ID)
	if !strings.Contains(r.body, "Forensic laboratory, Kharkiv") || !strings.Contains(r.body, "handed over") {
		t.Error("the handover is not in the chain of custody")
	}
	wantStatus(t, inv.post("/items/"+it.ID+"/handover", url.Values{"to": {""}, "reason": {""}}), http.StatusBadRequest)
}

// Without script, the upload form posts the files in one request; the CSRF
// token is its first field.
func TestUploadForm(t *testing.T) {
	e := newEnv(t)
	c := e.signedIn("o.kovalenko", investigatorPass)
	r := c.get("/upload")
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, `data-tus="/upload/files/"`) {
		t.Error("the upload page does not offer the resumable upload")
	}
	photo := exifJPEG(t, 49.1947, 37.2816)
	sum := sha256.Sum256(photo)
	ct, body := multipartUpload(c.csrf, map[string]string{"case": "12022220000000123", "collected_at": "2022-09-16T10:04", "lat": "49,2", "lon": "37.3"},
		map[string][]byte{"IMG_1.jpg": photo})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/upload", body)
	req.Header.Set("Content-Type", ct)
	r = c.do(req)
	wantStatus(t, r, http.StatusCreated)
	if !strings.Contains(r.body, "sha256-"+hex.EncodeToString(sum[:])) || !strings.Contains(r.body, "GPS 49,19470, 37,28160") {
		t.Errorf("results lack the hash or the position:\n%s", r.body)
	}
	items, _ := e.svc.Items(context.Background(), custody.SystemActor, custody.ItemFilter{Case: "12022220000000123"})
	if len(items) != 1 || items[0].CollectedAt != "2022-09-16T10:04:00Z" || items[0].Lat == nil || *items[0].Lat != 49.2 {
		t.Errorf("item as taken in: %+v", items)
	}

	// Script's variant asks for JSON.
	ct, body = multipartUpload(c.csrf, nil, map[string][]byte{"IMG_2.jpg": photo})
	req, _ = http.NewRequest(http.MethodPost, e.srv.URL+"/upload", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Accept", "application/json")
	r = c.do(req)
	wantStatus(t, r, http.StatusCreated)
	var res struct {
		Items []struct {
			Hash      string
			Duplicate bool
			GPS       *struct{ Lat, Lon float64 }
		}
	}
	if err := json.Unmarshal([]byte(r.body), &res); err != nil || len(res.Items) != 1 || !res.Items[0].Duplicate || res.Items[0].GPS == nil {
		t.Errorf("JSON result %s", r.body)
	}

	// Without the token, nothing is taken in.
	ct, body = multipartUpload("", map[string]string{"case": "x"}, map[string][]byte{"IMG_3.jpg": photo})
	req, _ = http.NewRequest(http.MethodPost, e.srv.URL+"/upload", body)
	req.Header.Set("Content-Type", ct)
	wantStatus(t, c.do(req), http.StatusForbidden)
	ct, body = multipartUpload(c.csrf, nil, map[string][]byte{"empty.jpg": {}})
	req, _ = http.NewRequest(http.MethodPost, e.srv.URL+"/upload", body)
	req.Header.Set("Content-Type", ct)
	r = c.do(req)
	if !strings.Contains(r.body, "the file is empty") {
		t.Errorf("an empty file: %d %.300s", r.StatusCode, r.body)
	}
}

// The resumable upload: create, send in two pieces, and the last one's
// answer names the item with its hash and position.
func TestTusUpload(t *testing.T) {
	e := newEnv(t)
	c := e.signedIn("o.kovalenko", investigatorPass)
	photo := exifJPEG(t, 49.1947, 37.2816)
	sum := sha256.Sum256(photo)
	meta := "filename " + base64.StdEncoding.EncodeToString([]byte("VID_0013.jpg")) +
		",case " + base64.StdEncoding.EncodeToString([]byte("12022220000000123")) +
		",collector " + base64.StdEncoding.EncodeToString([]byte("Mobile group 7"))
	tus := func(method, path string, body []byte, hdr map[string]string) *response {
		req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(string(body)))
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("X-CSRF-Token", c.csrf)
		req.Header.Set("Accept-Language", "uk")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		return c.do(req)
	}
	r := tus(http.MethodPost, "/upload/files/", nil, map[string]string{"Upload-Length": itoa(len(photo)), "Upload-Metadata": meta})
	wantStatus(t, r, http.StatusCreated)
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, "/upload/files/") {
		t.Fatalf("Location %q", loc)
	}
	half := len(photo) / 2
	r = tus(http.MethodPatch, loc, photo[:half], map[string]string{"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
	wantStatus(t, r, http.StatusNoContent)
	// The connection dropped: ask where to go on from.
	r = tus(http.MethodHead, loc, nil, nil)
	if r.Header.Get("Upload-Offset") != itoa(half) {
		t.Fatalf("HEAD: offset %q, want %d", r.Header.Get("Upload-Offset"), half)
	}
	r = tus(http.MethodPatch, loc, photo[half:], map[string]string{"Upload-Offset": itoa(half), "Content-Type": "application/offset+octet-stream"})
	wantStatus(t, r, http.StatusNoContent)
	var res struct {
		ID, Hash, Position string
	}
	if err := json.Unmarshal([]byte(r.Header.Get("Upload-Result")), &res); err != nil {
		t.Fatalf("Upload-Result %q: %v", r.Header.Get("Upload-Result"), err)
	}
	if res.Hash != "sha256-"+hex.EncodeToString(sum[:]) || res.Position != "49,19470, 37,28160" {
		t.Errorf("Upload-Result %+v", res)
	}
	it, err := e.svc.Item(context.Background(), custody.SystemActor, res.ID)
	if err != nil || it.Case != "12022220000000123" || it.Collector != "Mobile group 7" || it.IngestedBy != e.inv.ID {
		t.Errorf("item %+v, %v", it, err)
	}
	// Another user cannot see the upload.
	other := e.signedIn("admin", adminPassword)
	req, _ := http.NewRequest(http.MethodHead, e.srv.URL+loc, nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	wantStatus(t, other.do(req), http.StatusNotFound)
}

func itoa(n int) string { return strconvItoa(n) }

func TestSearch(t *testing.T) {
	e := newEnv(t)
	site := e.seedSite(t)
	photo := exifJPEG(t, 49.1947, 37.2816)
	it := e.intake(t, "IMG_0412.jpg", photo)
	sum := sha256.Sum256(photo)
	c := e.signedIn("court", reviewerPassword)
	r := c.get("/search?q=forest")
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, "<mark>Forest</mark>") || !strings.Contains(r.body, "/records/"+site) {
		t.Errorf("search for a word:\n%.2000s", r.body)
	}
	if !strings.Contains(r.body, "Localities") {
		t.Error("no localities section")
	}
	r = c.get("/search?q=" + url.QueryEscape("Ізюм"))
	if !strings.Contains(r.body, "UA63040090010029555") {
		t.Error("a locality's name does not find it")
	}
	r = c.get("/search?q=" + hex.EncodeToString(sum[:]))
	wantStatus(t, r, http.StatusSeeOther)
	if r.Header.Get("Location") != "/items/"+it.ID {
		t.Errorf("a hash goes to %q", r.Header.Get("Location"))
	}
	r = c.get("/search?q=" + site)
	wantStatus(t, r, http.StatusSeeOther)
	if r.Header.Get("Location") != "/records/"+site {
		t.Errorf("an ID goes to %q", r.Header.Get("Location"))
	}
	r = c.get("/search?q=" + url.QueryEscape("(((***"))
	wantStatus(t, r, http.StatusOK)
	var sugg []struct{ Value, Label string }
	r = c.get("/lookup?kind=site&q=forest")
	if json.Unmarshal([]byte(r.body), &sugg); len(sugg) != 1 || sugg[0].Value != site {
		t.Errorf("lookup: %s", r.body)
	}
	r = c.get("/localities?q=" + url.QueryEscape("Ізюм"))
	if json.Unmarshal([]byte(r.body), &sugg); len(sugg) == 0 || sugg[0].Value != "UA63040090010029555" {
		t.Errorf("localities: %s", r.body)
	}
}
