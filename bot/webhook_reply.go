package bot

// The webhook's replies: the cache that answers WeChat's retries of a
// message with the reply it was given, writing a reply (encrypted in safe
// mode), and the pooled timers and buffers of the per-message path.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"gridbot/flows"
)

// kvTimeout is the time allowed for each reply cache access.
const kvTimeout = 2 * time.Second

// Cached replies are stored with a one-byte version prefix, so that an
// empty reply ("success") is a non-empty value.
const replyV1 = 'r'

// cached returns the reply already given to the message of key, if any;
// cacheKey is ReplyPrefix+key.
func (wh *Webhook) cached(ctx context.Context, cacheKey, key string) (string, bool) {
	b, err := wh.cfg.Replies.Get(ctx, cacheKey)
	if err != nil {
		if flows.ErrorCode(err) != flows.ENotFound {
			wh.log.Warn("wechat: reply cache read failed; handling the message", "msg_key", key, "err", err)
		}
		return "", false
	}
	if len(b) == 0 || b[0] != replyV1 {
		wh.log.Warn("wechat: unreadable cached reply; handling the message", "msg_key", key)
		return "", false
	}
	return string(b[1:]), true
}

// store caches the reply delivered for the message of key under cacheKey.
func (wh *Webhook) store(ctx context.Context, cacheKey, key, text string) {
	val := make([]byte, 1+len(text))
	val[0] = replyV1
	copy(val[1:], text)
	if err := wh.cfg.Replies.Set(ctx, cacheKey, val, wh.cfg.ReplyTTL); err != nil {
		wh.log.Error("wechat: reply cache write failed", "msg_key", key, "err", err)
	}
}

// writeReply writes text as a passive reply, encrypted in safe mode, or
// "success" when text is empty.
func (wh *Webhook) writeReply(w http.ResponseWriter, q url.Values, safe bool, m *wxMessage, text string) {
	if text == "" {
		w.Header()["Content-Type"] = contentTypeText
		io.WriteString(w, "success")
		return
	}
	bp := getBuf()
	defer putBuf(bp)
	now := wh.now().Unix()
	x := appendTextReply((*bp)[:0], m.FromUserName, m.ToUserName, now, text)
	if safe {
		var random [16]byte
		rand.Read(random[:])
		enc := base64.StdEncoding.EncodeToString(util.AESEncryptMsg(random[:], x, wh.cfg.AppID, wh.aesKey))
		ts := strconv.FormatInt(now, 10)
		nonce := q.Get("nonce")
		sig := signature(wh.cfg.Token, ts, nonce, enc)
		x = appendEncryptedReply(x[:0], enc, string(sig[:]), now, nonce)
	}
	*bp = x
	w.Header()["Content-Type"] = contentTypeXML
	w.Write(x)
}

// The webhook's Content-Type header values, shared by every response
// (Header.Set would allocate a slice each time; nothing appends to them in
// place, and http.Header.Add copies on append since their capacity is 1).
var (
	contentTypeText = []string{"text/plain; charset=utf-8"}
	contentTypeXML  = []string{"application/xml; charset=utf-8"}
)

// timerPool holds the timers answer waits with.
var timerPool sync.Pool

// getTimer returns a timer that fires after d.
func getTimer(d time.Duration) *time.Timer {
	if t, ok := timerPool.Get().(*time.Timer); ok {
		t.Reset(d)
		return t
	}
	return time.NewTimer(d)
}

// putTimer stops t and keeps it for reuse when it had not fired: then its
// channel is empty also under GODEBUG=asynctimerchan=1.
func putTimer(t *time.Timer) {
	if t.Stop() {
		timerPool.Put(t)
	}
}

// bufPool holds the byte buffers a request borrows while it is served:
// its body, its reply.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 2048)
	return &b
}}

// maxPooledBuf: larger buffers (a rare large body) are left to the
// garbage collector rather than kept in the pool.
const maxPooledBuf = 16 << 10

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > maxPooledBuf {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}
