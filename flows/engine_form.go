package flows

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gridbot/flows/zh"
)

// applies reports whether a field is asked given the answers so far.
// decided is false while the kind its "when" depends on is not answered.
func applies(fd *FieldDef, answers map[string]string) (yes, decided bool) {
	if fd.When == "" {
		return true, true
	}
	kinds, _ := parseWhen(fd.When)
	k, ok := answers["kind"]
	if !ok || k == "" {
		return false, false
	}
	return slices.Contains(kinds, k), true
}

// numbered lists the fields the step-by-step form may ask, in order: the
// n/N of the questions. N stays the same within a form whatever the kind:
// a field the kind does not ask (血压 on an elderly visit) keeps its
// number and is passed over, so the last question is always N/N. LineOnly
// fields are not among them (see editable for the 修改 list).
func numbered(f *FlowDef) []*FieldDef {
	var out []*FieldDef
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
func nextField(f *FlowDef, s *session) string {
	for i := range f.Fields {
		fd := &f.Fields[i]
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
func (e *Engine) advance(c *conv) (string, error) {
	f := c.flow()
	s := c.s
	if s.Answers == nil {
		s.Answers = map[string]string{}
	}
	if key := nextField(f, s); key != "" {
		s.Step = key
		return e.ask(c, f, f.field(key)), nil
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
func (e *Engine) ask(c *conv, f *FlowDef, fd *FieldDef) string {
	vis := numbered(f)
	var b strings.Builder
	if len(c.s.History) == 0 && !c.s.Editing {
		b.WriteString("【" + f.Name + "】")
	}
	if n := slices.Index(vis, fd) + 1; n > 0 {
		fmt.Fprintf(&b, "%d/%d ", n, len(vis))
	}
	fmt.Fprintf(&b, "%s：", fd.Prompt)
	if fd.Type == FieldKind {
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
func (e *Engine) currentStep(c *conv) string {
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
	}
	if fd := f.field(c.s.Step); fd != nil {
		return e.ask(c, f, fd)
	}
	return ""
}

// formInput handles text while a form is open.
func (e *Engine) formInput(c *conv, t string) (string, error) {
	f := c.flow()
	s := c.s
	switch s.Step {
	case stepConfirm:
		return e.confirmInput(c, f, t)
	case stepEdit:
		return e.editInput(c, f, t)
	case stepDay:
		return e.dayInput(c, f, t)
	}
	fd := f.field(s.Step)
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
	case isUndo(t):
		return msgBusyForm + "\n" + q, nil
	}
	if reply, ok, err := e.interrupt(c, t, fd.Type == FieldText); ok || err != nil {
		return reply, err
	}
	val, msg := e.parseAnswer(c, f, fd, t, c.raw)
	if msg != "" && fd.Type == FieldCounter && f.FollowUp == "recheck" && fd.Key == f.RecheckCounter {
		if reply, ok, err := e.recheckCount(c, f, fd, t); ok || err != nil {
			return reply, err
		}
	}
	if msg != "" {
		return msg + "\n" + q, nil
	}
	e.answer(s, fd.Key, val)
	if fd.Type == FieldKind {
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
func (e *Engine) dayInput(c *conv, f *FlowDef, t string) (string, error) {
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
	case isUndo(t):
		return msgBusyForm + "\n" + q, nil
	}
	if reply, ok, err := e.interrupt(c, t, false); ok || err != nil {
		return reply, err
	}
	d, err := zh.Date(t, c.at)
	if err != nil {
		return dateError(err, t) + "\n" + q, nil
	}
	s.Day = d.In(c.at.Location()).Format(dayLayout)
	s.Step = ""
	return e.advance(c)
}

// dropInapplicable removes the answers of fields the chosen kind does not
// record (垃圾 for a publicity campaign, 血压 for an elderly visit) and
// returns a note for each: "未记录垃圾 3 吨：只有环境清理记这一项。"
func dropInapplicable(f *FlowDef, answers map[string]string) []string {
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
		if fd.Type == FieldCounter {
			k := f.Counter(fd.Key)
			x, err := strconv.ParseFloat(v, 64)
			if k == nil || err != nil || x == 0 {
				continue
			}
			what = k.Name + " " + fmtNum(x) + " " + k.Unit
		}
		kinds, _ := parseWhen(fd.When)
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
func (e *Engine) interrupt(c *conv, t string, freeText bool) (string, bool, error) {
	if !looksLikeQuestion(t, freeText) {
		return "", false, nil
	}
	before := c.s.fingerprint()
	reply, ok, err := e.question(c, t)
	if err != nil {
		return "", true, err
	}
	if !ok {
		reply = msgQuestion
	}
	if !slices.Equal(before, c.s.fingerprint()) {
		return reply, true, nil // the question started another form (待办 → 走访 1)
	}
	q := e.currentStep(c)
	return cutText(reply, MaxReplyBytes-len(q)-200) + "\n" + q, true, nil
}

// back goes to the previous question (or from a change back to the
// confirmation).
func (e *Engine) back(c *conv, f *FlowDef) (string, error) {
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
	fd := f.field(last)
	if fd == nil {
		return e.advance(c)
	}
	return e.ask(c, f, fd), nil
}

// confirmText is "请确认：3-2-201｜慢病随访｜血压 150/95｜按时服药。回复 1 保存，2 修改，0 取消。"
func (e *Engine) confirmText(c *conv, f *FlowDef) string {
	parts := e.parts(f, c.s.Answers, true)
	parts = append(parts, e.extraParts(f, c.s, c.day())...)
	return "请确认：" + strings.Join(parts, "｜") + "。回复 1 保存，2 修改，0 取消。"
}

// extraParts shows what is not a field: a date other than today, a stated
// next date or deadline, rectified, attachments.
func (e *Engine) extraParts(f *FlowDef, s *session, today string) []string {
	var out []string
	if s.Day != "" && s.Day != today {
		out = append(out, "日期 "+dateCN(s.Day))
	}
	if s.NextDue != "" && f.FollowUp == "kind" {
		out = append(out, f.DueLabel+" "+s.NextDue)
	}
	if f.FollowUp == "recheck" {
		// 已整改 is said once: not again when the note says it.
		if s.Rectified {
			if !rectifiedRe.MatchString(s.Answers[noteField(f)]) {
				out = append(out, "已整改")
			}
		} else if s.Deadline > 0 {
			out = append(out, "限期 "+itoa(s.Deadline)+" 天整改")
		}
	}
	if s.Location != nil {
		out = append(out, "已附位置")
	}
	if len(s.Images) > 0 {
		out = append(out, "照片 "+itoa(len(s.Images))+" 张")
	}
	return out
}

// parts formats the applicable non-empty answers in field order: a target
// as is, a kind by name, a counter as "资料 400 份", others with their label.
// withKind false leaves out a kind whose name the flow's name already says
// (宣传 in 宣传活动).
func (e *Engine) parts(f *FlowDef, answers map[string]string, withKind bool) []string {
	var out []string
	for i := range f.Fields {
		fd := &f.Fields[i]
		if yes, decided := applies(fd, answers); !yes && decided {
			continue
		}
		v := answers[fd.Key]
		if v == "" {
			continue
		}
		switch fd.Type {
		case FieldKind:
			k := f.Kind(v)
			if k == nil {
				continue
			}
			if withKind || !strings.Contains(f.Name, k.Name) {
				out = append(out, k.Name)
			}
		case FieldCounter:
			k := f.Counter(fd.Key)
			x, err := strconv.ParseFloat(v, 64)
			if k == nil || err != nil || x == 0 {
				continue
			}
			out = append(out, k.Name+" "+fmtNum(x)+" "+k.Unit)
		default:
			if fd.Label != "" {
				v = fd.Label + " " + v
			}
			out = append(out, v)
		}
	}
	return out
}

func (e *Engine) confirmInput(c *conv, f *FlowDef, t string) (string, error) {
	s := c.s
	switch {
	case t == "1" || t == "保存" || t == "确认" || t == "是" || t == "好" || t == "对":
		return e.complete(c, false)
	case t == "2" || t == "修改":
		s.Step = stepEdit
		return e.editPrompt(c, f), nil
	case t == "0" || isCancel(t):
		s.reset()
		return "已取消，本次" + f.Short + "记录未保存。", nil
	case isBack(t):
		return e.back(c, f)
	case isHelp(t):
		return "核对上面的内容：没问题回复 1 保存；要改某一项回复 2；不记了回复 0。\n" + e.confirmText(c, f), nil
	case isSkip(t):
		return "已经填完了。\n" + e.confirmText(c, f), nil
	case isUndo(t):
		return msgBusyForm + "\n" + e.confirmText(c, f), nil
	}
	if reply, ok, err := e.interrupt(c, t, false); ok || err != nil {
		return reply, err
	}
	return "请回复 1 保存，2 修改，0 取消。\n" + e.confirmText(c, f), nil
}

// editPrompt is "修改哪一项？回复序号：1 户号 2 走访类型 3 血压 4 备注".
func (e *Engine) editPrompt(c *conv, f *FlowDef) string {
	var b strings.Builder
	b.WriteString("修改哪一项？回复序号：")
	for i, fd := range e.editable(c, f) {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%d %s", i+1, fd.Name)
	}
	b.WriteString("（回复\"返回\"不改）")
	return b.String()
}

// editable lists the fields that apply now, for the 修改 list: LineOnly
// ones too, so a value from a one-line report can be corrected or added.
func (e *Engine) editable(c *conv, f *FlowDef) []*FieldDef {
	var out []*FieldDef
	for i := range f.Fields {
		if yes, _ := applies(&f.Fields[i], c.s.Answers); yes {
			out = append(out, &f.Fields[i])
		}
	}
	return out
}

func (e *Engine) editInput(c *conv, f *FlowDef, t string) (string, error) {
	s := c.s
	list := e.editable(c, f)
	switch {
	case isBack(t):
		s.Step = stepConfirm
		return e.confirmText(c, f), nil
	case isCancel(t):
		s.reset()
		return "已取消，本次" + f.Short + "记录未保存。", nil
	case isHelp(t):
		return "回复要修改的那一项的序号，如 1。\n" + e.editPrompt(c, f), nil
	}
	n, err := strconv.Atoi(t)
	if err != nil || n < 1 || n > len(list) {
		if reply, ok, err := e.interrupt(c, t, false); ok || err != nil {
			return reply, err
		}
		return fmt.Sprintf("请回复 1–%d 的序号。\n", len(list)) + e.editPrompt(c, f), nil
	}
	fd := list[n-1]
	s.Step = fd.Key
	s.Editing = true
	return e.ask(c, f, fd), nil
}

// stepHelp explains a step of flow f.
func (e *Engine) stepHelp(f *FlowDef, fd *FieldDef) string {
	h := fd.Help
	if h == "" {
		switch fd.Type {
		case FieldHousehold:
			h = "填户号，如 3-2-201 或 3栋2单元201，也可以写地址。"
		case FieldPlace:
			h = "填巡查的地点，如 菜市场、3号楼楼道。"
		case FieldKind:
			example := "1"
			if len(f.Kinds) > 0 {
				k := f.Kinds[0]
				example = "1 或 " + k.Name
				if len(k.Words) > 0 {
					example = "1 或 " + k.Words[0]
				}
			}
			h = "回复序号或类型名称，如 " + example + "。"
		case FieldBP:
			h = "填高压/低压，如 150/95。"
		case FieldGlucose:
			h = "填血糖值（mmol/L），如 7.2。"
		case FieldCounter:
			h = "填数字，如 35，也可以写 三十五、四百余。"
		default:
			h = "写几句说明，如 按时服药、限期3天整改、下次随访12月5日。"
		}
	}
	ctl := "回复\"返回\"回到上一步，\"取消\"不记了"
	if fd.Optional {
		ctl += "，\"跳过\"不填这一项"
	}
	return h + ctl + "。"
}

// cleanRaw trims a typed answer: spaces and the full stop voice
// recognition puts at the end.
func cleanRaw(s string) string {
	return strings.TrimSpace(strings.TrimRight(strings.TrimSpace(s), "。.!！~～"))
}

// Answer limits, in characters.
const (
	maxTargetRunes = 40
	maxTextRunes   = 200
)

// parseAnswer checks and normalises a typed answer: t is the normalised
// text, raw the text as typed, which free text (a place, an address, a
// note) keeps. msg, when not empty, says in Chinese what was wrong and what
// is expected.
func (e *Engine) parseAnswer(c *conv, f *FlowDef, fd *FieldDef, t, raw string) (val, msg string) {
	raw = cleanRaw(raw)
	if raw == "" {
		raw = t
	}
	switch fd.Type {
	case FieldHousehold:
		if hh, ok := zh.Household(t); ok {
			return hh, ""
		}
		if runeLen(raw) > maxTargetRunes {
			return "", "地址太长了，请写户号（如 3-2-201）或简短的地址。"
		}
		if !looksLikeAddress(raw) {
			return "", "\"" + raw + "\"不像户号或地址，请写成 3-2-201、3栋2单元201 或 幸福路12号。"
		}
		return raw, ""
	case FieldPlace:
		if runeLen(raw) > maxTargetRunes {
			return "", "地点太长了，请写简短的地点，如 菜市场。"
		}
		if strings.IndexFunc(raw, unicode.IsLetter) < 0 {
			return "", "请写巡查的地点，如 菜市场、3号楼。"
		}
		return raw, ""
	case FieldKind:
		return kindAnswer(f, t)
	case FieldBP:
		return bpAnswer(t)
	case FieldGlucose:
		g, err := zh.Glucose(t)
		switch {
		case errors.Is(err, zh.ErrGlucoseRange):
			return "", "血糖 " + t + " 超出范围，请核对（单位 mmol/L，如 7.2）。"
		case err != nil:
			return "", "请填血糖值，如 7.2。"
		}
		return strconv.FormatFloat(g, 'f', -1, 64), ""
	case FieldCounter:
		hint := ""
		switch {
		case strings.Contains(fd.Prompt, "没有请回复 0"):
			hint = "（没有请回复 0）" // as the prompt says
		case fd.Optional:
			hint = "（没有请回复\"跳过\"）"
		}
		return counterAnswer(f.Counter(fd.Key), hint, t)
	default:
		if runeLen(raw) > maxTextRunes {
			return "", fmt.Sprintf("太长了，请控制在 %d 字以内。", maxTextRunes)
		}
		x, errMsg := parseExtras(t, c.s.Day)
		if errMsg != "" {
			return "", errMsg
		}
		x.apply(c.s)
		return raw, ""
	}
}

func kindAnswer(f *FlowDef, t string) (string, string) {
	bad := fmt.Sprintf("没有这个选项，请回复 1–%d 的序号或类型名称。", len(f.Kinds))
	if n, err := strconv.Atoi(t); err == nil {
		if n < 1 || n > len(f.Kinds) {
			return "", bad
		}
		return f.Kinds[n-1].Key, ""
	}
	if k := f.KindByWord(t); k != nil {
		return k.Key, ""
	}
	if num, err := zh.Number(t); err == nil && num.Unit == "" && num.Value == float64(int(num.Value)) {
		n := int(num.Value)
		if n >= 1 && n <= len(f.Kinds) {
			return f.Kinds[n-1].Key, ""
		}
	}
	return "", bad
}

func bpAnswer(t string) (string, string) {
	sys, dia, err := zh.BloodPressure(t)
	if errors.Is(err, zh.ErrNotBP) {
		if _, _, s, e, ok := zh.FindBloodPressure(t); ok {
			sys, dia, err = zh.BloodPressure(t[s:e])
		}
	}
	switch {
	case errors.Is(err, zh.ErrBPRange):
		return "", "血压 " + t + " 超出范围（高压 50–300，低压 30–200），请核对后重新填写。"
	case err != nil:
		return "", "请按\"高压/低压\"填写，如 150/95；没测请回复\"跳过\"。"
	}
	return fmt.Sprintf("%d/%d", sys, dia), ""
}

// recheckCount reads an answer at the count step of an inspection that is
// more than a number: "已整改" is 0 problems, rectified; "堆放杂物2处" is 2,
// the words kept for the note; "限期3天整改" is the deadline, and the count
// is asked again. ok is false when the answer says none of these.
func (e *Engine) recheckCount(c *conv, f *FlowDef, fd *FieldDef, t string) (string, bool, error) {
	s := c.s
	day := s.Day
	if day == "" {
		day = c.day()
	}
	x, locs, errMsg := findExtras(t, day)
	b := []byte(t)
	for _, l := range locs {
		for i := l[0]; i < l[1]; i++ {
			b[i] = ' '
		}
	}
	k := f.Counter(fd.Key)
	var nums []zh.Num
	for _, n := range zh.Numbers(string(b)) {
		if !addressNumber(t, n.End) && (n.Unit == "" || n.Unit == k.Unit) {
			nums = append(nums, n)
		}
	}
	val := ""
	switch {
	case errMsg != "" || len(nums) > 1:
		return "", false, nil
	case len(nums) == 1:
		if negativeBefore(t, nums[0].Start) > 0 {
			return "", false, nil
		}
		if msg := checkCount(k, nums[0].Value); msg != "" {
			return msg + "\n" + e.ask(c, f, fd), true, nil
		}
		val = strconv.FormatFloat(nums[0].Value, 'f', -1, 64)
		for i := nums[0].Start; i < nums[0].End; i++ {
			b[i] = ' '
		}
	case x.rectified:
		val = "0"
	case x.deadline > 0:
		x.apply(s)
		return "已记下：限期 " + itoa(x.deadline) + " 天整改。\n" + e.ask(c, f, fd), true, nil
	}
	words := strings.IndexFunc(string(b), unicode.IsLetter) >= 0
	if val == "" || !words && !x.rectified && x.deadline == 0 {
		return "", false, nil
	}
	x.apply(s)
	e.answer(s, fd.Key, val)
	if nf := noteField(f); nf != "" && s.Answers[nf] == "" {
		if note := cleanRaw(c.raw); note != "" && runeLen(note) <= maxTextRunes {
			e.answer(s, nf, note)
		}
	}
	reply, err := e.advance(c)
	return reply, true, err
}

// noneWords answer a counter with zero.
var noneWords = map[string]bool{"没有": true, "无": true, "没": true, "零": true, "0": true}

// counterAnswer reads a count; hint follows the example in the message
// that refuses an answer that is not a number.
func counterAnswer(k *CounterDef, hint string, t string) (string, string) {
	if noneWords[t] {
		return "0", ""
	}
	n, err := zh.Number(t)
	if err != nil {
		if errors.Is(err, zh.ErrNegative) {
			return "", "数量不能是负数，请重新填写。"
		}
		return "", "请回复数字，如 35" + hint + "。"
	}
	if msg := checkCount(k, n.Value); msg != "" {
		return "", msg
	}
	return strconv.FormatFloat(n.Value, 'f', -1, 64), ""
}

// checkCount refuses a negative value, a fraction where whole numbers are
// counted, and a value over the counter's ceiling.
func checkCount(k *CounterDef, v float64) string {
	switch {
	case v < 0:
		return "数量不能是负数，请重新填写。"
	case k.Max > 0 && v > k.Max:
		return fmt.Sprintf("%s %s %s 太多了（最多 %s %s），请核对后重新填写。", k.Name, fmtNum(v), k.Unit, fmtNum(k.Max), k.Unit)
	case !k.Decimals && v != float64(int64(v)):
		return k.Name + "要填整数，请重新填写。"
	}
	return ""
}

// complete builds the report from the form and saves it.
func (e *Engine) complete(c *conv, oneLine bool) (string, error) {
	return e.save(c, e.buildReport(c, c.flow()), oneLine)
}

// buildReport turns the session's answers into a Report, with its
// follow-up effect.
func (e *Engine) buildReport(c *conv, f *FlowDef) Report {
	s := c.s
	day := s.Day
	if day == "" {
		day = c.day()
	}
	key := c.msgKey
	if s.FormID != "" {
		key = "form:" + s.FormID // a stored form: saved once, however often confirmed
	}
	r := Report{
		MsgKey: key, Worker: c.w.OpenID, Community: c.w.Community, Grid: c.w.Grid,
		Flow: f.Key, Day: day, CreatedAt: e.now(),
	}
	if s.Location != nil {
		loc := *s.Location
		r.Location = &loc
	}
	r.Images = slices.Clone(s.Images)
	for i := range f.Fields {
		fd := &f.Fields[i]
		if yes, _ := applies(fd, s.Answers); !yes {
			continue
		}
		v := s.Answers[fd.Key]
		if v == "" {
			continue
		}
		switch fd.Type {
		case FieldHousehold, FieldPlace:
			r.Target = v
		case FieldKind:
			r.Kind = v
		case FieldCounter:
			if x, err := strconv.ParseFloat(v, 64); err == nil && x != 0 {
				if r.Counts == nil {
					r.Counts = map[string]float64{}
				}
				r.Counts[fd.Key] = x
			}
		default:
			if r.Fields == nil {
				r.Fields = map[string]string{}
			}
			r.Fields[fd.Key] = v
		}
	}
	if r.Target == "" {
		return r
	}
	switch f.FollowUp {
	case "kind":
		if r.Kind == "" {
			break
		}
		r.FollowKey = FollowKey(r.Community, f.Key, r.Kind, r.Target)
		if s.NextDue != "" {
			r.NextDue = s.NextDue
		} else if k := f.Kind(r.Kind); k != nil && k.FollowUpDays > 0 {
			r.NextDue = addDays(day, k.FollowUpDays)
		}
	case "recheck":
		// Every inspection of a place closes its open re-check; a new one
		// is opened only when problems were found and not yet rectified.
		r.FollowKey = FollowKey(r.Community, f.Key, "", r.Target)
		open := f.RecheckCounter == "" || r.Counts[f.RecheckCounter] > 0
		if open && !s.Rectified {
			days := f.RecheckDays
			if s.Deadline > 0 {
				days = s.Deadline
			}
			r.NextDue = addDays(day, days)
		}
	}
	return r
}

// save stores the report and answers with the ack. A report whose MsgKey
// was saved before is not saved again and gets the same ack.
func (e *Engine) save(c *conv, r Report, oneLine bool) (string, error) {
	if !validDay(r.Day) {
		// Never store a report without a real day: every tally derives
		// from it. Reaching this is a bug; nothing is saved.
		return "", Errorf(EInternal, "save %s report: invalid day %q", r.Flow, r.Day)
	}
	saved, _, err := e.Store.SaveReport(c.ctx, r)
	if err != nil {
		return "", err
	}
	c.saved = true
	c.s.reset()
	if r.MsgKey != "" {
		c.s.Done, c.s.DoneOneLine, c.s.DoneMsg = &r, oneLine, c.msgKey
	}
	return e.ack(c, saved, oneLine)
}

// ack is "✅ 已保存。本月你已走访 24 户（慢病随访 10）。下次随访 2027-02-26。"
// or, for a one-line report, "✅ 已记录宣传活动：资料 400 份，参与 35 人。本月累计：…"
func (e *Engine) ack(c *conv, r Report, oneLine bool) (string, error) {
	f := e.catalog().Flow(r.Flow)
	if f == nil {
		return "✅ 已保存。", nil
	}
	var b strings.Builder
	var when string // a day other than the message's: "（11月20日）"
	if r.Day != c.day() {
		when = "（" + dateCN(r.Day) + "）"
		if r.Day[:4] != c.day()[:4] {
			when = "（" + r.Day[:4] + "年" + dateCN(r.Day) + "）"
		}
	}
	if oneLine {
		b.WriteString("✅ 已记录" + f.Name + when)
		if parts := e.parts(f, reportAnswers(f, r), false); len(parts) > 0 {
			b.WriteString("：" + strings.Join(parts, "，"))
		}
		b.WriteString("。")
	} else {
		b.WriteString("✅ 已保存" + when + "。")
	}
	line, err := e.tallyLine(c, f, r)
	if err != nil {
		return "", err
	}
	b.WriteString(line)
	if r.ClosedFollowUp != 0 {
		fu, err := e.Store.FollowUp(c.ctx, r.ClosedFollowUp)
		if err != nil && ErrorCode(err) != ENotFound {
			return "", err
		}
		if err == nil {
			b.WriteString(clearedClause(c, f, r, fu))
		}
	}
	if r.NextDue != "" {
		b.WriteString(f.DueLabel + " " + r.NextDue + "。")
	}
	return b.String(), nil
}

// clearedClause is what the ack says of the open follow-up fu the report
// r closed: "已销项：原定 12月1日 的随访。" for a next visit; for a re-check
// the report clears without opening a new one, "该处复查已销号。".
func clearedClause(c *conv, f *FlowDef, r Report, fu FollowUp) string {
	if f.FollowUp == "recheck" {
		if r.NextDue != "" {
			return ""
		}
		return msgRecheckCleared
	}
	what := strings.TrimPrefix(f.DueLabel, "下次")
	if what == "" {
		what = "随访"
	}
	due := dateCN(fu.Due)
	if len(fu.Due) == 10 && fu.Due[:4] != c.day()[:4] {
		due = fu.Due[:4] + "年" + due
	}
	return "已销项：原定 " + due + " 的" + what + "。"
}

// tallyLine is the worker's month in the report's metrics: "本月你已走访
// 24 户（慢病随访 10）。" for a flow without counters, "本月累计：宣传 3 次，
// 资料 1,150 份，参与 98 人。" for one with counters.
func (e *Engine) tallyLine(c *conv, f *FlowDef, r Report) (string, error) {
	month := r.Day[:7]
	counts, err := e.Store.Tally(c.ctx, Scope{Kind: ScopeWorker, ID: r.Worker}, month)
	if err != nil {
		return "", err
	}
	when := "本月"
	if now := e.now().In(e.zone()).Format("2006-01"); month != now {
		when = monthCN(month)
		if month[:4] == now[:4] {
			when = when[len(month[:4])+len("年"):] // "11月" within this year
		}
	}
	if len(f.Counters) == 0 {
		s := when + "你已" + f.Short + " " + fmtNum(counts[f.Key]) + " " + f.Unit
		if k := f.Kind(r.Kind); k != nil {
			s += "（" + k.Name + " " + fmtNum(counts[f.Key+"."+k.Key]) + "）"
		}
		return s + "。", nil
	}
	s := when + "累计：" + f.Short + " " + fmtNum(counts[f.Key]) + " " + f.Unit
	for _, k := range f.Counters {
		if r.Counts[k.Key] != 0 {
			s += "，" + k.Name + " " + fmtNum(counts[k.Key]) + " " + k.Unit
		}
	}
	return s + "。", nil
}

// reportAnswers maps a saved report back to field answers, for summaries.
func reportAnswers(f *FlowDef, r Report) map[string]string {
	a := map[string]string{}
	for _, fd := range f.Fields {
		switch fd.Type {
		case FieldHousehold, FieldPlace:
			a[fd.Key] = r.Target
		case FieldKind:
			a[fd.Key] = r.Kind
		case FieldCounter:
			if v := r.Counts[fd.Key]; v != 0 {
				a[fd.Key] = strconv.FormatFloat(v, 'f', -1, 64)
			}
		default:
			a[fd.Key] = r.Fields[fd.Key]
		}
	}
	return a
}

// describe is one line about a saved report: "11月28日 入户走访：3-2-201｜慢病随访".
func (e *Engine) describe(r Report) string {
	f := e.catalog().Flow(r.Flow)
	if f == nil {
		return dateCN(r.Day) + " " + r.Flow
	}
	s := dateCN(r.Day) + " " + f.Name
	if parts := e.parts(f, reportAnswers(f, r), true); len(parts) > 0 {
		s += "：" + strings.Join(parts, "｜")
	}
	return s
}

// validDay reports whether day is a real "2006-01-02" date of this era
// (not empty, not the zero time's 0001-01-01).
func validDay(day string) bool {
	d, err := time.Parse(dayLayout, day)
	return err == nil && d.Year() >= 2000
}

// addDays adds n days to a "2006-01-02" day.
func addDays(day string, n int) string {
	d, err := time.Parse(dayLayout, day)
	if err != nil {
		return ""
	}
	return d.AddDate(0, 0, n).Format(dayLayout)
}
