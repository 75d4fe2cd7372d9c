package storage

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"gridbot/flows"
	"gridbot/flows/chat"
)

// BenchmarkFlatReads measures, from the stores of BenchmarkHouseholdsMonth
// (1k and 1M household reports with a roster), what a month's
// distinct-household and coverage figures cost:
//
//   - tally: Store.Tally of all reports for a month (with visit.households);
//   - coverage: Store.Coverage of a community for a month (入户率, 规范管理);
//   - stats: a supervisor's 社区统计 end to end (Engine.Handle: the worker,
//     the session, the month's and the compared span's tallies, the
//     community's and each grid's coverage), read-only.
//
// The cost must not follow the number of reports (≤ 1.5× from 1k to 1M).
// On a shared machine the load drifts within minutes, so the sizes are
// measured in alternation, rounds times, within one run: compare the
// medians of each size (-count 1; the 1M store takes minutes to build).
func BenchmarkFlatReads(b *testing.B) {
	const rounds = 7
	sizes := []int{1000, 1_000_000}
	for round := 1; round <= rounds; round++ {
		for _, n := range sizes {
			db := benchStore(b, fmt.Sprintf("hh-%d", n), func(path string) *DB {
				db := fillReports(b, path, n, true, coverageRoster())
				logTallies(b, db, path)
				return db
			})
			eng := statsEngine(b, db)
			ctx := context.Background()
			now := eng.Now()
			all := flows.Scope{Kind: flows.ScopeAll}
			community := flows.Scope{Kind: flows.ScopeCommunity, ID: "c3"}
			b.Run(fmt.Sprintf("tally/reports=%d", n), func(b *testing.B) {
				var c flows.Counts
				for b.Loop() {
					var err error
					if c, err = db.Tally(ctx, all, "2026-11"); err != nil {
						b.Fatal(err)
					}
				}
				if c["visit.households"] == 0 {
					b.Fatalf("no households: %v", c)
				}
			})
			b.Run(fmt.Sprintf("coverage/reports=%d", n), func(b *testing.B) {
				var cv flows.Coverage
				for b.Loop() {
					var err error
					if cv, err = db.Coverage(ctx, community, "2026-11"); err != nil {
						b.Fatal(err)
					}
				}
				if cv.Households != 600 || cv.Visited == 0 {
					b.Fatalf("empty coverage: %+v", cv)
				}
			})
			b.Run(fmt.Sprintf("stats/reports=%d", n), func(b *testing.B) {
				var reply flows.Reply
				i := 0
				for b.Loop() {
					i++
					var err error
					reply, err = eng.Handle(ctx, flows.Inbound{MsgKey: fmt.Sprint("q", i), OpenID: "boss-c3", Type: "text", Text: "社区统计", At: now})
					if err != nil {
						b.Fatal(err)
					}
				}
				if !strings.Contains(reply.Text, "【入户率】") || !strings.Contains(reply.Text, "户次") || !strings.Contains(reply.Text, "规范管理率") {
					b.Fatalf("reply without the figures:\n%s", reply.Text)
				}
				if round == 1 {
					b.Logf("社区统计 of c3 (%d reports):\n%s", n, reply.Text)
				}
			})
		}
	}
}

// statsEngine is a conversation over db with the supervisor of c3 and a
// worker in each of its grids (the grids 社区统计 lists), on 2026-11-28.
func statsEngine(b *testing.B, db *DB) *chat.Engine {
	ctx := context.Background()
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
	return &chat.Engine{Store: db, Sessions: db.KV(), Notices: db, Attempts: db, Catalog: flows.DefaultCatalog(),
		Zone: time.UTC, SessionPrefix: "bench:", SessionTTL: 30 * time.Minute, Now: func() time.Time { return now }}
}

// logTallies logs the size and shape of a store's tallies bucket: the
// B+tree a Tally seeks into.
func logTallies(b *testing.B, db *DB, path string) {
	err := db.bolt.View(func(tx *bolt.Tx) error {
		s := tx.Bucket(talliesBucket).Stats()
		b.Logf("%s: tallies bucket %d keys, depth %d, %d leaf pages", path[strings.LastIndexByte(path, '/')+1:], s.KeyN, s.Depth, s.LeafPageN)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if fi, err := os.Stat(path); err == nil {
		b.Logf("file %d MB", fi.Size()>>20)
	}
}
