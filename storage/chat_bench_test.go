package storage

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/flows/chat"
)

// BenchmarkCommunityStats answers a supervisor's 社区统计 end to end
// (Engine.Handle: the worker, the session, the month's and the compared
// span's tallies with distinct households, the community's and each
// grid's coverage, the year's 规范管理) from the stores of
// BenchmarkHouseholdsMonth, 1k and 1M household reports: the cost must
// not follow the number of reports. Run it with -count 5 or more, as
// BenchmarkHouseholdsMonth.
func BenchmarkCommunityStats(b *testing.B) {
	for _, n := range []int{1000, 1_000_000} {
		b.Run(fmt.Sprintf("reports=%d", n), func(b *testing.B) {
			db := benchStore(b, fmt.Sprintf("hh-%d", n), func(path string) *DB {
				return fillReports(b, path, n, true, coverageRoster())
			})
			ctx := context.Background()
			// The supervisor of c3, and a worker in each of its grids (the
			// grids 社区统计 lists).
			ws := []flows.Worker{{OpenID: "boss-c3", Name: "站长", Community: "c3", Grid: "g0", Role: flows.RoleSupervisor}}
			for g := range 5 {
				ws = append(ws, flows.Worker{OpenID: fmt.Sprintf("bench-c3-g%d", g), Community: "c3", Grid: fmt.Sprintf("g%d", g), Role: flows.RoleWorker})
			}
			for _, w := range ws {
				if err := db.PutWorker(ctx, w); err != nil {
					b.Fatal(err)
				}
			}
			now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
			eng := &chat.Engine{Store: db, Sessions: db.KV(), Notices: db, Attempts: db, Catalog: flows.DefaultCatalog(),
				Zone: time.UTC, SessionPrefix: "bench:", SessionTTL: 30 * time.Minute, Now: func() time.Time { return now }}
			var reply flows.Reply
			i := 0
			b.ResetTimer()
			for b.Loop() {
				i++
				var err error
				reply, err = eng.Handle(ctx, flows.Inbound{MsgKey: fmt.Sprint("q", i), OpenID: "boss-c3", Type: "text", Text: "社区统计", At: now})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if !strings.Contains(reply.Text, "【入户率】") || !strings.Contains(reply.Text, "户次") || !strings.Contains(reply.Text, "规范管理率") {
				b.Fatalf("reply without the figures:\n%s", reply.Text)
			}
		})
	}
}
