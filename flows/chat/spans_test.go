package chat

import (
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

func TestSpanOfAndPrevious(t *testing.T) {
	tests := []struct {
		period, today string
		title         string
		from, to      string
		partial       bool
		prevFrom      string
		prevTo        string
		compare       string
	}{
		{"2026-11", "2026-11-28", "2026年11月（截至28日）", "2026-11-01", "2026-11-28", true, "2026-10-01", "2026-10-28", "10月1–28日"},
		{"2026-10", "2026-11-28", "2026年10月", "2026-10-01", "2026-10-31", false, "2026-09-01", "2026-09-30", "9月"},
		{"2026-03", "2026-03-31", "2026年3月", "2026-03-01", "2026-03-31", false, "2026-02-01", "2026-02-28", "2月"},
		// March 30 to Day compares with all of February (28 days).
		{"2026-03", "2026-03-30", "2026年3月（截至30日）", "2026-03-01", "2026-03-30", true, "2026-02-01", "2026-02-28", "2月1–28日"},
		// January compares with the December before, across the year.
		{"2026-01", "2026-01-15", "2026年1月（截至15日）", "2026-01-01", "2026-01-15", true, "2025-12-01", "2025-12-15", "12月1–15日"},
		{"2026", "2026-11-28", "2026年（截至11月28日）", "2026-01-01", "2026-11-28", true, "2025-01-01", "2025-11-28", "2025年同期（1月1日–11月28日）"},
		{"2025", "2026-11-28", "2025年", "2025-01-01", "2025-12-31", false, "2024-01-01", "2024-12-31", "2024年"},
		// A leap day to Day compares with February 28 of the year before.
		{"2028", "2028-02-29", "2028年（截至2月29日）", "2028-01-01", "2028-02-29", true, "2027-01-01", "2027-02-28", "2027年同期（1月1日–2月28日）"},
		{"2026-11-05", "2026-11-28", "2026年11月5日", "2026-11-05", "2026-11-05", false, "2026-11-04", "2026-11-04", "前一日"},
	}
	for _, tt := range tests {
		t.Run(tt.period+"@"+tt.today, func(t *testing.T) {
			today, _ := time.Parse(time.DateOnly, tt.today)
			s, ok := spanOf(tt.period, flows.DayIn(today, time.UTC))
			if !ok {
				t.Fatal("not ok")
			}
			if s.From.String() != tt.from || s.To.String() != tt.to || s.Partial != tt.partial {
				t.Errorf("span = %s..%s partial %v, want %s..%s partial %v", s.From, s.To, s.Partial, tt.from, tt.to, tt.partial)
			}
			if got := s.title(); got != tt.title {
				t.Errorf("title = %q, want %q", got, tt.title)
			}
			p := s.previous()
			if p.From.String() != tt.prevFrom || p.To.String() != tt.prevTo {
				t.Errorf("previous = %s..%s, want %s..%s", p.From, p.To, tt.prevFrom, tt.prevTo)
			}
			if got := s.compareLabel(p); got != tt.compare {
				t.Errorf("compareLabel = %q, want %q", got, tt.compare)
			}
		})
	}
	for _, bad := range []string{"", "26", "2026-13", "2026-11-31", "abcd"} {
		if _, ok := spanOf(bad, flows.DateOf(2026, 11, 28)); ok {
			t.Errorf("spanOf(%q) ok, want not", bad)
		}
	}
}

func TestDateInZone(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		utc  string
		want string
	}{
		{"2026-10-31T15:30:00Z", "2026-10-31"}, // 23:30 on the 31st in Shanghai
		{"2026-10-31T16:30:00Z", "2026-11-01"}, // 00:30 on the 1st in Shanghai
		{"2025-12-31T16:10:00Z", "2026-01-01"},
	}
	for _, tt := range tests {
		at, _ := time.Parse(time.RFC3339, tt.utc)
		if got := flows.DayIn(at, sh).String(); got != tt.want {
			t.Errorf("DayIn(%s) = %s, want %s", tt.utc, got, tt.want)
		}
	}
}

func TestFmtNumAndDelta(t *testing.T) {
	nums := []struct {
		v     float64
		want  string
		plain string
	}{
		{0, "0", "0"},
		{7, "7", "7"},
		{999, "999", "999"},
		{1000, "1,000", "1000"},
		{1150, "1,150", "1150"},
		{1234567, "1,234,567", "1234567"},
		{2.5, "2.5", "2.5"},
		{1234.125, "1,234.125", "1234.125"},
		{0.1 + 0.2, "0.3", "0.3"},
		{-1500, "-1,500", "-1500"},
	}
	for _, tt := range nums {
		if got := fmtNum(tt.v); got != tt.want {
			t.Errorf("fmtNum(%v) = %q, want %q", tt.v, got, tt.want)
		}
		if got := fmtPlain(tt.v); got != tt.plain {
			t.Errorf("fmtPlain(%v) = %q, want %q", tt.v, got, tt.plain)
		}
	}
	deltas := []struct {
		cur, prev float64
		want      string
	}{
		{24, 12, "↑12"},
		{3, 6, "↓3"},
		{5, 5, "持平"},
		{1150, 0, "↑1,150"},
		{2.5, 1, "↑1.5"},
	}
	for _, tt := range deltas {
		if got := fmtDelta(tt.cur, tt.prev); got != tt.want {
			t.Errorf("fmtDelta(%v, %v) = %q, want %q", tt.cur, tt.prev, got, tt.want)
		}
	}
}

func TestFitLines(t *testing.T) {
	more := "……更多请在电脑端导出台帐"
	line := strings.Repeat("走", 10) // 30 bytes
	tests := []struct {
		name  string
		lines int
		max   int
		cut   bool
	}{
		{"fits", 3, 200, false},
		{"exactly", 4, 4*30 + 3, false},
		{"one byte over", 4, 4*30 + 2, true},
		{"long", 200, MaxReplyBytes, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lines []string
			for range tt.lines {
				lines = append(lines, line)
			}
			got := fitLines(lines, tt.max, more)
			if len(got) > tt.max {
				t.Errorf("len %d > max %d", len(got), tt.max)
			}
			if strings.HasSuffix(got, more) != tt.cut {
				t.Errorf("cut = %v, want %v:\n%s", !tt.cut, tt.cut, got)
			}
			// Cut cleanly: only whole lines before the pointer.
			for _, l := range strings.Split(strings.TrimSuffix(got, more), "\n") {
				if l != "" && l != line {
					t.Errorf("partial line %q", l)
				}
			}
		})
	}
}

func TestNaturalCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int // sign
	}{
		{"2", "10", -1},
		{"2网格", "10网格", -1},
		{"第13网格", "第6网格", 1},
		{"1", "1", 0},
		{"01", "1", 0},
		{"a", "b", -1},
		{"网格1", "网格1a", -1},
		{"东区", "西区", -1},
	}
	for _, tt := range tests {
		got := naturalCompare(tt.a, tt.b)
		if (got > 0) != (tt.want > 0) || (got < 0) != (tt.want < 0) {
			t.Errorf("naturalCompare(%q, %q) = %d, want sign %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestTallyPlan(t *testing.T) {
	d := func(s string) flows.Day {
		v, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return flows.DayIn(v, time.UTC)
	}
	tests := []struct {
		from, to string
		want     string
	}{
		// October 1–28: October less its last three days.
		{"2026-10-01", "2026-10-28", "+2026-10 -2026-10-29 -2026-10-30 -2026-10-31"},
		// A short start of a month: the days themselves.
		{"2026-10-01", "2026-10-03", "+2026-10-01 +2026-10-02 +2026-10-03"},
		// February 1–28 of a common year is the whole month.
		{"2026-02-01", "2026-02-28", "+2026-02"},
		// A year to 28 November: the year less December and 29–30 November.
		{"2025-01-01", "2025-11-28", "+2025 -2025-11-29 -2025-11-30 -2025-12"},
		// A year to 3 February: January and three days.
		{"2025-01-01", "2025-02-03", "+2025-01 +2025-02-01 +2025-02-02 +2025-02-03"},
		{"2025-01-01", "2025-12-31", "+2025"},
		{"2025-11-30", "2026-01-02", "+2025-11-30 +2025-12 +2026-01-01 +2026-01-02"},
	}
	for _, tt := range tests {
		var got []string
		for _, term := range tallyPlan(d(tt.from), d(tt.to)) {
			sign := "+"
			if term.sign < 0 {
				sign = "-"
			}
			got = append(got, sign+term.period)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("tallyPlan(%s, %s) = %s, want %s", tt.from, tt.to, strings.Join(got, " "), tt.want)
		}
	}
}

func TestParseStats(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{Zone: sh}
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, sh)
	tests := []struct {
		text   string
		ok     bool
		what   string
		period string
		flow   string
		week   int
	}{
		{"统计", true, "self", "2026-11", "", 0},
		{"本月统计", true, "self", "2026-11", "", 0},
		{"这个月多少", true, "self", "2026-11", "", 0},
		{"本月", true, "self", "2026-11", "", 0},
		{"上月统计", true, "self", "2026-10", "", 0},
		{"上个月统计？", true, "self", "2026-10", "", 0},
		{"今年统计", true, "self", "2026", "", 0},
		{"去年汇总", true, "self", "2025", "", 0},
		{"统计 10月", true, "self", "2026-10", "", 0},
		{"统计 2026年10月", true, "self", "2026-10", "", 0},
		{"统计 2026-10", true, "self", "2026-10", "", 0},
		{"统计 12月", true, "self", "2025-12", "", 0},
		{"10月份走访多少户", true, "self", "2026-10", "visit", 0},
		{"走访多少户", true, "self", "2026-11", "visit", 0},
		{"今年宣传几次", true, "self", "2026", "campaign", 0},
		{"统计 13月", true, "self", "", "", 0},
		{"社区统计", true, "community", "2026-11", "", 0},
		{"社区统计 上月", true, "community", "2026-10", "", 0},
		{"网格排名", true, "ranking", "2026-11", "", 0},
		{"上月网格排名", true, "ranking", "2026-10", "", 0},
		// Days and weeks.
		{"今天统计", true, "self", "2026-11-28", "", 0},
		{"昨天统计", true, "self", "2026-11-27", "", 0},
		{"今天走访了几户", true, "self", "2026-11-28", "visit", 0},
		{"上周五统计", true, "self", "2026-11-20", "", 0},
		{"11月5日统计", true, "self", "2026-11-05", "", 0},
		{"统计 明天", true, "self", "", "", 0},
		{"本周统计", true, "self", "", "", 1},
		{"这周走访多少户", true, "self", "", "visit", 1},
		{"这个星期统计", true, "self", "", "", 1},
		{"上周统计", true, "self", "", "", -1},
		{"上个星期宣传几次", true, "self", "", "campaign", -1},
		{"社区统计 本周", true, "community", "", "", 1},
		// Not totals questions: left to the rest of the conversation.
		{"走访 3-2-201 慢病 150/95", false, "", "", "", 0},
		{"今天宣传发放资料四百余份，参与群众35人", false, "", "", "", 0},
		{"巡查 机房 数据中心", false, "", "", "", 0},
		{"多少", false, "", "", "", 0},
		{"待办", false, "", "", "", 0},
		{"你好", false, "", "", "", 0},
	}
	for _, tt := range tests {
		q, ok := e.parseStats(normalize(tt.text), now)
		flow := ""
		if q.flow != nil {
			flow = q.flow.Key
		}
		if ok != tt.ok || ok && (q.what != tt.what || q.period != tt.period || flow != tt.flow || q.week != tt.week) {
			t.Errorf("parseStats(%q) = %v %q %q %q week %d, want %v %q %q %q week %d", tt.text, ok, q.what, q.period, flow, q.week, tt.ok, tt.what, tt.period, tt.flow, tt.week)
		}
	}
}

func TestWeekSpan(t *testing.T) {
	tests := []struct {
		today    string
		which    int
		title    string
		from, to string
		prevFrom string
		prevTo   string
		compare  string
	}{
		{"2026-11-28", 1, "本周（11月23–28日）", "2026-11-23", "2026-11-28", "2026-11-16", "2026-11-21", "上周同期（11月16–21日）"},
		{"2026-11-23", 1, "本周（11月23日）", "2026-11-23", "2026-11-23", "2026-11-16", "2026-11-16", "上周同期（11月16日）"},
		{"2026-11-29", 1, "本周（11月23–29日）", "2026-11-23", "2026-11-29", "2026-11-16", "2026-11-22", "上周同期（11月16–22日）"},
		{"2026-11-28", -1, "2026年11月16–22日", "2026-11-16", "2026-11-22", "2026-11-09", "2026-11-15", "前一周（11月9–15日）"},
		{"2026-12-02", -1, "2026年11月23–29日", "2026-11-23", "2026-11-29", "2026-11-16", "2026-11-22", "前一周（11月16–22日）"},
		{"2026-12-03", 1, "本周（11月30日–12月3日）", "2026-11-30", "2026-12-03", "2026-11-23", "2026-11-26", "上周同期（11月23–26日）"},
		{"2027-01-02", 1, "本周（2026年12月28日–2027年1月2日）", "2026-12-28", "2027-01-02", "2026-12-21", "2026-12-26", "上周同期（12月21–26日）"},
	}
	for _, tt := range tests {
		today, _ := time.Parse(time.DateOnly, tt.today)
		s := weekSpan(flows.DayIn(today, time.UTC), tt.which)
		p := s.previous()
		if s.From.String() != tt.from || s.To.String() != tt.to || s.title() != tt.title ||
			p.From.String() != tt.prevFrom || p.To.String() != tt.prevTo || s.compareLabel(p) != tt.compare {
			t.Errorf("weekSpan(%s, %d) = %s..%s %q, previous %s..%s %q; want %s..%s %q, %s..%s %q",
				tt.today, tt.which, s.From, s.To, s.title(), p.From, p.To, s.compareLabel(p),
				tt.from, tt.to, tt.title, tt.prevFrom, tt.prevTo, tt.compare)
		}
	}
}
