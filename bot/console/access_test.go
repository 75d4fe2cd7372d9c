package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

// Every page and action needs a session: pages send the browser to log in
// (inside WeChat straight to web authorization), actions are refused.
func TestNoSessionNoPage(t *testing.T) {
	e := newEnv(t, false)
	b := e.browser()
	for _, path := range []string{"/console/", "/console/records", "/console/records/1", "/console/todo", "/console/people",
		"/console/people/invite/ABCDEF", "/console/ledger", "/console/ledger/download?format=xlsx", "/console/nowhere"} {
		status, loc, _ := b.get(path)
		if status != http.StatusFound || !strings.HasPrefix(loc, "/console/login?next=") {
			t.Errorf("GET %s without a session: %d → %q, want 302 to the login page", path, status, loc)
		}
	}
	status, loc, _ := b.get("/console/todo", "User-Agent", "Mozilla/5.0 (iPhone) MicroMessenger/8.0.50")
	if status != http.StatusFound || loc != "/console/login/oauth?next=%2Fconsole%2Ftodo" {
		t.Errorf("inside WeChat: %d → %q, want web authorization", status, loc)
	}
	status, loc, _ = b.get("/console/login?next=/console/ledger", "User-Agent", "Mozilla/5.0 (Linux; Android 14) MicroMessenger/8.0.50")
	if status != http.StatusFound || loc != "/console/login/oauth?next=%2Fconsole%2Fledger" {
		t.Errorf("login page inside WeChat: %d → %q, want web authorization", status, loc)
	}
	for _, path := range []string{"/console/records/1/void", "/console/todo/1/move", "/console/todo/1/close", "/console/people/invite", "/console/logout"} {
		if status, _, _ := b.post(path, url.Values{"reason": {"x"}}, false); status != http.StatusUnauthorized {
			t.Errorf("POST %s without a session: %d, want 401", path, status)
		}
	}
}

// Web authorization: the state must come back, the code is traded for the
// openid, and only a bound worker gets in.
func TestOAuthLogin(t *testing.T) {
	e := newEnv(t, false)
	b := e.browser()
	b.loginAs(sup.OpenID)
	if status, _, body := b.get("/console/people"); status != 200 || !strings.Contains(body, "王芳") {
		t.Fatalf("supervisor's 人员 page: %d", status)
	}
	// Where to go after it survives the trip, Chinese and all.
	e.plat.SetOAuthUser(wang.OpenID)
	w := e.browser()
	status, at, _ := w.follow("/console/login/oauth?next=" + url.QueryEscape("/console/todo?grid=第一网格"))
	if u, _ := url.Parse(at); status != 200 || u.Path != "/console/todo" || u.Query().Get("grid") != "第一网格" {
		t.Errorf("after authorization with a next: %d at %s", status, at)
	}

	// A stranger (follows the account but is not bound) is refused.
	s := e.browser()
	e.plat.SetOAuthUser("o-stranger")
	status, _, body := s.follow("/console/login/oauth")
	if status != http.StatusForbidden || !strings.Contains(body, "还没有绑定") {
		t.Errorf("unbound user: %d %.200s", status, body)
	}
	if status, _, _ := s.get("/console/"); status != http.StatusFound {
		t.Errorf("unbound user got a session: %d", status)
	}

	// A callback whose state is not this browser's is refused, and the
	// code is not spent on it.
	x := e.browser()
	if status, _, body := x.get("/console/oauth/callback?code=CODE-1&state=forged"); status != http.StatusBadRequest || !strings.Contains(body, "已失效") {
		t.Errorf("forged state: %d %.200s", status, body)
	}
}

// A worker sees their own figures and 待办 only.
func TestWorkerScope(t *testing.T) {
	e := newEnv(t, false)
	day := today()
	mine := e.save(wang, "visit", "chronic", day, "3-2-201", nil)
	theirs := e.save(zhao, "visit", "elderly", day, "5-1-101", nil)

	b := e.browser()
	b.loginAs(wang.OpenID)
	status, _, page := b.get("/console/")
	if status != 200 || metric(t, page, "visit") != "1" {
		t.Fatalf("worker's dashboard: %d, visit %q; want their 1 visit", status, metric(t, page, "visit"))
	}
	refused := []string{
		"/console/?worker=" + zhao.OpenID, "/console/?grid=第二网格", "/console/?community=和平社区",
		"/console/records?worker=" + zhao.OpenID, "/console/todo?worker=" + zhao.OpenID,
		fmt.Sprintf("/console/records/%d", theirs.ID),
		"/console/people", "/console/ledger", "/console/ledger/download?format=csv&period=" + thisMonth(),
	}
	for _, path := range refused {
		if status, _, _ := b.get(path); status != http.StatusForbidden {
			t.Errorf("worker GET %s: %d, want 403", path, status)
		}
	}
	if status, _, body := b.get(fmt.Sprintf("/console/records/%d", mine.ID)); status != 200 || strings.Contains(body, "作废这条记录") {
		t.Errorf("worker's own report: %d (and no void form for a worker)", status)
	}
	if status, _, _ := b.post(fmt.Sprintf("/console/records/%d/void", mine.ID), url.Values{"reason": {"重复"}}, true); status != http.StatusForbidden {
		t.Errorf("worker voids: %d, want 403", status)
	}
	if got := e.apiTally("worker:"+wang.OpenID, thisMonth())["visit"]; got != 1 {
		t.Errorf("after refused void, tally %v, want 1", got)
	}
	// The navigation offers no supervisor pages.
	_, _, page = b.get("/console/")
	if strings.Contains(page, `href="/console/people"`) || strings.Contains(page, `href="/console/ledger"`) {
		t.Error("worker's navigation links supervisor pages")
	}
}

// A supervisor of another community can neither see nor change this one.
func TestSupervisorOfAnotherCommunity(t *testing.T) {
	e := newEnv(t, false)
	rep := e.save(wang, "visit", "chronic", today(), "3-2-201", nil)
	b := e.browser()
	b.loginAs(otherSp.OpenID)
	for _, path := range []string{"/console/?community=" + url.QueryEscape(community), "/console/?worker=" + wang.OpenID,
		fmt.Sprintf("/console/records/%d", rep.ID)} {
		if status, _, _ := b.get(path); status != http.StatusForbidden {
			t.Errorf("other community's supervisor GET %s: %d, want 403", path, status)
		}
	}
	if status, _, _ := b.post(fmt.Sprintf("/console/records/%d/void", rep.ID), url.Values{"reason": {"x"}}, true); status != http.StatusForbidden {
		t.Errorf("other community's supervisor voids: %d, want 403", status)
	}
	fs, _ := e.db.FollowUps(context.Background(), flows.Scope{Kind: flows.ScopeCommunity, ID: community}, false)
	if len(fs) != 1 {
		t.Fatalf("follow-ups: %d", len(fs))
	}
	if status, _, _ := b.post(fmt.Sprintf("/console/todo/%d/close", fs[0].ID), url.Values{"reason": {"迁出"}}, true); status != http.StatusForbidden {
		t.Errorf("other community's supervisor closes a follow-up: %d, want 403", status)
	}
}

// Every state-changing form needs the session's CSRF token.
func TestCSRFRequired(t *testing.T) {
	e := newEnv(t, false)
	rep := e.save(wang, "visit", "chronic", today(), "3-2-201", nil)
	b := e.browser()
	b.loginAs(sup.OpenID)
	path := fmt.Sprintf("/console/records/%d/void", rep.ID)
	for name, form := range map[string]url.Values{
		"none":  {"reason": {"重复录入"}},
		"wrong": {"reason": {"重复录入"}, "csrf": {"not-the-token"}},
	} {
		if status, _, _ := b.post(path, form, false); status != http.StatusForbidden {
			t.Errorf("void with %s token: %d, want 403", name, status)
		}
	}
	if got := e.apiTally("community:"+community, thisMonth())["visit"]; got != 1 {
		t.Fatalf("tally after refused voids: %v, want 1", got)
	}
	for _, p := range []string{"/console/people/invite", "/console/logout", "/console/todo/1/close"} {
		if status, _, _ := b.post(p, url.Values{"grid": {"x"}, "role": {"worker"}, "reason": {"迁出"}}, false); status != http.StatusForbidden {
			t.Errorf("POST %s without token: %d, want 403", p, status)
		}
	}
	// With the token from a page, the void goes through and the tally follows.
	b.get(fmt.Sprintf("/console/records/%d", rep.ID))
	if status, loc, _ := b.post(path, url.Values{"reason": {"重复录入"}}, true); status != http.StatusSeeOther || !strings.Contains(loc, "done=void") {
		t.Fatalf("void with token: %d → %s", status, loc)
	}
	if got := e.apiTally("community:"+community, thisMonth())["visit"]; got != 0 {
		t.Errorf("tally after void: %v, want 0", got)
	}
	if !strings.Contains(e.logs.String(), "console: report voided") || !strings.Contains(e.logs.String(), "actor="+sup.OpenID) {
		t.Errorf("void not logged with its actor:\n%s", e.logs.String())
	}
	if strings.Contains(e.logs.String(), "重复录入") {
		t.Error("void reason logged at info level")
	}
	_, _, body := b.get(fmt.Sprintf("/console/records/%d", rep.ID))
	if !strings.Contains(body, "已作废") || !strings.Contains(body, "李站长：重复录入") {
		t.Errorf("voided report's page does not say who and why: %.500s", body)
	}
}

// 后台 in chat answers a one-time link: it logs in once, within 10 minutes.
func TestOneTimeLink(t *testing.T) {
	for _, redisKV := range []bool{false, true} {
		t.Run(fmt.Sprintf("redis=%v", redisKV), func(t *testing.T) {
			e := newEnv(t, redisKV)
			reply := e.say(sup.OpenID, "后台")
			m := regexp.MustCompile(`/console/link/[A-Za-z0-9_-]+`).FindString(reply)
			if m == "" {
				t.Fatalf("后台 answered %q", reply)
			}
			b := e.browser()
			if status, loc, _ := b.get(m); status != http.StatusSeeOther || loc != "/console/" {
				t.Fatalf("first use: %d → %s", status, loc)
			}
			if status, _, _ := b.get("/console/people"); status != 200 {
				t.Errorf("session from link: %d", status)
			}
			if status, _, body := e.browser().get(m); status != http.StatusGone || !strings.Contains(body, "只能用一次") {
				t.Errorf("second use: %d %.200s", status, body)
			}
			// An expired link (the KV's TTL) does not work either. An
			// in-process miniredis does not expire keys on its own.
			if redisKV && os.Getenv("GRIDBOT_TEST_REDIS") == "" {
				return
			}
			e.cons.LinkTTL = time.Second
			m2 := regexp.MustCompile(`/console/link/[A-Za-z0-9_-]+`).FindString(e.say(sup.OpenID, "后台"))
			time.Sleep(1100 * time.Millisecond)
			if status, _, _ := e.browser().get(m2); status != http.StatusGone {
				t.Errorf("expired link: %d, want 410", status)
			}
		})
	}
}

// Cookies: HttpOnly, SameSite=Lax, Secure behind HTTPS; sessions end after
// 12 idle hours and on logout.
func TestSessionCookieAndExpiry(t *testing.T) {
	e := newEnv(t, false)
	reply := e.say(sup.OpenID, "后台")
	link := regexp.MustCompile(`/console/link/[A-Za-z0-9_-]+`).FindString(reply)
	req, _ := http.NewRequest("GET", e.srv.URL()+link, nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ck := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"gb_session=", "HttpOnly", "Secure", "SameSite=Lax", "Path=/console/", "Max-Age=43200"} {
		if !strings.Contains(ck, want) {
			t.Errorf("session cookie %q lacks %s", ck, want)
		}
	}

	b := e.browser()
	b.loginAs(sup.OpenID)
	e.clock.advance(11 * time.Hour)
	if status, _, _ := b.get("/console/"); status != 200 {
		t.Fatalf("after 11 idle hours: %d, want 200", status)
	}
	e.clock.advance(11 * time.Hour) // 11 h after the last request: still in
	if status, _, _ := b.get("/console/"); status != 200 {
		t.Fatalf("11 h after the last request: %d, want 200", status)
	}
	e.clock.advance(12*time.Hour + time.Minute)
	if status, _, _ := b.get("/console/"); status != http.StatusFound {
		t.Errorf("after 12 idle hours: %d, want the login page", status)
	}

	b.loginAs(sup.OpenID)
	if status, loc, _ := b.post("/console/logout", url.Values{}, true); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/login") {
		t.Fatalf("logout: %d → %s", status, loc)
	}
	if status, _, _ := b.get("/console/"); status != http.StatusFound {
		t.Errorf("after logout: %d, want the login page", status)
	}
}
