package bot

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"

	"gridbot/bot/wxtest"
	"gridbot/flows"
)

// Run with:
//
//	go test -run '^$' -bench 'Webhook|Decode' -benchmem ./bot/
//
// BenchmarkWebhook compares, in one run, the webhook's plain and safe-mode
// paths with a bare handler that only verifies the signature, reads the
// body and writes a fixed reply (bare), and with the SDK's own server
// answering a fixed text (sdk-plain, sdk-aes: the "bare SDK echo" of the
// design's performance notes). Requests are built before the timer
// starts (a unique MsgId each, spread over 64 users), served through
// httptest.NewRecorder by 64 goroutines at once, with a trivial Handler.
// Besides ns/op (wall time, which other load on the machine inflates) it
// reports cpu-ns/op, the process's CPU time per request.
// The reply cache is in memory for the webhook's own cost (plain, aes), and
// the real stores for what a deployment pays (plain-redis: Redis at
// GRIDBOT_TEST_REDIS or an in-process miniredis; plain-bolt: the embedded
// bbolt KV).
func BenchmarkWebhook(b *testing.B) {
	trivial := HandlerFunc(func(ctx context.Context, in flows.Inbound) (flows.Reply, error) {
		return flows.Reply{Text: "✅ 已保存。本月你已走访 24 户（慢病随访 10）。"}, nil
	})
	cases := []struct {
		name string
		safe bool
		kv   func(b *testing.B) flows.KV
		bare bool
	}{
		{"bare", false, nil, true},
		{"sdk-plain", false, nil, false},
		{"sdk-aes", true, nil, false},
		{"plain", false, func(*testing.B) flows.KV { return &memKV{} }, false},
		{"aes", true, func(*testing.B) flows.KV { return &memKV{} }, false},
		{"plain-redis", false, func(b *testing.B) flows.KV { return kvCases[1].open(b) }, false},
		{"plain-bolt", false, func(b *testing.B) flows.KV { return kvCases[0].open(b) }, false},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			var h http.Handler
			switch {
			case bc.bare:
				h = bareHandler(testToken)
			case bc.kv == nil:
				key := ""
				if bc.safe {
					key = testAESKey
				}
				h = wxtest.SDKEcho(testToken, testAppID, key, "✅ 已保存。本月你已走访 24 户（慢病随访 10）。")
			default:
				wh, err := NewWebhook(WebhookConfig{Token: testToken, AppID: testAppID, EncodingAESKey: map[bool]string{true: testAESKey}[bc.safe],
					Handler: trivial, Replies: bc.kv(b), ReplyPrefix: uniquePrefix()})
				if err != nil {
					b.Fatal(err)
				}
				defer wh.Wait(context.Background())
				h = wh
			}
			reqs := newRequestPool(b, client(bc.safe), min(b.N, 1<<18))
			var next atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(benchClients / runtime.GOMAXPROCS(0))
			cpu0 := cpuTime()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := reqs.get(int(next.Add(1) - 1))
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != 200 || rec.Body.Len() < 100 {
						b.Errorf("status %d, body %q", rec.Code, rec.Body.String())
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// benchClients is how many requests are in flight at once, as with many
// users writing at the same time.
const benchClients = 64

// cpuTime is the CPU time this process has used (user + system), which,
// unlike ns/op, does not grow when other processes load the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// bareHandler is the baseline: signature check, body read, fixed reply.
func bareHandler(token string) http.Handler {
	reply := textReplyXML("oUser", "gh_gridbot", time.Now().Unix(), "✅ 已保存。本月你已走访 24 户（慢病随访 10）。")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if !equalSig(q.Get("signature"), util.Signature(token, q.Get("timestamp"), q.Get("nonce"))) {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.Write(reply)
	})
}

// equalSig compares two hex signatures in constant time.
func equalSig(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// requestPool holds signed requests built ahead, each with its own MsgId,
// in one pointer-free buffer so that the garbage collector does not scan
// it over and over during the run.
type requestPool struct {
	data []byte
	offs []int32 // per request: query start, body start, body end
}

func newRequestPool(b *testing.B, c *wxtest.Client, n int) *requestPool {
	p := &requestPool{offs: make([]int32, 0, 3*n)}
	base := time.Now().UnixNano()
	for i := range n {
		req := c.Text("oUser"+strconv.Itoa(i%64), "今天宣传发放资料四百余份，参与群众35人", base+int64(i))
		body, err := io.ReadAll(req.Body)
		if err != nil {
			b.Fatal(err)
		}
		p.offs = append(p.offs, int32(len(p.data)))
		p.data = append(p.data, req.URL.RawQuery...)
		p.offs = append(p.offs, int32(len(p.data)))
		p.data = append(p.data, body...)
		p.offs = append(p.offs, int32(len(p.data)))
	}
	return p
}

func (p *requestPool) get(i int) *http.Request {
	i %= len(p.offs) / 3 // past the pool, requests repeat: retries served from the cache
	q, b, e := p.offs[3*i], p.offs[3*i+1], p.offs[3*i+2]
	body := p.data[b:e]
	return &http.Request{
		Method:        http.MethodPost,
		URL:           &url.URL{Path: "/wechat", RawQuery: string(p.data[q:b])},
		Header:        http.Header{"Content-Type": {"text/xml"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		RemoteAddr:    "127.0.0.1:1234",
		Proto:         "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}
}

// memKV is an in-memory flows.KV for measuring the webhook without a
// store's round trips.
type memKV struct{ m sync.Map }

type memEntry struct {
	val []byte
	exp time.Time
}

func (kv *memKV) Get(ctx context.Context, key string) ([]byte, error) {
	v, ok := kv.m.Load(key)
	if !ok || time.Now().After(v.(memEntry).exp) {
		return nil, flows.Errorf(flows.ENotFound, "key %s", key)
	}
	return v.(memEntry).val, nil
}

func (kv *memKV) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	kv.m.Store(key, memEntry{val: append([]byte(nil), val...), exp: time.Now().Add(ttl)})
	return nil
}

func (kv *memKV) Delete(ctx context.Context, key string) error {
	kv.m.Delete(key)
	return nil
}

// BenchmarkDecode compares decoding an inbound message into the webhook's
// small struct and into the SDK's message.MixMessage.
func BenchmarkDecode(b *testing.B) {
	msg := wxtest.Message{FromUserName: "oUser", MsgType: "text", Content: "今天宣传发放资料四百余份，参与群众35人", MsgID: 1234567890123456, CreateTime: 1795865906}
	x := msg.XML("gh_gridbot")
	b.Run("small", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeMessage(x); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("mix", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m message.MixMessage
			if err := xml.Unmarshal(x, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
