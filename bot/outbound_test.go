package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"gridbot/bot/wxtest"
)

// newOutbound is an Outbound against the fake platform p with the token
// cached in a real bbolt KV. The SDK's API base is process-wide: tests
// using it do not run in parallel.
func newOutbound(t testing.TB, p *wxtest.Platform) *Outbound {
	t.Helper()
	p.AppID, p.AppSecret = "wxtestapp", "s3cret"
	o, err := NewOutbound(OutboundConfig{
		AppID:     "wxtestapp",
		AppSecret: "s3cret",
		APIBase:   p.URL,
		Cache:     NewTokenCache(openDB(t).KV()),
	})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestOutboundSendText(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		label      string
		setup      func(p *wxtest.Platform)
		check      func(error) bool
		delivered  int
		sendCalls  int
		tokenFetch int
	}{
		{"delivered", nil, isNil, 1, 1, 1},
		{"40001 once: one refresh, one retry", func(p *wxtest.Platform) { p.Fail(wxtest.PathCustomSend, 1, 40001) }, isNil, 1, 2, 2},
		{"42001 once: one refresh, one retry", func(p *wxtest.Platform) { p.Fail(wxtest.PathCustomSend, 1, 42001) }, isNil, 1, 2, 2},
		{"token replaced elsewhere", func(p *wxtest.Platform) { p.InvalidateTokens() }, isNil, 1, 2, 2},
		{"40001 twice: no second retry", func(p *wxtest.Platform) { p.Fail(wxtest.PathCustomSend, 2, 40001) }, IsTokenInvalid, 0, 2, 2},
		{"45015 window closed", func(p *wxtest.Platform) { p.Fail(wxtest.PathCustomSend, 1, 45015) }, IsWindowClosed, 0, 1, 1},
		{"45047 over the count", func(p *wxtest.Platform) { p.Fail(wxtest.PathCustomSend, 1, 45047) }, IsWindowClosed, 0, 1, 1},
		{"-1 busy", func(p *wxtest.Platform) { p.Fail(wxtest.PathCustomSend, 1, -1) }, IsBusy, 0, 1, 1},
		{"token fetch refused", func(p *wxtest.Platform) { p.Fail(wxtest.PathToken, 1, 40164) }, code(40164), 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			p := wxtest.NewPlatform(t)
			o := newOutbound(t, p)
			// Warm the token cache, so that the case starts from a cached token.
			if tt.label != "token fetch refused" {
				if _, err := o.OfficialAccount().GetAccessTokenContext(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if tt.setup != nil {
				tt.setup(p)
			}
			err := o.SendText(ctx, "oUser", "你有3项待办")
			if !tt.check(err) {
				t.Fatalf("err = %v", err)
			}
			msgs := p.CustomMessages()
			if len(msgs) != tt.delivered || p.Calls(wxtest.PathCustomSend) != tt.sendCalls || p.TokenFetches() != tt.tokenFetch {
				t.Fatalf("delivered %d, send calls %d, token fetches %d; want %d, %d, %d",
					len(msgs), p.Calls(wxtest.PathCustomSend), p.TokenFetches(), tt.delivered, tt.sendCalls, tt.tokenFetch)
			}
			if len(msgs) == 1 && (msgs[0].ToUser != "oUser" || msgs[0].MsgType != "text" || msgs[0].Text != "你有3项待办") {
				t.Fatalf("delivered %+v", msgs[0])
			}
		})
	}
}

func isNil(err error) bool { return err == nil }

func code(c int) func(error) bool {
	return func(err error) bool {
		got, ok := ErrCode(err)
		return ok && got == c
	}
}

func TestOutboundSendTemplate(t *testing.T) {
	p := wxtest.NewPlatform(t)
	o := newOutbound(t, p)
	data := map[string]string{"thing1": "3项随访逾期", "time2": "2026-11-28 08:30"}
	if err := o.SendTemplate(context.Background(), "oUser", "TPL-REMIND", data, "https://example.org/todo"); err != nil {
		t.Fatal(err)
	}
	got := p.TemplateMessages()
	if len(got) != 1 {
		t.Fatalf("%d template messages", len(got))
	}
	m := got[0]
	if m.ToUser != "oUser" || m.TemplateID != "TPL-REMIND" || m.URL != "https://example.org/todo" ||
		m.Data["thing1"] != "3项随访逾期" || m.Data["time2"] != "2026-11-28 08:30" || len(m.Data) != 2 {
		t.Fatalf("received %+v", m)
	}
	// The wire format WeChat documents: data.<keyword>.value.
	var body map[string]any
	if err := json.Unmarshal(m.Raw, &body); err != nil {
		t.Fatal(err)
	}
	if v := body["data"].(map[string]any)["thing1"].(map[string]any)["value"]; v != "3项随访逾期" {
		t.Fatalf("body %s", m.Raw)
	}

	p.Fail(wxtest.PathTemplateSend, 1, 43004)
	err := o.SendTemplate(context.Background(), "oGone", "TPL-REMIND", data, "")
	if c, ok := ErrCode(err); !ok || c != 43004 || IsWindowClosed(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestOutboundHonoursCancelledContext(t *testing.T) {
	p := wxtest.NewPlatform(t)
	o := newOutbound(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.SendText(ctx, "oUser", "hi"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if p.Calls(wxtest.PathCustomSend) != 0 {
		t.Fatal("sent despite the cancelled context")
	}
}

func TestWxErrorParsing(t *testing.T) {
	tests := []struct {
		in   error
		code int
		msg  string
		ok   bool
	}{
		{errors.New("customer msg send error : errcode=45015 , errmsg=response out of time limit or subscription is canceled"), 45015, "response out of time limit or subscription is canceled", true},
		{errors.New("template msg send error : errcode=-1 , errmsg=system error"), -1, "system error", true},
		{errors.New("get access_token error : errcode=40164 , errormsg=invalid ip 1.2.3.4, not in whitelist"), 40164, "invalid ip 1.2.3.4, not in whitelist", true},
		{errors.New("menu Error , errcode=40001 , errmsg=invalid credential"), 40001, "invalid credential", true},
		{fmt.Errorf("wrapped: %w", &WxError{Op: "x", Code: 45047, Msg: "out of response count limit"}), 45047, "out of response count limit", true},
		{errors.New("dial tcp: connection refused"), 0, "", false},
		{context.DeadlineExceeded, 0, "", false},
	}
	for _, tt := range tests {
		err := wxError("custom/send", tt.in)
		c, ok := ErrCode(err)
		if ok != tt.ok || c != tt.code {
			t.Errorf("%v → code %d %v, want %d %v", tt.in, c, ok, tt.code, tt.ok)
			continue
		}
		var we *WxError
		if ok && (!errors.As(err, &we) || we.Msg != tt.msg) {
			t.Errorf("%v → msg %q, want %q", tt.in, we.Msg, tt.msg)
		}
		if !ok && !errors.Is(err, tt.in) {
			t.Errorf("%v: cause lost in %v", tt.in, err)
		}
	}
	if wxError("x", nil) != nil {
		t.Error("nil error became non-nil")
	}
	checks := []struct {
		code                  int
		window, busy, invalid bool
	}{
		{45015, true, false, false}, {45047, true, false, false}, {-1, false, true, false},
		{40001, false, false, true}, {42001, false, false, true}, {40014, false, false, true}, {43004, false, false, false},
	}
	for _, c := range checks {
		err := &WxError{Code: c.code}
		if IsWindowClosed(err) != c.window || IsBusy(err) != c.busy || IsTokenInvalid(err) != c.invalid {
			t.Errorf("%d: window %v busy %v invalid %v", c.code, IsWindowClosed(err), IsBusy(err), IsTokenInvalid(err))
		}
	}
}

func TestNewOutboundChecksConfig(t *testing.T) {
	cache := NewTokenCache(openDB(t).KV())
	tests := []struct {
		label string
		cfg   OutboundConfig
	}{
		{"no app id", OutboundConfig{AppSecret: "s", Cache: cache}},
		{"no secret", OutboundConfig{AppID: "wx", Cache: cache}},
		{"no cache", OutboundConfig{AppID: "wx", AppSecret: "s"}},
		{"bad api base", OutboundConfig{AppID: "wx", AppSecret: "s", Cache: cache, APIBase: "ftp://x"}},
	}
	for _, tt := range tests {
		if _, err := NewOutbound(tt.cfg); err == nil {
			t.Errorf("%s: accepted", tt.label)
		}
	}
}

func TestOutbox(t *testing.T) {
	o := &Outbox{PerUser: 3, MaxUsers: 2}
	ctx := context.Background()
	for i := range 5 {
		o.SendText(ctx, "oA", fmt.Sprint("提醒", i))
	}
	o.SendTemplate(ctx, "oB", "TPL", map[string]string{"b": "2", "a": "1"}, "")
	got := o.Messages("oA", 0)
	if len(got) != 3 || got[0].Text != "提醒2" || got[2].Text != "提醒4" || got[2].Seq != 5 {
		t.Fatalf("oA kept %+v", got)
	}
	if got := o.Messages("oA", 4); len(got) != 1 || got[0].Seq != 5 {
		t.Fatalf("after 4: %+v", got)
	}
	if got := o.Messages("oB", 0); len(got) != 1 || got[0].Kind != "template" || got[0].Text != "a: 1\nb: 2" || got[0].TemplateID != "TPL" {
		t.Fatalf("oB: %+v", got)
	}
	o.SendText(ctx, "oC", "新用户") // a third user: the least recently pushed-to (oA) goes
	if len(o.Messages("oA", 0)) != 0 || len(o.Messages("oB", 0)) != 1 || len(o.Messages("oC", 0)) != 1 {
		t.Fatal("eviction kept the wrong users")
	}
}

// TestMetricsCountPushes: pushes are counted by channel and errcode.
func TestMetricsCountPushes(t *testing.T) {
	p := wxtest.NewPlatform(t)
	m := NewMetrics()
	push := m.CountPushes(newOutbound(t, p))
	ctx := context.Background()
	push.SendText(ctx, "oA", "一")
	p.Fail(wxtest.PathCustomSend, 1, 45015)
	push.SendText(ctx, "oA", "二")
	push.SendTemplate(ctx, "oA", "TPL", map[string]string{"keyword1": "x"}, "")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		`gridbot_pushes_total{channel="text",errcode="0"} 1`,
		`gridbot_pushes_total{channel="text",errcode="45015"} 1`,
		`gridbot_pushes_total{channel="template",errcode="0"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
