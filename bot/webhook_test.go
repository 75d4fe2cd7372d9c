package bot

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"gridbot/bot/wxtest"
	"gridbot/flows"
	"gridbot/storage"
)

func withQuery(req *http.Request, edit func(url.Values)) *http.Request {
	q := req.URL.Query()
	edit(q)
	req.URL.RawQuery = q.Encode()
	return req
}

// signedPost is a POST whose query is signed for token but whose body is
// given as is (for safe-mode envelopes built by hand).
func signedPost(token, body string, safeEncrypt string) *http.Request {
	c := &wxtest.Client{Token: token}
	q := c.Query()
	if safeEncrypt != "" {
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", util.Signature(token, q.Get("timestamp"), q.Get("nonce"), safeEncrypt))
	}
	return httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), strings.NewReader(body))
}

func envelope(enc string) string {
	return "<xml><ToUserName><![CDATA[gh_gridbot]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"
}

func TestWebhookRefusesBadRequests(t *testing.T) {
	now := time.Now()
	garbage := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 64))
	tests := []struct {
		label  string
		safe   bool // the webhook is in safe mode
		req    func() *http.Request
		status int
	}{
		{"no signature", false, func() *http.Request {
			return withQuery(client(false).Text("oA", "hi", 1), func(q url.Values) { q.Del("signature") })
		}, 401},
		{"wrong signature", false, func() *http.Request {
			return withQuery(client(false).Text("oA", "hi", 1), func(q url.Values) { q.Set("signature", strings.Repeat("a", 40)) })
		}, 401},
		{"signed with another token", false, func() *http.Request {
			c := client(false)
			c.Token = "another"
			return c.Text("oA", "hi", 1)
		}, 401},
		{"no timestamp", false, func() *http.Request {
			return withQuery(client(false).Text("oA", "hi", 1), func(q url.Values) { q.Del("timestamp") })
		}, 401},
		{"no nonce", false, func() *http.Request {
			return withQuery(client(false).Text("oA", "hi", 1), func(q url.Values) { q.Del("nonce") })
		}, 401},
		{"timestamp not a number", false, func() *http.Request {
			return withQuery(client(false).Text("oA", "hi", 1), func(q url.Values) {
				q.Set("timestamp", "soon")
				q.Set("signature", util.Signature(testToken, "soon", q.Get("nonce")))
			})
		}, 401},
		{"timestamp 6 minutes old", false, func() *http.Request {
			c := client(false)
			c.Now = func() time.Time { return now.Add(-6 * time.Minute) }
			return c.Text("oA", "hi", 1)
		}, 401},
		{"timestamp 6 minutes ahead", false, func() *http.Request {
			c := client(false)
			c.Now = func() time.Time { return now.Add(6 * time.Minute) }
			return c.Text("oA", "hi", 1)
		}, 401},
		{"safe: no msg_signature", true, func() *http.Request {
			return withQuery(client(true).Text("oA", "hi", 1), func(q url.Values) { q.Del("msg_signature") })
		}, 401},
		{"safe: wrong msg_signature", true, func() *http.Request {
			return withQuery(client(true).Text("oA", "hi", 1), func(q url.Values) { q.Set("msg_signature", strings.Repeat("b", 40)) })
		}, 401},
		{"safe: body swapped under a valid query", true, func() *http.Request {
			a, b := client(true).Text("oA", "hi", 1), client(true).Text("oA", "转账", 2)
			a.Body = b.Body
			return a
		}, 401},
		{"safe: stale timestamp", true, func() *http.Request {
			c := client(true)
			c.Now = func() time.Time { return now.Add(-10 * time.Minute) }
			return c.Text("oA", "hi", 1)
		}, 401},
		{"openid of another user", false, func() *http.Request {
			return withQuery(client(false).Text("oA", "hi", 1), func(q url.Values) { q.Set("openid", "oMallory") })
		}, 400},
		{"safe: openid of another user", true, func() *http.Request {
			return withQuery(client(true).Text("oA", "hi", 1), func(q url.Values) { q.Set("openid", "oMallory") })
		}, 400},
		{"malformed XML", false, func() *http.Request { return client(false).Post([]byte("<xml><FromUserName>oA")) }, 400},
		{"not XML", false, func() *http.Request { return client(false).Post([]byte("hello")) }, 400},
		{"empty body", false, func() *http.Request { return client(false).Post([]byte{}) }, 400},
		{"no sender", false, func() *http.Request {
			return client(false).Post([]byte("<xml><MsgType><![CDATA[text]]></MsgType><Content>hi</Content><MsgId>9</MsgId></xml>"))
		}, 400},
		{"safe: plain request (unsigned body)", true, func() *http.Request { return client(false).Text("oA", "hi", 1) }, 401},
		{"safe: no msg_signature and a malformed envelope", true, func() *http.Request {
			return withQuery(signedPost(testToken, "<xml><Encrypt>", "x"), func(q url.Values) { q.Del("msg_signature") })
		}, 401},
		{"safe: malformed envelope", true, func() *http.Request { return signedPost(testToken, "<xml><Encrypt>", "x") }, 400},
		{"safe: Encrypt not base64", true, func() *http.Request {
			return signedPost(testToken, envelope("@@not base64@@"), "@@not base64@@")
		}, 400},
		{"safe: undecryptable Encrypt", true, func() *http.Request { return signedPost(testToken, envelope(garbage), garbage) }, 400},
		{"safe: encrypted for another AppID", true, func() *http.Request {
			c := client(true)
			c.AppID = "wx0000000000000000"
			return c.Text("oA", "hi", 1)
		}, 400},
		{"safe: decrypts to malformed XML", true, func() *http.Request { return client(true).Post([]byte("<xml><oops")) }, 400},
		{"safe request to a plain-mode webhook", false, func() *http.Request { return client(true).Text("oA", "hi", 1) }, 400},
		{"unknown encrypt_type", false, func() *http.Request {
			return withQuery(client(false).Text("oA", "hi", 1), func(q url.Values) { q.Set("encrypt_type", "rsa") })
		}, 400},
		{"body over 64 KiB", false, func() *http.Request {
			return client(false).Post([]byte("<xml>" + strings.Repeat("x", 64<<10) + "</xml>"))
		}, 413},
		{"body over 64 KiB without Content-Length", false, func() *http.Request {
			req := client(false).Post([]byte("<xml>" + strings.Repeat("x", 64<<10) + "</xml>"))
			req.ContentLength = -1
			return req
		}, 413},
		{"GET without echostr", false, func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/wechat?"+client(false).Query().Encode(), nil)
		}, 400},
		{"GET with wrong signature", false, func() *http.Request {
			return withQuery(client(false).Echo("123"), func(q url.Values) { q.Set("signature", "0") })
		}, 401},
		{"PUT", false, func() *http.Request {
			req := client(false).Text("oA", "hi", 1)
			req.Method = http.MethodPut
			return req
		}, 405},
		{"DELETE", false, func() *http.Request { return httptest.NewRequest(http.MethodDelete, "/wechat", nil) }, 405},
		{"HEAD", false, func() *http.Request { return httptest.NewRequest(http.MethodHead, "/wechat", nil) }, 405},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			h := newRecorder(nil)
			kv := &countingKV{KV: openDB(t).KV()}
			wh := newWebhook(t, h, kv, tt.safe, nil)
			rec := httptest.NewRecorder()
			wh.ServeHTTP(rec, tt.req())
			if rec.Code != tt.status {
				t.Fatalf("status %d (%s), want %d", rec.Code, strings.TrimSpace(rec.Body.String()), tt.status)
			}
			if body := strings.TrimSpace(rec.Body.String()); body != http.StatusText(tt.status) {
				t.Errorf("body %q, want %q", body, http.StatusText(tt.status))
			}
			if n := len(h.Calls()); n != 0 {
				t.Errorf("handler called %d times", n)
			}
			if n := kv.sets.Load(); n != 0 {
				t.Errorf("%d writes to the reply cache", n)
			}
		})
	}
}

func TestWebhookEcho(t *testing.T) {
	for _, safe := range []bool{false, true} {
		t.Run(fmt.Sprintf("safe=%v", safe), func(t *testing.T) {
			wh := newWebhook(t, newRecorder(nil), openDB(t).KV(), safe, nil)
			rec := httptest.NewRecorder()
			wh.ServeHTTP(rec, client(safe).Echo("5837397749683742137"))
			if rec.Code != 200 || rec.Body.String() != "5837397749683742137" {
				t.Fatalf("got %d %q, want 200 with the echostr", rec.Code, rec.Body.String())
			}
		})
	}
}

// TestPublishedVector checks the webhook's crypto path (DecodeAESKey and
// the SDK's AES functions it calls) against WeChat's published vector.
func TestPublishedVector(t *testing.T) {
	const cipher = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
	key, err := DecodeAESKey(testAESKey)
	if err != nil {
		t.Fatal(err)
	}
	got := base64.StdEncoding.EncodeToString(util.AESEncryptMsg([]byte("aaaabbbbccccdddd"), []byte("我是中文abcd123"), testAppID, key))
	if got != cipher {
		t.Fatalf("encrypt: %s, want %s", got, cipher)
	}
	ct, _ := base64.StdEncoding.DecodeString(cipher)
	random, msg, appID, err := util.AESDecryptMsg(ct, key)
	if err != nil || string(random) != "aaaabbbbccccdddd" || string(msg) != "我是中文abcd123" || string(appID) != testAppID {
		t.Fatalf("decrypt: %q %q %q %v", random, msg, appID, err)
	}
	// And a whole request of that account through the webhook.
	wh := newWebhook(t, newRecorder(nil), openDB(t).KV(), true, nil)
	rec := httptest.NewRecorder()
	wh.ServeHTTP(rec, client(true).Text("oVector", "我是中文abcd123", 77))
	reply, err := client(true).DecodeReply(rec.Result())
	if err != nil || reply != "收到：我是中文abcd123" {
		t.Fatalf("reply %q, %v", reply, err)
	}
}

func TestDecodeAESKey(t *testing.T) {
	tests := []struct {
		label, key string
		ok         bool
	}{
		{"valid", testAESKey, true},
		{"42 characters", testAESKey[:42], false},
		{"44 characters", testAESKey + "A", false},
		{"not base64", strings.Repeat("!", 43), false},
	}
	for _, tt := range tests {
		if _, err := DecodeAESKey(tt.key); (err == nil) != tt.ok {
			t.Errorf("%s: err %v", tt.label, err)
		}
	}
}

// describe is the answer of the round-trip tests: what the handler saw.
func describe(in flows.Inbound) (flows.Reply, error) {
	switch {
	case in.Type == "event" && in.Event == "LOCATION":
		return flows.Reply{}, nil // WeChat forbids replying to it
	case in.Location != nil:
		return flows.Reply{Text: fmt.Sprintf("位置 %.4f,%.4f %s", in.Location.Lat, in.Location.Lng, in.Location.Label)}, nil
	}
	return flows.Reply{Text: strings.Join([]string{in.Type, in.Text, in.Event, in.EventKey, in.PicURL, in.MediaID}, "|")}, nil
}

func TestWebhookRoundTrip(t *testing.T) {
	created := time.Now().Add(-time.Minute).Unix()
	tests := []struct {
		label   string
		req     func(c *wxtest.Client) *http.Request
		reply   string
		inbound flows.Inbound
	}{
		{"text", func(c *wxtest.Client) *http.Request {
			return c.Message(wxtest.Message{FromUserName: "oA", MsgType: "text", Content: "走访 3-2-201 慢病 150/95", MsgID: 101, CreateTime: created})
		}, "text|走访 3-2-201 慢病 150/95||||", flows.Inbound{MsgKey: "oA:101", OpenID: "oA", Type: "text", Text: "走访 3-2-201 慢病 150/95", At: time.Unix(created, 0)}},
		{"text with markup and ]]>", func(c *wxtest.Client) *http.Request {
			return c.Message(wxtest.Message{FromUserName: "oA", MsgType: "text", Content: "a]]>b<c>&amp;", MsgID: 102, CreateTime: created})
		}, "text|a]]>b<c>&amp;||||", flows.Inbound{MsgKey: "oA:102", OpenID: "oA", Type: "text", Text: "a]]>b<c>&amp;", At: time.Unix(created, 0)}},
		{"voice", func(c *wxtest.Client) *http.Request { return c.Voice("oA", "本月统计", "media-v", 103) },
			"voice|本月统计||||media-v", flows.Inbound{MsgKey: "oA:103", OpenID: "oA", Type: "voice", Text: "本月统计", MediaID: "media-v"}},
		{"voice without recognition", func(c *wxtest.Client) *http.Request { return c.Voice("oA", "", "media-w", 104) },
			"voice|||||media-w", flows.Inbound{MsgKey: "oA:104", OpenID: "oA", Type: "voice", MediaID: "media-w"}},
		{"image", func(c *wxtest.Client) *http.Request {
			return c.Image("oA", "http://mmbiz.example/pic.jpg", "media-i", 105)
		},
			"image||||http://mmbiz.example/pic.jpg|media-i", flows.Inbound{MsgKey: "oA:105", OpenID: "oA", Type: "image", PicURL: "http://mmbiz.example/pic.jpg", MediaID: "media-i"}},
		{"location", func(c *wxtest.Client) *http.Request { return c.Location("oA", 31.2304, 121.4737, "菜市场", 106) },
			"位置 31.2304,121.4737 菜市场", flows.Inbound{MsgKey: "oA:106", OpenID: "oA", Type: "location", Location: &flows.Location{Lat: 31.2304, Lng: 121.4737, Label: "菜市场"}}},
		{"subscribe event", func(c *wxtest.Client) *http.Request { return c.Event("oB", "subscribe", "", created) },
			"event||subscribe|||", flows.Inbound{MsgKey: fmt.Sprintf("oB:%d:subscribe", created), OpenID: "oB", Type: "event", Event: "subscribe", At: time.Unix(created, 0)}},
		{"menu click", func(c *wxtest.Client) *http.Request { return c.Event("oB", "CLICK", "STATS_MONTH", created) },
			"event||CLICK|STATS_MONTH||", flows.Inbound{MsgKey: fmt.Sprintf("oB:%d:CLICK:STATS_MONTH", created), OpenID: "oB", Type: "event", Event: "CLICK", EventKey: "STATS_MONTH", At: time.Unix(created, 0)}},
		{"LOCATION event gets no reply", func(c *wxtest.Client) *http.Request { return c.LocationEvent("oB", 23.1291, 113.2644, created) },
			"", flows.Inbound{MsgKey: fmt.Sprintf("oB:%d:LOCATION", created), OpenID: "oB", Type: "event", Event: "LOCATION", Location: &flows.Location{Lat: 23.1291, Lng: 113.2644}, At: time.Unix(created, 0)}},
		{"template delivery report", func(c *wxtest.Client) *http.Request {
			return c.Message(wxtest.Message{FromUserName: "oB", MsgType: "event", Event: "TEMPLATESENDJOBFINISH", TemplateMsgID: 200163836, Status: "failed:user block", CreateTime: created})
		}, "event||TEMPLATESENDJOBFINISH|||", flows.Inbound{MsgKey: fmt.Sprintf("oB:%d:TEMPLATESENDJOBFINISH", created), OpenID: "oB", Type: "event", Event: "TEMPLATESENDJOBFINISH", Status: "failed:user block", At: time.Unix(created, 0)}},
		{"unknown message type", func(c *wxtest.Client) *http.Request {
			return c.Message(wxtest.Message{FromUserName: "oA", MsgType: "shortvideo", MsgID: 107, CreateTime: created})
		}, "shortvideo|||||", flows.Inbound{MsgKey: "oA:107", OpenID: "oA", Type: "shortvideo", At: time.Unix(created, 0)}},
	}
	for _, safe := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/safe=%v", tt.label, safe), func(t *testing.T) {
				h := newRecorder(describe)
				wh := newWebhook(t, h, openDB(t).KV(), safe, nil)
				c := client(safe)
				rec := httptest.NewRecorder()
				wh.ServeHTTP(rec, tt.req(c))
				if rec.Code != 200 {
					t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
				}
				if tt.reply == "" {
					if rec.Body.String() != "success" {
						t.Fatalf("body %q, want success", rec.Body.String())
					}
				} else {
					if safe && !strings.Contains(rec.Body.String(), "<Encrypt>") {
						t.Fatalf("safe-mode reply not encrypted: %s", rec.Body.String())
					}
					r, err := c.DecodeReplyXML(rec.Result())
					if err != nil {
						t.Fatal(err)
					}
					if r.Content != tt.reply || r.ToUserName != tt.inbound.OpenID || r.FromUserName != "gh_gridbot" || r.CreateTime == 0 {
						t.Fatalf("reply %+v, want content %q to %s from gh_gridbot", r, tt.reply, tt.inbound.OpenID)
					}
				}
				calls := h.Calls()
				if len(calls) != 1 {
					t.Fatalf("handler called %d times", len(calls))
				}
				got, want := calls[0], tt.inbound
				if want.At.IsZero() {
					want.At = got.At // helpers stamp the client's now
					if time.Since(got.At) > time.Minute {
						t.Errorf("At %v, want about now", got.At)
					}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("inbound\n got %+v %+v\nwant %+v %+v", got, got.Location, want, want.Location)
				}
			})
		}
	}
}

func TestWebhookRetryReplaysTheFirstReply(t *testing.T) {
	for _, kc := range kvCases {
		for _, safe := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/safe=%v", kc.name, safe), func(t *testing.T) {
				n := 0
				h := newRecorder(func(in flows.Inbound) (flows.Reply, error) {
					n++ // serialised by the webhook: one message at a time per user
					return flows.Reply{Text: fmt.Sprintf("第%d次处理：%s", n, in.Text)}, nil
				})
				kv := kc.open(t)
				prefix := uniquePrefix()
				wh := newWebhook(t, h, kv, safe, func(c *WebhookConfig) { c.ReplyPrefix = prefix })
				c := client(safe)
				send := func(wh *Webhook, req *http.Request) string {
					rec := httptest.NewRecorder()
					wh.ServeHTTP(rec, req)
					reply, err := c.DecodeReply(rec.Result())
					if err != nil {
						t.Fatal(err)
					}
					return reply
				}
				created := time.Now().Unix()
				first := send(wh, c.Text("oA", "走访", 5001))
				event := send(wh, c.Event("oA", "CLICK", "STATS", created))
				if first != "第1次处理：走访" || event != "第2次处理：" {
					t.Fatalf("first replies %q, %q", first, event)
				}
				for i := range 3 {
					if got := send(wh, c.Text("oA", "走访", 5001)); got != first {
						t.Fatalf("retry %d: %q, want %q", i, got, first)
					}
					if got := send(wh, c.Event("oA", "CLICK", "STATS", created)); got != event {
						t.Fatalf("event retry %d: %q, want %q", i, got, event)
					}
				}
				// A restarted process with the same reply cache replays too.
				wh2 := newWebhook(t, h, kv, safe, func(c *WebhookConfig) { c.ReplyPrefix = prefix })
				if got := send(wh2, c.Text("oA", "走访", 5001)); got != first {
					t.Fatalf("after restart: %q, want %q", got, first)
				}
				// A new message and an event one second later are new.
				if got := send(wh2, c.Text("oA", "走访", 5002)); got != "第3次处理：走访" {
					t.Fatalf("new message: %q", got)
				}
				if got := send(wh2, c.Event("oA", "CLICK", "STATS", created+1)); got != "第4次处理：" {
					t.Fatalf("new event: %q", got)
				}
				// Another menu item clicked within the same second is new too.
				if got := send(wh2, c.Event("oA", "CLICK", "TODO", created+1)); got != "第5次处理：" {
					t.Fatalf("other click in the same second: %q", got)
				}
				if len(h.Calls()) != 5 {
					t.Fatalf("handler called %d times, want 5", len(h.Calls()))
				}
			})
		}
	}
}

func TestWebhookConcurrentRetriesWaitForTheFirst(t *testing.T) {
	for _, kc := range kvCases {
		t.Run(kc.name, func(t *testing.T) {
			h := newRecorder(nil)
			h.started = make(chan string, 10)
			release := h.hold("oA:6001")
			wh := newWebhook(t, h, kc.open(t), true, nil)
			c := client(true)

			const copies = 5
			replies := make([]string, copies)
			var wg sync.WaitGroup
			for i := range copies {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rec := httptest.NewRecorder()
					wh.ServeHTTP(rec, c.Text("oA", "宣传 资料400份", 6001))
					r, err := c.DecodeReply(rec.Result())
					if err != nil {
						t.Error(err)
					}
					replies[i] = r
				}()
			}
			<-h.started
			// Every copy has joined the one call before it is released.
			waitFor(t, "retries to join", func() bool { return wh.joined("oA:6001") == copies-1 })
			release()
			wg.Wait()
			for i, r := range replies {
				if r != "收到：宣传 资料400份" {
					t.Errorf("copy %d got %q", i, r)
				}
			}
			if n := len(h.Calls()); n != 1 {
				t.Fatalf("handler called %d times, want 1", n)
			}
		})
	}
}

func TestWebhookOneMessageAtATimePerUser(t *testing.T) {
	h := newRecorder(nil)
	h.started = make(chan string, 10)
	release := h.hold("oA:1")
	wh := newWebhook(t, h, openDB(t).KV(), false, nil)
	c := client(false)

	replies := make(chan string, 10)
	send := func(openID, text string, id int64) {
		rec := httptest.NewRecorder()
		wh.ServeHTTP(rec, c.Text(openID, text, id))
		r, _ := c.DecodeReply(rec.Result())
		replies <- r
	}
	go send("oA", "一", 1)
	if k := <-h.started; k != "oA:1" {
		t.Fatalf("started %s", k)
	}
	for i, text := range []string{"二", "三", "四"} {
		go send("oA", text, int64(i+2))
		waitFor(t, "message to queue", func() bool { return wh.pending("oA") == i+2 })
	}
	// Another user is not held up by oA.
	go send("oB", "别人", 9)
	if k := <-h.started; k != "oB:9" {
		t.Fatalf("while oA is held, started %s, want oB's 9", k)
	}
	if r := <-replies; r != "收到：别人" {
		t.Fatalf("oB got %q", r)
	}
	release()
	for range 4 {
		<-replies
	}
	var order []string
	for _, in := range h.Calls() {
		if in.OpenID == "oA" {
			order = append(order, in.Text)
		}
	}
	if strings.Join(order, "") != "一二三四" {
		t.Fatalf("oA handled in order %v", order)
	}
	if h.overlap {
		t.Fatal("two messages of one user were handled at once")
	}
	waitFor(t, "queues to empty", func() bool { return wh.pending("oA") == 0 })
	wh.mu.Lock()
	defer wh.mu.Unlock()
	if len(wh.users) != 0 || len(wh.inflight) != 0 {
		t.Fatalf("%d user queues and %d in-flight calls left", len(wh.users), len(wh.inflight))
	}
}

func TestWebhookSlowAnswerIsPushed(t *testing.T) {
	p := wxtest.NewPlatform(t)
	out := newOutbound(t, p)
	h := newRecorder(nil)
	release := h.hold("oSlow:7001")
	kv := openDB(t).KV()
	wh := newWebhook(t, h, kv, true, func(c *WebhookConfig) {
		c.ReplyWithin = 50 * time.Millisecond
		c.Pusher = out
	})
	c := client(true)
	start := time.Now()
	rec := httptest.NewRecorder()
	wh.ServeHTTP(rec, c.Text("oSlow", "本月统计", 7001))
	if rec.Code != 200 || rec.Body.String() != "success" {
		t.Fatalf("got %d %q, want success", rec.Code, rec.Body.String())
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("replied after %v", d)
	}
	if got := p.CustomMessages(); len(got) != 0 {
		t.Fatalf("pushed before the answer was ready: %+v", got)
	}
	release()
	msgs := p.WaitCustom(1, 5*time.Second)
	if len(msgs) != 1 || msgs[0].ToUser != "oSlow" || msgs[0].MsgType != "text" || msgs[0].Text != "收到：本月统计" {
		t.Fatalf("pushed %+v", msgs)
	}
	// WeChat retrying now gets "success" again, not a second copy.
	if err := wh.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	wh.ServeHTTP(rec, c.Text("oSlow", "本月统计", 7001))
	if rec.Body.String() != "success" || len(h.Calls()) != 1 || len(p.CustomMessages()) != 1 {
		t.Fatalf("retry: %q, %d calls, %d pushes", rec.Body.String(), len(h.Calls()), len(p.CustomMessages()))
	}
}

func TestWebhookHandlerFailure(t *testing.T) {
	tests := []struct {
		label  string
		answer func(flows.Inbound) (flows.Reply, error)
		logs   string
	}{
		{"error", func(flows.Inbound) (flows.Reply, error) { return flows.Reply{}, errors.New("store: disk full") }, "handler failed"},
		{"panic", func(flows.Inbound) (flows.Reply, error) { panic("nil map") }, "handler panicked"},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			var logs logBuffer
			wh := newWebhook(t, newRecorder(tt.answer), openDB(t).KV(), false, func(c *WebhookConfig) { c.Log = logs.logger() })
			rec := httptest.NewRecorder()
			wh.ServeHTTP(rec, client(false).Text("oA", "走访 3-2-201 张阿姨 血压150/95", 8001))
			reply, err := client(false).DecodeReply(rec.Result())
			if err != nil || reply != ApologyText {
				t.Fatalf("reply %q, %v", reply, err)
			}
			out := logs.String()
			if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, tt.logs) {
				t.Errorf("log %q lacks an error line %q", out, tt.logs)
			}
			for _, private := range []string{"张阿姨", "3-2-201", "150/95"} {
				if strings.Contains(out, private) {
					t.Errorf("log carries message content %q: %s", private, out)
				}
			}
		})
	}
}

func TestNewWebhookChecksConfig(t *testing.T) {
	kv := openDB(t).KV()
	h := newRecorder(nil)
	tests := []struct {
		label string
		cfg   WebhookConfig
	}{
		{"no token", WebhookConfig{Handler: h, Replies: kv}},
		{"no handler", WebhookConfig{Token: "t", Replies: kv}},
		{"no reply cache", WebhookConfig{Token: "t", Handler: h}},
		{"short AES key", WebhookConfig{Token: "t", Handler: h, Replies: kv, AppID: "wx", EncodingAESKey: "abc"}},
		{"AES key without AppID", WebhookConfig{Token: "t", Handler: h, Replies: kv, EncodingAESKey: testAESKey}},
	}
	for _, tt := range tests {
		if _, err := NewWebhook(tt.cfg); err == nil {
			t.Errorf("%s: accepted", tt.label)
		}
	}
}

func TestReplyXMLEscapesCDATA(t *testing.T) {
	x := textReplyXML("oA", "gh", 1, "x]]>y]]>")
	rec := httptest.NewRecorder()
	rec.Write(x)
	r, err := (&wxtest.Client{}).DecodeReplyXML(rec.Result())
	if err != nil || r.Content != "x]]>y]]>" || r.ToUserName != "oA" || r.FromUserName != "gh" {
		t.Fatalf("%s → %+v, %v", x, r, err)
	}
}

// TestWebhookPlainModeForgery: in plain mode only the query is signed. A
// signed query used once cannot carry another body within the window
// (also on a second webhook sharing the reply store, as nodes sharing
// Redis do), and the openid parameter must be there and match the sender.
// WeChat's retry (same query, same body) still gets the first reply.
func TestWebhookPlainModeForgery(t *testing.T) {
	for _, kc := range kvCases {
		t.Run(kc.name, func(t *testing.T) {
			kv := kc.open(t)
			prefix := uniquePrefix()
			h := newRecorder(nil)
			wh := newWebhook(t, h, kv, false, func(c *WebhookConfig) { c.ReplyPrefix = prefix })
			other := newWebhook(t, h, kv, false, func(c *WebhookConfig) { c.ReplyPrefix = prefix })
			c := client(false)
			post := func(wh *Webhook, q url.Values, body []byte) *httptest.ResponseRecorder {
				req := httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), bytes.NewReader(body))
				rec := httptest.NewRecorder()
				wh.ServeHTTP(rec, req)
				return rec
			}
			q := c.Query()
			q.Set("openid", "oA")
			genuine := wxtest.Message{FromUserName: "oA", MsgType: "text", Content: "走访 1-1-101", MsgID: 1, CreateTime: time.Now().Unix()}.XML("gh")
			if rec := post(wh, q, genuine); rec.Code != 200 || !strings.Contains(rec.Body.String(), "收到：走访 1-1-101") {
				t.Fatalf("genuine: %d %s", rec.Code, rec.Body)
			}
			if rec := post(wh, q, genuine); rec.Code != 200 || !strings.Contains(rec.Body.String(), "收到：走访 1-1-101") {
				t.Fatalf("WeChat's retry: %d %s", rec.Code, rec.Body)
			}
			forged := wxtest.Message{FromUserName: "oA", MsgType: "text", Content: "走访 9-9-999", MsgID: 2, CreateTime: time.Now().Unix()}.XML("gh")
			for name, w := range map[string]*Webhook{"same node": wh, "other node": other} {
				if rec := post(w, q, forged); rec.Code != 401 {
					t.Fatalf("%s: reused query with another body: %d, want 401", name, rec.Code)
				}
			}
			// A fresh query without openid, or naming someone else.
			asB := wxtest.Message{FromUserName: "oB", MsgType: "text", Content: "走访 2-2-202", MsgID: 3, CreateTime: time.Now().Unix()}.XML("gh")
			if rec := post(wh, c.Query(), asB); rec.Code != 400 {
				t.Fatalf("no openid: %d, want 400", rec.Code)
			}
			q2 := c.Query()
			q2.Set("openid", "oA")
			if rec := post(wh, q2, asB); rec.Code != 400 {
				t.Fatalf("openid of another user: %d, want 400", rec.Code)
			}
			if n := len(h.Calls()); n != 1 {
				t.Fatalf("handler called %d times, want 1 (the genuine message)", n)
			}
		})
	}
}

// TestWebhookLateAnswerOffTheQueue: a late answer is pushed off the user's
// queue (their next message is answered at once while the WeChat API is
// slow), retried, and when it still fails kept for their next message.
func TestWebhookLateAnswerOffTheQueue(t *testing.T) {
	p := wxtest.NewPlatform(t)
	out := newOutbound(t, p)
	db := openDB(t)
	h := newRecorder(nil)
	release := h.hold("oSlow:7001")
	logs := &logBuffer{}
	wh := newWebhook(t, h, storage.NewMemKV(), false, func(c *WebhookConfig) {
		c.ReplyWithin = 50 * time.Millisecond
		c.Pusher, c.Notices, c.Log = out, db, logs.logger()
		c.PushAttempts, c.PushBackoff = 2, 10*time.Millisecond
	})
	if _, err := out.OfficialAccount().GetAccessTokenContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Inject(wxtest.PathCustomSend, 1, wxtest.Fault{Delay: time.Second})
	p.Inject(wxtest.PathCustomSend, 1, wxtest.Fault{Status: 502})
	c := client(false)
	send := func(text string, id int64) string {
		rec := httptest.NewRecorder()
		wh.ServeHTTP(rec, c.Text("oSlow", text, id))
		reply, err := c.DecodeReply(rec.Result())
		if err != nil {
			t.Fatal(err)
		}
		return reply
	}
	if got := send("本月统计", 7001); got != "" {
		t.Fatalf("slow answer replied %q, want success", got)
	}
	release()
	waitFor(t, "the push to start", func() bool { return p.Calls(wxtest.PathCustomSend) >= 1 })
	start := time.Now()
	if got := send("待办", 7002); got != "收到：待办" {
		t.Fatalf("next message while the push hangs: %q (after %v), want its answer", got, time.Since(start))
	}
	if err := wh.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := p.Calls(wxtest.PathCustomSend); n != 2 {
		t.Fatalf("%d push attempts, want 2", n)
	}
	notice, err := db.TakeNotice(context.Background(), "oSlow")
	if err != nil || !strings.Contains(notice, "回复没能送到") || !strings.Contains(notice, "收到：本月统计") {
		t.Fatalf("kept notice %q, %v", notice, err)
	}
}
