package console_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"gridbot/flows"
)

// screenshotsFlag is where the browser tests write their screenshots;
// GRIDBOT_SCREENSHOTS sets it too. Default: gridbot-screenshots in the
// system's temp directory (kept after the run, never in the repository).
var screenshotsFlag = flag.String("screenshots", "", "`dir` for the browser tests' screenshots (default $GRIDBOT_SCREENSHOTS or $TMPDIR/gridbot-screenshots)")

// findChromium returns the browser to drive. Without one the browser
// tests are skipped on a developer's machine but fail in CI (CI=true),
// where .ci/run installs it.
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("GRIDBOT_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium found (CI=true): install it with apt-get install -y chromium, or set GRIDBOT_CHROMIUM")
	}
	t.Skip("no Chromium found: install it (apt-get install -y chromium) to run the browser tests")
	return ""
}

func screenshotDir(t *testing.T) string {
	dir := *screenshotsFlag
	if dir == "" {
		dir = os.Getenv("GRIDBOT_SCREENSHOTS")
	}
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "gridbot-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tab is one browser tab with its own cookies (a browser context).
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func (e *env) newTab(t *testing.T, root context.Context) *tab {
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancel2 := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil { // start the tab
		t.Fatal(err)
	}
	// Accept the confirm() of forms that ask before a change.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return &tab{t: t, ctx: ctx, base: e.srv.URL()}
}

func (b *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatal(err)
	}
}

func (b *tab) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("main")))
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (b *tab) location() string {
	b.t.Helper()
	u, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}

// shoot writes screenshots of the current page at phone and desktop sizes.
func (b *tab) shoot(dir, name string) {
	b.t.Helper()
	url := b.location()
	for _, size := range [][2]int64{{375, 812}, {1280, 800}} {
		b.do(chromedp.EmulateViewport(size[0], size[1]), chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("main")))
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			b.t.Fatal(err)
		}
		file := filepath.Join(dir, fmt.Sprintf("%s-%dx%d.png", name, size[0], size[1]))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.do(chromedp.EmulateViewport(375, 812))
}

// The console in a real browser: logged in by web authorization and by a
// QR scan, figures equal to the API's, a void and its effect, a follow-up
// moved, an invite bound by its scene, a ledger downloaded; screenshots of
// every page at 375×812 and 1280×800.
func TestBrowser(t *testing.T) {
	exe := findChromium(t)
	e := newEnv(t, false)
	shots := screenshotDir(t)
	t.Logf("screenshots in %s", shots)

	now := time.Now().In(shanghai())
	day := now.Format("2006-01-02")
	month := now.Format("2006-01")
	var visits []flows.Report
	targets := []string{"3-2-201", "3-2-202", "5-1-101", "7-3-301", "2-1-102"}
	for i, tg := range targets {
		w := wang
		if i%2 == 1 {
			w = zhao
		}
		visits = append(visits, e.save(w, "visit", "chronic", day, tg, nil))
	}
	e.save(wang, "visit", "elderly", day, "8-8-808", nil)
	e.save(zhao, "campaign", "lecture", day, "", map[string]float64{"leaflets": 400, "participants": 35})
	e.save(wang, "inspection", "fire", day, "菜市场", map[string]float64{"issues_found": 3})
	e.save(zhao, "visit", "chronic", now.AddDate(0, 0, -100).Format("2006-01-02"), "9-1-101", nil)
	for m := 1; m <= 11; m++ { // a year of history for the trend chart
		d := now.AddDate(0, -m, 0).Format("2006-01") + "-10"
		for range m%4 + 1 {
			e.save(wang, "visit", "elderly", d, fmt.Sprintf("h-%d", m), nil)
		}
		e.save(zhao, "campaign", "publicity", d, "", map[string]float64{"leaflets": float64(50 * m)})
	}

	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()))
	t.Cleanup(cancel)
	// The browser itself; each tab below gets its own browser context.
	root, cancelRoot := chromedp.NewContext(alloc)
	t.Cleanup(cancelRoot)
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	alloc = root

	// --- Log in by web authorization, as inside WeChat ---
	b := e.newTab(t, alloc)
	b.do(chromedp.EmulateViewport(375, 812))
	e.plat.SetOAuthUser(sup.OpenID)
	b.open("/console/login/oauth?next=/console/")
	// The fragment of WeChat's authorize URL (#wechat_redirect) stays on
	// through the redirects, as browsers keep it.
	if loc, _, _ := strings.Cut(b.location(), "#"); !strings.HasSuffix(loc, "/console/") {
		t.Fatalf("after web authorization at %s", loc)
	}
	api := e.apiTally("community:"+community, month)
	for _, k := range []string{"visit", "inspection", "campaign", "leaflets", "participants", "issues_found"} {
		if got, want := b.text(`.stat [data-metric="`+k+`"]`), fmt.Sprint(api[k]); got != want {
			t.Errorf("dashboard %s = %s, API %s", k, got, want)
		}
	}
	if got := b.text(`.stat [data-metric="overdue"]`); got != "1" {
		t.Errorf("overdue %s, want 1", got)
	}
	b.shoot(shots, "1-dashboard")

	// --- Void a report: the tally drops, on the page and in the API ---
	b.open(fmt.Sprintf("/console/records/%d", visits[0].ID))
	b.shoot(shots, "3-record")
	b.do(chromedp.SetValue(chromedp.CSS(`input[name="reason"]`), "重复录入"),
		chromedp.Click(chromedp.CSS(`button.danger`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	if f := b.text(".flash"); !strings.Contains(f, "已作废") {
		t.Errorf("after void: %q", f)
	}
	b.open("/console/")
	after := e.apiTally("community:"+community, month)["visit"]
	if after != api["visit"]-1 {
		t.Errorf("API visits %v after void, want %v", after, api["visit"]-1)
	}
	if got := b.text(`.stat [data-metric="visit"]`); got != fmt.Sprint(after) {
		t.Errorf("dashboard visits %s after void, API %v", got, after)
	}
	b.open("/console/records")
	b.shoot(shots, "2-records")

	// --- Move a follow-up to another worker ---
	b.open("/console/todo")
	b.shoot(shots, "4-todo")
	fs, _ := e.db.FollowUps(context.Background(), flows.Scope{Kind: flows.ScopeWorker, ID: zhao.OpenID}, false)
	var target flows.FollowUp
	for _, f := range fs {
		if f.Target == "9-1-101" {
			target = f
		}
	}
	if target.ID == 0 {
		t.Fatalf("no follow-up for 9-1-101 in %v", fs)
	}
	li := fmt.Sprintf("#f%d", target.ID)
	b.do(chromedp.Click(chromedp.CSS(li+" summary")),
		chromedp.SetValue(chromedp.CSS(li+` form[action$="/move"] select`), wang.OpenID),
		chromedp.Click(chromedp.CSS(li+` form[action$="/move"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	if f, _ := e.db.FollowUp(context.Background(), target.ID); f.Worker != wang.OpenID {
		t.Errorf("follow-up %d belongs to %s after the move, want %s", target.ID, f.Worker, wang.OpenID)
	}

	// --- Invite a worker; the scan of the invite's QR code binds them ---
	b.open("/console/people")
	b.shoot(shots, "5-people")
	b.do(chromedp.SetValue(chromedp.CSS(`input[name="grid"]`), "第三网格"),
		chromedp.Click(chromedp.CSS(`form[action="/console/people/invite"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.qrbox svg`)))
	code := b.text(`[data-code]`)
	if scene := e.lastQR(); scene != "inv_"+code {
		t.Fatalf("invite QR scene %q, code on the page %q", scene, code)
	}
	b.shoot(shots, "6-invite")
	if reply := e.scan("o-newbie", "inv_"+code, true); !strings.Contains(reply, "绑定成功") {
		t.Errorf("scan of the invite answered %q", reply)
	}
	if w, err := e.db.Worker(context.Background(), "o-newbie"); err != nil || w.Grid != "第三网格" {
		t.Errorf("new worker %+v, %v", w, err)
	}

	// --- Download the month's ledger ---
	dl := t.TempDir()
	if _, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl, BrowserContextID: browserContext(b)}); err != nil {
		t.Fatal(err)
	}
	b.open("/console/ledger?period=" + month)
	b.shoot(shots, "7-ledger")
	b.do(chromedp.Click(chromedp.CSS(`a[href*="format=xlsx"]`)))
	file := waitDownload(t, dl)
	x, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatalf("ledger %s: %v", file, err)
	}
	var cells bytes.Buffer
	for _, sh := range x.GetSheetList() {
		rows, _ := x.GetRows(sh)
		for _, r := range rows {
			cells.WriteString(strings.Join(r, "|") + "\n")
		}
	}
	x.Close()
	if !strings.Contains(cells.String(), "3-2-202") || strings.Contains(cells.String(), "3-2-201") {
		t.Errorf("ledger rows (the voided 3-2-201 must be out):\n%s", cells.String())
	}

	// --- Log in on a "PC" by scanning the login page's QR code ---
	pc := e.newTab(t, alloc)
	pc.do(chromedp.EmulateViewport(1280, 800))
	pc.open("/console/login")
	pc.shoot(shots, "0-login") // each load makes a new code; the last one stays on the page
	pc.do(chromedp.WaitVisible(chromedp.CSS(`#qr svg`)))
	if reply := e.scan(sup.OpenID, e.lastQR(), false); !strings.Contains(reply, "已登录") {
		t.Fatalf("scan answered %q", reply)
	}
	pc.do(chromedp.WaitVisible(chromedp.CSS(`.cards`))) // the page polled and went in
	if loc := pc.location(); !strings.HasSuffix(loc, "/console/") {
		t.Errorf("after the scan the PC is at %s", loc)
	}

	// --- Page weight and time of a first load (empty cache) ---
	fresh := e.newTab(t, alloc)
	link := regexp.MustCompile(`/console/link/[A-Za-z0-9_-]+`).FindString(e.say(sup.OpenID, "后台"))
	if _, err := chromedp.Call(fresh.ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		t.Fatal(err)
	}
	fresh.do(chromedp.EmulateViewport(375, 812))
	fresh.open(link)
	fresh.open("/console/")
	type weight struct {
		Transfer, Decoded, Resources float64
		DOMContentLoaded, Load       float64
	}
	w, err := chromedp.Run(fresh.ctx, chromedp.Evaluate[weight](`(() => {
		const n = performance.getEntriesByType("navigation")[0];
		let t = n.transferSize, d = n.decodedBodySize, k = 0;
		for (const r of performance.getEntriesByType("resource")) { t += r.transferSize; d += r.decodedBodySize; k++; }
		return {Transfer: t, Decoded: d, Resources: k, DOMContentLoaded: n.domContentLoadedEventEnd, Load: n.loadEventEnd};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("dashboard first load: %.1f KB transferred (%.1f KB decoded, %v subresources), DOMContentLoaded %.0f ms, load %.0f ms",
		w.Transfer/1024, w.Decoded/1024, w.Resources, w.DOMContentLoaded, w.Load)
	if w.Transfer <= 0 || w.Transfer > 400*1024 {
		t.Errorf("dashboard first load transferred %.1f KB, budget 400 KB", w.Transfer/1024)
	}
	if w.Resources < 2 {
		t.Errorf("dashboard loaded %v subresources, want its CSS and JS", w.Resources)
	}
	os.WriteFile(filepath.Join(shots, "weight.txt"), []byte(strconv.FormatFloat(w.Transfer, 'f', 0, 64)+" bytes\n"), 0o644)
}

// browserContext is the browser context of a tab made WithNewBrowserContext.
func browserContext(b *tab) cdp.BrowserContextID {
	c := chromedp.FromContext(b.ctx)
	if c == nil || c.BrowserContextID == "" {
		return ""
	}
	return c.BrowserContextID
}

// waitDownload waits for a finished download in dir and returns its path.
func waitDownload(t *testing.T, dir string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ents, _ := os.ReadDir(dir)
		for _, en := range ents {
			if !strings.HasSuffix(en.Name(), ".crdownload") {
				if fi, err := en.Info(); err == nil && fi.Size() > 0 {
					return filepath.Join(dir, en.Name())
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no download in %s", dir)
	return ""
}
