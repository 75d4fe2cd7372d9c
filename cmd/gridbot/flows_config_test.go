package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gridbot/bot/wxtest"
	"gridbot/flows"
)

// exampleFlows returns the commented [[flows]] examples of
// config.example.toml as TOML, prose lines left out.
func exampleFlows(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	started := false
	for _, line := range strings.Split(string(b), "\n") {
		started = started || line == "# [[flows]]"
		line = strings.TrimPrefix(strings.TrimPrefix(line, "#"), " ")
		s := strings.TrimSpace(line)
		if started && (strings.HasPrefix(s, "[[") && strings.HasSuffix(s, "]]") || strings.Contains(s, " = ")) {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		t.Fatal("config.example.toml has no commented [[flows]] example")
	}
	return strings.Join(out, "\n")
}

// The flows the example config shows work without code: a new kind, a new
// counter and a whole new flow, reported by chat and counted.
func TestExampleConfigFlows(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(exampleFlows(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	m := runMainFor(t, path, []string{"GRIDBOT_HTTP_ADDR=127.0.0.1:0", "GRIDBOT_STORAGE_PATH=" + filepath.Join(dir, "g.db")})
	cfg := m.Config
	if len(cfg.Flows) != 3 {
		t.Fatalf("example flows: %d tables, want 3", len(cfg.Flows))
	}
	ctx := context.Background()
	if err := m.DB.PutWorker(ctx, flows.Worker{OpenID: "w1", Name: "王芳", Community: "阳光社区", Grid: "3", Role: flows.RoleWorker}); err != nil {
		t.Fatal(err)
	}
	c := &wxtest.Client{URL: m.URL() + "/wechat", Token: cfg.WeChat.Token}
	for i, line := range []string{"走访 3-2-201 残疾人", "宣传 发放口罩200个", "调解 纠纷 涉及3人"} {
		reply, err := c.Do(c.Text("w1", line, int64(i+1)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(reply, "✅") {
			t.Errorf("%s → %q, want it saved", line, reply)
		}
	}
	counts, err := m.DB.Tally(ctx, flows.Scope{Kind: flows.ScopeWorker, ID: "w1"}, time.Now().In(cfg.Zone()).Format("2006-01"))
	if err != nil {
		t.Fatal(err)
	}
	for metric, want := range map[string]float64{"visit.disabled": 1, "masks": 200, "mediation": 1, "mediation_people": 3} {
		if counts[metric] != want {
			t.Errorf("%s = %v, want %v (all: %v)", metric, counts[metric], want, counts)
		}
	}
}
