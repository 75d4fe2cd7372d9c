package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"gridbot/flows"
	"gridbot/storage"
	"gridbot/storage/postgres"
	"gridbot/storage/postgres/pgtest"
	"gridbot/storage/storetest"
)

// BenchmarkSaveReport saves reports, each committed when SaveReport
// returns, from 1 and from 64 concurrent writers (the same reports as the
// bbolt store's BenchmarkSaveReport).
func BenchmarkSaveReport(b *testing.B) {
	for _, writers := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			ctx := context.Background()
			db := openStore(b, pgtest.NewDatabase(b))
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1))
						if i > b.N {
							return
						}
						// Live reports are about today's work, or the day before.
						r := storetest.BenchReport(i)
						r.Day = fmt.Sprintf("2026-11-%02d", 5+i%2)
						if _, _, err := db.SaveReport(ctx, r); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "saves/s")
		})
	}
}

// fillReports fills a new database with n BenchReports in bulk (COPY),
// with the tallies n SaveReports would leave (summed in memory from the
// same storage.TallyEntries, then copied), and no follow-up effects (they
// do not touch what Tally reads). The database lives as long as owner.
func fillReports(b, owner *testing.B, n int) *postgres.DB {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	db := openStore(owner, pgtest.NewDatabase(owner)).DB
	sums := map[storage.TallyEntry]int64{}
	const perCopy = 50_000
	for lo := 1; lo <= n; lo += perCopy {
		rows := make([][]any, 0, perCopy)
		for i := lo; i < min(lo+perCopy, n+1); i++ {
			r := storetest.BenchReport(i)
			r.ID, r.FollowKey, r.NextDue = uint64(i), "", ""
			data, err := json.Marshal(r)
			if err != nil {
				b.Fatal(err)
			}
			rows = append(rows, []any{int64(r.ID), r.MsgKey, r.Worker, r.Community, r.Grid, r.Day, r.CreatedAt, false, data})
			for _, e := range storage.TallyEntries(&r) {
				sums[storage.TallyEntry{Scope: e.Scope, Period: e.Period, Metric: e.Metric}] += e.Milli
			}
		}
		_, err := db.Pool().CopyFrom(ctx, pgx.Identifier{"reports"},
			[]string{"id", "msg_key", "worker", "community", "grid", "day", "created_at", "void", "data"}, pgx.CopyFromRows(rows))
		if err != nil {
			b.Fatal(err)
		}
	}
	tallies := make([][]any, 0, len(sums))
	for k, v := range sums {
		tallies = append(tallies, []any{k.Scope, k.Period, k.Metric, v})
	}
	if _, err := db.Pool().CopyFrom(ctx, pgx.Identifier{"tallies"}, []string{"scope", "period", "metric", "milli"}, pgx.CopyFromRows(tallies)); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Pool().Exec(ctx, `SELECT setval('reports_id_seq', $1)`, int64(n)); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Pool().Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	b.Logf("filled a database with %d reports in %s", n, time.Since(start).Round(time.Millisecond))
	return db
}

// BenchmarkTallyMonth reads a month's totals of all reports from a store
// of 1k and of 1M reports: the cost must not follow the number of reports.
func BenchmarkTallyMonth(b *testing.B) {
	stores := map[int]*postgres.DB{} // built once per size, dropped when b ends
	parent := b
	for _, n := range []int{1000, 1_000_000} {
		b.Run(fmt.Sprintf("reports=%d", n), func(b *testing.B) {
			db := stores[n]
			if db == nil {
				db = fillReports(b, parent, n)
				stores[n] = db
			}
			ctx := context.Background()
			all := flows.Scope{Kind: flows.ScopeAll}
			var c flows.Counts
			b.ResetTimer()
			for b.Loop() {
				var err error
				if c, err = db.Tally(ctx, all, "2026-11"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(c)), "metrics")
			if c["visit"] == 0 {
				b.Fatalf("empty tally %v", c)
			}
		})
	}
}
