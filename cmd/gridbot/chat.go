package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"gridbot/bot/wxclient"
)

const chatHelp = `输入文字即发送给机器人，如：走访、本月统计、帮助。
特殊命令：
  /voice 文字        以语音消息发送（文字作为语音识别结果）
  /loc 纬度,经度 地点  发送位置，如 /loc 30.27,120.15 菜市场
  /img URL           发送图片
  /click KEY         点击菜单，如 /click STATS_MONTH
  /sub  /unsub       关注 / 取消关注
  /scan 场景值        扫带参数二维码，如后台登录页显示的 /scan login_…
  /subscan 场景值     未关注时扫码（先关注再带场景值）
  /quit              退出（也可 Ctrl-D）
`

// chatter is one WeChat user talking to a running gridbot.
type chatter struct {
	client *wxclient.Client
	server string // base URL
	token  string // admin API token, for the local outbox
	seen   string // file keeping the last push shown, "" when none
	openID string
	out    io.Writer
	mu     sync.Mutex // serialises printing
	msgID  int64
}

func runChat(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "the bot's config `file`, for its token and EncodingAESKey (none: the defaults)")
	server := fs.String("server", "", "base `URL` of the running bot (default: from http.addr of the config)")
	openID := fs.String("openid", "demo-worker", "the WeChat `openid` to talk as")
	aes := fs.Bool("aes", false, "send in safe mode (encrypted), with wechat.encoding_aes_key of the config")
	noBind := fs.Bool("no-bind", false, "do not bind the user automatically in local mode (to try a real invite: 绑定 <code>)")
	token := fs.String("token", "", "admin API `token` to read pushes with (default: api.token, else the one serve generated beside the store)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: gridbot chat [-server URL] [-openid ID] [-aes] [-no-bind]

Talks to a running "gridbot serve" as one WeChat user: every line you type
becomes a properly signed WeChat message, replies print as the phone shows
them, and pushes to this user (local mode) appear inline, including those
that arrived since chat last ran (a reminder run while it was closed).
Against a local server it binds the user to a demo community on the first
run; -no-bind leaves the user unbound, to try an invite from the admin API.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := ReadConfigFile(*configPath, environ())
	if err != nil {
		return err
	}
	base := *server
	if base == "" {
		base = localURL(cfg.HTTP.Addr)
	}
	base = strings.TrimRight(base, "/")
	c := &chatter{
		client: &wxclient.Client{URL: base + "/wechat", Token: cfg.WeChat.Token, AppID: cfg.WeChat.AppID,
			HTTP: &http.Client{Timeout: 10 * time.Second}},
		server: base, openID: *openID, out: stdout,
		token: *token, seen: chatSeenPath(*openID),
		msgID: time.Now().UnixMicro(),
	}
	if c.token == "" {
		c.token = cfg.API.Token
	}
	if c.token == "" {
		c.token = readTokenFile(&cfg)
	}
	if *aes {
		if cfg.WeChat.EncodingAESKey == "" {
			return fmt.Errorf("-aes needs wechat.encoding_aes_key in the config")
		}
		c.client.EncodingAESKey = cfg.WeChat.EncodingAESKey
	}
	if err := c.ping(ctx); err != nil {
		return fmt.Errorf("no gridbot at %s (%v): start it first with: go run ./cmd/gridbot serve", base, err)
	}
	c.printf("已连接 %s，身份 %s。输入 /help 查看命令。\n", base, c.openID)
	local := c.localMode(ctx)
	if local && !*noBind {
		if err := c.bindDemo(ctx); err != nil {
			c.printf("(自动绑定失败：%v)\n", err)
		}
	}
	if local && c.token == "" {
		c.printf("(没有找到 API 令牌，看不到推送：请用 -token，或在服务的目录里运行)\n")
	} else if local {
		pollCtx, stopPolling := context.WithCancel(ctx)
		defer stopPolling() // the chat ended: no more pushes to print
		go c.pollOutbox(pollCtx, c.catchUp(ctx))
	}
	return c.loop(ctx, stdin)
}

func (c *chatter) printf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, format, args...)
}

func (c *chatter) get(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.server+path, nil)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return c.client.HTTP.Do(req)
}

func (c *chatter) ping(ctx context.Context) error {
	resp, err := c.get(ctx, "/healthz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz answered %s", resp.Status)
	}
	return nil
}

// localMode reports whether the server keeps a local outbox (no WeChat
// credentials); it answers 401 without the right token.
func (c *chatter) localMode(ctx context.Context) bool {
	resp, err := c.get(ctx, "/local/outbox?openid="+c.openID+"&after="+strconv.FormatUint(1<<62, 10))
	if err != nil {
		return false
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized && c.token != "" {
		c.printf("(API 令牌不对，看不到推送：请用 -token)\n")
		c.token = ""
	}
	return resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized
}

// bindDemo asks the local server for a demo invite and binds with it
// through the webhook, as a new worker would.
func (c *chatter) bindDemo(ctx context.Context) error {
	body, _ := json.Marshal(map[string]string{"openid": c.openID})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.server+"/local/invite", bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := c.client.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var got struct {
		Bound bool   `json:"bound"`
		Code  string `json:"code"`
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("/local/invite answered %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		return err
	}
	if got.Bound || got.Code == "" {
		return nil
	}
	c.printf("我: 绑定 %s\n", got.Code)
	return c.send(wxclient.Message{MsgType: "text", Content: "绑定 " + got.Code})
}

func (c *chatter) loop(ctx context.Context, stdin io.Reader) error {
	in := bufio.NewScanner(stdin)
	for {
		c.printf("> ")
		if !in.Scan() {
			c.printf("\n")
			return in.Err()
		}
		if ctx.Err() != nil {
			return nil
		}
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		m, quit, err := parseChatLine(line)
		if quit {
			return nil
		}
		if err != nil {
			c.printf("%v\n", err)
			continue
		}
		if m == nil {
			c.printf("%s", chatHelp)
			continue
		}
		if err := c.send(*m); err != nil {
			c.printf("(发送失败：%v)\n", err)
		}
	}
}

// parseChatLine turns a typed line into a message; nil, nil for /help.
func parseChatLine(line string) (m *wxclient.Message, quit bool, err error) {
	if !strings.HasPrefix(line, "/") {
		return &wxclient.Message{MsgType: "text", Content: line}, false, nil
	}
	cmd, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch cmd {
	case "/quit", "/exit":
		return nil, true, nil
	case "/help":
		return nil, false, nil
	case "/voice":
		return &wxclient.Message{MsgType: "voice", Recognition: arg, MediaID: "local-voice", Format: "amr"}, false, nil
	case "/img":
		if arg == "" {
			arg = "http://127.0.0.1/local.jpg"
		}
		return &wxclient.Message{MsgType: "image", PicURL: arg, MediaID: "local-image"}, false, nil
	case "/loc":
		coords, label, _ := strings.Cut(arg, " ")
		lat, lng, ok := strings.Cut(coords, ",")
		x, err1 := strconv.ParseFloat(lat, 64)
		y, err2 := strconv.ParseFloat(lng, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, false, fmt.Errorf("用法：/loc 纬度,经度 地点，如 /loc 30.27,120.15 菜市场")
		}
		return &wxclient.Message{MsgType: "location", LocationX: x, LocationY: y, Scale: 15, Label: label}, false, nil
	case "/click":
		if arg == "" {
			return nil, false, fmt.Errorf("用法：/click KEY，如 /click STATS_MONTH")
		}
		return &wxclient.Message{MsgType: "event", Event: "CLICK", EventKey: arg}, false, nil
	case "/sub":
		return &wxclient.Message{MsgType: "event", Event: "subscribe"}, false, nil
	case "/scan", "/subscan":
		if arg == "" || strings.ContainsAny(arg, " \t") || len(arg) > 64 {
			return nil, false, fmt.Errorf("用法：%s 场景值，如 %s login_abc（场景值见后台登录页或邀请页）", cmd, cmd)
		}
		if cmd == "/subscan" {
			return &wxclient.Message{MsgType: "event", Event: "subscribe", EventKey: "qrscene_" + arg}, false, nil
		}
		return &wxclient.Message{MsgType: "event", Event: "SCAN", EventKey: arg}, false, nil
	case "/unsub":
		return &wxclient.Message{MsgType: "event", Event: "unsubscribe"}, false, nil
	}
	return nil, false, fmt.Errorf("未知命令 %s，输入 /help 查看", cmd)
}

// send signs (and in safe mode encrypts) m as WeChat would and prints the reply.
func (c *chatter) send(m wxclient.Message) error {
	m.FromUserName = c.openID
	m.CreateTime = time.Now().Unix()
	if m.MsgType != "event" {
		c.msgID++
		m.MsgID = c.msgID
	}
	reply, err := c.client.Do(c.client.Message(m))
	if err != nil {
		return err
	}
	if reply != "" {
		c.printf("机器人: %s\n", strings.ReplaceAll(reply, "\n", "\n        "))
	}
	return nil
}

// catchUp prints the pushes to this user that came since chat last ran
// for them (the first run shows none of the older ones) and returns the
// sequence number to poll after.
func (c *chatter) catchUp(ctx context.Context) uint64 {
	after, ok := c.lastSeen()
	if !ok {
		if msgs, err := c.outbox(ctx, 0); err == nil && len(msgs) > 0 {
			after = msgs[len(msgs)-1].Seq
			c.saveSeen(after)
		}
	}
	if msgs, err := c.outbox(ctx, after); err == nil && len(msgs) > 0 {
		c.printf("上次之后的推送：")
		after = c.show(msgs)
		c.printf("\n")
	}
	return after
}

// pollOutbox prints pushes to this user (late answers, reminders) as they
// arrive.
func (c *chatter) pollOutbox(ctx context.Context, after uint64) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		msgs, err := c.outbox(ctx, after)
		if err != nil || len(msgs) == 0 {
			continue
		}
		after = c.show(msgs)
	}
}

// show prints pushes and remembers the last one shown; it returns its Seq.
func (c *chatter) show(msgs []outboxMessage) uint64 {
	for _, m := range msgs {
		c.printf("\n📩 推送: %s\n> ", strings.ReplaceAll(m.Text, "\n", "\n        "))
	}
	last := msgs[len(msgs)-1].Seq
	c.saveSeen(last)
	return last
}

// chatSeenPath is the file keeping the last push chat showed to openID,
// in the user's cache directory; "" when there is none.
func chatSeenPath(openID string) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "gridbot", "chat-"+url.PathEscape(openID)+".seen")
}

func (c *chatter) lastSeen() (uint64, bool) {
	if c.seen == "" {
		return 0, false
	}
	b, err := os.ReadFile(c.seen)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}

func (c *chatter) saveSeen(seq uint64) {
	if c.seen == "" {
		return
	}
	os.MkdirAll(filepath.Dir(c.seen), 0o700)
	os.WriteFile(c.seen, []byte(strconv.FormatUint(seq, 10)+"\n"), 0o600)
}

type outboxMessage struct {
	Seq  uint64 `json:"seq"`
	Text string `json:"text"`
}

func (c *chatter) outbox(ctx context.Context, after uint64) ([]outboxMessage, error) {
	resp, err := c.get(ctx, "/local/outbox?openid="+url.QueryEscape(c.openID)+"&after="+strconv.FormatUint(after, 10))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/local/outbox: %s", resp.Status)
	}
	var msgs []outboxMessage
	return msgs, json.NewDecoder(resp.Body).Decode(&msgs)
}

func environ() []string { return os.Environ() }
