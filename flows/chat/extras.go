package chat

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gridbot/flows/zh"
)

// Extras: what a report's text says about follow-ups besides its fields
// (下次随访12月5日, 限期3天整改, 已整改), read from one-line reports and notes.

// extras are what a text says about follow-ups besides the fields.
type extras struct {
	nextDue   string // "下次随访12月5日" → "2026-12-05"
	deadline  int    // "限期3天整改" → 3
	rectified bool   // "已整改"
}

func (x extras) apply(s *session) {
	if x.nextDue != "" {
		s.NextDue = x.nextDue
	}
	if x.deadline > 0 {
		s.Deadline = x.deadline
	}
	if x.rectified {
		s.Rectified = true
	}
}

const cnDigits = "0-9一二三四五六七八九十〇零两"

// nextDueRe needs 下次, deadlineRe 限期 or 整改 and rectifiedRe 整改
// (findExtras relies on it).
var (
	nextDueRe = regexp.MustCompile(`下次(?:随访|走访|访视|复查|上门)?(?:时间|日期)?(?:为|在|是|定于|定在)?[:：]?\s*` +
		`(?:(\d{4})[-/.年]([` + cnDigits + `]{1,3})[-/.月]([` + cnDigits + `]{1,3})[日号]?` +
		`|([` + cnDigits + `]{1,3})(?:月|[./-])([` + cnDigits + `]{1,3})[日号]?` +
		`|([` + cnDigits + `]{1,3})\s*(天|日|周|个月)后)`)
	deadlineRe  = regexp.MustCompile(`限期\s*([` + cnDigits + `]{1,3})\s*(天|日|周)(?:内)?(?:完成)?(?:整改)?|([` + cnDigits + `]{1,3})\s*(?:天|日)内(?:完成)?整改`)
	rectifiedRe = regexp.MustCompile(`已整改|已经整改|整改完毕|整改完成|已完成整改|已现场整改|现场整改|当场整改|立即整改完毕`)
)

// parseExtras reads the extras of a free-text answer; msg when a stated
// next date cannot be used.
func parseExtras(t, day string) (extras, string) {
	x, _, msg := findExtras(t, day)
	return x, msg
}

// findExtras finds the extras in t and their byte spans. day is the
// report's day, which a next date must follow.
func findExtras(t, day string) (x extras, locs [][2]int, msg string) {
	// Each pattern needs a word most texts lack: looking for it first
	// spares the regexps' backtracking over every line.
	if !strings.Contains(t, "下次") && !strings.Contains(t, "限期") && !strings.Contains(t, "整改") {
		return x, nil, ""
	}
	if m := nextDueRe.FindStringSubmatchIndex(t); m != nil {
		locs = append(locs, [2]int{m[0], m[1]})
		g := func(i int) string {
			if m[2*i] < 0 {
				return ""
			}
			return t[m[2*i]:m[2*i+1]]
		}
		x.nextDue, msg = nextDate(day, g)
	}
	if m := deadlineRe.FindStringSubmatchIndex(t); m != nil {
		locs = append(locs, [2]int{m[0], m[1]})
		if m[2] >= 0 {
			n := cnNumber(t[m[2]:m[3]])
			if t[m[4]:m[5]] == "周" {
				n *= 7
			}
			x.deadline = n
		} else {
			x.deadline = cnNumber(t[m[6]:m[7]])
		}
		if x.deadline <= 0 || x.deadline > 366 {
			x.deadline = 0
		}
	}
	if m := rectifiedRe.FindStringIndex(t); m != nil && !strings.Contains(t, "未整改") {
		locs = append(locs, [2]int{m[0], m[1]})
		x.rectified = true
	}
	return x, locs, msg
}

// nextDate resolves a stated next date against the report's day: a date
// without a year is the first such date after day. It must fall after day
// and within a year of it.
func nextDate(day string, g func(int) string) (string, string) {
	const bad = "下次随访日期没看懂，请写成 12月5日 或 2026-12-05。"
	base, err := time.Parse(dayLayout, day)
	if err != nil {
		return "", bad
	}
	var d time.Time
	switch {
	case g(1) != "":
		y, _ := strconv.Atoi(g(1))
		d, err = makeDate(y, cnNumber(g(2)), cnNumber(g(3)))
	case g(4) != "":
		mo, dd := cnNumber(g(4)), cnNumber(g(5))
		d, err = makeDate(base.Year(), mo, dd)
		if err == nil && !d.After(base) {
			d, err = makeDate(base.Year()+1, mo, dd)
		}
	default:
		n := cnNumber(g(6))
		switch g(7) {
		case "周":
			d = base.AddDate(0, 0, 7*n)
		case "个月":
			d = base.AddDate(0, n, 0)
		default:
			d = base.AddDate(0, 0, n)
		}
	}
	if err != nil {
		return "", bad
	}
	if !d.After(base) || d.After(base.AddDate(1, 0, 0)) {
		return "", "下次随访日期要在这次之后、一年以内，请重新填写。"
	}
	return d.Format(dayLayout), ""
}

func makeDate(y, m, d int) (time.Time, error) {
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if m < 1 || m > 12 || d < 1 || t.Day() != d {
		return time.Time{}, errors.New("no such date")
	}
	return t, nil
}

// cnNumber reads a small whole number in digits or Chinese; 0 when it
// cannot.
func cnNumber(s string) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	if n, err := zh.Number(s); err == nil && n.Value == float64(int(n.Value)) {
		return int(n.Value)
	}
	return 0
}
