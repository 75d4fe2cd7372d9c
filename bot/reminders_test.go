package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"gridbot/bot/wxtest"
	"gridbot/flows"
	"gridbot/flows/chat"
	"gridbot/storage"
)

// The reminder tests run the whole path: reports made through the signed
// webhook with back-dated CreateTime into the real engine and a real bbolt
// file, the digest sent through the real Outbound to the fake WeChat
// platform, and the admin API on a loopback server. The SDK's API base is
// process-wide, so these tests do not run in parallel.

var shanghai = func() *time.Location {
	z, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return z
}()

// testClock is the shared fake clock of the engine, webhook, client, API
// and reminder runner.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// reminderWorld is a running bot: store, engine, webhook and API on a
// loopback server, the fake platform and an Outbound to it.
type reminderWorld struct {
	t        *testing.T
	path     string
	clock    *testClock
	platform *wxtest.Platform
	out      *Outbound
	template string
	remLog   *logBuffer // the runner's log, at info level

	db     *storage.DB
	rem    *Reminders
	srv    *Server
	client *wxtest.Client
	msgID  int64
}

func newReminderWorld(t *testing.T, templateID string) *reminderWorld {
	w := &reminderWorld{
		t:        t,
		path:     filepath.Join(t.TempDir(), "gridbot.db"),
		clock:    &testClock{t: time.Date(2026, 11, 28, 9, 0, 0, 0, shanghai)},
		platform: wxtest.NewPlatform(t),
		template: templateID,
		msgID:    5000,
		remLog:   &logBuffer{},
	}
	w.out = newOutbound(t, w.platform)
	w.start()
	t.Cleanup(w.stop)
	return w
}

// start opens the store and starts the bot on it, as gridbot serve does.
func (w *reminderWorld) start() {
	t := w.t
	db, err := storage.Open(w.path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.db = db
	log := (&logBuffer{}).logger()
	engine := &chat.Engine{Store: db, Sessions: db.KV(), Notices: db, Attempts: db, Zone: shanghai, SessionPrefix: "gridbot:session:", Log: log, Now: w.clock.Now}
	w.rem = &Reminders{
		Store: db, Deliveries: db, Pusher: w.out, Zone: shanghai, DailyAt: "08:30", EscalateAfterDays: 14,
		TemplateID: w.template, BusyBackoff: time.Millisecond, Now: w.clock.Now,
		Log: slog.New(slog.NewTextHandler(w.remLog, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	wh, err := NewWebhook(WebhookConfig{Token: testToken, AppID: testAppID, EncodingAESKey: testAESKey,
		Handler: engine, Replies: db.KV(), Log: log, Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	w.srv = &Server{Addr: "127.0.0.1:0", Webhook: wh, API: &API{Token: apiToken, Store: db, Batch: db, Reminders: w.rem, Now: w.clock.Now}, Log: log}
	if err := w.srv.Open(); err != nil {
		t.Fatal(err)
	}
	w.client = client(true)
	w.client.URL = w.srv.URL() + "/wechat"
	w.client.Now = w.clock.Now
}

// stop shuts the bot down and closes the store.
func (w *reminderWorld) stop() {
	if w.db == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.srv.Shutdown(ctx); err != nil {
		w.t.Errorf("shutdown: %v", err)
	}
	if err := w.db.Close(); err != nil {
		w.t.Errorf("close store: %v", err)
	}
	w.db = nil
}

// restart stops the bot and starts it again on the same file.
func (w *reminderWorld) restart() {
	w.stop()
	w.start()
}

func (w *reminderWorld) bind(openID, name, community, grid string, role flows.Role) {
	w.t.Helper()
	err := w.db.PutWorker(context.Background(), flows.Worker{OpenID: openID, Name: name, Community: community, Grid: grid, Role: role, BoundAt: w.clock.Now()})
	if err != nil {
		w.t.Fatal(err)
	}
}

// say sends a text message created at at through the webhook and returns
// the reply.
func (w *reminderWorld) say(openID, text string, at time.Time) string {
	w.t.Helper()
	w.msgID++
	reply, err := w.client.Do(w.client.Message(wxtest.Message{
		FromUserName: openID, CreateTime: at.Unix(), MsgType: "text", MsgID: w.msgID, Content: text,
	}))
	if err != nil {
		w.t.Fatalf("%s %q: %v", openID, text, err)
	}
	return reply
}

func (w *reminderWorld) event(openID, event string, at time.Time) {
	w.t.Helper()
	if _, err := w.client.Do(w.client.Event(openID, event, "", at.Unix())); err != nil {
		w.t.Fatalf("%s %s: %v", openID, event, err)
	}
}

// api calls the admin API and decodes the JSON answer into v.
func (w *reminderWorld) api(method, path, body string, v any) int {
	w.t.Helper()
	req, _ := http.NewRequest(method, w.srv.URL()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			w.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

func (w *reminderWorld) run() RunResult {
	w.t.Helper()
	var res RunResult
	if st := w.api("POST", "/api/v1/reminders/run", "", &res); st != http.StatusOK {
		w.t.Fatalf("reminders/run: status %d", st)
	}
	return res
}

func day(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, shanghai) }

// customTo returns the texts of the customer-service messages to openID.
func customTo(p *wxtest.Platform, openID string) []string {
	var out []string
	for _, m := range p.CustomMessages() {
		if m.ToUser == openID {
			out = append(out, m.Text)
		}
	}
	return out
}

func attemptsOf(t *testing.T, db *storage.DB, d string) map[string][]string {
	t.Helper()
	as, err := db.DigestAttempts(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, a := range as {
		out[a.Worker] = append(out[a.Worker], fmt.Sprintf("%s:%d", a.Channel, a.ErrCode))
	}
	return out
}

// Workers, named so that their openids sort in the order digests go out.
const (
	oSup   = "o1sup"   // supervisor of 阳光社区: escalations only
	oWang  = "o2wang"  // two overdue visits, one over 14 days
	oLi    = "o3li"    // window closed: template fallback
	oZhao  = "o4zhao"  // unfollowed the account
	oChen  = "o5chen"  // overdue visit closed by a later visit
	oZhou  = "o6zhou"  // re-check closed by 已整改, another one open
	oOther = "o7other" // another community's worker, nothing due
)

// seedReports binds the workers and makes their reports through the
// webhook, back-dated.
func seedReports(w *reminderWorld) {
	t := w.t
	w.bind(oSup, "刘主任", "阳光社区", "1", flows.RoleSupervisor)
	w.bind(oWang, "王芳", "阳光社区", "3", flows.RoleWorker)
	w.bind(oLi, "李娜", "阳光社区", "4", flows.RoleWorker)
	w.bind(oZhao, "赵强", "阳光社区", "4", flows.RoleWorker)
	w.bind(oChen, "陈静", "阳光社区", "5", flows.RoleWorker)
	w.bind(oZhou, "周敏", "阳光社区", "5", flows.RoleWorker)
	w.bind(oOther, "孙丽", "幸福社区", "1", flows.RoleWorker)
	reports := []struct {
		openID, text string
		at           time.Time
		reply        string
	}{
		{oWang, "走访 3-2-201 慢病 150/95", day(2026, 8, 1, 10), "下次随访 2026-10-30"},
		{oWang, "走访 5-1-302 独居老人", day(2026, 10, 20, 10), "下次随访 2026-11-19"},
		{oLi, "走访 6-1-101 孕产妇", day(2026, 11, 15, 10), "下次随访 2026-11-22"},
		{oZhao, "走访 7-1-101 老人", day(2026, 10, 1, 10), "下次随访 2026-10-31"},
		{oChen, "走访 8-8-801 慢病", day(2026, 7, 1, 10), "下次随访 2026-09-29"},
		{oChen, "走访 8-8-801 慢病 140/90", day(2026, 11, 20, 10), "下次随访 2027-02-18"},
		{oZhou, "巡查 菜市场 卫生死角3处 限期3天整改", day(2026, 11, 1, 10), "复查期限 2026-11-04"},
		{oZhou, "巡查 菜市场 环境卫生 已整改", day(2026, 11, 10, 10), "✅"},
		{oZhou, "巡查 农贸市场 卫生 发现问题2处", day(2026, 11, 10, 11), "复查期限 2026-11-17"},
		{oOther, "走访 1-1-101 慢病", day(2026, 11, 27, 10), "下次随访 2027-02-25"},
	}
	for _, r := range reports {
		if got := w.say(r.openID, r.text, r.at); !strings.Contains(got, r.reply) {
			t.Fatalf("%s %q: reply %q, want it to contain %q", r.openID, r.text, got, r.reply)
		}
	}
	w.event(oZhao, "unsubscribe", day(2026, 11, 25, 10))
}

func TestRemindersDigest(t *testing.T) {
	w := newReminderWorld(t, "TPL-REMIND")
	seedReports(w)
	const today = "2026-11-28"

	// What the office sees before the run.
	var list struct {
		Followups []struct {
			Worker      string `json:"worker"`
			Target      string `json:"target"`
			Label       string `json:"label"`
			DaysOverdue int    `json:"days_overdue"`
		} `json:"followups"`
	}
	if st := w.api("GET", "/api/v1/followups?scope=community:阳光社区&status=overdue", "", &list); st != 200 {
		t.Fatalf("followups: %d", st)
	}
	var got []string
	for _, f := range list.Followups {
		got = append(got, fmt.Sprintf("%s %s %s %d", f.Worker, f.Target, f.Label, f.DaysOverdue))
	}
	want := []string{
		oWang + " 3-2-201 慢病随访 29",
		oZhao + " 7-1-101 老年人探访 28",
		oZhou + " 农贸市场 巡查复查 11",
		oWang + " 5-1-302 老年人探访 9",
		oLi + " 6-1-101 孕产妇/新生儿访视 6",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("overdue before the run:\n got %q\nwant %q", got, want)
	}

	// The supervisor's first send is busy once; 李娜's window is closed.
	w.platform.Fail(wxtest.PathCustomSend, 1, -1)
	w.platform.Fail(wxtest.PathCustomSend, 2, 0)
	w.platform.Fail(wxtest.PathCustomSend, 1, 45015)
	res := w.run()
	if want := (RunResult{Day: today, Sent: 3, Fallback: 1, Failed: 0, Skipped: 1}); res != want {
		t.Fatalf("first run: %+v, want %+v", res, want)
	}

	digests := []struct {
		openID string
		has    []string
		not    []string
	}{
		{oSup, []string{"社区有 2 项逾期超过 14 天", "· 3网格 王芳：3-2-201 慢病随访，逾期 29 天", "· 4网格 赵强：7-1-101 老年人探访，逾期 28 天", `回复"逾期"`},
			[]string{"你有", "5-1-302", "农贸市场"}},
		{oWang, []string{"你有 2 项随访已逾期", "1. 3-2-201 慢病随访，逾期 29 天", "2. 5-1-302 老年人探访，逾期 9 天", `回复"待办"`},
			[]string{"社区有"}},
		{oZhou, []string{"你有 1 项随访已逾期", "1. 农贸市场 巡查复查，逾期 11 天"}, []string{"菜市场"}},
	}
	for _, d := range digests {
		msgs := customTo(w.platform, d.openID)
		if len(msgs) != 1 {
			t.Fatalf("%s got %d customer messages, want 1: %q", d.openID, len(msgs), msgs)
		}
		for _, s := range d.has {
			if !strings.Contains(msgs[0], s) {
				t.Errorf("%s's digest lacks %q:\n%s", d.openID, s, msgs[0])
			}
		}
		for _, s := range d.not {
			if strings.Contains(msgs[0], s) {
				t.Errorf("%s's digest has %q:\n%s", d.openID, s, msgs[0])
			}
		}
	}
	for _, o := range []string{oLi, oZhao, oChen, oOther} {
		if msgs := customTo(w.platform, o); len(msgs) != 0 {
			t.Errorf("%s got customer messages %q, want none", o, msgs)
		}
	}
	tpls := w.platform.TemplateMessages()
	if len(tpls) != 1 || tpls[0].ToUser != oLi || tpls[0].TemplateID != "TPL-REMIND" {
		t.Fatalf("template messages %+v, want one to %s", tpls, oLi)
	}
	wantData := map[string]string{"keyword1": "逾期随访1项", "keyword2": "6-1-101逾期6天", "keyword3": `回复"待办"查看并处理`}
	for k, v := range wantData {
		if tpls[0].Data[k] != v {
			t.Errorf("template %s = %q, want %q", k, tpls[0].Data[k], v)
		}
	}
	for k, v := range tpls[0].Data {
		if n := utf8.RuneCountInString(v); n > 20 {
			t.Errorf("template keyword %s has %d characters: %q", k, n, v)
		}
	}
	wantAttempts := map[string][]string{
		oSup:  {"text:-1", "text:0"},
		oWang: {"text:0"},
		oLi:   {"text:45015", "template:0"},
		oZhou: {"text:0"},
	}
	gotAttempts := attemptsOf(t, w.db, today)
	for o, want := range wantAttempts {
		if !slices.Equal(gotAttempts[o], want) {
			t.Errorf("attempts of %s: %q, want %q", o, gotAttempts[o], want)
		}
	}
	if len(gotAttempts) != len(wantAttempts) {
		t.Errorf("attempts logged for %d workers, want %d: %v", len(gotAttempts), len(wantAttempts), gotAttempts)
	}

	// A second run the same day sends nothing.
	customs, templates := len(w.platform.CustomMessages()), len(w.platform.TemplateMessages())
	if res := w.run(); res != (RunResult{Day: today, Skipped: 5}) {
		t.Fatalf("second run: %+v", res)
	}
	// Nor after a restart, by the API or by the scheduler making up the
	// day's run (it has not been marked as done: the runs above were manual).
	w.clock.Set(day(2026, 11, 28, 15))
	w.restart()
	if res := w.run(); res != (RunResult{Day: today, Skipped: 5}) {
		t.Fatalf("run after restart: %+v", res)
	}
	runScheduler(t, w, today)
	if c, tp := len(w.platform.CustomMessages()), len(w.platform.TemplateMessages()); c != customs || tp != templates {
		t.Fatalf("after restart: %d customer and %d template messages, want %d and %d", c, tp, customs, templates)
	}

	// Next day: 王芳 clears 3-2-201 by visiting it; the bot was down at 08:30
	// and makes the run up once when it starts, and not again on a restart.
	w.say(oWang, "走访 3-2-201 高血压 135/85", day(2026, 11, 29, 7))
	w.clock.Set(day(2026, 11, 29, 10))
	w.restart()
	runScheduler(t, w, "2026-11-29")
	msgs := customTo(w.platform, oWang)
	if len(msgs) != 2 || !strings.Contains(msgs[1], "你有 1 项随访已逾期") || strings.Contains(msgs[1], "3-2-201") {
		t.Fatalf("王芳's digests: %q", msgs)
	}
	sup := customTo(w.platform, oSup)
	if len(sup) != 2 || strings.Contains(sup[1], "3-2-201") || !strings.Contains(sup[1], "社区有 1 项逾期超过 14 天") {
		t.Fatalf("supervisor's digests: %q", sup)
	}
	n := len(w.platform.CustomMessages())
	w.restart()
	runScheduler(t, w, "2026-11-29")
	if got := len(w.platform.CustomMessages()); got != n {
		t.Fatalf("a restart after the made-up run sent %d more messages", got-n)
	}

	// The runner's log says who and how many, never residents' households
	// or what the digests say.
	logged := w.remLog.String()
	if !strings.Contains(logged, "reminders: digest run") {
		t.Fatalf("runner log lacks the run summary:\n%s", logged)
	}
	for _, private := range []string{"3-2-201", "5-1-302", "6-1-101", "7-1-101", "农贸市场", "逾期"} {
		if strings.Contains(logged, private) {
			t.Errorf("runner log holds %q:\n%s", private, logged)
		}
	}
}

// runScheduler runs Reminders.Run until it has recorded the scheduled run
// of day, then stops it.
func runScheduler(t *testing.T, w *reminderWorld, day string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.rem.Run(ctx) }()
	waitFor(t, "the scheduled run of "+day, func() bool {
		last, err := w.db.LastDigestRun(context.Background())
		return err == nil && last == day
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A digest that cannot be pushed (window closed, no template) is shown
// to the worker at their next message, once.
func TestRemindersUndeliverableShownAtNextMessage(t *testing.T) {
	w := newReminderWorld(t, "")
	w.bind(oLi, "李娜", "阳光社区", "4", flows.RoleWorker)
	if got := w.say(oLi, "走访 6-1-101 孕产妇", day(2026, 11, 15, 10)); !strings.Contains(got, "下次随访 2026-11-22") {
		t.Fatalf("report: %q", got)
	}
	w.platform.Fail(wxtest.PathCustomSend, 1, 45015)
	if res := w.run(); res != (RunResult{Day: "2026-11-28", Failed: 1}) {
		t.Fatalf("run: %+v", res)
	}
	if n := len(w.platform.CustomMessages()) + len(w.platform.TemplateMessages()); n != 0 {
		t.Fatalf("%d messages delivered", n)
	}
	if got := attemptsOf(t, w.db, "2026-11-28")[oLi]; !slices.Equal(got, []string{"text:45015", "notice:0"}) {
		t.Fatalf("attempts %q", got)
	}
	w.restart()
	now := w.clock.Now()
	first := w.say(oLi, "本月统计", now)
	if !strings.HasPrefix(first, "📌 有一条提醒没能推送给你：") || !strings.Contains(first, "6-1-101 孕产妇/新生儿访视，逾期 6 天") {
		t.Fatalf("next message's reply lacks the notice:\n%s", first)
	}
	if second := w.say(oLi, "本月统计", now.Add(time.Minute)); strings.Contains(second, "📌") {
		t.Fatalf("notice shown twice:\n%s", second)
	}
}

// TestDigestDelivery is the delivery ladder for one worker: customer
// message, busy retries, template fallback, and the notice.
func TestDigestDelivery(t *testing.T) {
	tests := []struct {
		label     string
		template  string
		custom    []int // injected errcodes of the customer-message calls (0: answered normally)
		tpl       []int // of the template calls
		want      RunResult
		attempts  []string
		customs   int // delivered customer messages
		templates int
		notice    bool
	}{
		{"customer message", "T", nil, nil, RunResult{Sent: 1}, []string{"text:0"}, 1, 0, false},
		{"busy then sent", "T", []int{-1, -1}, nil, RunResult{Sent: 1}, []string{"text:-1", "text:-1", "text:0"}, 1, 0, false},
		{"busy to the end", "T", []int{-1, -1, -1}, nil, RunResult{Failed: 1}, []string{"text:-1", "text:-1", "text:-1", "notice:0"}, 0, 0, true},
		{"45015: template", "T", []int{45015}, nil, RunResult{Fallback: 1}, []string{"text:45015", "template:0"}, 0, 1, false},
		{"45047: template", "T", []int{45047}, nil, RunResult{Fallback: 1}, []string{"text:45047", "template:0"}, 0, 1, false},
		{"template busy once", "T", []int{45015}, []int{-1}, RunResult{Fallback: 1}, []string{"text:45015", "template:-1", "template:0"}, 0, 1, false},
		{"template refused", "T", []int{45015}, []int{43004}, RunResult{Failed: 1}, []string{"text:45015", "template:43004", "notice:0"}, 0, 0, true},
		{"45015 without template", "", []int{45015}, nil, RunResult{Failed: 1}, []string{"text:45015", "notice:0"}, 0, 0, true},
		{"quota: no fallback", "T", []int{45009}, nil, RunResult{Failed: 1}, []string{"text:45009", "notice:0"}, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			ctx := context.Background()
			p := wxtest.NewPlatform(t)
			out := newOutbound(t, p)
			db := openDB(t)
			clock := &testClock{t: day(2026, 11, 28, 9)}
			if err := db.PutWorker(ctx, flows.Worker{OpenID: "o1", Name: "王芳", Community: "c", Grid: "1", Role: flows.RoleWorker}); err != nil {
				t.Fatal(err)
			}
			_, err := db.OpenFollowUp(ctx, flows.FollowUp{Key: flows.FollowKey("c", "visit", "chronic", "3-2-201"), Community: "c", Grid: "1",
				Worker: "o1", Flow: "visit", Kind: "chronic", Target: "3-2-201", Due: "2026-11-20"})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tt.custom {
				p.Fail(wxtest.PathCustomSend, 1, c)
			}
			for _, c := range tt.tpl {
				p.Fail(wxtest.PathTemplateSend, 1, c)
			}
			r := &Reminders{Store: db, Deliveries: db, Pusher: out, Zone: shanghai, TemplateID: tt.template,
				BusyRetries: 2, BusyBackoff: time.Millisecond, Now: clock.Now, Log: (&logBuffer{}).logger()}
			res, err := r.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Day = "2026-11-28"
			if res != tt.want {
				t.Errorf("result %+v, want %+v", res, tt.want)
			}
			if got := attemptsOf(t, db, "2026-11-28")["o1"]; !slices.Equal(got, tt.attempts) {
				t.Errorf("attempts %q, want %q", got, tt.attempts)
			}
			if c, tp := len(p.CustomMessages()), len(p.TemplateMessages()); c != tt.customs || tp != tt.templates {
				t.Errorf("delivered %d customer and %d template messages, want %d and %d", c, tp, tt.customs, tt.templates)
			}
			notice, err := db.TakeNotice(ctx, "o1")
			if err != nil {
				t.Fatal(err)
			}
			if (notice != "") != tt.notice || tt.notice && !strings.Contains(notice, "3-2-201 慢病随访，逾期 8 天") {
				t.Errorf("notice %q, want one: %v", notice, tt.notice)
			}
		})
	}
}

// TestRemindersScheduleNoMakeUpBeforeSlot: started before today's time,
// the runner waits for it instead of running at once.
func TestRemindersScheduleNoMakeUpBeforeSlot(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	if err := db.PutWorker(ctx, flows.Worker{OpenID: "o1", Name: "王芳", Community: "c", Grid: "1", Role: flows.RoleWorker}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OpenFollowUp(ctx, flows.FollowUp{Key: "k", Community: "c", Grid: "1", Worker: "o1", Flow: "visit", Kind: "chronic", Target: "1-1-101", Due: "2026-11-01"}); err != nil {
		t.Fatal(err)
	}
	out := &Outbox{}
	clock := &testClock{t: day(2026, 11, 28, 8)} // before 08:30
	r := &Reminders{Store: db, Deliveries: db, Pusher: out, Zone: shanghai, Now: clock.Now, Log: (&logBuffer{}).logger()}
	runCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := r.Run(runCtx); err != nil {
		t.Fatal(err)
	}
	if msgs := out.Messages("o1", 0); len(msgs) != 0 {
		t.Fatalf("sent before the daily time: %+v", msgs)
	}
	if last, _ := db.LastDigestRun(ctx); last != "" {
		t.Fatalf("last run %q", last)
	}
}
