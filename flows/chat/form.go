package chat

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gridbot/flows"

	"gridbot/flows/zh"
)

// applies reports whether a field is asked given the answers so far.
// decided is false while the kind its "when" depends on is not answered.
func applies(fd *flows.FieldDef, answers map[string]string) (yes, decided bool) {
	if fd.When == "" {
		return true, true
	}
	k, ok := answers["kind"]
	if !ok || k == "" {
		return false, false
	}
	// A visit of several kinds (chronic,elderly) asks what any of them does.
	for x := range strings.SplitSeq(k, ",") {
		if flows.WhenNames(fd.When, x) {
			return true, true
		}
	}
	return false, true
}

// numbered lists the fields the step-by-step form may ask, in order: the
// n/N of the questions. N stays the same within a form whatever the kind:
// a field the kind does not ask (血压 on an elderly visit) keeps its
// number and is passed over, so the last question is always N/N. LineOnly
// fields are not among them (see editable for the 修改 list).
func numbered(f *flows.FlowDef) []*flows.FieldDef {
	var out []*flows.FieldDef
	for i := range f.Fields {
		if fd := &f.Fields[i]; !fd.LineOnly {
			out = append(out, fd)
		}
	}
	return out
}

// nextField is the next field to ask, "" when the form is complete: in a
// step-by-step form every applicable unanswered field but LineOnly ones; in
// a quick (one-line) form only required ones. Fields in Ask (a bad value
// of a one-line report) are asked in both.
func nextField(f *flows.FlowDef, s *session) string {
	for i := range f.Fields {
		fd := &f.Fields[i]
		if s.NoHousehold && fd.Type == flows.FieldHousehold {
			continue
		}
		if yes, _ := applies(fd, s.Answers); !yes {
			continue
		}
		if _, ok := s.Answers[fd.Key]; ok {
			continue
		}
		asked := slices.Contains(s.Ask, fd.Key)
		switch {
		case asked:
			return fd.Key
		case fd.LineOnly:
		case !s.Quick || !fd.Optional:
			return fd.Key
		}
	}
	return ""
}

// advance moves the form on after an answer: the next question, the
// confirmation, or (a quick form) the save.
func (e *Engine) advance(c *turn) (string, error) {
	f := c.flow()
	s := c.s
	if s.Answers == nil {
		s.Answers = map[string]string{}
	}
	if s.DayAsk != "" {
		s.Step = stepDayAsk
		return dayAskPrompt(s), nil
	}
	if f.TimesMax > 0 && float64(s.Times) > f.TimesMax && !s.TimesOK {
		s.Step = stepTimes
		return timesPrompt(f, s), nil
	}
	if hf := fieldOfType(f, flows.FieldHousehold); hf != nil && s.Times > 1 && !s.NoHousehold && s.Answers[hf.Key] == "" {
		s.Step = stepHouseholds
		return e.householdsPrompt(f, s), nil
	}
	if key := nextField(f, s); key != "" {
		s.Step = key
		return e.ask(c, f, f.Field(key)), nil
	}
	if s.Quick {
		return e.complete(c, true)
	}
	s.Step = stepConfirm
	return e.confirmText(c, f), nil
}

// ask formats a field's question: "2/4 走访类型：1 慢病随访 2 …", with the
// flow's name in front of the first question of a form. A field outside
// the step-by-step numbering (LineOnly) is asked without n/N.
func (e *Engine) ask(c *turn, f *flows.FlowDef, fd *flows.FieldDef) string {
	vis := numbered(f)
	var b strings.Builder
	if len(c.s.History) == 0 && !c.s.Editing {
		b.WriteString("【" + f.Name + "】")
	}
	if n := slices.Index(vis, fd) + 1; n > 0 {
		fmt.Fprintf(&b, "%d/%d ", n, len(vis))
	}
	fmt.Fprintf(&b, "%s：", fd.Prompt)
	if fd.Type == flows.FieldKind {
		for i, k := range f.Kinds {
			if i > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "%d %s", i+1, k.Name)
		}
	}
	return b.String()
}

// stepDay asks for the report's day again after a one-line report named
// one that cannot be used (11月31日, 明天). Field keys never start with "@".
const stepDay = "@day"

// dayPrompt asks for the day at stepDay.
const dayPrompt = "请回复日期，如 11月27日、昨天、今天："

// currentStep is the question the open form is waiting for ("" when none).
func (e *Engine) currentStep(c *turn) string {
	f := c.flow()
	if f == nil {
		return ""
	}
	switch c.s.Step {
	case stepDay:
		return "【" + f.Name + "】" + dayPrompt
	case stepConfirm:
		return e.confirmText(c, f)
	case stepEdit:
		return e.editPrompt(c, f)
	case stepUndo:
		return ""
	case stepHouseholds:
		return e.householdsPrompt(f, c.s)
	case stepDayAsk:
		return dayAskPrompt(c.s)
	case stepTimes:
		return timesPrompt(f, c.s)
	case stepAgain:
		return ""
	}
	if fd := f.Field(c.s.Step); fd != nil {
		return e.ask(c, f, fd)
	}
	return ""
}

// formInput handles text while a form is open.
func (e *Engine) formInput(c *turn, t string) (string, error) {
	f := c.flow()
	s := c.s
	switch s.Step {
	case stepConfirm:
		return e.confirmInput(c, f, t)
	case stepEdit:
		return e.editInput(c, f, t)
	case stepDay:
		return e.dayInput(c, f, t)
	case stepHouseholds:
		return e.householdsInput(c, f, t)
	case stepDayAsk, stepAgain:
		return e.yesNoInput(c, f, t)
	case stepTimes:
		return e.timesInput(c, f, t)
	}
	fd := f.Field(s.Step)
	if fd == nil { // the catalog changed under an open form
		return e.advance(c)
	}
	q := e.ask(c, f, fd)
	switch {
	case isCancel(t):
		s.reset()
		return "已取消，本次" + f.Short + "记录未保存。", nil
	case isBack(t):
		return e.back(c, f)
	case isHelp(t):
		return e.stepHelp(f, fd) + "\n" + q, nil
	case isSkip(t):
		if !fd.Optional {
			return "这一项必须填写，不能跳过（不想记了请回复\"取消\"）。\n" + q, nil
		}
		e.answer(s, fd.Key, "")
		return e.advance(c)
	case busyCommand(t):
		return msgBusyForm + "\n" + q, nil
	}
	if reply, ok, err := e.interrupt(c, t, fd.Type == flows.FieldText); ok || err != nil {
		return reply, err
	}
	if zh.IsQuestion(t) {
		// A question is never an answer (issue 9, rule 10): it is
		// answered with the step's help and the step asked again.
		return e.stepHelp(f, fd) + "\n" + q, nil
	}
	val, msg := e.parseAnswer(c, f, fd, t, c.raw)
	if msg != "" && fd.Type == flows.FieldCounter && f.FollowUp == flows.FollowRecheck && fd.Key == f.RecheckCounter {
		if reply, ok, err := e.recheckCount(c, f, fd, t); ok || err != nil {
			return reply, err
		}
	}
	if msg != "" {
		return msg + "\n" + q, nil
	}
	e.answer(s, fd.Key, val)
	if fd.Type == flows.FieldKind {
		// Values stated earlier that this kind does not record (a blood
		// pressure for an elderly visit) are dropped, and the worker told.
		if lost := dropInapplicable(f, s.Answers); len(lost) > 0 {
			reply, err := e.advance(c)
			return strings.Join(lost, "\n") + "\n" + reply, err
		}
	}
	return e.advance(c)
}

// dayInput handles the answer at stepDay: a date, then the form goes on.
func (e *Engine) dayInput(c *turn, f *flows.FlowDef, t string) (string, error) {
	s := c.s
	q := e.currentStep(c)
	switch {
	case isCancel(t):
		s.reset()
		return "已取消，本次" + f.Short + "记录未保存。", nil
	case isHelp(t):
		return "写这次工作是哪天做的，如 11月27日、昨天；今天做的回复\"今天\"。回复\"取消\"不记了。\n" + q, nil
	case isSkip(t) || isBack(t):
		return "日期必须填写（今天做的回复\"今天\"，不想记了请回复\"取消\"）。\n" + q, nil
	case busyCommand(t):
		return msgBusyForm + "\n" + q, nil
	}
	if reply, ok, err := e.interrupt(c, t, false); ok || err != nil {
		return reply, err
	}
	d, err := zh.ParseDay(t, c.at)
	if err != nil {
		return dateError(err, t) + "\n" + q, nil
	}
	s.Day = d.Time.Format(dayLayout)
	s.DayAsk = ""
	if d.Confirm {
		s.DayAsk = d.Label()
	}
	s.Step = ""
	return e.advance(c)
}

// timesPrompt asks to confirm a Times above the flow's plausible ceiling
// (issue 9, rule 3): "共 2,000 户 超出常见范围（一般不超过 1,000 户）。…".
func timesPrompt(f *flows.FlowDef, s *session) string {
	return "【" + f.Name + "】共 " + fmtNum(float64(s.Times)) + " " + f.Unit + " 超出常见范围（一般不超过 " +
		fmtNum(f.TimesMax) + " " + f.Unit + "）。确认无误请回复\"确认 " + itoa(s.Times) + "\"，有误请回复正确的数字。"
}

// timesInput reads the answer to timesPrompt: "确认 N", or the right number.
func (e *Engine) timesInput(c *turn, f *flows.FlowDef, t string) (string, error) {
	s := c.s
	if isCancel(t) {
		s.reset()
		return "已取消，本次" + f.Short + "记录未保存。", nil
	}
	if reply, ok, err := e.interrupt(c, t, false); ok || err != nil {
		return reply, err
	}
	rest, confirmed := strings.CutPrefix(t, "确认")
	n, err := zh.Number(strings.TrimSpace(rest))
	switch {
	case err != nil || n.Value < 1 || n.Value != float64(int(n.Value)) || n.Value > 1e9 || n.Unit != "" && !f.CountsTimes(n.Unit):
		return "请回复数字，如 " + itoa(min(s.Times, int(f.TimesMax))) + "。\n" + timesPrompt(f, s), nil
	case confirmed && int(n.Value) != s.Times:
		return timesPrompt(f, s), nil
	}
	s.Times, s.TimesOK = int(n.Value), confirmed
	s.Step = ""
	return e.advance(c)
}

// dayAskPrompt asks to confirm a day written without a year that is more
// than 60 days back (issue 9, rule 8).
func dayAskPrompt(s *session) string {
	return "你说的是 " + s.DayAsk + " 吗？1 是 0 不是"
}

// yesNoInput handles the answer to a yes/no question before saving: the
// day (stepDayAsk) or recording a visit again (stepAgain).
func (e *Engine) yesNoInput(c *turn, f *flows.FlowDef, t string) (string, error) {
	s := c.s
	yes := t == "1" || t == "是" || t == "对" || t == "记" || t == "确认" || t == "好"
	no := t == "0" || t == "不是" || t == "不对" || t == "不记" || t == "否"
	switch {
	case isCancel(t) || no && s.Step == stepAgain:
		s.reset()
		return "已取消，本次" + f.Short + "记录未保存。", nil
	case no:
		s.DayAsk = ""
		s.Step = stepDay
		return e.currentStep(c), nil
	case yes && s.Step == stepDayAsk:
		s.DayAsk = ""
		s.Step = ""
		return e.advance(c)
	case yes:
		s.Again = true
		s.Step = ""
		return e.complete(c, s.Quick)
	}
	if reply, ok, err := e.interrupt(c, t, false); ok || err != nil {
		return reply, err
	}
	if s.Step == stepDayAsk {
		return "请回复 1 或 0。\n" + dayAskPrompt(s), nil
	}
	return "请回复 1 记，0 不记。", nil
}

// dropInapplicable removes the answers of fields the chosen kind does not
// record (垃圾 for a publicity campaign, 血压 for an elderly visit) and
// returns a note for each: "未记录垃圾 3 吨：只有环境清理记这一项。"
func dropInapplicable(f *flows.FlowDef, answers map[string]string) []string {
	var out []string
	for i := range f.Fields {
		fd := &f.Fields[i]
		v, ok := answers[fd.Key]
		if !ok {
			continue
		}
		if yes, decided := applies(fd, answers); yes || !decided {
			continue
		}
		delete(answers, fd.Key)
		if v == "" {
			continue
		}
		what := fd.Name + " " + v
		if fd.Type == flows.FieldCounter {
			k := f.Counter(fd.Key)
			x, err := strconv.ParseFloat(v, 64)
			if k == nil || err != nil || x == 0 {
				continue
			}
			what = k.Name + " " + fmtNum(x) + " " + k.Unit
		}
		kinds, _ := flows.ParseWhen(fd.When)
		var names []string
		for _, key := range kinds {
			if k := f.Kind(key); k != nil {
				names = append(names, k.Name)
			}
		}
		out = append(out, "未记录"+what+"：只有"+strings.Join(names, "、")+"记这一项。")
	}
	return out
}

// answer records a field's answer.
func (e *Engine) answer(s *session, key, val string) {
	if s.Answers == nil {
		s.Answers = map[string]string{}
	}
	s.Answers[key] = val
	s.History = append(s.History, key)
	s.Ask = slices.DeleteFunc(s.Ask, func(k string) bool { return k == key })
	s.Editing = false
}

// interrupt answers a question asked in the middle of a form (本月统计,
// 待办) and asks the current step again. ok is false when t is not a
// question. In a free-text step only exact command words count.
func (e *Engine) interrupt(c *turn, t string, freeText bool) (string, bool, error) {
	if !looksLikeQuestion(t, freeText) {
		return "", false, nil
	}
	before := c.s.fingerprint()
	reply, _, err := e.runCommand(c, t, false, formAsk)
	if err != nil {
		return "", true, err
	}
	if !slices.Equal(before, c.s.fingerprint()) {
		return reply, true, nil // the question started another form (待办 → 走访 1)
	}
	q := e.currentStep(c)
	return cutText(reply, MaxReplyBytes-len(q)-200) + "\n" + q, true, nil
}

// back goes to the previous question (or from a change back to the
// confirmation).
func (e *Engine) back(c *turn, f *flows.FlowDef) (string, error) {
	s := c.s
	if s.Editing {
		s.Editing = false
		s.Step = stepConfirm
		return e.confirmText(c, f), nil
	}
	if len(s.History) == 0 {
		return "已经是第一步了。\n" + e.currentStep(c), nil
	}
	last := s.History[len(s.History)-1]
	s.History = s.History[:len(s.History)-1]
	delete(s.Answers, last)
	s.Step = last
	fd := f.Field(last)
	if fd == nil {
		return e.advance(c)
	}
	return e.ask(c, f, fd), nil
}

// stepHelp explains a step of flow f.
func (e *Engine) stepHelp(f *flows.FlowDef, fd *flows.FieldDef) string {
	h := fd.Help
	if h == "" {
		h = fieldTypeOf(fd).help(f)
	}
	ctl := "回复\"返回\"回到上一步，\"取消\"不记了"
	if fd.Optional {
		ctl += "，\"跳过\"不填这一项"
	}
	return h + ctl + "。"
}

// Answer limits, in characters.
const (
	maxTargetRunes = 40
	maxTextRunes   = 200
)
