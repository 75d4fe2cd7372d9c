package zh

import (
	"unicode"
	"unicode/utf8"
)

// Class is what a quantity's unit counts. Which counter a class (or a
// keyword before the number) feeds is catalog data; zh only reads the unit.
type Class int

// The classes of units.
const (
	ClassNone       Class = iota // no unit: attributed by keyword, or asked
	ClassSessions                // 次 场 期 轮: how many sessions, meetings, issues of a board
	ClassPeople                  // 人 人次 名 位 个人
	ClassItems                   // 份 张 册 本
	ClassHouseholds              // 户 家 户次
	ClassPlaces                  // 处 个: places or issues found
	ClassWeight                  // 吨 公斤 千克 斤
	ClassDays                    // 天 周: a duration, as in 限期3天
	ClassOther                   // 岁 元 米 条 袋 % …: a unit that is no count of the catalog
)

var classNames = [...]string{"none", "sessions", "people", "items", "households", "places", "weight", "days", "other"}

// String returns the class's English name ("people").
func (c Class) String() string {
	if c < 0 || int(c) >= len(classNames) {
		return "invalid"
	}
	return classNames[c]
}

// quantityUnits are the unit words Quantities knows, longest first; the
// unit reported is the word as written (after full-width folding).
var quantityUnits = []unitWord{
	{"平方米", "平方米"}, {"个人", "个人"}, {"个月", "个月"}, {"人次", "人次"}, {"户次", "户次"},
	{"公斤", "公斤"}, {"千克", "千克"}, {"小时", "小时"}, {"分钟", "分钟"}, {"kg", "公斤"}, {"KG", "公斤"},
	{"場", "场"}, {"處", "处"}, {"噸", "吨"}, {"戶", "户"}, {"張", "张"}, {"冊", "册"}, {"個", "个"}, // traditional
	{"次", "次"}, {"场", "场"}, {"期", "期"}, {"轮", "轮"},
	{"人", "人"}, {"名", "名"}, {"位", "位"},
	{"份", "份"}, {"张", "张"}, {"册", "册"}, {"本", "本"},
	{"户", "户"}, {"家", "家"},
	{"处", "处"}, {"个", "个"},
	{"吨", "吨"}, {"斤", "斤"},
	{"天", "天"}, {"周", "周"},
	{"岁", "岁"}, {"元", "元"}, {"米", "米"}, {"条", "条"}, {"袋", "袋"}, {"例", "例"}, {"台", "台"},
	{"辆", "辆"}, {"对", "对"}, {"棵", "棵"}, {"株", "株"}, {"只", "只"}, {"盒", "盒"}, {"瓶", "瓶"},
	{"块", "块"}, {"间", "间"}, {"栋", "栋"}, {"层", "层"}, {"%", "%"}, {"‰", "‰"},
}

// unitClass maps a unit of quantityUnits to its class.
var unitClass = map[string]Class{
	"次": ClassSessions, "场": ClassSessions, "期": ClassSessions, "轮": ClassSessions,
	"人": ClassPeople, "人次": ClassPeople, "名": ClassPeople, "位": ClassPeople, "个人": ClassPeople,
	"份": ClassItems, "张": ClassItems, "册": ClassItems, "本": ClassItems,
	"户": ClassHouseholds, "家": ClassHouseholds, "户次": ClassHouseholds,
	"处": ClassPlaces, "个": ClassPlaces,
	"吨": ClassWeight, "公斤": ClassWeight, "千克": ClassWeight, "斤": ClassWeight,
	"天": ClassDays, "周": ClassDays,
}

// Quantity is one number found in free text with its unit and the words
// around it: "参与群众60人" is {60, 人, people, Lead 参与群众}.
type Quantity struct {
	// Value is the number as written: "四百余份" 400, "2.5吨" 2.5, "3斤" 3
	// (see Tons); negative after a minus sign or 负 ("-20份", "负5份"). A digit run too long for a float64 is +Inf with Exact
	// false; 99999999999份 is 99999999999: range checks are the caller's.
	Value float64
	// Unit is the unit word as written ("人次", "份", "公斤"), "" for none.
	Unit string
	// Class is what the unit counts.
	Class Class
	// Approx is set by 余/多/来/约/近/左右/以上 and the like.
	Approx bool
	// Vague is true for a number the text gives but not as one value:
	// 十几份, 几十人, 二三十人, 50-60人, 200到300份. Value is 0: ask for it.
	Vague bool
	// Exact is true when Value is exactly the number written: not
	// approximate, and not too long to hold exactly (16 digits or more).
	Exact bool
	// Start and End are the byte span in the string passed in, with
	// approximation words and the unit.
	Start, End int
	// Lead is the run of words just before the number (spaces right before
	// it skipped), back to punctuation, a space, a digit or the previous
	// quantity: "开展健康知识讲座1次 参与群众60人" gives 开展健康知识讲座 for
	// 1次 and 参与群众 for 60人. Match keywords with strings.Contains or
	// HasSuffix: the nearest keyword is the one ending last.
	Lead string
	// LeadStart is the byte offset of Lead in the string passed in.
	LeadStart int
	// Trail is the run of words right after the quantity, up to
	// punctuation, a space, a digit or the next quantity: "60个居民" gives
	// 居民, which says what 个 counts.
	Trail string
}

// Tons returns a weight in tons (3斤 is 0.0015), ok false for a quantity
// that is not a weight.
func (q Quantity) Tons() (float64, bool) {
	switch q.Unit {
	case "吨":
		return q.Value, true
	case "公斤", "千克":
		return q.Value / 1000, true
	case "斤":
		return q.Value / 2000, true
	}
	return 0, false
}

// Quantities finds every number in free text that may be a count, in
// order, each once: "开展健康知识讲座1次 参与群众60人 发放宣传资料200余份"
// gives 1 次, 60 人 and 200 份 (approx), never 61 人. Numbers are never
// merged: "100，200人" is 100 and 200 人. Digits that are part of a date, a
// clock time, a blood pressure, a household address (with its estate phase,
// as 2期 in 阳光花园2期5栋1单元101), an ordinal (第3) or an identifier (a
// phone number, A12) are not quantities. A quantity with no unit has Class
// ClassNone: its Lead and Trail are all there is to attribute it by.
func Quantities(s string) []Quantity {
	tx := newText(s)
	t := tx.s
	skip := quantityMask(&tx)
	opts := scanOpts{units: quantityUnits, long: true}
	var out []Quantity
	prevEnd := 0 // normalised end of the previous quantity or masked span
	// add sets q's span, Lead and Trail from normalised [start, end).
	add := func(q Quantity, start, end int) {
		q.Start, q.End = tx.at(start), tx.at(end)
		ls, le := leadSpan(t, prevEnd, start)
		q.Lead, q.LeadStart = tx.origSlice(ls, le), tx.at(ls)
		ts, te := trailSpan(t, end, skip)
		q.Trail = tx.origSlice(ts, te)
		out = append(out, q)
		prevEnd = end
	}
	for i := 0; i < len(t); {
		if e := inSpans(skip, i); e >= 0 {
			i, prevEnd = e, e
			continue
		}
		r, size := utf8.DecodeRuneInString(t[i:])
		if !numeralStart(t, i) {
			i += size
			continue
		}
		prev := runeBefore(t, i)
		wordBefore := prev == '第' || r > 0x7F && containsRune("统唯万之初星周拜", prev) || prev == '期' && prefixAt(t, i-len("星期"), "星期")
		if ok, unit, end := roundAt(t, i); ok {
			// 近百人, 上千份, 百余人: about a hundred, a thousand.
			start := i
			if p := runeBefore(t, i); p == '近' || p == '上' {
				start = i - len("近")
			}
			add(Quantity{Value: cnMults[r], Unit: unit, Class: classOf(unit), Approx: true}, start, end)
			i = end
			continue
		}
		if vs, ve, unit, ok := vagueAt(t, i); ok && !wordBefore {
			add(Quantity{Unit: unit, Class: classOf(unit), Vague: true}, vs, ve)
			i = ve
			continue
		}
		if n, ok := numScan(&tx, i, true, opts); ok && !wordBefore {
			start := i
			if k, ok := approxLead(t, i); ok {
				start, n.Approx = k, true
			}
			if k, ok := signBefore(t, start); ok {
				start, n.Value = k, -n.Value
			}
			exact := !n.Approx && exactDigits(t[i:n.End])
			add(Quantity{Value: n.Value, Unit: n.Unit, Class: classOf(n.Unit), Approx: n.Approx, Exact: exact}, start, n.End)
			i = n.End
			continue
		}
		if r >= '0' && r <= '9' {
			i = digitsEnd(t, i)
		} else {
			i = cnAt(t, i).end
		}
	}
	return out
}

// roundAt matches a bare 百, 千 or 万 with a unit at i, after 近 or 上 or
// before 余 or 多 (近百人, 上千份, 百余人, 千多份): about a hundred, a
// thousand. 数百 and 几百 are vague, not here.
func roundAt(t string, i int) (ok bool, unit string, end int) {
	r, n := runeAt(t, i)
	if r != '百' && r != '千' && r != '万' || isCNNumeral(runeBefore(t, i)) || isCNNumeral(firstRune(t[i+n:])) {
		return false, "", i
	}
	p := runeBefore(t, i)
	k := i + n
	w, e, more := matchAt(t, k, approxInner)
	if more && w != "来" {
		k = e
	}
	if p != '近' && p != '上' && !(more && w != "来") {
		return false, "", i
	}
	u, e, ok := unitIn(quantityUnits, t, k)
	if !ok || classOf(u) == ClassOther {
		return false, "", i
	}
	return true, u, e
}

// rangeSeps join the two ends of a range (50-60人, 200到300份).
var rangeSeps = []string{"-", "~", "/", "到", "至", "或"}

// vagueAt matches a number that is no single value at i: 十几, 几十,
// 二三十, or a range, with an optional 多/余 and unit. Without a unit it
// must end at a boundary (十几年 is words, not an amount to ask for).
func vagueAt(t string, i int) (start, end int, unit string, ok bool) {
	start = i
	e, cnBad := numeralRunEnd(t, i)
	vague := cnBad
	if p := runeBefore(t, i); p == '几' || p == '数' && !isDigit(t[i]) {
		start, vague = i-len("几"), true // 几十人, 数百份
	}
	if prefixAt(t, e, "几") {
		e, vague = e+len("几"), true
	}
	if !vague {
		_, k, ok := matchAt(t, e, rangeSeps)
		if !ok || !numeralStart(t, k) && !(k < len(t) && isDigit(t[k]) && t[k-1] == '-') {
			return i, i, "", false
		}
		if r, _ := runeAt(t, k); (r >= '0' && r <= '9') != isDigit(t[i]) {
			return i, i, "", false // 3-二: not a range
		}
		e, _ = numeralRunEnd(t, k)
		vague = true
	}
	if _, k, ok := matchAt(t, e, approxInner); ok {
		e = k
	}
	if u, k, ok := unitIn(quantityUnits, t, e); ok {
		return start, k, u, true
	}
	if r, _ := runeAt(t, e); r == 0 || isSepRune(r) {
		return start, e, "", true
	}
	return i, i, "", false
}

// numeralRunEnd returns the end of the digits (with decimal point and
// commas) or Chinese numerals at i, and whether a Chinese run is not a
// well-formed number (二三十).
func numeralRunEnd(t string, i int) (int, bool) {
	if i < len(t) && isDigit(t[i]) {
		e := digitsEnd(t, i)
		for e+1 < len(t) && (t[e] == '.' || t[e] == ',') && isDigit(t[e+1]) {
			e = digitsEnd(t, e+1)
		}
		return e, false
	}
	c := cnAt(t, i)
	return c.end, !c.ok && c.runes >= 2
}

// signBefore reports a minus sign or 负 ending at byte i, and where it
// starts. A dash after a digit is a range or an address, not a sign.
func signBefore(t string, i int) (int, bool) {
	k := spacesBefore(t, i)
	if _, s, ok := matchBefore(t, k, []string{"负"}); ok {
		return s, true
	}
	if k > 0 && t[k-1] == '-' && !(k >= 2 && isDigit(t[k-2])) {
		return k - 1, true
	}
	return i, false
}

// quantityMask returns the spans of tx whose digits are not quantities:
// those of maskedSpans (dates, times, blood pressures, households) with
// their estate phase (阳光花园2期), and spoken readings (血压一百四十 九十);
// but an a/b pair followed by a count unit (200/300份) is an amount.
func quantityMask(tx *text) []span {
	t := tx.s
	var out []span
	for _, sp := range maskedSpans(tx) {
		if u, _, ok := unitIn(quantityUnits, t, sp.end); ok && classOf(u) != ClassOther && containsRune(t[sp.start:sp.end], '/') {
			continue
		}
		out = append(out, sp)
	}
	for _, h := range findHouseholds(tx) {
		if h.estStart < h.start {
			out = append(out, span{h.estStart, h.end})
		}
	}
	for i := 0; i < len(t); {
		r, n := runeAt(t, i)
		if r == '血' || r == '高' || r == 'B' || r == 'b' {
			if _, j, ok := bpSpokenAt(t, i, true); ok {
				out = append(out, span{i, j})
				i = j
				continue
			}
		}
		i += n
	}
	return out
}

// classOf is a unit's class: ClassNone for "", ClassOther for a unit that
// counts nothing in the catalog.
func classOf(unit string) Class {
	if unit == "" {
		return ClassNone
	}
	if c, ok := unitClass[unit]; ok {
		return c
	}
	return ClassOther
}

// exactDigits reports whether the number in t (a normalised quantity)
// has few enough digits to be held exactly in a float64.
func exactDigits(t string) bool {
	d := 0
	for i := 0; i < len(t); i++ {
		if isDigit(t[i]) {
			d++
		}
	}
	return d <= 15
}

// leadSpan returns the words ending at i (spaces before i skipped), back
// to lo or a boundary: punctuation, a space or a digit.
func leadSpan(t string, lo, i int) (int, int) {
	e := spacesBefore(t, i)
	e = max(e, lo)
	s := e
	for s > lo {
		r, n := utf8.DecodeLastRuneInString(t[:s])
		if !isWordRune(r) {
			break
		}
		s -= n
	}
	return s, e
}

// trailSpan returns the words starting at i, up to a boundary or a
// masked span.
func trailSpan(t string, i int, skip []span) (int, int) {
	e := i
	for e < len(t) {
		if inSpans(skip, e) >= 0 {
			break
		}
		r, n := utf8.DecodeRuneInString(t[e:])
		if !isWordRune(r) || isCNNumeral(r) {
			break
		}
		e += n
	}
	return i, e
}

// isWordRune reports a rune that is part of a word: a letter (Chinese
// included) that is not a digit.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) && !(r >= '0' && r <= '9')
}
