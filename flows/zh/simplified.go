package zh

import "strings"

// traditional maps the traditional forms of the command words a worker
// may type on a phone set to traditional characters (綁定, 幫助, 統計…) to
// the simplified ones the bot understands. It is a small word table, not
// a general converter: free text is left as typed.
var traditionalPairs = []string{
	"綁定", "绑定",
	"幫助", "帮助",
	"菜單", "菜单",
	"統計", "统计",
	"匯總", "汇总",
	"彙總", "汇总",
	"本週", "本周",
	"上週", "上周",
	"這個月", "这个月",
	"待辦", "待办",
	"撤銷", "撤销",
	"刪除", "删除",
	"刪掉", "删掉",
	"上一條", "上一条",
	"跳過", "跳过",
	"略過", "略过",
	"走訪", "走访",
	"宣傳", "宣传",
	"網格", "网格",
}

var traditional = strings.NewReplacer(traditionalPairs...)

// traditionalRunes are the runes of the traditional forms that differ
// from the simplified ones: every word replaced has one of them.
var traditionalRunes = func() string {
	var b strings.Builder
	for i := 0; i < len(traditionalPairs); i += 2 {
		simple := []rune(traditionalPairs[i+1])
		for k, r := range []rune(traditionalPairs[i]) {
			if k >= len(simple) || r != simple[k] {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}()

// Simplify replaces the traditional forms of the bot's command words
// (綁定 → 绑定, 幫助 → 帮助, 統計 → 统计, 撤銷 → 撤销…) with the
// simplified ones. Other text is unchanged. It is idempotent.
func Simplify(s string) string {
	if !strings.ContainsAny(s, traditionalRunes) {
		return s // nothing to replace: no copy
	}
	return traditional.Replace(s)
}
