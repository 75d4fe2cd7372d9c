package zh

import "testing"

func TestSimplify(t *testing.T) {
	tests := []struct{ in, want string }{
		{"綁定 A1B2C3 王芳", "绑定 A1B2C3 王芳"},
		{"幫助", "帮助"},
		{"本月統計", "本月统计"},
		{"本週統計", "本周统计"},
		{"撤銷", "撤销"},
		{"刪除上一條", "删除上一条"},
		{"待辦", "待办"},
		{"走訪 3-2-201 慢病", "走访 3-2-201 慢病"},
		{"跳過", "跳过"},
		{"绑定 A1B2C3", "绑定 A1B2C3"}, // simplified already
		{"樓下垃圾多", "樓下垃圾多"},         // not a command word: as typed
		{"", ""},
	}
	for _, tt := range tests {
		if got := Simplify(tt.in); got != tt.want {
			t.Errorf("Simplify(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if again := Simplify(Simplify(tt.in)); again != Simplify(tt.in) {
			t.Errorf("Simplify(%q) not idempotent: %q", tt.in, again)
		}
	}
}

// TestSimplifyEveryWord: each traditional word of the table is replaced,
// alone and inside a text (none is missed by the quick rune check).
func TestSimplifyEveryWord(t *testing.T) {
	for i := 0; i < len(traditionalPairs); i += 2 {
		old, simple := traditionalPairs[i], traditionalPairs[i+1]
		if got := Simplify("请" + old + "一下"); got != "请"+simple+"一下" {
			t.Errorf("Simplify of %q in a text = %q, want %q", old, got, simple)
		}
	}
}
