package chat

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"gridbot/flows"
	"gridbot/flows/zh"
)

// fieldType is what the conversation knows of a field type: how a typed
// answer is read (parse), what 帮助 says at its step when the catalog says
// nothing (help), and how an answer reads in the confirmation and acks
// (show). It completes flows.FieldType, keyed by the same names; a test
// checks that both registries know the same types.
type fieldType struct {
	// parse checks and normalises a typed answer: t is the normalised
	// text, raw the text as typed (free text keeps it). msg, when not
	// empty, says in Chinese what was wrong and what is expected.
	parse func(c *turn, f *flows.FlowDef, fd *flows.FieldDef, t, raw string) (val, msg string)
	help  func(f *flows.FlowDef) string
	// show is the answer v as summaries show it ("血压 150/95", "资料 200 份");
	// "" leaves it out. withKind: show the kind even when the flow's name
	// says it.
	show func(f *flows.FlowDef, fd *flows.FieldDef, v string, withKind bool) string
}

// fieldTypes is the conversation's registry of field types.
var fieldTypes = map[string]fieldType{
	flows.FieldHousehold: {parse: parseHousehold, help: helpText("填户号，如 3-2-201 或 3栋2单元201，也可以写地址。"), show: showLabeled},
	flows.FieldPlace:     {parse: parsePlace, help: helpText("填巡查的地点，如 菜市场、3号楼楼道。"), show: showLabeled},
	flows.FieldKind: {
		parse: func(_ *turn, f *flows.FlowDef, _ *flows.FieldDef, t, _ string) (string, string) {
			return kindAnswer(f, t)
		},
		help: helpKind, show: showKind,
	},
	flows.FieldBP: {
		parse: func(_ *turn, _ *flows.FlowDef, _ *flows.FieldDef, t, _ string) (string, string) { return bpAnswer(t) },
		help:  helpText("填高压/低压，如 150/95。"), show: showLabeled,
	},
	flows.FieldGlucose: {parse: parseGlucose, help: helpText("填血糖值（mmol/L），如 7.2。"), show: showLabeled},
	flows.FieldCounter: {parse: parseCounter, help: helpText("填数字，如 35，也可以写 三十五、四百余。"), show: showCounter},
	flows.FieldText:    {parse: parseText, help: helpText("写几句说明，如 按时服药、限期3天整改、下次随访12月5日。"), show: showLabeled},
}

// fieldTypeOf is the field's type; free text for a type the registry does
// not know (a validated catalog has none).
func fieldTypeOf(fd *flows.FieldDef) fieldType {
	if ft, ok := fieldTypes[fd.Type]; ok {
		return ft
	}
	return fieldTypes[flows.FieldText]
}

// parseAnswer checks and normalises a typed answer with the field's type.
func (e *Engine) parseAnswer(c *turn, f *flows.FlowDef, fd *flows.FieldDef, t, raw string) (val, msg string) {
	raw = cleanRaw(raw)
	if raw == "" {
		raw = t
	}
	return fieldTypeOf(fd).parse(c, f, fd, t, raw)
}

func parseHousehold(_ *turn, f *flows.FlowDef, _ *flows.FieldDef, t, raw string) (string, string) {
	if h, ok := zh.ParseHouseholdID(t); ok {
		return h.String(), "" // with its estate: 阳光花园2期/5-1-101
	}
	for _, q := range zh.Quantities(t) {
		if f.CountsTimes(q.Unit) {
			// 高血压患者3户: a count of households is never a household.
			return "", "\"" + raw + "\"是户数，不是户号。请回复一户的户号（如 3-2-201）；走访了几户可以一句话发\"" + f.Words[0] + "3" + q.Unit + "\"。"
		}
	}
	if runeLen(raw) > maxTargetRunes {
		return "", "地址太长了，请写户号（如 3-2-201）或简短的地址。"
	}
	if !looksLikeAddress(raw) {
		return "", "\"" + raw + "\"不像户号或地址，请写成 3-2-201、3栋2单元201 或 幸福路12号。"
	}
	return raw, ""
}

func parsePlace(_ *turn, _ *flows.FlowDef, _ *flows.FieldDef, _, raw string) (string, string) {
	if runeLen(raw) > maxTargetRunes {
		return "", "地点太长了，请写简短的地点，如 菜市场。"
	}
	if strings.IndexFunc(raw, unicode.IsLetter) < 0 {
		return "", "请写巡查的地点，如 菜市场、3号楼。"
	}
	return raw, ""
}

func parseGlucose(_ *turn, _ *flows.FlowDef, _ *flows.FieldDef, t, _ string) (string, string) {
	g, err := zh.Glucose(t)
	switch {
	case errors.Is(err, zh.ErrGlucoseRange):
		return "", "血糖 " + t + " 超出范围，请核对（单位 mmol/L，如 7.2）。"
	case err != nil:
		return "", "请填血糖值，如 7.2。"
	}
	return strconv.FormatFloat(g, 'f', -1, 64), ""
}

func parseCounter(_ *turn, f *flows.FlowDef, fd *flows.FieldDef, t, _ string) (string, string) {
	hint := ""
	switch {
	case strings.Contains(fd.Prompt, "没有请回复 0"):
		hint = "（没有请回复 0）" // as the prompt says
	case fd.Optional:
		hint = "（没有请回复\"跳过\"）"
	}
	return counterAnswer(f.Counter(fd.Key), hint, t)
}

// parseText takes a note; the dates and deadlines it states (下次随访12月5日,
// 限期3天整改, 已整改) are read into the session.
func parseText(c *turn, _ *flows.FlowDef, _ *flows.FieldDef, t, raw string) (string, string) {
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

func helpText(h string) func(*flows.FlowDef) string {
	return func(*flows.FlowDef) string { return h }
}

func helpKind(f *flows.FlowDef) string {
	example := "1"
	if len(f.Kinds) > 0 {
		k := f.Kinds[0]
		example = "1 或 " + k.Name
		if len(k.Words) > 0 {
			example = "1 或 " + k.Words[0]
		}
	}
	return "回复序号或类型名称，如 " + example + "。"
}

// showLabeled is the answer after the field's label: "血压 150/95".
func showLabeled(_ *flows.FlowDef, fd *flows.FieldDef, v string, _ bool) string {
	if fd.Label != "" {
		return fd.Label + " " + v
	}
	return v
}

// showKind is the kind's name, left out when the flow's name says it
// (慢病随访 under 入户走访 is shown; 宣传 under 宣传活动 is not) unless withKind.
func showKind(f *flows.FlowDef, _ *flows.FieldDef, v string, withKind bool) string {
	var names []string
	for _, key := range strings.Split(v, ",") {
		k := f.Kind(key)
		if k == nil || !withKind && strings.Contains(f.Name, k.Name) {
			continue
		}
		names = append(names, k.Name)
	}
	return strings.Join(names, "、")
}

// showCounter is "资料 200 份"; a zero or unreadable value is left out.
func showCounter(f *flows.FlowDef, fd *flows.FieldDef, v string, _ bool) string {
	k := f.Counter(fd.Key)
	x, err := strconv.ParseFloat(v, 64)
	if k == nil || err != nil || x == 0 {
		return ""
	}
	return k.Name + " " + fmtNum(x) + " " + k.Unit
}

func kindAnswer(f *flows.FlowDef, t string) (string, string) {
	bad := fmt.Sprintf("没有这个选项，请回复 1–%d 的序号或类型名称。", len(f.Kinds))
	if n, err := strconv.Atoi(t); err == nil {
		if n < 1 || n > len(f.Kinds) {
			return "", bad
		}
		return f.Kinds[n-1].Key, ""
	}
	if ks := kindsIn(f, t); len(ks) > 0 {
		return strings.Join(ks, ","), ""
	}
	if num, err := zh.Number(t); err == nil && num.Unit == "" && num.Value == float64(int(num.Value)) {
		n := int(num.Value)
		if n >= 1 && n <= len(f.Kinds) {
			return f.Kinds[n-1].Key, ""
		}
	}
	return "", bad
}

// kindsIn is every kind t names, the earliest first (慢病 老人 →
// chronic, elderly), each once.
func kindsIn(f *flows.FlowDef, t string) []string {
	var out []string
	var skip []flows.Span
	for {
		k, s, e := f.KindIn(t, skip)
		if k == nil || slices.Contains(out, k.Key) {
			return out
		}
		out = append(out, k.Key)
		// Every word of this kind is read: look for another.
		for _, w := range append([]string{k.Name, k.Key}, k.Words...) {
			for _, j := range flows.IndexAll(t, w) {
				skip = append(skip, flows.Span{S: j, E: j + len(w)})
			}
		}
		skip = append(skip, flows.Span{S: s, E: e})
	}
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
	return strconv.Itoa(sys) + "/" + strconv.Itoa(dia), ""
}

// cleanRaw trims a typed answer: spaces and the full stop voice
// recognition puts at the end.
func cleanRaw(s string) string {
	return strings.TrimSpace(strings.TrimRight(strings.TrimSpace(s), "。.!！~～"))
}

// recheckCount reads an answer at the count step of an inspection that is
// more than a number: "已整改" is 0 problems, rectified; "堆放杂物2处" is 2,
// the words kept for the note; "限期3天整改" is the deadline, and the count
// is asked again. ok is false when the answer says none of these.
func (e *Engine) recheckCount(c *turn, f *flows.FlowDef, fd *flows.FieldDef, t string) (string, bool, error) {
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
	if nf := f.NoteKey(); nf != "" && s.Answers[nf] == "" {
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
func counterAnswer(k *flows.CounterDef, hint string, t string) (string, string) {
	if noneWords[t] {
		return "0", ""
	}
	confirmed := false
	if rest, ok := strings.CutPrefix(t, "确认"); ok {
		t, confirmed = strings.TrimSpace(rest), true
	}
	n, err := zh.Number(t)
	if err != nil {
		if errors.Is(err, zh.ErrNegative) {
			return "", "数量不能是负数，请重新填写。"
		}
		return "", "请回复数字，如 35" + hint + "。"
	}
	if n.Unit != "" && !k.TakesUnit(n.Unit) && !(n.Unit == "人" && k.TakesUnit("人次")) {
		// 30人 at the 资料 step: never added to a counter of another unit.
		return "", "\"" + t + "\"不是" + k.Name + "的数量（单位是" + k.Unit + "），请回复" + k.Name + "的数字" + hint + "。"
	}
	if confirmed && n.Value > k.Max {
		if msg := checkCount(&flows.CounterDef{Name: k.Name, Unit: k.Unit, Decimals: k.Decimals}, n.Value); msg != "" {
			return "", msg
		}
		return strconv.FormatFloat(n.Value, 'f', -1, 64), ""
	}
	if msg := checkCount(k, n.Value); msg != "" {
		return "", msg
	}
	return strconv.FormatFloat(n.Value, 'f', -1, 64), ""
}

// checkCount refuses a negative value, a fraction where whole numbers are
// counted, and a value over the counter's ceiling.
func checkCount(k *flows.CounterDef, v float64) string {
	switch {
	case v < 0:
		return "数量不能是负数，请重新填写。"
	case v > 1e15:
		return fmt.Sprintf("%s %s %s 不可能，请核对后重新填写。", k.Name, fmtNum(v), k.Unit)
	case k.Max > 0 && v > k.Max:
		// Plausible ceiling (issue 9, rule 3): asked, not refused.
		return fmt.Sprintf("%s %s %s 超出常见范围（一般不超过 %s %s）。确认无误请回复\"确认 %s\"，有误请回复正确的数字。",
			k.Name, fmtNum(v), k.Unit, fmtNum(k.Max), k.Unit, strconv.FormatFloat(v, 'f', -1, 64))
	case !k.Decimals && v != float64(int64(v)):
		return k.Name + "要填整数，请重新填写。"
	}
	return ""
}
