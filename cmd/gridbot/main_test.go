package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"gridbot/bot/wxtest"
	"gridbot/flows"
	"gridbot/storage"
)

// startMain runs the real Main on a free port with a temp store, the way
// `gridbot serve` does with no config file, and the given overrides.
func startMain(t *testing.T, env ...string) *Main {
	t.Helper()
	dir := t.TempDir()
	env = append([]string{"GRIDBOT_HTTP_ADDR=127.0.0.1:0", "GRIDBOT_STORAGE_PATH=" + filepath.Join(dir, "gridbot.db")}, env...)
	if addr := os.Getenv("GRIDBOT_TEST_REDIS"); addr != "" {
		// A prefix of its own per run: a shared Redis keeps earlier runs' replies.
		prefix := fmt.Sprintf("gridbot-test:%s:%d:", t.Name(), time.Now().UnixNano())
		env = append(env, "GRIDBOT_REDIS_ADDR="+addr, "GRIDBOT_SESSION_PREFIX="+prefix)
	}
	return runMainFor(t, "", env)
}

// runMainFor runs the real Main with the config file (or none) and the
// environment env, and closes it at the end of the test.
func runMainFor(t *testing.T, configPath string, env []string) *Main {
	t.Helper()
	cfg, err := ReadConfigFile(configPath, env)
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: cfg}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return m
}

// A newcomer's first minute: the chat binds its user against a local bot
// and a report made in it is stored and counted.
func TestChatBindsAndReports(t *testing.T) {
	m := startMain(t)
	openID := "chat-" + t.Name()
	in := strings.NewReader("走访 3-2-201 慢病 150/95\n本月统计\n/quit\n")
	var out bytes.Buffer
	if err := runChat(context.Background(), []string{"-server", m.URL(), "-openid", openID}, in, &out, &out); err != nil {
		t.Fatalf("chat: %v\n%s", err, out.String())
	}
	for _, want := range []string{"绑定成功", "✅ 已记录入户走访：3-2-201，慢病随访，血压 150/95。本月你已走访 1 户、1 户次（慢病随访 1 户、1 户次）", "📊"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("chat output lacks %q:\n%s", want, out.String())
		}
	}
	w, err := m.DB.Worker(context.Background(), openID)
	if err != nil || w.Community != demoCommunity {
		t.Fatalf("worker after chat: %+v, %v", w, err)
	}
	// A second run finds the user bound and binds nothing.
	out.Reset()
	if err := runChat(context.Background(), []string{"-server", m.URL(), "-openid", openID}, strings.NewReader(""), &out, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "绑定") {
		t.Errorf("second run bound again:\n%s", out.String())
	}
}

func TestLocalInviteOnlyInLocalMode(t *testing.T) {
	m := startMain(t, "GRIDBOT_WECHAT_APP_ID=wx1", "GRIDBOT_WECHAT_APP_SECRET=s", "GRIDBOT_WECHAT_API_BASE="+wxtest.NewPlatform(t).URL)
	resp, err := http.Post(m.URL()+"/local/invite", "application/json", strings.NewReader(`{"openid":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/local/invite with WeChat credentials: %s, want 404", resp.Status)
	}
}

// check and backup work through the running bot while it holds the file,
// and directly on the file when it does not.
func TestCheckAndBackupWhileRunning(t *testing.T) {
	m := startMain(t, "GRIDBOT_API_TOKEN=secret-token")
	c := &wxtest.Client{URL: m.URL() + "/wechat", Token: m.Config.WeChat.Token}
	if err := (&chatter{client: c, server: m.URL(), openID: "w1"}).bindDemoForTest(t); err != nil {
		t.Fatal(err)
	}
	if reply, err := c.Do(c.Text("w1", "今天宣传发放资料四百余份，参与群众35人", 1)); err != nil || !strings.Contains(reply, "资料 400 份") {
		t.Fatalf("report: %q, %v", reply, err)
	}
	t.Setenv("GRIDBOT_STORAGE_PATH", m.Config.Storage.Path)
	t.Setenv("GRIDBOT_HTTP_ADDR", strings.TrimPrefix(m.URL(), "http://"))
	t.Setenv("GRIDBOT_API_TOKEN", "secret-token")

	var out, errs bytes.Buffer
	if err := runCheck(context.Background(), nil, &out, &errs); err != nil {
		t.Fatalf("check: %v\n%s%s", err, out.String(), errs.String())
	}
	if !strings.Contains(errs.String(), "in use") || !strings.Contains(out.String(), "ok:") {
		t.Errorf("check output:\n%s%s", errs.String(), out.String())
	}
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	if err := runBackup(context.Background(), []string{copyPath}, &out, &errs); err != nil {
		t.Fatalf("backup: %v\n%s", err, errs.String())
	}
	db, err := storage.Open(copyPath, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	counts, err := db.Tally(context.Background(), mustScope(t, "community:"+demoCommunity), "2026")
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if counts["leaflets"] != 400 {
		t.Errorf("backup copy counts %v, want 400 leaflets", counts)
	}

	// A wrong token is told what to do.
	t.Setenv("GRIDBOT_API_TOKEN", "wrong")
	err = runCheck(context.Background(), nil, &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "api.token") {
		t.Errorf("check with a wrong token: %v", err)
	}

	// With the bot stopped, check opens the file itself.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m.Server, m.DB, m.Redis = nil, nil, nil
	out.Reset()
	errs.Reset()
	if err := runCheck(context.Background(), nil, &out, &errs); err != nil {
		t.Fatalf("check offline: %v\n%s", err, errs.String())
	}
	if strings.Contains(errs.String(), "in use") {
		t.Errorf("offline check went through the server:\n%s", errs.String())
	}

	// Reports gone behind the tallies' back: check lists what differs and
	// says what kinds of counts those lines are.
	bdb, err := bolt.Open(m.Config.Storage.Path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket([]byte("reports")) })
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runCheck(context.Background(), nil, &out, &errs); !errors.Is(err, errExit1) {
		t.Fatalf("check of a store without its reports: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "leaflets: stored 400, recomputed 0") ||
		!regexp.MustCompile(`\d+ stored counts differ from their reports \(tallies; "households": `).MatchString(out.String()) {
		t.Errorf("check output:\n%s", out.String())
	}
}

func TestRunUnknownCommand(t *testing.T) {
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"frobnicate"}, &out, &errs); !errors.Is(err, errExit1) {
		t.Errorf("err = %v", err)
	}
	if !strings.Contains(errs.String(), "unknown command") || !strings.Contains(errs.String(), "gridbot serve") {
		t.Errorf("stderr:\n%s", errs.String())
	}
}

func (c *chatter) bindDemoForTest(t *testing.T) error {
	t.Helper()
	var out bytes.Buffer
	c.out = &out
	c.client.HTTP = http.DefaultClient
	c.msgID = 1000
	err := c.bindDemo(context.Background())
	if err == nil && !strings.Contains(out.String(), "绑定成功") {
		t.Fatalf("bind: %s", out.String())
	}
	return err
}

func mustScope(t *testing.T, s string) flows.Scope {
	t.Helper()
	sc, err := flows.ParseScope(s)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}
