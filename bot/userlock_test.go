package bot

import (
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/storage"
)

// TestUserLockAcrossNodes: two webhooks (two nodes) sharing a Redis reply
// cache and a Redis user lock. Every message goes to both nodes at once
// (WeChat retrying on another node), many users' messages at once: each
// message is handled once, both nodes give the same reply, and one user's
// messages never run at the same time, though they reach different nodes.
func TestUserLockAcrossNodes(t *testing.T) {
	rdb := testRedis(t)
	kv := storage.NewRedisKV(rdb)
	prefix := uniquePrefix()
	lock := storage.NewRedisLocker(rdb, prefix+"lock:", 0)
	h := newRecorder(func(in flows.Inbound) (flows.Reply, error) {
		time.Sleep(3 * time.Millisecond) // room for another node to step in
		return flows.Reply{Text: "收到：" + in.Text}, nil
	})
	var nodes [2]*Webhook
	for i := range nodes {
		nodes[i] = newWebhook(t, h, kv, false, func(c *WebhookConfig) {
			c.ReplyPrefix = prefix
			c.UserLock = lock
		})
	}
	c := client(false)
	const users, msgs = 4, 6
	var wg sync.WaitGroup
	for u := range users {
		for m := range msgs {
			var replies [2]string
			var pair sync.WaitGroup
			for n := range nodes {
				wg.Add(1)
				pair.Add(1)
				go func() {
					defer wg.Done()
					defer pair.Done()
					rec := httptest.NewRecorder()
					nodes[n].ServeHTTP(rec, c.Text(fmt.Sprintf("oU%d", u), fmt.Sprintf("第%d条", m), int64(9000+u*100+m)))
					r, err := c.DecodeReply(rec.Result())
					if err != nil {
						t.Error(err)
					}
					replies[n] = r
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				pair.Wait()
				if want := fmt.Sprintf("收到：第%d条", m); replies[0] != want || replies[1] != want {
					t.Errorf("user %d message %d: replies %q and %q, want %q", u, m, replies[0], replies[1], want)
				}
			}()
		}
	}
	wg.Wait()
	h.mu.Lock()
	overlap := h.overlap
	h.mu.Unlock()
	if overlap {
		t.Error("one user's messages ran at the same time on the two nodes")
	}
	if n := len(h.Calls()); n != users*msgs {
		t.Errorf("handler called %d times, want %d (once per message)", n, users*msgs)
	}
}
