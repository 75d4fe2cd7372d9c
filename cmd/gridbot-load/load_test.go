package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gridbot/bot/wxtest"
)

// The load generator is tested against the real gridbot binary, built once
// here and run as "gridbot serve" on a temp store, exactly as
// scripts/bench-pinned runs it: the generator only ever talks HTTP to it.

var gridbotBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gridbot-load-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gridbotBin = filepath.Join(dir, "gridbot")
	out, err := exec.Command("go", "build", "-o", gridbotBin, "gridbot/cmd/gridbot").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building gridbot: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	testAPIToken = "load-test-api-token"
	testAESKey   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	testAppID    = "wxloadtest"
)

// gridbotProc is "gridbot serve" on a free port and a temp store.
type gridbotProc struct {
	t    *testing.T
	addr string
	env  []string
	cmd  *exec.Cmd
	logs bytes.Buffer
}

// startGridbot runs "gridbot serve" with env added and returns its base
// URL once /healthz answers.
func startGridbot(t *testing.T, env ...string) string {
	return newGridbot(t, env...).URL()
}

func newGridbot(t *testing.T, env ...string) *gridbotProc {
	t.Helper()
	g := &gridbotProc{t: t, addr: freeAddr(t)}
	g.env = append(os.Environ(),
		"GRIDBOT_HTTP_ADDR="+g.addr,
		"GRIDBOT_STORAGE_PATH="+filepath.Join(t.TempDir(), "gridbot.db"),
		"GRIDBOT_API_TOKEN="+testAPIToken,
		"GRIDBOT_LIMITS_PER_USER_PER_MINUTE=0",
		"GRIDBOT_LOG_LEVEL=warn",
		"GRIDBOT_REDIS_ADDR=", // embedded sessions, whatever the environment says
	)
	g.env = append(g.env, env...)
	t.Cleanup(func() {
		if g.cmd != nil {
			g.cmd.Process.Signal(syscall.SIGTERM)
			g.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("gridbot's log:\n%s", g.logs.String())
		}
	})
	if err := g.start(); err != nil {
		t.Fatal(err)
	}
	return g
}

// start runs the server on its address and store and waits for /healthz.
func (g *gridbotProc) start() error {
	cmd := exec.Command(gridbotBin, "serve")
	cmd.Env = g.env
	cmd.Stdout, cmd.Stderr = &g.logs, &g.logs
	if err := cmd.Start(); err != nil {
		return err
	}
	g.cmd = cmd
	return waitHealthy(g.URL())
}

// kill9 kills the server with SIGKILL: no drain, no clean close of the store.
func (g *gridbotProc) kill9() error {
	if err := g.cmd.Process.Kill(); err != nil {
		return err
	}
	g.cmd.Wait()
	g.cmd = nil
	return nil
}

func (g *gridbotProc) URL() string { return "http://" + g.addr }

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func waitHealthy(base string) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no healthy server at %s after 20s (last error: %v)", base, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func shanghai(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// A short run against the real gridbot, in each mix and both modes:
// every reply checked, none wrong, and the tally gained exactly what the
// acknowledged reports count.
func TestRunAgainstGridbot(t *testing.T) {
	for _, tc := range []struct {
		name string
		mix  string
		safe bool
	}{
		{"oneline/plain", "oneline", false},
		{"full/safe", "full", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var env []string
			cfg := Config{APIToken: testAPIToken, WeChatToken: "gridbot", Users: 4, Duration: 2 * time.Second,
				Mix: tc.mix, Zone: shanghai(t)}
			if tc.safe {
				// Safe mode needs an AppID, which takes the bot out of local
				// mode; its pushes go nowhere (no late answers expected here).
				env = []string{"GRIDBOT_WECHAT_APP_ID=" + testAppID, "GRIDBOT_WECHAT_APP_SECRET=unused",
					"GRIDBOT_WECHAT_ENCODING_AES_KEY=" + testAESKey, "GRIDBOT_WECHAT_API_BASE=http://127.0.0.1:1"}
				cfg.AESKey, cfg.AppID = testAESKey, testAppID
			}
			cfg.Server = startGridbot(t, env...)
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Failed() || res.Late > 0 || res.Skipped != "" {
				t.Fatalf("errors %v (e.g. %q), late %d, mismatch %q, skipped %q", res.Errors, res.Samples, res.Late, res.Mismatch, res.Skipped)
			}
			if res.Messages < 20 || res.OK != res.Messages || len(res.Lat) != res.Messages {
				t.Fatalf("messages %d, as expected %d, timed %d: want every one of at least 20 checked and timed", res.Messages, res.OK, len(res.Lat))
			}
			gained := res.After["visit"] - res.Before["visit"]
			if gained == 0 || gained != res.Acked["visit"] {
				t.Fatalf("visit gained %v, acknowledged %v", gained, res.Acked["visit"])
			}
			if res.Acked["campaign"] == 0 || res.After["leaflets"]-res.Before["leaflets"] != 35*res.Acked["campaign"] {
				t.Fatalf("campaigns acknowledged %v, leaflets gained %v: want 35 each", res.Acked["campaign"],
					res.After["leaflets"]-res.Before["leaflets"])
			}
		})
	}
}

// kill -9 in the middle of a run, and a restart on the same store: every
// report acknowledged with ✅ before the kill is in the tally afterwards,
// and none is counted twice (the generator's check, with the requests the
// kill cut off as "may or may not have saved").
func TestKill9LosesNoAcknowledgedReport(t *testing.T) {
	g := newGridbot(t)
	sending := make(chan struct{})
	progress := writerFunc(func(p []byte) {
		if bytes.Contains(p, []byte("sending for")) {
			close(sending)
		}
	})
	restarted := make(chan error, 1)
	go func() {
		<-sending
		time.Sleep(700 * time.Millisecond)
		if err := g.kill9(); err != nil {
			restarted <- err
			return
		}
		time.Sleep(300 * time.Millisecond)
		restarted <- g.start()
	}()
	res, err := Run(context.Background(), Config{Server: g.URL(), APIToken: testAPIToken, WeChatToken: "gridbot",
		Users: 8, Duration: 2500 * time.Millisecond, Mix: "oneline", Zone: shanghai(t), Progress: progress})
	if rerr := <-restarted; rerr != nil {
		t.Fatalf("restart: %v", rerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Mismatch) > 0 || res.Skipped != "" {
		t.Fatalf("after kill -9: %q %s", res.Mismatch, res.Skipped)
	}
	if res.Errors[errTransport] == 0 || res.Acked["visit"] == 0 {
		t.Fatalf("errors %v, acknowledged %v: want reports acknowledged and requests cut off by the kill", res.Errors, res.Acked)
	}
	// The lower bound, spelled out: no acknowledged report was lost.
	if got := res.After["visit"] - res.Before["visit"]; got < res.Acked["visit"] {
		t.Fatalf("visit gained %v, acknowledged %v", got, res.Acked["visit"])
	}
	t.Logf("acknowledged %v visits and %v campaigns; %d requests cut off", res.Acked["visit"], res.Acked["campaign"], res.Errors[errTransport])
}

// writerFunc is an io.Writer calling f with every write.
type writerFunc func(p []byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }

// Reports the run did not send (another worker's, during the run) make the
// tally gain more than the acknowledged reports count: the check fails, so
// it is not a check that always passes.
func TestTallyCheckCatchesUncountedReports(t *testing.T) {
	base := startGridbot(t)
	// Another worker, bound directly through the admin API, reports through
	// a signing client that is not the generator's own (bot/wxtest's).
	body, _ := json.Marshal(map[string]string{"openid": "other-worker", "name": "王芳", "community": "阳光社区", "grid": "3", "role": "worker"})
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/workers", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testAPIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("binding the other worker: %s", resp.Status)
	}
	other := &wxtest.Client{URL: base + "/wechat", Token: "gridbot"}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var otherErr error
	wg.Go(func() {
		time.Sleep(300 * time.Millisecond) // after the tally was first read
		for i := range 5 {
			reply, err := other.Do(other.Text("other-worker", fmt.Sprintf("走访 9-9-%d 慢病 150/95", 901+i), time.Now().UnixNano()))
			if err == nil && !strings.HasPrefix(reply, "✅ 已记录入户走访") {
				err = fmt.Errorf("other worker's report answered %q", reply)
			}
			if err != nil {
				otherErr = err
				return
			}
		}
	})
	res, err := Run(ctx, Config{Server: base, APIToken: testAPIToken, WeChatToken: "gridbot", Users: 2,
		Duration: 1500 * time.Millisecond, Mix: "oneline", Zone: shanghai(t)})
	wg.Wait()
	if otherErr != nil {
		t.Fatal(otherErr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		t.Fatalf("errors %v: %q", res.Errors, res.Samples)
	}
	want := fmt.Sprintf("visit gained %s, acknowledged saves count %s", fmtNum(res.Acked["visit"]+5), fmtNum(res.Acked["visit"]))
	if !res.Failed() || len(res.Mismatch) == 0 || res.Mismatch[0] != want {
		t.Fatalf("mismatch %q, want first %q", res.Mismatch, want)
	}
}

// Setup failures stop the run with a reason and send nothing: a refused
// API token, and plain requests to a safe-mode bot.
func TestRunRefusesToStart(t *testing.T) {
	base := startGridbot(t, "GRIDBOT_WECHAT_APP_ID="+testAppID, "GRIDBOT_WECHAT_APP_SECRET=unused",
		"GRIDBOT_WECHAT_ENCODING_AES_KEY="+testAESKey, "GRIDBOT_WECHAT_API_BASE=http://127.0.0.1:1")
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"wrong API token", Config{APIToken: "wrong", AESKey: testAESKey, AppID: testAppID}, "admin API refused the token"},
		{"no API token", Config{AESKey: testAESKey, AppID: testAppID}, "-token (the bot's api.token) is required"},
		{"plain to safe mode", Config{APIToken: testAPIToken}, "check -wechat-token, and -aes"},
		{"wrong wechat token", Config{APIToken: testAPIToken, WeChatToken: "other", AESKey: testAESKey, AppID: testAppID}, "refused the signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Server, cfg.Users, cfg.Duration, cfg.Mix, cfg.Zone = base, 2, time.Second, "oneline", shanghai(t)
			if cfg.WeChatToken == "" {
				cfg.WeChatToken = "gridbot"
			}
			res, err := Run(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
			if res != nil && res.Messages > 0 {
				t.Fatalf("%d messages sent after a failed start", res.Messages)
			}
		})
	}
}

// The echo target: the SDK's own server, in plain and safe mode, repeats
// every text, and the generator checks that it did.
func TestRunAgainstSDKEcho(t *testing.T) {
	for _, key := range []string{"", testAESKey} {
		t.Run(modeName(key), func(t *testing.T) {
			appID := ""
			if key != "" {
				appID = testAppID
			}
			ctx, cancel := context.WithCancel(context.Background())
			addrc := make(chan string, 1)
			done := make(chan error, 1)
			go func() { done <- serveEcho(ctx, "127.0.0.1:0", "echo-token", appID, key, func(a string) { addrc <- a }) }()
			var addr string
			select {
			case addr = <-addrc:
			case err := <-done:
				t.Fatal(err)
			}
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Error(err)
				}
			}()
			res, err := Run(context.Background(), Config{Server: addr, WeChatToken: "echo-token", AESKey: key, AppID: appID,
				Users: 4, Duration: 500 * time.Millisecond, Mix: "full", Echo: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Failed() || res.Messages < 20 || res.OK != res.Messages {
				t.Fatalf("messages %d, as expected %d, errors %v (e.g. %q)", res.Messages, res.OK, res.Errors, res.Samples)
			}
			// A wrong token: every request refused, the run does not start.
			_, err = Run(context.Background(), Config{Server: addr, WeChatToken: "wrong", AESKey: key, AppID: appID,
				Users: 1, Duration: time.Second, Mix: "oneline", Echo: true})
			if err == nil || !strings.Contains(err.Error(), "status 400") {
				t.Fatalf("wrong token: err %v, want the SDK's 400", err)
			}
		})
	}
}

// Replies are read as WeChat reads them: CDATA, plain text, entities.
func TestElement(t *testing.T) {
	for _, tc := range []struct {
		doc, tag, want string
		ok             bool
	}{
		{"<xml><Content><![CDATA[✅ 已保存]]></Content></xml>", "Content", "✅ 已保存", true},
		{"<xml><Content><![CDATA[a]]]]><![CDATA[>b]]></Content></xml>", "Content", "a]]>b", true},
		{"<xml><TimeStamp>1700000000</TimeStamp></xml>", "TimeStamp", "1700000000", true},
		{"<xml><Content>a &lt;b&gt; &amp; c</Content></xml>", "Content", "a <b> & c", true},
		{"<xml><Content></Content></xml>", "Content", "", true},
		{"<xml><Other>x</Other></xml>", "Content", "", false},
		{"<xml><Content><![CDATA[open", "Content", "", false},
	} {
		got, ok := element([]byte(tc.doc), tc.tag)
		if got != tc.want || ok != tc.ok {
			t.Errorf("element(%q, %q) = %q, %v; want %q, %v", tc.doc, tc.tag, got, ok, tc.want, tc.ok)
		}
	}
}

// Each reply is checked against the message it answers: a ✅ with a count
// other than the one sent is an error, not a save; "success" is late; a
// reply to someone else is malformed. The bot here is a stand-in that
// answers from a list, since the real one does not give wrong answers on
// demand.
func TestEveryReplyIsChecked(t *testing.T) {
	var mu sync.Mutex
	replies := []string{
		"✅ 已记录入户走访：5-1-101，慢病随访，血压 150/95。本月你已走访 1 户（慢病随访 1）。",
		"✅ 已记录宣传活动：资料 36 份，参与 12 人。本月累计：宣传 1 次。", // 35 were sent
		"success",
		"to:someone-else",
		"✅ 已记录入户走访：5-1-103，慢病随访，血压 150/95。本月你已走访 2 户（慢病随访 2）。",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reply := replies[0]
		replies = replies[1:]
		mu.Unlock()
		to := r.URL.Query().Get("openid")
		if reply == "success" {
			io.WriteString(w, "success")
			return
		}
		if s, ok := strings.CutPrefix(reply, "to:"); ok {
			to, reply = s, "✅"
		}
		fmt.Fprintf(w, "<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[gh]]></FromUserName>"+
			"<CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content></xml>", to, reply)
	}))
	defer srv.Close()
	sig, err := newSigner("/wechat", "gridbot", "", "")
	if err != nil {
		t.Fatal(err)
	}
	l := &loader{cfg: Config{Mix: "oneline", Timeout: time.Second}, sig: sig, tag: 5}
	u := &user{openID: "u0", rnd: rand.New(rand.NewPCG(1, 2)), conn: &wireConn{addr: srv.Listener.Addr().String()}, errs: map[string]int{},
		acked: map[string]float64{}, maybe: map[string]float64{}}
	for range 5 {
		l.next(u)
	}
	if u.ok != 2 || u.late != 1 || u.errs[errUnchecked] != 1 || u.errs[errMalformed] != 1 || len(u.errs) != 2 {
		t.Fatalf("ok %d, late %d, errors %v (%q): want 2 ok, 1 late, 1 wrong, 1 malformed", u.ok, u.late, u.errs, u.samples)
	}
	if u.acked["visit"] != 2 || u.acked["campaign"] != 0 || len(u.acked) != 2 {
		t.Fatalf("acknowledged %v: want the first and the last visit", u.acked)
	}
	// The late visit, the wrong and the misaddressed campaigns may or may not have saved.
	if u.maybe["visit"] != 1 || u.maybe["campaign"] != 2 || u.maybe["leaflets"] != 70 {
		t.Fatalf("maybe %v: want a visit and two campaigns", u.maybe)
	}
	if !strings.Contains(u.samples[0], "资料 36 份") {
		t.Fatalf("first sample %q: want the wrong reply quoted", u.samples[0])
	}
}
