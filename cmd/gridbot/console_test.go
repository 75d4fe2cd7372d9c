package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"gridbot/bot/wxtest"
)

// In local mode the console works against local pieces: `后台` answers a
// link to this server, the login page's scene is "scanned" with /scan in
// the chat client, and web authorization is a local page.
func TestConsoleLocalMode(t *testing.T) {
	m := startMain(t)
	base := m.URL()
	wx := &wxtest.Client{URL: base + "/wechat", Token: m.Config.WeChat.Token}
	openID := "console-" + t.Name()
	var out bytes.Buffer
	if err := runChat(t.Context(), []string{"-server", base, "-openid", openID}, strings.NewReader("我叫 张三\n/quit\n"), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	send := func(line string) string {
		t.Helper()
		msg, _, err := parseChatLine(line)
		if err != nil {
			t.Fatal(err)
		}
		msg.FromUserName, msg.CreateTime = openID, time.Now().UnixNano()%1e9
		if msg.MsgType != "event" {
			msg.MsgID = time.Now().UnixNano()
		}
		reply, err := wx.Do(wx.Message(*msg))
		if err != nil {
			t.Fatal(err)
		}
		return reply
	}
	newClient := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar, Timeout: 10 * time.Second}
	}
	get := func(c *http.Client, u string) (int, string, string) {
		t.Helper()
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Request.URL.Path, string(b)
	}

	// 后台: a one-time link to this very server.
	link := regexp.MustCompile(`http://\S+/console/link/\S+`).FindString(send("后台"))
	if !strings.HasPrefix(link, base+"/console/link/") {
		t.Fatalf("后台 link %q, want one on %s", link, base)
	}
	if status, path, body := get(newClient(), link); status != 200 || path != "/console/" || !strings.Contains(body, "张三") {
		t.Fatalf("link: %d at %s", status, path)
	}

	// The login page shows the line to type into the chat client.
	pc := newClient()
	_, _, page := get(pc, base+"/console/login")
	scan := regexp.MustCompile(`/scan login_[A-Za-z0-9]+`).FindString(page)
	if scan == "" {
		t.Fatalf("login page has no /scan line: %.500s", page)
	}
	if reply := send(scan); !strings.Contains(reply, "已登录") {
		t.Fatalf("%s answered %q", scan, reply)
	}
	_, _, poll := get(pc, base+"/console/login/poll")
	var p struct {
		Done bool
		Next string
	}
	if json.Unmarshal([]byte(poll), &p); !p.Done {
		t.Fatalf("poll after /scan: %s", poll)
	}
	if status, _, _ := get(pc, base+p.Next); status != 200 {
		t.Errorf("after /scan login: %d", status)
	}

	// Local web authorization: pick the worker on the local page.
	c := newClient()
	status, path, page := get(c, base+"/console/login/oauth?next=/console/todo")
	if status != 200 || path != "/console/local/authorize" || !strings.Contains(page, "张三") {
		t.Fatalf("local authorize page: %d at %s", status, path)
	}
	form := url.Values{"openid": {openID}}
	for _, name := range []string{"redirect_uri", "state"} {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no %s on the local authorize page", name)
		}
		form.Set(name, strings.ReplaceAll(m[1], "&amp;", "&"))
	}
	resp, err := c.PostForm(base+"/console/local/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/console/todo" {
		t.Errorf("after local authorization: %d at %s", resp.StatusCode, resp.Request.URL.Path)
	}
}

func TestParseChatScan(t *testing.T) {
	m, _, err := parseChatLine("/scan login_abc")
	if err != nil || m.Event != "SCAN" || m.EventKey != "login_abc" {
		t.Errorf("/scan: %+v %v", m, err)
	}
	m, _, err = parseChatLine("/subscan inv_ABCDEF")
	if err != nil || m.Event != "subscribe" || m.EventKey != "qrscene_inv_ABCDEF" {
		t.Errorf("/subscan: %+v %v", m, err)
	}
	if _, _, err := parseChatLine("/scan"); err == nil || !strings.Contains(err.Error(), "用法") {
		t.Errorf("/scan without a scene: %v", err)
	}
}
