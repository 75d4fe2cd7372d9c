package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/storage"
)

func followIDs(fs []flows.FollowUp) []uint64 {
	ids := make([]uint64, len(fs))
	for i, f := range fs {
		ids[i] = f.ID
	}
	return ids
}

func mustDue(t *testing.T, db Store, scope, until string, limit int) []flows.FollowUp {
	t.Helper()
	s, err := flows.ParseScope(scope)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := db.DueFollowUps(context.Background(), s, until, limit)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// testFollowUpLifecycle follows one household through reports that open
// and close its follow-ups, then a hand-opened schedule through replace,
// move and close by hand.
func testFollowUpLifecycle(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	key := flows.FollowKey("c1", "visit", "chronic", "3-2-201")

	r1 := visitReport("m1", "w1", "c1", "g1", "chronic", "2026-11-05")
	r1.FollowKey, r1.NextDue = key, "2027-02-03"
	r1 = mustSave(t, db, r1)
	due := mustDue(t, db, "worker:w1", "2027-02-03", 0)
	if len(due) != 1 {
		t.Fatalf("due after first visit: %+v", due)
	}
	f1 := due[0]
	want := flows.FollowUp{ID: f1.ID, Key: key, Community: "c1", Grid: "g1", Worker: "w1", Flow: "visit",
		Kind: "chronic", Target: "3-2-201", Due: "2027-02-03", OpenedBy: r1.ID}
	if f1 != want {
		t.Fatalf("opened %+v, want %+v", f1, want)
	}
	if got := mustDue(t, db, "worker:w1", "2027-02-02", 0); len(got) != 0 {
		t.Fatalf("due the day before: %+v", got)
	}

	// The next visit closes it and opens the next one.
	r2 := visitReport("m2", "w1", "c1", "g1", "chronic", "2027-02-01")
	r2.FollowKey, r2.NextDue, r2.CreatedAt = key, "2027-05-02", testTime.Add(90*24*time.Hour)
	r2 = mustSave(t, db, r2)
	closed1, err := db.FollowUp(ctx, f1.ID)
	if err != nil || !closed1.Closed || closed1.ClosedBy != r2.ID || !closed1.ClosedAt.Equal(r2.CreatedAt) {
		t.Fatalf("first follow-up after second visit: %+v, %v", closed1, err)
	}
	due = mustDue(t, db, "all", "2099-12-31", 0)
	if len(due) != 1 || due[0].Due != "2027-05-02" || due[0].OpenedBy != r2.ID {
		t.Fatalf("due after second visit: %+v", due)
	}
	f2 := due[0]

	// A visit with no next date closes without reopening.
	r3 := visitReport("m3", "w1", "c1", "g1", "chronic", "2027-05-01")
	r3.FollowKey = key
	r3 = mustSave(t, db, r3)
	if got := mustDue(t, db, "all", "2099-12-31", 0); len(got) != 0 {
		t.Fatalf("due after last visit: %+v", got)
	}
	if f, _ := db.FollowUp(ctx, f2.ID); !f.Closed || f.ClosedBy != r3.ID {
		t.Fatalf("second follow-up: %+v", f)
	}

	// By hand: a roster import opens one, a second import replaces it.
	hand := flows.FollowUp{Key: "c1|visit.elderly|5-1-101", Community: "c1", Grid: "g1", Worker: "w1",
		Flow: "visit", Kind: "elderly", Target: "5-1-101", Due: "2026-12-01"}
	f3, err := db.OpenFollowUp(ctx, hand)
	if err != nil || f3.ID == 0 || f3.Closed {
		t.Fatalf("open by hand: %+v, %v", f3, err)
	}
	hand.Due = "2026-12-15"
	f4, err := db.OpenFollowUp(ctx, hand)
	if err != nil || f4.ID == f3.ID {
		t.Fatalf("reopen by hand: %+v, %v", f4, err)
	}
	if f, _ := db.FollowUp(ctx, f3.ID); !f.Closed || f.Reason != storage.ReasonReplaced || f.ClosedBy != 0 {
		t.Fatalf("replaced follow-up: %+v", f)
	}
	if got := followIDs(mustDue(t, db, "grid:c1/g1", "2099-12-31", 0)); !slices.Equal(got, []uint64{f4.ID}) {
		t.Fatalf("due after replace: %v", got)
	}

	// Move it to w2: it leaves w1's list and joins w2's; the grid's is unchanged.
	moved, err := db.MoveFollowUp(ctx, f4.ID, "w2")
	if err != nil || moved.Worker != "w2" {
		t.Fatalf("move: %+v, %v", moved, err)
	}
	for _, tt := range []struct {
		scope string
		want  []uint64
	}{
		{"worker:w1", nil},
		{"worker:w2", []uint64{f4.ID}},
		{"grid:c1/g1", []uint64{f4.ID}},
		{"community:c1", []uint64{f4.ID}},
		{"all", []uint64{f4.ID}},
	} {
		if got := followIDs(mustDue(t, db, tt.scope, "2099-12-31", 0)); !slices.Equal(got, tt.want) {
			t.Fatalf("due in %s after move: %v, want %v", tt.scope, got, tt.want)
		}
	}
	if open, err := db.FollowUps(ctx, flows.Scope{Kind: flows.ScopeWorker, ID: "w2"}, false); err != nil || len(open) != 1 || open[0].Worker != "w2" {
		t.Fatalf("w2's open follow-ups: %+v, %v", open, err)
	}

	// Close it by hand.
	at := testTime.Add(40 * 24 * time.Hour)
	closed, err := db.CloseFollowUp(ctx, f4.ID, "迁出", at)
	if err != nil || !closed.Closed || closed.Reason != "迁出" || closed.ClosedBy != 0 || !closed.ClosedAt.Equal(at) {
		t.Fatalf("close by hand: %+v, %v", closed, err)
	}
	if got := mustDue(t, db, "all", "2099-12-31", 0); len(got) != 0 {
		t.Fatalf("due after close: %+v", got)
	}

	// Failures.
	_, err = db.CloseFollowUp(ctx, f4.ID, "死亡", at)
	wantCode(t, err, flows.EConflict)
	_, err = db.CloseFollowUp(ctx, 999, "死亡", at)
	wantCode(t, err, flows.ENotFound)
	_, err = db.MoveFollowUp(ctx, f4.ID, "w1")
	wantCode(t, err, flows.EConflict)
	_, err = db.MoveFollowUp(ctx, 999, "w1")
	wantCode(t, err, flows.ENotFound)
	_, err = db.FollowUp(ctx, 999)
	wantCode(t, err, flows.ENotFound)
	_, err = db.OpenFollowUp(ctx, flows.FollowUp{Key: "k", Community: "c1", Grid: "g1", Worker: "w1", Due: "soon"})
	wantCode(t, err, flows.EInvalid)

	// Listings.
	all := flows.Scope{Kind: flows.ScopeAll}
	closedAll, err := db.FollowUps(ctx, all, true)
	if err != nil || !slices.Equal(followIDs(closedAll), []uint64{f1.ID, f2.ID, f3.ID, f4.ID}) {
		t.Fatalf("closed follow-ups: %v, %v", followIDs(closedAll), err)
	}
	closedW2, err := db.FollowUps(ctx, flows.Scope{Kind: flows.ScopeWorker, ID: "w2"}, true)
	if err != nil || !slices.Equal(followIDs(closedW2), []uint64{f4.ID}) {
		t.Fatalf("w2's closed follow-ups: %v, %v", followIDs(closedW2), err)
	}
	if open, err := db.FollowUps(ctx, all, false); err != nil || len(open) != 0 {
		t.Fatalf("open follow-ups: %+v, %v", open, err)
	}
}

func testDueFollowUpsOrderAndLimit(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	in := []struct{ worker, community, grid, due string }{
		{"w1", "c1", "g1", "2026-11-10"},
		{"w2", "c1", "g1", "2026-11-01"},
		{"w1", "c1", "g1", "2026-11-05"},
		{"w3", "c1", "g2", "2026-12-01"},
		{"w2", "c1", "g1", "2026-11-05"},
		{"w4", "c2", "g1", "2026-10-30"},
	}
	ids := map[string]uint64{} // by worker+due
	for i, f := range in {
		got, err := db.OpenFollowUp(ctx, flows.FollowUp{Key: fmt.Sprintf("k%d", i), Worker: f.worker,
			Community: f.community, Grid: f.grid, Flow: "visit", Kind: "chronic", Target: fmt.Sprint(i), Due: f.due})
		if err != nil {
			t.Fatal(err)
		}
		ids[f.worker+" "+f.due] = got.ID
	}
	id := func(keys ...string) []uint64 {
		var out []uint64
		for _, k := range keys {
			out = append(out, ids[k])
		}
		return out
	}
	tests := []struct {
		scope, until string
		limit        int
		want         []uint64
	}{
		{"all", "2026-12-31", 0, id("w4 2026-10-30", "w2 2026-11-01", "w1 2026-11-05", "w2 2026-11-05", "w1 2026-11-10", "w3 2026-12-01")},
		{"all", "2026-11-05", 0, id("w4 2026-10-30", "w2 2026-11-01", "w1 2026-11-05", "w2 2026-11-05")},
		{"all", "2026-12-31", 2, id("w4 2026-10-30", "w2 2026-11-01")},
		{"all", "2026-10-29", 0, nil},
		{"community:c1", "2026-11-30", 0, id("w2 2026-11-01", "w1 2026-11-05", "w2 2026-11-05", "w1 2026-11-10")},
		{"community:c1", "2026-11-30", 3, id("w2 2026-11-01", "w1 2026-11-05", "w2 2026-11-05")},
		{"grid:c1/g2", "2026-12-31", 0, id("w3 2026-12-01")},
		{"worker:w1", "2026-12-31", 1, id("w1 2026-11-05")},
		{"worker:w2", "2026-11-05", 0, id("w2 2026-11-01", "w2 2026-11-05")},
		{"worker:w9", "2026-12-31", 0, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s<=%s/limit=%d", tt.scope, tt.until, tt.limit), func(t *testing.T) {
			if got := followIDs(mustDue(t, db, tt.scope, tt.until, tt.limit)); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	_, err := db.DueFollowUps(ctx, flows.Scope{Kind: flows.ScopeAll}, "tomorrow", 0)
	wantCode(t, err, flows.EInvalid)
}

// A back-dated report, older than the visit that set the current schedule,
// leaves that schedule alone: it neither closes it nor moves its date.
func testBackdatedReportKeepsNewerSchedule(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	key := flows.FollowKey("c1", "visit", "chronic", "3-2-201")

	today := visitReport("m1", "w1", "c1", "g1", "chronic", "2026-11-28")
	today.FollowKey, today.NextDue = key, "2027-02-26"
	today = mustSave(t, db, today)

	older := visitReport("m2", "w1", "c1", "g1", "chronic", "2026-11-05")
	older.FollowKey, older.NextDue = key, "2027-02-03"
	saved := mustSave(t, db, older)
	if saved.FollowKey != "" || saved.NextDue != "" {
		t.Errorf("back-dated report kept its follow-up effect: %+v", saved)
	}
	due := mustDue(t, db, "all", "2099-12-31", 0)
	if len(due) != 1 || due[0].Due != "2027-02-26" || due[0].OpenedBy != today.ID {
		t.Fatalf("due after a back-dated visit: %+v", due)
	}

	// Voiding the back-dated report changes nothing either.
	if _, err := db.VoidReport(ctx, saved.ID, testTime); err != nil {
		t.Fatal(err)
	}
	if got := mustDue(t, db, "all", "2099-12-31", 0); len(got) != 1 || got[0].ID != due[0].ID {
		t.Fatalf("due after voiding the back-dated visit: %+v", got)
	}

	// A visit of the same day as the schedule's still counts as the next one.
	same := visitReport("m3", "w1", "c1", "g1", "chronic", "2026-11-28")
	same.FollowKey, same.NextDue = key, "2027-02-27"
	mustSave(t, db, same)
	if got := mustDue(t, db, "all", "2099-12-31", 0); len(got) != 1 || got[0].Due != "2027-02-27" {
		t.Fatalf("due after a same-day visit: %+v", got)
	}
	if diffs, err := db.Check(ctx); err != nil || len(diffs) > 0 {
		t.Fatalf("check: %v %v", diffs, err)
	}
}
