package chat_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"gridbot/flows"
)

// TestCompletingMessageOnce sends the message that completes a report twice
// at the same time, then once more after the store was closed and opened
// again (a crash between the save and the reply): one report, one count,
// the same answer every time. Both a one-line report and a confirmed form,
// with each session store.
func TestCompletingMessageOnce(t *testing.T) {
	cases := []struct {
		name  string
		setup []string // messages before the completing one
		last  string   // the completing message
		ack   string
		key   string // the report's dedupe key: the message, or the form
	}{
		{
			name: "one line",
			last: "走访 3-2-201 慢病 150/95",
			ack:  "✅ 已记录入户走访：3-2-201，慢病随访，血压 150/95。本月你已走访 1 户、1 户次（慢病随访 1 户、1 户次）。下次随访 2027-02-26。",
			key:  "24000000001",
		},
		{
			name:  "confirmed form",
			setup: []string{"活动", "讲座", "200", "40", "跳过"},
			last:  "1",
			ack:   "✅ 已保存。本月累计：宣传 1 次，资料 200 份，参与 40 人。",
			key:   "form:setupa", // named by the message that opened it
		},
	}
	for _, kv := range []string{"bbolt", "redis"} {
		for _, tc := range cases {
			t.Run(kv+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				h := newHarness(t, kv)
				w := flows.Worker{OpenID: "w1", Community: "阳光社区", Grid: "3", Role: flows.RoleWorker}
				if err := h.db.PutWorker(ctx, w); err != nil {
					t.Fatal(err)
				}
				for i, text := range tc.setup {
					in := flows.Inbound{MsgKey: "setup" + string(rune('a'+i)), OpenID: "w1", Type: "text", Text: text, At: h.clock}
					if _, err := h.eng.Handle(ctx, in); err != nil {
						t.Fatal(err)
					}
				}
				last := flows.Inbound{MsgKey: "24000000001", OpenID: "w1", Type: "text", Text: tc.last, At: h.clock}

				var wg sync.WaitGroup
				replies := make([]string, 2)
				for i := range replies {
					wg.Go(func() {
						r, err := h.eng.Handle(ctx, last)
						if err != nil {
							t.Error(err)
						}
						replies[i] = r.Text
					})
				}
				wg.Wait()

				h.clock = h.clock.Add(3 * time.Second)
				if err := h.db.Close(); err != nil {
					t.Fatal(err)
				}
				h.open()
				again, err := h.eng.Handle(ctx, last)
				if err != nil {
					t.Fatal(err)
				}
				for i, got := range append(replies, again.Text) {
					if got != tc.ack {
						t.Errorf("reply %d = %q, want %q", i, got, tc.ack)
					}
				}
				var n int
				err = h.db.Reports(ctx, flows.Scope{Kind: flows.ScopeWorker, ID: "w1"}, "2026", true, func(r flows.Report) error {
					n++
					if r.MsgKey != tc.key {
						t.Errorf("report saved with MsgKey %q, want %q", r.MsgKey, tc.key)
					}
					return nil
				})
				if err != nil || n != 1 {
					t.Fatalf("%d reports (err %v), want 1", n, err)
				}
				c, err := h.db.Tally(ctx, flows.Scope{Kind: flows.ScopeAll}, "2026-11")
				if err != nil {
					t.Fatal(err)
				}
				flow := "visit"
				if tc.name != "one line" {
					flow = "campaign"
				}
				if c[flow] != 1 {
					t.Fatalf("tally %s = %v, want 1 (%v)", flow, c[flow], c)
				}
			})
		}
	}
}
