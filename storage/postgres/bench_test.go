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
// bbolt store's BenchmarkSaveReport: household visits counted distinct,
// with their follow-up effect, on a store with the bench roster).
func BenchmarkSaveReport(b *testing.B) {
	for _, writers := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			ctx := context.Background()
			db := openStore(b, pgtest.NewDatabase(b))
			if _, err := db.PutHouseholds(ctx, storetest.BenchRoster()); err != nil {
				b.Fatal(err)
			}
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
// with the tallies and distinct-household counters n SaveReports would
// leave (summed in memory from the same storage.TallyEntries and
// storage.HouseholdCounts, then copied), and no follow-up effects (they
// do not touch what Tally reads); then the bench roster goes in through
// PutHouseholds, which reads the household counters and writes the
// coverage as on a live store. The database lives as long as owner.
func fillReports(b, owner testing.TB, n int) *postgres.DB {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	db := openStore(owner, pgtest.NewDatabase(owner)).DB
	sums := map[storage.TallyEntry]int64{}
	hh := make(map[storage.HouseholdCount]int64, 1024+n*3/2)
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
			for _, c := range storage.HouseholdCounts(&r) {
				c.N = 0
				if hh[c]++; hh[c] == 1 {
					sums[storage.TallyEntry{Scope: c.Scope, Period: c.Period, Metric: c.Metric + flows.HouseholdsSuffix}] += flows.Milli
				}
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
	counts := make([][]any, 0, len(hh))
	for k, v := range hh {
		counts = append(counts, []any{k.Scope, k.Household, k.Period, k.Metric, v})
	}
	if _, err := db.Pool().CopyFrom(ctx, pgx.Identifier{"household_visits"}, []string{"scope", "household", "period", "metric", "n"}, pgx.CopyFromRows(counts)); err != nil {
		b.Fatal(err)
	}
	if _, err := db.PutHouseholds(ctx, storetest.BenchRoster()); err != nil {
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

// TestFillMatchesCheck: the benchmarks' fill leaves the counters n
// SaveReports and a PutHouseholds would: Check finds nothing to correct,
// and the figures equal those of a store filled by SaveReport.
func TestFillMatchesCheck(t *testing.T) {
	ctx := context.Background()
	const n = 1500
	filled := fillReports(t, t, n)
	diffs, err := filled.Check(ctx)
	if err != nil || len(diffs) != 0 {
		t.Errorf("check of the fill: %q, %v", diffs, err)
	}
	// The other store has its roster first: its coverage is counted as
	// each report is saved.
	saved := openStore(t, pgtest.NewDatabase(t))
	if _, err := saved.PutHouseholds(ctx, storetest.BenchRoster()); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		r := storetest.BenchReport(i)
		r.FollowKey, r.NextDue = "", ""
		if _, _, err := saved.SaveReport(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, sc := range []string{"all", "community:c3", "grid:c3/g3"} { // c3's visits are all to households of its g3
		s, _ := flows.ParseScope(sc)
		for _, p := range []string{"2026", "2026-03", "2026-03-05"} {
			a, err1 := filled.Tally(ctx, s, p)
			c, err2 := saved.Tally(ctx, s, p)
			if err1 != nil || err2 != nil || fmt.Sprint(a) != fmt.Sprint(c) || (sc == "all" && a["visit.households"] == 0) {
				t.Errorf("tally %s %s: filled %v, saved %v (%v %v)", sc, p, a, c, err1, err2)
			}
			x, err1 := filled.Coverage(ctx, s, p)
			y, err2 := saved.Coverage(ctx, s, p)
			if err1 != nil || err2 != nil || fmt.Sprintf("%+v", x) != fmt.Sprintf("%+v", y) || (p == "2026" && x.Visited == 0) {
				t.Errorf("coverage %s %s: filled %+v, saved %+v (%v %v)", sc, p, x, y, err1, err2)
			}
		}
	}
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

// BenchmarkHouseholdsMonth reads a month's distinct households (the
// tallies with visit.households) and a community's coverage (入户率,
// 规范管理) from a store of 1k and of 1M household reports, as the bbolt
// store's benchmark of the same name: the cost must not follow the number
// of reports. The two stores are built once and measured in turn, three
// rounds (the machine's load drifts between minutes).
func BenchmarkHouseholdsMonth(b *testing.B) {
	stores := map[int]*postgres.DB{}
	parent := b
	for range 3 {
		for _, n := range []int{1000, 1_000_000} {
			b.Run(fmt.Sprintf("reports=%d", n), func(b *testing.B) {
				db := stores[n]
				if db == nil {
					db = fillReports(b, parent, n)
					stores[n] = db
				}
				ctx := context.Background()
				all := flows.Scope{Kind: flows.ScopeAll}
				community := flows.Scope{Kind: flows.ScopeCommunity, ID: "c3"}
				var c flows.Counts
				var cv flows.Coverage
				b.ResetTimer()
				for b.Loop() {
					var err error
					if c, err = db.Tally(ctx, all, "2026-11"); err != nil {
						b.Fatal(err)
					}
					if cv, err = db.Coverage(ctx, community, "2026-11"); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				if c["visit.households"] == 0 || cv.Households != 600 || cv.Visited == 0 {
					b.Fatalf("empty figures: %v %+v", c, cv)
				}
				b.ReportMetric(c["visit.households"], "households")
				b.ReportMetric(float64(cv.Visited), "visited")
			})
		}
	}
}
