package zh

import (
	"time"
)

// dateKind says how a date expression is anchored.
type dateKind int

const (
	dateYMD     dateKind = iota // 2026-11-05: explicit year
	dateMD                      // 11月5日: most recent such date
	dateDay                     // 5号: most recent such day of a month
	dateRel                     // 昨天: days from today
	dateWeekday                 // 周五, 上周五, 本周一
)

// dateSpec is a parsed, unresolved date expression.
type dateSpec struct {
	kind    dateKind
	y, m, d int
	rel     int // dateRel: days from today
	wd      int // dateWeekday: 1 Monday … 7 Sunday
	week    int // dateWeekday: 0 bare (most recent), 1 this week, -1 last week
}

// Relative day words, longest first.
var relDays = []struct {
	word string
	rel  int
}{
	{"大前天", -3}, {"前天", -2}, {"前日", -2}, {"昨天", -1}, {"昨日", -1}, {"昨儿", -1},
	{"今天", 0}, {"今日", 0}, {"今儿", 0}, {"当天", 0}, {"明天", 1}, {"明日", 1}, {"后天", 2},
}

// Week prefixes and weekday words.
var (
	weekPrefixes = []struct {
		word string
		week int
	}{{"上个", -1}, {"上", -1}, {"本", 1}, {"这个", 1}, {"这", 1}, {"", 0}}
	weekWords = []string{"星期", "礼拜", "周"}
	weekDays  = map[rune]int{
		'一': 1, '二': 2, '三': 3, '四': 4, '五': 5, '六': 6, '日': 7, '天': 7, '七': 7,
		'1': 1, '2': 2, '3': 3, '4': 4, '5': 5, '6': 6, '7': 7,
	}
)

// Words before a decimal that make it a measurement, not a month.day.
var measureWords = []string{"血糖", "空腹", "餐后", "随机", "体温", "体重", "身高", "血氧", "腰围", "温度", "重量", "面积", "长度", "约", "近", "共", "计", "重", "高", "为", "是"}

// dateAt matches a date expression at byte i. free applies the rules for
// free text: "11.5" and "11/5" are dates only when nothing makes them a
// measurement or a count, "5号" not before 楼/单元.
func dateAt(t string, i int, free, bpKey bool) (dateSpec, int, bool) {
	for _, r := range relDays {
		if prefixAt(t, i, r.word) {
			return dateSpec{kind: dateRel, rel: r.rel}, i + len(r.word), true
		}
	}
	if sp, j, ok := weekdayAt(t, i); ok {
		return sp, j, true
	}
	if !numeralStart(t, i) {
		return dateSpec{}, i, false
	}
	if free {
		if p := runeBefore(t, i); isLetter(p) || p == '/' || p == '.' || p == '-' || p == '#' || p == '第' {
			return dateSpec{}, i, false
		}
	}
	// Year first: 2026-11-05, 2026.11.05, 2026/11/05, 2026年11月5日.
	if y, j, yd, ok := intAt(t, i, 4); ok && (yd == 4 || yd == 0 && j-i == 4*3) && y >= 1900 && y <= 2200 {
		if sp, e, ok := ymdAfter(t, j, y, free); ok {
			return sp, e, true
		}
	}
	a, j, ad, ok := intAt(t, i, 2)
	if !ok {
		return dateSpec{}, i, false
	}
	// 11月5日, 11月5号, 十一月五日.
	if k := skipSpaces(t, j); prefixAt(t, k, "月") {
		k = skipSpaces(t, k+len("月"))
		d, e, _, ok := intAt(t, k, 2)
		if ok && (a < 1 || a > 12 || d < 1 || d > 31) {
			// 13月45日 is a date that does not exist, not something else:
			// with its 日 it is found, and resolves to ErrNotDate.
			if _, e2, ok := matchAt(t, skipSpaces(t, e), []string{"日", "号"}); ok {
				return dateSpec{kind: dateMD, m: a, d: d}, e2, true
			}
			return dateSpec{}, i, false
		}
		if ok {
			if _, e2, ok := matchAt(t, skipSpaces(t, e), []string{"日", "号"}); ok {
				e = e2
			} else if free {
				// 11月5 without 日 only when no count follows (11月5人?).
				if r, _ := runeAt(t, e); r != 0 && !isSepRune(r) && !isCJKWordStart(t, e) {
					return dateSpec{}, i, false
				}
			}
			return dateSpec{kind: dateMD, m: a, d: d}, e, true
		}
		return dateSpec{}, i, false
	}
	// 11.5, 11/5 (and 11-5 in a whole answer).
	if ad > 0 && j < len(t) && (t[j] == '.' || t[j] == '/' || !free && t[j] == '-') && j+1 < len(t) && isDigit(t[j+1]) {
		d, e, dd, _ := intAt(t, j+1, 2)
		if dd >= 1 && dd <= 2 && a >= 1 && a <= 12 && d >= 1 && d <= 31 {
			if !free || mdIsDate(t, i, e, t[j], bpKey) {
				return dateSpec{kind: dateMD, m: a, d: d}, e, true
			}
		}
		return dateSpec{}, i, false
	}
	// 5号, 5日.
	if sfx, e, ok := matchAt(t, j, []string{"号", "日"}); ok && a >= 1 && a <= 31 {
		if free {
			// 幸福路12号, 幸福小区5号: a house number glued to a place name.
			if sfx == "号" && containsRune(placeEnds, runeBefore(t, i)) {
				return dateSpec{}, i, false
			}
			if _, _, ok := matchAt(t, e, []string{"楼", "单元", "院", "门", "床", "线", "房", "室", "铺", "窗", "机", "位", "车", "口", "店", "柜", "厅", "馆"}); ok {
				return dateSpec{}, i, false
			}
			if sfx == "号" && isDigit(t[i]) && e < len(t) && isDigit(t[e]) {
				return dateSpec{}, i, false
			}
		}
		return dateSpec{kind: dateDay, d: a}, e, true
	}
	return dateSpec{}, i, false
}

// placeEnds are the last characters of place names (路, 街, 小区…) that a
// house number follows: "幸福路12号" is an address, not the 12th.
const placeEnds = "路街巷弄道里村区苑园庄湾坊院城镇乡屯厦场府邸"

// isSepRune reports punctuation or space.
func isSepRune(r rune) bool {
	return containsRune(" ,.;:!?。，、；：！？)(（）", r)
}

// isCJKWordStart reports whether a Chinese word that is not a unit or an
// approximation starts at e (11月5 巡查 / 11月5巡查).
func isCJKWordStart(t string, e int) bool {
	r, _ := runeAt(t, e)
	if r < 0x3000 || isCNNumeral(r) {
		return false
	}
	if _, _, ok := unitAt(t, e); ok {
		return false
	}
	_, _, ok := matchAt(t, e, approxInner)
	return !ok
}

// mdIsDate decides whether "a.b" or "a/b" in free text (i..e) is a
// month/day: not when a measurement word precedes it, nor when a unit,
// multiplier, approximation, letter or more digits follow.
func mdIsDate(t string, i, e int, sep byte, bpKey bool) bool {
	if sep == '/' && bpKey {
		return false
	}
	k := spacesBefore(t, i)
	if k > 0 && t[k-1] == ':' {
		k = spacesBefore(t, k-1)
	}
	if _, _, ok := matchBefore(t, k, measureWords); ok {
		return false
	}
	r, _ := runeAt(t, e)
	switch {
	case r >= '0' && r <= '9', isLetter(r), r == '%', r == '.' || r == '/' || r == '-':
		return false
	case r == '万' || r == '千' || r == '百' || r == '亿' || r == '℃' || r == '度' || r == '斤':
		return false
	}
	k = e
	if k < len(t) && t[k] == ' ' {
		k++
	}
	if _, _, ok := unitAt(t, k); ok {
		return false
	}
	if _, _, ok := matchAt(t, k, approxInner); ok {
		return false
	}
	if _, _, ok := matchAt(t, k, approxAfter); ok {
		return false
	}
	return true
}

// ymdAfter reads "-11-05", ".11.05", "/11/05" or "年11月5日" after a year.
func ymdAfter(t string, j, y int, free bool) (dateSpec, int, bool) {
	k := skipSpaces(t, j)
	if prefixAt(t, k, "年") {
		k = skipSpaces(t, k+len("年"))
		m, e, _, ok := intAt(t, k, 2)
		if !ok {
			return dateSpec{}, j, false
		}
		e = skipSpaces(t, e)
		if !prefixAt(t, e, "月") {
			return dateSpec{}, j, false
		}
		e = skipSpaces(t, e+len("月"))
		d, e2, _, ok := intAt(t, e, 2)
		if !ok {
			return dateSpec{}, j, false
		}
		if _, e3, ok := matchAt(t, skipSpaces(t, e2), []string{"日", "号"}); ok {
			e2 = e3
		}
		return dateSpec{kind: dateYMD, y: y, m: m, d: d}, e2, true
	}
	if j >= len(t) || (t[j] != '-' && t[j] != '.' && t[j] != '/') {
		return dateSpec{}, j, false
	}
	sep := t[j]
	m, e, md, ok := intAt(t, j+1, 2)
	if !ok || md == 0 || e >= len(t) || t[e] != sep {
		return dateSpec{}, j, false
	}
	d, e2, dd, ok := intAt(t, e+1, 2)
	if !ok || dd == 0 {
		return dateSpec{}, j, false
	}
	if free && e2 < len(t) && (isDigit(t[e2]) || t[e2] == sep) {
		return dateSpec{}, j, false
	}
	return dateSpec{kind: dateYMD, y: y, m: m, d: d}, e2, true
}

// weekdayAt matches 周五, 星期五, 礼拜天, 上周五, 本周一, 这个星期三 at i.
func weekdayAt(t string, i int) (dateSpec, int, bool) {
	for _, p := range weekPrefixes {
		if !prefixAt(t, i, p.word) {
			continue
		}
		j := i + len(p.word)
		if _, k, ok := matchAt(t, j, weekWords); ok {
			r, n := runeAt(t, k)
			wd, ok := weekDays[r]
			if !ok {
				continue
			}
			// 周10 is not a day.
			if next, _ := runeAt(t, k+n); next >= '0' && next <= '9' && r >= '0' && r <= '9' {
				continue
			}
			return dateSpec{kind: dateWeekday, wd: wd, week: p.week}, k + n, true
		}
	}
	return dateSpec{}, i, false
}

// midnight returns local midnight of the given day in loc, normalising
// overflowing months and days as time.Date does.
func midnight(y int, m time.Month, d int, loc *time.Location) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// validDay reports whether y-m-d exists.
func validDay(y, m, d int, loc *time.Location) bool {
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return false
	}
	x := midnight(y, time.Month(m), d, loc)
	return x.Year() == y && int(x.Month()) == m && x.Day() == d
}

// resolve turns a parsed date into local midnight relative to now.
func (sp dateSpec) resolve(now time.Time) (time.Time, error) {
	loc := now.Location()
	today := midnight(now.Year(), now.Month(), now.Day(), loc)
	var d time.Time
	switch sp.kind {
	case dateYMD:
		if !validDay(sp.y, sp.m, sp.d, loc) {
			return time.Time{}, ErrNotDate
		}
		d = midnight(sp.y, time.Month(sp.m), sp.d, loc)
	case dateMD:
		found := false
		for y := today.Year(); y >= today.Year()-8; y-- {
			if validDay(y, sp.m, sp.d, loc) {
				if c := midnight(y, time.Month(sp.m), sp.d, loc); !c.After(today) {
					d, found = c, true
					break
				}
			}
		}
		if !found {
			return time.Time{}, ErrNotDate
		}
	case dateDay:
		found := false
		for k := 0; k <= 12; k++ {
			first := midnight(today.Year(), today.Month()-time.Month(k), 1, loc)
			if validDay(first.Year(), int(first.Month()), sp.d, loc) {
				if c := midnight(first.Year(), first.Month(), sp.d, loc); !c.After(today) {
					d, found = c, true
					break
				}
			}
		}
		if !found {
			return time.Time{}, ErrNotDate
		}
	case dateRel:
		d = midnight(today.Year(), today.Month(), today.Day()+sp.rel, loc)
	case dateWeekday:
		cur := (int(today.Weekday())+6)%7 + 1 // Monday 1 … Sunday 7
		switch sp.week {
		case 0:
			d = midnight(today.Year(), today.Month(), today.Day()-(cur-sp.wd+7)%7, loc)
		case 1:
			d = midnight(today.Year(), today.Month(), today.Day()-(cur-sp.wd), loc)
		default:
			d = midnight(today.Year(), today.Month(), today.Day()-(cur-sp.wd)-7, loc)
		}
	}
	if d.After(today) {
		return time.Time{}, ErrFutureDate
	}
	if d.Before(midnight(today.Year(), today.Month(), today.Day()-366, loc)) {
		return time.Time{}, ErrTooOld
	}
	return d, nil
}

// Words allowed after a whole-answer date: a time of day.
var dayParts = []string{"上午", "下午", "中午", "晚上", "早上", "早晨", "傍晚", "凌晨", "夜里", "白天", "晚间"}

// Date parses a whole answer that is a date, relative to now (in now's
// location): 今天, 今日, 昨天, 昨日, 前天, 11月5日, 11月5号, 5号, 11.5, 11/5,
// 2026-11-05, 2026年11月5日, 2026.11.05, 上周五, 周五/星期五 (the most recent
// such day, today included), 本周一. A month/day without year is the most
// recent such date not in the future; a bare day (5号) the most recent such
// day. A time of day may follow (昨天下午, 11月5日上午9点). It returns
// local midnight of that day in now's location. Errors: ErrNotDate,
// ErrFutureDate (after today), ErrTooOld (more than 366 days before today).
func Date(s string, now time.Time) (time.Time, error) {
	t := newText(s).s
	i, e := trimAnswer(t)
	t = t[:e]
	sp, j, ok := dateAt(t, i, false, false)
	if !ok || !dateTail(t, j, e) {
		return time.Time{}, ErrNotDate
	}
	return sp.resolve(now)
}

// dateTail reports whether t[j:e] is empty or a time of day.
func dateTail(t string, j, e int) bool {
	j = skipSpaces(t, j)
	if j == e {
		return true
	}
	if _, k, ok := matchAt(t, j, dayParts); ok {
		j = k
	}
	for _, r := range t[j:e] {
		if !containsRune("0123456789:点时分半钟 一二三四五六七八九十", r) {
			return false
		}
	}
	return true
}

// FindDate finds the first date expression in free text ("今天宣传…",
// "昨天走访…", "11月5日巡查"); ok is false if there is none; err is
// non-nil when one is found but invalid (ErrNotDate for 2月30日,
// ErrFutureDate, ErrTooOld), in which case d is zero. start and end are
// byte offsets into s.
func FindDate(s string, now time.Time) (d time.Time, start, end int, ok bool, err error) {
	tx := newText(s)
	sp, i, j, ok := findDateSpec(&tx)
	if !ok {
		return time.Time{}, 0, 0, false, nil
	}
	d, err = sp.resolve(now)
	return d, tx.at(i), tx.at(j), true, err
}

// findDateSpec finds the first date expression in tx and its normalised
// span.
func findDateSpec(tx *text) (dateSpec, int, int, bool) {
	t := tx.s
	bpKey := hasBPKeyword(t)
	for i := 0; i < len(t); {
		if r, n := runeAt(t, i); !scanStart(r) {
			i += n
			continue
		}
		// Digits of a household, blood pressure or clock time are not dates.
		if j, ok := timeAt(t, i); ok {
			i = j
			continue
		}
		if _, j, ok := bpAt(t, i, true, bpKey); ok {
			i = j
			continue
		}
		if _, j, ok := householdAt(t, i, true); ok {
			i = j
			continue
		}
		if sp, j, ok := dateAt(t, i, true, bpKey); ok {
			return sp, i, j, true
		}
		_, n := runeAt(t, i)
		i += n
	}
	return dateSpec{}, 0, 0, false
}
