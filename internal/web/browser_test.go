package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/custody-dev/custody"
)

// The browser tests drive Debian's chromium, headless, against the web
// application served on loopback: what an investigator does, end to end,
// with JavaScript on. They are skipped when chromium is missing, except in
// CI (CI=true), where that is a failure. Screenshots of the main pages go
// to $CUSTODY_SCREENSHOTS, or a temporary directory; the test logs where.

// chromiumPath finds the browser: $CUSTODY_CHROMIUM, /usr/bin/chromium, or
// chromium on the PATH.
func chromiumPath(t testing.TB) string {
	for _, p := range []string{os.Getenv("CUSTODY_CHROMIUM"), "/usr/bin/chromium"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but chromium is not installed: the browser tests must run in CI")
	}
	t.Skip("chromium not installed (set CUSTODY_CHROMIUM)")
	return ""
}

// browser starts a fresh headless chromium and returns a tab's context.
func browser(t testing.TB) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("lang", "en-GB"),
		chromedp.Flag("accept-lang", "en-GB,en"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelB()
		cancelA()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no timeout
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// screenshots returns the directory screenshots go to.
func screenshots(t testing.TB) string {
	dir := os.Getenv("CUSTODY_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// step runs chromedp steps with a deadline, failing the test on error.
func step(t testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		loc, _ := chromedp.Run(dctx, chromedp.Location())
		html, _ := chromedp.Run(dctx, chromedp.OuterHTML(chromedp.CSS("main")))
		if len(html) > 3000 {
			html = html[:3000]
		}
		t.Fatalf("%s: %v\nat %s\n%s", what, err, loc, html)
	}
}

func run[T any](t testing.TB, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func shot(t testing.TB, ctx context.Context, dir, name string) {
	t.Helper()
	png := run(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowser walks through what an investigator does: sign in, upload a
// photo with GPS and see its hash and position, record a body with a sign
// of torture and see the dashboard's count change, switch language, sign
// out.
func TestBrowser(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t, envOptions{tus: true, realClock: true})
	shots := screenshots(t)
	base := e.srv.URL
	site := e.seedSite(t)
	photo := exifJPEG(t, 49.1947, 37.2816)
	sum := sha256.Sum256(photo)
	photoPath := filepath.Join(t.TempDir(), "IMG_0412.jpg")
	if err := os.WriteFile(photoPath, photo, 0o644); err != nil {
		t.Fatal(err)
	}

	// A page fetched without a session goes to the sign-in form, and back.
	step(t, ctx, "open records", chromedp.Navigate(base+"/records?kind=site"), chromedp.WaitVisible(chromedp.ID("name")))
	loc := run(t, ctx, "location", chromedp.Location())
	if want := base + "/signin?next=" + url.QueryEscape("/records?kind=site"); loc != want {
		t.Fatalf("without a session: at %s, want %s", loc, want)
	}
	shot(t, ctx, shots, "01-signin")
	step(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.ID("name"), "o.kovalenko"),
		chromedp.SendKeys(chromedp.ID("password"), investigatorPass),
		chromedp.Click(chromedp.ID("signin-submit")),
		chromedp.WaitVisible(chromedp.CSS("table.list")))
	if loc := run(t, ctx, "location", chromedp.Location()); loc != base+"/records?kind=site" {
		t.Fatalf("after sign-in: at %s, want the page asked for", loc)
	}
	shot(t, ctx, shots, "02-records")

	// The dashboard before.
	step(t, ctx, "dashboard", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(".t-torture .value")))
	before := run(t, ctx, "torture count", chromedp.Text(chromedp.CSS(".t-torture .value")))

	// Upload a photo with GPS: its hash (computed in the browser, then by
	// the store) and its position appear.
	step(t, ctx, "upload",
		chromedp.Navigate(base+"/upload"),
		chromedp.WaitVisible(chromedp.ID("drop")),
		chromedp.SendKeys(chromedp.ID("u-case"), "12022220000000123"),
		chromedp.SendKeys(chromedp.ID("u-collector"), "Mobile group 7"),
		chromedp.SetUploadFiles(chromedp.ID("u-files"), []string{photoPath}, chromedp.NodeReady),
		chromedp.WaitVisible(chromedp.CSS("#queue .qitem")),
		chromedp.Click(chromedp.ID("u-submit")),
		chromedp.WaitVisible(chromedp.CSS("#queue .qitem.done")))
	hash := run(t, ctx, "hash", chromedp.Text(chromedp.CSS("#queue .qitem .qhash")))
	if want := "sha256-" + hex.EncodeToString(sum[:]); !strings.Contains(hash, want) || !strings.Contains(hash, "matches") {
		t.Errorf("upload shows hash %q, want %s and a match", hash, want)
	}
	gps := run(t, ctx, "gps", chromedp.Text(chromedp.CSS("#queue .qitem .qgps")))
	if gps != "49.19470, 37.28160" {
		t.Errorf("upload shows position %q, want 49.19470, 37.28160", gps)
	}
	shot(t, ctx, shots, "03-upload")
	items, err := e.svc.Items(context.Background(), custody.SystemActor, custody.ItemFilter{Case: "12022220000000123"})
	if err != nil || len(items) != 1 {
		t.Fatalf("items of the case: %v, %v", items, err)
	}
	var capture struct{ GPS *struct{ Lat, Lon float64 } }
	if err := json.Unmarshal(items[0].Capture, &capture); err != nil || capture.GPS == nil {
		t.Fatalf("capture metadata %s: no GPS", items[0].Capture)
	}

	// The item's page: preview, hash, position, custody, proof.
	step(t, ctx, "item page",
		chromedp.Click(chromedp.CSS("#queue .qlink a")),
		chromedp.WaitVisible(chromedp.ID("proof-status")))
	proof := run(t, ctx, "proof", chromedp.Text(chromedp.ID("proof-status")))
	if !strings.Contains(proof, "Included in the log at index") || !strings.Contains(proof, "verified against the checkpoint of size") {
		t.Errorf("proof status %q", proof)
	}
	loaded := run(t, ctx, "preview loaded", chromedp.Evaluate[bool](`new Promise(function (resolve) {
	  var i = document.querySelector("img.preview-media");
	  var done = function () { resolve(i.complete && i.naturalWidth === 96); };
	  if (i.complete) { done(); return; }
	  i.addEventListener("load", done);
	  i.addEventListener("error", done);
	  setTimeout(done, 10000);
	})`, chromedp.EvalAwaitPromise))
	if !loaded {
		t.Error("the preview image did not load")
	}
	shot(t, ctx, shots, "04-item")

	// Record a body with a sign of torture at the site.
	step(t, ctx, "remains form",
		chromedp.Navigate(base+"/records/"+site),
		chromedp.WaitVisible(chromedp.ID("add-remains")))
	shot(t, ctx, shots, "05-site")
	step(t, ctx, "record a body",
		chromedp.Click(chromedp.ID("add-remains")),
		chromedp.WaitVisible(chromedp.ID("f-body")),
		chromedp.SendKeys(chromedp.ID("f-grave"), "117"),
		chromedp.SendKeys(chromedp.ID("f-body"), "B-117"),
		chromedp.SetValue(chromedp.ID("f-sex"), "male"),
		chromedp.SendKeys(chromedp.ID("f-torture-0-sign"), "ligature marks on both wrists"),
		chromedp.SetValue(chromedp.ID("f-torture-0-grade"), "highly_consistent"))
	shot(t, ctx, shots, "06-remains-form")
	step(t, ctx, "save",
		chromedp.Click(chromedp.ID("save")),
		chromedp.WaitVisible(chromedp.ID("record-title")))
	if title := run(t, ctx, "title", chromedp.Text(chromedp.ID("record-title"))); title != "Grave 117, body B-117" {
		t.Errorf("saved record's title %q", title)
	}
	shot(t, ctx, shots, "07-remains")

	step(t, ctx, "dashboard after", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(".t-torture .value")))
	after := run(t, ctx, "torture count", chromedp.Text(chromedp.CSS(".t-torture .value")))
	if before != "0" || after != "1" {
		t.Errorf("bodies with signs of torture: %q before, %q after; want 0 then 1", before, after)
	}
	shot(t, ctx, shots, "08-dashboard")
	step(t, ctx, "map", chromedp.Navigate(base+"/map"), chromedp.WaitVisible(chromedp.CSS("svg.geo-map")))
	shot(t, ctx, shots, "09-map")

	// Switch to Ukrainian: every text changes, numbers and dates too.
	step(t, ctx, "switch language",
		chromedp.Click(chromedp.CSS(`.langs a[lang="uk"]`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="uk"]`)))
	nav := run(t, ctx, "nav", chromedp.Text(chromedp.CSS(`.main-nav a[href="/"]`)))
	if nav != "Огляд" {
		t.Errorf("after switching to Ukrainian the dashboard link reads %q", nav)
	}
	if loc := run(t, ctx, "location", chromedp.Location()); loc != base+"/map" {
		t.Errorf("the switcher went to %s, not back to the map", loc)
	}
	shot(t, ctx, shots, "10-map-uk")
	step(t, ctx, "dashboard uk", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(".t-torture .value")))
	shot(t, ctx, shots, "11-dashboard-uk")

	// On a tablet in portrait: one column, large targets.
	step(t, ctx, "tablet", chromedp.EmulateViewport(800, 1280, chromedp.EmulateTouch),
		chromedp.Navigate(base+"/records/new?kind=remains&site="+site), chromedp.WaitVisible(chromedp.ID("f-body")))
	shot(t, ctx, shots, "12-remains-form-tablet-uk")
	step(t, ctx, "tablet dashboard", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(".t-torture .value")))
	shot(t, ctx, shots, "13-dashboard-tablet-uk")

	// Sign out: the session is gone, pages ask to sign in again.
	step(t, ctx, "sign out",
		chromedp.Click(chromedp.ID("signout")),
		chromedp.WaitVisible(chromedp.ID("signin-submit")))
	if loc := run(t, ctx, "location", chromedp.Location()); loc != base+"/signin?out=1" {
		t.Errorf("after sign-out: at %s", loc)
	}
	step(t, ctx, "after sign-out", chromedp.Navigate(base+"/items"), chromedp.WaitVisible(chromedp.ID("signin-submit")))
	if loc := run(t, ctx, "location", chromedp.Location()); !strings.HasPrefix(loc, base+"/signin?next=") {
		t.Errorf("a page after sign-out: at %s, want the sign-in form", loc)
	}
}

// seedSite records a site in Izium for the tests, as an investigator.
func (e *env) seedSite(t testing.TB) string {
	t.Helper()
	recs, err := e.svc.CreateRecords(context.Background(), e.inv, []custody.RecordInput{{Kind: custody.KindSite,
		Data: json.RawMessage(`{"name":"Forest burial site","type":"mass_burial","locality":"UA63040090010029555","status":"excavation",` +
			`"location":{"point":{"lat":49.1947,"lon":37.2816}},"found_on":"2022-09-15","graves":447}`)}})
	if err != nil {
		t.Fatal(err)
	}
	return recs[0].ID
}
