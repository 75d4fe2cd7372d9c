package chat_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/BurntSushi/toml"

	"gridbot/flows"
)

// configFlows decodes [[flows]] tables as a config file holds them.
func configFlows(t *testing.T, src string) []flows.FlowDef {
	t.Helper()
	var cfg struct {
		Flows []flows.FlowDef `toml:"flows"`
	}
	if _, err := toml.Decode(src, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.Flows
}

// TestCatalogLineOnly runs a config that makes a shipped counter field
// line_only (参与 of a campaign): the step-by-step form neither asks nor
// counts it, 修改 offers it, a one-line report fills it, and a bad value
// in one line is asked for again without n/N.
func TestCatalogLineOnly(t *testing.T) {
	c := flows.DefaultCatalog()
	if err := c.Merge(configFlows(t, `
[[flows]]
key = "campaign"
  [[flows.fields]]
  key = "participants"
  line_only = true
`)); err != nil {
		t.Fatal(err)
	}
	for _, kv := range []string{"bbolt", "redis"} {
		t.Run(kv, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			h := newHarness(t, kv)
			h.eng.Catalog = c
			w := flows.Worker{OpenID: "w1", Community: "阳光社区", Grid: "3", Role: flows.RoleWorker}
			if err := h.db.PutWorker(ctx, w); err != nil {
				t.Fatal(err)
			}
			steps := []struct{ in, want string }{
				{"活动", "【宣传活动】1/4 活动类型：1 宣传 2 讲座培训 3 义诊体检 4 环境清理 5 消杀灭鼠 6 会议 7 其他"},
				{"1", `2/4 发放资料多少份（没有请回复"跳过"）：`},
				{"200", `4/4 备注，如活动地点（可"跳过"）：`},
				{"返回", `2/4 发放资料多少份（没有请回复"跳过"）：`},
				{"200", `4/4 备注，如活动地点（可"跳过"）：`},
				{"跳过", "请确认：宣传｜资料 200 份。回复 1 保存，2 修改，0 取消。"},
				{"2", `修改哪一项？回复序号：1 活动类型 2 资料 3 参与人数 4 备注（回复"返回"不改）`},
				{"3", `参与多少人（没有请回复"跳过"）：`},
				{"三十", "请确认：宣传｜资料 200 份｜参与 30 人。回复 1 保存，2 修改，0 取消。"},
				{"1", "✅ 已保存。本月累计：宣传 1 次，资料 200 份，参与 30 人。"},
				{"宣传 资料100份 参与25人", "✅ 已记录宣传活动：资料 100 份，参与 25 人。本月累计：宣传 2 次，资料 300 份，参与 55 人。"},
				{"宣传 资料50份 参与30000人", "已识别：宣传｜资料 50 份。\n参与 30,000 人 超出常见范围（一般不超过 20,000 人）。确认无误请回复\"确认 30000\"，有误请回复正确的数字。\n" +
					`【宣传活动】参与多少人（没有请回复"跳过"）：`},
				{"跳过", "✅ 已记录宣传活动：资料 50 份。本月累计：宣传 3 次，资料 350 份。"},
			}
			for i, st := range steps {
				in := flows.Inbound{MsgKey: fmt.Sprint("m", i), OpenID: "w1", Type: "text", Text: st.in, At: h.clock}
				r, err := h.eng.Handle(ctx, in)
				if err != nil || r.Text != st.want {
					t.Fatalf("%d %s: got %q (err %v), want %q", i, st.in, r.Text, err, st.want)
				}
			}
			tally, err := h.db.Tally(ctx, flows.Scope{Kind: flows.ScopeWorker, ID: "w1"}, "2026-11")
			if err != nil || tally["campaign"] != 3 || tally["participants"] != 55 || tally["leaflets"] != 350 {
				t.Fatalf("tally %v (err %v)", tally, err)
			}
		})
	}
}
