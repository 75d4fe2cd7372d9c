package flows

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
	Store         Store
	Sessions      KV
	Catalog       *Catalog       // report flows, kinds and counters; nil: DefaultCatalog()
	Zone          *time.Location // dates and periods are local to it; nil: time.Local
	SessionPrefix string         // key prefix in Sessions, e.g. "gridbot:session:"
	SessionTTL    time.Duration  // idle time after which an unfinished form is dropped; 0: 30 minutes
	Log           *slog.Logger   // nil: slog.Default()

	// Now is the clock for session idle times, report creation times and
	// the 24 hours of 撤销; nil: time.Now. A report's day comes from the
	// message (its text, else Inbound.At).
	Now func() time.Time
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
func (e *Engine) Handle(ctx context.Context, in Inbound) (Reply, error) {
	w, err := e.Store.Worker(ctx, in.OpenID)
	bound := err == nil
	if err != nil && ErrorCode(err) != ENotFound {
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
	text, err := e.converse(ctx, in, w, func(c *conv) (string, error) { return e.message(c, in) })
	if err != nil {
		return e.fail(in.OpenID, "handle message", err)
	}
	return Reply{Text: e.withNotice(ctx, w, text)}, nil
}

// withNotice puts the worker's pending notice (undelivered reminders)
// before a non-empty reply. It is fetched only when there is a reply to
// carry it, since pendingNotice hands it out once.
func (e *Engine) withNotice(ctx context.Context, w Worker, text string) string {
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

func (e *Engine) fail(openID, op string, err error) (Reply, error) {
	e.log().Error("flows: "+op, "openid", openID, "err", err)
	return Reply{Text: msgSorry}, err
}

// event answers WeChat events.
func (e *Engine) event(ctx context.Context, in Inbound, w Worker, bound bool) (Reply, error) {
	switch in.Event {
	case "subscribe":
		if !bound {
			return Reply{Text: "欢迎关注！这里可以记录入户走访、巡查和宣传活动，随时查看统计。\n" + msgHowToBind}, nil
		}
		if w.Unsubscribed {
			w.Unsubscribed = false
			if err := e.Store.PutWorker(ctx, w); err != nil {
				return e.fail(in.OpenID, "resubscribe worker", err)
			}
		}
		return Reply{Text: e.withNotice(ctx, w, "欢迎回来！\n"+e.menuText(w))}, nil
	case "unsubscribe":
		if bound && !w.Unsubscribed {
			w.Unsubscribed = true
			if err := e.Store.PutWorker(ctx, w); err != nil {
				return e.fail(in.OpenID, "unsubscribe worker", err)
			}
		}
		return Reply{}, nil
	case "TEMPLATESENDJOBFINISH":
		return Reply{}, e.recordTemplateJob(ctx, in)
	case "CLICK":
		if !bound {
			return Reply{Text: msgHowToBind}, nil
		}
		if w.Unsubscribed {
			w.Unsubscribed = false
			if err := e.Store.PutWorker(ctx, w); err != nil {
				return e.fail(in.OpenID, "resubscribe worker", err)
			}
		}
		text, err := e.converse(ctx, in, w, func(c *conv) (string, error) { return e.click(c, in.EventKey) })
		if err != nil {
			return e.fail(in.OpenID, "menu click", err)
		}
		return Reply{Text: e.withNotice(ctx, w, text)}, nil
	default:
		// LOCATION may not be answered; TEMPLATESENDJOBFINISH is recorded
		// by the bot; VIEW, SCAN and unknown events need no answer.
		return Reply{}, nil
	}
}

// bindRe is "绑定 <code>" or "绑定 <code> <姓名>".
var bindRe = regexp.MustCompile(`^绑定[\s:：]*([0-9A-Za-z_-]*)(?:[\s,，、]*(\S.*))?$`)

// unbound answers a user who is not bound: only 绑定 <code> works.
func (e *Engine) unbound(ctx context.Context, in Inbound) (Reply, error) {
	if in.Type == "text" || in.Type == "voice" {
		if m := bindRe.FindStringSubmatch(normalize(in.Text)); m != nil {
			text, err := e.bind(ctx, in.OpenID, m[1], m[2])
			if err != nil {
				return e.fail(in.OpenID, "redeem invite", err)
			}
			return Reply{Text: text}, nil
		}
	}
	return Reply{Text: msgHowToBind}, nil
}

// bind redeems an invite code, with the worker's name when given
// ("绑定 A1B2C3 王芳"). A bound worker may redeem a new code (moved to
// another grid); without a name the stored one is kept. Names are
// personal data: never logged.
func (e *Engine) bind(ctx context.Context, openID, code, name string) (string, error) {
	if code == "" {
		return "请在\"绑定\"后面写上邀请码，如：绑定 A1B2C3 王芳。", nil
	}
	if name != "" {
		var msg string
		if name, msg = checkName(name); msg != "" {
			return msg + "如：绑定 " + code + " 王芳。", nil
		}
	}
	w, err := e.Store.RedeemInvite(ctx, code, openID, name, e.now())
	if up := strings.ToUpper(code); ErrorCode(err) == ENotFound && up != code {
		// Codes are issued in capitals; phones often type lower case.
		w, err = e.Store.RedeemInvite(ctx, up, openID, name, e.now())
	}
	switch ErrorCode(err) {
	case "":
	case ENotFound:
		return "邀请码 " + code + " 不存在，请核对后重新发送\"绑定 邀请码\"。", nil
	case EExpired:
		return "邀请码 " + code + " 已过期，请联系社区管理员重新生成。", nil
	case EConflict:
		return "邀请码 " + code + " 已被使用，请联系社区管理员重新生成。", nil
	case EInvalid:
		return "邀请码不对，请核对后重新发送\"绑定 邀请码\"。", nil
	default:
		return "", err
	}
	reply := "✅ 绑定成功：" + w.Community + "，网格 " + w.Grid + "（" + roleName(w.Role) + "）。\n" +
		"现在可以发送\"走访\"、\"巡查\"或\"宣传\"开始记录，发送\"帮助\"查看更多用法。"
	if w.Name == "" {
		reply += "\n可发送\"我叫 王芳\"登记姓名。"
	}
	return reply, nil
}

// nameRe is "我叫 王芳" or "姓名 王芳": the worker gives their name.
var nameRe = regexp.MustCompile(`^(?:我叫|我的名字是|我的姓名是|姓名)[\s:：是为]*(.*)$`)

// maxNameRunes is the longest name accepted.
const maxNameRunes = 20

// checkName trims a worker's name and checks it: letters (Chinese ones
// too), spaces between Latin names, and ·; msg says what is wrong.
func checkName(name string) (string, string) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", "请写上姓名，"
	}
	if runeLen(name) > maxNameRunes {
		return "", "姓名太长了，"
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && r != '·' && r != '•' && r != ' ' {
			return "", "姓名只能是文字，"
		}
	}
	return name, ""
}

// setName stores the name a worker gave (我叫 王芳).
func (e *Engine) setName(c *conv, name string) (string, error) {
	name, msg := checkName(name)
	if msg != "" {
		return msg + "如：我叫 王芳。", nil
	}
	w := c.w
	w.Name = name
	if err := e.Store.PutWorker(c.ctx, w); err != nil {
		return "", err
	}
	c.w = w
	return "✅ 已登记姓名：" + name + "。", nil
}

func roleName(r Role) string {
	switch r {
	case RoleSupervisor:
		return "负责人"
	case RoleAdmin:
		return "管理员"
	}
	return "网格员"
}

// message handles a bound worker's message (not an event).
func (e *Engine) message(c *conv, in Inbound) (string, error) {
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

// attach adds a location or photo to an open form of a flow that takes
// them, else to the report of such a flow just saved (see attachToLast),
// or says where they belong.
func (e *Engine) attach(c *conv, in Inbound) (string, error) {
	f := c.flow()
	if c.s.Step == stepUndo {
		return msgAttach, nil
	}
	if f == nil {
		return e.attachToLast(c, in)
	}
	if !f.Attachments {
		return e.withStep(c, "位置和照片只能附在巡查记录里。"), nil
	}
	var note string
	if in.Type == "location" {
		if in.Location == nil {
			return e.withStep(c, "没收到位置，请重新发送。"), nil
		}
		loc := *in.Location
		c.s.Location = &loc
		note = "📍 已附上位置。"
	} else {
		img := in.PicURL
		if img == "" {
			img = in.MediaID
		}
		if len(c.s.Images) >= maxImages {
			return e.withStep(c, "照片最多附 9 张。"), nil
		}
		c.s.Images = append(c.s.Images, img)
		note = "📷 已附上照片（共 " + itoa(len(c.s.Images)) + " 张）。"
	}
	return e.withStep(c, note), nil
}

const maxImages = 9

// attachWindow is how long after saving a report of a flow that takes
// attachments (a one-line inspection) a location or photo sent with no
// form open is still added to it.
const attachWindow = 30 * time.Minute

// attachToLast adds a location or photo sent with no form open to the
// worker's newest report that is not void when it was created within
// attachWindow and its flow takes attachments; otherwise it says where
// they belong. The same photo delivered again is stored once.
func (e *Engine) attachToLast(c *conv, in Inbound) (string, error) {
	r, err := e.Store.LastReport(c.ctx, c.w.OpenID, e.now().Add(-attachWindow))
	switch ErrorCode(err) {
	case "":
	case ENotFound:
		return msgAttach, nil
	default:
		return "", err
	}
	f := e.catalog().Flow(r.Flow)
	if f == nil || !f.Attachments {
		return msgAttach, nil
	}
	var (
		loc  *Location
		img  string
		what string
	)
	if in.Type == "location" {
		if in.Location == nil {
			return "没收到位置，请重新发送。", nil
		}
		loc, what = in.Location, "📍 位置"
	} else {
		if img = in.PicURL; img == "" {
			img = in.MediaID
		}
		if img == "" {
			return "没收到照片，请重新发送。", nil
		}
		if len(r.Images) >= maxImages && !slices.Contains(r.Images, img) {
			return "照片最多附 9 张。", nil
		}
		what = "📷 照片"
	}
	r, err = e.Store.AttachToReport(c.ctx, r.ID, loc, img)
	switch ErrorCode(err) {
	case "":
	case ENotFound, EConflict: // voided (or gone) meanwhile
		return msgAttach, nil
	default:
		return "", err
	}
	place := ""
	if r.Target != "" {
		place = "（" + r.Target + "）"
	}
	return what + "已附到刚才的" + f.Name + "记录" + place + "。", nil
}

// withStep appends the current step's question to text when a form is open.
func (e *Engine) withStep(c *conv, text string) string {
	if q := e.currentStep(c); q != "" {
		return text + "\n" + q
	}
	return text
}

// text handles typed (or recognised) text.
func (e *Engine) text(c *conv, raw string) (string, error) {
	t := normalize(raw)
	c.raw = raw
	if m := bindRe.FindStringSubmatch(t); m != nil {
		return e.bind(c.ctx, c.w.OpenID, m[1], m[2])
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
func (e *Engine) startsReport(c *conv, t string) bool {
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
		fd := cur.field(c.s.Step)
		if fd != nil && fd.Type == FieldKind && exactKind(cur, t) {
			return false
		}
		note = fd != nil && fd.Type == FieldText
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
func exactKind(f *FlowDef, t string) bool {
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
func (e *Engine) newReport(c *conv, t string) (string, error) {
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
func droppedNotice(f *FlowDef) string {
	return "上一条" + f.Short + "记录未保存。\n"
}

// idle handles text when no form is open.
func (e *Engine) idle(c *conv, t string) (string, error) {
	if m := nameRe.FindStringSubmatch(t); m != nil {
		return e.setName(c, m[1])
	}
	switch {
	case isHelp(t):
		return e.menuText(c.w), nil
	case isCancel(t):
		return msgNoForm, nil
	case isUndo(t):
		return e.startUndo(c)
	}
	if reply, ok, err := e.question(c, t); ok || err != nil {
		return reply, err
	}
	if looksLikeQuestion(t, false) {
		return msgQuestion, nil
	}
	if f, word, at := e.catalog().FlowByWord(t); f != nil {
		return e.startLine(c, f, t, word, at)
	}
	return msgNotUnder, nil
}

// question routes a question about totals or due follow-ups.
func (e *Engine) question(c *conv, t string) (string, bool, error) {
	if reply, ok, err := e.todoCommand(c.ctx, c.w, t, c.at); ok || err != nil {
		return reply, ok, err
	}
	return e.statsCommand(c.ctx, c.w, t, c.at)
}

// click routes a menu click.
func (e *Engine) click(c *conv, key string) (string, error) {
	switch key {
	case MenuStatsMonth:
		return e.text(c, "本月统计")
	case MenuStatsLastMonth:
		return e.text(c, "上月统计")
	case MenuStatsYear:
		return e.text(c, "今年统计")
	case MenuTodo:
		return e.text(c, "待办")
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
	return time.Local
}

func (e *Engine) ttl() time.Duration {
	if e.SessionTTL > 0 {
		return e.SessionTTL
	}
	return DefaultSessionTTL
}

func (e *Engine) catalog() *Catalog {
	if e.Catalog != nil {
		return e.Catalog
	}
	defaultCatalogOnce.Do(func() { defaultCatalog = DefaultCatalog() })
	return defaultCatalog
}

func (e *Engine) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.Default()
}

// normalize folds full-width characters and spaces, puts traditional
// command words in simplified form (綁定 → 绑定) and trims the text and
// its trailing punctuation (voice recognition ends sentences with 。).
func normalize(s string) string {
	s = strings.TrimSpace(zh.Simplify(zh.Fold(s)))
	s = strings.TrimRight(s, "。.!！~～ ")
	return strings.TrimSpace(s)
}

// isHelp reports whether t asks for help: a help word or question marks
// alone, or a help word followed by question marks (帮助?, ??).
func isHelp(t string) bool {
	w := strings.TrimRight(t, "?？")
	switch strings.ToLower(w) {
	case "", "帮助", "菜单", "help", "怎么用", "用法":
		return t != ""
	}
	return false
}

func isCancel(t string) bool {
	switch t {
	case "取消", "不记了", "算了", "退出":
		return true
	}
	return false
}

func isBack(t string) bool { return t == "返回" || t == "上一步" || t == "回退" }

func isSkip(t string) bool { return t == "跳过" || t == "略过" || t == "不填" }

func isUndo(t string) bool {
	switch t {
	case "撤销", "撤回", "删除上一条", "撤销上一条", "删除", "删掉上一条":
		return true
	}
	return false
}

// commandWords are questions answered even in the middle of a form, at
// any step (they are never a plausible answer).
var commandWords = map[string]bool{
	"统计": true, "本月统计": true, "上月统计": true, "今年统计": true, "本年统计": true,
	"社区统计": true, "网格排名": true, "待办": true, "逾期": true, "提醒": true, "汇总": true,
	"这个月多少": true, "本月": true, "上月": true, "今年": true,
	"今天统计": true, "昨天统计": true, "本周统计": true, "上周统计": true,
}

// looksLikeQuestion reports whether t is a question about totals or due
// items rather than an answer: one of commandWords, or, unless strictOnly
// (a free-text step, where a note may say anything), a text with 统计,
// 汇总, 多少… in it.
func looksLikeQuestion(t string, strictOnly bool) bool {
	if commandWords[t] {
		return true
	}
	if strictOnly {
		return false
	}
	return strings.Contains(t, "统计") || strings.Contains(t, "汇总") || strings.Contains(t, "排名") ||
		strings.HasSuffix(t, "多少") || strings.Contains(t, "多少户") || strings.Contains(t, "多少次") ||
		strings.Contains(t, "几户") || strings.Contains(t, "几次") ||
		strings.HasPrefix(t, "待办") || strings.HasPrefix(t, "逾期")
}
