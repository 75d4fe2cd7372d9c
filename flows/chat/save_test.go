package chat

import (
	"context"
	"testing"
	"time"

	"gridbot/flows"
)

// saveStore is a Store whose SaveReport and Tally are functions; any other
// method panics (the embedded nil interface).
type saveStore struct {
	flows.Store
	saveReport func(flows.Report) (flows.Report, bool, error)
	tally      func(flows.Scope, string) (flows.Counts, error)
}

func (s saveStore) SaveReport(_ context.Context, r flows.Report) (flows.Report, bool, error) {
	return s.saveReport(r)
}

func (s saveStore) Tally(_ context.Context, scope flows.Scope, period string) (flows.Counts, error) {
	return s.tally(scope, period)
}

// No report reaches the store without a real day: a zero or empty day is
// a system error, and nothing is saved.
func TestSaveRefusesInvalidDay(t *testing.T) {
	tests := []struct {
		day  string
		save bool
	}{
		{"2026-11-28", true},
		{"2025-12-01", true},
		{"", false},
		{"0001-01-01", false},
		{"2026-11-31", false},
		{"2026-13-01", false},
		{"11月28日", false},
	}
	for _, tt := range tests {
		t.Run(tt.day, func(t *testing.T) {
			saved := 0
			st := saveStore{
				saveReport: func(r flows.Report) (flows.Report, bool, error) {
					saved++
					r.ID = 1
					return r, false, nil
				},
				tally: func(flows.Scope, string) (flows.Counts, error) { return flows.Counts{"visit": 1}, nil },
			}
			now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
			e := &Engine{Store: st, Zone: time.UTC, Now: func() time.Time { return now }}
			c := &turn{ctx: context.Background(), e: e, w: flows.Worker{OpenID: "w1"}, s: &session{}, at: now}
			r := flows.Report{Worker: "w1", Flow: "visit", Kind: "chronic", Target: "3-2-201", Day: tt.day}
			reply, err := e.save(c, r, true)
			if tt.save {
				if err != nil || saved != 1 || reply == "" {
					t.Fatalf("save day %q: %q, %v, saved %d; want saved once", tt.day, reply, err, saved)
				}
				return
			}
			if flows.ErrorCode(err) != flows.EInternal || saved != 0 || reply != "" {
				t.Fatalf("save day %q: %q, %v, saved %d; want an internal error and nothing saved", tt.day, reply, err, saved)
			}
		})
	}
}
