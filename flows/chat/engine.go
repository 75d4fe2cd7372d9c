// Package chat is gridbot's conversation: it turns one Inbound message
// into a Reply, asking for a report's fields step by step or reading them
// from one line, saving through flows.Store and keeping each user's
// unfinished form in a flows.KV. It also words totals, the annual summary
// and reminder digests.
//
// chat depends on the domain (package flows) and flows/zh only; it must
// not import bot, storage or cmd.
package chat

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"gridbot/flows"

	"gridbot/flows/zh"
)

// Engine is the conversation: it turns an Inbound into a Reply, reading and
// writing through Store and keeping each user's unfinished form in Sessions.
//
// An Engine holds no per-user state of its own: a form lives in Sessions
// (JSON under SessionPrefix+openid: flow key, field being asked, answers),
// so it survives a restart. The caller must hand it one user's messages one
// at a time (package bot does); different users may be handled concurrently.
type Engine struct {
	Store    flows.Store
	Sessions flows.KV
	// Notices hands over reminders that could not be pushed, shown before
	// the worker's next reply; nil: none are shown.
	Notices flows.NoticeStore
	// Attempts records WeChat's delivery reports of template messages
	// (TEMPLATESENDJOBFINISH); nil: they are dropped.
	Attempts      flows.AttemptLog
	Catalog       *flows.Catalog // report flows, kinds and counters; nil: flows.Shipped()
	Zone          *time.Location // dates and periods are local to it; nil: flows.DefaultZone()
	SessionPrefix string         // key prefix in Sessions, e.g. "gridbot:session:"
	SessionTTL    time.Duration  // idle time after which an unfinished form is dropped; 0: 30 minutes
	Log           *slog.Logger   // nil: slog.Default()

	// Extra are chat commands another package adds to the command table
	// (the web console's 后台, 台帐, 年度总结); they are tried after the
	// engine's own commands and listed in 帮助 like them.
	Extra []Command

	// Now is the clock for session idle times, report creation times and
	// the 24 hours of 撤销; nil: time.Now. A report's day comes from the
	// message (its text, else Inbound.At).
	Now func() time.Time

	// tables caches what is derived from Catalog and Extra (the command
	// table, the word lists), so that it is not built again per message.
	tables atomic.Pointer[tables]
}

// DefaultSessionTTL is the idle time after which an unfinished form is
// dropped when Engine.SessionTTL is zero.
const DefaultSessionTTL = 30 * time.Minute

// MaxReplyBytes is the longest reply the engine returns: WeChat's passive
// text reply limit. Longer texts are cut at a line or character boundary.
const MaxReplyBytes = 2048

// Replies used in more than one place.
const (
	msgSorry     = "抱歉，系统出了点问题，请稍后再试。"
	msgNotHeard  = "没听清，请再说一遍或打字。"
	msgHowToBind = "你还没有绑定。请向社区管理员要一个邀请码，然后发送\"绑定 邀请码 姓名\"（如：绑定 A1B2C3 王芳）。"
	msgNoForm    = "当前没有进行中的记录。发送\"走访\"、\"巡查\"或\"宣传\"开始记录。"
	msgAttach    = "位置和照片请在巡查时发送：先发\"巡查\"，再发位置或照片。"
	msgTypes     = "暂时只能看懂文字、语音、位置和图片。发送\"帮助\"看看能做什么。"
	msgNotUnder  = "没看懂。发送\"走访\"、\"巡查\"或\"宣传\"开始记录，发送\"帮助\"查看用法。"
	msgQuestion  = "暂时回答不了这个问题。可以发送\"今天统计\"、\"本周统计\"、\"本月统计\"、\"上月统计\"、\"今年统计\"或\"待办\"。"
	msgBusyForm  = "请先完成或取消当前的记录（回复\"取消\"）。"
)

// Handle answers one message or event. Events that need no answer (and
// messages WeChat forbids answering) get an empty Reply.
//
// Errors the user caused are answered in Chinese and are not errors here.
// On a system error (storage, sessions) Handle logs it with context and
// returns a Reply with a short apology together with the error; nothing
// was saved by that message, so the caller may retry it.
func (e *Engine) Handle(ctx context.Context, in flows.Inbound) (flows.Reply, error) {
	w, err := e.Store.Worker(ctx, in.OpenID)
	bound := err == nil
	if err != nil && flows.ErrorCode(err) != flows.ENotFound {
		return e.fail(in.OpenID, "read worker", err)
	}
	if in.Type == "event" {
		return e.event(ctx, in, w, bound)
	}
	if !bound {
		return e.unbound(ctx, in)
	}
	if w.Unsubscribed {
		w.Unsubscribed = false
		if err := e.Store.PutWorker(ctx, w); err != nil {
			return e.fail(in.OpenID, "resubscribe worker", err)
		}
	}
	text, err := e.converse(ctx, in, w, func(c *turn) (string, error) { return e.message(c, in) })
	if err != nil {
		return e.fail(in.OpenID, "handle message", err)
	}
	return flows.Reply{Text: e.withNotice(ctx, w, text)}, nil
}

// withNotice puts the worker's pending notice (undelivered reminders)
// before a non-empty reply. It is fetched only when there is a reply to
// carry it, since pendingNotice hands it out once.
func (e *Engine) withNotice(ctx context.Context, w flows.Worker, text string) string {
	if text == "" {
		return ""
	}
	notice, err := e.pendingNotice(ctx, w)
	if err != nil {
		e.log().Error("flows: pending notice", "openid", w.OpenID, "err", err)
	}
	if notice != "" {
		text = notice + "\n\n" + text
	}
	return cutText(text, MaxReplyBytes)
}

func (e *Engine) fail(openID, op string, err error) (flows.Reply, error) {
	e.log().Error("flows: "+op, "openid", openID, "err", err)
	return flows.Reply{Text: msgSorry}, err
}

// event answers WeChat events.
func (e *Engine) event(ctx context.Context, in flows.Inbound, w flows.Worker, bound bool) (flows.Reply, error) {
	switch in.Event {
	case "subscribe":
		if !bound {
			return flows.Reply{Text: "欢迎关注！这里可以记录入户走访、巡查和宣传活动，随时查看统计。\n" + msgHowToBind}, nil
		}
		if w.Unsubscribed {
			w.Unsubscribed = false
			if err := e.Store.PutWorker(ctx, w); err != nil {
				return e.fail(in.OpenID, "resubscribe worker", err)
			}
		}
		return flows.Reply{Text: e.withNotice(ctx, w, "欢迎回来！\n"+e.menuText(w))}, nil
	case "unsubscribe":
		if bound && !w.Unsubscribed {
			w.Unsubscribed = true
			if err := e.Store.PutWorker(ctx, w); err != nil {
				return e.fail(in.OpenID, "unsubscribe worker", err)
			}
		}
		return flows.Reply{}, nil
	case "TEMPLATESENDJOBFINISH":
		return flows.Reply{}, e.recordTemplateJob(ctx, in)
	case "CLICK":
		if !bound {
			return flows.Reply{Text: msgHowToBind}, nil
		}
		if w.Unsubscribed {
			w.Unsubscribed = false
			if err := e.Store.PutWorker(ctx, w); err != nil {
				return e.fail(in.OpenID, "resubscribe worker", err)
			}
		}
		text, err := e.converse(ctx, in, w, func(c *turn) (string, error) { return e.click(c, in.EventKey) })
		if err != nil {
			return e.fail(in.OpenID, "menu click", err)
		}
		return flows.Reply{Text: e.withNotice(ctx, w, text)}, nil
	default:
		// LOCATION may not be answered; TEMPLATESENDJOBFINISH is recorded
		// by the bot; VIEW, SCAN and unknown events need no answer.
		return flows.Reply{}, nil
	}
}

// message handles a bound worker's message (not an event).
func (e *Engine) message(c *turn, in flows.Inbound) (string, error) {
	switch in.Type {
	case "text":
		return e.text(c, in.Text)
	case "voice":
		if strings.TrimSpace(strings.Trim(in.Text, "。.，, ")) == "" {
			return e.withStep(c, msgNotHeard), nil
		}
		return e.text(c, in.Text)
	case "location", "image":
		return e.attach(c, in)
	default:
		return e.withStep(c, msgTypes), nil
	}
}

// withStep appends the current step's question to text when a form is open.
func (e *Engine) withStep(c *turn, text string) string {
	if q := e.currentStep(c); q != "" {
		return text + "\n" + q
	}
	return text
}

// text handles typed (or recognised) text.
func (e *Engine) text(c *turn, raw string) (string, error) {
	t := normalize(raw)
	c.raw = raw
	if reply, ok, err := e.runCommand(c, t, false, formAlways); ok || err != nil {
		return reply, err
	}
	if c.s.Done != nil && c.msgKey != "" && (c.s.DoneMsg == c.msgKey || c.s.Done.MsgKey == c.msgKey) {
		// The message that completed the last report, delivered again
		// (a retry after a crash): the store dedupes, the reply repeats.
		return e.save(c, *c.s.Done, c.s.DoneOneLine)
	}
	if c.s.Voided != 0 && c.msgKey != "" && c.s.VoidKey == c.msgKey {
		reply, _, err := e.voidReport(c, c.s.Voided)
		return reply, err
	}
	if c.s.Step == stepUndo {
		if reply, ok, err := e.undoAnswer(c, t); ok || err != nil {
			return reply, err
		}
	}
	if c.flow() != nil {
		if e.startsReport(c, t) {
			return e.newReport(c, t)
		}
		return e.formInput(c, t)
	}
	return e.idle(c, t)
}

// startsReport reports whether t, sent while a form is open, clearly starts
// a new report rather than answering the step: a flow's word opens it (or
// follows only a date: 昨天走访…), and it is that word alone, or the word
// and more set apart by a space ("走访 5-1-302 …"), or the word with things
// only a report says (走访5-1-302, 发放资料200份). At a note, where any
// words may come, only the last two count. A valid answer to a kind step
// (慢病, 讲座) answers it, and a question is answered as one.
func (e *Engine) startsReport(c *turn, t string) bool {
	f, word, at := e.catalog().FlowByWord(t)
	if f == nil || looksLikeQuestion(t, false) {
		return false
	}
	if pre := strings.TrimSpace(t[:at]); pre != "" {
		if _, err := zh.Date(pre, c.at); errors.Is(err, zh.ErrNotDate) {
			return false
		}
	}
	note := false // a free-text step, where a note may say anything
	if cur := c.flow(); cur != nil {
		fd := cur.Field(c.s.Step)
		if fd != nil && fd.Type == flows.FieldKind && exactKind(cur, t) {
			return false
		}
		note = fd != nil && fd.Type == flows.FieldText
	}
	rest := t[at+len(word):]
	if strings.TrimSpace(rest) == "" {
		return true
	}
	if r, _ := utf8.DecodeRuneInString(rest); !note && (unicode.IsSpace(r) || strings.ContainsRune(separators+":：", r)) {
		return true
	}
	res := e.parseLine(c, f, t)
	return res.bare || res.structured || res.dateAt > at
}

// exactKind reports whether t is nothing but a choice of f's kinds: its
// number, key, name or one of its words.
func exactKind(f *flows.FlowDef, t string) bool {
	if n, err := strconv.Atoi(t); err == nil {
		return n >= 1 && n <= len(f.Kinds)
	}
	for _, k := range f.Kinds {
		if t == k.Key || t == k.Name || slices.Contains(k.Words, t) {
			return true
		}
	}
	return false
}

// newReport drops the open form for a message that starts a new report,
// and handles it as if no form were open. When the message does not start
// one after all (a 待办 number that does not exist), the form stays.
func (e *Engine) newReport(c *turn, t string) (string, error) {
	old := c.flow()
	before := c.s.fingerprint()
	reply, err := e.idle(c, t)
	if err != nil {
		return "", err
	}
	if slices.Equal(before, c.s.fingerprint()) {
		if q := e.currentStep(c); q != "" && strings.HasSuffix(reply, q) {
			return reply, nil // the same message again: it asked already
		}
		return e.withStep(c, reply), nil
	}
	return droppedNotice(old) + reply, nil
}

// droppedNotice says an unfinished form was dropped for a new one.
func droppedNotice(f *flows.FlowDef) string {
	return "上一条" + f.Short + "记录未保存。\n"
}

// idle handles text when no form is open: a command, else a report.
func (e *Engine) idle(c *turn, t string) (string, error) {
	if reply, ok, err := e.runCommand(c, t, true, 0); ok || err != nil {
		return reply, err
	}
	if f, word, at := e.catalog().FlowByWord(t); f != nil {
		return e.startLine(c, f, t, word, at)
	}
	// A typo of one character in a command or a flow's word (待 办, 撤消,
	// 本月统记, 走防 3-2-201): read as the word meant (issue 9, rule 11).
	if w, _, ok := zh.MatchWord(t, typoCommands()); ok && w != t {
		return e.idle(c, w)
	}
	if w, end, typo, ok := zh.MatchLead(t, e.flowWords()); ok && typo {
		fixed := w + t[end:]
		if f, word, at := e.catalog().FlowByWord(fixed); f != nil {
			return e.startLine(c, f, fixed, word, at)
		}
	}
	return msgNotUnder, nil
}

// flowWords are the words that start a report, of every flow.
func (e *Engine) flowWords() []string { return e.derived().flowWords }

// buildFlowWords builds flowWords from c.
func buildFlowWords(c *flows.Catalog) []string {
	var out []string
	for _, f := range c.Flows {
		out = append(out, f.Words...)
	}
	return out
}

// tables are what the engine derives from its Catalog and Extra, built on
// first use and again only when either is replaced.
type tables struct {
	catalog   *flows.Catalog
	extra     []Command // the Extra they were built from
	table     []command // the command table (see table)
	stopWords []string
	flowWords []string
}

// derived returns the tables of the engine's current Catalog and Extra.
// Concurrent callers may each build them once; any of the results is
// equal to the others.
func (e *Engine) derived() *tables {
	c := e.catalog()
	if d := e.tables.Load(); d != nil && d.catalog == c && sameCommands(d.extra, e.Extra) {
		return d
	}
	d := &tables{catalog: c, extra: e.Extra, table: buildTable(e.Extra), stopWords: buildStopWords(c), flowWords: buildFlowWords(c)}
	e.tables.Store(d)
	return d
}

// sameCommands reports whether a and b are the same slice (not merely
// equal contents): Extra set once stays the same slice.
func sameCommands(a, b []Command) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// click routes a menu click.
func (e *Engine) click(c *turn, key string) (string, error) {
	if t := clickText(key); t != "" {
		return e.text(c, t)
	}
	if fk, ok := strings.CutPrefix(key, menuReportPrefix); ok {
		if f := e.catalog().Flow(strings.ToLower(fk)); f != nil {
			var dropped string
			if old := c.flow(); old != nil {
				dropped = droppedNotice(old)
			}
			c.s.reset()
			c.s.Flow, c.s.Day = f.Key, c.day()
			reply, err := e.advance(c)
			return dropped + reply, err
		}
	}
	return e.withStep(c, msgNotUnder), nil
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) zone() *time.Location {
	if e.Zone != nil {
		return e.Zone
	}
	return flows.DefaultZone()
}

func (e *Engine) ttl() time.Duration {
	if e.SessionTTL > 0 {
		return e.SessionTTL
	}
	return DefaultSessionTTL
}

func (e *Engine) catalog() *flows.Catalog {
	if e.Catalog != nil {
		return e.Catalog
	}
	return flows.Shipped()
}

func (e *Engine) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.Default()
}
