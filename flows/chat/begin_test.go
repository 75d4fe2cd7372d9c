package chat_test

import (
	"context"
	"testing"

	"gridbot/flows"
)

// TestBegin starts forms the way the follow-ups do (待办 → 走访 1): with
// fields filled in, continued by the worker's messages; complete when the
// prefill answers everything; refused for bad keys and values.
func TestBegin(t *testing.T) {
	for _, kv := range []string{"bbolt", "redis"} {
		t.Run(kv, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			h := newHarness(t, kv)
			w := flows.Worker{OpenID: "w1", Community: "阳光社区", Grid: "3", Role: flows.RoleWorker}
			if err := h.db.PutWorker(ctx, w); err != nil {
				t.Fatal(err)
			}
			say := func(text, want string) {
				t.Helper()
				h.seq++
				in := flows.Inbound{MsgKey: "m" + string(rune('a'+h.seq)), OpenID: "w1", Type: "text", Text: text, At: h.clock}
				r, err := h.eng.Handle(ctx, in)
				if err != nil || r.Text != want {
					t.Fatalf("%s: got %q (err %v), want %q", text, r.Text, err, want)
				}
			}

			got, err := h.eng.Begin(ctx, w, "visit", map[string]string{"household": "3栋2单元201", "kind": "chronic"}, "", h.clock)
			if want := `【入户走访】3/4 血压（如 150/95，没测请回复"跳过"）：`; err != nil || got != want {
				t.Fatalf("Begin: %q (err %v), want %q", got, err, want)
			}
			say("150/95", `4/4 备注（可"跳过"）：`)
			say("跳过", "请确认：3-2-201｜慢病随访｜血压 150/95。回复 1 保存，2 修改，0 取消。")
			say("1", "✅ 已保存。本月你已走访 1 户、1 户次（慢病随访 1 户、1 户次）。下次随访 2027-02-26。")

			full := map[string]string{"place": "菜市场", "kind": "消防", "issues_found": "2", "note": "限期3天整改"}
			want := "✅ 已记录巡查：菜市场，消防安全，发现问题 2 处，限期3天整改。本月累计：巡查 1 次，发现问题 2 处。复查期限 2026-12-01。"
			for range 2 { // the same msgKey twice: saved once
				got, err = h.eng.Begin(ctx, w, "inspection", full, "fu-1", h.clock)
				if err != nil || got != want {
					t.Fatalf("complete Begin: %q (err %v), want %q", got, err, want)
				}
			}
			c, err := h.db.Tally(ctx, flows.Scope{Kind: flows.ScopeWorker, ID: "w1"}, "2026-11")
			if err != nil || c["inspection"] != 1 || c["issues_found"] != 2 {
				t.Fatalf("tally %v (err %v)", c, err)
			}

			// A form in progress is kept when Begin is refused.
			say("走访", "【入户走访】1/4 户号或地址（如 3号楼2单元201）：")
			bad := []struct {
				name    string
				flow    string
				prefill map[string]string
			}{
				{"unknown flow", "nope", nil},
				{"unknown field", "visit", map[string]string{"colour": "red"}},
				{"unknown kind", "visit", map[string]string{"kind": "火箭"}},
				{"bad blood pressure", "visit", map[string]string{"kind": "chronic", "bp": "350/95"}},
				{"over the ceiling", "campaign", map[string]string{"leaflets": "100000"}},
				{"future day", "visit", map[string]string{"day": "2026-12-01"}},
				{"next due before day", "visit", map[string]string{"next_due": "2026-11-01"}},
			}
			for _, tc := range bad {
				if _, err := h.eng.Begin(ctx, w, tc.flow, tc.prefill, "", h.clock); flows.ErrorCode(err) != flows.EInvalid {
					t.Errorf("%s: err %v, want %s", tc.name, err, flows.EInvalid)
				}
			}
			say("3-2-202", "2/4 走访类型：1 慢病随访 2 孕产妇/新生儿访视 3 流动人口核查 4 老年人探访 5 计生服务 6 困难帮扶 7 其他")
		})
	}
}
