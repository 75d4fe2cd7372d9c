package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"gridbot/bot"
	"gridbot/bot/wxclient"
	"gridbot/flows"
)

// redisServer is a real redis-server the test starts and stops, on a free
// port kept across restarts, without persistence (a restart loses
// everything, as a cache-only Redis does).
type redisServer struct {
	t    *testing.T
	addr string
	cmd  *exec.Cmd
}

func startRedisServer(t *testing.T) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := &redisServer{t: t, addr: addr}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *redisServer) start() {
	r.t.Helper()
	_, port, _ := net.SplitHostPort(r.addr)
	r.cmd = exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", r.t.TempDir())
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: r.addr})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server on %s did not start", r.addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *redisServer) stop() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	r.cmd.Wait()
	r.cmd = nil
}

// do runs one Redis command.
func (r *redisServer) do(args ...any) {
	r.t.Helper()
	c := redis.NewClient(&redis.Options{Addr: r.addr})
	defer c.Close()
	if err := c.Do(context.Background(), args...).Err(); err != nil {
		r.t.Fatalf("redis %v: %v", args, err)
	}
}

// phone is one WeChat user talking to m through its webhook.
type phone struct {
	t      *testing.T
	c      *wxclient.Client
	openID string
}

var phoneMsgID atomic.Int64

func newPhone(t *testing.T, m *Main, openID string) *phone {
	t.Helper()
	w := flows.Worker{OpenID: openID, Name: "王芳", Community: "阳光社区", Grid: "3", Role: flows.RoleWorker, BoundAt: time.Now()}
	if err := m.DB.PutWorker(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	return &phone{t: t, openID: openID, c: &wxclient.Client{URL: m.URL() + "/wechat", Token: m.Config.WeChat.Token,
		HTTP: &http.Client{Timeout: 10 * time.Second}}}
}

func (p *phone) say(text string) string {
	p.t.Helper()
	reply, err := p.c.Do(p.c.Text(p.openID, text, time.Now().UnixNano()+phoneMsgID.Add(1)))
	if err != nil {
		p.t.Fatalf("%q: %v", text, err)
	}
	return reply
}

func (p *phone) expect(text, want string) {
	p.t.Helper()
	if got := p.say(text); !strings.Contains(got, want) {
		p.t.Fatalf("%s %q: reply %q, want it to contain %q", p.openID, text, got, want)
	}
}

func healthz(t *testing.T, m *Main) (int, string) {
	t.Helper()
	resp, err := http.Get(m.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Status
}

func reportCount(t *testing.T, m *Main, openID string) int {
	t.Helper()
	n := 0
	err := m.DB.Reports(context.Background(), flows.Scope{Kind: flows.ScopeWorker, ID: openID}, strconv.Itoa(time.Now().Year()), true, func(flows.Report) error {
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestChatDegradesWithoutRedis: with Redis down, one-line reports, totals
// and 待办 keep working, a form says only one-line reports work, /healthz
// says degraded; when Redis is back (empty, as after a restart without
// persistence) chat recovers by itself and a form it lost is announced.
func TestChatDegradesWithoutRedis(t *testing.T) {
	rs := startRedisServer(t)
	m := startMainOn(t, rs.addr)
	m.Sessions.RetryAfter = 200 * time.Millisecond
	wang, li := newPhone(t, m, "o-wang"), newPhone(t, m, "o-li")

	wang.expect("走访", "1/4")
	wang.expect("3栋2单元201", "2/4")
	rs.stop()

	li.expect("宣传 资料200份 参与40人", "✅ 已记录宣传活动")
	li.expect("本月统计", "宣传 1 次")
	if got := li.say("待办"); got == bot.ApologyText || got == bot.DegradedText {
		t.Fatalf("待办 without Redis: %q", got)
	}
	li.expect("走访", bot.DegradedText)
	wang.expect("1", bot.DegradedText) // the form is there, out of reach: nothing guessed
	if st, status := healthz(t, m); st != 200 || status != "degraded" {
		t.Fatalf("healthz with Redis down: %d %q, want 200 degraded", st, status)
	}
	if n := reportCount(t, m, "o-li"); n != 1 {
		t.Fatalf("%d reports of o-li, want 1", n)
	}
	metrics := metricsText(t, m)
	for _, want := range []string{`gridbot_webhook_requests_total{outcome="degraded"} 2`, "gridbot_redis_errors_total "} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(metrics, "gridbot_redis_errors_total 0\n") {
		t.Error("no Redis error counted")
	}

	rs.start() // empty: wang's form is gone
	time.Sleep(300 * time.Millisecond)
	wang.expect("1", "上次未完成的记录因系统重启已丢失")
	li.expect("走访", "1/4")
	if st, status := healthz(t, m); st != 200 || status != "ok" {
		t.Fatalf("healthz after recovery: %d %q", st, status)
	}
}

// TestFormSavedOnceWhenRedisRefusesWrites: at a form's confirmation, with
// Redis refusing writes, "1" saves the report and says so; confirming
// again, during and after the outage, cannot save it twice.
func TestFormSavedOnceWhenRedisRefusesWrites(t *testing.T) {
	rs := startRedisServer(t)
	m := startMainOn(t, rs.addr)
	m.Sessions.RetryAfter = 200 * time.Millisecond
	p := newPhone(t, m, "o-zhao")
	p.expect("活动", "1/")
	p.expect("讲座", "2/")
	p.expect("200", "3/")
	p.expect("40", "5/")
	p.expect("跳过", "请确认")

	rs.do("CONFIG", "SET", "maxmemory-policy", "noeviction")
	rs.do("CONFIG", "SET", "maxmemory", "1")
	p.expect("1", "✅ 已保存")
	time.Sleep(300 * time.Millisecond)
	p.expect("1", "✅ 已保存") // the session still waits at the confirmation
	rs.do("CONFIG", "SET", "maxmemory", "0")
	time.Sleep(300 * time.Millisecond)
	p.say("1")
	if n := reportCount(t, m, "o-zhao"); n != 1 {
		t.Fatalf("%d reports saved, want 1", n)
	}
	p.expect("本月统计", "【宣传活动】1 次")
}

const redisTestToken = "redis-test-token"

// metricsText returns m's /metrics.
func metricsText(t *testing.T, m *Main) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, m.URL()+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+redisTestToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// startMainOn runs Main on a temp store with sessions in the Redis at addr.
func startMainOn(t *testing.T, addr string) *Main {
	t.Helper()
	return runMainFor(t, "", []string{"GRIDBOT_HTTP_ADDR=127.0.0.1:0", "GRIDBOT_STORAGE_PATH=" + t.TempDir() + "/gridbot.db",
		"GRIDBOT_REDIS_ADDR=" + addr, "GRIDBOT_API_TOKEN=" + redisTestToken})
}

// TestUnreachableRedisOneLine: serve with a Redis nobody answers prints
// gridbot's own message naming the key, and no go-redis pool lines before
// it. It runs the real binary's main in a child process, to see its stderr.
func TestUnreachableRedisOneLine(t *testing.T) {
	if os.Getenv("GRIDBOT_TEST_CHILD") == "serve" {
		os.Args = []string{"gridbot", "serve"}
		main()
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	cmd := exec.Command(os.Args[0], "-test.run=^TestUnreachableRedisOneLine$")
	cmd.Env = append(os.Environ(), "GRIDBOT_TEST_CHILD=serve", "GRIDBOT_REDIS_ADDR="+addr,
		"GRIDBOT_HTTP_ADDR=127.0.0.1:0", "GRIDBOT_STORAGE_PATH="+t.TempDir()+"/gridbot.db")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatal("serve started without its Redis")
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "redis.addr") || strings.Contains(stderr.String(), "pool") {
		t.Fatalf("stderr:\n%s\nwant one line naming redis.addr", stderr.String())
	}
}
