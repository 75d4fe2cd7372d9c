package chat

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"gridbot/flows"
)

func itoa(n int) string { return strconv.Itoa(n) }

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// monthCN is "2026-10" → "2026年10月".
func monthCN(month string) string {
	if len(month) != 7 {
		return month
	}
	m, _ := strconv.Atoi(month[5:7])
	return month[:4] + "年" + itoa(m) + "月"
}

const cutNote = "\n……（内容较长，已截断）"

// cutText cuts s to at most max bytes, at a line end when one is near,
// else at a character boundary, and says it was cut.
func cutText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	if max <= len(cutNote) {
		max = len(cutNote) + 4
	}
	limit := max - len(cutNote)
	for limit > 0 && !utf8.RuneStart(s[limit]) {
		limit--
	}
	cut := s[:limit]
	if i := strings.LastIndexByte(cut, '\n'); i > limit/2 {
		cut = cut[:i]
	}
	return cut + cutNote
}

// fmtNum writes a figure with thousands separators and at most three
// decimals: 1150 → "1,150", 2.5 → "2.5".
func fmtNum(v float64) string {
	m := flows.ToMilli(v)
	neg := m < 0
	if neg {
		m = -m
	}
	whole, frac := m/flows.Milli, m%flows.Milli
	s := strconv.FormatInt(whole, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if frac != 0 {
		f := strings.TrimRight(fmt.Sprintf("%03d", frac), "0")
		b.WriteString("." + f)
	}
	return b.String()
}

// fmtPlain writes a figure without separators, as annual summaries do:
// 1570, 2.5.
func fmtPlain(v float64) string {
	return strings.ReplaceAll(fmtNum(v), ",", "")
}

// fmtDelta is the change against the comparison span: "↑12", "↓3", "持平".
func fmtDelta(cur, prev float64) string {
	d := flows.ToMilli(cur) - flows.ToMilli(prev)
	switch {
	case d > 0:
		return "↑" + fmtNum(float64(d)/flows.Milli)
	case d < 0:
		return "↓" + fmtNum(float64(-d)/flows.Milli)
	}
	return "持平"
}

// fitLines joins lines with newlines; when they do not fit in max bytes it
// keeps whole lines from the top and ends with more, which must fit.
func fitLines(lines []string, max int, more string) string {
	total := 0
	for i, l := range lines {
		if i > 0 {
			total++
		}
		total += len(l)
	}
	if total <= max {
		return strings.Join(lines, "\n")
	}
	var b strings.Builder
	budget := max - len(more) - 1
	for _, l := range lines {
		need := len(l)
		if b.Len() > 0 {
			need++
		}
		if b.Len()+need > budget {
			break
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l)
	}
	if b.Len() > 0 {
		b.WriteByte('\n')
	}
	b.WriteString(more)
	return b.String()
}
