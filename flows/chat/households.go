package chat

import (
	"strconv"
	"strings"

	"gridbot/flows"
	"gridbot/flows/zh"
)

// A visit of several households in one message (走访3户, 走访二十来户)
// is never a household of its own (issue 9, rule 4): the bot asks for the
// household numbers, which makes one report per household, or accepts
// "不登记户号", which records that many visits with no household (and so
// no follow-ups) and says so.

// noHouseholdWords answer the households step with no household numbers.
var noHouseholdWords = []string{"不登记户号", "不登记", "不记户号", "没有户号", "不填户号"}

// householdsPrompt asks the household numbers of s.Times visits.
func (e *Engine) householdsPrompt(f *flows.FlowDef, s *session) string {
	n := strconv.Itoa(s.Times)
	return "【" + f.Name + "】共 " + n + " " + f.Unit + "：请回复这 " + n + " " + f.Unit +
		"的户号（空格隔开，如 3-2-201 3-2-202），或回复\"不登记户号\"（只记 " + n + " 次走访，不安排随访）。"
}

// householdsInput handles the answer at stepHouseholds.
func (e *Engine) householdsInput(c *turn, f *flows.FlowDef, t string) (string, error) {
	s := c.s
	q := e.householdsPrompt(f, s)
	switch {
	case isCancel(t):
		s.reset()
		return "已取消，本次" + f.Short + "记录未保存。", nil
	case isHelp(t) || zh.IsQuestion(t):
		return "走访了几户就写几个户号；不知道户号就回复\"不登记户号\"。回复\"取消\"不记了。\n" + q, nil
	case busyCommand(t):
		return msgBusyForm + "\n" + q, nil
	}
	if _, _, ok := zh.MatchWord(t, noHouseholdWords); ok {
		s.NoHousehold = true
		s.Step = ""
		return e.advance(c)
	}
	if reply, ok, err := e.interrupt(c, t, false); ok || err != nil {
		return reply, err
	}
	hs := e.findHouseholds(f, t)
	if len(hs) != s.Times {
		return "你说共 " + strconv.Itoa(s.Times) + " " + f.Unit + "，这里认出 " + strconv.Itoa(len(hs)) + " 个户号。\n" + q, nil
	}
	hf := fieldOfType(f, flows.FieldHousehold)
	s.Households = hs
	s.Answers[hf.Key] = hs[0]
	s.Step = ""
	return e.advance(c)
}

// findHouseholds returns every household named in t, with its estate,
// each once.
func (e *Engine) findHouseholds(f *flows.FlowDef, t string) []string {
	var out []string
	stop := e.stopWords()
	for rest := t; ; {
		h, ok := zh.FindHouseholdID(rest, stop)
		if !ok {
			return out
		}
		if id := h.String(); !containsStr(out, id) {
			out = append(out, id)
		}
		rest = rest[h.End:]
	}
}

func containsStr(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// stopWords are the catalog's flow and kind words: they end the text
// before an estate name (走访阳光花园… is the estate 阳光花园).
func (e *Engine) stopWords() []string { return e.derived().stopWords }

// buildStopWords builds stopWords from c.
func buildStopWords(c *flows.Catalog) []string {
	var out []string
	for _, f := range c.Flows {
		out = append(out, f.Words...)
		for _, k := range f.Kinds {
			out = append(out, k.Words...)
		}
	}
	return out
}

// saveHouseholds saves one report per household of s.Households, each
// with its follow-ups, and answers with one ack for all.
func (e *Engine) saveHouseholds(c *turn, f *flows.FlowDef) (string, error) {
	s := c.s
	hf := fieldOfType(f, flows.FieldHousehold)
	hs := s.Households
	var last flows.Report
	for i, hh := range hs {
		s.Answers[hf.Key] = hh
		r := e.buildReport(c, f)
		r.Times = 0
		if c.msgKey != "" {
			r.MsgKey = c.msgKey + "#" + strconv.Itoa(i+1)
		}
		saved, _, err := e.Store.SaveReport(c.ctx, r)
		if err != nil {
			return "", err
		}
		last = saved
	}
	answers := s.Answers
	s.reset()
	if last.MsgKey != "" {
		s.Done, s.DoneOneLine = &last, true // a redelivery is answered, not saved again
	}
	delete(answers, hf.Key)
	var b strings.Builder
	b.WriteString("✅ 已记录" + f.Name + " " + strconv.Itoa(len(hs)) + " " + f.Unit + "：" + strings.Join(hs, "、"))
	if parts := e.parts(f, answers, true); len(parts) > 0 {
		b.WriteString("，" + strings.Join(parts, "，"))
	}
	b.WriteString("。")
	line, err := e.tallyLine(c, f, last)
	if err != nil {
		return "", err
	}
	b.WriteString(line)
	if last.NextDue != "" {
		b.WriteString(f.DueLabel + " " + last.NextDue + "。")
	}
	return b.String(), nil
}
