package zh

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// cnDigits are the Chinese digits, including the financial forms.
var cnDigits = map[rune]int{
	'零': 0, '〇': 0, '一': 1, '壹': 1, '二': 2, '贰': 2, '两': 2, '三': 3, '叁': 3,
	'四': 4, '肆': 4, '五': 5, '伍': 5, '六': 6, '陆': 6, '七': 7, '柒': 7,
	'八': 8, '捌': 8, '九': 9, '玖': 9,
}

// cnMults are the Chinese multipliers.
var cnMults = map[rune]float64{
	'十': 10, '拾': 10, '百': 100, '佰': 100, '千': 1000, '仟': 1000, '万': 1e4, '亿': 1e8,
}

// isCNNumeral reports whether r is a key of cnDigits or cnMults. It is
// asked of nearly every rune scanned, hence a switch rather than two map
// lookups (TestIsCNNumeral keeps them in step).
func isCNNumeral(r rune) bool {
	switch r {
	case '零', '〇', '一', '壹', '二', '贰', '两', '三', '叁', '四', '肆', '五', '伍', '六', '陆', '七', '柒', '八', '捌', '九', '玖',
		'十', '拾', '百', '佰', '千', '仟', '万', '亿':
		return true
	}
	return false
}

// maxCNRunes bounds a Chinese numeral run, so values stay exact in float64.
const maxCNRunes = 16

// cnNum is a parsed run of Chinese numerals.
type cnNum struct {
	value float64
	end   int  // byte index past the run
	runes int  // runes in the run
	mult  bool // has a multiplier (十百千万亿); false: a digit or digit sequence
	ok    bool // the run is a well-formed number
}

// cnAt parses the maximal run of Chinese numerals starting at byte i:
// "三十五" 35, "两百" 200, "一千零五" 1005, "一百二" 120 (colloquial),
// "三万五" 35000, "十五" 15, "二〇二六" 2026 (digit by digit), "五" 5.
// Digit sequences of two digits without a zero ("三五", "three or five")
// are not numbers. When ok is false, end still marks the run's end.
func cnAt(t string, i int) cnNum {
	j := i
	var rs []rune
	for j < len(t) {
		r, n := utf8.DecodeRuneInString(t[j:])
		if !isCNNumeral(r) {
			break
		}
		rs = append(rs, r)
		j += n
	}
	c := cnNum{end: j, runes: len(rs)}
	if len(rs) == 0 || len(rs) > maxCNRunes {
		return c
	}
	for _, r := range rs {
		if _, ok := cnMults[r]; ok {
			c.mult = true
		}
	}
	if !c.mult {
		// A digit, or digits read one by one.
		if len(rs) == 2 && cnDigits[rs[0]] != 0 && cnDigits[rs[1]] != 0 {
			return c
		}
		v := 0.0
		for _, r := range rs {
			if r == '两' && len(rs) > 1 {
				return c
			}
			v = v*10 + float64(cnDigits[r])
		}
		c.value, c.ok = v, true
		return c
	}
	var total, section float64
	num := -1.0       // pending digit, -1 none
	lastSmall := 0.0  // last 十/百/千 within the section
	lastMult := 0.0   // last multiplier of any size
	prevMult := false // previous rune was a multiplier
	zero := false     // a 零 since the last multiplier
	seenBig := 0.0    // last 万/亿
	for k, r := range rs {
		if d, ok := cnDigits[r]; ok {
			if d == 0 {
				if !prevMult {
					return c
				}
				zero, prevMult = true, false
				continue
			}
			if num >= 0 {
				return c // two digits in a row inside a multiplied number
			}
			num = float64(d)
			prevMult = false
			continue
		}
		m := cnMults[r]
		if m < 1e4 {
			if num < 0 {
				// A bare 十 means ten ("十五", "二百一十"); 百/千 need a digit.
				if m != 10 || (k > 0 && !zero && seenBig == 0 && section != 0) {
					return c
				}
				num = 1
			}
			if lastSmall != 0 && m >= lastSmall {
				return c
			}
			section += num * m
			lastSmall = m
		} else {
			if num >= 0 {
				section += num
			}
			if section == 0 || (seenBig != 0 && m >= seenBig) {
				return c
			}
			total += section * m
			section, lastSmall, seenBig = 0, 0, m
		}
		num, lastMult, prevMult, zero = -1, m, true, false
	}
	if num >= 0 {
		if !zero && lastMult >= 100 && cnMults[rs[len(rs)-2]] == lastMult {
			num *= lastMult / 10 // "一百五" 150, "三万五" 35000
		}
		section += num
	}
	c.value, c.ok = total+section, true
	return c
}

// arabicNum is a parsed number written with ASCII digits.
type arabicNum struct {
	value  float64
	end    int
	digits int  // digits before the decimal point
	frac   bool // has a decimal part
	huge   bool // too large for a float64: value is +Inf, ok false
	ok     bool
}

// arabicAt parses ASCII digits at i with optional thousands separators
// ("1,200": commaOK decides whether a comma at a byte index may be one)
// and a decimal part, then an optional multiplier 万/千/百/亿 ("1.5万").
func arabicAt(t string, i int, commaOK func(int) bool) arabicNum {
	j := digitsEnd(t, i)
	a := arabicNum{end: j, digits: j - i}
	if j == i {
		return a
	}
	buf := []byte(t[i:j])
	if a.digits <= 3 {
		for j < len(t) && t[j] == ',' && commaOK(j) && digitsEnd(t, j+1) == j+4 {
			buf = append(buf, t[j+1:j+4]...)
			a.digits += 3
			j += 4
		}
	}
	if j+1 < len(t) && t[j] == '.' && isDigit(t[j+1]) {
		e := digitsEnd(t, j+1)
		buf = append(buf, t[j:e]...)
		j, a.frac = e, true
	}
	v, err := strconv.ParseFloat(string(buf), 64)
	if err != nil || math.IsInf(v, 0) {
		a.end, a.value, a.huge = j, math.Inf(1), true
		return a
	}
	if r, n := runeAt(t, j); r == '万' || r == '千' || r == '百' || r == '亿' {
		next, _ := runeAt(t, j+n)
		if !isCNNumeral(next) && !(next >= '0' && next <= '9') {
			v *= cnMults[r]
			j += n
		}
	}
	a.value, a.end, a.ok = v, j, true
	return a
}

// intAt parses a non-negative integer at i written in ASCII digits (at most
// maxDigits) or Chinese numerals. digits is the count of ASCII digits, 0 for
// Chinese numerals.
func intAt(t string, i, maxDigits int) (v, end, digits int, ok bool) {
	if i < len(t) && isDigit(t[i]) {
		e := digitsEnd(t, i)
		if e-i > maxDigits {
			return 0, e, e - i, false
		}
		n, err := strconv.Atoi(t[i:e])
		return n, e, e - i, err == nil
	}
	c := cnAt(t, i)
	if !c.ok || c.value > 1e9 {
		return 0, c.end, 0, false
	}
	return int(c.value), c.end, 0, true
}

// numeralStart reports whether a number may start at byte i: a digit or a
// Chinese numeral that does not continue a run of them.
func numeralStart(t string, i int) bool {
	r, _ := runeAt(t, i)
	prev := runeBefore(t, i)
	if r >= '0' && r <= '9' {
		return !(prev >= '0' && prev <= '9')
	}
	return isCNNumeral(r) && !isCNNumeral(prev)
}
