package bot

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/storage"
)

// BenchmarkOverdueScan is the daily run's scan (Reminders.Plan: every
// worker's overdue items and each community's escalations) over 1,000 and
// over 1,000,000 open follow-ups of which 100 are overdue, for 100
// workers in 5 communities. Its cost must follow the overdue items and the
// workers, not the open follow-ups: the two sizes should cost about the
// same.
func BenchmarkOverdueScan(b *testing.B) {
	const (
		workers     = 100
		communities = 5
		overdue     = 100
		today       = "2026-11-28"
	)
	dir := b.TempDir()
	stores := map[int]*storage.DB{}
	b.Cleanup(func() {
		for _, db := range stores {
			db.Close()
		}
	})
	for _, n := range []int{1000, 1_000_000} {
		b.Run(fmt.Sprintf("open=%d", n), func(b *testing.B) {
			ctx := context.Background()
			db := stores[n]
			if db == nil {
				var err error
				db, err = storage.Open(filepath.Join(dir, fmt.Sprintf("scan-%d.db", n)), storage.Options{})
				if err != nil {
					b.Fatal(err)
				}
				stores[n] = db
				fillFollowUps(b, db, n, workers, communities, overdue)
			}
			r := &Reminders{Store: db, Ledger: db, Pusher: &Outbox{}, EscalateAfterDays: 14}
			var digests []flows.Digest
			b.ResetTimer()
			for b.Loop() {
				var err error
				if digests, err = r.Plan(ctx, today); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			items := 0
			for _, d := range digests {
				items += len(d.Overdue)
			}
			if items != overdue {
				b.Fatalf("plan found %d overdue items, want %d", items, overdue)
			}
			b.ReportMetric(float64(len(digests)), "digests")
		})
	}
}

// fillFollowUps binds the workers (one supervisor per community) and opens
// n follow-ups, overdue ones due in October, the rest after today, in
// batches of 100,000 per transaction.
func fillFollowUps(b *testing.B, db *storage.DB, n, workers, communities, overdue int) {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	for i := range workers {
		role := flows.RoleWorker
		if i < communities {
			role = flows.RoleSupervisor
		}
		w := flows.Worker{OpenID: fmt.Sprintf("w%03d", i), Name: fmt.Sprintf("网格员%d", i),
			Community: fmt.Sprintf("c%d", i%communities), Grid: fmt.Sprint(i % 7), Role: role}
		if err := db.PutWorker(ctx, w); err != nil {
			b.Fatal(err)
		}
	}
	base := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	const batch = 100_000
	fs := make([]flows.FollowUp, 0, batch)
	for i := 0; i < n; i++ {
		due := base.AddDate(0, 0, i%365)
		wi := i % workers
		if step := n / overdue; i%step == 0 {
			// The k-th overdue item goes to worker k: every worker has one.
			k := i / step
			due = time.Date(2026, 10, 1+k%30, 0, 0, 0, 0, time.UTC)
			wi = k % workers
		}
		target := fmt.Sprintf("%d-%d-%d", i/10000, i/100%100, i%100)
		fs = append(fs, flows.FollowUp{
			Key: flows.FollowKey(fmt.Sprintf("c%d", wi%communities), "visit", "chronic", target), Community: fmt.Sprintf("c%d", wi%communities),
			Grid: fmt.Sprint(wi % 7), Worker: fmt.Sprintf("w%03d", wi), Flow: "visit", Kind: "chronic", Target: target,
			Due: due.Format(time.DateOnly),
		})
		if len(fs) == batch || i == n-1 {
			if _, err := db.OpenFollowUps(ctx, fs); err != nil {
				b.Fatal(err)
			}
			fs = fs[:0]
		}
	}
	b.Logf("opened %d follow-ups in %s", n, time.Since(start).Round(time.Millisecond))
}
