package chat_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/flows/chat"
	"gridbot/storage"
)

// Run with:
//
//	TMPDIR=/dev/shm go test -run '^$' -bench HandleLine -benchmem ./flows/chat/
//
// BenchmarkHandleLine measures Engine.Handle on the one-line reports of
// the load (cmd/gridbot-load's oneline mix, cmd/gridbot's
// BenchmarkFullPath): alternately a publicity campaign and a chronic
// visit to a new household, from benchWorkers bound workers in turn, with
// the console's commands in Engine.Extra as gridbot serve has them. The
// store is real bbolt in a temp dir, sessions in the same file, as gridbot
// serve runs without Redis; each report is saved (one commit and fsync:
// with TMPDIR on a tmpfs the disk is left out and the figures are the
// conversation's and bbolt's CPU). Every reply is checked.
func BenchmarkHandleLine(b *testing.B) {
	ctx := context.Background()
	db, err := storage.Open(filepath.Join(b.TempDir(), "gridbot.db"), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	zone, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, zone)
	e := &chat.Engine{
		Store: db, Sessions: db.KV(), Notices: db, Attempts: db, Catalog: flows.DefaultCatalog(), Zone: zone,
		SessionPrefix: "s:", Now: func() time.Time { return now },
	}
	e.Extra = []chat.Command{ // as bot/console adds them
		{Name: "console", Words: []string{"后台", "管理后台", "登录后台", "网页后台", "电脑后台"}, Help: "后台：网页后台的登录链接",
			Run: func(context.Context, flows.Worker) (string, error) { return "后台", nil }},
		{Name: "ledger", Words: []string{"台帐", "台账", "导出台帐", "导出台账"}, StaffHelp: "台帐 / 年度总结：下载台帐、全年工作总结",
			Run: func(context.Context, flows.Worker) (string, error) { return "台帐", nil }},
		{Name: "summary", Words: []string{"年度总结", "全年总结", "年终总结"},
			Run: func(context.Context, flows.Worker) (string, error) { return "总结", nil }},
	}
	const benchWorkers = 8
	for u := range benchWorkers {
		w := flows.Worker{OpenID: fmt.Sprint("oBench", u), Name: fmt.Sprint("网格员", u), Community: "幸福社区",
			Grid: "第1网格", Role: flows.RoleWorker, BoundAt: now}
		if err := db.PutWorker(ctx, w); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	for b.Loop() {
		u, seq := i%benchWorkers, i/benchWorkers
		text, want := "今天宣传发放资料35份，参与群众12人", "✅ 已记录宣传活动：资料 35 份，参与 12 人。"
		if seq%2 == 1 {
			hh := fmt.Sprintf("%d-%d-%d", u+1, 1+seq/1800, 101+seq/2%900)
			text, want = "走访 "+hh+" 慢病 150/95", "✅ 已记录入户走访："+hh+"，慢病随访，血压 150/95。"
		}
		i++
		reply, err := e.Handle(ctx, flows.Inbound{MsgKey: fmt.Sprint("m", i), OpenID: fmt.Sprint("oBench", u), Type: "text", Text: text, At: now})
		if err != nil || !strings.HasPrefix(reply.Text, want) {
			b.Fatalf("%q: %q, %v; want %q…", text, reply.Text, err, want)
		}
	}
}
