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
	"gridbot/storage"
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

// testVoidReportFollowUps voids reports with follow-up effects: the
// follow-up the report opened is closed (撤销) and the one it closed is
// reopened exactly as it was, unless the schedule has moved on since.
func testVoidReportFollowUps(t *testing.T, d Driver) {
	visitKey := flows.FollowKey("c1", "visit", "elderly", "3-2-203")
	placeKey := flows.FollowKey("c1", "inspection", "", "菜市场")
	tests := []struct {
		name  string
		flow  string // visit or inspection
		steps []voidStep
		want  map[string]fuWant
	}{
		{
			name: "visit with interval",
			flow: "visit",
			steps: []voidStep{
				{op: "save", name: "r1", worker: "w1", due: "2026-12-05"},
				{op: "save", name: "r2", worker: "w1", due: "2027-01-04"},
				{op: "void", name: "r2"},
			},
			want: map[string]fuWant{"r1": {open: true}, "r2": {reason: storage.ReasonVoided}},
		},
		{
			name: "second visit by another worker of the grid",
			flow: "visit",
			steps: []voidStep{
				{op: "save", name: "r1", worker: "w1", due: "2026-12-05"},
				{op: "save", name: "r2", worker: "w2", due: "2027-01-04"},
				{op: "void", name: "r2"},
			},
			want: map[string]fuWant{"r1": {open: true}, "r2": {reason: storage.ReasonVoided}},
		},
		{
			name: "both visits voided, newest first",
			flow: "visit",
			steps: []voidStep{
				{op: "save", name: "r1", worker: "w1", due: "2026-12-05"},
				{op: "save", name: "r2", worker: "w1", due: "2027-01-04"},
				{op: "void", name: "r2"},
				{op: "void", name: "r1"},
			},
			want: map[string]fuWant{"r1": {reason: storage.ReasonVoided}, "r2": {reason: storage.ReasonVoided}},
		},
		{
			name: "visit that ended the schedule",
			flow: "visit",
			steps: []voidStep{
				{op: "save", name: "r1", worker: "w1", due: "2026-12-05"},
				{op: "save", name: "r2", worker: "w1"},
				{op: "void", name: "r2"},
			},
			want: map[string]fuWant{"r1": {open: true}},
		},
		{
			name: "inspection re-check marked rectified",
			flow: "inspection",
			steps: []voidStep{
				{op: "save", name: "r1", worker: "w1", due: "2026-11-08"},
				{op: "save", name: "r2", worker: "w1"},
				{op: "void", name: "r2"},
			},
			want: map[string]fuWant{"r1": {open: true}},
		},
		{
			name: "inspection that found issues",
			flow: "inspection",
			steps: []voidStep{
				{op: "save", name: "r1", worker: "w1", due: "2026-11-08"},
				{op: "void", name: "r1"},
			},
			want: map[string]fuWant{"r1": {reason: storage.ReasonVoided}},
		},
		{
			name: "inspection re-check still failing",
			flow: "inspection",
			steps: []voidStep{
				{op: "save", name: "r1", worker: "w1", due: "2026-11-08"},
				{op: "save", name: "r2", worker: "w1", due: "2026-11-15"},
				{op: "void", name: "r2"},
			},
			want: map[string]fuWant{"r1": {open: true}, "r2": {reason: storage.ReasonVoided}},
		},
		{
			name: "superseded by a later visit",
			flow: "visit",
			steps: []voidStep{
				{op: "save", name: "r1", worker: "w1", due: "2026-12-05"},
				{op: "save", name: "r2", worker: "w1", due: "2027-01-04"},
				{op: "save", name: "r3", worker: "w1", due: "2027-02-03"},
				{op: "void", name: "r2"},
			},
			want: map[string]fuWant{"r1": {closedBy: "r2"}, "r2": {closedBy: "r3"}, "r3": {open: true}},
		},
		{
			name: "superseded by a later visit that ended the schedule",
			flow: "visit",
			steps: []voidStep{
				{op: "save", name: "r1", worker: "w1", due: "2026-12-05"},
				{op: "save", name: "r2", worker: "w1", due: "2027-01-04"},
				{op: "save", name: "r3", worker: "w1"},
				{op: "void", name: "r2"},
			},
			want: map[string]fuWant{"r1": {closedBy: "r2"}, "r2": {closedBy: "r3"}},
		},
		{
			name: "superseded by a roster import",
			flow: "visit",
			steps: []voidStep{
				{op: "save", name: "r1", worker: "w1", due: "2026-12-05"},
				{op: "save", name: "r2", worker: "w1", due: "2027-01-04"},
				{op: "import", name: "roster", due: "2026-12-20"},
				{op: "void", name: "r2"},
			},
			want: map[string]fuWant{"r1": {closedBy: "r2"}, "r2": {reason: storage.ReasonReplaced}, "roster": {open: true}},
		},
		{
			name: "closed by hand since",
			flow: "visit",
			steps: []voidStep{
				{op: "save", name: "r1", worker: "w1", due: "2026-12-05"},
				{op: "save", name: "r2", worker: "w1", due: "2027-01-04"},
				{op: "close", name: "r2"},
				{op: "void", name: "r2"},
			},
			want: map[string]fuWant{"r1": {closedBy: "r2"}, "r2": {reason: "迁出"}},
		},
		{
			name: "later visit voided first",
			flow: "visit",
			steps: []voidStep{
				{op: "save", name: "r1", worker: "w1", due: "2026-12-05"},
				{op: "save", name: "r2", worker: "w2", due: "2027-01-04"},
				{op: "save", name: "r3", worker: "w1", due: "2027-02-03"},
				{op: "void", name: "r3"},
				{op: "void", name: "r2"},
			},
			want: map[string]fuWant{"r1": {open: true}, "r2": {reason: storage.ReasonVoided}, "r3": {reason: storage.ReasonVoided}},
		},
	}
	grids := map[string]string{"w1": "g1", "w2": "g1"} // another grid's follow-ups: testForeignGridFollowUpUntouched
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := d.Open(t)
			key := visitKey
			if tt.flow == "inspection" {
				key = placeKey
			}
			reports := map[string]flows.Report{}
			opened := map[string]flows.FollowUp{} // as first opened
			names := map[uint64]string{}          // report id → name
			voidAt := testTime.Add(2 * time.Hour)
			for i, st := range tt.steps {
				switch st.op {
				case "save":
					r := flows.Report{MsgKey: st.name, Worker: st.worker, Community: "c1", Grid: grids[st.worker],
						Flow: "visit", Kind: "elderly", Day: "2026-11-05", Target: "3-2-203",
						CreatedAt: testTime.Add(time.Duration(i) * time.Minute), FollowKey: key, NextDue: st.due}
					if tt.flow == "inspection" {
						r.Kind, r.Target, r.Counts = "fire", "菜市场", map[string]float64{"issues_found": 2}
					}
					r = mustSave(t, db, r)
					reports[st.name], names[r.ID] = r, st.name
					if st.due != "" {
						due := mustDue(t, db, "all", "2099-12-31", 0)
						if len(due) != 1 || due[0].OpenedBy != r.ID {
							t.Fatalf("%s: open after save: %+v", st.name, due)
						}
						opened[st.name] = due[0]
					}
				case "void":
					v, err := db.VoidReport(ctx, reports[st.name].ID, voidAt)
					if err != nil || !v.Void {
						t.Fatalf("void %s: %+v, %v", st.name, v, err)
					}
				case "close":
					if _, err := db.CloseFollowUp(ctx, opened[st.name].ID, "迁出", voidAt); err != nil {
						t.Fatal(err)
					}
				case "import":
					f, err := db.OpenFollowUp(ctx, flows.FollowUp{Key: key, Community: "c1", Grid: "g1", Worker: "w1",
						Flow: "visit", Kind: "elderly", Target: "3-2-203", Due: st.due})
					if err != nil {
						t.Fatal(err)
					}
					opened[st.name] = f
				default:
					t.Fatalf("unknown op %q", st.op)
				}
			}

			// Each follow-up's state; an open one exactly as first opened.
			var open []flows.FollowUp
			for name, w := range tt.want {
				first, ok := opened[name]
				if !ok {
					t.Fatalf("%s opened no follow-up", name)
				}
				got, err := db.FollowUp(ctx, first.ID)
				if err != nil {
					t.Fatal(err)
				}
				if w.open {
					if got != first {
						t.Errorf("%s's follow-up: %+v, want as opened %+v", name, got, first)
					}
					open = append(open, got)
					continue
				}
				if !got.Closed || names[got.ClosedBy] != w.closedBy || got.Reason != w.reason {
					t.Errorf("%s's follow-up: %+v, want closed by %q reason %q", name, got, w.closedBy, w.reason)
				}
				if w.reason == storage.ReasonVoided && (got.ClosedBy != 0 || !got.ClosedAt.Equal(voidAt)) {
					t.Errorf("%s's follow-up closed by the void: %+v", name, got)
				}
			}
			if len(open) > 1 {
				t.Fatalf("%d follow-ups open for one key: %+v", len(open), open)
			}

			// The due index lists exactly the open one in each of its scopes.
			for _, scope := range []string{"worker:w1", "worker:w2", "grid:c1/g1", "grid:c1/g2", "community:c1", "all"} {
				s, _ := flows.ParseScope(scope)
				var want []uint64
				for _, f := range open {
					if followUpIn(s, &f) {
						want = append(want, f.ID)
					}
				}
				if got := followIDs(mustDue(t, db, scope, "2099-12-31", 0)); !slices.Equal(got, want) {
					t.Errorf("due in %s: %v, want %v", scope, got, want)
				}
			}
			if diffs, err := db.Check(ctx); err != nil || len(diffs) != 0 {
				t.Fatalf("check after void: %q, %v", diffs, err)
			}

			// A new report of the key closes what is open now, and only that.
			next := mustSave(t, db, flows.Report{MsgKey: "next", Worker: "w1", Community: "c1", Grid: "g1",
				Flow: "visit", Kind: "elderly", Day: "2026-11-06", Target: "3-2-203", CreatedAt: testTime.Add(3 * time.Hour),
				FollowKey: key})
			for _, f := range open {
				if got, _ := db.FollowUp(ctx, f.ID); !got.Closed || got.ClosedBy != next.ID {
					t.Errorf("reopened follow-up after the next report: %+v", got)
				}
			}
			if got := mustDue(t, db, "all", "2099-12-31", 0); len(got) != 0 {
				t.Errorf("due after the next report: %+v", got)
			}
		})
	}
}
