package bot

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"gridbot/bot/wxtest"
	"gridbot/flows"
	"gridbot/storage"
)

// Account settings of the tests (the published vector's token, AppID and key).
const (
	testToken  = "pamtest"
	testAppID  = "wxb11529c136998cb6"
	testAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

// openDB opens a real bbolt store in a temp dir, closed when the test ends.
func openDB(t testing.TB) *storage.DB {
	t.Helper()
	db, err := storage.Open(filepath.Join(t.TempDir(), "gridbot.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// kvCase is a reply cache the webhook tests run against.
type kvCase struct {
	name string
	open func(t testing.TB) flows.KV
}

// kvCases are the embedded (bbolt) KV and Redis: the one at
// GRIDBOT_TEST_REDIS when set (as in CI), else an in-process miniredis.
var kvCases = []kvCase{
	{"bolt", func(t testing.TB) flows.KV { return openDB(t).KV() }},
	{"redis", func(t testing.TB) flows.KV { return storage.NewRedisKV(testRedis(t)) }},
}

func testRedis(t testing.TB) *redis.Client {
	t.Helper()
	addr := os.Getenv("GRIDBOT_TEST_REDIS")
	if addr == "" {
		addr = miniredis.RunT(t).Addr()
	}
	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { client.Close() })
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %s: %v", addr, err)
	}
	return client
}

// uniquePrefix keeps tests apart on a shared Redis.
func uniquePrefix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "gridbot-test:" + hex.EncodeToString(b) + ":reply:"
}

// countingKV counts writes to a real KV, to show a refused request left
// nothing behind.
type countingKV struct {
	flows.KV
	sets atomic.Int64
}

func (c *countingKV) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	c.sets.Add(1)
	return c.KV.Set(ctx, key, val, ttl)
}

// recorder is a Handler test double: it records each Inbound, optionally
// waits on a gate before answering, and answers with answer(in).
type recorder struct {
	answer func(flows.Inbound) (flows.Reply, error)

	mu      sync.Mutex
	calls   []flows.Inbound
	active  map[string]int // openid → handlers running now
	overlap bool           // two handlers of one user ran at once
	started chan string    // MsgKey of each call as it starts, if non-nil
	gate    map[string]chan struct{}
}

func newRecorder(answer func(flows.Inbound) (flows.Reply, error)) *recorder {
	if answer == nil {
		answer = func(in flows.Inbound) (flows.Reply, error) {
			return flows.Reply{Text: "收到：" + in.Text}, nil
		}
	}
	return &recorder{answer: answer, active: map[string]int{}, gate: map[string]chan struct{}{}}
}

// hold makes the handling of msgKey wait until the returned func is called.
func (r *recorder) hold(msgKey string) (release func()) {
	ch := make(chan struct{})
	r.mu.Lock()
	r.gate[msgKey] = ch
	r.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

func (r *recorder) Handle(ctx context.Context, in flows.Inbound) (flows.Reply, error) {
	r.mu.Lock()
	r.calls = append(r.calls, in)
	r.active[in.OpenID]++
	if r.active[in.OpenID] > 1 {
		r.overlap = true
	}
	gate, started := r.gate[in.MsgKey], r.started
	r.mu.Unlock()
	if started != nil {
		started <- in.MsgKey
	}
	if gate != nil {
		<-gate
	}
	r.mu.Lock()
	r.active[in.OpenID]--
	r.mu.Unlock()
	return r.answer(in)
}

func (r *recorder) Calls() []flows.Inbound {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]flows.Inbound(nil), r.calls...)
}

// logBuffer is a slog logger at debug level writing to a buffer.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newWebhook builds a webhook on kv; safe selects safe mode.
func newWebhook(t testing.TB, h Handler, kv flows.KV, safe bool, edit func(*WebhookConfig)) *Webhook {
	t.Helper()
	c := WebhookConfig{Token: testToken, AppID: testAppID, Handler: h, Replies: kv, ReplyPrefix: uniquePrefix()}
	if safe {
		c.EncodingAESKey = testAESKey
	}
	if edit != nil {
		edit(&c)
	}
	wh, err := NewWebhook(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := wh.Wait(ctx); err != nil {
			t.Errorf("webhook did not finish its work: %v", err)
		}
	})
	return wh
}

// client is a wxtest client matching newWebhook's settings.
func client(safe bool) *wxtest.Client {
	c := &wxtest.Client{Token: testToken, AppID: testAppID}
	if safe {
		c.EncodingAESKey = testAESKey
	}
	return c
}

// pending counts the messages of openID queued or running (tests only).
func (wh *Webhook) pending(openID string) int {
	wh.mu.Lock()
	defer wh.mu.Unlock()
	if q := wh.users[openID]; q != nil {
		return q.n
	}
	return 0
}

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// joined counts the retries waiting on the in-flight message key (tests only).
func (wh *Webhook) joined(key string) int {
	wh.mu.Lock()
	defer wh.mu.Unlock()
	if c := wh.inflight[key]; c != nil {
		return c.joined
	}
	return 0
}
