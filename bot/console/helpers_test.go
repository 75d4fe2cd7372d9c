package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"gridbot/bot"
	"gridbot/bot/console"
	"gridbot/bot/wxtest"
	"gridbot/flows"
	"gridbot/flows/chat"
	"gridbot/storage"
)

// The test account.
const (
	testToken    = "pamtest"
	testAppID    = "wxb11529c136998cb6"
	testSecret   = "s3cret"
	testAPIToken = "api-token"
	community    = "幸福社区"
)

// Workers of the tests: a supervisor of 幸福社区, two workers of its grids,
// and a supervisor of another community.
var (
	sup     = flows.Worker{OpenID: "o-sup", Name: "李站长", Community: community, Grid: "第一网格", Role: flows.RoleSupervisor}
	wang    = flows.Worker{OpenID: "o-wang", Name: "王芳", Community: community, Grid: "第一网格", Role: flows.RoleWorker}
	zhao    = flows.Worker{OpenID: "o-zhao", Name: "赵强", Community: community, Grid: "第二网格", Role: flows.RoleWorker}
	otherSp = flows.Worker{OpenID: "o-other", Name: "钱主任", Community: "和平社区", Grid: "一网格", Role: flows.RoleSupervisor}
)

// env is the whole edge as `gridbot serve` wires it — webhook (with the
// console's chat hook), admin API and console on one server — over a real
// bbolt store, talking to the fake WeChat platform.
type env struct {
	t      testing.TB
	db     *storage.DB
	kv     flows.KV
	plat   *wxtest.Platform
	srv    *bot.Server
	cons   *console.Console
	wx     *wxtest.Client
	logs   *syncBuffer
	clock  *clock
	msgSeq int64
}

// clock is an adjustable now for the console (sessions' idle time).
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// syncBuffer collects log output for assertions.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newEnv starts the edge. With redisKV, sessions and links live in Redis
// (GRIDBOT_TEST_REDIS, else an in-process miniredis), as in production
// with Redis configured; otherwise in the embedded store.
func newEnv(t testing.TB, redisKV bool) *env {
	t.Helper()
	return newEnvAt(t, filepath.Join(t.TempDir(), "gridbot.db"), redisKV)
}

// newEnvAt is newEnv with the store at path.
func newEnvAt(t testing.TB, path string, redisKV bool) *env {
	t.Helper()
	db, err := storage.Open(path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, db: db, kv: db.KV(), logs: &syncBuffer{}, clock: &clock{}}
	if redisKV {
		addr := os.Getenv("GRIDBOT_TEST_REDIS")
		if addr == "" {
			addr = miniredis.RunT(t).Addr()
		}
		rc := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { rc.Close() })
		e.kv = storage.NewRedisKV(rc)
	}
	e.plat = wxtest.NewPlatform(t)
	e.plat.AppID, e.plat.AppSecret = testAppID, testSecret
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	out, err := bot.NewOutbound(bot.OutboundConfig{AppID: testAppID, AppSecret: testSecret, APIBase: e.plat.URL,
		Cache: bot.NewTokenCache(e.kv), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	engine := &chat.Engine{Store: db, Sessions: e.kv, SessionPrefix: fmt.Sprintf("test:%d:session:", time.Now().UnixNano()), Log: log}
	api := &bot.API{Token: testAPIToken, Store: db, Log: log}
	e.cons = &console.Console{Store: db, KV: e.kv, Ledger: api, Log: log, Now: e.clock.now,
		KeyPrefix: fmt.Sprintf("test:%d:console:", time.Now().UnixNano()),
		WeChat:    &console.SDKWeChat{OA: out.OfficialAccount(), AuthorizeBase: e.plat.URL}}
	engine.Extra = e.cons.Commands()
	wh, err := bot.NewWebhook(bot.WebhookConfig{Token: testToken, Handler: e.cons.Chat(engine), Pusher: out,
		Replies: storage.NewMemKV(), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = &bot.Server{Addr: "127.0.0.1:0", Webhook: wh, API: api, Console: e.cons, Log: log}
	if err := e.srv.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.srv.Shutdown(ctx)
	})
	e.wx = &wxtest.Client{URL: e.srv.URL() + "/wechat", Token: testToken}
	for _, w := range []flows.Worker{sup, wang, zhao, otherSp} {
		w.BoundAt = time.Now()
		if err := db.PutWorker(context.Background(), w); err != nil {
			t.Fatal(err)
		}
	}
	e.msgSeq = time.Now().UnixNano() / 1000
	return e
}

// say sends a text message from openID through the webhook and returns the reply.
func (e *env) say(openID, text string) string {
	e.t.Helper()
	e.msgSeq++
	reply, err := e.wx.Do(e.wx.Text(openID, text, e.msgSeq))
	if err != nil {
		e.t.Fatal(err)
	}
	return reply
}

// scan sends the scan of a QR code with scene from openID.
func (e *env) scan(openID, scene string, subscribe bool) string {
	e.t.Helper()
	e.msgSeq++
	reply, err := e.wx.Do(e.wx.Scan(openID, scene, "TICKET", subscribe, time.Now().Unix()+e.msgSeq%1000))
	if err != nil {
		e.t.Fatal(err)
	}
	return reply
}

// save stores a report directly (the conversation's own path is covered
// by its tests); it returns the saved report.
func (e *env) save(w flows.Worker, flow, kind, day, target string, counts map[string]float64) flows.Report {
	e.t.Helper()
	e.msgSeq++
	r := flows.Report{MsgKey: fmt.Sprintf("seed:%d", e.msgSeq), Worker: w.OpenID, Community: w.Community, Grid: w.Grid,
		Flow: flow, Kind: kind, Day: day, Target: target, Counts: counts, CreatedAt: time.Now(),
		Household: flow == "visit" && target != ""}
	if flow == "visit" && kind == "chronic" {
		r.FollowKey = flows.FollowKey(w.Community, flow, kind, target)
		r.NextDue = flows.AddDays(day, 90)
	}
	saved, _, err := e.db.SaveReport(context.Background(), r)
	if err != nil {
		e.t.Fatal(err)
	}
	return saved
}

// apiTally is GET /api/v1/tallies for scope and period.
func (e *env) apiTally(scope, period string) flows.Counts {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL()+"/api/v1/tallies?scope="+url.QueryEscape(scope)+"&period="+period, nil)
	req.Header.Set("Authorization", "Bearer "+testAPIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Counts flows.Counts }
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&body) != nil {
		e.t.Fatalf("tallies %s %s: %s", scope, period, resp.Status)
	}
	return body.Counts
}

// apiGet is GET path of the admin API, decoded into v.
func (e *env) apiGet(path string, v any) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+testAPIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(v) != nil {
		e.t.Fatalf("GET %s: %s", path, resp.Status)
	}
}

// browser is an HTTP client with its own cookies that does not follow
// redirects on its own.
type browser struct {
	e   *env
	c   *http.Client
	csr string // the last CSRF token seen on a page
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get fetches path (or an absolute URL) and returns status, Location and body.
func (b *browser) get(path string, hdr ...string) (int, string, string) {
	b.e.t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = b.e.srv.URL() + path
	}
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.do(req)
}

// follow fetches path and follows redirects (through the fake platform too).
func (b *browser) follow(path string) (int, string, string) {
	b.e.t.Helper()
	for range 10 {
		status, loc, body := b.get(path)
		if status < 300 || status >= 400 {
			return status, path, body
		}
		path = loc
		if strings.HasPrefix(loc, "/") {
			path = b.e.srv.URL() + loc
		}
	}
	b.e.t.Fatal("too many redirects")
	return 0, "", ""
}

// post submits a form; with csrf it adds the token of the last page.
func (b *browser) post(path string, form url.Values, csrf bool) (int, string, string) {
	b.e.t.Helper()
	if csrf {
		form.Set("csrf", b.csr)
	}
	req, _ := http.NewRequest("POST", b.e.srv.URL()+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) do(req *http.Request) (int, string, string) {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfRe.FindSubmatch(body); m != nil {
		b.csr = string(m[1])
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// loginAs logs the browser in through web authorization as openID.
func (b *browser) loginAs(openID string) {
	b.e.t.Helper()
	b.e.plat.SetOAuthUser(openID)
	status, at, body := b.follow("/console/login/oauth?next=/console/")
	if status != 200 || !strings.HasSuffix(at, "/console/") {
		b.e.t.Fatalf("login as %s: %d at %s: %.300s", openID, status, at, body)
	}
}

// metric reads the dashboard card figure data-metric=key from a page.
func metric(t testing.TB, page, key string) string {
	t.Helper()
	re := regexp.MustCompile(`class="v" data-metric="` + regexp.QuoteMeta(key) + `">([^<]*)<`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no figure %q on the page", key)
	}
	return m[1]
}

func thisMonth() string { return time.Now().In(shanghai()).Format("2006-01") }
func today() string     { return time.Now().In(shanghai()).Format("2006-01-02") }

func shanghai() *time.Location {
	z, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.Local
	}
	return z
}
