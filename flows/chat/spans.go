package chat

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gridbot/flows"
)

// statSpan is the days a figure covers: a whole period ("2026", "2026-11",
// "2026-11-05"), or its first part up to today when the period is current.
type statSpan struct {
	Period   string    // as passed to Store.Tally; "" for a week
	From, To flows.Day // inclusive
	Partial  bool      // the period is current: To is today, not the period's end
	Week     bool      // Monday to Sunday, summed from its days
}

// weekSpan is this week (which 1) up to today, or last week (which -1)
// whole; weeks start on Monday. This week is Partial even on Sunday: it
// is named 本周 and compared with the same days of last week.
func weekSpan(today flows.Day, which int) statSpan {
	monday := today.AddDays(-((int(today.Weekday()) + 6) % 7))
	if which < 0 {
		monday = monday.AddDays(-7)
	}
	if which > 0 {
		return statSpan{Week: true, From: monday, To: today, Partial: true}
	}
	return statSpan{Week: true, From: monday, To: monday.AddDays(6)}
}

// spanOf is the span of period as seen on today: clamped to today when the
// period is under way. ok is false for a malformed period.
func spanOf(period string, today flows.Day) (statSpan, bool) {
	s := statSpan{Period: period}
	switch len(period) {
	case 4:
		y, err := strconv.Atoi(period)
		if err != nil {
			return s, false
		}
		s.From, s.To = flows.DateOf(y, 1, 1), flows.DateOf(y, 12, 31)
	case 7:
		t, err := time.Parse("2006-01", period)
		if err != nil {
			return s, false
		}
		s.From = flows.DateOf(t.Year(), t.Month(), 1)
		s.To = s.From.MonthEnd()
	case 10:
		t, err := time.Parse("2006-01-02", period)
		if err != nil {
			return s, false
		}
		s.From = flows.DateOf(t.Year(), t.Month(), t.Day())
		s.To = s.From
	default:
		return s, false
	}
	if !today.Before(s.From) && today.Before(s.To) {
		s.To, s.Partial = today, true
	}
	return s, true
}

// previous is the same span of the period before: last month's days 1..n for
// this month's days 1..n, last year's Jan 1..same day for this year to Day,
// the whole previous period for a complete one.
func (s statSpan) previous() statSpan {
	var p statSpan
	if s.Week {
		return statSpan{Week: true, From: s.From.AddDays(-7), To: s.To.AddDays(-7)}
	}
	switch len(s.Period) {
	case 4:
		y := s.From.Year() - 1
		p.Period = strconv.Itoa(y)
		p.From = flows.DateOf(y, 1, 1)
		m, d := s.To.Month(), s.To.Day()
		if d > flows.DaysIn(y, m) {
			d = flows.DaysIn(y, m)
		}
		p.To = flows.DateOf(y, m, d)
	case 7:
		first := flows.DateOf(s.From.Year(), s.From.Month()-1, 1)
		p.Period = first.MonthKey()
		p.From = first
		d := s.To.Day()
		if d > flows.DaysIn(first.Year(), first.Month()) {
			d = flows.DaysIn(first.Year(), first.Month())
		}
		p.To = flows.DateOf(first.Year(), first.Month(), d)
	default:
		p.From = s.From.AddDays(-1)
		p.To = p.From
		p.Period = p.From.String()
	}
	return p
}

// whole reports whether the span is its period from start to end.
func (s statSpan) whole() bool {
	full, ok := spanOf(s.Period, flows.DateOf(1, 1, 1))
	return ok && full.From == s.From && full.To == s.To
}

// tallyTerm is one lookup of a tally plan: a period's totals, added or
// subtracted.
type tallyTerm struct {
	period string
	sign   float64
}

// forwardPlan covers from..to with whole years, then whole months, then days.
func forwardPlan(from, to flows.Day) []tallyTerm {
	var plan []tallyTerm
	for d := from; !d.After(to); {
		switch {
		case d.Month() == 1 && d.Day() == 1 && !d.YearEnd().After(to):
			plan = append(plan, tallyTerm{strconv.Itoa(d.Year()), 1})
			d = d.YearEnd().AddDays(1)
		case d.Day() == 1 && !d.MonthEnd().After(to):
			plan = append(plan, tallyTerm{d.MonthKey(), 1})
			d = d.MonthEnd().AddDays(1)
		default:
			plan = append(plan, tallyTerm{d.String(), 1})
			d = d.AddDays(1)
		}
	}
	return plan
}

// tallyPlan is the cheapest set of lookups whose sum is the totals of
// from..to: the calendar pieces, or, for a span that starts a month (or a
// year), that month's (year's) totals less the pieces after to. Days 1–28
// of October are October less the 29th, 30th and 31st: 4 lookups, not 28.
func tallyPlan(from, to flows.Day) []tallyTerm {
	best := forwardPlan(from, to)
	try := func(period string, end flows.Day) {
		if !to.Before(end) {
			return
		}
		rest := forwardPlan(to.AddDays(1), end)
		if 1+len(rest) >= len(best) {
			return
		}
		plan := []tallyTerm{{period, 1}}
		for _, t := range rest {
			plan = append(plan, tallyTerm{t.period, -1})
		}
		best = plan
	}
	if from.Day() == 1 && from.MonthEnd() == to.MonthEnd() {
		try(from.MonthKey(), from.MonthEnd())
	}
	if from.Month() == 1 && from.Day() == 1 && from.Year() == to.Year() {
		try(strconv.Itoa(from.Year()), from.YearEnd())
	}
	return best
}

// rangeTally sums a scope's tallies over the days from..to, in as few
// lookups as tallyPlan finds. Metrics that sum to zero are left out, as
// Store.Tally leaves them out. Distinct households (<metric>.households)
// do not add up across periods (a household visited on two days is one):
// they are kept only when one lookup covers the span, and exact says so.
func rangeTally(ctx context.Context, st flows.Store, scope flows.Scope, from, to flows.Day) (counts flows.Counts, exact bool, err error) {
	plan := tallyPlan(from, to)
	exact = len(plan) == 1 && plan[0].sign > 0
	sum := map[string]int64{}
	for _, t := range plan {
		c, err := st.Tally(ctx, scope, t.period)
		if err != nil {
			return nil, false, err
		}
		for k, v := range c {
			if !exact && strings.HasSuffix(k, flows.HouseholdsSuffix) {
				continue
			}
			sum[k] += int64(t.sign) * flows.ToMilli(v)
		}
	}
	out := make(flows.Counts, len(sum))
	for k, v := range sum {
		if v != 0 {
			out[k] = float64(v) / flows.Milli
		}
	}
	return out, exact, nil
}

// spanTally is the totals of a span: one lookup for a period up to today
// (nothing is reported ahead of today), else the calendar sum. exact is
// whether its distinct households are known (see rangeTally).
func spanTally(ctx context.Context, st flows.Store, scope flows.Scope, s statSpan) (flows.Counts, bool, error) {
	if !s.Week && (s.Partial || s.whole()) {
		c, err := st.Tally(ctx, scope, s.Period)
		return c, true, err
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
		return fmt.Sprintf("%d年", s.From.Year()) + rangeCN(s.From, s.To)
	}
	switch len(s.Period) {
	case 4:
		if s.Partial {
			return fmt.Sprintf("%d年（截至%d月%d日）", s.From.Year(), int(s.To.Month()), s.To.Day())
		}
		return fmt.Sprintf("%d年", s.From.Year())
	case 7:
		if s.Partial {
			return fmt.Sprintf("%d年%d月（截至%d日）", s.From.Year(), int(s.From.Month()), s.To.Day())
		}
		return fmt.Sprintf("%d年%d月", s.From.Year(), int(s.From.Month()))
	}
	return fmt.Sprintf("%d年%d月%d日", s.From.Year(), int(s.From.Month()), s.From.Day())
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
			return fmt.Sprintf("%d年同期（1月1日–%d月%d日）", prev.From.Year(), int(prev.To.Month()), prev.To.Day())
		}
		return fmt.Sprintf("%d年", prev.From.Year())
	case 7:
		if s.Partial {
			return fmt.Sprintf("%d月1–%d日", int(prev.From.Month()), prev.To.Day())
		}
		return fmt.Sprintf("%d月", int(prev.From.Month()))
	}
	return "前一日"
}

// rangeCN is "11月16–22日", or "11月30日–12月6日" across months, or
// "2025年12月29日–2026年1月4日" across years.
func rangeCN(from, to flows.Day) string {
	switch {
	case from.Year() != to.Year():
		return fmt.Sprintf("%d年%d月%d日–%d年%d月%d日", from.Year(), int(from.Month()), from.Day(), to.Year(), int(to.Month()), to.Day())
	case from.Month() != to.Month():
		return fmt.Sprintf("%d月%d日–%d月%d日", int(from.Month()), from.Day(), int(to.Month()), to.Day())
	case from == to:
		return fmt.Sprintf("%d月%d日", int(from.Month()), from.Day())
	}
	return fmt.Sprintf("%d月%d–%d日", int(from.Month()), from.Day(), to.Day())
}
