package chat_test

import (
	"context"
	"strings"
	"testing"

	"gridbot/flows"
)

// A reminder that could not be pushed is shown once, before the reply to
// the worker's next message, also after a restart.
func TestPendingNotice(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, "bbolt")
	w := flows.Worker{OpenID: "w1", Name: "张三", Community: "阳光社区", Grid: "3", Role: flows.RoleWorker, BoundAt: h.clock}
	if err := h.db.PutWorker(ctx, w); err != nil {
		t.Fatal(err)
	}
	const notice = "📌 有一条提醒没能推送给你：\n你有 1 项随访已逾期"
	if err := h.db.PutNotice(ctx, "w1", notice, h.clock); err != nil {
		t.Fatal(err)
	}
	h.db.Close()
	h.open() // a restart between the failed push and the next message
	steps := []struct {
		text       string
		withNotice bool
	}{
		{"待办", true},
		{"待办", false},
	}
	for i, s := range steps {
		reply, err := h.eng.Handle(ctx, flows.Inbound{MsgKey: "n" + string(rune('0'+i)), OpenID: "w1", Type: "text", Text: s.text, At: h.clock})
		if err != nil {
			t.Fatal(err)
		}
		got := strings.HasPrefix(reply.Text, notice+"\n\n")
		if got != s.withNotice {
			t.Errorf("message %d: notice shown %v, want %v:\n%s", i, got, s.withNotice, reply.Text)
		}
		if !strings.Contains(reply.Text, "暂无待办") {
			t.Errorf("message %d: the reply itself is missing:\n%s", i, reply.Text)
		}
	}
}
