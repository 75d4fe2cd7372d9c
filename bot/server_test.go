package bot

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

// startServer runs a Server on a loopback port with a real store.
func startServer(t *testing.T, h Handler, outbox *Outbox, edit func(*WebhookConfig)) (*Server, *Webhook) {
	t.Helper()
	db := openDB(t)
	wh := newWebhook(t, h, db.KV(), false, func(c *WebhookConfig) {
		if outbox != nil {
			c.Pusher = outbox
		}
		if edit != nil {
			edit(c)
		}
	})
	s := &Server{
		Addr:    "127.0.0.1:0",
		Webhook: wh,
		API:     &API{Token: apiToken, Store: db},
		Health:  &Health{Checks: []HealthCheck{{Name: "storage", Check: db.Ping}}},
		Outbox:  outbox,
		Log:     (&logBuffer{}).logger(),
	}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s, wh
}

func get(t *testing.T, url string, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServerRoutes(t *testing.T) {
	for _, local := range []bool{false, true} {
		var outbox *Outbox
		if local {
			outbox = &Outbox{}
		}
		s, _ := startServer(t, newRecorder(nil), outbox, nil)
		c := client(false)
		c.URL = s.URL() + "/wechat"
		reply, err := c.Do(c.Text("oA", "帮助", 1))
		if err != nil || reply != "收到：帮助" {
			t.Fatalf("local=%v: webhook reply %q, %v", local, reply, err)
		}
		outboxStatus, outboxAnon := 404, 404
		if local {
			outboxStatus, outboxAnon = 200, 401 // pushes carry residents' data
		}
		tests := []struct {
			path, auth string
			status     int
			want       string
		}{
			{"/healthz", "", 200, `"ok"`},
			{"/api/v1/workers", apiToken, 200, `"workers"`},
			{"/api/v1/workers", "", 401, "unauthorized"},
			{"/local/outbox?openid=oA", apiToken, outboxStatus, ""},
			{"/local/outbox?openid=oA", "", outboxAnon, ""},
			{"/local/outbox?openid=oA", "wrong", outboxAnon, ""},
			{"/nowhere", "", 404, ""},
		}
		for _, tt := range tests {
			status, body := get(t, s.URL()+tt.path, tt.auth)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("local=%v GET %s: %d %s, want %d with %q", local, tt.path, status, body, tt.status, tt.want)
			}
		}
	}
}

// TestLocalModeLateAnswer: a slow answer in local mode lands in the outbox,
// where `gridbot chat` polls for it, and Shutdown waits for it.
func TestLocalModeLateAnswer(t *testing.T) {
	outbox := &Outbox{}
	h := newRecorder(func(in flows.Inbound) (flows.Reply, error) {
		time.Sleep(300 * time.Millisecond)
		return flows.Reply{Text: "✅ 已保存。"}, nil
	})
	s, _ := startServer(t, h, outbox, func(c *WebhookConfig) { c.ReplyWithin = 20 * time.Millisecond })
	c := client(false)
	c.URL = s.URL() + "/wechat"
	if reply, err := c.Do(c.Text("oDemo", "走访 3-2-201", 1)); err != nil || reply != "" {
		t.Fatalf("reply %q, %v; want success", reply, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// Shutdown returned only after the late answer was pushed.
	msgs := outbox.Messages("oDemo", 0)
	if len(msgs) != 1 || msgs[0].Text != "✅ 已保存。" || msgs[0].Seq != 1 {
		t.Fatalf("outbox %+v", msgs)
	}
}

func TestOutboxEndpoint(t *testing.T) {
	o := &Outbox{}
	ctx := context.Background()
	o.SendText(ctx, "oDemo", "一")
	o.SendText(ctx, "oOther", "别人的")
	o.SendText(ctx, "oDemo", "二")
	s, _ := startServer(t, newRecorder(nil), o, nil)
	tests := []struct {
		query  string
		status int
		texts  []string
	}{
		{"openid=oDemo", 200, []string{"一", "二"}},
		{"openid=oDemo&after=1", 200, []string{"二"}},
		{"openid=oDemo&after=3", 200, []string{}},
		{"openid=nobody", 200, []string{}},
		{"", 400, nil},
		{"openid=oDemo&after=x", 400, nil},
	}
	for _, tt := range tests {
		status, body := get(t, s.URL()+"/local/outbox?"+tt.query, apiToken)
		if status != tt.status {
			t.Errorf("%s: %d %s", tt.query, status, body)
			continue
		}
		if tt.texts == nil {
			continue
		}
		var msgs []OutboxMessage
		if err := json.Unmarshal([]byte(body), &msgs); err != nil {
			t.Fatalf("%s: %v in %s", tt.query, err, body)
		}
		var texts []string
		for _, m := range msgs {
			texts = append(texts, m.Text)
		}
		if strings.Join(texts, ",") != strings.Join(tt.texts, ",") {
			t.Errorf("%s: %v, want %v", tt.query, texts, tt.texts)
		}
	}
}
