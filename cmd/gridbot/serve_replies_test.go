package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"gridbot/bot/wxtest"
	"gridbot/flows"
)

// TestRetryAfterRestart: the replies kept for WeChat's retries live in the
// bot's memory, not in the store or Redis. A retry while the bot runs gets
// the reply given; a retry that reaches a restarted bot (a crash before the
// reply went out) is handled again from the stored state and gets the same
// answer, the report counted once.
func TestRetryAfterRestart(t *testing.T) {
	cases := []struct {
		name    string
		setup   []string // messages before the retried one
		last    string   // the message delivered again
		reports int      // reports stored in the end
	}{
		{"one-line visit", nil, "走访 3-2-201 慢病 150/95", 1},
		{"one-line campaign", []string{"走访 3-2-201 慢病 150/95"}, "今天宣传发放资料35份，参与群众12人", 2},
		{"confirmed form", []string{"活动", "讲座", "200", "40", "跳过"}, "1", 1},
		{"query", []string{"走访 3-2-201 慢病 150/95"}, "本月统计", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			env := []string{"GRIDBOT_HTTP_ADDR=127.0.0.1:0", "GRIDBOT_STORAGE_PATH=" + filepath.Join(t.TempDir(), "gridbot.db")}
			if addr := os.Getenv("GRIDBOT_TEST_REDIS"); addr != "" {
				env = append(env, "GRIDBOT_REDIS_ADDR="+addr,
					fmt.Sprintf("GRIDBOT_SESSION_PREFIX=gridbot-test:%s:%d:", t.Name(), time.Now().UnixNano()))
			}
			const openID = "oRetry"
			m := runMainFor(t, "", env)
			if err := m.DB.PutWorker(ctx, flows.Worker{OpenID: openID, Name: "网格员", Community: demoCommunity, Grid: demoGrid,
				Role: flows.RoleWorker, BoundAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			send := func(m *Main, text string, msgID int64) string {
				t.Helper()
				c := &wxtest.Client{URL: m.URL() + "/wechat", Token: m.Config.WeChat.Token}
				reply, err := c.Do(c.Text(openID, text, msgID))
				if err != nil {
					t.Fatalf("%s: %v", text, err)
				}
				return reply
			}
			for i, text := range tc.setup {
				send(m, text, int64(100+i))
			}
			const lastID = 24000000001
			first := send(m, tc.last, lastID)
			if first == "" {
				t.Fatalf("%s: empty reply", tc.last)
			}
			if again := send(m, tc.last, lastID); again != first {
				t.Errorf("retry while running: %q, want %q", again, first)
			}
			replyKey := m.Config.Session.Prefix + "reply:" + openID + ":" + strconv.Itoa(lastID)
			if _, err := m.Engine.Sessions.Get(ctx, replyKey); flows.ErrorCode(err) != flows.ENotFound {
				t.Errorf("reply found in the session store (%v): want it in memory only", err)
			}

			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			m.Server, m.DB, m.Redis = nil, nil, nil // closed: nothing left for the cleanup
			m = runMainFor(t, "", env)
			if again := send(m, tc.last, lastID); again != first {
				t.Errorf("retry after a restart: %q, want %q", again, first)
			}
			n := 0
			err := m.DB.Reports(ctx, flows.Scope{Kind: flows.ScopeWorker, ID: openID}, time.Now().Format("2006"), true, func(flows.Report) error {
				n++
				return nil
			})
			if err != nil || n != tc.reports {
				t.Errorf("%d reports (%v), want %d", n, err, tc.reports)
			}
			if m.Redis != nil { // leave nothing behind in a shared Redis
				iter := m.Redis.Scan(ctx, 0, m.Config.Session.Prefix+"*", 100).Iterator()
				for iter.Next(ctx) {
					m.Redis.Del(ctx, iter.Val())
				}
			}
		})
	}
}
