package chat

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gridbot/flows"
	"gridbot/flows/zh"
)

// parseLine reads a one-line report for flow f: extras (下次随访…, 限期…,
// 已整改), the household, a blood glucose, the kind, a blood pressure, a
// date, counted numbers (by unit, else by the nearest counter word in the
// same clause) and, from what is left, the target (first piece) and the
// note (the rest). The steps are lineParser's methods, run in this order.
func (e *Engine) parseLine(c *turn, f *flows.FlowDef, t string) lineResult {
	// Room for the words of a usual line, in one allocation, so that
	// they are not grown one by one.
	sc := new(lineScratch)
	p := &lineParser{
		e: e, c: c, f: f, t: t, b: []byte(t),
		res:      lineResult{answers: map[string]string{}, dateAt: -1},
		kindSpan: flows.Span{S: -1, E: -1},
		cwords:   sc.cwords[:0], cspans: sc.cspans[:0], triggers: sc.triggers[:0], skip: sc.skip[:0],
	}
	p.extras()
	p.household()
	p.glucose()
	p.findWords()
	p.kind()
	p.bloodPressure()
	p.date()
	p.numbers()
	p.vagueCounts()
	p.counterWords()
	p.keepForNote()
	p.targetAndNote()
	p.bareness()
	return p.res
}

// lineParser is one reading of a one-line report. Each step reads what it
// knows from the text that is left (left), records it in res and blanks
// what it used, so that no later step reads it again.
type lineParser struct {
	e *Engine
	c *turn
	f *flows.FlowDef
	t string // the text as given
	b []byte // t with what was read blanked with spaces
	// cur is string(b) while curOK: left is asked for far more often
	// than b changes.
	cur   string
	curOK bool

	res lineResult

	keep       []flows.Span // spans put back for the note at the end (限期3天整改)
	cwords     []keySpan    // counter words found, with their counter
	cspans     []flows.Span // the same, as spans
	triggers   []flows.Span // the flow's own words (走访, 宣传)
	kindSpan   flows.Span   // where the kind was read; S -1 when not
	beforeKind string       // the text left just before the kind was read
	kindWord   bool         // the kind came from the word that starts the report (讲座)
	skip       []flows.Span // scratch for the spans kind and moreKinds look past
}

// lineScratch is the room lineParser's word lists start with.
type lineScratch struct {
	cwords   [8]keySpan
	cspans   [8]flows.Span
	triggers [4]flows.Span
	skip     [8]flows.Span
}

// left is the text not read yet.
func (p *lineParser) left() string {
	if !p.curOK {
		p.cur, p.curOK = string(p.b), true
	}
	return p.cur
}

// blank marks bytes s..end as read.
func (p *lineParser) blank(s, end int) {
	for i := s; i < end && i < len(p.b); i++ {
		if p.b[i] != ' ' {
			p.b[i], p.curOK = ' ', false
		}
	}
}

// fail records a bad value of field key, asked for again.
func (p *lineParser) fail(key, msg string) { p.res.errs = append(p.res.errs, fieldErr{key, msg}) }

// extras reads 下次随访12月5日, 限期3天整改 and 已整改 first: they hold the
// flow word 随访 and dates. The deadline and 已整改 stay in the note too:
// they mean something to the supervisor who reads it.
func (p *lineParser) extras() {
	x, locs, errMsg := findExtras(p.t, p.c.day())
	if errMsg != "" {
		p.fail(p.f.NoteKey(), errMsg)
	}
	p.res.extras = x
	p.res.structured = len(locs) > 0
	for _, l := range locs {
		p.blank(l[0], l[1])
		if x.deadline > 0 || x.rectified {
			if w := p.t[l[0]:l[1]]; deadlineRe.MatchString(w) || rectifiedRe.MatchString(w) {
				p.keep = append(p.keep, flows.Span{S: l[0], E: l[1]})
			}
		}
	}
}

// household reads a household number (3-2-201, 3栋2单元201).
func (p *lineParser) household() {
	fd := fieldOfType(p.f, flows.FieldHousehold)
	if fd == nil {
		return
	}
	// Every household of the text, with its estate (阳光花园2期/5-1-101):
	// the first is the target; several are the households of a visit of
	// several (走访3户 3-2-201 3-2-202 3-2-203).
	stop := p.e.stopWords()
	for {
		h, ok := zh.FindHouseholdID(p.left(), stop)
		if !ok {
			return
		}
		id := h.String()
		if _, done := p.res.answers[fd.Key]; !done {
			p.res.answers[fd.Key] = id
		}
		if !slices.Contains(p.res.households, id) {
			p.res.households = append(p.res.households, id)
		}
		p.res.structured = true
		p.blank(h.Start, h.End)
	}
}

// glucose reads 血糖7.2, before the kind words: 血糖 names the chronic
// kind too, and "7.2" without it would read as July 2nd.
func (p *lineParser) glucose() {
	fd := fieldOfType(p.f, flows.FieldGlucose)
	if fd == nil {
		return
	}
	cur := p.left()
	if !strings.Contains(cur, "血糖") {
		return // what glucoseRe starts with
	}
	m := glucoseRe.FindStringSubmatchIndex(cur)
	if m == nil {
		return
	}
	if v, msg := p.e.parseAnswer(p.c, p.f, fd, p.t[m[2]:m[3]], ""); msg != "" {
		p.fail(fd.Key, msg)
	} else {
		p.res.answers[fd.Key] = v
	}
	p.res.structured = true
	p.blank(m[0], m[1])
}

// findWords finds the counter words (资料, 传单) and the flow's own words
// (走访), without reading them yet: the kind and the numbers need them.
func (p *lineParser) findWords() {
	cur := p.left()
	for i := range p.f.Counters {
		k := &p.f.Counters[i]
		for w := range k.Terms() {
			for _, j := range flows.IndexAll(cur, w) {
				p.cwords = append(p.cwords, keySpan{k.Key, j, j + len(w)})
				p.cspans = append(p.cspans, flows.Span{S: j, E: j + len(w)})
			}
		}
	}
	for _, w := range p.f.Words {
		for _, j := range flows.IndexAll(cur, w) {
			p.triggers = append(p.triggers, flows.Span{S: j, E: j + len(w)})
		}
	}
}

// kind reads the kind. A kind named apart from the word that starts the
// report wins (宣传 开会 is a meeting); then the starting word itself
// (讲座); then one only inside counter words (发放宣传单 is publicity).
func (p *lineParser) kind() {
	p.beforeKind = p.left()
	f := p.f
	fd := f.Field("kind")
	if fd == nil || len(f.Kinds) == 0 {
		return
	}
	cur := p.left()
	p.skip = append(append(p.skip[:0], p.cspans...), leadSpan(f, p.t))
	k, s, end := f.KindIn(cur, p.skip)
	if k == nil {
		k, s, end = f.KindIn(cur, p.cspans)
	}
	if k == nil {
		k, s, end = f.KindIn(cur, nil)
	}
	if k == nil {
		return
	}
	p.res.answers[fd.Key] = k.Key
	for _, tr := range p.triggers {
		if s < tr.E && end > tr.S {
			p.kindWord = true
		}
	}
	// Only the word that decided the kind goes, with kind words
	// overlapping it (开会 and 会议 in 开会议); later kind words are the
	// worker's own words and stay for the note.
	for i := range f.Kinds {
		for w := range f.Kinds[i].Terms() {
			for _, j := range flows.IndexAll(cur, w) {
				if j < end && j+len(w) > s {
					s, end = min(s, j), max(end, j+len(w))
				}
			}
		}
	}
	p.blank(s, end)
	p.kindSpan = flows.Span{S: s, E: end}
	p.moreKinds(k.Key)
}

// moreKinds reads the other kinds named apart (走访 7-2-306 慢病 老人):
// a visit of several kinds counts each. A kind word inside a run of
// Chinese characters (老人说腿疼) is the worker's words, not a kind.
func (p *lineParser) moreKinds(first string) {
	f := p.f
	kinds := []string{first}
	for {
		cur := p.left()
		p.skip = append(append(p.skip[:0], p.cspans...), p.triggers...)
		skip := p.skip
		k, s, end := f.KindIn(cur, skip)
		if k == nil || s < 0 || strings.TrimSpace(cur[s:end]) == "" || inside(skip, s, end) {
			break
		}
		apart := !hanBefore(p.b, s) && !hanAfter(p.b, end)
		if !apart || slices.Contains(kinds, k.Key) {
			// Words of the worker's (独居 after 老人, 老人说…): look past.
			p.cspans = append(p.cspans, flows.Span{S: s, E: end})
			continue
		}
		kinds = append(kinds, k.Key)
		p.blank(s, end)
	}
	if len(kinds) > 1 {
		p.res.answers[f.Field("kind").Key] = strings.Join(kinds, ",")
	}
}

// bloodPressure reads a blood pressure once kind words (高血压) are out of
// the way; the kind word may be the reading's keyword (血压一百四十 九十).
func (p *lineParser) bloodPressure() {
	_, _, s, end, ok := zh.FindBloodPressure(p.left())
	if ks := p.kindSpan; !ok && ks.S >= 0 {
		if _, _, s2, end2, ok2 := zh.FindBloodPressure(p.beforeKind[ks.S:]); ok2 && s2 < ks.E-ks.S {
			s, end, ok = ks.S+s2, ks.S+end2, true
		}
	}
	if !ok {
		return
	}
	fd := fieldOfType(p.f, flows.FieldBP)
	if fd == nil {
		return // 200/300份 on a campaign: a range the numbers step asks about
	}
	if v, msg := bpAnswer(p.t[s:end]); msg != "" {
		p.fail(fd.Key, msg)
	} else {
		p.res.answers[fd.Key] = v
	}
	p.res.structured = true
	p.blank(s, end)
}

// date reads the report's day (昨天, 11月27日) with the time of day after
// it (昨天下午), then drops the flow's own words. A date that does not
// exist (11月31日), is ahead or too old is asked for again, the rest kept;
// never a zero day.
func (p *lineParser) date() {
	t := p.t
	if d, ok, err := zh.FindDay(p.left(), p.c.at); ok && err != nil {
		p.res.dateErr = dateError(err, strings.TrimSpace(t[d.Start:d.End]))
		p.res.dateAt = d.Start
		p.blank(d.Start, dayPartEnd(t, d.End))
	} else if ok && !followedByUnit(t, d.End) {
		p.res.day = d.Time.Format(dayLayout)
		if d.Confirm {
			p.res.dayConfirm = d.Label() // 12月5日 on 12月4日: a year back, asked
		}
		p.res.dateAt = d.Start
		p.blank(d.Start, dayPartEnd(t, d.End))
	}
	for _, tr := range p.triggers {
		p.blank(tr.S, tr.E)
	}
}

// numbers attributes every quantity of the text to exactly one place, or
// has it asked for (issue 9, rule 1): a unit of the report itself
// (times_units: 讲座2场, 走访3户) adds to Times; a unit one counter takes
// (份 张 → 资料) goes to it, several by the counter word nearest before
// it; a number without a unit (or with the general classifier 个) goes to
// the counter named nearest before it in the same clause (资料200), else
// the flow's only counter. A unit no counter of the flow takes (4份 on a
// visit), a part of a count already given (其中8户, 已整改3处, 2户不在家)
// and a number nothing names are not guessed: they are listed in unknown
// and the whole message is asked again. Measures that count nothing (80岁,
// 300米, 30袋) stay in the note. A counter's numbers add up and the sum is
// checked once against its ceiling; a negative or vague one is asked for.
func (p *lineParser) numbers() {
	f, t := p.f, p.t
	sums := map[string]float64{}
	var counted []string // counter keys in the order found
	bad := map[string]bool{}
	times, timesSeen := 0.0, 0
	for _, q := range zh.Quantities(p.left()) {
		text := strings.TrimSpace(t[q.Start:q.End])
		k, isTimes, known := p.attribute(q)
		if !known {
			if q.Class == zh.ClassDays || q.Class == zh.ClassOther {
				continue // a measure (80岁, 300米): the note keeps it
			}
			p.res.unknown = append(p.res.unknown, text)
			p.blank(q.Start, q.End)
			continue
		}
		p.blank(q.Start, q.End)
		p.res.structured = true
		if partOf(q) || isTimes && timesSeen > 0 && fieldOfType(f, flows.FieldHousehold) != nil {
			p.res.unknown = append(p.res.unknown, text)
			continue
		}
		value := q.Value
		if k != nil && k.Unit == "吨" {
			if tons, ok := q.Tons(); ok {
				value = tons
			}
		}
		switch {
		case q.Vague || !q.Exact && !q.Approx:
			if k == nil {
				p.res.unknown = append(p.res.unknown, text)
			} else if !bad[k.Key] {
				bad[k.Key] = true
				p.fail(k.Key, "\""+text+"\"不是确切的数，"+k.Name+"要填数字，如 "+k.Name+sampleCount(k)+k.Unit+"。")
			}
			continue
		case value < 0:
			if k == nil {
				p.res.unknown = append(p.res.unknown, text)
			} else if !bad[k.Key] {
				bad[k.Key] = true
				p.fail(k.Key, "数量不能是负数，请重新填写。")
			}
			continue
		}
		if isTimes {
			times += value
			timesSeen++
			continue
		}
		if _, seen := sums[k.Key]; !seen {
			counted = append(counted, k.Key)
		}
		sums[k.Key] += value
	}
	if timesSeen > 0 {
		switch {
		case times != float64(int(times)) || times < 1:
			p.res.unknown = append(p.res.unknown, fmtNum(times)+" "+f.Unit)
		case times > 1e9:
			p.res.unknown = append(p.res.unknown, fmtNum(times)+" "+f.Unit)
		default:
			p.res.times = int(times) // above TimesMax: confirmed first (advance)
		}
	}
	for _, key := range counted {
		if bad[key] {
			continue
		}
		if msg := checkCount(f.Counter(key), sums[key]); msg != "" {
			p.fail(key, msg)
			continue
		}
		p.res.answers[key] = strconv.FormatFloat(sums[key], 'f', -1, 64)
	}
}

// vagueCounts refuses a counter named with a vague amount instead of a
// number (资料 很多), so the value is not lost in the note.
func (p *lineParser) vagueCounts() {
	for _, w := range p.cwords {
		if _, done := p.res.answers[w.key]; done || hasErr(p.res.errs, w.key) {
			continue
		}
		if end, ok := vagueAfter(p.left(), w.e); ok {
			k := p.f.Counter(w.key)
			p.fail(w.key, k.Name+"要填数字，如 "+k.Name+sampleCount(k)+k.Unit+"。")
			p.res.structured = true
			p.blank(w.e, end)
		}
	}
}

// counterWords drops the counter words whose counter was read (or
// refused); one that counted nothing is a plain word (宣传 垃圾分类) and
// stays for the note.
func (p *lineParser) counterWords() {
	for _, w := range p.cwords {
		if _, done := p.res.answers[w.key]; done || hasErr(p.res.errs, w.key) {
			p.blank(w.s, w.e)
		}
	}
}

// keepForNote puts back what stays in the note: a deadline, 已整改, and a
// kind word inside a run of Chinese characters (老人说最近头晕), which is
// not cut out of it.
func (p *lineParser) keepForNote() {
	if ks := p.kindSpan; ks.S >= 0 && (hanBefore(p.b, ks.S) || hanAfter(p.b, ks.E)) {
		p.keep = append(p.keep, ks)
	}
	for _, k := range p.keep {
		copy(p.b[k.S:k.E], p.t[k.S:k.E])
		p.curOK = false
	}
}

// targetAndNote takes what is left: the first piece is the target (when
// not read yet and it can be one), the rest the note. A note too long is
// refused as at the step, never cut: it is asked again.
func (p *lineParser) targetAndNote() {
	f, res := p.f, &p.res
	pieces := leftovers(p.left())
	if tf := f.TargetField(); tf != nil && len(pieces) > 0 {
		// Words beside a count of households (高血压患者3户) are no household.
		severalHouseholds := tf.Type == flows.FieldHousehold && res.times > 1
		if _, done := res.answers[tf.Key]; !done && !severalHouseholds && runeLen(pieces[0]) <= maxTargetRunes {
			v := pieces[0]
			if tf.Type == flows.FieldHousehold {
				if hh, ok := zh.Household(v); ok {
					v = hh
				}
			}
			if tf.Type != flows.FieldHousehold || looksLikeAddress(v) {
				res.answers[tf.Key] = v
				pieces = pieces[1:]
			}
		}
	}
	if nf := f.NoteKey(); nf != "" && len(pieces) > 0 {
		note := strings.Join(pieces, "，")
		if runeLen(note) > maxTextRunes {
			p.fail(nf, fmt.Sprintf("太长了，请控制在 %d 字以内。", maxTextRunes))
		} else {
			res.answers[nf] = note
		}
	}
}

// bareness decides whether the line said nothing but the flow's word (and
// maybe its kind and a date): then the step-by-step form opens.
func (p *lineParser) bareness() {
	res := &p.res
	onlyKind := len(res.answers) == 0 || len(res.answers) == 1 && p.kindWord && res.answers["kind"] != ""
	res.bare = onlyKind && len(res.errs) == 0 && res.extras == (extras{}) && res.times == 0 && len(res.unknown) == 0
}
