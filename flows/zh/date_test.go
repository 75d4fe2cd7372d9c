package zh

import (
	"errors"
	"testing"
	"time"
)

var dateCases = []struct {
	in   string
	now  time.Time
	want string // 2006-01-02; "" with err
	err  error
}{
	{"今天", nowNov, "2026-11-28", nil},
	{"今日", nowNov, "2026-11-28", nil},
	{"昨天", nowNov, "2026-11-27", nil},
	{"昨日", nowNov, "2026-11-27", nil},
	{"前天", nowNov, "2026-11-26", nil},
	{"大前天", nowNov, "2026-11-25", nil},
	{"11月5日", nowNov, "2026-11-05", nil},
	{"11月5号", nowNov, "2026-11-05", nil},
	{"十一月五日", nowNov, "2026-11-05", nil},
	{"11 月 5 日", nowNov, "2026-11-05", nil},
	{"5号", nowNov, "2026-11-05", nil},
	{"28号", nowNov, "2026-11-28", nil},
	{"29号", nowNov, "2026-10-29", nil},
	{"31号", nowNov, "2026-10-31", nil},
	{"11.5", nowNov, "2026-11-05", nil},
	{"11/5", nowNov, "2026-11-05", nil},
	{"１１／５", nowNov, "2026-11-05", nil},
	{"2026-11-05", nowNov, "2026-11-05", nil},
	{"2026年11月5日", nowNov, "2026-11-05", nil},
	{"2026.11.05", nowNov, "2026-11-05", nil},
	{"2026/11/5", nowNov, "2026-11-05", nil},
	{"二〇二六年十一月五日", nowNov, "2026-11-05", nil},
	{"12月30日", nowNov, "2025-12-30", nil},
	{"12.31", nowNov, "2025-12-31", nil},
	{"上周五", nowNov, "2026-11-20", nil},
	{"上星期一", nowNov, "2026-11-16", nil},
	{"周五", nowNov, "2026-11-27", nil},
	{"星期五", nowNov, "2026-11-27", nil},
	{"周六", nowNov, "2026-11-28", nil},
	{"周日", nowNov, "2026-11-22", nil},
	{"礼拜天", nowNov, "2026-11-22", nil},
	{"本周一", nowNov, "2026-11-23", nil},
	{"这周三", nowNov, "2026-11-25", nil},
	{"昨天下午", nowNov, "2026-11-27", nil},
	{"11月5日上午9点", nowNov, "2026-11-05", nil},
	{"2025-11-27", nowNov, "2025-11-27", nil},
	{"本周日", nowNov, "", ErrFutureDate},
	{"明天", nowNov, "", ErrFutureDate},
	{"2027-01-01", nowNov, "", ErrFutureDate},
	{"2026-11-29", nowNov, "", ErrFutureDate},
	{"2025-11-26", nowNov, "", ErrTooOld},
	{"2月29日", nowNov, "", ErrTooOld},
	{"2026-02-30", nowNov, "", ErrNotDate},
	{"2月30日", nowNov, "", ErrNotDate},
	{"13月5日", nowNov, "", ErrNotDate},
	{"下周一", nowNov, "", ErrNotDate},
	{"今天天气好", nowNov, "", ErrNotDate},
	{"abc", nowNov, "", ErrNotDate},
	{"", nowNov, "", ErrNotDate},
	{"32号", nowNov, "", ErrNotDate},
	{"11月", nowNov, "", ErrNotDate},
	{"12月30日", nowJan, "2026-12-30", nil},
	{"12.31", nowJan, "2026-12-31", nil},
	{"1月2日", nowJan, "2027-01-02", nil},
	{"1月3日", nowJan, "2027-01-03", nil},
	{"1月5日", nowJan, "2026-01-05", nil},
	{"昨天", nowJan, "2027-01-02", nil},
	{"前天", nowJan, "2027-01-01", nil},
	{"大前天", nowJan, "2026-12-31", nil},
	{"上周五", nowJan, "2026-12-25", nil},
	{"周五", nowJan, "2027-01-01", nil},
	{"本周一", nowJan, "2026-12-28", nil},
	{"周日", nowJan, "2027-01-03", nil},
	{"30号", nowJan, "2026-12-30", nil},
	{"3号", nowJan, "2027-01-03", nil},
	{"4号", nowJan, "2026-12-04", nil},
	{"2026年12月31日", nowJan, "2026-12-31", nil},
	{"2026-01-02", nowJan, "2026-01-02", nil},
	{"2026-01-01", nowJan, "", ErrTooOld},
	{"2027-01-04", nowJan, "", ErrFutureDate},
	{"2月29日", nowLeap, "2028-02-29", nil},
	{"29号", nowLeap, "2028-02-29", nil},
	{"31号", nowLeap, "2028-01-31", nil},
	{"今天", nowLeap, "2028-03-01", nil},
}

func TestDate(t *testing.T) {
	for _, c := range dateCases {
		got, err := Date(c.in, c.now)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("Date(%q, %s) = %v, %v; want %v", c.in, c.now.Format("2006-01-02"), got, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Date(%q, %s): %v", c.in, c.now.Format("2006-01-02"), err)
			continue
		}
		if got.Format("2006-01-02") != c.want || got.Location() != c.now.Location() ||
			got.Hour() != 0 || got.Minute() != 0 || got.Second() != 0 || got.Nanosecond() != 0 {
			t.Errorf("Date(%q, %s) = %v, want local midnight of %s", c.in, c.now.Format("2006-01-02"), got, c.want)
		}
	}
}

var findDateCases = []struct {
	in   string
	want string // "" when none found or err
	span string
	err  error
}{
	{"今天宣传发放资料四百余份", "2026-11-28", "今天", nil},
	{"昨天走访3-2-201", "2026-11-27", "昨天", nil},
	{"11月5日巡查菜市场", "2026-11-05", "11月5日", nil},
	{"走访3号楼2单元201室，11.5 复查", "2026-11-05", "11.5", nil},
	{"清理垃圾2.5吨", "", "", nil},
	{"血糖7.2，血压150/95", "", "", nil},
	{"上周五入户", "2026-11-20", "上周五", nil},
	{"明天去走访", "", "明天", ErrFutureDate},
	{"2027-01-01 巡查", "", "2027-01-01", ErrFutureDate},
	{"发放资料20份", "", "", nil},
	{"11/5 走访", "2026-11-05", "11/5", nil},
	{"5号楼下宣传", "", "", nil},
	{"10:30 在广场宣传", "", "", nil},
	{"2026年11月5日入户12户", "2026-11-05", "2026年11月5日", nil},
	{"2月30日巡查", "", "2月30日", ErrNotDate},
	{"１１月５日巡查", "2026-11-05", "１１月５日", nil},
	{"走访3-2-201，25号已复查", "2026-11-25", "25号", nil},
	// A date that does not exist is found, and refused.
	{"走访 3-2-201 慢病 140/90 11月31日", "", "11月31日", ErrNotDate},
	{"宣传 资料 200份 13月45日", "", "13月45日", ErrNotDate},
	{"十三月五号宣传", "", "十三月五号", ErrNotDate},
	{"统计 13月", "", "", nil},
	// A house number glued to a place name is part of the place.
	{"巡查 幸福路12号 消防 发现问题2处", "", "", nil},
	{"幸福小区5号 宣传", "", "", nil},
	{"人民街3号、解放巷7号", "", "", nil},
	{"12号巡查幸福路", "2026-11-12", "12号", nil},
	{"幸福路 12号巡查", "2026-11-12", "12号", nil},
	{"11月12号巡查幸福路", "2026-11-12", "11月12号", nil},
	{"走访 5-1-302 慢病 血压120/80 血糖7.2", "", "", nil},
	{"血糖 7.2", "", "", nil},
}

func TestFindDate(t *testing.T) {
	for _, c := range findDateCases {
		d, start, end, ok, err := FindDate(c.in, nowNov)
		if c.span == "" {
			if ok {
				t.Errorf("FindDate(%q) found %v at %q, want none", c.in, d, c.in[start:end])
			}
			continue
		}
		if !ok || c.in[start:end] != c.span {
			t.Errorf("FindDate(%q) = [%d,%d) ok=%v, want %q", c.in, start, end, ok, c.span)
			continue
		}
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("FindDate(%q) err = %v, want %v", c.in, err, c.err)
			}
			continue
		}
		if err != nil || d.Format("2006-01-02") != c.want {
			t.Errorf("FindDate(%q) = %v, %v; want %s", c.in, d, err, c.want)
		}
	}
}

var periodCases = []struct {
	in   string
	now  time.Time
	want string // "" when not ok
}{
	{"本月", nowNov, "2026-11"},
	{"这个月", nowNov, "2026-11"},
	{"上月", nowNov, "2026-10"},
	{"上个月", nowNov, "2026-10"},
	{"今年", nowNov, "2026"},
	{"本年", nowNov, "2026"},
	{"去年", nowNov, "2025"},
	{"10月", nowNov, "2026-10"},
	{"10月份", nowNov, "2026-10"},
	{"十月", nowNov, "2026-10"},
	{"11月", nowNov, "2026-11"},
	{"12月", nowNov, "2025-12"},
	{"2026年10月", nowNov, "2026-10"},
	{"2026-10", nowNov, "2026-10"},
	{"２０２６－１０", nowNov, "2026-10"},
	{"2026年", nowNov, "2026"},
	{"2025年3月份", nowNov, "2025-03"},
	{"本月走访多少户", nowNov, "2026-11"},
	{"统计 10月", nowNov, "2026-10"},
	{"2027年", nowNov, "2027"},
	{"统计", nowNov, ""},
	{"10月5日", nowNov, ""},
	{"13月", nowNov, ""},
	{"上月", nowJan, "2026-12"},
	{"上个月", nowJan, "2026-12"},
	{"本月", nowJan, "2027-01"},
	{"12月", nowJan, "2026-12"},
	{"1月", nowJan, "2027-01"},
	{"去年", nowJan, "2026"},
	{"今年", nowJan, "2027"},
}

func TestPeriod(t *testing.T) {
	for _, c := range periodCases {
		got, ok := Period(c.in, c.now)
		if ok != (c.want != "") || got != c.want {
			t.Errorf("Period(%q, %s) = %q, %v; want %q", c.in, c.now.Format("2006-01-02"), got, ok, c.want)
		}
	}
}
