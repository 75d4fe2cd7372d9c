package chat

import (
	"context"
	"time"

	"gridbot/flows"
)

// Begin starts a report form for w as if the worker had asked for it, with
// some fields already answered (a follow-up's household and kind), and
// returns the reply to send: the first question still open, or, when
// prefill answers every field that applies, the ack of the saved report
// (saved with msgKey as its dedupe key). The form then goes on with the
// worker's next messages, step by step, ending with the confirmation.
//
// prefill keys are the flow's field keys (FieldDef.Key). For the shipped
// flows: visit "household", "kind", "bp", "glucose", "note"; inspection "place",
// "kind", "issues_found", "note"; campaign "kind", "leaflets",
// "participants", "garbage_tons", "note". Values are checked like typed
// answers ("3栋2单元201" becomes "3-2-201"; a kind may be its key, name or
// one of its words). Two more keys: "day" ("2006-01-02", the report's day;
// default at's date in the engine's zone) and "next_due" ("2006-01-02").
// A bad key or value is an EInvalid error and nothing changes.
//
// Begin reads and writes w's session itself (the 待办 command, inside a
// message's turn, calls begin with that turn instead). Any open form of w
// is replaced.
func (e *Engine) Begin(ctx context.Context, w flows.Worker, flow string, prefill map[string]string, msgKey string, at time.Time) (reply string, err error) {
	f := e.catalog().Flow(flow)
	if f == nil {
		return "", flows.Errorf(flows.EInvalid, "begin: unknown flow %q", flow)
	}
	if at.IsZero() {
		at = e.now()
	}
	in := flows.Inbound{MsgKey: msgKey, OpenID: w.OpenID, At: at}
	return e.converse(ctx, in, w, func(c *turn) (string, error) { return e.begin(c, f, prefill) })
}

func (e *Engine) begin(c *turn, f *flows.FlowDef, prefill map[string]string) (string, error) {
	s := &session{Flow: f.Key, Day: c.day(), Answers: map[string]string{}, LastActive: c.s.LastActive}
	tmp := &turn{ctx: c.ctx, e: e, w: c.w, s: s, msgKey: c.msgKey, at: c.at}
	if d, ok := prefill["day"]; ok {
		day, err := time.ParseInLocation(dayLayout, d, c.at.Location())
		if err != nil || day.After(c.at) || day.Before(c.at.AddDate(-1, 0, -1)) {
			return "", flows.Errorf(flows.EInvalid, "begin: day %q: want a date within the past year", d)
		}
		s.Day = d
	}
	if d, ok := prefill["next_due"]; ok {
		due, err := time.Parse(dayLayout, d)
		if err != nil || due.Format(dayLayout) <= s.Day {
			return "", flows.Errorf(flows.EInvalid, "begin: next_due %q: want a date after the report's day", d)
		}
		s.NextDue = d
	}
	// The kind first: whether other fields apply depends on it.
	keys := make([]string, 0, len(prefill))
	if _, ok := prefill["kind"]; ok {
		keys = append(keys, "kind")
	}
	for k := range prefill {
		if k != "kind" && k != "day" && k != "next_due" {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		fd := f.Field(k)
		if fd == nil {
			return "", flows.Errorf(flows.EInvalid, "begin: flow %q has no field %q", f.Key, k)
		}
		val, msg := e.parseAnswer(tmp, f, fd, normalize(prefill[k]), prefill[k])
		if msg != "" {
			return "", flows.Errorf(flows.EInvalid, "begin: field %q: %s", k, msg)
		}
		s.Answers[k] = val
	}
	*c.s = *s
	if nextField(f, s) == "" {
		return e.complete(c, true)
	}
	return e.advance(c)
}
