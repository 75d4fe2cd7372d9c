package chat

import (
	"errors"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"gridbot/flows"

	"gridbot/flows/zh"
)

// lineResult is what one message says about a report.
type lineResult struct {
	answers map[string]string
	day     string // "" when the text names no date
	dateAt  int    // byte offset of the date in the text, -1 when none
	extras  extras
	errs    []fieldErr // bad values, in the order found
	// dayConfirm is the full date ("2025年12月5日") of a day written
	// without a year that is more than 60 days back: asked before saving.
	dayConfirm string
	dateErr    string // a date that cannot be used (2月30日, 明天): asked for again
	// unknown are the quantities no field takes (as written: "4份",
	// "2户"): the message is asked again, nothing saved.
	unknown []string
	// households are all the households the text names, the first also
	// in answers.
	households []string
	times      int  // Times stated (讲座2场, 走访3户); 0 when none
	bare       bool // nothing but the flow's word (and maybe a date): a step-by-step form
	// structured: the text states something only a report says: a
	// household, a reading, a count, a date after the flow's word, a next
	// date or deadline (not just words, which a note may hold).
	structured bool
}

type fieldErr struct{ key, msg string }

// startLine starts a report from a message naming a flow: a bare word
// ("走访") opens the step-by-step form; a message with more ("走访 3-2-201
// 慢病 150/95") fills what it says and asks only for what is missing, and
// is saved at once when nothing required is missing.
func (e *Engine) startLine(c *turn, f *flows.FlowDef, t, word string, at int) (string, error) {
	if zh.IsQuestion(t) {
		// "走访 怎么填？": a question, never a report (issue 9, rule 10).
		return e.flowHelp(f), nil
	}
	res := e.parseLine(c, f, t)
	s := c.s
	s.reset()
	s.Flow = f.Key
	s.Day = c.day()
	if res.day != "" {
		s.Day = res.day
		s.DayAsk = res.dayConfirm
	}
	s.Answers = res.answers
	s.Times = res.times
	res.extras.apply(s)
	if len(res.unknown) > 0 {
		return e.unknownNumbers(c, f, res), nil
	}
	if hf := fieldOfType(f, flows.FieldHousehold); hf != nil {
		switch {
		case res.times > 1 && len(res.households) == res.times:
			s.Households = res.households
		case res.times > 1:
			delete(s.Answers, hf.Key) // asked with the others
		case len(res.households) > 1:
			s.Households, s.Times = res.households, len(res.households)
		}
	}
	if !res.bare {
		// A place with an open re-check of this worker's lends it its kind.
		if _, err := e.recheckKind(c, f, s.Answers); err != nil {
			return "", err
		}
	}
	lost := dropInapplicable(f, s.Answers)
	if res.dateErr != "" {
		// Keep what was understood and ask for the date alone.
		s.Quick = !res.bare
		s.Step = stepDay
		pre := lost
		if parts := e.parts(f, s.Answers, true); len(parts) > 0 {
			pre = append(pre, "已识别："+strings.Join(parts, "｜")+"。")
		}
		for _, fe := range res.errs { // asked for after the date
			s.Ask = append(s.Ask, fe.key)
			pre = append(pre, fe.msg)
		}
		pre = append(pre, res.dateErr, e.currentStep(c))
		return strings.Join(pre, "\n"), nil
	}
	if res.bare {
		return e.advance(c)
	}
	s.Quick = true
	pre := lost
	parts := append(e.parts(f, s.Answers, true), e.extraParts(f, s, c.day())...)
	if len(parts) > 0 && (len(res.errs) > 0 || nextField(f, s) != "") {
		pre = append(pre, "已识别："+strings.Join(parts, "｜")+"。")
	}
	if len(res.errs) > 0 {
		for _, fe := range res.errs {
			s.Ask = append(s.Ask, fe.key)
		}
		first := f.Field(res.errs[0].key)
		s.Step = first.Key
		pre = append(pre, res.errs[0].msg, e.ask(c, f, first))
		return strings.Join(pre, "\n"), nil
	}
	reply, err := e.advance(c)
	if err != nil {
		return "", err
	}
	return strings.Join(append(pre, reply), "\n"), nil
}

// flowHelp says how to report a flow: "记录入户走访：一句话发送，如 …".
func (e *Engine) flowHelp(f *flows.FlowDef) string {
	ex := f.Words[0]
	if tf := f.TargetField(); tf != nil && tf.Type == flows.FieldHousehold {
		ex += " 3-2-201"
	} else if tf != nil {
		ex += " 菜市场"
	}
	if len(f.Kinds) > 0 && len(f.Kinds[0].Words) > 0 {
		ex += " " + f.Kinds[0].Words[0]
	}
	if len(f.Counters) > 0 {
		k := &f.Counters[0]
		ex += " " + k.Name + sampleCount(k) + k.Unit
	}
	return "记录" + f.Name + "：一句话发送，如\"" + ex + "\"；或只发\"" + f.Words[0] + "\"，按提示一步步填。"
}

// unknownNumbers refuses a message with numbers no field takes: nothing is
// saved, what was understood is shown, and the worker is asked to send it
// again saying what each number counts.
func (e *Engine) unknownNumbers(c *turn, f *flows.FlowDef, res lineResult) string {
	s := c.s
	var b strings.Builder
	if parts := append(e.parts(f, s.Answers, true), e.extraParts(f, s, c.day())...); len(parts) > 0 {
		b.WriteString("已识别：" + strings.Join(parts, "｜") + "。\n")
	}
	b.WriteString("没看懂\"" + strings.Join(res.unknown, "\"、\"") + "\"是哪一项的数量，本条未保存。")
	b.WriteString("请写明每个数是什么，如 " + e.unitExample(f) + "，整条重新发送。")
	s.reset()
	return b.String()
}

// unitExample is how f's numbers are written: "参与60人、资料200份".
func (e *Engine) unitExample(f *flows.FlowDef) string {
	var ex []string
	if len(f.TimesUnits) > 0 {
		ex = append(ex, f.Short+"2"+f.TimesUnits[0])
	}
	for _, k := range f.Counters {
		ex = append(ex, k.Name+sampleCount(&k)+k.Unit)
	}
	if len(ex) > 3 {
		ex = ex[:3]
	}
	return strings.Join(ex, "、")
}

// separators end a clause: a counter word and a number pair up only
// within one clause.
const separators = "，,。;；、!！?？\n"

// fillers are words that carry nothing once the rest is understood.
var fillers = []string{
	"共计", "合计", "累计", "一共", "总共", "大约", "左右", "进行", "开展", "组织", "举办", "完成",
	"发现", "其中", "今日", "户号", "了", "的", "共", "约", "在", "对", "给", "向", "和", "及", "与", "并",
	"有", "名", "位", "个", "为", "次", "人", "份", "处", "户", "余", "多",
}

// hanBefore reports whether a Chinese character ends at byte i of b.
func hanBefore(b []byte, i int) bool {
	r, n := utf8.DecodeLastRune(b[:i])
	return n > 0 && unicode.Is(unicode.Han, r)
}

// hanAfter reports whether a Chinese character starts at byte i of b.
func hanAfter(b []byte, i int) bool {
	r, n := utf8.DecodeRune(b[i:])
	return n > 0 && unicode.Is(unicode.Han, r)
}

// leadSpan is the span of the earliest of f's words in t (the longest at
// the same place): the word that starts the report.
func leadSpan(f *flows.FlowDef, t string) flows.Span {
	best := flows.Span{S: -1, E: -1}
	for _, w := range f.Words {
		j := strings.Index(t, w)
		if j >= 0 && (best.S < 0 || j < best.S || j == best.S && j+len(w) > best.E) {
			best = flows.Span{S: j, E: j + len(w)}
		}
	}
	return best
}

// inside reports whether [s, e) lies within one of spans.
func inside(spans []flows.Span, s, e int) bool {
	for _, x := range spans {
		if s >= x.S && e <= x.E {
			return true
		}
	}
	return false
}

func hasErr(errs []fieldErr, key string) bool {
	for _, fe := range errs {
		if fe.key == key {
			return true
		}
	}
	return false
}

// vagueWords are amounts that are not numbers (资料 很多).
var vagueWords = []string{"很多", "好多", "许多", "不少", "若干", "一些", "大量", "少量", "一批", "一堆", "一点", "多少", "无数", "几"}

// vagueAfter reports whether a vague amount follows byte i of s (after
// spaces, 了 or 有), and where it ends.
func vagueAfter(s string, i int) (int, bool) {
	j := i
	for {
		k := j
		for k < len(s) && s[k] == ' ' {
			k++
		}
		for _, w := range []string{"了", "有", "发了", "发放"} {
			if strings.HasPrefix(s[k:], w) {
				k += len(w)
				break
			}
		}
		if k == j {
			break
		}
		j = k
	}
	for _, w := range vagueWords {
		if strings.HasPrefix(s[j:], w) {
			return j + len(w), true
		}
	}
	return i, false
}

// sampleCount is the number in a counter's example: 2.5 for one that
// takes decimals, else 30.
func sampleCount(k *flows.CounterDef) string {
	if k.Decimals {
		return "2.5"
	}
	return "30"
}

// addressMarks follow a number that is part of an address, not a count.
var addressMarks = []string{"号", "栋", "幢", "楼", "单元", "室", "弄", "座", "层"}

// addressNumber reports whether the number ending at byte i of t is part
// of an address (幸福路12号, 5栋).
func addressNumber(t string, i int) bool {
	for _, m := range addressMarks {
		if strings.HasPrefix(t[i:], m) {
			return true
		}
	}
	return false
}

// dayPartEnd extends a date ending at byte i over a time of day that
// follows it (下午, 上午9点, 下午3点半), so that it is not left in a note.
func dayPartEnd(t string, i int) int {
	j := i
	for j < len(t) && t[j] == ' ' {
		j++
	}
	found := false
	for _, w := range dayParts {
		if strings.HasPrefix(t[j:], w) {
			j += len(w)
			found = true
			break
		}
	}
	if m := clockRe.FindStringIndex(t[j:]); m != nil && m[0] == 0 {
		j += m[1]
		found = true
	}
	if !found {
		return i
	}
	return j
}

var (
	dayParts = []string{"上午", "下午", "中午", "晚上", "早上", "早晨", "傍晚", "凌晨", "夜里", "白天", "晚间"}
	clockRe  = regexp.MustCompile(`^\s*[0-9一二三四五六七八九十两]{1,3}\s*(?:点|时)(?:半|[0-9一二三四五六七八九十]{1,3}分?)?`)
)

// looksLikeAddress reports whether a household answer looks like one: a
// household number (3-2-201), digits with 号楼/栋/单元/室 or a dash, or a
// named place of at least two Chinese characters (幸福路12号, 老王家).
func looksLikeAddress(s string) bool {
	if _, ok := zh.Household(s); ok {
		return true
	}
	han, digit := 0, false
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Han, r):
			han++
		case r >= '0' && r <= '9':
			digit = true
		}
	}
	if han >= 2 {
		return true
	}
	if digit {
		for _, m := range append([]string{"-", "#"}, addressMarks...) {
			if strings.Contains(s, m) {
				return true
			}
		}
	}
	return false
}

// keySpan is a counter word's byte span in a message.
type keySpan struct {
	key  string
	s, e int
}

// nearestCounter is the counter named nearest before [s, e) in the same
// clause of t, else nearest after it.
func nearestCounter(f *flows.FlowDef, t string, words []keySpan, s, e int) *flows.CounterDef {
	clauseStart := strings.LastIndexAny(t[:s], separators) + 1
	clauseEnd := len(t)
	if j := strings.IndexAny(t[e:], separators); j >= 0 {
		clauseEnd = e + j
	}
	best, bestDist := "", -1
	for _, w := range words {
		if w.e <= s && w.s >= clauseStart {
			if d := s - w.e; bestDist < 0 || d < bestDist {
				best, bestDist = w.key, d
			}
		}
	}
	if best == "" {
		for _, w := range words {
			if w.s >= e && w.e <= clauseEnd {
				if d := w.s - e; bestDist < 0 || d < bestDist {
					best, bestDist = w.key, d
				}
			}
		}
	}
	if best == "" {
		return nil
	}
	return f.Counter(best)
}

// leadFillers are the one-character fillers cut from the start of a
// piece: prepositions.
const leadFillers = "在对给向了的约并及与"

// leftovers splits what is left of a message into pieces, dropping filler
// words at their edges and pieces without a letter.
func leftovers(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || strings.ContainsRune(separators+":：()（）\"“”'", r)
	}) {
		for changed := true; changed && p != ""; {
			changed = false
			for _, w := range fillers {
				// A one-character filler starts a piece only as a
				// preposition (在广场); 人民路, 和平社区 keep theirs.
				if runeLen(w) > 1 || p == w || strings.Contains(leadFillers, w) {
					if q, ok := strings.CutPrefix(p, w); ok {
						p, changed = q, true
					}
				}
				// A unit after a number no counter took (坏了3处) stays
				// with it: the number means nothing without it.
				if q, ok := strings.CutSuffix(p, w); ok && !endsInCountedPhrase(q) && !(strings.Contains(unitFillers, w) && endsInHan(q)) {
					p, changed = q, true
				}
			}
		}
		// A piece needs a letter (a Chinese character counts): a lone
		// number no counter took ("走访了3户") is neither a place nor a note.
		if strings.IndexFunc(p, unicode.IsLetter) >= 0 {
			out = append(out, p)
		}
	}
	return out
}

// unitFillers are fillers that are units after a number (30人) but the
// end of a word after a character (老人, 住户): cut only after a number.
const unitFillers = "名位个次人份处户余多"

// endsInHan reports whether s ends in a Chinese character.
func endsInHan(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return unicode.Is(unicode.Han, r)
}

// endsInCountedPhrase reports whether s ends in a digit after some Chinese
// (楼道灯坏了3): cutting the unit that followed would leave a fragment.
func endsInCountedPhrase(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r >= '0' && r <= '9' && strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0
}

// negativeBefore returns the length of a minus sign before the number at
// byte i ("-20份", "负5"), which zh.Numbers leaves out; 0 when none. A dash
// after a digit is a range or a household, not a sign.
func negativeBefore(t string, i int) int {
	if strings.HasSuffix(t[:i], "负") {
		return len("负")
	}
	if i == 0 || t[i-1] != '-' || i >= 2 && t[i-2] >= '0' && t[i-2] <= '9' {
		return 0
	}
	return 1
}

// followedByUnit reports whether a counted unit or digit follows byte i
// ("2.5吨" is not February 5th).
func followedByUnit(t string, i int) bool {
	if i >= len(t) {
		return false
	}
	rest := t[i:]
	for _, u := range []string{"吨", "份", "人", "处", "次", "户", "米", "斤", "公斤", "个"} {
		if strings.HasPrefix(rest, u) {
			return true
		}
	}
	return rest[0] >= '0' && rest[0] <= '9'
}

// dateError says why a stated date cannot be used; text is the date as
// written ("" when unknown).
func dateError(err error, text string) string {
	switch {
	case errors.Is(err, zh.ErrFutureDate):
		return "日期还没到，不能提前记录。"
	case errors.Is(err, zh.ErrTooOld):
		return "只能补记一年以内的工作。"
	case text != "":
		return "日期 " + text + " 不存在，请核对。"
	}
	return "没看懂日期，请写成 11月5日 或 2026-11-05。"
}

// fieldOfType is the flow's first field of a type, or nil.
func fieldOfType(f *flows.FlowDef, typ string) *flows.FieldDef {
	for i := range f.Fields {
		if f.Fields[i].Type == typ {
			return &f.Fields[i]
		}
	}
	return nil
}

var glucoseRe = regexp.MustCompile(`血糖\s*(?:值|为|是)?\s*[:：]?\s*([0-9]+(?:\.[0-9]+)?)\s*(?:(?i:mmol/?l|mmol)|毫摩尔(?:每升)?)?`)
