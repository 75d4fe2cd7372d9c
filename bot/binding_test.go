package bot

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/flows/chat"
)

// TestBindingEndToEnd runs the real conversation engine behind the webhook
// on a loopback server, with a real store, real signed safe-mode requests
// and the admin API creating the invite.
func TestBindingEndToEnd(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	zone, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	engine := &chat.Engine{Store: db, Sessions: db.KV(), Notices: db, Attempts: db, Zone: zone, SessionPrefix: "gridbot:session:", Log: (&logBuffer{}).logger()}
	wh := newWebhook(t, engine, db.KV(), true, nil)
	s := &Server{Addr: "127.0.0.1:0", Webhook: wh, API: &API{Token: apiToken, Store: db}, Log: (&logBuffer{}).logger()}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(ctx) })
	c := client(true)
	c.URL = s.URL() + "/wechat"

	api := func(method, path, body string, v any) int {
		req, _ := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+apiToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	var invite struct{ Code string }
	if st := api("POST", "/api/v1/invites", `{"community":"幸福社区","grid":"3","role":"worker"}`, &invite); st != 201 {
		t.Fatalf("invite: %d", st)
	}
	if err := db.CreateInvite(ctx, flows.Invite{Code: "OLD234", Community: "幸福社区", Grid: "1", Role: flows.RoleWorker, ExpiresAt: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}

	msgID := int64(900)
	steps := []struct {
		label, openID, text string
		reply               string // a substring of the reply
		bound               bool   // the sender is bound afterwards
	}{
		{"unbound user is told how to bind", "oNew", "走访 3-2-201", "你还没有绑定", false},
		{"unknown code", "oNew", "绑定 ZZZ999", "不存在", false},
		{"expired code", "oNew", "绑定 OLD234", "已过期", false},
		{"valid code", "oNew", "绑定 " + invite.Code, "绑定成功", true},
		{"reused code", "oOther", "绑定 " + invite.Code, "已被使用", false},
	}
	for _, st := range steps {
		msgID++
		reply, err := c.Do(c.Text(st.openID, st.text, msgID))
		if err != nil {
			t.Fatalf("%s: %v", st.label, err)
		}
		if !strings.Contains(reply, st.reply) {
			t.Fatalf("%s: reply %q, want it to contain %q", st.label, reply, st.reply)
		}
		_, err = db.Worker(ctx, st.openID)
		if bound := err == nil; bound != st.bound {
			t.Fatalf("%s: bound %v (%v), want %v", st.label, bound, err, st.bound)
		}
	}
	w, _ := db.Worker(ctx, "oNew")
	if w.Community != "幸福社区" || w.Grid != "3" || w.Role != flows.RoleWorker {
		t.Fatalf("bound as %+v", w)
	}

	// The bound worker reports in one line; WeChat delivers the message
	// three times at once and once more later: it counts once.
	msgID++
	var wg sync.WaitGroup
	replies := make([]string, 3)
	for i := range replies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := c.Do(c.Text("oNew", "今天宣传发放资料四百余份，参与群众35人", msgID))
			if err != nil {
				t.Error(err)
			}
			replies[i] = r
		}()
	}
	wg.Wait()
	later, err := c.Do(c.Text("oNew", "今天宣传发放资料四百余份，参与群众35人", msgID))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range append(replies, later) {
		if r == "" || r != replies[0] {
			t.Fatalf("delivery %d: %q, want the first reply %q", i, r, replies[0])
		}
	}
	var tally struct{ Counts map[string]float64 }
	month := time.Now().In(zone).Format("2006-01")
	if st := api("GET", "/api/v1/tallies?scope=worker:oNew&period="+month, "", &tally); st != 200 {
		t.Fatalf("tallies: %d", st)
	}
	if tally.Counts["leaflets"] != 400 || tally.Counts["participants"] != 35 || tally.Counts["campaign"] != 1 {
		t.Fatalf("tally %v after %q: want one campaign, 400 leaflets, 35 participants", tally.Counts, replies[0])
	}
}
