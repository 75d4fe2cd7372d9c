package zh

import (
	"errors"
	"testing"
)

var bpCases = []struct {
	in       string
	sys, dia int
	err      error
}{
	{"150/95", 150, 95, nil},
	{"150／95", 150, 95, nil},
	{"150 / 95", 150, 95, nil},
	{"高压150低压95", 150, 95, nil},
	{"150/95mmHg", 150, 95, nil},
	{"150/95 mmHg", 150, 95, nil},
	{"血压150/95", 150, 95, nil},
	{"血压：150/95", 150, 95, nil},
	{"１５０／９５", 150, 95, nil},
	{"低压95高压150", 150, 95, nil},
	{"高压150，低压95", 150, 95, nil},
	{"高压：150 低压：95", 150, 95, nil},
	{"高压一百五低压九十五", 150, 95, nil},
	{"收缩压140舒张压90", 140, 90, nil},
	{"150比95", 150, 95, nil},
	{"150 95", 150, 95, nil},
	{"120/80。", 120, 80, nil},
	{"BP 130/85", 130, 85, nil},
	{"150", 0, 0, ErrNotBP},
	{"高血压", 0, 0, ErrNotBP},
	{"150/95/80", 0, 0, ErrNotBP},
	{"abc", 0, 0, ErrNotBP},
	{"", 0, 0, ErrNotBP},
	{"150/", 0, 0, ErrNotBP},
	{"95/150", 0, 0, ErrBPRange},
	{"350/95", 0, 0, ErrBPRange},
	{"150/20", 0, 0, ErrBPRange},
	{"40/30", 0, 0, ErrBPRange},
	{"150/150", 0, 0, ErrBPRange},
	{"250/210", 0, 0, ErrBPRange},
	{"1500/95", 0, 0, ErrBPRange},
}

func TestBloodPressure(t *testing.T) {
	for _, c := range bpCases {
		sys, dia, err := BloodPressure(c.in)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("BloodPressure(%q) = %d/%d, %v; want %v", c.in, sys, dia, err, c.err)
			}
			continue
		}
		if err != nil || sys != c.sys || dia != c.dia {
			t.Errorf("BloodPressure(%q) = %d/%d, %v; want %d/%d", c.in, sys, dia, err, c.sys, c.dia)
		}
	}
}

var findBPCases = []struct {
	in       string
	sys, dia int
	span     string // "" when none is found
	rangeErr bool
}{
	{"走访 3-2-201 慢病 150/95", 150, 95, "150/95", false},
	{"随访张大爷，血压160/100mmHg，嘱按时服药", 160, 100, "血压160/100mmHg", false},
	{"高压150低压95，已告知家属", 150, 95, "高压150低压95", false},
	{"11/5 走访3-2-201", 0, 0, "", false},
	{"复测血压 95/150", 95, 150, "血压 95/150", true},
	{"今天没有测量", 0, 0, "", false},
	{"2026/11/05 测血压", 0, 0, "", false},
	{"测得血压 150 / 95 mmHg 偏高", 150, 95, "血压 150 / 95 mmHg", false},
	{"慢病随访１５０／９５", 150, 95, "１５０／９５", false},
	{"血压12/10", 12, 10, "血压12/10", true},
	{"入户12/10，老人在家", 0, 0, "", false},
	// Voice input.
	{"走访8号楼1单元602，慢病随访，血压140 90。", 140, 90, "血压140 90", false},
	{"血压140，90", 140, 90, "血压140，90", false},
	{"血压一百四十 九十", 140, 90, "血压一百四十 九十", false},
	{"血压一百四十over九十", 140, 90, "血压一百四十over九十", false},
	{"血压140over90", 140, 90, "血压140over90", false},
	{"高压140比90", 140, 90, "高压140比90", false},
	{"血压 三百五十 九十", 350, 90, "血压 三百五十 九十", true},
	{"血压150，心率80", 0, 0, "", false},
	{"血压偏高 3 次", 0, 0, "", false},
	{"140 90", 0, 0, "", false},
}

func TestFindBloodPressure(t *testing.T) {
	for _, c := range findBPCases {
		if tx := newText(c.in); c.span != "" && !mayHoldBP(tx.s) {
			t.Errorf("mayHoldBP(%q) = false for a reading", c.in)
		}
		sys, dia, start, end, ok := FindBloodPressure(c.in)
		if c.span == "" {
			if ok {
				t.Errorf("FindBloodPressure(%q) found %d/%d at %q, want none", c.in, sys, dia, c.in[start:end])
			}
			continue
		}
		if !ok || sys != c.sys || dia != c.dia || c.in[start:end] != c.span {
			t.Errorf("FindBloodPressure(%q) = %d/%d [%d,%d) %v; want %d/%d %q", c.in, sys, dia, start, end, ok, c.sys, c.dia, c.span)
			continue
		}
		s2, d2, err := BloodPressure(c.in[start:end])
		if errors.Is(err, ErrNotBP) || (err == nil) == c.rangeErr || (err == nil && (s2 != sys || d2 != dia)) {
			t.Errorf("BloodPressure(%q) after Find = %d/%d, %v; range error expected %v", c.in[start:end], s2, d2, err, c.rangeErr)
		}
		if (BPInRange(sys, dia) != nil) != c.rangeErr {
			t.Errorf("BPInRange(%d, %d) = %v", sys, dia, BPInRange(sys, dia))
		}
	}
}

var glucoseCases = []struct {
	in   string
	want float64
	err  error
}{
	{"7.2", 7.2, nil},
	{"7.2mmol", 7.2, nil},
	{"7.2mmol/L", 7.2, nil},
	{"7.2 mmol/L", 7.2, nil},
	{"血糖7.2", 7.2, nil},
	{"空腹血糖：6.1", 6.1, nil},
	{"７．２", 7.2, nil},
	{"餐后血糖11.1", 11.1, nil},
	{"餐后2小时血糖 9.8mmol/L", 9.8, nil},
	{"七点二", 7.2, nil},
	{"15", 15, nil},
	{"35", 35, nil},
	{"1", 1, nil},
	{"血糖是8.3。", 8.3, nil},
	{"0.5", 0, ErrGlucoseRange},
	{"36", 0, ErrGlucoseRange},
	{"72", 0, ErrGlucoseRange},
	{"-5", 0, ErrGlucoseRange},
	{"高", 0, ErrNotNumber},
	{"", 0, ErrNotNumber},
	{"血糖偏高", 0, ErrNotNumber},
	{"7.2.1", 0, ErrNotNumber},
	{"7.2人", 0, ErrNotNumber},
}

func TestGlucose(t *testing.T) {
	for _, c := range glucoseCases {
		got, err := Glucose(c.in)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("Glucose(%q) = %v, %v; want %v", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Glucose(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}
