package zh

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// shanghai is the zone the tests' fixed clocks are in.
var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// Fixed clocks: a Saturday late in November, a Sunday just after New Year,
// and the day after a leap day.
var (
	nowNov  = time.Date(2026, 11, 28, 10, 30, 0, 0, shanghai)
	nowJan  = time.Date(2027, 1, 3, 8, 0, 0, 0, shanghai)
	nowLeap = time.Date(2028, 3, 1, 23, 59, 0, 0, shanghai)
)

var foldCases = []struct{ in, want string }{
	{"３５", "35"},
	{"１５０／９５", "150/95"},
	{"你好，世界：（测试）", "你好,世界:(测试)"},
	{"　３５　人　", "35 人"},
	{"a   b", "a b"},
	{"", ""},
	{"－５", "-5"},
	{"\t 走访 \n 3户 ", "走访 3户"},
	{"ＡＢＣ＃１", "ABC#1"},
	{"3—2—201", "3—2—201"},
	{"血压：１５０／９５ｍｍＨｇ", "血压:150/95mmHg"},
	{"　", ""},
	{"3\u200b5人\ufeff", "3 5人"},
}

func TestFold(t *testing.T) {
	for _, c := range foldCases {
		got := Fold(c.in)
		if got != c.want {
			t.Errorf("Fold(%q) = %q, want %q", c.in, got, c.want)
		}
		if again := Fold(got); again != got {
			t.Errorf("Fold not idempotent on %q: %q then %q", c.in, got, again)
		}
	}
	for _, s := range []string{"", " ", "a", "a b", "a  b", " a", "a ", "走访 3-2-201 慢病 150/95", "走访\t3", "３５", "你好，世界",
		"\xff", "a\xe8\xb5", "\ufffd", "3\u200b5", "\u3000", "—", "a\nb", "\x00"} {
		if got, want := folded(s), foldCopy(s) == s; got != want {
			t.Errorf("folded(%q) = %v, want %v", s, got, want)
		}
	}
}

var hasCases = []struct {
	s     string
	words []string
	want  bool
}{
	{"今天走访3户", []string{"走访"}, true},
	{"今天走访3户", []string{"昨天", "前天"}, false},
	{"本月统计", []string{"上月", "本月"}, true},
	{"任何文字", nil, false},
	{"任何文字", []string{""}, false},
}

func TestHas(t *testing.T) {
	for _, c := range hasCases {
		if got := Has(c.s, c.words...); got != c.want {
			t.Errorf("Has(%q, %q) = %v, want %v", c.s, c.words, got, c.want)
		}
	}
}

// TestTableSize keeps the suite at the size the issue asks for: at least
// 150 real-looking inputs across the functions.
func TestTableSize(t *testing.T) {
	n := len(foldCases) + len(hasCases) + len(numberCases) + len(numbersCases) +
		len(bpCases) + len(findBPCases) + len(glucoseCases) + len(householdCases) +
		len(findHouseholdCases) + len(dateCases) + len(findDateCases) + len(periodCases)
	t.Logf("%d table cases", n)
	if n < 150 {
		t.Errorf("only %d table cases, want at least 150", n)
	}
}

// TestNewTextOffsets: every byte of a normalised text maps back to the
// same original offset as a table of one entry per byte (the former
// representation) says, with full-width, dashes, spaces and invalid bytes.
func TestNewTextOffsets(t *testing.T) {
	for _, s := range []string{
		"", "走访 3-2-201 慢病 150/95", "今天宣传发放资料35份，参与群众12人", "\uFFFD替换符",
		"３５份", "3—2—201", "a\u3000b", "bad\xffbyte", "\t走访", "半角｡句号", "\xff", "，", "ａ，ｂ\xfe３－２－２０１室 血压１５０／９５",
	} {
		tx := newText(s)
		var b strings.Builder
		var off []int
		for i, r := range s {
			r = normRune(r)
			n := utf8.RuneLen(r)
			if n < 0 {
				r, n = utf8.RuneError, 3
			}
			b.WriteRune(r)
			for range n {
				off = append(off, i)
			}
		}
		off = append(off, len(s))
		if tx.s != b.String() {
			t.Errorf("%q: normalised %q, want %q", s, tx.s, b.String())
			continue
		}
		if tx.s == s && len(tx.shifts) > 0 {
			t.Errorf("%q: shifts %v though nothing changed", s, tx.shifts)
		}
		for i := range off {
			if tx.at(i) != off[i] {
				t.Errorf("%q: offset of %d is %d, want %d", s, i, tx.at(i), off[i])
			}
		}
		for o := 0; o <= len(s)+1; o++ {
			want := len(tx.s)
			for k := range off {
				if off[k] >= o {
					want = k
					break
				}
			}
			if got := tx.normIndex(o); got != want {
				t.Errorf("%q: normIndex(%d) = %d, want %d", s, o, got, want)
			}
		}
	}
}

// TestIsCNNumeral: the switch names exactly the runes of cnDigits and
// cnMults.
func TestIsCNNumeral(t *testing.T) {
	for r := rune(0); r < 0x10000; r++ {
		_, d := cnDigits[r]
		_, m := cnMults[r]
		if isCNNumeral(r) != (d || m) {
			t.Errorf("isCNNumeral(%q) = %v", r, !(d || m))
		}
	}
}
