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

// todoShape holds for everything todoPickRe or todoTargetRe matches, so
// that todoMatch may skip them when it does not.
func TestTodoShape(t *testing.T) {
	texts := []string{
		"走访 3", "走访3", "走访第3项", "随访 12个", "巡查 2", "复查 第1", "入户 3-2-201", "家访\t5-1-101", "走访 3-2-201 慢病",
		"走访 5-1-101 慢病 150/95", "走访", "走访 ", "走访  3 ", "宣传 3", "今天走访 3", "待办", "走访 阳光花园2期/5-1-101",
		"巡查 菜市场", "复查 幸福路12号", "走访\u30003", "走访 \u00a03", "随访\n3", "走访\r3-2-201", "入户 1234",
	}
	for _, s := range texts {
		re := todoPickRe.MatchString(s) || todoTargetRe.MatchString(s)
		if re && !todoShape(s) {
			t.Errorf("todoShape(%q) = false, but a todo regexp matches it", s)
		}
		if got := todoMatch(s); got != (todoWords[s] || overdueWords[s] || re) {
			t.Errorf("todoMatch(%q) = %v, want %v", s, got, !got)
		}
	}
}
