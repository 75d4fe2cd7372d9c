package zh

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// Num is a number found in text.
type Num struct {
	// Value is the number; "四百余" gives 400.
	Value float64
	// Unit is one of 份 人 户 处 次 吨 米 个 名 场 期, or "" (位 and 人次
	// count as 人, 家 as 户).
	Unit string
	// Approx is true for 余/多/来/约/左右/近/以上 and the like.
	Approx bool
	// Start and End are byte offsets of the whole expression, approximation
	// words and unit included, into the string passed in.
	Start, End int
}

// unitWord maps a unit word to the unit reported for it.
type unitWord struct{ word, unit string }

// units maps unit words (longest first) to the canonical unit.
var units = []unitWord{
	{"人次", "人"}, {"个人", "人"},
	{"份", "份"}, {"人", "人"}, {"位", "人"}, {"户", "户"}, {"家", "户"}, {"处", "处"},
	{"次", "次"}, {"吨", "吨"}, {"米", "米"}, {"个", "个"}, {"名", "名"}, {"场", "场"}, {"期", "期"},
}

// unitAt matches a unit word at i.
func unitAt(t string, i int) (unit string, end int, ok bool) {
	return unitIn(units, t, i)
}

// unitIn matches a unit word of table at i.
func unitIn(table []unitWord, t string, i int) (unit string, end int, ok bool) {
	for _, u := range table {
		if prefixAt(t, i, u.word) {
			return u.unit, i + len(u.word), true
		}
	}
	return "", i, false
}

// Approximation words before a number, after it (before the unit) and
// after the unit.
var (
	approxBefore = []string{"差不多有", "大约有", "大概有", "差不多", "将近", "接近", "大约", "大概", "大致", "约为", "约有", "不到", "约", "近"}
	approxInner  = []string{"余", "餘", "多", "来"}
	approxAfter  = []string{"左右", "上下", "以上", "出头", "余", "餘", "多"}
	// Words that make a following 约/近 not an approximation (预约, 附近).
	notApproxLead = "预签节制邀相履违合契附最临亲"
	// Fillers allowed before a whole-answer number.
	numberFillers = []string{"一共是", "总共是", "共计", "合计", "总共", "一共", "总计", "共有", "共", "有"}
)

// numCore parses a number with its inner approximation word, unit and
// trailing approximation words at i (no look-behind). free selects the
// stricter rules for numbers inside free text. The returned Num has
// offsets into t.
func numCore(tx *text, i int, free bool) (n Num, ok bool) {
	return numScan(tx, i, free, scanOpts{units: units})
}

// scanOpts vary numCore for Quantities.
type scanOpts struct {
	units []unitWord // unit words, longest first
	// long accepts a run of 8 or more digits (or one too large for a
	// float64, as +Inf) when a unit follows: 99999999999份 is an absurd
	// count to refuse, not a phone number to skip.
	long bool
}

// numScan is numCore with a unit table and options.
func numScan(tx *text, i int, free bool, o scanOpts) (n Num, ok bool) {
	t := tx.s
	long := false // a long digit run: only with a unit
	// In free text "100，200人" is two numbers; a comma groups thousands
	// when half-width (1,200), or full-width after full-width digits, as a
	// full-width keyboard types 1,200 (１，２００).
	commaOK := func(k int) bool {
		return !free || tx.orig(k) == "," || tx.orig(k) == "，" && k > 0 && tx.orig(k-1) != t[k-1:k]
	}
	var (
		v         float64
		j         int
		cn        cnNum
		isCN      bool
		endsInTen bool // may take 来: 十来个, 20来人
	)
	if i < len(t) && isDigit(t[i]) {
		a := arabicAt(t, i, commaOK)
		if !a.ok && !(o.long && a.huge) {
			return Num{}, false
		}
		v, j = a.value, a.end
		endsInTen = !a.frac && t[j-1] == '0'
		if free && !a.frac && a.digits >= 8 || a.huge {
			if !o.long {
				return Num{}, false // phone or ID number
			}
			long = true
		}
	} else {
		cn = cnAt(t, i)
		if !cn.ok {
			return Num{}, false
		}
		isCN = true
		v, j = cn.value, cn.end
		if r := runeBefore(t, j); r == '十' || r == '百' || r == '千' || r == '万' {
			endsInTen = true
		}
		// Chinese decimal, whole answers only (二点五, 七点二), and in
		// Quantities before a unit (二点五吨; 二点 alone is two o'clock).
		if (!free || o.long) && prefixAt(t, j, "点") {
			if d := cnAt(t, j+len("点")); d.ok && !d.mult {
				frac := 0.0
				digits := t[j+len("点") : d.end]
				scale := 0.1
				for _, r := range digits {
					frac += float64(cnDigits[r]) * scale
					scale /= 10
				}
				v += frac
				j = d.end
				endsInTen = false
				long = long || free // a unit must follow
			}
		}
	}
	n = Num{Value: v, Start: i}
	if free {
		// Digits that are part of a time, date, building or ID.
		r, _ := runeAt(t, j)
		switch r {
		case '年', '月', '日', '号', '点', '时', '分', '秒', '楼', '栋', '幢', '室', '#', ':', '/', '几', '半':
			return Num{}, false
		case '-', '.':
			if j+1 < len(t) && isDigit(t[j+1]) {
				return Num{}, false
			}
		case '单':
			if prefixAt(t, j, "单元") {
				return Num{}, false
			}
		case '门':
			return Num{}, false
		}
		if isLetter(runeBefore(t, i)) {
			return Num{}, false
		}
	} else if r, _ := runeAt(t, j); r == '几' || r == '半' {
		return Num{}, false
	}
	if w, k, ok := matchAt(t, j, approxInner); ok && (w != "来" || endsInTen && !prefixAt(t, k, "了")) { // 300来了80人: the verb
		n.Approx, j = true, k
	}
	k := j
	if !free {
		k = skipSpaces(t, j)
	} else if k < len(t) && t[k] == ' ' {
		k++
	}
	unitFound := false
	if u, e, ok := unitIn(o.units, t, k); ok {
		n.Unit, j, unitFound = u, e, true
	}
	if long && !unitFound {
		return Num{}, false
	}
	if o.long && unitFound && prefixAt(t, j, "半") {
		n.Value += 0.5 // 两吨半, 3天半
		j += len("半")
	}
	if _, e, ok := matchAt(t, j, approxAfter); ok {
		n.Approx, j = true, e
	}
	if free && isCN && !cn.mult && !unitFound && !n.Approx {
		return Num{}, false // a lone 一/两/三 is a word, not a count
	}
	if free && isCN && cn.runes == 1 && cn.mult && !unitFound && !n.Approx {
		return Num{}, false // 十字路口, 十分
	}
	if free && n.Unit == "个" && prefixAt(t, j, "月") {
		return Num{}, false // 一个月: a duration
	}
	n.End = j
	return n, true
}

// approxLead looks for an approximation word ending at i (spaces allowed in
// between) and returns where it starts.
func approxLead(t string, i int) (int, bool) {
	k := spacesBefore(t, i)
	w, s, ok := matchBefore(t, k, approxBefore)
	if !ok {
		return i, false
	}
	if (w == "约" || w == "近") && containsRune(notApproxLead, runeBefore(t, s)) {
		return i, false
	}
	return s, true
}

func containsRune(s string, r rune) bool { return strings.ContainsRune(s, r) }

// orig returns the original text of the rune at normalised byte k.
func (tx *text) orig(k int) string {
	if k < 0 || k >= len(tx.s) {
		return ""
	}
	_, n := runeAt(tx.s, k)
	return tx.origSlice(k, k+n)
}

// origSlice maps a normalised byte range to the original text.
func (tx *text) origSlice(i, j int) string {
	return tx.src[tx.at(i):tx.at(j)]
}

// Number parses a whole answer that should be one number, with optional
// unit and approximation words: "35", "３５", "三十五", "两百", "一千零五",
// "四百余", "400多", "约400", "400余份", "2.5", "2.5吨", "35人", "一百二十",
// "1,200", "共35人", "400份左右". Start/End cover the number expression
// within s. Errors: ErrNotNumber (words, several numbers, "十几"),
// ErrNegative ("-5", "负五").
func Number(s string) (Num, error) {
	tx := newText(s)
	i, e := trimAnswer(tx.s)
	tx.s = tx.s[:e] // parse the trimmed answer only
	t := tx.s
	if _, k, ok := matchAt(t, i, numberFillers); ok && k < e {
		i = skipSpaces(t, k)
	}
	if i < e && (t[i] == '-' || prefixAt(t, i, "负")) {
		_, n := runeAt(t, i)
		k := skipSpaces(t, i+n)
		if m, ok := numCore(&tx, k, false); ok && m.End == e {
			return Num{}, ErrNegative
		}
		return Num{}, ErrNotNumber
	}
	if i < e && t[i] == '+' {
		i++
	}
	start := i
	approx := false
	if _, k, ok := matchAt(t, i, approxBefore); ok && k < e {
		start, approx = i, true
		i = skipSpaces(t, k)
	}
	if i >= e || !numeralStart(t, i) {
		return Num{}, ErrNotNumber
	}
	n, ok := numCore(&tx, i, false)
	if !ok || n.End != e {
		return Num{}, ErrNotNumber
	}
	n.Approx = n.Approx || approx
	n.Start, n.End = tx.at(start), tx.at(n.End)
	return n, nil
}

// Numbers finds every number expression in free text, in order: "今天宣传
// 发放资料四百余份，参与群众35人" gives {400 份 approx} and {35 人}. It
// skips digits that belong to a date (11月5日, 11.5, 2026-11-05, 周五), a
// time (9点, 10:30), a household (3-2-201, 3号楼2单元201室), a blood
// pressure (150/95), an ordinal (第3), an identifier (A12, phone numbers),
// and lone Chinese digits that are words (一起, 十分).
func Numbers(s string) []Num {
	tx := newText(s)
	t := tx.s
	skip := maskedSpans(&tx)
	var out []Num
	for i := 0; i < len(t); {
		if e := inSpans(skip, i); e >= 0 {
			i = e
			continue
		}
		r, size := utf8.DecodeRuneInString(t[i:])
		if !numeralStart(t, i) {
			i += size
			continue
		}
		n, ok := numCore(&tx, i, true)
		prev := runeBefore(t, i)
		if ok && prev != '第' && !(r > 0x7F && containsRune("统唯万之初星期周拜", prev)) {
			start := i
			if k, ok := approxLead(t, i); ok {
				start, n.Approx = k, true
			}
			n.Start, n.End = tx.at(start), tx.at(n.End)
			out = append(out, n)
			i = tx.normIndex(n.End)
			continue
		}
		// Skip the whole numeral run.
		if r >= '0' && r <= '9' {
			i = digitsEnd(t, i)
		} else {
			i = cnAt(t, i).end
		}
	}
	return out
}

// normIndex maps an original byte offset back to the normalised index:
// the first whose original offset is o or more (at never decreases).
func (tx *text) normIndex(o int) int {
	return min(sort.Search(len(tx.s)+1, func(k int) bool { return tx.at(k) >= o }), len(tx.s))
}

// maskedSpans returns the spans of dates, households, blood pressures and
// times in tx, whose digits are not counts.
func maskedSpans(tx *text) []span {
	var out []span
	t := tx.s
	bpKey := hasBPKeyword(t)
	for i := 0; i < len(t); {
		if r, n := runeAt(t, i); !scanStart(r) {
			i += n
			continue
		}
		if j, ok := timeAt(t, i); ok {
			out = append(out, span{i, j})
			i = j
			continue
		}
		if _, j, ok := bpAt(t, i, true, bpKey); ok {
			out = append(out, span{i, j})
			i = j
			continue
		}
		if _, j, ok := householdAt(t, i, true); ok {
			out = append(out, span{i, j})
			i = j
			continue
		}
		if _, j, ok := dateAt(t, i, true, bpKey); ok {
			out = append(out, span{i, j})
			i = j
			continue
		}
		_, n := runeAt(t, i)
		i += n
	}
	return out
}

// timeAt matches a clock time at i: "10:30", "9:05".
func timeAt(t string, i int) (int, bool) {
	if !numeralStart(t, i) || !isDigit(t[i]) {
		return i, false
	}
	h := digitsEnd(t, i)
	if h-i > 2 || h >= len(t) || t[h] != ':' {
		return i, false
	}
	m := digitsEnd(t, h+1)
	if m-(h+1) != 2 {
		return i, false
	}
	return m, true
}

// scanStart reports whether a time, date, household or blood pressure may
// start with r: a digit, a Chinese numeral, or the first rune of a keyword
// (今天, 上周, 星期, 血压, 高压, ...). Scanners skip other runes quickly.
func scanStart(r rune) bool {
	switch r {
	case '大', '前', '昨', '今', '当', '明', '后', '上', '本', '这', '星', '礼', '周', '血', '收', '高', '舒', '低', 'B', 'b':
		return true
	}
	return r >= '0' && r <= '9' || isCNNumeral(r)
}
