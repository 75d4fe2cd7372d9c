package bot

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"gridbot/flows"
)

// TestWebhookRateLimitPerUser: a user over the limit gets one polite
// reply, then silence, and nothing is handled or stored; retries of an
// accepted message are one message; other users are not affected; the
// bucket refills with time.
func TestWebhookRateLimitPerUser(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h := newRecorder(nil)
	kv := &countingKV{KV: openDB(t).KV()}
	wh := newWebhook(t, h, kv, false, func(c *WebhookConfig) {
		c.PerUserPerMinute = 10
		c.Now = clock
		c.MaxSkew = 24 * time.Hour
	})
	c := client(false)
	c.Now = clock
	send := func(req *http.Request) string {
		t.Helper()
		rec := httptest.NewRecorder()
		wh.ServeHTTP(rec, req)
		reply, err := c.DecodeReply(rec.Result())
		if err != nil {
			t.Fatal(err)
		}
		return reply
	}
	// A burst of ten, each delivered three times (WeChat's retries).
	for i := range 10 {
		for range 3 {
			if got, want := send(c.Text("oFast", fmt.Sprint("走访 ", i), int64(100+i))), fmt.Sprint("收到：走访 ", i); got != want {
				t.Fatalf("message %d: %q, want %q", i, got, want)
			}
		}
	}
	sets := kv.sets.Load()
	if got := send(c.Text("oFast", "走访 10", 110)); got != RateLimitedText {
		t.Fatalf("11th message: %q, want the polite refusal", got)
	}
	for i := range 5 {
		if got := send(c.Text("oFast", "走访", int64(111+i))); got != "" {
			t.Fatalf("after the refusal: %q, want silence", got)
		}
	}
	if n := len(h.Calls()); n != 10 {
		t.Fatalf("handler called %d times, want 10", n)
	}
	if kv.sets.Load() != sets {
		t.Fatalf("refused messages wrote %d values", kv.sets.Load()-sets)
	}
	// Another user is not affected.
	if got := send(c.Text("oSlow", "本月统计", 900)); got != "收到：本月统计" {
		t.Fatalf("other user: %q", got)
	}
	// Six seconds later one more message is allowed (ten a minute).
	mu.Lock()
	now = now.Add(6 * time.Second)
	mu.Unlock()
	if got := send(c.Text("oFast", "走访 晚一点", 200)); got != "收到：走访 晚一点" {
		t.Fatalf("after the refill: %q", got)
	}
	if n := len(h.Calls()); n != 12 {
		t.Fatalf("handler called %d times, want 12", n)
	}
}

// TestWebhookNoRateLimitByDefault: PerUserPerMinute 0 is no limit.
func TestWebhookNoRateLimitByDefault(t *testing.T) {
	h := newRecorder(func(in flows.Inbound) (flows.Reply, error) { return flows.Reply{Text: "ok"}, nil })
	wh := newWebhook(t, h, openDB(t).KV(), false, nil)
	c := client(false)
	for i := range 50 {
		rec := httptest.NewRecorder()
		wh.ServeHTTP(rec, c.Text("oA", "x", int64(i+1)))
		if reply, err := c.DecodeReply(rec.Result()); err != nil || reply != "ok" {
			t.Fatalf("message %d: %q, %v", i, reply, err)
		}
	}
}
