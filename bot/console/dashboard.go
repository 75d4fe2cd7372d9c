package console

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"gridbot/flows"
)

// metricDef is one figure of the dashboard, read from the tallies by key.
type metricDef struct {
	Key  string // "visit", "visit.chronic", "leaflets"
	Name string
	Unit string
}

// figure is a metric's value in the period and in the one compared with.
// NoCur and NoPrev mark values that cannot be known: the distinct
// households of a quarter or of a span summed from several periods.
type figure struct {
	metricDef
	Cur, Prev     float64
	NoCur, NoPrev bool
}

// flowGroup is a report type's figures: its count, its kinds and counters.
type flowGroup struct {
	Head  figure
	Items []figure
}

// dashData is the dashboard's data.
type dashData struct {
	View         view
	Period       period
	Tabs         []periodTab
	PrevHref     string
	NextHref     string
	CompareLabel string
	Cards        []figure // headline: each flow's count and each counter
	Groups       []flowGroup
	Coverage     *coverageView // the roster's figures; nil for a worker
	Overdue      int
	Open         int
	Trend        template.HTML
	Bars         template.HTML
	BarsTitle    string
	Q            string // the filters, for links to other pages
}

// dashboard is 概览: the scope's figures for the period, the change
// against the period before, a 12-month trend and a by-grid (or
// by-worker) bar chart. Every figure is read from the tallies.
func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, s *session) {
	v, ok := c.viewOrFail(w, r, s)
	if !ok {
		return
	}
	d, err := c.dashboardData(r.Context(), r.URL.Query().Get("period"), v)
	if err != nil {
		c.storeFail(w, r, s, "dashboard", err)
		return
	}
	c.render(w, r, http.StatusOK, "dashboard", &page{Title: "概览", Nav: "dashboard", S: s, Data: d})
}

func (c *Console) dashboardData(ctx context.Context, periodParam string, v view) (*dashData, error) {
	today := c.todayUTC()
	p := parsePeriod(periodParam, today)
	d := &dashData{View: v, Period: p, Q: v.Filters.Encode()}
	d.Tabs, d.PrevHref, d.NextHref = periodTabs(Prefix, v.Filters, p, today)

	cur, curHH, err := tally(ctx, c.Store, v.Scope, p)
	if err != nil {
		return nil, err
	}
	prev, prevHH, label, err := previous(ctx, c.Store, v.Scope, p, today)
	if err != nil {
		return nil, err
	}
	d.CompareLabel = label
	d.Cards, d.Groups = figures(c.cat(), cur, prev, curHH, prevHH)
	if d.Coverage, err = c.coverage(ctx, v.Scope, p); err != nil {
		return nil, err
	}

	due, err := c.Store.DueFollowUps(ctx, v.Scope, today.AddDate(0, 0, -1).Format(time.DateOnly), 0)
	if err != nil {
		return nil, err
	}
	d.Overdue = len(due)

	if d.Trend, err = c.trendChart(ctx, v.Scope, p, today); err != nil {
		return nil, err
	}
	if d.Bars, d.BarsTitle, err = c.barChart(ctx, v, p, cur); err != nil {
		return nil, err
	}
	return d, nil
}

// figures lays the counts out: a card per flow and per counter, and per
// flow its kinds and counters, each with the value to compare with. A
// flow with households (visit) counts visits in 户次 and has a card and a
// line of its distinct households (户) beside them, and each kind both.
// curHH and prevHH say whether the distinct households are known (not for
// a quarter, see sumTallies). Kinds without data in either period are
// left out.
func figures(cat *flows.Catalog, cur, prev flows.Counts, curHH, prevHH bool) (cards []figure, groups []flowGroup) {
	words := cat.HouseholdWording()
	fig := func(m metricDef) figure {
		x := figure{metricDef: m, Cur: cur[m.Key], Prev: prev[m.Key]}
		if strings.HasSuffix(m.Key, flows.HouseholdsSuffix) {
			x.NoCur, x.NoPrev = !curHH, !prevHH
		}
		return x
	}
	var counters []figure
	seen := map[string]bool{}
	for i := range cat.Flows {
		f := &cat.Flows[i]
		unit, hh := f.Unit, f.CountsHouseholds()
		if hh {
			unit = words.VisitUnit
		}
		g := flowGroup{Head: fig(metricDef{f.Key, f.Name, unit})}
		cards = append(cards, fig(metricDef{f.Key, f.Short, unit}))
		if hh {
			h := fig(metricDef{f.Key + flows.HouseholdsSuffix, f.Short + "户数（去重）", words.Unit})
			cards = append(cards, h)
			g.Items = append(g.Items, h)
		}
		for _, k := range f.Kinds {
			key := f.Key + "." + k.Key
			if x := fig(metricDef{key, k.Name, unit}); x.Cur != 0 || x.Prev != 0 {
				g.Items = append(g.Items, x)
				if hh {
					g.Items = append(g.Items, fig(metricDef{key + flows.HouseholdsSuffix, k.Name + " 户数", words.Unit}))
				}
			}
		}
		for _, ct := range f.Counters {
			x := fig(metricDef{ct.Key, ct.Name, ct.Unit})
			g.Items = append(g.Items, x)
			if !seen[ct.Key] {
				seen[ct.Key] = true
				counters = append(counters, x)
			}
		}
		groups = append(groups, g)
	}
	return append(cards, counters...), groups
}

// coverageView is the roster's figures on the dashboard: 入户率 of the
// period and 规范管理 of its year, as /api/v1/coverage answers them.
type coverageView struct {
	flows.Coverage
	// Note replaces the figures when there are none to show: no roster
	// yet, or a quarter (not a stored period: 入户率 is by month or year).
	Note string
}

// coverage reads the roster's figures of a grid, community or all for
// the period: nil for a worker.
func (c *Console) coverage(ctx context.Context, scope flows.Scope, p period) (*coverageView, error) {
	if scope.Kind == flows.ScopeWorker {
		return nil, nil
	}
	ps := p.storePeriods()
	if len(ps) != 1 {
		ps = []string{strconv.Itoa(p.Year)}
	}
	cv, err := c.Store.Coverage(ctx, scope, ps[0])
	if err != nil {
		return nil, err
	}
	v := &coverageView{Coverage: cv}
	switch {
	case cv.Households == 0:
		v.Note = "导入花名册后可查看入户率和规范管理率。"
	case p.Kind == "quarter":
		v.Note = "入户率按月或按年统计，请切换到“月”或“年”查看。"
	}
	return v, nil
}

// reportTotal is the number of reports in counts: the sum of the flows' counts.
func reportTotal(cat *flows.Catalog, counts flows.Counts) float64 {
	var n float64
	for _, f := range cat.Flows {
		n += counts[f.Key]
	}
	return n
}

// chartColors are the series colours, one per flow in catalog order.
var chartColors = []string{"#1a73e8", "#e8710a", "#188038", "#a142f4", "#d93025", "#12b5cb"}

// trendChart is a line per flow over the 12 months up to the period's end
// (or this month): 12 month tallies.
func (c *Console) trendChart(ctx context.Context, scope flows.Scope, p period, today time.Time) (template.HTML, error) {
	end := p.last()
	if end.After(today) {
		end = today
	}
	endM := period{"month", end.Year(), int(end.Month())}
	cat := c.cat()
	series := make([][]float64, len(cat.Flows))
	var labels []string
	var max float64
	for i := 11; i >= 0; i-- {
		m := endM.shift(-i)
		counts, err := c.Store.Tally(ctx, scope, m.String())
		if err != nil {
			return "", err
		}
		labels = append(labels, fmt.Sprintf("%d月", m.N))
		for j, f := range cat.Flows {
			v := counts[f.Key]
			series[j] = append(series[j], v)
			max = maxf(max, v)
		}
	}
	const W, H, left, right, top, bottom = 360.0, 170.0, 30.0, 8.0, 10.0, 22.0
	ymax := niceCeil(max)
	x := func(i int) float64 { return left + float64(i)*(W-left-right)/11 }
	y := func(v float64) float64 { return top + (H-top-bottom)*(1-v/ymax) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %g %g" role="img" aria-label="近12个月趋势">`, W, H)
	for _, t := range []float64{0, ymax / 2, ymax} {
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%.1f" y2="%.1f" stroke="#e3e3e3"/><text x="%g" y="%.1f" class="ax" text-anchor="end">%s</text>`,
			left, W-right, y(t), y(t), left-4, y(t)+3, fmtNum(t))
	}
	for i, l := range labels {
		if i%2 == 1 || i == 11 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%g" class="ax" text-anchor="middle">%s</text>`, x(i), H-6, l)
		}
	}
	for j, f := range cat.Flows {
		col := chartColors[j%len(chartColors)]
		var pts []string
		for i, v := range series[j] {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"><title>%s</title></polyline>`,
			col, strings.Join(pts, " "), template.HTMLEscapeString(f.Name))
		last := series[j][11]
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s %s</title></circle>`,
			x(11), y(last), col, template.HTMLEscapeString(f.Short), fmtNum(last))
	}
	b.WriteString(`</svg><p class="legend">`)
	for j, f := range cat.Flows {
		fmt.Fprintf(&b, `<span><i class="c%d"></i>%s</span>`, j%len(chartColors), template.HTMLEscapeString(f.Short))
	}
	b.WriteString(`</p>`)
	return template.HTML(b.String()), nil
}

// bar is one bar of the bar chart.
type bar struct {
	Label string
	Value float64
}

// barChart compares the parts of the scope in the period: communities for
// everything, grids for a community, workers for a grid, report types for
// one worker. One tally per part.
func (c *Console) barChart(ctx context.Context, v view, p period, cur flows.Counts) (template.HTML, string, error) {
	cat := c.cat()
	var bars []bar
	var title string
	part := func(label string, scope flows.Scope) error {
		counts, _, err := tally(ctx, c.Store, scope, p)
		if err == nil {
			bars = append(bars, bar{label, reportTotal(cat, counts)})
		}
		return err
	}
	switch v.Scope.Kind {
	case flows.ScopeAll:
		title = "各社区记录数"
		var seen []string
		for _, w := range v.Workers {
			if !slices.Contains(seen, w.Community) {
				seen = append(seen, w.Community)
				if err := part(w.Community, flows.Scope{Kind: flows.ScopeCommunity, ID: w.Community}); err != nil {
					return "", "", err
				}
			}
		}
	case flows.ScopeCommunity:
		title = "各网格记录数"
		for _, g := range v.Grids {
			if err := part(g, flows.Scope{Kind: flows.ScopeGrid, ID: v.Community + "/" + g}); err != nil {
				return "", "", err
			}
		}
	case flows.ScopeGrid:
		title = "各网格员记录数"
		for _, w := range v.Workers {
			if w.Grid == v.Grid {
				if err := part(displayName(w), flows.Scope{Kind: flows.ScopeWorker, ID: w.OpenID}); err != nil {
					return "", "", err
				}
			}
		}
	default:
		title = "各类记录数"
		for _, f := range cat.Flows {
			bars = append(bars, bar{f.Short, cur[f.Key]})
		}
	}
	slices.SortStableFunc(bars, func(a, b bar) int {
		switch {
		case a.Value > b.Value:
			return -1
		case a.Value < b.Value:
			return 1
		}
		return 0
	})
	if len(bars) > 30 {
		bars = bars[:30]
	}
	return barsSVG(bars), title, nil
}

// barsSVG draws horizontal bars with their labels and values.
func barsSVG(bars []bar) template.HTML {
	if len(bars) == 0 {
		return `<p class="muted">暂无数据</p>`
	}
	const W, row, labelW, valueW = 360.0, 24.0, 92.0, 40.0
	var max float64
	for _, b := range bars {
		max = maxf(max, b.Value)
	}
	if max == 0 {
		max = 1
	}
	H := row*float64(len(bars)) + 4
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %g %g" role="img" aria-label="对比">`, W, H)
	for i, br := range bars {
		y := float64(i)*row + 4
		w := (W - labelW - valueW) * br.Value / max
		label := []rune(br.Label)
		if len(label) > 7 {
			label = append(label[:6], '…')
		}
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" class="lb" text-anchor="end">%s</text><rect x="%g" y="%.1f" width="%.1f" height="%g" rx="2" fill="#1a73e8"/><text x="%.1f" y="%.1f" class="lb">%s</text>`,
			labelW-6, y+14, template.HTMLEscapeString(string(label)), labelW, y+2, w, row-8, labelW+w+4, y+14, fmtNum(br.Value))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceCeil rounds a chart's maximum up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := 1.0
	for p*10 <= v {
		p *= 10
	}
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}
