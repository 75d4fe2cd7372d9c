package zh

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

var numberCases = []struct {
	in     string
	value  float64
	unit   string
	approx bool
	span   string // s[Start:End], "" for the whole input
	err    error
}{
	{in: "35", value: 35},
	{in: "３５", value: 35},
	{in: "三十五", value: 35},
	{in: "两百", value: 200},
	{in: "一千零五", value: 1005},
	{in: "四百余", value: 400, approx: true},
	{in: "400多", value: 400, approx: true},
	{in: "约400", value: 400, approx: true},
	{in: "400余份", value: 400, unit: "份", approx: true},
	{in: "2.5", value: 2.5},
	{in: "2.5吨", value: 2.5, unit: "吨"},
	{in: "35人", value: 35, unit: "人"},
	{in: "三十五人", value: 35, unit: "人"},
	{in: "一百二十", value: 120},
	{in: "十五", value: 15},
	{in: "1,200", value: 1200},
	{in: "1，200", value: 1200},
	{in: "１，２００份", value: 1200, unit: "份"},
	{in: "12,345,678", value: 12345678},
	{in: "一万", value: 10000},
	{in: "两万三千", value: 23000},
	{in: "三万五", value: 35000},
	{in: "一百五", value: 150},
	{in: "二十万", value: 200000},
	{in: "一千零一十", value: 1010},
	{in: "一万零五百", value: 10500},
	{in: "一百零八", value: 108},
	{in: "零", value: 0},
	{in: "0", value: 0},
	{in: "十", value: 10},
	{in: "壹佰", value: 100},
	{in: "1.5万", value: 15000},
	{in: "3千份", value: 3000, unit: "份"},
	{in: "35 人", value: 35, unit: "人"},
	{in: " 35人。", value: 35, unit: "人", span: "35人"},
	{in: "共35人", value: 35, unit: "人", span: "35人"},
	{in: "一共二十户", value: 20, unit: "户", span: "二十户"},
	{in: "约 400 份", value: 400, unit: "份", approx: true},
	{in: "400份左右", value: 400, unit: "份", approx: true},
	{in: "二十来个", value: 20, unit: "个", approx: true},
	{in: "三百多名", value: 300, unit: "名", approx: true},
	{in: "大约三十人", value: 30, unit: "人", approx: true},
	{in: "将近50户", value: 50, unit: "户", approx: true},
	{in: "50户以上", value: 50, unit: "户", approx: true},
	{in: "5场", value: 5, unit: "场"},
	{in: "3期", value: 3, unit: "期"},
	{in: "12处", value: 12, unit: "处"},
	{in: "8户", value: 8, unit: "户"},
	{in: "3家", value: 3, unit: "户"},
	{in: "5位", value: 5, unit: "人"},
	{in: "120人次", value: 120, unit: "人"},
	{in: "100米", value: 100, unit: "米"},
	{in: "6次", value: 6, unit: "次"},
	{in: "两个", value: 2, unit: "个"},
	{in: "七点五", value: 7.5},
	{in: "\u200b35人\u00a0", value: 35, unit: "人", span: "35人"},
	{in: "-5", err: ErrNegative},
	{in: "－５", err: ErrNegative},
	{in: "负五", err: ErrNegative},
	{in: "负 3人", err: ErrNegative},
	{in: "很多", err: ErrNotNumber},
	{in: "", err: ErrNotNumber},
	{in: "十几", err: ErrNotNumber},
	{in: "几十人", err: ErrNotNumber},
	{in: "35岁", err: ErrNotNumber},
	{in: "3-2-201", err: ErrNotNumber},
	{in: "35和40", err: ErrNotNumber},
	{in: "三五个", err: ErrNotNumber},
	{in: "abc", err: ErrNotNumber},
	{in: "1.2.3", err: ErrNotNumber},
	{in: "-abc", err: ErrNotNumber},
	{in: "第二期", err: ErrNotNumber},
	{in: "千万", err: ErrNotNumber},
	{in: "3万5", err: ErrNotNumber},
}

func TestNumber(t *testing.T) {
	for _, c := range numberCases {
		n, err := Number(c.in)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("Number(%q) = %+v, %v; want error %v", c.in, n, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Number(%q): %v", c.in, err)
			continue
		}
		if n.Value != c.value || n.Unit != c.unit || n.Approx != c.approx {
			t.Errorf("Number(%q) = %v %q approx=%v, want %v %q approx=%v", c.in, n.Value, n.Unit, n.Approx, c.value, c.unit, c.approx)
		}
		span := c.span
		if span == "" {
			span = c.in
		}
		if n.Start < 0 || n.End > len(c.in) || n.Start > n.End || c.in[n.Start:n.End] != span {
			t.Errorf("Number(%q) span [%d,%d), want %q", c.in, n.Start, n.End, span)
		}
	}
}

var numbersCases = []struct {
	in   string
	want []string // "value unit approx span"
}{
	{"今天宣传发放资料四百余份，参与群众35人", []string{"400 份 ~ 四百余份", "35 人 = 35人"}},
	{"11月5日巡查发现隐患3处", []string{"3 处 = 3处"}},
	{"走访3-2-201慢病随访，血压150/95", nil},
	{"走访3号楼2单元201室，发放资料20份", []string{"20 份 = 20份"}},
	{"2026-11-05 发放宣传册1,200份", []string{"1200 份 = 1,200份"}},
	{"11.5巡查，清理垃圾2.5吨", []string{"2.5 吨 = 2.5吨"}},
	{"今天上午9点到10:30在广场宣传，参与群众约200人", []string{"200 人 ~ 约200人"}},
	{"大家一起清理了一下，共3处", []string{"3 处 = 3处"}},
	{"联系电话13812345678，走访5户", []string{"5 户 = 5户"}},
	{"第3期宣传，发放两百份", []string{"200 份 = 两百份"}},
	{"走访两户，发放资料三十份，入户宣传十分顺利", []string{"2 户 = 两户", "30 份 = 三十份"}},
	{"开展活动３场，参与１２０人次", []string{"3 场 = ３场", "120 人 = １２０人次"}},
	{"血糖7.2，走访老人12名", []string{"7.2  = 7.2", "12 名 = 12名"}},
	{"上周五发放口罩500个左右", []string{"500 个 ~ 500个左右"}},
	{"清理小广告30余处，出动人员8名", []string{"30 处 ~ 30余处", "8 名 = 8名"}},
	{"3栋201室住户反映漏水", nil},
	{"３５", []string{"35  = ３５"}},
	{"高压150低压95，测量3次", []string{"3 次 = 3次"}},
	{"11/5 走访 5 户", []string{"5 户 = 5 户"}},
	{"共发放宣传单1.5万份", []string{"15000 份 = 1.5万份"}},
	{"附近35户居民", []string{"35 户 = 35户"}},
	{"预约20人体检", []string{"20 人 = 20人"}},
	{"2026年11月5日入户12户", []string{"12 户 = 12户"}},
	{"一个月内走访三十户", []string{"30 户 = 三十户"}},
	{"十字路口设点宣传", nil},
	{"2026.11.05排查隐患5处", []string{"5 处 = 5处"}},
	{"发放资料100，200人参与", []string{"100  = 100", "200 人 = 200人"}},
	{"参与群众近百人，发放资料约1000份", []string{"1000 份 ~ 约1000份"}},
	{"G15路口设点，摆放警示牌4个", []string{"4 个 = 4个"}},
	{"", nil},
}

func TestNumbers(t *testing.T) {
	for _, c := range numbersCases {
		var got []string
		for _, n := range Numbers(c.in) {
			a := "="
			if n.Approx {
				a = "~"
			}
			got = append(got, fmt.Sprintf("%v %s %s %s", n.Value, n.Unit, a, c.in[n.Start:n.End]))
		}
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("Numbers(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func FuzzNumber(f *testing.F) {
	for _, c := range numberCases {
		f.Add(c.in)
	}
	for _, c := range numbersCases {
		f.Add(c.in)
	}
	f.Add("３号楼２单元２０１室　血压１５０／９５")
	f.Fuzz(func(t *testing.T, s string) {
		folded := Fold(s)
		if again := foldCopy(folded); again != folded {
			t.Fatalf("Fold not idempotent: %q -> %q -> %q", s, folded, again)
		}
		if got, want := folded == s, foldCopy(s) == s; got != want {
			t.Fatalf("Fold(%q) kept it as is: %v, want %v", s, got, want)
		}
		n, err := Number(s)
		if err == nil {
			if n.Start < 0 || n.Start > n.End || n.End > len(s) {
				t.Fatalf("Number(%q) span [%d,%d) out of bounds", s, n.Start, n.End)
			}
			if n.Value < 0 || math.IsNaN(n.Value) || math.IsInf(n.Value, 0) {
				t.Fatalf("Number(%q) = %v", s, n.Value)
			}
		}
		for _, m := range Numbers(s) {
			if m.Start < 0 || m.Start >= m.End || m.End > len(s) {
				t.Fatalf("Numbers(%q) span [%d,%d) out of bounds", s, m.Start, m.End)
			}
		}
		if _, _, a, b, ok := FindBloodPressure(s); ok {
			if _, _, err := BloodPressure(s[a:b]); errors.Is(err, ErrNotBP) {
				t.Fatalf("FindBloodPressure(%q) found %q that BloodPressure rejects", s, s[a:b])
			}
		}
		if _, a, b, ok := FindHousehold(s); ok && (a < 0 || a >= b || b > len(s)) {
			t.Fatalf("FindHousehold(%q) span [%d,%d)", s, a, b)
		}
		if _, a, b, ok, _ := FindDate(s, nowNov); ok && (a < 0 || a >= b || b > len(s)) {
			t.Fatalf("FindDate(%q) span [%d,%d)", s, a, b)
		}
		Glucose(s)
		Household(s)
		Date(s, nowJan)
		Period(s, nowNov)
	})
}
