package storage

import (
	"context"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"gridbot/flows"
)

// voidStep is one action of a TestVoidReportFollowUps case. Reports and
// follow-ups are named: a follow-up by what opened it (a report name, or
// the name of a roster import).
type voidStep struct {
	op     string // save, void, close (a follow-up by hand), import (open by hand), legacy
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

// TestVoidReportFollowUps voids reports with follow-up effects: the
// follow-up the report opened is closed (撤销) and the one it closed is
// reopened exactly as it was, unless the schedule has moved on since.
func TestVoidReportFollowUps(t *testing.T) {
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
			want: map[string]fuWant{"r1": {open: true}, "r2": {reason: ReasonVoided}},
		},
		{
			name: "second visit by another worker of the grid",
			flow: "visit",
			steps: []voidStep{
				{op: "save", name: "r1", worker: "w1", due: "2026-12-05"},
				{op: "save", name: "r2", worker: "w2", due: "2027-01-04"},
				{op: "void", name: "r2"},
			},
			want: map[string]fuWant{"r1": {open: true}, "r2": {reason: ReasonVoided}},
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
			want: map[string]fuWant{"r1": {reason: ReasonVoided}, "r2": {reason: ReasonVoided}},
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
			want: map[string]fuWant{"r1": {reason: ReasonVoided}},
		},
		{
			name: "inspection re-check still failing",
			flow: "inspection",
			steps: []voidStep{
				{op: "save", name: "r1", worker: "w1", due: "2026-11-08"},
				{op: "save", name: "r2", worker: "w1", due: "2026-11-15"},
				{op: "void", name: "r2"},
			},
			want: map[string]fuWant{"r1": {open: true}, "r2": {reason: ReasonVoided}},
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
			want: map[string]fuWant{"r1": {closedBy: "r2"}, "r2": {reason: ReasonReplaced}, "roster": {open: true}},
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
			want: map[string]fuWant{"r1": {open: true}, "r2": {reason: ReasonVoided}, "r3": {reason: ReasonVoided}},
		},
		{
			name: "record saved before closed follow-ups were recorded",
			flow: "visit",
			steps: []voidStep{
				{op: "save", name: "r1", worker: "w1", due: "2026-12-05"},
				{op: "save", name: "r2", worker: "w1", due: "2027-01-04"},
				{op: "legacy", name: "r2"},
				{op: "void", name: "r2"},
			},
			want: map[string]fuWant{"r1": {closedBy: "r2"}, "r2": {reason: ReasonVoided}},
		},
	}
	grids := map[string]string{"w1": "g1", "w2": "g1"} // another grid's follow-ups: TestForeignGridFollowUpUntouched
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := newTestDB(t)
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
				case "legacy": // rewrite the record as saved before reportRev2
					err := db.bolt.Update(func(tx *bolt.Tx) error {
						rec, err := getReportRec(tx, reports[st.name].ID)
						if err != nil {
							return err
						}
						rec.FollowKey, rec.NextDue = rec.Follows[0].Key, rec.Follows[0].NextDue
						rec.Rev, rec.ClosedFollowUp, rec.Follows = 0, 0, nil
						return putRecord(tx, reportsBucket, itob(rec.ID), &rec)
					})
					if err != nil {
						t.Fatal(err)
					}
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
				if w.reason == ReasonVoided && (got.ClosedBy != 0 || !got.ClosedAt.Equal(voidAt)) {
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
			// The open-by-key index names the open one, or none.
			err := db.bolt.View(func(tx *bolt.Tx) error {
				id := tx.Bucket(followUpsOpenBucket).Get([]byte(key))
				switch {
				case len(open) == 0 && id != nil:
					t.Errorf("open index names %d, want none", btoi(id))
				case len(open) == 1 && (id == nil || btoi(id) != open[0].ID):
					t.Errorf("open index names %x, want %d", id, open[0].ID)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
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

// TestReportRecordRevisions decodes a report record as stored before
// reportRev2 and one stored after.
func TestReportRecordRevisions(t *testing.T) {
	tests := []struct {
		name       string
		data       string
		wantRev    int
		wantClosed uint64
	}{
		{"before rev 2", `{"id":7,"worker":"w1","community":"c1","grid":"g1","flow":"visit","kind":"elderly","day":"2026-11-05","target":"3-2-203","created_at":"2026-11-05T09:30:00+08:00","follow_key":"c1|visit.elderly|3-2-203","next_due":"2026-12-05"}`, 0, 0},
		{"rev 2", `{"id":7,"worker":"w1","community":"c1","grid":"g1","flow":"visit","kind":"elderly","day":"2026-11-05","target":"3-2-203","created_at":"2026-11-05T09:30:00+08:00","follow_key":"c1|visit.elderly|3-2-203","next_due":"2026-12-05","rev":2,"closed_followup":3}`, reportRev2, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec reportRec
			if err := decode(append([]byte{recordV1}, tt.data...), &rec); err != nil {
				t.Fatal(err)
			}
			r := rec.report()
			if rec.Rev != tt.wantRev || rec.ClosedFollowUp != tt.wantClosed || r.ID != 7 || r.NextDue != "2026-12-05" ||
				r.FollowKey != "c1|visit.elderly|3-2-203" || !r.CreatedAt.Equal(testTime) {
				t.Fatalf("decoded %+v as %+v", rec, r)
			}
		})
	}
}
