package chat

import (
	"context"
	"testing"
	"time"

	"gridbot/flows"
)

// benchLines are the one-line reports of the load (cmd/gridbot-load's
// oneline mix): a publicity campaign and a chronic visit.
var benchLines = []struct{ flow, text string }{
	{"campaign", "今天宣传发放资料35份，参与群众12人"},
	{"visit", "走访 5-1-101 慢病 150/95"},
}

// BenchmarkParseLine measures reading the load's one-line reports
// (normalize and parseLine), without the store: one op is both lines.
func BenchmarkParseLine(b *testing.B) {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	e := &Engine{Catalog: flows.DefaultCatalog(), Zone: time.UTC}
	c := &turn{ctx: context.Background(), e: e, w: flows.Worker{OpenID: "w1"}, s: &session{}, at: now}
	fs := make([]*flows.FlowDef, len(benchLines))
	for i, l := range benchLines {
		fs[i] = e.catalog().Flow(l.flow)
	}
	for b.Loop() {
		for i, l := range benchLines {
			res := e.parseLine(c, fs[i], normalize(l.text))
			if len(res.answers) < 2 || res.bare || len(res.unknown) > 0 || len(res.errs) > 0 {
				b.Fatalf("%q: %+v", l.text, res)
			}
		}
	}
}
