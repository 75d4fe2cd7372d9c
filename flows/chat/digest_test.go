package chat

import (
	"strings"
	"testing"
	"unicode/utf8"

	"gridbot/flows"
)

func TestDaysAndClip(t *testing.T) {
	days := []struct {
		from, to string
		want     int
	}{
		{"2026-11-01", "2026-11-05", 4},
		{"2026-11-05", "2026-11-01", -4},
		{"2026-02-28", "2026-03-01", 1},
		{"2024-02-28", "2024-03-01", 2}, // leap year
		{"2026-12-31", "2027-01-01", 1},
		{"bad", "2027-01-01", 0},
	}
	for _, c := range days {
		if got := flows.DaysBetween(c.from, c.to); got != c.want {
			t.Errorf("DaysBetween(%s, %s) = %d, want %d", c.from, c.to, got, c.want)
		}
		if c.want != 0 {
			if got := flows.AddDays(c.from, c.want); got != c.to {
				t.Errorf("AddDays(%s, %d) = %s, want %s", c.from, c.want, got, c.to)
			}
		}
	}
	clips := []struct {
		s    string
		n    int
		want string
	}{
		{"逾期随访5项", 20, "逾期随访5项"},
		{"一二三四五六七八九十", 5, "一二三四…"},
		{"abc", 3, "abc"},
		{"abcd", 1, "a"},
	}
	for _, c := range clips {
		if got := ClipRunes(c.s, c.n); got != c.want {
			t.Errorf("ClipRunes(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}

func fu(worker, grid, target, kind, due string) flows.FollowUp {
	return flows.FollowUp{Worker: worker, Community: "阳光社区", Grid: grid, Flow: "visit", Kind: kind, Target: target, Due: due}
}

func TestDigestText(t *testing.T) {
	label := flows.DefaultCatalog().FollowUpLabel
	own := []flows.FollowUp{
		fu("w1", "3", "3-2-201", "chronic", "2026-11-10"),
		fu("w1", "3", "5-1-302", "elderly", "2026-11-20"),
		fu("w1", "3", "6-1-101", "maternal", "2026-11-27"),
		fu("w1", "3", "7-2-502", "chronic", "2026-11-27"),
	}
	esc := []flows.FollowUp{fu("w2", "4", "9-9-909", "chronic", "2026-10-01")}
	names := map[string]string{"w2": "李四"}
	cases := []struct {
		name string
		d    Digest
		has  []string
		not  []string
	}{
		{"empty", Digest{Day: "2026-11-28"}, nil, []string{"⏰"}},
		{"one", Digest{Day: "2026-11-28", Overdue: own[:1]},
			[]string{"⏰ 随访提醒（11月28日）", "你有 1 项随访已逾期", "1. 3-2-201 慢病随访，逾期 18 天", `回复"待办"`},
			[]string{"另有", "社区"}},
		{"more than shown", Digest{Day: "2026-11-28", Overdue: own},
			[]string{"你有 4 项随访已逾期", "2. 5-1-302 老年人探访，逾期 8 天", "3. 6-1-101 孕产妇/新生儿访视，逾期 1 天", "…另有 1 项"},
			[]string{"7-2-502"}},
		{"supervisor only", Digest{Day: "2026-11-28", Escalated: esc, EscalateAfterDays: 14, Names: names},
			[]string{"⚠️ 社区有 1 项逾期超过 14 天", "· 4网格 李四：9-9-909 慢病随访，逾期 58 天", `回复"逾期"`},
			[]string{"你有"}},
		{"both", Digest{Day: "2026-11-28", Overdue: own[:1], Escalated: esc, EscalateAfterDays: 14, Names: map[string]string{}},
			[]string{"你有 1 项", "社区有 1 项", "未知网格员", `回复"待办"`}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := DigestText(c.d, label)
			if c.d.Empty() != (got == "") {
				t.Fatalf("Empty %v but text %q", c.d.Empty(), got)
			}
			for _, s := range c.has {
				if !strings.Contains(got, s) {
					t.Errorf("missing %q in:\n%s", s, got)
				}
			}
			for _, s := range c.not {
				if strings.Contains(got, s) {
					t.Errorf("unexpected %q in:\n%s", s, got)
				}
			}
			tpl := DigestTemplate(c.d, label)
			if c.d.Empty() {
				if tpl != nil {
					t.Errorf("template of an empty digest: %q", tpl)
				}
				return
			}
			if len(tpl) != 3 {
				t.Fatalf("template values %q", tpl)
			}
			for _, v := range tpl {
				if n := utf8.RuneCountInString(v); n == 0 || n > TemplateKeywordMax {
					t.Errorf("template value %q has %d characters", v, n)
				}
			}
		})
	}
}

func TestDigestTemplateValues(t *testing.T) {
	label := flows.DefaultCatalog().FollowUpLabel
	long := fu("w1", "3", "阳光花园小区北区十二号楼三单元一千零一室", "maternal", "2026-11-01")
	cases := []struct {
		name string
		d    Digest
		want []string
	}{
		{"own", Digest{Day: "2026-11-28", Overdue: []flows.FollowUp{fu("w1", "3", "3-2-201", "chronic", "2026-11-10"), long}},
			[]string{"逾期随访2项", "慢病随访 3-2-201逾期18天", `回复"待办"查看并处理`}},
		{"long target", Digest{Day: "2026-11-28", Overdue: []flows.FollowUp{long}},
			[]string{"逾期随访1项", "阳光花园小区北区十二号楼三单元一千零一…", `回复"待办"查看并处理`}},
		{"escalated", Digest{Day: "2026-11-28", EscalateAfterDays: 14, Escalated: []flows.FollowUp{fu("w2", "4", "9-9-909", "chronic", "2026-10-01")}},
			[]string{"社区超期14天未随访1项", "慢病随访 9-9-909逾期58天", `回复"逾期"查看清单`}},
	}
	for _, c := range cases {
		got := DigestTemplate(c.d, label)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestOverdueText(t *testing.T) {
	label := flows.DefaultCatalog().FollowUpLabel
	items := []flows.FollowUp{
		fu("w1", "3", "3-2-201", "chronic", "2026-10-01"),
		fu("w2", "4", "9-9-901", "chronic", "2026-10-02"),
		fu("w1", "3", "3-2-202", "elderly", "2026-10-03"),
		fu("w3", "3", "3-5-101", "chronic", "2026-11-01"),
		fu("w1", "3", "3-2-203", "chronic", "2026-11-02"),
		fu("w1", "3", "3-2-204", "chronic", "2026-11-03"),
	}
	got := OverdueText("阳光社区", "2026-11-28", items, map[string]string{"w1": "张三", "w2": "李四", "w3": "王五"}, label)
	want := []string{
		"⚠️ 阳光社区逾期随访 6 项（截至11月28日）",
		"【3网格】5 项",
		"· 张三 4 项：3-2-201 慢病随访 逾期58天；3-2-202 老年人探访 逾期56天；3-2-203 慢病随访 逾期26天 等4项",
		"· 王五 1 项：3-5-101 慢病随访 逾期27天",
		"【4网格】1 项",
		"· 李四 1 项：9-9-901 慢病随访 逾期57天",
		"可在管理后台改派或注销（迁出/死亡/拒绝）。",
	}
	if got != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
