package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"gridbot/flows"
)

func testSaveReportDedupe(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	r := visitReport("msg-1", "w1", "c1", "g1", "chronic", "2026-11-05")
	first, dup, err := db.SaveReport(ctx, r)
	if err != nil || dup || first.ID == 0 {
		t.Fatalf("first save: %+v dup %v err %v", first, dup, err)
	}
	// A WeChat retry of the same message, even with other content, gets
	// the first report back and writes nothing.
	retry := r
	retry.Kind = "elderly"
	again, dup, err := db.SaveReport(ctx, retry)
	if err != nil || !dup || again.ID != first.ID || again.Kind != "chronic" {
		t.Fatalf("retry: %+v dup %v err %v", again, dup, err)
	}
	if c := mustTally(t, db, "all", "2026-11"); !sameCounts(c, flows.Counts{"visit": 1, "visit.chronic": 1}) {
		t.Fatalf("tally after retry: %v", c)
	}
}

func testSaveReportConcurrentDedupe(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	const n = 20
	type result struct {
		r   flows.Report
		dup bool
		err error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, dup, err := db.SaveReport(ctx, visitReport("same-msg", "w1", "c1", "g1", "chronic", "2026-11-05"))
			results[i] = result{r, dup, err}
		}()
	}
	close(start)
	wg.Wait()
	fresh := 0
	for i, res := range results {
		if res.err != nil {
			t.Fatalf("writer %d: %v", i, res.err)
		}
		if !res.dup {
			fresh++
		}
		if res.r.ID != results[0].r.ID {
			t.Fatalf("writer %d got report %d, writer 0 got %d", i, res.r.ID, results[0].r.ID)
		}
	}
	if fresh != 1 {
		t.Fatalf("%d writers saved a new report, want 1", fresh)
	}
	if c := mustTally(t, db, "worker:w1", "2026-11-05"); !sameCounts(c, flows.Counts{"visit": 1, "visit.chronic": 1}) {
		t.Fatalf("tally: %v", c)
	}
	var count int
	err := db.Reports(ctx, flows.Scope{Kind: flows.ScopeAll}, "2026", true, func(flows.Report) error { count++; return nil })
	if err != nil || count != 1 {
		t.Fatalf("%d reports stored (%v), want 1", count, err)
	}
}

func testSaveReportConcurrentDistinct(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	const n = 64
	ids := make([]uint64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _, err := db.SaveReport(ctx, visitReport(fmt.Sprintf("m%d", i), fmt.Sprintf("w%d", i%4), "c1", "g1", "chronic", "2026-11-05"))
			if err != nil {
				t.Error(err)
			}
			ids[i] = r.ID
		}()
	}
	wg.Wait()
	slices.Sort(ids)
	if ids = slices.Compact(ids); len(ids) != n || ids[0] == 0 {
		t.Fatalf("ids not distinct: %v", ids)
	}
	if c := mustTally(t, db, "community:c1", "2026"); !sameCounts(c, flows.Counts{"visit": n, "visit.chronic": n}) {
		t.Fatalf("tally: %v", c)
	}
	if c := mustTally(t, db, "worker:w3", "2026-11-05"); !sameCounts(c, flows.Counts{"visit": n / 4, "visit.chronic": n / 4}) {
		t.Fatalf("worker tally: %v", c)
	}
}

func testSaveReportInvalid(t *testing.T, d Driver) {
	db := d.Open(t)
	valid := visitReport("m", "w1", "c1", "g1", "chronic", "2026-11-05")
	tests := []struct {
		name   string
		change func(r *flows.Report)
	}{
		{"no worker", func(r *flows.Report) { r.Worker = "" }},
		{"no grid", func(r *flows.Report) { r.Grid = "" }},
		{"no flow", func(r *flows.Report) { r.Flow = "" }},
		{"short day", func(r *flows.Report) { r.Day = "2026-11" }},
		{"bad day", func(r *flows.Report) { r.Day = "2026-13-05" }},
		{"next due without key", func(r *flows.Report) { r.NextDue = "2027-01-01" }},
		{"bad next due", func(r *flows.Report) { r.FollowKey, r.NextDue = "k", "2027/01/01" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := valid
			tt.change(&r)
			_, _, err := db.SaveReport(context.Background(), r)
			wantCode(t, err, flows.EInvalid)
		})
	}
	if c := mustTally(t, db, "all", "2026"); len(c) != 0 {
		t.Fatalf("invalid reports counted: %v", c)
	}
}

// seedTallies saves the reports TestTally and TestReports read.
func seedTallies(t *testing.T, db Store) map[string]flows.Report {
	t.Helper()
	campaign := flows.Report{MsgKey: "r4", Worker: "w3", Community: "c1", Grid: "g2", Flow: "campaign", Kind: "publicity",
		Day: "2026-11-05", Counts: map[string]float64{"leaflets": 400, "participants": 35}, CreatedAt: testTime}
	in := []flows.Report{
		visitReport("r1", "w1", "c1", "g1", "chronic", "2026-11-06"),
		visitReport("r2", "w1", "c1", "g1", "elderly", "2026-11-05"),
		visitReport("r3", "w2", "c1", "g1", "chronic", "2026-11-05"),
		campaign,
		visitReport("r5", "w4", "c2", "g1", "chronic", "2026-12-01"),
		visitReport("r6", "w1", "c1", "g1", "chronic", "2025-11-05"),
		visitReport("r7", "w1", "c1", "g1", "", "2026-11-30"),
	}
	saved := map[string]flows.Report{}
	for _, r := range in {
		saved[r.MsgKey] = mustSave(t, db, r)
	}
	return saved
}

func testTally(t *testing.T, d Driver) {
	db := d.Open(t)
	seedTallies(t, db)
	tests := []struct {
		scope, period string
		want          flows.Counts
	}{
		{"worker:w1", "2026-11-05", flows.Counts{"visit": 1, "visit.elderly": 1}},
		{"worker:w1", "2026-11", flows.Counts{"visit": 3, "visit.chronic": 1, "visit.elderly": 1}},
		{"worker:w1", "2026", flows.Counts{"visit": 3, "visit.chronic": 1, "visit.elderly": 1}},
		{"worker:w1", "2025", flows.Counts{"visit": 1, "visit.chronic": 1}},
		{"worker:w1", "2025-11-05", flows.Counts{"visit": 1, "visit.chronic": 1}},
		{"grid:c1/g1", "2026-11-05", flows.Counts{"visit": 2, "visit.chronic": 1, "visit.elderly": 1}},
		{"grid:c1/g2", "2026-11", flows.Counts{"campaign": 1, "campaign.publicity": 1, "leaflets": 400, "participants": 35}},
		{"community:c1", "2026-11", flows.Counts{"visit": 4, "visit.chronic": 2, "visit.elderly": 1,
			"campaign": 1, "campaign.publicity": 1, "leaflets": 400, "participants": 35}},
		{"community:c2", "2026", flows.Counts{"visit": 1, "visit.chronic": 1}},
		{"all", "2026", flows.Counts{"visit": 5, "visit.chronic": 3, "visit.elderly": 1,
			"campaign": 1, "campaign.publicity": 1, "leaflets": 400, "participants": 35}},
		{"all", "2026-12", flows.Counts{"visit": 1, "visit.chronic": 1}},
		{"all", "2026-12-01", flows.Counts{"visit": 1, "visit.chronic": 1}},
		{"all", "2024", flows.Counts{}},
		{"worker:nobody", "2026", flows.Counts{}},
		{"grid:c2/g2", "2026", flows.Counts{}},
	}
	for _, tt := range tests {
		t.Run(tt.scope+"@"+tt.period, func(t *testing.T) {
			if got := mustTally(t, db, tt.scope, tt.period); !sameCounts(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("invalid", func(t *testing.T) {
		_, err := db.Tally(context.Background(), flows.Scope{Kind: flows.ScopeAll}, "2026-1")
		wantCode(t, err, flows.EInvalid)
		_, err = db.Tally(context.Background(), flows.Scope{Kind: flows.ScopeWorker}, "2026")
		wantCode(t, err, flows.EInvalid)
	})
}

func testTallyDecimals(t *testing.T, d Driver) {
	db := d.Open(t)
	// Running float64 sums drift (0.1 + 0.2 = 0.30000000000000004);
	// tallies are kept in thousandths and stay exact.
	steps := []struct {
		tons, want float64
	}{
		{2.5, 2.5},
		{0.1, 2.6},
		{0.1, 2.7},
		{0.2, 2.9},
		{0.0005, 2.901}, // rounded half away from zero to thousandths
	}
	for i, st := range steps {
		mustSave(t, db, flows.Report{MsgKey: fmt.Sprint(i), Worker: "w1", Community: "c1", Grid: "g1",
			Flow: "campaign", Kind: "cleanup", Day: "2026-11-05", Counts: map[string]float64{"garbage_tons": st.tons},
			CreatedAt: testTime})
		for _, scope := range []string{"worker:w1", "grid:c1/g1", "community:c1", "all"} {
			c := mustTally(t, db, scope, "2026-11")
			if c["garbage_tons"] != st.want || c["campaign.cleanup"] != float64(i+1) {
				t.Fatalf("after %v tons: %s tally %v, want garbage_tons %v", st.tons, scope, c, st.want)
			}
		}
	}
}

func testVoidReport(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	saved := seedTallies(t, db)
	r4 := saved["r4"]
	voided, err := db.VoidReport(ctx, r4.ID, testTime.Add(time.Hour))
	if err != nil || !voided.Void || !voided.VoidedAt.Equal(testTime.Add(time.Hour)) {
		t.Fatalf("void: %+v, %v", voided, err)
	}
	got, err := db.Report(ctx, r4.ID)
	if err != nil || !got.Void || got.Counts["leaflets"] != 400 {
		t.Fatalf("voided report kept as %+v, %v", got, err)
	}
	// The campaign was the only report of grid c1/g2: its entries are gone.
	if c := mustTally(t, db, "grid:c1/g2", "2026"); len(c) != 0 {
		t.Fatalf("grid tally after void: %v", c)
	}
	if c := mustTally(t, db, "community:c1", "2026-11"); !sameCounts(c, flows.Counts{"visit": 4, "visit.chronic": 2, "visit.elderly": 1}) {
		t.Fatalf("community tally after void: %v", c)
	}
	_, err = db.VoidReport(ctx, r4.ID, testTime)
	wantCode(t, err, flows.EConflict)
	_, err = db.VoidReport(ctx, 9999, testTime)
	wantCode(t, err, flows.ENotFound)
	_, err = db.Report(ctx, 9999)
	wantCode(t, err, flows.ENotFound)
	if diffs, err := db.Check(ctx); err != nil || len(diffs) != 0 {
		t.Fatalf("check after void: %q, %v", diffs, err)
	}
}

func testLastReport(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	at := func(min int) time.Time { return testTime.Add(time.Duration(min) * time.Minute) }
	var saved []flows.Report
	for i, w := range []string{"w1", "w10", "w1", "w1"} {
		r := visitReport(fmt.Sprint(i), w, "c1", "g1", "chronic", "2026-11-05")
		r.CreatedAt = at(i * 10)
		saved = append(saved, mustSave(t, db, r))
	}
	// w1 has reports at +0, +20, +30 minutes; w10 (whose id w1 prefixes) at +10.
	if _, err := db.VoidReport(ctx, saved[3].ID, at(31)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		worker string
		since  time.Time
		want   uint64 // 0: ENotFound
	}{
		{"w1", at(0), saved[2].ID},
		{"w1", at(20), saved[2].ID},
		{"w1", at(21), 0},
		{"w10", at(0), saved[1].ID},
		{"w10", at(11), 0},
		{"w2", at(0), 0},
	}
	for _, tt := range tests {
		got, err := db.LastReport(ctx, tt.worker, tt.since)
		if tt.want == 0 {
			wantCode(t, err, flows.ENotFound)
			continue
		}
		if err != nil || got.ID != tt.want {
			t.Errorf("LastReport(%s, %s) = %d, %v; want %d", tt.worker, tt.since, got.ID, err, tt.want)
		}
	}
}

func testReports(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	saved := seedTallies(t, db)
	if _, err := db.VoidReport(ctx, saved["r3"].ID, testTime); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		scope, period string
		includeVoid   bool
		want          []string // msg keys, in day then id order
	}{
		{"all", "2026", false, []string{"r2", "r4", "r1", "r7", "r5"}},
		{"all", "2026", true, []string{"r2", "r3", "r4", "r1", "r7", "r5"}},
		{"all", "2026-11-05", true, []string{"r2", "r3", "r4"}},
		{"all", "2025", false, []string{"r6"}},
		{"worker:w1", "2026-11", false, []string{"r2", "r1", "r7"}},
		{"grid:c1/g1", "2026-11-05", true, []string{"r2", "r3"}},
		{"community:c1", "2026", false, []string{"r2", "r4", "r1", "r7"}},
		{"community:c2", "2026-11", false, nil},
		{"all", "2027", true, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s@%s/void=%v", tt.scope, tt.period, tt.includeVoid), func(t *testing.T) {
			s, _ := flows.ParseScope(tt.scope)
			var got []string
			err := db.Reports(ctx, s, tt.period, tt.includeVoid, func(r flows.Report) error {
				got = append(got, r.MsgKey)
				return nil
			})
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	t.Run("fn error stops", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		err := db.Reports(ctx, flows.Scope{Kind: flows.ScopeAll}, "2026", true, func(flows.Report) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Fatalf("err %v after %d calls", err, n)
		}
	})
}

// voidStep is one action of a TestVoidReportFollowUps case. Reports and
// follow-ups are named: a follow-up by what opened it (a report name, or
// the name of a roster import).
type voidStep struct {
	op     string // save, void, close (a follow-up by hand), import (open by hand)
	name   string // the report, or the follow-up for close and import
	worker string // save: w1 (grid g1) or w2 (grid g2)
	due    string // save: NextDue ("" closes without opening); import: Due
}

// fuWant is the expected state of a named follow-up after a case.
type fuWant struct {
	open     bool
	closedBy string // report name, "" when closed by hand or open
	reason   string
}
