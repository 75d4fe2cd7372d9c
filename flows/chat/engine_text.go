package chat

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

func itoa(n int) string { return strconv.Itoa(n) }

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// monthCN is "2026-10" → "2026年10月".
func monthCN(month string) string {
	if len(month) != 7 {
		return month
	}
	m, _ := strconv.Atoi(month[5:7])
	return month[:4] + "年" + itoa(m) + "月"
}

const cutNote = "\n……（内容较长，已截断）"

// cutText cuts s to at most max bytes, at a line end when one is near,
// else at a character boundary, and says it was cut.
func cutText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	if max <= len(cutNote) {
		max = len(cutNote) + 4
	}
	limit := max - len(cutNote)
	for limit > 0 && !utf8.RuneStart(s[limit]) {
		limit--
	}
	cut := s[:limit]
	if i := strings.LastIndexByte(cut, '\n'); i > limit/2 {
		cut = cut[:i]
	}
	return cut + cutNote
}
