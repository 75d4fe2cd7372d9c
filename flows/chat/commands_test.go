package chat

import (
	"context"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

// TestDerivedTablesFollowEngine: the command table and word lists are
// built once per engine, and again when Extra or Catalog is replaced
// (gridbot serve sets Extra after building the engine).
func TestDerivedTablesFollowEngine(t *testing.T) {
	e := &Engine{Zone: time.UTC}
	w := flows.Worker{OpenID: "w1", Role: flows.RoleWorker}
	if got := e.menuText(w); strings.Contains(got, "后台") {
		t.Fatalf("menu without Extra names 后台:\n%s", got)
	}
	e.Extra = []Command{{Name: "console", Words: []string{"后台"}, Help: "后台：网页后台的登录链接",
		Run: func(context.Context, flows.Worker) (string, error) { return "链接", nil }}}
	if got := e.menuText(w); !strings.Contains(got, "· 后台：网页后台的登录链接\n") {
		t.Errorf("menu after Extra was set lacks its help:\n%s", got)
	}
	if tb := e.table(); len(tb) != len(commands)+1 || tb[len(tb)-2].name != "console" || tb[len(tb)-1].name != "question" {
		t.Errorf("table order wrong: %d commands", len(tb))
	}
	if a, b := e.derived(), e.derived(); a != b {
		t.Error("tables built again for the same Catalog and Extra")
	}
	c := flows.DefaultCatalog()
	c.Flows[0].Words = append(c.Flows[0].Words, "上门")
	e.Catalog = c
	if ws := e.flowWords(); !strings.Contains(strings.Join(ws, " "), "上门") {
		t.Errorf("flow words of the replaced catalog lack 上门: %v", ws)
	}
}
