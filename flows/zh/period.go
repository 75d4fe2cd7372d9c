package zh

import (
	"fmt"
	"time"
)

// Relative period words, longest first; months counts back from now's
// month, years from now's year.
var relPeriods = []struct {
	word          string
	months, years int
	isYear        bool
}{
	{"上上个月", 2, 0, false}, {"上上月", 2, 0, false},
	{"这个月", 0, 0, false}, {"上个月", 1, 0, false}, {"本月", 0, 0, false}, {"这月", 0, 0, false},
	{"当月", 0, 0, false}, {"上月", 1, 0, false},
	{"这一年", 0, 0, true}, {"上一年", 0, 1, true}, {"今年", 0, 0, true}, {"本年", 0, 0, true},
	{"全年", 0, 0, true}, {"去年", 0, 1, true}, {"前年", 0, 2, true}, {"上年", 0, 1, true},
}

// Period parses a period in a totals question and returns "2026-11" for a
// month or "2026" for a year: 本月/这个月 (now's month), 上月/上个月, 今年/
// 本年, 去年, 10月/10月份/十月 (the most recent October not after now),
// 2026年10月, 2026-10, 2026年. Explicit years and months are returned even
// when in the future; the caller decides what to say. ok is false when s
// holds no period (a full date such as 10月5日 is not one).
func Period(s string, now time.Time) (period string, ok bool) {
	t := newText(s).s
	for i := 0; i < len(t); {
		if p, ok := periodAt(t, i, now); ok {
			return p, true
		}
		_, n := runeAt(t, i)
		i += n
	}
	return "", false
}

// periodAt matches a period expression at byte i.
func periodAt(t string, i int, now time.Time) (string, bool) {
	for _, r := range relPeriods {
		if !prefixAt(t, i, r.word) {
			continue
		}
		if r.isYear {
			return fmt.Sprintf("%04d", now.Year()-r.years), true
		}
		m := time.Date(now.Year(), now.Month()-time.Month(r.months), 1, 0, 0, 0, 0, time.UTC)
		return m.Format("2006-01"), true
	}
	if !numeralStart(t, i) {
		return "", false
	}
	if y, j, yd, ok := intAt(t, i, 4); ok && (yd == 4 || yd == 0 && j-i == 4*3) && y >= 1900 && y <= 2200 {
		k := skipSpaces(t, j)
		switch {
		case prefixAt(t, k, "年"):
			k = skipSpaces(t, k+len("年"))
			if m, e, ok := monthAt(t, k); ok {
				return fmt.Sprintf("%04d-%02d", y, m), true
			} else if e == k {
				return fmt.Sprintf("%04d", y), true
			}
			return "", false
		case k < len(t) && (t[k] == '-' || t[k] == '.' || t[k] == '/'):
			m, e, md, ok := intAt(t, k+1, 2)
			if !ok || md == 0 || m < 1 || m > 12 {
				return "", false
			}
			if e < len(t) && (isDigit(t[e]) || t[e] == t[k]) {
				return "", false // a full date
			}
			return fmt.Sprintf("%04d-%02d", y, m), true
		}
		return "", false
	}
	if m, _, ok := monthAt(t, i); ok {
		y := now.Year()
		if time.Month(m) > now.Month() {
			y--
		}
		return fmt.Sprintf("%04d-%02d", y, m), true
	}
	return "", false
}

// monthAt matches "10月", "10月份", "十月" at i, not followed by a day.
// When no month is there, end is i.
func monthAt(t string, i int) (m, end int, ok bool) {
	m, j, _, ok := intAt(t, i, 2)
	if !ok {
		return 0, i, false
	}
	k := skipSpaces(t, j)
	if !prefixAt(t, k, "月") || m < 1 || m > 12 {
		return 0, i, false
	}
	e := k + len("月")
	if prefixAt(t, e, "份") {
		return m, e + len("份"), true
	}
	if d, _, _, ok := intAt(t, skipSpaces(t, e), 2); ok && d >= 1 {
		return 0, e, false // 10月5日 is a day, not a month
	}
	return m, e, true
}
