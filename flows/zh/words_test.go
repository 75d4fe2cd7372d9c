package zh

import (
	"errors"
	"testing"
	"time"
)

var householdIDCases = []struct {
	in, want, span string // want "" when none
}{
	{"走访 阳光花园2期5栋1单元101", "阳光花园2期/5-1-101", "阳光花园2期5栋1单元101"},
	{"走访阳光花园2期5栋1单元101", "阳光花园2期/5-1-101", "阳光花园2期5栋1单元101"},
	{"走访 阳光花园二期 5-1-101 慢病", "阳光花园2期/5-1-101", "阳光花园二期 5-1-101"},
	{"走访 阳光花园5-1-101", "阳光花园/5-1-101", "阳光花园5-1-101"},
	{"走访 幸福小区3号楼2单元201室", "幸福小区/3-2-201", "幸福小区3号楼2单元201室"},
	{"走访 翠湖苑A区5-1-302", "翠湖苑A区/5-1-302", "翠湖苑A区5-1-302"},
	{"走访 在阳光花园5栋1单元101", "阳光花园/5-1-101", "阳光花园5栋1单元101"},
	{"走访 5-1-101", "5-1-101", "5-1-101"},
	{"走访 3号楼2单元201室 张大爷", "3-2-201", "3号楼2单元201室"},
	{"走访 3栋2单元201", "3-2-201", "3栋2单元201"},
	{"走访 老王家3-2-201", "3-2-201", "3-2-201"}, // 老王家 is no estate
	{"随访 高血压3-2-201", "3-2-201", "3-2-201"}, // a stop word
	{"今天入户随访高血压患者3户", "", ""},
	{"走访3户", "", ""},
	{"走访二十来户", "", ""},
	{"巡查发现问题48处阳光花园5-1-101", "阳光花园/5-1-101", "阳光花园5-1-101"},
	{"走访 小区3-2-201", "3-2-201", "3-2-201"},
	{"入户 本社区3-2-201", "3-2-201", "3-2-201"},
	{"走访 东区5-1-101", "东区/5-1-101", "东区5-1-101"},
	{"", "", ""},
}

func TestFindHouseholdID(t *testing.T) {
	stop := []string{"走访", "随访", "入户", "高血压"}
	for _, c := range householdIDCases {
		h, ok := FindHouseholdID(c.in, stop)
		if c.want == "" {
			if ok {
				t.Errorf("FindHouseholdID(%q) = %q, want none", c.in, h)
			}
			continue
		}
		if !ok || h.String() != c.want || c.in[h.Start:h.End] != c.span {
			t.Errorf("FindHouseholdID(%q) = %q [%d,%d) %v; want %q %q", c.in, h, h.Start, h.End, ok, c.want, c.span)
		}
	}
}

var parseHouseholdIDCases = []struct{ in, want string }{
	{"阳光花园2期5栋1单元101", "阳光花园2期/5-1-101"},
	{"阳光花园 5-1-101", "阳光花园/5-1-101"},
	{"３号楼２单元２０１室。", "3-2-201"},
	{"3 - 2 - 201", "3-2-201"},
	{"3栋2单元201", "3-2-201"},
	{"3-2-201", "3-2-201"},
	{"3户", ""},
	{"高血压患者3户", ""},
	{"怎么填？", ""},
	{"老王家3-2-201", ""},
	{"阳光花园", ""},
}

func TestParseHouseholdID(t *testing.T) {
	for _, c := range parseHouseholdIDCases {
		h, ok := ParseHouseholdID(c.in)
		if ok != (c.want != "") || ok && h.String() != c.want {
			t.Errorf("ParseHouseholdID(%q) = %q, %v; want %q", c.in, h, ok, c.want)
		}
	}
}

// dec4 is 4 December 2026, the day of the 12月5日 report.
var dec4 = time.Date(2026, 12, 4, 9, 0, 0, 0, shanghai)

var dayCases = []struct {
	in       string
	now      time.Time
	want     string // 2006-01-02
	inferred bool
	back     int
	confirm  bool
	label    string
	err      error
}{
	{"12月5日", dec4, "2025-12-05", true, 364, true, "2025年12月5日", nil},
	{"12月4日", dec4, "2026-12-04", true, 0, false, "2026年12月4日", nil},
	{"10月5日", dec4, "2026-10-05", true, 60, false, "2026年10月5日", nil},
	{"10月4日", dec4, "2026-10-04", true, 61, true, "2026年10月4日", nil},
	{"5号", dec4, "2026-11-05", true, 29, false, "2026年11月5日", nil},
	{"昨天", dec4, "2026-12-03", false, 1, false, "2026年12月3日", nil},
	{"2026-09-01", dec4, "2026-09-01", false, 94, false, "2026年9月1日", nil},
	{"2026年12月5日", dec4, "", false, 0, false, "", ErrFutureDate},
	{"明天", dec4, "", false, 0, false, "", ErrFutureDate},
	{"2025-11-01", dec4, "", false, 0, false, "", ErrTooOld},
	{"2月30日", dec4, "", false, 0, false, "", ErrNotDate},
	{"12月30日", nowJan, "2026-12-30", true, 4, false, "2026年12月30日", nil},
}

func TestParseDay(t *testing.T) {
	for _, c := range dayCases {
		d, err := ParseDay(c.in, c.now)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("ParseDay(%q) = %+v, %v; want %v", c.in, d, err, c.err)
			}
			continue
		}
		if err != nil || d.Time.Format("2006-01-02") != c.want || d.YearInferred != c.inferred || d.DaysBack != c.back ||
			d.Confirm != c.confirm || d.Label() != c.label || d.Time.Location() != c.now.Location() {
			t.Errorf("ParseDay(%q) = %s inferred=%v back=%d confirm=%v %q, %v; want %s %v %d %v %q",
				c.in, d.Time.Format("2006-01-02"), d.YearInferred, d.DaysBack, d.Confirm, d.Label(), err, c.want, c.inferred, c.back, c.confirm, c.label)
		}
	}
}

func TestFindDay(t *testing.T) {
	s := "走访 4-2-101 慢病 12月5日"
	d, ok, err := FindDay(s, dec4)
	if !ok || err != nil || !d.Confirm || !d.YearInferred || d.Label() != "2025年12月5日" || s[d.Start:d.End] != "12月5日" {
		t.Errorf("FindDay(%q) = %+v %v %v", s, d, ok, err)
	}
	s = "巡查 2026年12月5日 菜市场"
	d, ok, err = FindDay(s, dec4)
	if !ok || !errors.Is(err, ErrFutureDate) || s[d.Start:d.End] != "2026年12月5日" {
		t.Errorf("FindDay(%q) = %+v %v %v, want the span and ErrFutureDate", s, d, ok, err)
	}
	if _, ok, _ := FindDay("宣传 资料200份", dec4); ok {
		t.Errorf("FindDay found a date in a count")
	}
}

var questionCases = []struct {
	in   string
	want bool
}{
	{"怎么填？", true},
	{"怎么填", true},
	{"这个填什么", true},
	{"户号是什么意思?", true},
	{"如何撤销", true},
	{"咋弄", true},
	{"可以吗", true},
	{"帮助", true},
	{"帮助。", true},
	{"help", true},
	{"？", true},
	{"填啥", true},
	{"3-2-201", false},
	{"老人说没什么问题", false},
	{"不怎么出门", false},
	{"帮助独居老人打扫卫生", false},
	{"发放资料200份", false},
	{"阳光花园5-1-101", false},
	{"", false},
	{"吗", true},
	{"老人在午睡呢", false},
	{"还行嘛", false},
}

func TestIsQuestion(t *testing.T) {
	for _, c := range questionCases {
		if got := IsQuestion(c.in); got != c.want {
			t.Errorf("IsQuestion(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

var commandWords = []string{"走访", "巡查", "宣传", "撤销", "本月统计", "上月统计", "待办", "逾期", "帮助", "绑定", "跳过", "修改", "1", "0"}

var matchWordCases = []struct {
	in, want string
	typo     bool
}{
	{"走访", "走访", false},
	{"走防", "走访", true},
	{"撤消", "撤销", true},
	{"撤銷", "撤销", false},
	{"本月统记", "本月统计", true},
	{"待 办", "待办", false},
	{"待　办", "待办", false},
	{"待办办", "待办", true},
	{"访走", "走访", true},
	{"月本统计", "本月统计", true},
	{"上月统计", "上月统计", false}, // exact wins over 本月统计 one edit away
	{"下月统计", "", false},     // 本月统计 and 上月统计 both one edit away: ambiguous
	{"走", "", false},        // one rune: no typo match
	{"2", "", false},
	{"走访访访", "", false},
	{"巡逻", "巡查", true},
	{"慢病", "", false},
	{"", "", false},
}

func TestMatchWord(t *testing.T) {
	for _, c := range matchWordCases {
		w, typo, ok := MatchWord(c.in, commandWords)
		if ok != (c.want != "") || w != c.want || typo != c.typo {
			t.Errorf("MatchWord(%q) = %q typo=%v %v; want %q typo=%v", c.in, w, typo, ok, c.want, c.typo)
		}
	}
}

var matchLeadCases = []struct {
	in, want, rest string
	typo           bool
}{
	{"走访 3-2-201 慢病", "走访", " 3-2-201 慢病", false},
	{"走防 3-2-201 慢病", "走访", " 3-2-201 慢病", true},
	{"走防3-2-201", "走访", "3-2-201", true},
	{"走防阳光花园5-1-101", "走访", "阳光花园5-1-101", true},
	{"巡查菜市场", "巡查", "菜市场", false},
	{"撤消上一条", "撤销", "上一条", true},
	{"撤銷", "撤销", "", false},
	{"本月统记", "本月统计", "", true},
	{"菜市场巡查", "", "", false},
	{"3-2-201", "", "", false},
}

func TestMatchLead(t *testing.T) {
	for _, c := range matchLeadCases {
		w, end, typo, ok := MatchLead(c.in, commandWords)
		if ok != (c.want != "") || w != c.want || typo != c.typo || ok && c.in[end:] != c.rest {
			t.Errorf("MatchLead(%q) = %q end=%d typo=%v %v; want %q rest %q typo=%v", c.in, w, end, typo, ok, c.want, c.rest, c.typo)
		}
	}
}
