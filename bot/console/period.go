package console

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gridbot/flows"
)

// period is what the period picker (月/季/年) selects.
type period struct {
	Kind string // "month", "quarter", "year"
	Year int
	N    int // month 1–12 or quarter 1–4; 0 for a year
}

// parsePeriod reads "2026-11", "2026-Q4" or "2026"; anything else (or "")
// is the month of today.
func parsePeriod(s string, today time.Time) period {
	cur := period{"month", today.Year(), int(today.Month())}
	switch {
	case len(s) == 4:
		if y, err := strconv.Atoi(s); err == nil && y >= 2000 && y <= 2100 {
			return period{"year", y, 0}
		}
	case len(s) == 7 && s[4] == '-' && s[5] == 'Q':
		y, err1 := strconv.Atoi(s[:4])
		q, err2 := strconv.Atoi(s[6:])
		if err1 == nil && err2 == nil && y >= 2000 && y <= 2100 && q >= 1 && q <= 4 {
			return period{"quarter", y, q}
		}
	case len(s) == 7 && s[4] == '-':
		if t, err := time.Parse("2006-01", s); err == nil && t.Year() >= 2000 && t.Year() <= 2100 {
			return period{"month", t.Year(), int(t.Month())}
		}
	}
	return cur
}

// String is the period's parameter value.
func (p period) String() string {
	switch p.Kind {
	case "year":
		return strconv.Itoa(p.Year)
	case "quarter":
		return fmt.Sprintf("%d-Q%d", p.Year, p.N)
	}
	return fmt.Sprintf("%d-%02d", p.Year, p.N)
}

var quarterNames = []string{"", "第一季度", "第二季度", "第三季度", "第四季度"}

// Title is the period in Chinese: "2026年11月", "2026年第四季度", "2026年".
func (p period) Title() string {
	switch p.Kind {
	case "year":
		return fmt.Sprintf("%d年", p.Year)
	case "quarter":
		return fmt.Sprintf("%d年%s", p.Year, quarterNames[p.N])
	}
	return fmt.Sprintf("%d年%d月", p.Year, p.N)
}

// Unit is what a previous period is called: 上月, 上季度, 上年.
func (p period) Unit() string {
	switch p.Kind {
	case "year":
		return "上年"
	case "quarter":
		return "上季度"
	}
	return "上月"
}

// first and last are the period's first and last days (UTC midnight).
func (p period) first() time.Time {
	switch p.Kind {
	case "year":
		return time.Date(p.Year, 1, 1, 0, 0, 0, 0, time.UTC)
	case "quarter":
		return time.Date(p.Year, time.Month(3*p.N-2), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(p.Year, time.Month(p.N), 1, 0, 0, 0, 0, time.UTC)
}

func (p period) last() time.Time { return p.Next().first().AddDate(0, 0, -1) }

// Prev and Next are the neighbouring periods of the same kind.
func (p period) Prev() period { return p.shift(-1) }

// Next is the following period of the same kind.
func (p period) Next() period { return p.shift(1) }

func (p period) shift(n int) period {
	switch p.Kind {
	case "year":
		return period{"year", p.Year + n, 0}
	case "quarter":
		i := p.Year*4 + p.N - 1 + n
		return period{"quarter", i / 4, i%4 + 1}
	}
	i := p.Year*12 + p.N - 1 + n
	return period{"month", i / 12, i%12 + 1}
}

// As is the period of another kind around this one's last month that is
// not in the future.
func (p period) As(kind string, today time.Time) period {
	m := p.last()
	if m.After(today) {
		m = today
	}
	switch kind {
	case "year":
		return period{"year", m.Year(), 0}
	case "quarter":
		return period{"quarter", m.Year(), (int(m.Month())-1)/3 + 1}
	}
	return period{"month", m.Year(), int(m.Month())}
}

// contains reports whether day falls in the period.
func (p period) contains(day time.Time) bool {
	return !day.Before(p.first()) && !day.After(p.last())
}

// storePeriods are the store's periods ("2026-11", "2026") whose tallies
// add up to this period: one for a month or a year, three for a quarter.
func (p period) storePeriods() []string {
	switch p.Kind {
	case "year":
		return []string{strconv.Itoa(p.Year)}
	case "quarter":
		var ps []string
		for m := 3*p.N - 2; m <= 3*p.N; m++ {
			ps = append(ps, fmt.Sprintf("%d-%02d", p.Year, m))
		}
		return ps
	}
	return []string{p.String()}
}

// tally sums the scope's tallies of the period: the very figures of
// /api/v1/tallies (a quarter is its three months). Distinct households
// (<metric>.households) do not add up across periods: a quarter leaves
// them out (see sumTallies).
func tally(ctx context.Context, st flows.Store, scope flows.Scope, p period) (flows.Counts, bool, error) {
	return sumTallies(ctx, st, scope, p.storePeriods())
}

// sumTallies sums the scope's tallies of the store periods. With more
// than one it leaves the distinct households out: a household visited in
// two months is one household of the quarter, not two. hh says whether
// the sum carries them (one period).
func sumTallies(ctx context.Context, st flows.Store, scope flows.Scope, periods []string) (sum flows.Counts, hh bool, err error) {
	sum = flows.Counts{}
	for _, sp := range periods {
		c, err := st.Tally(ctx, scope, sp)
		if err != nil {
			return nil, false, err
		}
		for k, v := range c {
			if len(periods) == 1 || !strings.HasSuffix(k, flows.HouseholdsSuffix) {
				sum[k] += v
			}
		}
	}
	return sum, len(periods) == 1, nil
}

// rangeTally sums the scope's tallies from one day to another: whole years
// and months where they fit, days elsewhere, so its cost is flat (at most
// about 60 day reads) whatever the number of reports. Distinct households
// are left out when it takes more than one read (see sumTallies).
func rangeTally(ctx context.Context, st flows.Store, scope flows.Scope, from, to time.Time) (flows.Counts, bool, error) {
	var periods []string
	for d := from; !d.After(to); {
		switch {
		case d.YearDay() == 1 && !d.AddDate(1, 0, -1).After(to):
			periods = append(periods, d.Format("2006"))
			d = d.AddDate(1, 0, 0)
		case d.Day() == 1 && !d.AddDate(0, 1, -1).After(to):
			periods = append(periods, d.Format("2006-01"))
			d = d.AddDate(0, 1, 0)
		default:
			periods = append(periods, d.Format(time.DateOnly))
			d = d.AddDate(0, 0, 1)
		}
	}
	return sumTallies(ctx, st, scope, periods)
}

// previous returns the counts to compare a period with, whether they
// carry distinct households (see sumTallies), and how the comparison is
// named: while the period runs, the same span of the one before (上月同期:
// the 1st to the same day), otherwise the whole one before.
func previous(ctx context.Context, st flows.Store, scope flows.Scope, p period, today time.Time) (flows.Counts, bool, string, error) {
	prev := p.Prev()
	if !p.contains(today) {
		c, hh, err := tally(ctx, st, scope, prev)
		return c, hh, "较" + prev.Unit(), err
	}
	days := int(today.Sub(p.first()).Hours()/24 + 0.5)
	to := prev.first().AddDate(0, 0, days)
	if to.After(prev.last()) {
		to = prev.last()
	}
	c, hh, err := rangeTally(ctx, st, scope, prev.first(), to)
	return c, hh, "较" + prev.Unit() + "同期", err
}

// todayUTC is today's local date as a UTC midnight, the dates period uses.
func (c *Console) todayUTC() time.Time {
	t, _ := time.Parse(time.DateOnly, c.today())
	return t
}

// periodTab is one choice of the period picker.
type periodTab struct {
	Label  string
	Href   string
	Active bool
}

// periodTabs are the 月/季/年 choices and the arrows, keeping the filters in q.
func periodTabs(path string, q url.Values, p period, today time.Time) (tabs []periodTab, prev, next string) {
	link := func(x period) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("period", x.String())
		return path + "?" + v.Encode()
	}
	for _, k := range []struct{ kind, label string }{{"month", "月"}, {"quarter", "季"}, {"year", "年"}} {
		tabs = append(tabs, periodTab{Label: k.label, Href: link(p.As(k.kind, today)), Active: p.Kind == k.kind})
	}
	prev = link(p.Prev())
	if !p.Next().first().After(today) {
		next = link(p.Next())
	}
	return tabs, prev, next
}

// trimQuery drops empty values, for tidy links.
func trimQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, vs := range q {
		if len(vs) > 0 && strings.TrimSpace(vs[0]) != "" {
			out.Set(k, strings.TrimSpace(vs[0]))
		}
	}
	return out
}
