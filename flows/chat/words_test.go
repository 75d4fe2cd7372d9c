package chat

import (
	"strings"
	"testing"

	"gridbot/flows/zh"
)

// normalizeByRunes is normalize as first written, over a []rune: the
// reference the byte-wise one must agree with.
func normalizeByRunes(s string) string {
	var b strings.Builder
	rs := []rune(s)
	from := 0
	for i, r := range rs {
		if r != '，' || i > 0 && i+1 < len(rs) && isWideDigit(rs[i-1]) && isWideDigit(rs[i+1]) {
			continue
		}
		b.WriteString(zh.Fold(string(rs[from:i])) + "，")
		from = i + 1
	}
	b.WriteString(zh.Fold(string(rs[from:])))
	s = strings.TrimSpace(zh.Simplify(b.String()))
	s = strings.TrimRight(s, "。.!！~～ ")
	return strings.TrimSpace(s)
}

func TestNormalize(t *testing.T) {
	cases := map[string]string{
		"今天宣传发放资料35份，参与群众12人": "今天宣传发放资料35份，参与群众12人",
		"１，２００份":         "1,200份",
		"100，200人":       "100，200人",
		"  走访　３－２－２０１ 。": "走访 3-2-201",
		"本週統計！":          "本周统计",
	}
	for in, want := range cases {
		if got := normalize(in); got != want {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
	}
	for _, in := range []string{
		"", "，", "，，", "１，", "，２", "１，２", "a，b", "１ ，２", "走访 ，３-2-201，", "bad\xff，\xfe１，２",
		"綁定 A1B2C3，王芳", "  ，  ，  ", "３５份，参与１２人。", "資料１，２００份，參與２０人~",
	} {
		if got, want := normalize(in), normalizeByRunes(in); got != want {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
	}
}
