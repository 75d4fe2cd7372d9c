package chat

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFmtCount(t *testing.T) {
	cases := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {35, "35"}, {400, "400"}, {1150, "1,150"}, {1234567, "1,234,567"},
		{2.5, "2.5"}, {1200.25, "1,200.25"}, {0.125, "0.125"}, {-3, "-3"},
	}
	for _, tc := range cases {
		if got := fmtNum(tc.in); got != tc.want {
			t.Errorf("fmtNum(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestCutText keeps replies within WeChat's limit, cut at a line end or a
// character boundary, saying so.
func TestCutText(t *testing.T) {
	lines := strings.Repeat("走访 3-2-201 慢病随访 血压 150/95\n", 200)
	oneLine := strings.Repeat("走访", 2000)
	cases := []struct {
		name string
		in   string
		max  int
	}{
		{"short", "✅ 已保存。", MaxReplyBytes},
		{"lines", lines, MaxReplyBytes},
		{"one long line", oneLine, MaxReplyBytes},
		{"small limit", oneLine, 100},
	}
	for _, tc := range cases {
		got := cutText(tc.in, tc.max)
		switch {
		case len(tc.in) <= tc.max:
			if got != tc.in {
				t.Errorf("%s: changed a text within the limit", tc.name)
			}
			continue
		case len(got) > tc.max:
			t.Errorf("%s: %d bytes, limit %d", tc.name, len(got), tc.max)
		case !utf8.ValidString(got):
			t.Errorf("%s: cut inside a character", tc.name)
		case !strings.HasSuffix(got, cutNote):
			t.Errorf("%s: does not say it was cut", tc.name)
		case !strings.HasPrefix(tc.in, strings.TrimSuffix(got, cutNote)):
			t.Errorf("%s: not a prefix of the text", tc.name)
		}
		if tc.name == "lines" && !strings.HasSuffix(strings.TrimSuffix(got, cutNote), "150/95") {
			t.Errorf("lines: not cut at a line end: %q", got[len(got)-60:])
		}
	}
}
