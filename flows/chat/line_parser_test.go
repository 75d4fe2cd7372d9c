package chat

import (
	"testing"

	"gridbot/flows"
)

// newLineParser is a parser for t of the shipped flow, for running steps alone.
func newLineParser(t *testing.T, flow, text string) *lineParser {
	t.Helper()
	f := flows.Shipped().Flow(flow)
	if f == nil {
		t.Fatalf("no flow %q", flow)
	}
	return &lineParser{e: &Engine{}, f: f, t: text, b: []byte(text),
		res: lineResult{answers: map[string]string{}, dateAt: -1}, kindSpan: flows.Span{S: -1, E: -1}}
}

// TestLineParserNumbers: a counter's numbers add up, a negative one is
// asked again, and a number that belongs to an address is left alone.
func TestLineParserNumbers(t *testing.T) {
	cases := []struct {
		flow, text string
		want       map[string]string
		errKey     string
	}{
		{"campaign", "资料200份 资料100份", map[string]string{"leaflets": "300"}, ""},
		{"campaign", "参与-5人", map[string]string{}, "participants"},
		{"campaign", "幸福路12号 资料50份", map[string]string{"leaflets": "50"}, ""},
	}
	for _, c := range cases {
		p := newLineParser(t, c.flow, c.text)
		p.findWords()
		p.numbers()
		for k, v := range c.want {
			if p.res.answers[k] != v {
				t.Errorf("%q: %s = %q, want %q", c.text, k, p.res.answers[k], v)
			}
		}
		if len(p.res.answers) != len(c.want) {
			t.Errorf("%q: answers %v, want %v", c.text, p.res.answers, c.want)
		}
		if got := hasErr(p.res.errs, c.errKey); c.errKey != "" && !got || c.errKey == "" && len(p.res.errs) > 0 {
			t.Errorf("%q: errors %v, want one for %q", c.text, p.res.errs, c.errKey)
		}
	}
}

// TestLineParserHouseholdAndNote: the household is read and blanked, and
// what is left becomes the note.
func TestLineParserHouseholdAndNote(t *testing.T) {
	p := newLineParser(t, "visit", "3栋2单元201 按时服药")
	p.household()
	if got := p.res.answers["household"]; got != "3-2-201" {
		t.Fatalf("household %q, want 3-2-201", got)
	}
	p.targetAndNote()
	if got := p.res.answers["note"]; got != "按时服药" {
		t.Errorf("note %q, want 按时服药", got)
	}
	p.bareness()
	if p.res.bare {
		t.Error("a line with a household is not bare")
	}
}
