package chat_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/flows/chat"
	"gridbot/storage"
)

// WeChat's delivery reports of template messages land in the reminders'
// attempt log, unanswered.
func TestTemplateJobFinishIsRecorded(t *testing.T) {
	ctx := context.Background()
	db, err := storage.Open(filepath.Join(t.TempDir(), "g.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	zone, _ := time.LoadLocation("Asia/Shanghai")
	e := &chat.Engine{Store: db, Sessions: db.KV(), Notices: db, Attempts: db, Zone: zone}
	at := time.Date(2026, 11, 28, 8, 31, 0, 0, zone)
	for i, status := range []string{"success", "failed:user block"} {
		reply, err := e.Handle(ctx, flows.Inbound{MsgKey: "k" + status, OpenID: "w1", Type: "event",
			Event: "TEMPLATESENDJOBFINISH", Status: status, At: at.Add(time.Duration(i) * time.Second)})
		if err != nil || reply.Text != "" {
			t.Fatalf("%s: reply %q, err %v; want no reply", status, reply.Text, err)
		}
	}
	got, err := db.DigestAttempts(ctx, "2026-11-28")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("attempts %+v, want 2", got)
	}
	if a := got[0]; a.Worker != "w1" || a.Channel != flows.ChannelTemplateJob || a.ErrCode != 0 {
		t.Errorf("success recorded as %+v", a)
	}
	if a := got[1]; a.ErrCode != chat.ErrCodeTemplateFailed || a.Error != "failed:user block" {
		t.Errorf("failure recorded as %+v", a)
	}
}
