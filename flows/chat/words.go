package chat

import (
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"gridbot/flows/zh"
)

// normalize folds full-width characters and spaces, puts traditional
// command words in simplified form (綁定 → 绑定) and trims the text and
// its trailing punctuation (voice recognition ends sentences with 。).
func normalize(s string) string {
	// The full-width comma is kept: "100，200人" is two numbers, and
	// folded to "100,200人" it would read as one.
	// Between full-width digits (１，２００) it is a thousands separator.
	const comma = "，"
	var b strings.Builder
	from := 0
	prev := rune(-1)
	for i, r := range s {
		if r == '，' {
			next, _ := utf8.DecodeRuneInString(s[i+len(comma):])
			if !(i > 0 && i+len(comma) < len(s) && isWideDigit(prev) && isWideDigit(next)) {
				b.WriteString(zh.Fold(s[from:i]))
				b.WriteString(comma)
				from = i + len(comma)
			}
		}
		prev = r
	}
	if from == 0 {
		s = zh.Fold(s)
	} else {
		b.WriteString(zh.Fold(s[from:]))
		s = b.String()
	}
	s = strings.TrimSpace(zh.Simplify(s))
	s = strings.TrimRight(s, "。.!！~～ ")
	return strings.TrimSpace(s)
}

func isWideDigit(r rune) bool { return r >= '０' && r <= '９' }

// isHelp reports whether t asks for help: a help word or question marks
// alone, or a help word followed by question marks (帮助?, ??).
func isHelp(t string) bool {
	w := strings.TrimRight(t, "?？")
	switch strings.ToLower(w) {
	case "", "帮助", "菜单", "help", "怎么用", "用法":
		return t != ""
	}
	return false
}

func isCancel(t string) bool {
	switch t {
	case "取消", "不记了", "算了", "退出":
		return true
	}
	return false
}

func isBack(t string) bool { return t == "返回" || t == "上一步" || t == "回退" }

func isSkip(t string) bool { return t == "跳过" || t == "略过" || t == "不填" }

func isUndo(t string) bool {
	switch t {
	case "撤销", "撤回", "删除上一条", "撤销上一条", "删除", "删掉上一条":
		return true
	}
	return false
}

// commandWords are questions answered even in the middle of a form, at
// any step (they are never a plausible answer).
var commandWords = map[string]bool{
	"统计": true, "本月统计": true, "上月统计": true, "今年统计": true, "本年统计": true,
	"社区统计": true, "网格排名": true, "待办": true, "逾期": true, "提醒": true, "汇总": true,
	"这个月多少": true, "本月": true, "上月": true, "今年": true,
	"今天统计": true, "昨天统计": true, "本周统计": true, "上周统计": true,
}

// periodWords are the bare periods among commandWords.
var periodWords = map[string]bool{"本月": true, "上月": true, "今年": true}

// typoCommands are the whole-text commands a one-character typo is
// forgiven in (撤消 → 撤销, 本月统记 → 本月统计, 待 办 → 待办), sorted.
// Built once; callers must not change it.
var typoCommands = sync.OnceValue(func() []string {
	out := []string{"撤销", "删除上一条", "撤销上一条", "帮助", "菜单"} // 撤回, 取消: one edit from 撤消 too
	for w := range commandWords {
		// A bare period (本月, 上月, 今年) is one character from another
		// (本周, 上周, 今天): no typo is forgiven there.
		if n := len([]rune(w)); n >= 3 || n == 2 && !periodWords[w] {
			out = append(out, w)
		}
	}
	slices.Sort(out)
	return out
})

// looksLikeQuestion reports whether t is a question about totals or due
// items rather than an answer: one of commandWords, or, unless strictOnly
// (a free-text step, where a note may say anything), a text with 统计,
// 汇总, 多少… in it.
func looksLikeQuestion(t string, strictOnly bool) bool {
	if commandWords[t] {
		return true
	}
	if strictOnly {
		return false
	}
	return strings.Contains(t, "统计") || strings.Contains(t, "汇总") || strings.Contains(t, "排名") ||
		strings.HasSuffix(t, "多少") || strings.Contains(t, "多少户") || strings.Contains(t, "多少次") ||
		strings.Contains(t, "几户") || strings.Contains(t, "几次") ||
		strings.HasPrefix(t, "待办") || strings.HasPrefix(t, "逾期")
}
