package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"gridbot/flows"
)

// Handler answers one inbound message. *chat.Engine (package gridbot/flows/chat) satisfies it.
type Handler interface {
	Handle(ctx context.Context, in flows.Inbound) (flows.Reply, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, in flows.Inbound) (flows.Reply, error)

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, in flows.Inbound) (flows.Reply, error) {
	return f(ctx, in)
}

// Defaults of WebhookConfig.
const (
	DefaultMaxSkew       = 5 * time.Minute
	DefaultReplyWithin   = 4 * time.Second
	DefaultHandleTimeout = 30 * time.Second
	DefaultMaxBody       = 64 << 10
	DefaultReplyTTL      = 10 * time.Minute
	DefaultReplyPrefix   = "gridbot:reply:"
)

// ApologyText is the reply when the Handler fails.
const ApologyText = "抱歉，系统出了点问题，请稍后再试。"

// DegradedText is the reply when the Handler fails with
// flows.EUnavailable: the session store is down, so forms cannot go on,
// while one-line reports, totals and 待办 still work.
const DegradedText = "系统暂时只能处理一句话记录，这条没有保存。请把内容写在一条消息里，如：走访 3-2-201 慢病 150/95。统计和待办照常可用。"

// WebhookConfig configures a Webhook. Zero durations and sizes take the
// defaults above.
type WebhookConfig struct {
	Token          string // the Token configured on the Official Account
	AppID          string // needed in safe mode: checked on decrypt, appended on encrypt
	EncodingAESKey string // 43 characters: safe mode only; empty: plain mode only

	MaxSkew       time.Duration // a request timestamp further from now is refused
	ReplyWithin   time.Duration // answer not ready by then: reply "success" and push it later
	HandleTimeout time.Duration // how long the Handler may run for one message (plus 4 s for the reply cache)
	MaxBody       int64         // larger bodies are refused with 413
	ReplyTTL      time.Duration // how long a reply is kept for retries
	ReplyPrefix   string        // key prefix of cached replies in Replies
	// PerUserPerMinute limits each user's messages (bursts of as many);
	// retries of one message count once. Over it a user gets one
	// RateLimitedText, then no answer, and nothing is handled or stored.
	// 0: no limit.
	PerUserPerMinute int

	Metrics *Metrics // nil: none
	Handler Handler  // required
	Pusher  Pusher   // delivers late answers; nil: they are logged and dropped
	// Notices keeps a late answer that could not be pushed, to show it at
	// the user's next message (the store: storage.DB); nil: it is dropped.
	Notices LateNotices
	// PushAttempts and PushBackoff: a late answer is pushed up to
	// PushAttempts times (0: 3), waiting PushBackoff (0: 1 s) after the
	// first failure and twice as long after each next one.
	PushAttempts int
	PushBackoff  time.Duration
	Replies      flows.KV // reply cache for retries; required
	Log          *slog.Logger
	Now          func() time.Time

	// UserLock, when set, also orders one user's messages across nodes
	// (several gridbot nodes on one database); nil: within this process only.
	UserLock UserLocker
}

// Webhook is the http.Handler of the WeChat callback URL (/wechat). It
// verifies and, in safe mode, decrypts each request, hands each message to
// the Handler exactly once (retries get the first delivery's reply), one
// message at a time per user in arrival order, and answers within
// ReplyWithin: an answer that takes longer is replied to with "success" and
// delivered through the Pusher as a customer-service message.
//
// Create it with NewWebhook; call Wait on shutdown so answers still being
// computed finish before storage is closed.
type Webhook struct {
	cfg    WebhookConfig
	aesKey []byte // decoded EncodingAESKey, nil in plain mode
	log    *slog.Logger
	now    func() time.Time

	mu       sync.Mutex
	inflight map[string]*call      // dedupe key → message being handled
	users    map[string]*userQueue // openid → queue of that user's messages
	wg       sync.WaitGroup        // running handlers
	limits   *userLimits           // nil: no rate limit
}

// call is one message being handled; retries of it wait on it.
type call struct {
	done   chan struct{} // closed when text is final and cached
	joined int           // retries waiting on it; guarded by Webhook.mu

	mu       sync.Mutex
	finished bool   // text is set
	late     bool   // a waiter gave up and replied "success": text goes by push
	text     string // the Handler's answer
}

// NewWebhook checks c and returns a Webhook.
func NewWebhook(c WebhookConfig) (*Webhook, error) {
	if c.Token == "" {
		return nil, errors.New("webhook: Token is required")
	}
	if c.Handler == nil {
		return nil, errors.New("webhook: Handler is required")
	}
	if c.Replies == nil {
		return nil, errors.New("webhook: Replies (a flows.KV) is required")
	}
	wh := &Webhook{
		cfg:      c,
		log:      c.Log,
		now:      c.Now,
		inflight: make(map[string]*call),
		users:    make(map[string]*userQueue),
		limits:   newUserLimits(c.PerUserPerMinute),
	}
	if c.EncodingAESKey != "" {
		key, err := DecodeAESKey(c.EncodingAESKey)
		if err != nil {
			return nil, err
		}
		if c.AppID == "" {
			return nil, errors.New("webhook: safe mode (EncodingAESKey) needs AppID")
		}
		wh.aesKey = key
	}
	if wh.log == nil {
		wh.log = slog.New(slog.DiscardHandler)
	}
	if wh.now == nil {
		wh.now = time.Now
	}
	d := &wh.cfg
	if d.MaxSkew <= 0 {
		d.MaxSkew = DefaultMaxSkew
	}
	if d.ReplyWithin <= 0 {
		d.ReplyWithin = DefaultReplyWithin
	}
	if d.HandleTimeout <= 0 {
		d.HandleTimeout = DefaultHandleTimeout
	}
	if d.MaxBody <= 0 {
		d.MaxBody = DefaultMaxBody
	}
	if d.ReplyTTL <= 0 {
		d.ReplyTTL = DefaultReplyTTL
	}
	if d.ReplyPrefix == "" {
		d.ReplyPrefix = DefaultReplyPrefix
	}
	return wh, nil
}

// ServeHTTP answers WeChat's GET URL check and POSTed messages.
func (wh *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	if reason := wh.checkQuery(q); reason != "" {
		wh.reject(w, r, http.StatusUnauthorized, reason)
		return
	}
	if r.Method == http.MethodGet {
		echo := q.Get("echostr")
		if echo == "" {
			wh.reject(w, r, http.StatusBadRequest, "GET without echostr")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, echo)
		return
	}

	bp := getBuf()
	defer putBuf(bp)
	status, reason := wh.readBody(w, r, bp)
	body := *bp
	if status != 0 {
		wh.reject(w, r, status, reason)
		return
	}
	var safe bool
	switch q.Get("encrypt_type") {
	case "", "raw":
	case "aes":
		safe = true
	default:
		wh.reject(w, r, http.StatusBadRequest, "unknown encrypt_type")
		return
	}
	if !safe && wh.aesKey != nil {
		// In plain mode only the query is signed: a captured query could
		// carry any body. With a key configured WeChat always sends
		// encrypt_type=aes (in safe and in compatible mode).
		wh.reject(w, r, http.StatusUnauthorized, "plain request to a safe-mode webhook")
		return
	}
	account := ""
	if safe {
		body, account, status, reason = wh.open(q, body)
		if status != 0 {
			wh.reject(w, r, status, reason)
			return
		}
	}
	msg, err := decodeMessage(body)
	if err != nil {
		wh.reject(w, r, http.StatusBadRequest, "malformed message XML")
		return
	}
	if openID := q.Get("openid"); openID != msg.FromUserName && (openID != "" || !safe) {
		// The query's openid is WeChat's copy of the sender; a message that
		// says otherwise was not composed by WeChat. WeChat always sends
		// it on POST, so in plain mode a request without it is refused.
		wh.reject(w, r, http.StatusBadRequest, "openid does not match FromUserName")
		return
	}
	if msg.ToUserName == "" {
		msg.ToUserName = account
	}
	key := msg.dedupeKey()
	if allowed, reply := wh.limits.allow(msg.FromUserName, key, wh.now()); !allowed {
		// Before any storage work: a flood costs memory and CPU only.
		if reply != "" {
			wh.log.Warn("wechat: user over the rate limit; messages dropped until it frees up", "openid", msg.FromUserName)
		}
		wh.cfg.Metrics.request(OutcomeRateLimited)
		wh.writeReply(w, q, safe, &msg, reply)
		return
	}
	if !safe {
		if reason := wh.checkReplay(r.Context(), q, body); reason != "" {
			wh.reject(w, r, http.StatusUnauthorized, reason)
			return
		}
	}
	text, late := wh.answer(r.Context(), key, &msg)
	switch {
	case late:
		wh.cfg.Metrics.request(OutcomeLate)
	case text == "":
		wh.cfg.Metrics.request(OutcomeNoReply)
	case text == ApologyText:
		wh.cfg.Metrics.request(OutcomeError)
	case text == DegradedText:
		wh.cfg.Metrics.request(OutcomeDegraded)
	default:
		wh.cfg.Metrics.request(OutcomeReplied)
	}
	wh.writeReply(w, q, safe, &msg, text)
}

// reject answers a bad request with an HTTP error and logs why (never the body).
func (wh *Webhook) reject(w http.ResponseWriter, r *http.Request, status int, reason string) {
	wh.cfg.Metrics.request(OutcomeRefused)
	wh.log.Warn("wechat: request refused", "status", status, "reason", reason, "remote", r.RemoteAddr)
	http.Error(w, http.StatusText(status), status)
}

// answer returns the text to reply with ("" for "success"), and late when
// the answer goes by push instead. It starts the message's handling, or
// joins it when this is a retry of a message still being handled, and
// waits at most ReplyWithin.
func (wh *Webhook) answer(ctx context.Context, key string, m *wxMessage) (text string, late bool) {
	wh.mu.Lock()
	c, ok := wh.inflight[key]
	if ok {
		c.joined++
		wh.log.Debug("wechat: retry joined the message in flight", "msg_key", key)
	} else {
		c = &call{done: make(chan struct{})}
		wh.inflight[key] = c
		prev, mine := wh.enqueue(m.FromUserName)
		wh.wg.Add(1)
		go wh.run(context.WithoutCancel(ctx), key, m, c, prev, mine)
	}
	wh.mu.Unlock()

	timer := getTimer(wh.cfg.ReplyWithin)
	select {
	case <-c.done:
	case <-timer.C:
	case <-ctx.Done():
	}
	putTimer(timer)

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished {
		if c.late {
			return "", c.text != ""
		}
		return c.text, false
	}
	c.late = true
	return "", true
}

// run handles one message in the background: after the user's previous
// message, once (unless a reply is already cached), caching what was
// delivered, and pushing the answer when every waiter gave up on it.
func (wh *Webhook) run(ctx context.Context, key string, m *wxMessage, c *call, prev, mine chan struct{}) {
	defer wh.wg.Done()
	if prev != nil {
		<-prev
	}
	// One deadline for the whole run: the Handler's time and the reply
	// cache's read and write.
	ctx, cancel := context.WithTimeout(ctx, wh.cfg.HandleTimeout+2*kvTimeout)
	defer cancel()
	// Across nodes: taken before the reply cache is read, so a retry that
	// reached another node waits for the first handling and gets its reply.
	unlock := wh.lockUser(ctx, m.FromUserName, key)
	defer unlock()
	cacheKey := wh.cfg.ReplyPrefix + key
	text, cached := wh.cached(ctx, cacheKey, key)
	if !cached {
		text = wh.handle(ctx, key, m)
	}

	c.mu.Lock()
	c.finished, c.text = true, text
	late := c.late
	c.mu.Unlock()

	if !cached {
		delivered := text
		if late {
			delivered = "" // the waiters replied "success"; the push carries it
		}
		wh.store(ctx, cacheKey, key, delivered)
	}
	wh.mu.Lock()
	delete(wh.inflight, key)
	wh.mu.Unlock()
	close(c.done)

	if late && !cached && text != "" {
		// Off the user's queue: a slow or failing WeChat API must not hold
		// up their next messages.
		wh.wg.Add(1)
		go func() {
			defer wh.wg.Done()
			wh.push(context.WithoutCancel(ctx), m.FromUserName, text)
		}()
	}
	wh.mu.Lock()
	wh.dequeue(m.FromUserName, mine)
	wh.mu.Unlock()
}

// handle calls the Handler with ctx, detached from the request.
func (wh *Webhook) handle(ctx context.Context, key string, m *wxMessage) (text string) {
	in := m.inbound(key, wh.now())
	defer func() {
		if p := recover(); p != nil {
			wh.log.Error("wechat: handler panicked", "msg_key", in.MsgKey, "type", in.Type, "panic", fmt.Sprint(p))
			text = ApologyText
		}
	}()
	start := time.Now()
	reply, err := wh.cfg.Handler.Handle(ctx, in)
	wh.cfg.Metrics.handled(time.Since(start))
	if flows.ErrorCode(err) == flows.EUnavailable {
		wh.log.Warn("wechat: session store down; answered that only one-line reports work", "msg_key", in.MsgKey)
		return DegradedText
	}
	if err != nil {
		wh.log.Error("wechat: handler failed", "msg_key", in.MsgKey, "type", in.Type, "event", in.Event, "err", err)
		return ApologyText
	}
	return reply.Text
}

// Wait blocks until every message being handled is done (answers pushed,
// replies cached), or ctx ends. Call it after the HTTP server has shut down
// and before closing storage.
func (wh *Webhook) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		wh.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
