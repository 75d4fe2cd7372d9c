package chat

import (
	"context"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"gridbot/flows"

	"gridbot/flows/zh"
)

// Replies of the totals questions.
const (
	msgStatsMore       = "……更多请在电脑端导出台帐"
	msgStatsSupervisor = "社区统计和网格排名仅供社区负责人查看。发送\"本月统计\"查看你自己的数字。"
	msgWeekHouseholds  = "· 户数（同一户只计一次）按日、月或年统计，发送\"本月统计\"查看。"
	msgStatsPeriod     = "没看懂要统计哪段时间。可以发送\"今天统计\"、\"昨天统计\"、\"本周统计\"、\"上周统计\"、\"本月统计\"、\"上月统计\"、\"今年统计\"或\"统计 10月\"。"
)

// statsQuery is a parsed totals question.
type statsQuery struct {
	what   string         // "self", "community", "ranking"
	period string         // "2026-11", "2026", "2026-11-28" (今天, 昨天, 11月5日); "" unreadable
	week   int            // 1 this week (本周), -1 last week (上周), 0 not a week
	flow   *flows.FlowDef // only this flow's figures ("10月份走访多少户"); nil: all
}

// statsWords are the words that make a message a totals question.
var statsWords = []string{"统计", "汇总", "排名", "排行", "多少", "几户", "几次", "几份", "几人"}

// hasStatsWord reports whether t has one of statsWords.
func hasStatsWord(t string) bool { return zh.Has(t, statsWords...) }

// statsBare are the periods that alone ask for the worker's totals.
var statsBare = map[string]bool{"本月": true, "上月": true, "今年": true, "去年": true, "这个月": true, "上个月": true}

// statsTrim is the punctuation a totals question may end with.
const statsTrim = "?？!！。. "

// statsPeriodRe finds what looks like a period in a totals question, to
// tell "no period" (this month) from one zh.Period cannot read.
var statsPeriodRe = regexp.MustCompile(`今天|今日|昨天|昨日|前天|本周|这一?周|这个?星期|本星期|上一?周|上个?星期|` + `\d{4}\s*年\s*\d{1,2}\s*月份?|\d{4}\s*[-./]\s*\d{1,2}|\d{4}\s*年(度)?|[0-9一二三四五六七八九十]{1,3}\s*月份?|本月|这个月|这月|当月|上个?月|今年|本年|去年|上一?年|全年`)

// statsCommand answers questions about totals (统计, 本月统计, 上月统计,
// 今年统计, 统计 10月, 10月份走访多少户, 社区统计, 网格排名, ...). ok is
// false when text is not one.
//
// A worker gets their own figures, grouped by report type, each with the
// change against the same span of the period before; supervisors and
// admins may also ask for their community's (社区统计) and for its grids
// ranked by reports (网格排名).
func (e *Engine) statsCommand(c *turn, text string) (reply string, ok bool, err error) {
	ctx, w, now := c.ctx, c.w, c.at
	t := strings.TrimSpace(zh.Fold(text))
	q, ok := e.parseStats(t, now)
	if !ok {
		return "", false, nil
	}
	if q.period == "" && q.week == 0 {
		return msgStatsPeriod, true, nil
	}
	if q.what != "self" && w.Role != flows.RoleSupervisor && w.Role != flows.RoleAdmin {
		return msgStatsSupervisor, true, nil
	}
	today := flows.DayIn(now, e.zone())
	var span statSpan
	if q.week != 0 {
		span = weekSpan(today, q.week)
	} else {
		var valid bool
		if span, valid = spanOf(q.period, today); !valid {
			return msgStatsPeriod, true, nil
		}
	}
	if span.From.After(today) {
		return "📊 " + span.title() + "还没到，暂无数字。发送\"本月统计\"查看本月。", true, nil
	}
	switch q.what {
	case "ranking":
		reply, err = e.gridRanking(ctx, w.Community, span)
	case "community":
		reply, err = e.scopeStats(ctx, flows.Scope{Kind: flows.ScopeCommunity, ID: w.Community}, w.Community+" ", span, q.flow)
	default:
		reply, err = e.scopeStats(ctx, flows.Scope{Kind: flows.ScopeWorker, ID: w.OpenID}, "", span, q.flow)
	}
	if err != nil {
		return "", true, err
	}
	return reply, true, nil
}

// parseStats recognises a totals question and its period ("" when the
// question names a period that cannot be read). ok is false when t is not
// a totals question.
func (e *Engine) parseStats(t string, now time.Time) (statsQuery, bool) {
	var q statsQuery
	bare := strings.TrimRight(t, statsTrim)
	switch {
	case strings.Contains(bare, "排名") || strings.Contains(bare, "排行"):
		q.what = "ranking"
	case strings.Contains(bare, "社区") && hasStatsWord(bare):
		q.what = "community"
	case hasStatsWord(bare):
		q.what = "self"
	default:
		if !statsBare[bare] {
			return q, false
		}
		q.what = "self"
	}
	if q.what == "self" {
		// "多少" and "几户" alone are too loose: a question needs a period
		// or a report type next to them (这个月多少, 走访多少户).
		if !strings.Contains(bare, "统计") && !strings.Contains(bare, "汇总") {
			f, _, _ := e.catalog().FlowByWord(bare)
			if statsPeriodRe.FindString(bare) == "" && f == nil {
				return q, false
			}
		}
	}
	if f, _, _ := e.catalog().FlowByWord(bare); f != nil && q.what != "ranking" {
		q.flow = f
	}
	if q.week = statsWeek(bare); q.week == 0 {
		q.period = statsPeriod(bare, now, e.zone())
	}
	return q, true
}

// weekRe finds 本周/这周/这个星期 and 上周/上个星期; a weekday after it
// (上周五) makes it a day, not a week.
var weekRe = regexp.MustCompile(`(上一?周|上个?星期|上个?礼拜|本周|这一?周|这个?星期|本星期|这个?礼拜)([一二三四五六日天七1-7]?)`)

// statsWeek reads a week in a totals question: 1 this week, -1 last
// week, 0 none.
func statsWeek(t string) int {
	m := weekRe.FindStringSubmatch(t)
	if m == nil || m[2] != "" {
		return 0
	}
	if strings.HasPrefix(m[1], "上") {
		return -1
	}
	return 1
}

// statsPeriod reads the period a totals question names: this month when it
// names none, "" when it names one that cannot be read (统计 13月).
func statsPeriod(t string, now time.Time, zone *time.Location) string {
	local := now.In(zone)
	// A day: 今天, 昨天, 上周五, 11月5日 (tallied by its day).
	if d, _, _, ok, err := zh.FindDate(t, local); ok {
		if err != nil {
			return ""
		}
		return d.Format("2006-01-02")
	}
	if p, ok := zh.Period(t, local); ok {
		if _, err := flows.ParsePeriod(p); err == nil {
			return p
		}
		return ""
	}
	if statsPeriodRe.MatchString(t) {
		return ""
	}
	return local.Format("2006-01")
}

// metricLine is one figure of a totals reply. For a flow that counts
// households (visit) the figure is its visits (户次) and, before them, its
// distinct households (户) when they are known: "58 户 ↑5、72 户次 ↑8".
type metricLine struct {
	key        string
	name, unit string
	cur, prev  float64
	hh         *hhFigure
}

// hhFigure is the distinct households beside a visits figure.
type hhFigure struct {
	unit      string
	cur, prev float64
	prevOK    bool // prev is known (the comparison span is one period)
}

// statGroup is one report type's figures: the report count and below it
// the kinds and counters.
type statGroup struct {
	head  metricLine
	lines []metricLine
}

// hhKnown says whether the distinct households of the current and the
// compared counts are known (see rangeTally).
type hhKnown struct{ cur, prev bool }

// groupCounts sorts a period's counts into the catalog's report types, in
// catalog order, leaving out metrics with no data in cur. Metrics the
// catalog does not know (a flow removed from the config) go last. The
// distinct households of a household flow go with its visits, not apart.
func groupCounts(cat *flows.Catalog, cur, prev flows.Counts, only *flows.FlowDef, known hhKnown) []statGroup {
	var groups []statGroup
	seen := map[string]bool{}
	words := cat.HouseholdWording()
	line := func(f *flows.FlowDef, key, name, unit string) metricLine {
		l := metricLine{key: key, name: name, unit: unit, cur: cur[key], prev: prev[key]}
		hk := key + flows.HouseholdsSuffix
		seen[key], seen[hk] = true, true
		if !f.CountsHouseholds() {
			return l
		}
		l.unit = words.VisitUnit
		if known.cur && (cur[hk] != 0 || known.prev && prev[hk] != 0) {
			l.hh = &hhFigure{unit: words.Unit, cur: cur[hk], prev: prev[hk], prevOK: known.prev}
		}
		return l
	}
	for i := range cat.Flows {
		f := &cat.Flows[i]
		if only != nil && only.Key != f.Key {
			continue
		}
		g := statGroup{head: line(f, f.Key, f.Name, f.Unit)}
		for _, k := range f.Kinds {
			if l := line(f, f.Key+"."+k.Key, k.Name, f.Unit); l.cur != 0 {
				g.lines = append(g.lines, l)
			}
		}
		for _, c := range f.Counters {
			seen[c.Key] = true
			if cur[c.Key] != 0 {
				g.lines = append(g.lines, metricLine{key: c.Key, name: c.Name, unit: c.Unit, cur: cur[c.Key], prev: prev[c.Key]})
			}
		}
		if g.head.cur != 0 || len(g.lines) > 0 {
			groups = append(groups, g)
		}
	}
	if only != nil {
		return groups
	}
	var rest []string
	for k, v := range cur {
		if !seen[k] && v != 0 && !strings.HasSuffix(k, ".households") { // distinct households: worded apart
			rest = append(rest, k)
		}
	}
	if len(rest) > 0 {
		sort.Strings(rest)
		g := statGroup{head: metricLine{name: "其他"}}
		for _, k := range rest {
			g.lines = append(g.lines, metricLine{key: k, name: k, cur: cur[k], prev: prev[k]})
		}
		groups = append(groups, g)
	}
	return groups
}

// scopeStats is the totals reply of one scope for a span: a header, the
// figures grouped by report type with their change, and what the change
// compares with. who goes before the period in the header. For a
// community it adds the roster coverage of the span (see coverageLines).
func (e *Engine) scopeStats(ctx context.Context, scope flows.Scope, who string, span statSpan, only *flows.FlowDef) (string, error) {
	cur, curOK, err := spanTally(ctx, e.Store, scope, span)
	if err != nil {
		return "", err
	}
	prevSpan := span.previous()
	prev, prevOK, err := spanTally(ctx, e.Store, scope, prevSpan)
	if err != nil {
		return "", err
	}
	title := "📊 " + who + span.title()
	if only != nil {
		title += " · " + only.Short
	}
	var cov []string
	if scope.Kind == flows.ScopeCommunity && (only == nil || only.Key == flows.VisitFlow) {
		if cov, err = e.coverageLines(ctx, scope.ID, span); err != nil {
			return "", err
		}
	}
	groups := groupCounts(e.catalog(), cur, prev, only, hhKnown{curOK, prevOK})
	if len(groups) == 0 {
		none := "这段时间还没有记录。发送\"走访\"、\"巡查\"或\"宣传\"开始记录。"
		if scope.Kind != flows.ScopeWorker {
			none = "这段时间还没有记录。"
		}
		return fitLines(append([]string{title, none}, cov...), MaxReplyBytes, msgStatsMore), nil
	}
	lines := []string{title}
	for _, g := range groups {
		if g.head.key != "" {
			lines = append(lines, "【"+g.head.name+"】"+figure(g.head))
		} else {
			lines = append(lines, "【"+g.head.name+"】")
		}
		for _, l := range g.lines {
			lines = append(lines, "· "+l.name+" "+figure(l))
		}
		if f := e.catalog().Flow(g.head.key); !curOK && f != nil && f.CountsHouseholds() {
			lines = append(lines, msgWeekHouseholds)
		}
	}
	lines = append(lines, cov...)
	lines = append(lines, "↑↓ 对比"+span.compareLabel(prevSpan))
	return fitLines(lines, MaxReplyBytes, msgStatsMore), nil
}

// figure is "24 户次 ↑12", or with distinct households "20 户 ↑3、24 户次 ↑12".
func figure(l metricLine) string {
	s := fmtNum(l.cur)
	if l.unit != "" {
		s += " " + l.unit
	}
	s += " " + fmtDelta(l.cur, l.prev)
	if h := l.hh; h != nil {
		hs := fmtNum(h.cur) + " " + h.unit
		if h.prevOK {
			hs += " " + fmtDelta(h.cur, h.prev)
		}
		s = hs + "、" + s
	}
	return s
}

// gridStat is one grid's figures in a ranking.
type gridStat struct {
	grid    string
	reports float64
	counts  flows.Counts
	exact   bool // its distinct households are known
}

// gridRanking ranks the grids of a community (those with bound workers, and
// any with reports) by the number of reports in the span, each with its
// report counts per type.
func (e *Engine) gridRanking(ctx context.Context, community string, span statSpan) (string, error) {
	grids, err := communityGrids(ctx, e.Store, community)
	if err != nil {
		return "", err
	}
	cat := e.catalog()
	stats := make([]gridStat, 0, len(grids))
	for _, g := range grids {
		c, exact, err := spanTally(ctx, e.Store, flows.Scope{Kind: flows.ScopeGrid, ID: community + "/" + g}, span)
		if err != nil {
			return "", err
		}
		gs := gridStat{grid: g, counts: c, exact: exact}
		for _, f := range cat.Flows {
			gs.reports += c[f.Key]
		}
		stats = append(stats, gs)
	}
	slices.SortStableFunc(stats, func(a, b gridStat) int {
		if a.reports != b.reports {
			if a.reports > b.reports {
				return -1
			}
			return 1
		}
		return naturalCompare(a.grid, b.grid)
	})
	lines := []string{"🏆 " + community + " 网格排名 " + span.title()}
	if len(stats) == 0 {
		return lines[0] + "\n社区还没有绑定的网格员。", nil
	}
	rank := 0
	for i, s := range stats {
		if i == 0 || s.reports != stats[i-1].reports {
			rank = i + 1
		}
		if s.reports == 0 {
			lines = append(lines, itoa(rank)+". "+rankLabel(s.grid)+" 暂无记录")
			continue
		}
		var parts []string
		for i := range cat.Flows {
			if f := &cat.Flows[i]; s.counts[f.Key] != 0 {
				parts = append(parts, f.Short+" "+countText(cat, f, s.counts, f.Key, s.exact))
			}
		}
		lines = append(lines, itoa(rank)+". "+rankLabel(s.grid)+" "+fmtNum(s.reports)+" 条："+strings.Join(parts, "，"))
	}
	return fitLines(lines, MaxReplyBytes, msgStatsMore), nil
}

// communityGrids lists the grids of a community that have bound workers,
// sorted.
func communityGrids(ctx context.Context, st flows.Store, community string) ([]string, error) {
	ws, err := st.Workers(ctx)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, w := range ws {
		if w.Community == community && w.Grid != "" {
			set[w.Grid] = true
		}
	}
	grids := make([]string, 0, len(set))
	for g := range set {
		grids = append(grids, g)
	}
	slices.SortFunc(grids, naturalCompare)
	return grids, nil
}

// naturalCompare orders names with numbers in them as people do: "2网格"
// before "10网格".
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) - len(nb)
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		ra, sa := utf8.DecodeRuneInString(a)
		rb, sb := utf8.DecodeRuneInString(b)
		if ra != rb {
			return int(ra) - int(rb)
		}
		a, b = a[sa:], b[sb:]
	}
	return len(a) - len(b)
}

// digitRun is the length of the ASCII digits s starts with.
func digitRun(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// rankLabel names a grid in a ranking: "3" → "3网格", "第三网格" as is.
func rankLabel(g string) string {
	if strings.HasSuffix(g, "网格") {
		return g
	}
	return g + "网格"
}
