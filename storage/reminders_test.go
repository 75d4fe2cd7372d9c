package storage

import (
	"context"
	"fmt"
	"testing"

	"gridbot/flows"
)

// BenchmarkOpenFollowUps shows a roster import's batched write: 200
// follow-ups per transaction.
func BenchmarkOpenFollowUps(b *testing.B) {
	ctx := context.Background()
	db := newTestDB(b)
	const batch = 200
	n := 0
	for b.Loop() {
		fs := make([]flows.FollowUp, batch)
		for i := range fs {
			n++
			fs[i] = flows.FollowUp{Key: fmt.Sprintf("c|visit.chronic|%d", n), Community: "c", Grid: "g", Worker: fmt.Sprintf("w%d", n%50),
				Flow: "visit", Kind: "chronic", Target: fmt.Sprint(n), Due: "2026-12-01"}
		}
		if _, err := db.OpenFollowUps(ctx, fs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "followups/s")
}
