package bot

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/flows/chat"
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
			r := &Reminders{Store: db, Deliveries: db, Pusher: &Outbox{}, EscalateAfterDays: 14}
			var digests []chat.Digest
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
// n follow-ups: overdue ones due in October, one per worker, and the rest
// due after today, in batches of 20,000 per transaction. They are made in
// due order, as a store fills over time, which keeps bbolt's inserts near
// the end of each index range.
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
	const batch = 20_000
	fs := make([]flows.FollowUp, 0, batch)
	add := func(i, wi int, due time.Time) {
		c := fmt.Sprintf("c%d", wi%communities)
		target := fmt.Sprintf("%07d", i)
		fs = append(fs, flows.FollowUp{
			Key: flows.FollowKey(c, "visit", "chronic", target), Community: c, Grid: fmt.Sprint(wi % 7),
			Worker: fmt.Sprintf("w%03d", wi), Flow: "visit", Kind: "chronic", Target: target, Due: due.Format(time.DateOnly),
		})
		if len(fs) == batch || i == n-1 {
			if _, err := db.OpenFollowUps(ctx, fs); err != nil {
				b.Fatal(err)
			}
			fs = fs[:0]
		}
	}
	for k := range overdue {
		add(k, k%workers, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC))
	}
	base := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	for i := overdue; i < n; i++ {
		add(i, i%workers, base.AddDate(0, 0, (i-overdue)*365/(n-overdue)))
	}
	b.Logf("opened %d follow-ups in %s", n, time.Since(start).Round(time.Millisecond))
}
