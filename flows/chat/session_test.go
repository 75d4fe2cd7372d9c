package chat_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"gridbot/flows"
)

// countingKV counts the writes that reach a real session store.
type countingKV struct {
	flows.KV
	writes atomic.Int64
}

func (kv *countingKV) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	kv.writes.Add(1)
	return kv.KV.Set(ctx, key, val, ttl)
}

func (kv *countingKV) Delete(ctx context.Context, key string) error {
	kv.writes.Add(1)
	return kv.KV.Delete(ctx, key)
}

// TestSessionWrites: a one-line report completed from an idle session
// costs no session write, and any of them delivered again after a restart
// (a crash before the reply) gets the same answer and is counted once;
// forms, and a one-line report finishing a form, still store the session.
func TestSessionWrites(t *testing.T) {
	cases := []struct {
		name   string
		msgs   []string
		writes []int64 // session writes per message
	}{
		{"one line", []string{"走访 3-2-201 慢病 150/95"}, []int64{0}},
		{"one line after one line", []string{"今天宣传发放资料35份，参与群众12人", "走访 3-2-201 慢病 150/95"}, []int64{0, 0}},
		{"asks what is missing", []string{"走访 3-2-202 150/90", "1", "今天宣传发放资料35份，参与群众12人"}, []int64{1, 1, 0}},
		{"confirmed form", []string{"活动", "讲座", "200", "40", "跳过", "1"}, []int64{1, 1, 1, 1, 1, 1}},
		{"query", []string{"本月统计"}, []int64{0}},
	}
	for _, kv := range []string{"bbolt", "redis"} {
		for _, tc := range cases {
			t.Run(kv+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				h := newHarness(t, kv)
				if err := h.db.PutWorker(ctx, flows.Worker{OpenID: "w1", Community: "阳光社区", Grid: "3", Role: flows.RoleWorker}); err != nil {
					t.Fatal(err)
				}
				var ins []flows.Inbound
				var replies []string
				for i, text := range tc.msgs {
					spy := &countingKV{KV: h.eng.Sessions}
					h.eng.Sessions = spy
					in := flows.Inbound{MsgKey: "2400000000" + strconv.Itoa(i), OpenID: "w1", Type: "text", Text: text, At: h.clock}
					r, err := h.eng.Handle(ctx, in)
					if err != nil {
						t.Fatalf("%s: %v", text, err)
					}
					if got := spy.writes.Load(); got != tc.writes[i] {
						t.Errorf("%s: %d session writes, want %d", text, got, tc.writes[i])
					}
					h.eng.Sessions = spy.KV
					ins, replies = append(ins, in), append(replies, r.Text)
				}
				before, err := h.db.Tally(ctx, flows.Scope{Kind: flows.ScopeAll}, "2026")
				if err != nil {
					t.Fatal(err)
				}

				// Restart, then each one-line report (or the last message,
				// which completes what it completes) delivered again.
				h.clock = h.clock.Add(3 * time.Second)
				if err := h.db.Close(); err != nil {
					t.Fatal(err)
				}
				h.open()
				for i, in := range ins {
					if tc.writes[i] != 0 && i != len(ins)-1 {
						continue // replaying a form step mid-way is another matter
					}
					r, err := h.eng.Handle(ctx, in)
					if err != nil {
						t.Fatal(err)
					}
					if r.Text != replies[i] {
						t.Errorf("%s delivered again: %q, want %q", in.Text, r.Text, replies[i])
					}
				}
				after, err := h.db.Tally(ctx, flows.Scope{Kind: flows.ScopeAll}, "2026")
				if err != nil {
					t.Fatal(err)
				}
				if len(after) != len(before) {
					t.Fatalf("tallies after redelivery %v, before %v", after, before)
				}
				for k, v := range before {
					if after[k] != v {
						t.Errorf("tally %s: %v after redelivery, %v before", k, after[k], v)
					}
				}
			})
		}
	}
}
