package flows

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// date is a civil date (midnight UTC); arithmetic on it ignores zones.
type date struct{ t time.Time }

func mkdate(y int, m time.Month, d int) date { return date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)} }

// dateIn is the local date of an instant in zone.
func dateIn(t time.Time, zone *time.Location) date {
	if zone != nil {
		t = t.In(zone)
	}
	return mkdate(t.Year(), t.Month(), t.Day())
}

func (d date) String() string        { return d.t.Format("2006-01-02") }
func (d date) addDays(n int) date    { return date{d.t.AddDate(0, 0, n)} }
func (d date) after(e date) bool     { return d.t.After(e.t) }
func (d date) before(e date) bool    { return d.t.Before(e.t) }
func (d date) monthEnd() date        { return mkdate(d.t.Year(), d.t.Month()+1, 0) }
func (d date) yearEnd() date         { return mkdate(d.t.Year(), 12, 31) }
func (d date) year() int             { return d.t.Year() }
func (d date) month() time.Month     { return d.t.Month() }
func (d date) day() int              { return d.t.Day() }
func daysIn(y int, m time.Month) int { return mkdate(y, m+1, 0).day() }

// statSpan is the days a figure covers: a whole period ("2026", "2026-11",
// "2026-11-05"), or its first part up to today when the period is current.
type statSpan struct {
	Period   string // as passed to Store.Tally; "" for a week
	From, To date   // inclusive
	Partial  bool   // the period is current: To is today, not the period's end
	Week     bool   // Monday to Sunday, summed from its days
}

// weekSpan is this week (which 1) up to today, or last week (which -1)
// whole; weeks start on Monday. This week is Partial even on Sunday: it
// is named 本周 and compared with the same days of last week.
func weekSpan(today date, which int) statSpan {
	monday := today.addDays(-((int(today.t.Weekday()) + 6) % 7))
	if which < 0 {
		monday = monday.addDays(-7)
	}
	if which > 0 {
		return statSpan{Week: true, From: monday, To: today, Partial: true}
	}
	return statSpan{Week: true, From: monday, To: monday.addDays(6)}
}

// spanOf is the span of period as seen on today: clamped to today when the
// period is under way. ok is false for a malformed period.
func spanOf(period string, today date) (statSpan, bool) {
	s := statSpan{Period: period}
	switch len(period) {
	case 4:
		y, err := strconv.Atoi(period)
		if err != nil {
			return s, false
		}
		s.From, s.To = mkdate(y, 1, 1), mkdate(y, 12, 31)
	case 7:
		t, err := time.Parse("2006-01", period)
		if err != nil {
			return s, false
		}
		s.From = mkdate(t.Year(), t.Month(), 1)
		s.To = s.From.monthEnd()
	case 10:
		t, err := time.Parse("2006-01-02", period)
		if err != nil {
			return s, false
		}
		s.From = mkdate(t.Year(), t.Month(), t.Day())
		s.To = s.From
	default:
		return s, false
	}
	if !today.before(s.From) && today.before(s.To) {
		s.To, s.Partial = today, true
	}
	return s, true
}

// previous is the same span of the period before: last month's days 1..n for
// this month's days 1..n, last year's Jan 1..same day for this year to date,
// the whole previous period for a complete one.
func (s statSpan) previous() statSpan {
	var p statSpan
	if s.Week {
		return statSpan{Week: true, From: s.From.addDays(-7), To: s.To.addDays(-7)}
	}
	switch len(s.Period) {
	case 4:
		y := s.From.year() - 1
		p.Period = strconv.Itoa(y)
		p.From = mkdate(y, 1, 1)
		m, d := s.To.month(), s.To.day()
		if d > daysIn(y, m) {
			d = daysIn(y, m)
		}
		p.To = mkdate(y, m, d)
	case 7:
		first := mkdate(s.From.year(), s.From.month()-1, 1)
		p.Period = first.t.Format("2006-01")
		p.From = first
		d := s.To.day()
		if d > daysIn(first.year(), first.month()) {
			d = daysIn(first.year(), first.month())
		}
		p.To = mkdate(first.year(), first.month(), d)
	default:
		p.From = s.From.addDays(-1)
		p.To = p.From
		p.Period = p.From.String()
	}
	return p
}

// whole reports whether the span is its period from start to end.
func (s statSpan) whole() bool {
	full, ok := spanOf(s.Period, mkdate(1, 1, 1))
	return ok && full.From == s.From && full.To == s.To
}

// tallyTerm is one lookup of a tally plan: a period's totals, added or
// subtracted.
type tallyTerm struct {
	period string
	sign   float64
}

// forwardPlan covers from..to with whole years, then whole months, then days.
func forwardPlan(from, to date) []tallyTerm {
	var plan []tallyTerm
	for d := from; !d.after(to); {
		switch {
		case d.month() == 1 && d.day() == 1 && !d.yearEnd().after(to):
			plan = append(plan, tallyTerm{strconv.Itoa(d.year()), 1})
			d = d.yearEnd().addDays(1)
		case d.day() == 1 && !d.monthEnd().after(to):
			plan = append(plan, tallyTerm{d.t.Format("2006-01"), 1})
			d = d.monthEnd().addDays(1)
		default:
			plan = append(plan, tallyTerm{d.String(), 1})
			d = d.addDays(1)
		}
	}
	return plan
}

// tallyPlan is the cheapest set of lookups whose sum is the totals of
// from..to: the calendar pieces, or, for a span that starts a month (or a
// year), that month's (year's) totals less the pieces after to. Days 1–28
// of October are October less the 29th, 30th and 31st: 4 lookups, not 28.
func tallyPlan(from, to date) []tallyTerm {
	best := forwardPlan(from, to)
	try := func(period string, end date) {
		if !to.before(end) {
			return
		}
		rest := forwardPlan(to.addDays(1), end)
		if 1+len(rest) >= len(best) {
			return
		}
		plan := []tallyTerm{{period, 1}}
		for _, t := range rest {
			plan = append(plan, tallyTerm{t.period, -1})
		}
		best = plan
	}
	if from.day() == 1 && from.monthEnd() == to.monthEnd() {
		try(from.t.Format("2006-01"), from.monthEnd())
	}
	if from.month() == 1 && from.day() == 1 && from.year() == to.year() {
		try(strconv.Itoa(from.year()), from.yearEnd())
	}
	return best
}

// rangeTally sums a scope's tallies over the days from..to, in as few
// lookups as tallyPlan finds. Metrics that sum to zero are left out, as
// Store.Tally leaves them out.
func rangeTally(ctx context.Context, st Store, scope Scope, from, to date) (Counts, error) {
	sum := map[string]int64{}
	for _, t := range tallyPlan(from, to) {
		c, err := st.Tally(ctx, scope, t.period)
		if err != nil {
			return nil, err
		}
		for k, v := range c {
			sum[k] += int64(t.sign) * ToMilli(v)
		}
	}
	out := make(Counts, len(sum))
	for k, v := range sum {
		if v != 0 {
			out[k] = float64(v) / Milli
		}
	}
	return out, nil
}

// spanTally is the totals of a span: one lookup for a period up to today
// (nothing is reported ahead of today), else the calendar sum.
func spanTally(ctx context.Context, st Store, scope Scope, s statSpan) (Counts, error) {
	if !s.Week && (s.Partial || s.whole()) {
		return st.Tally(ctx, scope, s.Period)
	}
	return rangeTally(ctx, st, scope, s.From, s.To)
}

// title is the header of a span: "2026年11月（截至28日）", "2026年10月",
// "2026年（截至11月28日）", "2026年11月5日".
func (s statSpan) title() string {
	if s.Week {
		if s.Partial {
			return "本周（" + rangeCN(s.From, s.To) + "）"
		}
		return fmt.Sprintf("%d年", s.From.year()) + rangeCN(s.From, s.To)
	}
	switch len(s.Period) {
	case 4:
		if s.Partial {
			return fmt.Sprintf("%d年（截至%d月%d日）", s.From.year(), int(s.To.month()), s.To.day())
		}
		return fmt.Sprintf("%d年", s.From.year())
	case 7:
		if s.Partial {
			return fmt.Sprintf("%d年%d月（截至%d日）", s.From.year(), int(s.From.month()), s.To.day())
		}
		return fmt.Sprintf("%d年%d月", s.From.year(), int(s.From.month()))
	}
	return fmt.Sprintf("%d年%d月%d日", s.From.year(), int(s.From.month()), s.From.day())
}

// label names the comparison span: "上月1–28日", "上月", "去年同期", "前一日".
func (s statSpan) compareLabel(prev statSpan) string {
	if s.Week {
		if s.Partial {
			return "上周同期（" + rangeCN(prev.From, prev.To) + "）"
		}
		return "前一周（" + rangeCN(prev.From, prev.To) + "）"
	}
	switch len(s.Period) {
	case 4:
		if s.Partial {
			return fmt.Sprintf("%d年同期（1月1日–%d月%d日）", prev.From.year(), int(prev.To.month()), prev.To.day())
		}
		return fmt.Sprintf("%d年", prev.From.year())
	case 7:
		if s.Partial {
			return fmt.Sprintf("%d月1–%d日", int(prev.From.month()), prev.To.day())
		}
		return fmt.Sprintf("%d月", int(prev.From.month()))
	}
	return "前一日"
}

// rangeCN is "11月16–22日", or "11月30日–12月6日" across months, or
// "2025年12月29日–2026年1月4日" across years.
func rangeCN(from, to date) string {
	switch {
	case from.year() != to.year():
		return fmt.Sprintf("%d年%d月%d日–%d年%d月%d日", from.year(), int(from.month()), from.day(), to.year(), int(to.month()), to.day())
	case from.month() != to.month():
		return fmt.Sprintf("%d月%d日–%d月%d日", int(from.month()), from.day(), int(to.month()), to.day())
	case from == to:
		return fmt.Sprintf("%d月%d日", int(from.month()), from.day())
	}
	return fmt.Sprintf("%d月%d–%d日", int(from.month()), from.day(), to.day())
}

// fmtNum writes a figure with thousands separators and at most three
// decimals: 1150 → "1,150", 2.5 → "2.5".
func fmtNum(v float64) string {
	m := ToMilli(v)
	neg := m < 0
	if neg {
		m = -m
	}
	whole, frac := m/Milli, m%Milli
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
	d := ToMilli(cur) - ToMilli(prev)
	switch {
	case d > 0:
		return "↑" + fmtNum(float64(d)/Milli)
	case d < 0:
		return "↓" + fmtNum(float64(-d)/Milli)
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
