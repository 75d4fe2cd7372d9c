package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"gridbot/bot/wxtest"
	"gridbot/flows"
	"gridbot/storage/postgres"
	"gridbot/storage/postgres/pgtest"
)

// twoNodes starts two real Mains (`gridbot serve`) on one PostgreSQL
// database and one Redis, as two servers behind a load balancer, after
// seed has filled the database. The reminders' daily time is 00:00, so
// both start by making up today's run, at the same time.
func twoNodes(t *testing.T, seed func(db *postgres.DB)) (nodes [2]*Main, store *postgres.DB) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	store, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	seed(store)
	redisAddr := os.Getenv("GRIDBOT_TEST_REDIS")
	if redisAddr == "" {
		redisAddr = miniredis.RunT(t).Addr()
	}
	env := []string{
		"GRIDBOT_HTTP_ADDR=127.0.0.1:0",
		"GRIDBOT_STORAGE_DRIVER=postgres", "GRIDBOT_STORAGE_DSN=" + dsn,
		"GRIDBOT_REDIS_ADDR=" + redisAddr,
		fmt.Sprintf("GRIDBOT_SESSION_PREFIX=gridbot-test:%s:%d:", t.Name(), time.Now().UnixNano()),
		"GRIDBOT_REMINDERS_DAILY_AT=00:00",
		// Given, or local mode keeps a generated one beside storage.path
		// (./gridbot.db: the package directory).
		"GRIDBOT_API_TOKEN=two-nodes-token",
	}
	cfg, err := ReadConfigFile("", env)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range nodes {
		nodes[i] = &Main{Config: cfg}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = nodes[i].Run(context.Background())
		}()
	}
	wg.Wait()
	for i, m := range nodes {
		t.Cleanup(func() {
			if err := m.Close(); err != nil {
				t.Errorf("close node %d: %v", i, err)
			}
		})
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i, errs[i])
		}
	}
	t.Cleanup(func() { // leave nothing behind in a shared Redis
		ctx := context.Background()
		iter := nodes[0].Redis.Scan(ctx, 0, cfg.Session.Prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			nodes[0].Redis.Del(ctx, iter.Val())
		}
	})
	return nodes, store
}

// TestTwoNodes sends conversations through two nodes on one PostgreSQL and
// one Redis, alternately and concurrently: every user's messages split
// across the nodes, forms begun on one node and finished on the other, the
// same message (MsgId) delivered to both nodes at once, and two messages
// of one user at once on the two nodes; meanwhile both nodes make up the
// missed digest run at once, and then run it again at once. Every reply
// is given, every report saved once, every tally equals the reports, and
// each worker with something overdue got one digest.
func TestTwoNodes(t *testing.T) {
	ctx := context.Background()
	const workers = 8
	zone, _ := time.LoadLocation("Asia/Shanghai")
	overdue := time.Now().In(zone).AddDate(0, 0, -3).Format(time.DateOnly)
	nodes, store := twoNodes(t, func(db *postgres.DB) {
		for w := range workers {
			id := fmt.Sprintf("oNode%02d", w)
			if err := db.PutWorker(ctx, flows.Worker{OpenID: id, Name: "网格员", Community: demoCommunity,
				Grid: fmt.Sprintf("%d", w%3+1), Role: flows.RoleWorker, BoundAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			if w%2 == 0 { // half the workers have an overdue follow-up: they get a digest
				target := fmt.Sprintf("9-9-%d", w)
				if _, err := db.OpenFollowUp(ctx, flows.FollowUp{Key: flows.FollowKey(demoCommunity, "visit", "chronic", target),
					Community: demoCommunity, Grid: fmt.Sprintf("%d", w%3+1), Worker: id, Flow: "visit", Kind: "chronic",
					Target: target, Due: overdue}); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
	client := func(n int) *wxtest.Client {
		return &wxtest.Client{URL: nodes[n].URL() + "/wechat", Token: nodes[n].Config.WeChat.Token}
	}
	send := func(n int, openID, text string, msgID int64) string {
		reply, err := client(n).Do(client(n).Text(openID, text, msgID))
		if err != nil {
			t.Errorf("node %d, %s %q: %v", n, openID, text, err)
		}
		return reply
	}

	// The visits are dated over the last days ("a week" of work); the
	// rest is today's.
	days := []string{"", "昨天", "前天", "大前天"}
	now := time.Now().In(zone)
	wantVisits := map[string]float64{} // month → visits per worker
	for i := range days {
		wantVisits[now.AddDate(0, 0, -i).Format("2006-01")]++
	}
	wantVisits[now.Format("2006-01")] += 3 // the same message twice, two at once
	monthCount := regexp.MustCompile(`本月你已走访 (\d+) 户`)

	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			openID := fmt.Sprintf("oNode%02d", w)
			msgID := int64(w+1) * 1_000_000
			next := func() int64 { msgID++; return msgID }
			// One-line visits of the last days, alternately on each node.
			for i, when := range days {
				text := fmt.Sprintf("%s走访 %d-1-%d0%d 慢病 150/95", when, w+1, i%2+1, i)
				if r := send(i%2, openID, text, next()); !strings.HasPrefix(r, "✅") {
					t.Errorf("%s %q: reply %q", openID, text, r)
				}
			}
			// A form begun on one node and finished on the other, step by step.
			var last string
			for i, text := range []string{"活动", "讲座", "200", "40", "跳过", "1"} {
				last = send((i+w)%2, openID, text, next())
			}
			if !strings.HasPrefix(last, "✅") {
				t.Errorf("%s form: final reply %q", openID, last)
			}
			// The same message delivered to both nodes at once: one handling,
			// the same reply on both.
			id := next()
			var same [2]string
			var both sync.WaitGroup
			for n := range 2 {
				both.Add(1)
				go func() {
					defer both.Done()
					same[n] = send(n, openID, fmt.Sprintf("走访 %d-8-801 慢病 140/90", w+1), id)
				}()
			}
			both.Wait()
			if !strings.HasPrefix(same[0], "✅") || same[0] != same[1] {
				t.Errorf("%s same MsgId on both nodes: %q and %q", openID, same[0], same[1])
			}
			// Two messages of one user at once, one on each node: handled
			// one at a time, both saved.
			var two [2]string
			ids := [2]int64{next(), next()}
			for n := range 2 {
				both.Add(1)
				go func() {
					defer both.Done()
					two[n] = send(n, openID, fmt.Sprintf("走访 %d-7-70%d 老年人", w+1, n), ids[n])
				}()
			}
			both.Wait()
			for n, r := range two {
				if !strings.HasPrefix(r, "✅") {
					t.Errorf("%s concurrent message %d: reply %q", openID, n, r)
				}
			}
			// One after the other: the second reply counts one household more.
			var counted [2]int
			for n, r := range two {
				if m := monthCount.FindStringSubmatch(r); m != nil {
					counted[n], _ = strconv.Atoi(m[1])
				}
			}
			if d := counted[0] - counted[1]; counted[0] == 0 || (d != 1 && d != -1) {
				t.Errorf("%s concurrent messages not handled one at a time:\n%s\n%s", openID, two[0], two[1])
			}
			// A query answered on either node with the same figures.
			q0, q1 := send(0, openID, "本月统计", next()), send(1, openID, "本月统计", next())
			if q0 == "" || q0 != q1 {
				t.Errorf("%s monthly figures differ between nodes:\n%s\n%s", openID, q0, q1)
			}
		}()
	}
	// Meanwhile both nodes make up today's missed digest run (started with
	// them); once it is done, both run it again at the same moment.
	today := time.Now().In(zone).Format(time.DateOnly)
	deadline := time.Now().Add(20 * time.Second)
	for {
		day, err := store.LastDigestRun(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if day == today {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the made-up digest run was not recorded (last run %q)", day)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var again [2]int
	var runs sync.WaitGroup
	for n := range 2 {
		runs.Add(1)
		go func() {
			defer runs.Done()
			res, err := nodes[n].Reminders.RunOnce(ctx)
			if err != nil {
				t.Errorf("node %d run: %v", n, err)
			}
			again[n] = res.Sent + res.Fallback + res.Failed
		}()
	}
	runs.Wait()
	wg.Wait()
	if again[0]+again[1] != 0 {
		t.Errorf("a second run on both nodes delivered %d digests, want 0", again[0]+again[1])
	}

	// Each worker with an overdue follow-up got exactly one digest, from
	// whichever node claimed it.
	attempts, err := store.DigestAttempts(ctx, today)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, a := range attempts {
		per[a.Worker]++
	}
	for w := range workers {
		id := fmt.Sprintf("oNode%02d", w)
		want := 0
		if w%2 == 0 {
			want = 1
		}
		pushed := len(nodes[0].Outbox.Messages(id, 0)) + len(nodes[1].Outbox.Messages(id, 0))
		if per[id] != want || pushed != want {
			t.Errorf("%s: %d digest attempts, %d pushed; want %d", id, per[id], pushed, want)
		}
	}

	// Nothing twice: 4 visits + 1 campaign + 1 visit sent twice + 2
	// concurrent visits per worker, and every tally equals its reports.
	for w := range workers {
		id := fmt.Sprintf("oNode%02d", w)
		n, keys := 0, map[string]bool{}
		for month, visits := range wantVisits {
			err := store.Reports(ctx, flows.Scope{Kind: flows.ScopeWorker, ID: id}, month, true, func(r flows.Report) error {
				n++
				if keys[r.MsgKey] {
					t.Errorf("%s: message %s saved twice", id, r.MsgKey)
				}
				keys[r.MsgKey] = true
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			c, err := store.Tally(ctx, flows.Scope{Kind: flows.ScopeWorker, ID: id}, month)
			if err != nil {
				t.Fatal(err)
			}
			if c["visit"] != visits {
				t.Errorf("%s tally %s %v, want %v visits", id, month, c, visits)
			}
		}
		if n != 8 {
			t.Errorf("%s: %d reports, want 8", id, n)
		}
	}
	month := now.Format("2006-01")
	all, err := store.Tally(ctx, flows.Scope{Kind: flows.ScopeAll}, month)
	if err != nil {
		t.Fatal(err)
	}
	if all["visit"] != wantVisits[month]*workers || all["campaign"] != workers {
		t.Errorf("all tally %v, want %v visits and %d campaigns", all, wantVisits[month]*workers, workers)
	}
	if diffs, err := store.Check(ctx); err != nil || len(diffs) != 0 {
		t.Errorf("check: %q, %v", diffs, err)
	}

	// The nodes' metrics count every saved report once, on the node that
	// saved it.
	var visits, campaigns, commits float64
	for _, m := range nodes {
		req, _ := http.NewRequest(http.MethodGet, m.URL()+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer two-nodes-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		visits += metricValue(string(page), `gridbot_reports_saved_total{flow="visit"}`)
		campaigns += metricValue(string(page), `gridbot_reports_saved_total{flow="campaign"}`)
		commits += metricValue(string(page), "gridbot_commit_batch_writes_count")
	}
	wantAll := 0.0
	for _, v := range wantVisits {
		wantAll += v * workers
	}
	if visits != wantAll || campaigns != workers || commits != wantAll+workers {
		t.Errorf("metrics: %g visits, %g campaigns, %g commits; want %g, %d, %g", visits, campaigns, commits, wantAll, workers, wantAll+workers)
	}
}

// TestPostgresNeedsRedis: a postgres config without redis.addr is refused
// at start, naming the keys.
func TestPostgresNeedsRedis(t *testing.T) {
	cfg, err := ReadConfigFile("", []string{"GRIDBOT_STORAGE_DRIVER=postgres",
		"GRIDBOT_STORAGE_DSN=postgres://gridbot@127.0.0.1:1/none", "GRIDBOT_HTTP_ADDR=127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: cfg}
	err = m.Run(context.Background())
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "redis.addr") || !strings.Contains(err.Error(), `storage.driver = "postgres"`) {
		t.Fatalf("start without redis: %v", err)
	}
}
