package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"gridbot/flows"
)

// Steps that are not field keys (field keys never start with "@").
const (
	stepConfirm = "@confirm" // the confirmation: 1 保存, 2 修改, 0 取消
	stepEdit    = "@edit"    // which field to change
	stepUndo    = "@undo"    // confirm voiding report Undo
	// stepHouseholds asks the household numbers of a visit of several
	// households (走访3户), or "不登记户号".
	stepHouseholds = "@households"
	stepTimes      = "@times"  // "共 2,000 户 超出常见范围…确认无误请回复"确认 2000""
	stepDayAsk     = "@dayask" // "你说的是 2025年12月5日 吗？1 是 0 不是"
	stepAgain      = "@again"  // "今天已记过 3-2-201 的慢病随访，再记一次？1 记 0 不记"
)

// session is one user's conversation state, stored as JSON in Engine.Sessions.
// Steps are named data (a flow key, a field key), never closures, so it
// serialises and survives a restart.
type session struct {
	Flow    string            `json:"flow,omitempty"`    // flow key of the open form
	Quick   bool              `json:"quick,omitempty"`   // started by one line: ask only what is missing, save when complete
	Step    string            `json:"step,omitempty"`    // field key being asked, or a step* constant
	Editing bool              `json:"editing,omitempty"` // the field is being changed from the confirmation
	Answers map[string]string `json:"answers,omitempty"` // field key → normalised answer; "" when skipped
	History []string          `json:"history,omitempty"` // fields answered in this session, for 返回
	Ask     []string          `json:"ask,omitempty"`     // optional fields to ask anyway (a bad value in one line)
	Day     string            `json:"day,omitempty"`     // the report's day
	NextDue string            `json:"next_due,omitempty"`
	// Deadline is the stated rectification deadline in days (限期3天整改).
	Deadline  int  `json:"deadline,omitempty"`
	Rectified bool `json:"rectified,omitempty"` // 已整改
	// Times is how many sessions or visits the report stands for, as
	// stated (讲座2场, 走访3户); 0 when not stated (1).
	Times int `json:"times,omitempty"`
	// NoHousehold: the worker answered "不登记户号" to a visit of several
	// households: Times visits are recorded with no household.
	NoHousehold bool `json:"no_household,omitempty"`
	// Households are the households of a visit of several (走访3户 →
	// 3-2-201 3-2-202 3-2-203): one report each.
	Households []string `json:"households,omitempty"`
	// TimesOK: the worker confirmed a Times above the flow's times_max.
	TimesOK bool `json:"times_ok,omitempty"`
	// DayAsk is the full date of a day to confirm before saving ("你说的是
	// 2025年12月5日 吗？"); "" when none.
	DayAsk string `json:"day_ask,omitempty"`
	// Again: the worker said to record again a household, kind and day
	// recorded already ("再记一次？1 记").
	Again    bool            `json:"again,omitempty"`
	Location *flows.Location `json:"location,omitempty"`
	Images   []string        `json:"images,omitempty"`

	Undo uint64 `json:"undo,omitempty"` // report to void (Step stepUndo)

	// Done is the last report completed in this chat (before saving), kept
	// so that the completing message, delivered again after a crash, gets
	// the same answer (SaveReport dedupes by its MsgKey).
	Done        *flows.Report `json:"done,omitempty"`
	DoneOneLine bool          `json:"done_one_line,omitempty"`
	DoneMsg     string        `json:"done_msg,omitempty"` // the message that completed Done
	// FormID names the open form once it is stored: the report's dedupe
	// key, so that confirming it again (its session write failed) cannot
	// save it twice.
	FormID string `json:"form_id,omitempty"`
	// Voided is the report the last 撤销 voided and VoidKey the message
	// that confirmed it, for the same reason.
	Voided  uint64 `json:"voided,omitempty"`
	VoidKey string `json:"void_key,omitempty"`

	LastActive time.Time `json:"last_active,omitzero"`

	// storedIdle: as stored before this message, the session had no open
	// form and no undo (at most a completed report). Set by loadSession.
	storedIdle bool
}

// reset drops everything: the open form, an undo, the last completed report.
func (s *session) reset() { *s = session{LastActive: s.LastActive, storedIdle: s.storedIdle} }

// idle reports whether no form is open and no undo is pending.
func (s *session) idle() bool { return s.Flow == "" && s.Step == "" && s.Voided == 0 }

// empty reports whether there is nothing worth storing.
func (s *session) empty() bool {
	return s.Flow == "" && s.Step == "" && s.Done == nil && s.Voided == 0
}

// blank reports whether the session holds nothing but LastActive and
// FormID: whether its fingerprint is that of no session ("{}"), without
// building it. Every field fingerprint writes (all omitempty) is listed;
// TestSessionBlank checks that none is missing.
func (s *session) blank() bool {
	return s.Flow == "" && !s.Quick && s.Step == "" && !s.Editing && len(s.Answers) == 0 &&
		len(s.History) == 0 && len(s.Ask) == 0 && s.Day == "" && s.NextDue == "" &&
		s.Deadline == 0 && !s.Rectified && s.Times == 0 && !s.NoHousehold && len(s.Households) == 0 &&
		!s.TimesOK && s.DayAsk == "" && !s.Again && s.Location == nil && len(s.Images) == 0 &&
		s.Undo == 0 && s.Done == nil && !s.DoneOneLine && s.DoneMsg == "" && s.Voided == 0 && s.VoidKey == ""
}

// fingerprint is the session's content without LastActive and FormID, to tell
// whether a message changed it.
func (s *session) fingerprint() []byte {
	c := *s
	c.LastActive, c.FormID = time.Time{}, ""
	b, _ := json.Marshal(&c)
	return b
}

// turn is one message's view of the conversation: who, which session, the
// message's dedupe key and local time. Every step of the conversation gets
// it as an argument; nothing travels in the context.
type turn struct {
	ctx    context.Context
	e      *Engine
	w      flows.Worker
	s      *session
	msgKey string
	at     time.Time // the message's time in the engine's zone
	raw    string    // the message's text as typed (or recognised)
	saved  bool      // a report was saved (or found saved) by this message
	today  string    // day's result once asked (at does not change)
}

// flow returns the open form's flow, or nil.
func (c *turn) flow() *flows.FlowDef {
	if c.s.Flow == "" {
		return nil
	}
	return c.e.catalog().Flow(c.s.Flow)
}

// day is the message's local date.
func (c *turn) day() string {
	if c.today == "" {
		c.today = c.at.Format(dayLayout)
	}
	return c.today
}

const dayLayout = "2006-01-02"

// converse runs fn with the worker's session loaded (and dropped when
// idle too long, with a note before the reply) and stores it afterwards
// when it changed.
func (e *Engine) converse(ctx context.Context, in flows.Inbound, w flows.Worker, fn func(*turn) (string, error)) (string, error) {
	now := e.now()
	s, before, notice, err := e.loadSession(ctx, w.OpenID, now)
	if err != nil {
		return "", err
	}
	at := in.At
	if at.IsZero() {
		at = now
	}
	c := &turn{ctx: ctx, e: e, w: w, s: s, msgKey: in.MsgKey, at: at.In(e.zone())}
	reply, err := fn(c)
	if err != nil {
		return "", err
	}
	if s.Flow != "" && s.FormID == "" {
		// The message that opened the form names it.
		s.FormID = in.MsgKey
	}
	if err := e.storeSession(ctx, w.OpenID, s, before, now); err != nil {
		if !c.saved {
			return "", err
		}
		// The report is saved (its form id keeps a repeated confirmation
		// from saving it again): say so rather than apologise.
		e.log().Error("flows: store session after a save", "openid", w.OpenID, "err", err)
	}
	if notice != "" {
		reply = notice + "\n" + reply
	}
	return reply, nil
}

func (e *Engine) sessionKey(openID string) string { return e.SessionPrefix + openID }

// loadSession reads the session, with the fingerprint it was stored with;
// before is nil when none is stored (the fingerprint of no session, which
// storeSession tells by blank rather than by building the new one's). An
// open form idle for longer than the TTL is dropped and notice says so
// (once: the drop is stored).
func (e *Engine) loadSession(ctx context.Context, openID string, now time.Time) (s *session, before []byte, notice string, err error) {
	s = &session{}
	b, err := e.Sessions.Get(ctx, e.sessionKey(openID))
	switch {
	case flows.ErrorCode(err) == flows.ENotFound:
		s.storedIdle = true
		return s, nil, "", nil
	case flows.ErrorCode(err) == flows.EExpired:
		// The session store lost an open form (a restart without
		// persistence): announced as a timed-out one.
		s.storedIdle = true
		return s, nil, "上次未完成的记录因系统重启已丢失，未保存，请重新开始。", nil
	case err != nil:
		return nil, nil, "", err
	}
	if err := json.Unmarshal(b, s); err != nil {
		e.log().Warn("flows: unreadable session dropped", "openid", openID, "err", err)
		return &session{}, []byte("unreadable"), "", nil
	}
	before = s.fingerprint()
	s.storedIdle = s.idle()
	if (s.Flow != "" || s.Step != "") && now.Sub(s.LastActive) > e.ttl() {
		if f := e.catalog().Flow(s.Flow); f != nil {
			notice = "上次未完成的" + f.Short + "记录已超时，未保存。"
		}
		s.reset()
	}
	return s, before, notice, nil
}

// storeSession writes the session when it changed, or refreshes its idle
// time when that is getting old; an emptied session is deleted. Nothing is
// written when nothing changed, nor when the change is only a one-line
// report completed from an idle session: most messages cost one read.
func (e *Engine) storeSession(ctx context.Context, openID string, s *session, before []byte, now time.Time) error {
	var changed bool
	if before == nil {
		// Nothing was stored: changed unless there is still nothing (most
		// messages of an idle worker), told without a json.Marshal.
		changed = !s.blank()
	} else {
		changed = !bytes.Equal(before, s.fingerprint())
	}
	if changed && s.storedIdle && s.idle() && s.Done != nil && s.DoneOneLine {
		// Done only serves to answer this message again the same way if it
		// is delivered again. Left unwritten, the stored session is still
		// the one this message started from, so a redelivery is handled
		// again from the same state to the same report, which the store
		// dedupes by its MsgKey: the same answer, counted once, and no
		// session write per one-line report.
		return nil
	}
	if s.empty() {
		if !changed {
			return nil
		}
		return e.Sessions.Delete(ctx, e.sessionKey(openID))
	}
	if !changed && now.Sub(s.LastActive) < e.ttl()/10 {
		return nil
	}
	s.LastActive = now
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return e.Sessions.Set(ctx, e.sessionKey(openID), b, e.ttl()+24*time.Hour)
}
