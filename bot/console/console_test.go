package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

// lastQR is the newest QR code the platform issued.
func (e *env) lastQR() (scene string) {
	e.t.Helper()
	qrs := e.plat.QRCodes()
	if len(qrs) == 0 {
		e.t.Fatal("no QR code issued")
	}
	q := qrs[len(qrs)-1]
	if q.Action != "QR_STR_SCENE" || q.ExpireSeconds <= 0 {
		e.t.Fatalf("QR code %+v: want a temporary string scene", q)
	}
	return q.Scene
}

// On a PC the login page shows a QR code; scanning it in WeChat logs that
// browser (and only that one) in; the page learns it by polling.
func TestQRLogin(t *testing.T) {
	e := newEnv(t, false)
	b := e.browser()
	status, _, page := b.get("/console/login?next=/console/todo")
	if status != 200 || !strings.Contains(page, `<svg class="qr"`) {
		t.Fatalf("login page: %d, no QR code", status)
	}
	scene := e.lastQR()
	if !strings.HasPrefix(scene, "login_") || len(scene) > 64 {
		t.Fatalf("scene %q", scene)
	}
	if _, _, body := b.get("/console/login/poll"); !strings.Contains(body, `"done":false`) {
		t.Fatalf("poll before the scan: %s", body)
	}
	// A stranger's scan does not log anyone in.
	if reply := e.scan("o-stranger", scene, true); !strings.Contains(reply, "还没有绑定") {
		t.Errorf("stranger's scan answered %q", reply)
	}
	if _, _, body := b.get("/console/login/poll"); !strings.Contains(body, `"done":false`) {
		t.Fatalf("poll after a stranger's scan: %s", body)
	}
	if reply := e.scan(sup.OpenID, scene, false); !strings.Contains(reply, "电脑上的后台已登录") || !strings.Contains(reply, "李站长") {
		t.Errorf("scan answered %q", reply)
	}
	// Another browser cannot claim the scan.
	if _, _, body := e.browser().get("/console/login/poll"); !strings.Contains(body, `"expired":true`) {
		t.Errorf("another browser's poll: %s", body)
	}
	_, _, body := b.get("/console/login/poll")
	if !strings.Contains(body, `"done":true`) || !strings.Contains(body, `"next":"/console/todo"`) {
		t.Fatalf("poll after the scan: %s", body)
	}
	if status, _, _ := b.get("/console/todo"); status != 200 {
		t.Errorf("after QR login: %d", status)
	}
	// The code is spent: a second scan of it says so.
	if reply := e.scan(wang.OpenID, scene, false); !strings.Contains(reply, "过期") {
		t.Errorf("second scan answered %q", reply)
	}
	// A follower-to-be scanning (subscribe with qrscene_) works as well.
	c := e.browser()
	c.get("/console/login")
	if reply := e.scan(wang.OpenID, e.lastQR(), true); !strings.Contains(reply, "已登录") {
		t.Errorf("subscribe scan answered %q", reply)
	}
	if _, _, body := c.get("/console/login/poll"); !strings.Contains(body, `"done":true`) {
		t.Errorf("poll after subscribe scan: %s", body)
	}
}

// An invite is a QR code: scanning it follows the account and binds in one
// step; the code is shown for typing too.
func TestInviteByScan(t *testing.T) {
	e := newEnv(t, false)
	b := e.browser()
	b.loginAs(sup.OpenID)
	b.get("/console/people")
	status, loc, _ := b.post("/console/people/invite", url.Values{"grid": {"第三网格"}, "role": {"worker"}}, true)
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/people/invite/") {
		t.Fatalf("create invite: %d → %s", status, loc)
	}
	code := strings.TrimPrefix(loc, "/console/people/invite/")
	_, _, page := b.get(loc)
	if !strings.Contains(page, "绑定 "+code) || !strings.Contains(page, `<svg class="qr"`) {
		t.Fatalf("invite page lacks the code or the QR code: %.400s", page)
	}
	scene := e.lastQR()
	if scene != "inv_"+code {
		t.Fatalf("invite scene %q, want inv_%s", scene, code)
	}
	reply := e.scan("o-new", scene, true)
	if !strings.Contains(reply, "欢迎关注") || !strings.Contains(reply, "绑定成功") || !strings.Contains(reply, "第三网格") {
		t.Fatalf("scan of the invite answered %q", reply)
	}
	w, err := e.db.Worker(context.Background(), "o-new")
	if err != nil || w.Community != community || w.Grid != "第三网格" || w.Role != flows.RoleWorker {
		t.Fatalf("bound worker %+v, %v", w, err)
	}
	// The code is single use.
	if reply := e.scan("o-late", scene, false); !strings.Contains(reply, "已被使用") {
		t.Errorf("second scan answered %q", reply)
	}
	// A supervisor may not hand out the admin role.
	if status, _, _ := b.post("/console/people/invite", url.Values{"grid": {"x"}, "role": {"admin"}}, true); status != http.StatusBadRequest {
		t.Errorf("supervisor invites an admin: %d, want 400", status)
	}
	if !strings.Contains(e.logs.String(), "console: invite created") {
		t.Error("invite not logged")
	}
}

// Every figure on the dashboard equals the admin API's for the same scope
// and period; a void takes it down in both.
func TestDashboardEqualsAPI(t *testing.T) {
	e := newEnv(t, false)
	now := time.Now().In(shanghai())
	month := now.Format("2006-01")
	lastMonth := now.AddDate(0, -1, -now.Day()+1).Format("2006-01")
	day := now.Format("2006-01-02")
	var reps []flows.Report
	for i := range 5 {
		reps = append(reps, e.save(wang, "visit", "chronic", day, fmt.Sprintf("1-1-%d", 100+i), nil))
	}
	e.save(zhao, "visit", "elderly", day, "2-1-101", nil)
	e.save(zhao, "campaign", "publicity", day, "", map[string]float64{"leaflets": 400, "participants": 35})
	e.save(wang, "inspection", "fire", day, "菜市场", map[string]float64{"issues_found": 2})
	e.save(wang, "visit", "maternal", lastMonth+"-01", "1-1-999", nil)
	e.save(otherSp, "visit", "chronic", day, "9-9-9", nil)
	// 1-1-100 again: one household (户), two visits (户次).
	e.save(wang, "visit", "chronic", day, "1-1-100", nil)
	// A roster: four of the households, and two never visited.
	var roster []flows.Household
	for _, h := range []struct{ grid, hh, tag string }{
		{"第一网格", "1-1-100", "高血压"}, {"第一网格", "1-1-101", "糖尿病"}, {"第一网格", "1-1-150", "高血压"},
		{"第二网格", "2-1-101", ""}, {"第二网格", "2-1-150", ""},
	} {
		hh := flows.Household{Community: community, Grid: h.grid, Household: h.hh}
		if h.tag != "" {
			hh.Tags = []string{h.tag}
		}
		roster = append(roster, hh)
	}
	if _, err := e.db.PutHouseholds(context.Background(), roster); err != nil {
		t.Fatal(err)
	}

	b := e.browser()
	b.loginAs(sup.OpenID)
	check := func(query, scope, period string) {
		t.Helper()
		_, _, page := b.get("/console/?" + query)
		api := e.apiTally(scope, period)
		for _, k := range []string{"visit", "visit.households", "inspection", "campaign", "leaflets", "participants", "issues_found"} {
			if got, want := metric(t, page, k), strings.TrimSuffix(fmt.Sprint(api[k]), ".0"); got != want {
				t.Errorf("%s %s: page %s = %s, API %s", scope, period, k, got, want)
			}
		}
		if strings.HasPrefix(scope, "worker:") {
			if strings.Contains(page, "入户率") {
				t.Errorf("%s: a worker's dashboard shows 入户率", scope)
			}
			return
		}
		var cv flows.Coverage
		e.apiGet("/api/v1/coverage?scope="+url.QueryEscape(scope)+"&period="+period, &cv)
		for k, want := range map[string]string{"visit_rate": flows.RatePercent(cv.VisitRate), "visited": fmt.Sprint(cv.Visited), "roster": fmt.Sprint(cv.Households)} {
			if got := metric(t, page, k); got != want {
				t.Errorf("%s %s: page %s = %s, API %s", scope, period, k, got, want)
			}
		}
		for _, m := range cv.Managed {
			if want := fmt.Sprintf(`data-metric="managed.%s">%d 人<`, m.Tag, m.Managed); !strings.Contains(page, want) {
				t.Errorf("%s %s: page lacks %s", scope, period, want)
			}
		}
	}
	check("period="+month, "community:"+community, month)
	check("period="+lastMonth, "community:"+community, lastMonth)
	check("period="+month[:4], "community:"+community, month[:4])
	check("period="+month+"&grid="+url.QueryEscape("第二网格"), "grid:"+community+"/第二网格", month)
	check("period="+month+"&worker="+wang.OpenID, "worker:"+wang.OpenID, month)

	_, _, page := b.get("/console/?period=" + month)
	if metric(t, page, "visit") != "7" || metric(t, page, "visit.households") != "6" || metric(t, page, "leaflets") != "400" {
		t.Errorf("community visits %s, households %s, leaflets %s; want 7, 6 and 400",
			metric(t, page, "visit"), metric(t, page, "visit.households"), metric(t, page, "leaflets"))
	}
	// 入户率: 3 of the 5 roster households (1-1-100, 1-1-101, 2-1-101).
	if metric(t, page, "visit_rate") != "60%" || metric(t, page, "visited") != "3" || metric(t, page, "roster") != "5" {
		t.Errorf("coverage %s (%s/%s), want 60%% (3/5)", metric(t, page, "visit_rate"), metric(t, page, "visited"), metric(t, page, "roster"))
	}
	for _, want := range []string{"各网格记录数", "第一网格", "第二网格", "近 12 个月趋势", "慢病随访"} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if strings.Contains(page, "9-9-9") || strings.Contains(page, "和平社区") {
		t.Error("dashboard shows another community")
	}

	// Void one from the console: page and API drop together.
	b.get(fmt.Sprintf("/console/records/%d", reps[0].ID))
	if status, _, _ := b.post(fmt.Sprintf("/console/records/%d/void", reps[0].ID), url.Values{"reason": {"重复录入"}}, true); status != http.StatusSeeOther {
		t.Fatalf("void: %d", status)
	}
	check("period="+month, "community:"+community, month)
	if _, _, page = b.get("/console/?period=" + month); metric(t, page, "visit") != "6" || metric(t, page, "visit.households") != "6" {
		t.Errorf("after void, visits %s, households %s; want 6 and 6 (1-1-100 was visited twice)", metric(t, page, "visit"), metric(t, page, "visit.households"))
	}

	// A quarter is the sum of its months, as the API answers them.
	q := (int(now.Month())-1)/3 + 1
	_, _, page = b.get(fmt.Sprintf("/console/?period=%d-Q%d", now.Year(), q))
	var sum float64
	for m := 3*q - 2; m <= 3*q; m++ {
		sum += e.apiTally("community:"+community, fmt.Sprintf("%d-%02d", now.Year(), m))["visit"]
	}
	if got := metric(t, page, "visit"); got != fmt.Sprint(sum) {
		t.Errorf("quarter visits %s, API months sum %v", got, sum)
	}
	// Households do not add up across months: a quarter does not show a sum.
	if got := metric(t, page, "visit.households"); got != "—" || !strings.Contains(page, "入户率按月或按年统计") {
		t.Errorf("quarter households %q: want — and the 入户率 note", got)
	}
	// Overdue count: none yet (all due in 90 days).
	if metric(t, page, "overdue") != "0" {
		t.Errorf("overdue %s, want 0", metric(t, page, "overdue"))
	}
}

// 记录 lists, filters and opens reports; 待办 moves and closes follow-ups;
// 台帐 downloads through the admin API's ledger writer.
func TestRecordsTodoLedger(t *testing.T) {
	e := newEnv(t, false)
	day := time.Now().In(shanghai()).Format("2006-01-02")
	old := time.Now().In(shanghai()).AddDate(0, 0, -100).Format("2006-01-02")
	e.save(wang, "visit", "chronic", old, "1-1-101", nil) // follow-up due 90 days later: overdue
	e.save(zhao, "visit", "chronic", day, "2-2-202", nil)
	e.save(wang, "campaign", "publicity", day, "", map[string]float64{"leaflets": 120})
	insp := e.save(wang, "inspection", "sanitation", day, "菜市场", map[string]float64{"issues_found": 2})
	if _, err := e.db.AttachToReport(context.Background(), insp.ID, &flows.Location{Lat: 30.27, Lng: 120.15, Label: "西湖菜市场"}, "http://mmbiz.example/p1.jpg"); err != nil {
		t.Fatal(err)
	}

	b := e.browser()
	b.loginAs(sup.OpenID)
	// One report: its fields, counters, location and photos.
	_, _, page := b.get(fmt.Sprintf("/console/records/%d", insp.ID))
	for _, want := range []string{"巡查", "环境卫生", "菜市场", "发现问题", "2 处", "西湖菜市场", "纬度 30.27", "http://mmbiz.example/p1.jpg", "作废这条记录"} {
		if !strings.Contains(page, want) {
			t.Errorf("report page lacks %q", want)
		}
	}
	_, _, page = b.get("/console/records?flow=visit&target=2-2")
	if !strings.Contains(page, "2-2-202") || strings.Contains(page, "资料 120份") {
		t.Errorf("filtered records: %.600s", page)
	}
	_, _, page = b.get("/console/records")
	if !strings.Contains(page, "资料 120份") {
		t.Error("records lack the campaign")
	}

	// The overdue count is the API's.
	var overdue struct{ Followups []json.RawMessage }
	e.apiGet("/api/v1/followups?status=overdue&scope="+url.QueryEscape("community:"+community), &overdue)
	_, _, page = b.get("/console/")
	if got := metric(t, page, "overdue"); got != fmt.Sprint(len(overdue.Followups)) || got != "1" {
		t.Errorf("dashboard overdue %s, API %d, want 1", got, len(overdue.Followups))
	}
	_, _, page = b.get("/console/todo")
	if !strings.Contains(page, "逾期") || !regexp.MustCompile(`data-metric="overdue">1<`).MatchString(page) {
		t.Fatalf("todo page: %.800s", page)
	}
	fs, _ := e.db.FollowUps(context.Background(), flows.Scope{Kind: flows.ScopeWorker, ID: wang.OpenID}, false)
	if len(fs) != 1 {
		t.Fatalf("wang's follow-ups: %v", fs)
	}
	first := strings.Index(page, "1-1-101")
	if second := strings.Index(page, "2-2-202"); first < 0 || second < 0 || first > second {
		t.Error("overdue follow-up not listed first")
	}
	if status, _, _ := b.post(fmt.Sprintf("/console/todo/%d/move", fs[0].ID), url.Values{"worker": {otherSp.OpenID}}, true); status != http.StatusBadRequest {
		t.Errorf("move to another community: %d, want 400", status)
	}
	if status, loc, _ := b.post(fmt.Sprintf("/console/todo/%d/move", fs[0].ID), url.Values{"worker": {zhao.OpenID}}, true); status != http.StatusSeeOther || !strings.Contains(loc, "moved") {
		t.Fatalf("move: %d → %s", status, loc)
	}
	if f, _ := e.db.FollowUp(context.Background(), fs[0].ID); f.Worker != zhao.OpenID {
		t.Errorf("moved follow-up belongs to %s", f.Worker)
	}
	if status, _, _ := b.post(fmt.Sprintf("/console/todo/%d/close", fs[0].ID), url.Values{"reason": {"随便"}}, true); status != http.StatusBadRequest {
		t.Errorf("close with an unknown reason: %d, want 400", status)
	}
	if status, _, _ := b.post(fmt.Sprintf("/console/todo/%d/close", fs[0].ID), url.Values{"reason": {"迁出"}}, true); status != http.StatusSeeOther {
		t.Fatalf("close: %d", status)
	}
	if f, _ := e.db.FollowUp(context.Background(), fs[0].ID); !f.Closed || f.Reason != "迁出" {
		t.Errorf("closed follow-up %+v", f)
	}

	status, _, body := b.get("/console/ledger/download?format=csv&period=" + thisMonth())
	if status != 200 || !strings.Contains(body, "2-2-202") || strings.Contains(body, "1-1-101") {
		t.Errorf("CSV ledger: %d %.300s", status, body)
	}
	status, _, body = b.get("/console/ledger/download?format=xlsx&period=" + thisMonth()[:4])
	if status != 200 || !strings.HasPrefix(body, "PK") {
		t.Errorf("XLSX ledger: %d", status)
	}
	_, _, page = b.get("/console/ledger?period=" + thisMonth()[:4])
	var summary struct{ Paragraph string }
	e.apiGet("/api/v1/summary?year="+thisMonth()[:4]+"&scope="+url.QueryEscape("community:"+community), &summary)
	if !strings.Contains(page, summary.Paragraph) {
		t.Errorf("ledger page's paragraph differs from the API's %q", summary.Paragraph)
	}
	visits := e.apiTally("community:"+community, thisMonth()[:4])["visit"]
	if !strings.Contains(page, fmt.Sprintf("共入户走访%v户", visits)) || !strings.Contains(page, "复制这段话") {
		t.Errorf("ledger page summary: %.800s", page)
	}
}

// 台帐 and 年度总结 in chat: supervisors get a link and the paragraph;
// workers their own paragraph and no ledger.
func TestChatCommands(t *testing.T) {
	e := newEnv(t, false)
	e.save(wang, "visit", "chronic", today(), "1-1-101", nil)
	if r := e.say(sup.OpenID, "导出台帐"); !strings.Contains(r, "/console/link/") {
		t.Errorf("supervisor 导出台帐: %q", r)
	}
	if r := e.say(wang.OpenID, "台帐"); strings.Contains(r, "/console/") || !strings.Contains(r, "负责人") {
		t.Errorf("worker 台帐: %q", r)
	}
	if r := e.say(sup.OpenID, "年度总结"); !strings.Contains(r, "共入户走访1户") || !strings.Contains(r, "/console/link/") {
		t.Errorf("supervisor 年度总结: %q", r)
	}
	if r := e.say(zhao.OpenID, "年度总结"); strings.Contains(r, "入户走访1户") {
		t.Errorf("worker 年度总结 shows others' figures: %q", r)
	}
	if r := e.say("o-stranger", "后台"); !strings.Contains(r, "绑定") || strings.Contains(r, "/console/") {
		t.Errorf("stranger 后台: %q", r)
	}
}

// An admin sees everything, and may narrow it to a community, a grid or a
// worker; the figures equal the API's for each.
func TestAdminScope(t *testing.T) {
	e := newEnv(t, false)
	admin := flows.Worker{OpenID: "o-admin", Name: "周主任", Community: "街道", Grid: "机关", Role: flows.RoleAdmin, BoundAt: time.Now()}
	if err := e.db.PutWorker(context.Background(), admin); err != nil {
		t.Fatal(err)
	}
	e.save(wang, "visit", "chronic", today(), "1-1-101", nil)
	e.save(zhao, "visit", "elderly", today(), "2-1-101", nil)
	e.save(otherSp, "visit", "chronic", today(), "9-9-9", nil)
	b := e.browser()
	b.loginAs(admin.OpenID)
	month := thisMonth()
	for query, scope := range map[string]string{
		"": "all",
		"community=" + url.QueryEscape(community): "community:" + community,
		"community=和平社区":                          "community:和平社区",
		"grid=" + url.QueryEscape("第二网格"):         "grid:" + community + "/第二网格", // the one community with that grid
		"worker=" + zhao.OpenID:                   "worker:" + zhao.OpenID,
	} {
		status, _, page := b.get("/console/?period=" + month + "&" + query)
		if status != 200 {
			t.Errorf("admin %q: %d", query, status)
			continue
		}
		if got, want := metric(t, page, "visit"), fmt.Sprint(e.apiTally(scope, month)["visit"]); got != want {
			t.Errorf("admin %q: visits %s, API %s for %s", query, got, want, scope)
		}
	}
	_, _, page := b.get("/console/")
	if !strings.Contains(page, "各社区记录数") || !strings.Contains(page, `<option value="和平社区"`) {
		t.Error("admin dashboard lacks the communities")
	}
	if status, _, _ := b.get("/console/people"); status != 200 {
		t.Errorf("admin 人员: %d", status)
	}
}
