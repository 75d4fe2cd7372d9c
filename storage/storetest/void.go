package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/storage"
)

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
