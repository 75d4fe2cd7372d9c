package bot

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gridbot/bot/wxtest"
	"gridbot/flows"
	"gridbot/storage"
)

// TestSecretsNeverLeaveTheProcess makes the fake platform fail every way
// on the token fetch and on the send, runs a reminder digest and a late
// answer through the failures, and greps everything written (the logs at
// debug, the SDK's own log, the store file) for the app secret and the
// access token. Errors must still say which API call failed.
func TestSecretsNeverLeaveTheProcess(t *testing.T) {
	const secret = "S3CRET-do-not-log"
	faults := []struct {
		label string
		path  string
		fault wxtest.Fault
		want  string // in the logs: the failed call
	}{
		{"token 502", wxtest.PathToken, wxtest.Fault{Status: 502}, "/cgi-bin/token"},
		{"token timeout", wxtest.PathToken, wxtest.Fault{Delay: time.Second}, "/cgi-bin/token"},
		{"token bad JSON", wxtest.PathToken, wxtest.Fault{BadJSON: true}, "access_token"},
		{"token errcode", wxtest.PathToken, wxtest.Fault{Errcode: 40125}, "errcode=40125"},
		{"send 502", wxtest.PathCustomSend, wxtest.Fault{Status: 502}, "/cgi-bin/message/custom/send"},
		{"send timeout", wxtest.PathCustomSend, wxtest.Fault{Delay: time.Second}, "/cgi-bin/message/custom/send"},
		{"send bad JSON", wxtest.PathCustomSend, wxtest.Fault{BadJSON: true}, "custom/send"},
		{"send errcode", wxtest.PathCustomSend, wxtest.Fault{Errcode: 45009}, "errcode=45009"},
	}
	for _, tt := range faults {
		t.Run(tt.label, func(t *testing.T) {
			ctx := context.Background()
			logs := &logBuffer{}
			QuietSDKLogsTo(slog.LevelDebug, logs)
			t.Cleanup(func() { QuietSDKLogsTo(slog.LevelInfo, os.Stderr) })
			p := wxtest.NewPlatform(t)
			p.AppID, p.AppSecret = "wxapp", secret
			path := filepath.Join(t.TempDir(), "gridbot.db")
			db, err := storage.Open(path, storage.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			o, err := NewOutbound(OutboundConfig{AppID: "wxapp", AppSecret: secret, APIBase: p.URL,
				Cache: NewTokenCache(storage.NewMemKV()), HTTPClient: &http.Client{Timeout: 300 * time.Millisecond},
				Log: logs.logger()})
			if err != nil {
				t.Fatal(err)
			}
			if tt.path != wxtest.PathToken {
				// A token in hand, so that the failed send carries one.
				if _, err := o.OfficialAccount().GetAccessTokenContext(ctx); err != nil {
					t.Fatal(err)
				}
			}
			now := time.Date(2026, 11, 28, 9, 0, 0, 0, shanghai)
			if err := db.PutWorker(ctx, flows.Worker{OpenID: "oW", Name: "王芳", Community: "阳光社区", Grid: "1", Role: flows.RoleWorker, BoundAt: now}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.OpenFollowUp(ctx, flows.FollowUp{Key: "k", Community: "阳光社区", Grid: "1", Worker: "oW", Flow: "visit", Target: "3-2-201", Due: "2026-11-01"}); err != nil {
				t.Fatal(err)
			}
			p.Inject(tt.path, 10, tt.fault)
			rem := &Reminders{Store: db, Deliveries: db, Pusher: o, Zone: shanghai, BusyRetries: -1,
				Log: logs.logger(), Now: func() time.Time { return now }}
			res, err := rem.RunOnce(ctx)
			if err != nil || res.Failed != 1 {
				t.Fatalf("run: %+v, %v; want one failed digest", res, err)
			}
			wh := newWebhook(t, newRecorder(nil), storage.NewMemKV(), false, func(c *WebhookConfig) {
				c.Pusher, c.Log, c.Notices = o, logs.logger(), db
				c.PushAttempts, c.PushBackoff = 2, time.Millisecond
			})
			wh.push(ctx, "oW", "✅ 已记录")
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			file, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			out := logs.String()
			for _, s := range []string{secret, "TOKEN-"} {
				if strings.Contains(out, s) {
					t.Errorf("the logs carry %q:\n%s", s, out)
				}
				if strings.Contains(string(file), s) {
					t.Errorf("the store file carries %q", s)
				}
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("the logs do not name the failed call (%q):\n%s", tt.want, out)
			}
		})
	}
}
