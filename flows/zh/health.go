package zh

import (
	"strconv"
	"strings"
)

// Blood pressure keywords.
var (
	bpWords  = []string{"血压", "BP", "bp"}
	sysWords = []string{"收缩压", "高压"}
	diaWords = []string{"舒张压", "低压"}
	bpUnits  = []string{"毫米汞柱", "mmHg", "mmhg", "MMHG", "mm Hg"}
)

// hasBPKeyword reports whether t talks about blood pressure, which makes a
// pair such as 12/10 a reading rather than a date.
func hasBPKeyword(t string) bool {
	// 血压, 高压, 低压, 收缩压 and 舒张压 all have 压.
	return strings.Contains(t, "压") && Has(t, "血压", "高压", "低压", "收缩压", "舒张压") || Has(t, "mmHg", "mmhg", "毫米汞柱")
}

// bpAt matches a blood pressure at i: "150/95", "150 / 95", "血压150/95",
// "150/95mmHg", "高压150低压95" (also in Chinese numerals, either order).
// free applies the rules for free text: two or three digits each, no
// "比" or space separator, and a pair that reads as a month/day (12/10) is
// only a reading when bpKey says the text is about blood pressure.
func bpAt(t string, i int, free, bpKey bool) (r [2]int, end int, ok bool) {
	if r, end, ok := bpWordsAt(t, i); ok {
		return r, end, true
	}
	j := i
	if _, k, ok := matchAt(t, j, bpWords); ok {
		if free && isLetter(runeBefore(t, i)) {
			return r, i, false
		}
		j = skipSpaces(t, k)
		if j < len(t) && t[j] == ':' {
			j = skipSpaces(t, j+1)
		}
		bpKey = true
	}
	if j >= len(t) || !isDigit(t[j]) || !numeralStart(t, j) {
		return r, i, false
	}
	maxd, mind := 4, 1
	if free {
		maxd, mind = 3, 2
	}
	se := digitsEnd(t, j)
	if se-j < mind || se-j > maxd {
		return r, i, false
	}
	k := skipSpaces(t, se)
	seps := []string{"/", "\\", "比"}
	if !free {
		seps = append(seps, ",", "、")
	}
	_, k2, hasSep := matchAt(t, k, seps)
	if !hasSep {
		if free || k == se {
			return r, i, false
		}
		k2 = k // "150 95", voice input
	}
	k = skipSpaces(t, k2)
	if k >= len(t) || !isDigit(t[k]) {
		return r, i, false
	}
	de := digitsEnd(t, k)
	if de-k < mind || de-k > maxd {
		return r, i, false
	}
	sys, _ := strconv.Atoi(t[j:se])
	dia, _ := strconv.Atoi(t[k:de])
	end = de
	if u := skipSpaces(t, end); true {
		if _, e, ok := matchAt(t, u, bpUnits); ok {
			end, bpKey = e, true
		}
	}
	if free {
		// Part of a longer a/b/c, a decimal, or a month/day.
		if r, _ := runeAt(t, de); r == '/' || r == '.' || r == '-' {
			if de+1 < len(t) && isDigit(t[de+1]) {
				return [2]int{}, i, false
			}
		}
		if p := runeBefore(t, j); p == '/' || p == '.' || p == '-' {
			return [2]int{}, i, false
		}
		if !bpKey && sys <= 12 && dia <= 31 {
			return [2]int{}, i, false
		}
	}
	return [2]int{sys, dia}, end, true
}

// bpSpokenAt matches a reading as voice input writes it: "血压140 90",
// "血压140，90", "血压一百四十 九十", "血压140over90", "高压140比90",
// "血压140/90". needKey: it must start with 血压, 高压 or BP, which is what
// makes "140 90" in free text a reading.
func bpSpokenAt(t string, i int, needKey bool) (r [2]int, end int, ok bool) {
	j := i
	if _, k, found := matchAt(t, j, spokenBPWords); found {
		j = skipSpaces(t, k)
		if _, k, found := matchAt(t, j, []string{":", "是", "为"}); found {
			j = skipSpaces(t, k)
		}
	} else if needKey {
		return r, i, false
	}
	v1, e1, ok1 := bpPart(t, j)
	if !ok1 {
		return r, i, false
	}
	k := skipSpaces(t, e1)
	_, k2, hasSep := matchAt(t, k, []string{"/", "\\", "比", ",", "、", "over", "OVER", "Over"})
	if !hasSep {
		if k == e1 {
			return r, i, false // "一百四十九十": where one ends is unclear
		}
		k2 = k
	}
	v2, e2, ok2 := bpPart(t, skipSpaces(t, k2))
	if !ok2 {
		return r, i, false
	}
	if c, _ := runeAt(t, e2); c == '.' || c == '/' || c == '-' {
		return r, i, false // a decimal or a longer a/b/c
	}
	end = e2
	if _, e, found := matchAt(t, skipSpaces(t, end), bpUnits); found {
		end = e
	}
	return [2]int{v1, v2}, end, true
}

// spokenBPWords start a reading in bpSpokenAt.
var spokenBPWords = []string{"血压", "高压", "BP", "bp"}

// bpPart reads one value of a spoken reading at j: two or three digits or
// a Chinese numeral of at least ten.
func bpPart(t string, j int) (v, end int, ok bool) {
	if j >= len(t) || !numeralStart(t, j) {
		return 0, j, false
	}
	v, end, digits, ok := intAt(t, j, 3)
	if !ok || digits == 1 || v < 10 {
		return 0, j, false
	}
	return v, end, true
}

// bpWordsAt matches "高压150低压95" (or 低压 first) at i.
func bpWordsAt(t string, i int) (r [2]int, end int, ok bool) {
	j := i
	if _, k, ok := matchAt(t, j, bpWords); ok {
		j = skipSpaces(t, k)
		if j < len(t) && t[j] == ':' {
			j = skipSpaces(t, j+1)
		}
	}
	first, second := 0, 1
	_, k, ok := matchAt(t, j, sysWords)
	if !ok {
		if _, k, ok = matchAt(t, j, diaWords); !ok {
			return r, i, false
		}
		first, second = 1, 0
	}
	v1, k, ok := bpValue(t, k)
	if !ok {
		return r, i, false
	}
	k = skipSpaces(t, k)
	if _, e, ok := matchAt(t, k, []string{",", "、", ";", "，"}); ok {
		k = skipSpaces(t, e)
	}
	words := diaWords
	if first == 1 {
		words = sysWords
	}
	_, k, ok = matchAt(t, k, words)
	if !ok {
		return r, i, false
	}
	v2, k, ok := bpValue(t, k)
	if !ok {
		return r, i, false
	}
	r[first], r[second] = v1, v2
	end = k
	if _, e, ok := matchAt(t, skipSpaces(t, end), bpUnits); ok {
		end = e
	}
	return r, end, true
}

// bpValue reads ":  150" or "一百五" after a 高压/低压 keyword.
func bpValue(t string, k int) (int, int, bool) {
	k = skipSpaces(t, k)
	if k < len(t) && (t[k] == ':' || t[k] == '=') {
		k = skipSpaces(t, k+1)
	}
	if prefixAt(t, k, "是") {
		k = skipSpaces(t, k+len("是"))
	}
	v, e, _, ok := intAt(t, k, 4)
	if !ok {
		return 0, k, false
	}
	if _, e2, ok := matchAt(t, skipSpaces(t, e), bpUnits); ok {
		e = e2
	}
	return v, e, true
}

// checkBP applies the plausibility ranges.
func checkBP(sys, dia int) error {
	if sys < 50 || sys > 300 || dia < 30 || dia > 200 || sys <= dia {
		return ErrBPRange
	}
	return nil
}

// BloodPressure parses a whole answer that is a blood pressure: "150/95",
// "150／95", "150 / 95", "高压150低压95", "150/95mmHg", "血压150/95".
// Errors: ErrNotBP (not of that shape), ErrBPRange (systolic outside
// 50–300, diastolic outside 30–200, or systolic not above diastolic).
func BloodPressure(s string) (sys, dia int, err error) {
	t := newText(s).s
	i, e := trimAnswer(t)
	t = t[:e]
	r, end, ok := bpAt(t, i, false, true)
	if !ok || end != e {
		r, end, ok = bpSpokenAt(t, i, false)
	}
	if !ok || end != e {
		return 0, 0, ErrNotBP
	}
	return r[0], r[1], checkBP(r[0], r[1])
}

// FindBloodPressure finds the first blood pressure in free text ("走访
// 3-2-201 慢病 150/95"); ok is false if there is none. start and end are
// byte offsets into s, and BloodPressure(s[start:end]) parses the match.
// Pairs outside the plausible ranges are reported too (ok true) so callers
// can refuse them: check them with BloodPressure or BPInRange. A pair that
// reads as a month/day (11/5) is not a blood pressure unless the text
// mentions 血压/高压/低压/mmHg.
func FindBloodPressure(s string) (sys, dia int, start, end int, ok bool) {
	tx := newText(s)
	if !mayHoldBP(tx.s) {
		return 0, 0, 0, 0, false
	}
	return scanBP(&tx)
}

// scanBP is FindBloodPressure's scan of tx, rune by rune.
func scanBP(tx *text) (sys, dia int, start, end int, ok bool) {
	t := tx.s
	key := hasBPKeyword(t)
	for i := 0; i < len(t); {
		if r, n := runeAt(t, i); !scanStart(r) {
			i += n
			continue
		}
		if r, j, ok := bpAt(t, i, true, key); ok {
			return r[0], r[1], tx.at(i), tx.at(j), true
		}
		if r, j, ok := bpSpokenAt(t, i, true); ok {
			return r[0], r[1], tx.at(i), tx.at(j), true
		}
		_, n := runeAt(t, i)
		i += n
	}
	return 0, 0, 0, 0, false
}

// mayHoldBP reports whether normalised t has what every reading
// FindBloodPressure finds has, so that a text without it (most campaign
// and inspection lines) is not scanned: a separator of a written pair
// (bpAt in free text needs /, \ or 比), or a keyword (bpWordsAt's
// 高压/低压/收缩压/舒张压 and bpSpokenAt's 血压/高压 all have 压; BP, bp).
func mayHoldBP(t string) bool {
	return strings.IndexByte(t, '/') >= 0 || strings.IndexByte(t, '\\') >= 0 || strings.Contains(t, "压") ||
		strings.Contains(t, "比") || strings.Contains(t, "BP") || strings.Contains(t, "bp")
}

// BPInRange reports ErrBPRange when a reading found by FindBloodPressure is
// implausible, nil otherwise.
func BPInRange(sys, dia int) error { return checkBP(sys, dia) }

// Glucose words before and units after a glucose value.
var (
	glucoseWords = []string{"餐后两小时血糖", "餐后2小时血糖", "餐后2h血糖", "空腹血糖", "餐后血糖", "随机血糖", "血糖值", "血糖", "空腹", "餐后", "随机", "GLU", "Glu", "glu"}
	glucoseUnits = []string{"mmol/L", "mmol/l", "MMOL/L", "mmol", "毫摩尔每升", "毫摩尔", "毫摩"}
)

// Glucose parses a whole answer that is a blood glucose reading in mmol/L:
// "7.2", "7.2mmol", "7.2 mmol/L", "血糖7.2", "空腹血糖:6.1", "七点二".
// Errors: ErrNotNumber when it is not a number, ErrGlucoseRange when the
// value is outside 1–35 (negative values included).
func Glucose(s string) (float64, error) {
	tx := newText(s)
	i, e := trimAnswer(tx.s)
	tx.s = tx.s[:e]
	t := tx.s
	if _, k, ok := matchAt(t, i, glucoseWords); ok {
		i = skipSpaces(t, k)
		if i < e && (t[i] == ':' || t[i] == '=') {
			i = skipSpaces(t, i+1)
		}
		if prefixAt(t, i, "是") {
			i = skipSpaces(t, i+len("是"))
		}
	}
	for _, u := range glucoseUnits {
		if strings.HasSuffix(t[i:e], u) {
			e = spacesBefore(t, e-len(u))
			break
		}
	}
	neg := false
	if i < e && (t[i] == '-' || prefixAt(t, i, "负")) {
		_, n := runeAt(t, i)
		i, neg = skipSpaces(t, i+n), true
	}
	if i >= e || !numeralStart(t, i) {
		return 0, ErrNotNumber
	}
	n, ok := numCore(&tx, i, false)
	if !ok || n.End != e || n.Unit != "" || n.Approx {
		return 0, ErrNotNumber
	}
	if neg || n.Value < 1 || n.Value > 35 {
		return 0, ErrGlucoseRange
	}
	return n.Value, nil
}
