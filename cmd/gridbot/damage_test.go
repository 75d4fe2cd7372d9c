package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"gridbot/bot/wxtest"
	"gridbot/storage"
	"gridbot/storage/storagetest"
)

// damagedStore writes a real store with reports at a new path, closes it,
// and damages it with damage.
func damagedStore(t *testing.T, damage func(t testing.TB, path string)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gridbot.db")
	db, err := storage.Open(path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seedExport(t, db, 150)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	damage(t, path)
	return path
}

// `gridbot serve` and `gridbot check` on a truncated, a page-damaged or an
// empty store file end with an error naming the file and what to do, not a
// panic; serve does not start.
func TestServeAndCheckRefuseDamagedStore(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t testing.TB, path string)
		want   []string
	}{
		{"truncated", storagetest.Truncate, []string{"is damaged (truncated", "restore the latest backup", "gridbot check"}},
		{"page damaged", storagetest.CorruptPage, []string{"is damaged", "restore the latest backup", "gridbot check"}},
		{"zero length", func(t testing.TB, path string) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		}, []string{"is empty (0 bytes)", "restore the latest backup", "delete the empty file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := damagedStore(t, tt.damage)
			t.Setenv("GRIDBOT_STORAGE_PATH", path)
			t.Setenv("GRIDBOT_HTTP_ADDR", "127.0.0.1:0")
			for _, cmd := range []string{"serve", "check"} {
				var stdout, stderr bytes.Buffer
				err := run(context.Background(), []string{cmd}, &stdout, &stderr)
				if err == nil {
					t.Fatalf("%s: no error\n%s", cmd, stderr.String())
				}
				for _, want := range append([]string{path}, tt.want...) {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("%s: error %q lacks %q", cmd, err, want)
					}
				}
			}
			if st, err := os.Stat(path); err != nil || (tt.name == "zero length") != (st.Size() == 0) {
				t.Errorf("the damaged file was changed: %v %v", st, err)
			}
		})
	}
}

// A page damaged under the running bot: `gridbot check` (through the
// bot's admin API) reports the damage and what to do, and /healthz answers
// 503 from then on.
func TestCheckThroughBotReportsDamage(t *testing.T) {
	path := damagedStore(t, func(testing.TB, string) {})
	// Every leaf page: after the day's digest time, serve's make-up run
	// writes at start, and a page it rewrites is no longer in use.
	ids, size := storagetest.DataPages(t, path)
	m := runMainFor(t, "", []string{"GRIDBOT_HTTP_ADDR=127.0.0.1:0", "GRIDBOT_STORAGE_PATH=" + path, "GRIDBOT_API_TOKEN=secret-token"})
	t.Setenv("GRIDBOT_STORAGE_PATH", path)
	t.Setenv("GRIDBOT_HTTP_ADDR", strings.TrimPrefix(m.URL(), "http://"))
	t.Setenv("GRIDBOT_API_TOKEN", "secret-token")
	if code, status := healthzOf(t, m); code != 200 {
		t.Fatalf("healthz before: %d %s", code, status)
	}

	for _, id := range ids {
		storagetest.OverwritePage(t, path, id, size)
	}
	var stdout, stderr bytes.Buffer
	err := runCheck(context.Background(), nil, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), path+" is damaged") || !strings.Contains(err.Error(), "restore the latest backup") {
		t.Errorf("check through the bot: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if code, status := healthzOf(t, m); code != 503 || status != "unavailable storage=failed" {
		t.Errorf("healthz after: %d %s", code, status)
	}
}

// /healthz tells the truth about writes: when they fail (a full or failing
// disk) it answers 503 until they work again, and then 200.
func TestHealthzReportsFailedWrites(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("storagetest.FailWrites needs Linux")
	}
	m := startMain(t, "GRIDBOT_API_TOKEN=secret-token")
	c := &wxtest.Client{URL: m.URL() + "/wechat", Token: m.Config.WeChat.Token}
	if err := (&chatter{client: c, server: m.URL(), openID: "w1"}).bindDemoForTest(t); err != nil {
		t.Fatal(err)
	}
	if reply, err := c.Do(c.Text("w1", "今天宣传发放资料四百余份，参与群众35人", 1)); err != nil || !strings.Contains(reply, "资料 400 份") {
		t.Fatalf("report: %q, %v", reply, err)
	}
	if code, status := healthzOf(t, m); code != 200 {
		t.Fatalf("healthz before: %d %s", code, status)
	}

	restore := storagetest.FailWrites(t, m.Config.Storage.Path)
	reply, err := c.Do(c.Text("w1", "今天宣传发放资料二十份，参与群众5人", 2))
	if err != nil || strings.Contains(reply, "✅") {
		t.Fatalf("report with writes failing: %q, %v", reply, err)
	}
	if code, status := healthzOf(t, m); code != 503 || !strings.Contains(status, "storage=failed") {
		t.Errorf("healthz with writes failing: %d %s", code, status)
	}

	restore()
	if code, status := healthzOf(t, m); code != 200 {
		t.Errorf("healthz once writes work again: %d %s", code, status)
	}
}

// healthzOf asks the running bot's /healthz and returns the status code
// and "status check=status ...".
func healthzOf(t *testing.T, m *Main) (int, string) {
	t.Helper()
	resp, err := http.Get(m.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		Status string `json:"status"`
		Checks []struct {
			Name, Status string
		} `json:"checks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	s := a.Status
	for _, c := range a.Checks {
		s += " " + c.Name + "=" + c.Status
	}
	return resp.StatusCode, s
}

// /healthz tells the truth about Redis too: one that answers PING but
// refuses writes (out of memory) is a failed check. The test runs its own
// redis-server, as the shared one must not be made to refuse writes.
func TestHealthzRedisRefusingWrites(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("no redis-server")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	waitUntil(t, "redis-server answers", func() bool { return rc.Ping(context.Background()).Err() == nil })

	m := runMainFor(t, "", []string{"GRIDBOT_HTTP_ADDR=127.0.0.1:0", "GRIDBOT_STORAGE_PATH=" + filepath.Join(t.TempDir(), "gridbot.db"), "GRIDBOT_REDIS_ADDR=" + addr})
	if code, status := healthzOf(t, m); code != 200 || status != "ok storage=ok redis=ok" {
		t.Fatalf("healthz before: %d %s", code, status)
	}
	if err := rc.ConfigSet(context.Background(), "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	// Chat goes on without Redis (one-line reports, totals, 待办): degraded, not down.
	if code, status := healthzOf(t, m); code != 200 || status != "degraded storage=ok redis=failed" {
		t.Errorf("healthz with Redis refusing writes: %d %s, want 200 degraded storage=ok redis=failed", code, status)
	}
	if err := rc.ConfigSet(context.Background(), "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if code, status := healthzOf(t, m); code != 200 {
		t.Errorf("healthz once Redis takes writes again: %d %s", code, status)
	}
}

// waitUntil polls cond for up to 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting until %s", what)
}
