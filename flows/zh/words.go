package zh

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Question words: a text containing one reads as a question.
var questionWords = []string{"怎么", "什么", "如何", "咋", "为啥", "为什么", "啥", "哪里", "哪个", "哪些", "多少", "能不能", "可不可以", "是不是", "行不行", "要不要", "会不会"}

// Phrases in which a question word asks nothing (没什么问题, 不怎么出门,
// 多少有点, 为什么都不说 is still a question and stays one).
var notQuestion = []string{"没什么", "没啥", "不怎么", "没怎么", "什么都", "什么也", "多少有", "多少会", "多少也"}

// Help requests: the whole text, or its start followed by nothing else.
var helpWords = []string{"帮助", "求助", "使用说明", "说明", "教程", "菜单", "help", "HELP", "Help"}

// Question endings (after the text's trailing punctuation is cut).
// 呢 and 嘛 end statements too (老人在午睡呢), so they are left out.
var questionEnds = []string{"吗", "么"}

// IsQuestion reports whether a text reads as a question or a help request
// and so must never be taken as a field's value: it ends with ？ or ?, ends
// with 吗/么, contains 怎么, 什么, 如何, 咋, 啥 (not in 没什么 or
// 不怎么), or is 帮助/求助/help (alone or leading the text).
func IsQuestion(s string) bool {
	t := Fold(s)
	t = strings.TrimRight(t, " 。.!！~")
	if t == "" {
		return false
	}
	if strings.HasSuffix(t, "?") || strings.HasSuffix(t, "？") {
		return true
	}
	for _, w := range helpWords {
		if rest, ok := strings.CutPrefix(t, w); ok {
			if rest == "" || rest[0] == ' ' || !isWordRune(firstRune(rest)) {
				return true
			}
		}
	}
	for _, w := range questionEnds {
		if strings.HasSuffix(t, w) {
			return true
		}
	}
	m := t
	for _, w := range notQuestion {
		m = strings.ReplaceAll(m, w, " ")
	}
	return Has(m, questionWords...)
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

// MatchWord matches a whole text against command words with one typo
// allowed: "走防" is 走访, "撤消" 撤销, "本月统记" 本月统计, "待 办" 待办.
// Spaces inside the text are ignored and traditional forms simplified. An
// exact match always wins; otherwise a word of 2 runes or more within edit
// distance 1 (one rune replaced, added, dropped, or two adjacent swapped)
// matches, if it is the only such word and the text has 2 runes or more.
// typo reports that the match was not exact.
func MatchWord(text string, words []string) (word string, typo, ok bool) {
	t := strings.ReplaceAll(Simplify(Fold(text)), " ", "")
	if t == "" {
		return "", false, false
	}
	for _, w := range words {
		if w == t {
			return w, false, true
		}
	}
	tr := []rune(t)
	if len(tr) < 2 {
		return "", false, false
	}
	found := ""
	for _, w := range words {
		wr := []rune(w)
		if len(wr) < 2 || w == found || !within1(tr, wr) {
			continue
		}
		if found != "" {
			return "", false, false // ambiguous: 2 words one typo away
		}
		found = w
	}
	return found, found != "", found != ""
}

// MatchLead matches the command word a message starts with, one typo
// allowed as in MatchWord: "走防 3-2-201 慢病" gives 走访 and the byte
// offset in s where the word ends. The lead is the text up to the first
// space, digit or punctuation; a word that starts it exactly wins, else the
// lead's first len(word) or len(word)±1 runes must match the word as in
// MatchWord.
func MatchLead(s string, words []string) (word string, end int, typo, ok bool) {
	ss := Simplify(s)
	if len(ss) != len(s) {
		ss = s // offsets must hold for s; the table's pairs have equal lengths
	}
	tx := newText(ss)
	t := tx.s
	i := skipSpaces(t, 0)
	e := i
	for e < len(t) {
		r, n := utf8.DecodeRuneInString(t[e:])
		if !unicode.IsLetter(r) {
			break
		}
		e += n
	}
	lead := t[i:e]
	best, bestEnd := "", 0
	for _, w := range words {
		if w != "" && strings.HasPrefix(lead, w) && len(w) > len(best) {
			best, bestEnd = w, i+len(w)
		}
	}
	if best != "" {
		return best, tx.at(bestEnd), false, true
	}
	lr := []rune(lead)
	var match string
	var matchEnd int
	for _, w := range words {
		wr := []rune(w)
		if len(wr) < 2 {
			continue
		}
		for _, n := range []int{len(wr), len(wr) + 1, len(wr) - 1} {
			if n < 2 || n > len(lr) || !within1(lr[:n], wr) {
				continue
			}
			if match != "" && match != w {
				return "", 0, false, false // ambiguous
			}
			if match == "" {
				match, matchEnd = w, i+len(string(lr[:n]))
			}
			break
		}
	}
	if match == "" {
		return "", 0, false, false
	}
	return match, tx.at(matchEnd), true, true
}

// within1 reports whether a and b are at most one edit apart: one rune
// replaced, inserted or deleted, or two adjacent runes swapped.
func within1(a, b []rune) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	switch len(b) - len(a) {
	case 0:
		diff := -1
		for i := range a {
			if a[i] == b[i] {
				continue
			}
			if diff >= 0 {
				// A second difference: only a swap of the two neighbours.
				return i == diff+1 && a[diff] == b[i] && a[i] == b[diff] && equalRunes(a[i+1:], b[i+1:])
			}
			diff = i
		}
		return true
	case 1:
		i := 0
		for i < len(a) && a[i] == b[i] {
			i++
		}
		return equalRunes(a[i:], b[i+1:])
	}
	return false
}

func equalRunes(a, b []rune) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
