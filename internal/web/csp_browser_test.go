package web_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// reportViolations is run by the browser in every document and frame before
// the document's own scripts (a DevTools script: the page's policy does not
// apply to it). It turns each securitypolicyviolation event into a console
// error the test collects, beside the browser's own log entries.
const reportViolations = `document.addEventListener("securitypolicyviolation", function (e) {
  console.error("csp-violation: " + e.effectiveDirective + " blocked " + (e.blockedURI || "inline") +
    " in " + e.documentURI + " at " + e.sourceFile + ":" + e.lineNumber + " " + (e.sample || ""));
}, true);`

// problems collects what the browser reports while the pages are used: CSP
// violations (the event, and the console's "Refused to ..." entries),
// Permissions-Policy errors (an unknown feature), uncaught exceptions and
// errors in the console.
type problems struct {
	mu   sync.Mutex
	list []string
	// content holds the statuses of the responses of items' content
	// routes, by path.
	content map[string][]int64
}

// contentStatuses returns the statuses of the responses of path.
func (p *problems) contentStatuses(path string) []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.content[path]
}

func (p *problems) add(s string) {
	p.mu.Lock()
	p.list = append(p.list, s)
	p.mu.Unlock()
}

// take returns and clears what was collected.
func (p *problems) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.list
	p.list = nil
	return out
}

func (p *problems) listen(ev any) {
	switch e := ev.(type) {
	case *network.EventResponseReceived:
		if e.Response == nil {
			return
		}
		if u, err := url.Parse(e.Response.URL); err == nil && strings.HasSuffix(u.Path, "/content") {
			p.mu.Lock()
			if p.content == nil {
				p.content = map[string][]int64{}
			}
			p.content[u.Path] = append(p.content[u.Path], e.Response.Status)
			p.mu.Unlock()
		}
	case *log.EventEntryAdded:
		en := e.Entry
		if en == nil {
			return
		}
		text := strings.ToLower(en.Text)
		if en.Level == log.EntryLevelError || strings.Contains(text, "content security policy") || strings.Contains(text, "content-security-policy") ||
			strings.Contains(text, "permissions-policy") || strings.Contains(text, "permissions policy") || strings.Contains(text, "refused to") {
			p.add(fmt.Sprintf("log %s/%s: %s (%s)", en.Source, en.Level, en.Text, en.URL))
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type != runtime.ConsoleAPICalledTypeError && e.Type != runtime.ConsoleAPICalledTypeWarning {
			return
		}
		var parts []string
		for _, a := range e.Args {
			if len(a.Value) > 0 {
				parts = append(parts, string(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		p.add(fmt.Sprintf("console.%s: %s", e.Type, strings.Join(parts, " ")))
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		if d == nil {
			return
		}
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		p.add(fmt.Sprintf("exception: %s at %s:%d", msg, d.URL, d.LineNumber))
	}
}

// TestBrowserCSP uses the main pages in chromium under the policies the
// server sends (httpx.ContentSecurityPolicy, Permissions-Policy, the
// sandboxing policies of an item's content) and fails on any violation or
// script error: the policy is proven not to break the application. It
// also loads and seeks an audio preview, and checks that the media
// element's requests were answered with a byte range (206).
func TestBrowserCSP(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t, envOptions{tus: true, realClock: true})
	base := e.srv.URL
	site := e.seedSite(t)
	cs := e.seedCase(t, site)
	photo := e.intake(t, "IMG_0001.jpg", exifJPEG(t, 49.1947, 37.2816))
	audio := e.intake(t, "REC_0001.wav", testWAV(4))
	pdf := e.intake(t, "report.pdf", testPDF())
	if audio.MediaType != "audio/wav" || pdf.MediaType != "application/pdf" {
		t.Fatalf("media types %s, %s", audio.MediaType, pdf.MediaType)
	}
	upload := filepath.Join(t.TempDir(), "IMG_0002.jpg")
	if err := os.WriteFile(upload, exifJPEG(t, 49.2, 37.3), 0o644); err != nil {
		t.Fatal(err)
	}

	shots := screenshots(t)
	var pr problems
	if err := chromedp.Listen(ctx, pr.listen); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: reportViolations}); err != nil {
		t.Fatal(err)
	}
	check := func(what string) {
		t.Helper()
		// Reports arrive asynchronously: give the last ones a moment.
		time.Sleep(300 * time.Millisecond)
		for _, p := range pr.take() {
			t.Errorf("%s: %s", what, p)
		}
	}

	step(t, ctx, "sign-in form", chromedp.Navigate(base+"/signin"), chromedp.WaitVisible(chromedp.ID("name")))
	check("sign-in form")
	step(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.ID("name"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), adminPassword),
		chromedp.Click(chromedp.ID("signin-submit")),
		chromedp.WaitVisible(chromedp.CSS(".t-torture .value")))
	check("dashboard")

	pages := []struct{ name, path, ready string }{
		{"dashboard", "/", ".t-torture .value"},
		{"map", "/map", "svg.geo-map"},
		{"map, zoomed", "/map?z=3&lat=49.5&lon=36.5", "svg.geo-map"},
		{"record list", "/records?kind=site", "table.list"},
		{"record", "/records/" + site, "#record-title"},
		{"case", "/records/" + cs, "#case-matrix"},
		{"case matrix", "/records/" + cs + "/matrix", "table.matrix-table"},
		{"remains form", "/records/new?kind=remains&site=" + site, "#f-body"},
		{"items", "/items", "table.list"},
		{"item with a photo", "/items/" + photo.ID, "#proof-status"},
		{"item with a PDF", "/items/" + pdf.ID, "iframe.preview-pdf"},
		{"search", "/search?q=forest", "main"},
		{"upload", "/upload", "#drop"},
	}
	for _, p := range pages {
		step(t, ctx, p.name, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
		switch p.name {
		case "case matrix":
			shot(t, ctx, shots, "20-case-matrix")
		case "item with a PDF":
			time.Sleep(2 * time.Second) // the viewer loads in its frame
			shot(t, ctx, shots, "22-item-pdf")
		case "item with a photo":
			if ok := run(t, ctx, "photo preview", chromedp.Evaluate[bool](`new Promise(function (resolve) {
			  var i = document.querySelector("img.preview-media");
			  var done = function () { resolve(i.complete && i.naturalWidth === 96); };
			  if (i.complete) { done(); return; }
			  i.addEventListener("load", done);
			  i.addEventListener("error", done);
			  setTimeout(done, 10000);
			})`, chromedp.EvalAwaitPromise)); !ok {
				t.Error("the photo preview did not load under the content's policy")
			}
		}
		check(p.name)
	}

	// The audio preview: metadata, then a seek, which the browser does
	// with byte ranges; without them the media is not seekable.
	step(t, ctx, "item with audio", chromedp.Navigate(base+"/items/"+audio.ID), chromedp.WaitVisible(chromedp.CSS("audio")))
	seek := run(t, ctx, "seek", chromedp.Evaluate[[]float64](`new Promise(function (resolve, reject) {
	  var a = document.querySelector("audio");
	  setTimeout(function () { reject(new Error("timeout: readyState " + a.readyState + ", error " + (a.error && a.error.message))); }, 15000);
	  a.addEventListener("error", function () { reject(new Error("media error " + (a.error && a.error.message))); });
	  a.addEventListener("loadedmetadata", function () {
	    a.addEventListener("seeked", function () {
	      resolve([a.duration, a.seekable.length ? a.seekable.end(0) : -1, a.currentTime]);
	    }, { once: true });
	    a.currentTime = 3;
	  }, { once: true });
	  a.preload = "auto";
	  a.load();
	})`, chromedp.EvalAwaitPromise))
	if len(seek) != 3 || math.Abs(seek[0]-4) > 0.1 || seek[1] < 3.9 || math.Abs(seek[2]-3) > 0.1 {
		t.Errorf("audio preview: duration, seekable end, position after the seek = %v; want 4, 4, 3", seek)
	}
	// The media element asked for a range, and got one.
	if sts := pr.contentStatuses("/items/" + audio.ID + "/content"); !slices.Contains(sts, http.StatusPartialContent) {
		t.Errorf("the audio preview's requests were answered %v, want 206 Partial Content", sts)
	}
	check("item with audio")

	// An upload, with its hashing and tus requests from script.
	step(t, ctx, "upload a photo",
		chromedp.Navigate(base+"/upload"),
		chromedp.WaitVisible(chromedp.ID("drop")),
		chromedp.SendKeys(chromedp.ID("u-case"), "12022220000000123"),
		chromedp.SetUploadFiles(chromedp.ID("u-files"), []string{upload}, chromedp.NodeReady),
		chromedp.WaitVisible(chromedp.CSS("#queue .qitem")),
		chromedp.Click(chromedp.ID("u-submit")),
		chromedp.WaitVisible(chromedp.CSS("#queue .qitem.done")))
	check("upload")

	// Switching language, and the language's pages.
	step(t, ctx, "Ukrainian", chromedp.Navigate(base+"/records/"+cs+"/matrix"),
		chromedp.Click(chromedp.CSS(`.langs a[lang="uk"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="uk"] table.matrix-table`)))
	shot(t, ctx, shots, "21-case-matrix-uk")
	check("case matrix in Ukrainian")
}

// testWAV returns seconds of a 440 Hz tone, 8 kHz mono 16-bit PCM.
func testWAV(seconds int) []byte {
	const rate = 8000
	n := rate * seconds
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	// Chunk size, PCM, mono, sample rate, byte rate, block align, bits.
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(2*n))
	for i := range n {
		binary.Write(&b, binary.LittleEndian, int16(8000*math.Sin(2*math.Pi*440*float64(i)/rate)))
	}
	return b.Bytes()
}

// testPDF returns a one-page PDF with its cross-reference table.
func testPDF() []byte {
	content := "BT /F1 24 Tf 40 100 Td (Custody) Tj ET"
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}
