package storetest

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gridbot/flows"
)

// Counter names a stored counter for Driver.Tamper: Table "tallies"
// (Delta in thousandths), "households" (a distinct-household counter) or
// "coverage"; a counter that reaches zero is deleted.
type Counter struct {
	Table                            string
	Scope, Household, Period, Metric string
	Delta                            int64
}

// hhVisit is a household visit of one or more kinds.
func hhVisit(msgKey, worker, grid, target, day string, kinds ...string) flows.Report {
	r := flows.Report{MsgKey: msgKey, Worker: worker, Community: "c1", Grid: grid, Flow: "visit",
		Kind: kinds[0], Day: day, Target: target, Household: true, CreatedAt: testTime}
	if len(kinds) > 1 {
		r.Kinds = kinds
	}
	return r
}

// mustCheck fails when Check finds any difference.
func mustCheck(t *testing.T, db Store) {
	t.Helper()
	diffs, err := db.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 0 {
		t.Fatalf("check: %q", diffs)
	}
}

type tallyWant struct {
	scope, period string
	want          flows.Counts
}

func checkTallies(t *testing.T, db Store, label string, wants []tallyWant) {
	t.Helper()
	for _, w := range wants {
		if c := mustTally(t, db, w.scope, w.period); !sameCounts(c, w.want) {
			t.Errorf("%s: %s %s: %v, want %v", label, w.scope, w.period, c, w.want)
		}
	}
}

// Households are counted distinct (户) beside visits (户次) in every scope
// and period; several kinds count each kind; Times counts sessions and
// visits without a household; voiding takes a household out only when no
// other visit of it remains in the scope and period.
func testDistinctHouseholds(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	a1 := mustSave(t, db, hhVisit("a1", "w1", "g1", "3-2-201", "2026-11-05", "chronic"))
	a2 := mustSave(t, db, hhVisit("a2", "w1", "g1", "3-2-201", "2026-11-05", "chronic")) // the same again
	mustSave(t, db, hhVisit("a3", "w1", "g1", "3-2-201", "2026-11-20", "elderly"))
	mustSave(t, db, hhVisit("a4", "w1", "g1", "3-2-202", "2026-11-06", "chronic"))
	mustSave(t, db, hhVisit("a5", "w1", "g1", "7-2-306", "2026-11-21", "chronic", "elderly"))
	mustSave(t, db, hhVisit("a6", "w1", "g1", "阳光花园3-2-201", "2026-11-22", "other")) // another estate's 3-2-201
	mustSave(t, db, hhVisit("b1", "w2", "g2", "3-2-201", "2026-12-01", "chronic"))
	// "走访3户 不登记户号": three visits, no household, no follow-up.
	mustSave(t, db, flows.Report{MsgKey: "n1", Worker: "w1", Community: "c1", Grid: "g1", Flow: "visit", Kind: "other",
		Times: 3, Day: "2026-11-07", CreatedAt: testTime})
	// "讲座2场": two sessions.
	mustSave(t, db, flows.Report{MsgKey: "l1", Worker: "w1", Community: "c1", Grid: "g1", Flow: "campaign", Kind: "lecture",
		Times: 2, Day: "2026-11-08", Counts: map[string]float64{"participants": 60}, CreatedAt: testTime})

	checkTallies(t, db, "saved", []tallyWant{
		{"all", "2026-11", flows.Counts{
			"visit": 9, "visit.households": 4,
			"visit.chronic": 4, "visit.chronic.households": 3,
			"visit.elderly": 2, "visit.elderly.households": 2,
			"visit.other": 4, "visit.other.households": 1,
			"campaign": 2, "campaign.lecture": 2, "participants": 60,
		}},
		{"worker:w1", "2026-11-05", flows.Counts{"visit": 2, "visit.households": 1, "visit.chronic": 2, "visit.chronic.households": 1}},
		{"worker:w2", "2026-12", flows.Counts{"visit": 1, "visit.households": 1, "visit.chronic": 1, "visit.chronic.households": 1}},
		{"grid:c1/g1", "2026", flows.Counts{
			"visit": 9, "visit.households": 4,
			"visit.chronic": 4, "visit.chronic.households": 3,
			"visit.elderly": 2, "visit.elderly.households": 2,
			"visit.other": 4, "visit.other.households": 1,
			"campaign": 2, "campaign.lecture": 2, "participants": 60,
		}},
		// Two workers of two grids visited 3-2-201: one household in the community's year.
		{"community:c1", "2026", flows.Counts{
			"visit": 10, "visit.households": 4,
			"visit.chronic": 5, "visit.chronic.households": 3,
			"visit.elderly": 2, "visit.elderly.households": 2,
			"visit.other": 4, "visit.other.households": 1,
			"campaign": 2, "campaign.lecture": 2, "participants": 60,
		}},
	})
	mustCheck(t, db)

	if n, err := db.HouseholdVisits(ctx, "c1", "3-2-201", "visit.chronic", "2026-11-05"); err != nil || n != 2 {
		t.Fatalf("visits of 3-2-201 on 11-05: %d, %v", n, err)
	}
	if n, err := db.HouseholdVisits(ctx, "c1", "3-2-201", "visit.chronic", "2026-11-06"); err != nil || n != 0 {
		t.Fatalf("visits of 3-2-201 on 11-06: %d, %v", n, err)
	}
	if n, err := db.HouseholdVisits(ctx, "c1", "3-2-201", "visit", "2026"); err != nil || n != 4 {
		t.Fatalf("visits of 3-2-201 in 2026: %d, %v", n, err)
	}
	_, err := db.HouseholdVisits(ctx, "c1", "3-2-201", "visit", "11-05")
	wantCode(t, err, flows.EInvalid)

	// Voiding one of two visits of the day keeps the household.
	if _, err := db.VoidReport(ctx, a2.ID, testTime); err != nil {
		t.Fatal(err)
	}
	checkTallies(t, db, "one voided", []tallyWant{
		{"worker:w1", "2026-11-05", flows.Counts{"visit": 1, "visit.households": 1, "visit.chronic": 1, "visit.chronic.households": 1}},
	})
	if n, _ := db.HouseholdVisits(ctx, "c1", "3-2-201", "visit.chronic", "2026-11-05"); n != 1 {
		t.Fatalf("after a void: %d visits on 11-05", n)
	}
	// Voiding the other takes it out of the day and of the month's
	// chronic households, but the month keeps it for its elderly visit.
	if _, err := db.VoidReport(ctx, a1.ID, testTime); err != nil {
		t.Fatal(err)
	}
	checkTallies(t, db, "both voided", []tallyWant{
		{"worker:w1", "2026-11-05", flows.Counts{}},
		{"all", "2026-11", flows.Counts{
			"visit": 7, "visit.households": 4,
			"visit.chronic": 2, "visit.chronic.households": 2,
			"visit.elderly": 2, "visit.elderly.households": 2,
			"visit.other": 4, "visit.other.households": 1,
			"campaign": 2, "campaign.lecture": 2, "participants": 60,
		}},
		{"community:c1", "2026", flows.Counts{
			"visit": 8, "visit.households": 4,
			"visit.chronic": 3, "visit.chronic.households": 3,
			"visit.elderly": 2, "visit.elderly.households": 2,
			"visit.other": 4, "visit.other.households": 1,
			"campaign": 2, "campaign.lecture": 2, "participants": 60,
		}},
	})
	mustCheck(t, db)
}

func testSaveReportInvalidKindsAndTimes(t *testing.T, d Driver) {
	db := d.Open(t)
	tests := []struct {
		name string
		r    flows.Report
	}{
		{"kind is not the first kind", func() flows.Report {
			r := hhVisit("m", "w1", "g1", "1-1-101", "2026-11-05", "chronic", "elderly")
			r.Kind = "elderly"
			return r
		}()},
		{"repeated kind", hhVisit("m", "w1", "g1", "1-1-101", "2026-11-05", "chronic", "chronic")},
		{"negative times", func() flows.Report {
			r := hhVisit("m", "w1", "g1", "1-1-101", "2026-11-05", "chronic")
			r.Household, r.Target, r.Times = false, "", -1
			return r
		}()},
		{"a household visited 3 times in one report", func() flows.Report {
			r := hhVisit("m", "w1", "g1", "1-1-101", "2026-11-05", "chronic")
			r.Times = 3
			return r
		}()},
		{"household without target", func() flows.Report {
			r := hhVisit("m", "w1", "g1", "1-1-101", "2026-11-05", "chronic")
			r.Target = ""
			return r
		}()},
		{"effect without key", func() flows.Report {
			r := hhVisit("m", "w1", "g1", "1-1-101", "2026-11-05", "chronic")
			r.Follows = []flows.FollowEffect{{Kind: "chronic", NextDue: "2027-02-03"}}
			return r
		}()},
		{"same key twice", func() flows.Report {
			r := hhVisit("m", "w1", "g1", "1-1-101", "2026-11-05", "chronic")
			k := flows.FollowKey("c1", "visit", "chronic", "1-1-101")
			r.Follows = []flows.FollowEffect{{Key: k}, {Key: k}}
			return r
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := db.SaveReport(context.Background(), tt.r)
			wantCode(t, err, flows.EInvalid)
		})
	}
	if c := mustTally(t, db, "all", "2026"); len(c) != 0 {
		t.Fatalf("invalid reports counted: %v", c)
	}
}

// A visit of several kinds closes every open follow-up of the household
// its kinds cover and opens the next of each; voiding it undoes all of it.
func testMultiKindFollowUps(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	chronic := flows.FollowKey("c1", "visit", "chronic", "7-2-306")
	elderly := flows.FollowKey("c1", "visit", "elderly", "7-2-306")
	var roster []flows.FollowUp
	for _, k := range []struct{ key, kind string }{{chronic, "chronic"}, {elderly, "elderly"}} {
		f, err := db.OpenFollowUp(ctx, flows.FollowUp{Key: k.key, Community: "c1", Grid: "g1", Worker: "w1",
			Flow: "visit", Kind: k.kind, Target: "7-2-306", Due: "2026-11-10"})
		if err != nil {
			t.Fatal(err)
		}
		roster = append(roster, f)
	}
	r := hhVisit("m1", "w1", "g1", "7-2-306", "2026-11-05", "chronic", "elderly")
	r.Follows = []flows.FollowEffect{
		{Key: chronic, Kind: "chronic", NextDue: "2027-02-03"},
		{Key: elderly, Kind: "elderly", NextDue: "2026-12-05"},
	}
	saved := mustSave(t, db, r)
	if len(saved.Follows) != 2 || saved.Follows[0].Closed != roster[0].ID || saved.Follows[1].Closed != roster[1].ID ||
		saved.Follows[0].Opened == 0 || saved.Follows[1].Opened == 0 {
		t.Fatalf("saved effects: %+v", saved.Follows)
	}
	if saved.FollowKey != chronic || saved.NextDue != "2027-02-03" || saved.ClosedFollowUp != roster[0].ID {
		t.Fatalf("one-effect mirror: %q %q %d", saved.FollowKey, saved.NextDue, saved.ClosedFollowUp)
	}
	if back, err := db.Report(ctx, saved.ID); err != nil || !reflect.DeepEqual(back.Follows, saved.Follows) ||
		!reflect.DeepEqual(back.Kinds, []string{"chronic", "elderly"}) {
		t.Fatalf("read back: %+v, %v", back, err)
	}
	due := mustDue(t, db, "worker:w1", "2099-12-31", 0)
	if len(due) != 2 || due[0].Kind != "elderly" || due[0].Due != "2026-12-05" || due[1].Kind != "chronic" || due[1].Due != "2027-02-03" {
		t.Fatalf("open after the visit: %+v", due)
	}
	if _, err := db.VoidReport(ctx, saved.ID, testTime.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	due = mustDue(t, db, "worker:w1", "2099-12-31", 0)
	if len(due) != 2 || due[0] != roster[0] || due[1] != roster[1] {
		t.Fatalf("open after the void: %+v, want %+v", due, roster)
	}
}

// A visit to a household whose open follow-up belongs to a worker of
// another grid is counted, leaves that follow-up exactly as it was, and
// says whose it is; voiding it changes nothing either.
func testForeignGridFollowUpUntouched(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	key := flows.FollowKey("c1", "visit", "chronic", "3-2-201")
	owned, err := db.OpenFollowUp(ctx, flows.FollowUp{Key: key, Community: "c1", Grid: "g3", Worker: "zhang",
		Flow: "visit", Kind: "chronic", Target: "3-2-201", Due: "2026-11-10"})
	if err != nil {
		t.Fatal(err)
	}
	r := hhVisit("m1", "w1", "g1", "3-2-201", "2026-11-05", "chronic")
	r.FollowKey, r.NextDue = key, "2027-02-03"
	saved := mustSave(t, db, r)
	want := []flows.FollowEffect{{Key: key, Kind: "chronic", Foreign: owned.ID, Owner: "zhang", OwnerGrid: "g3"}}
	if !reflect.DeepEqual(saved.Follows, want) || saved.FollowKey != "" || saved.NextDue != "" || saved.ClosedFollowUp != 0 {
		t.Fatalf("saved: follows %+v key %q due %q closed %d", saved.Follows, saved.FollowKey, saved.NextDue, saved.ClosedFollowUp)
	}
	still := func(label string) {
		t.Helper()
		got, err := db.FollowUp(ctx, owned.ID)
		if err != nil || got != owned {
			t.Fatalf("%s: follow-up %+v, %v, want %+v", label, got, err, owned)
		}
		if due := mustDue(t, db, "all", "2099-12-31", 0); len(due) != 1 || due[0] != owned {
			t.Fatalf("%s: open %+v", label, due)
		}
	}
	still("after the visit")
	checkTallies(t, db, "visit", []tallyWant{{"worker:w1", "2026-11", flows.Counts{
		"visit": 1, "visit.households": 1, "visit.chronic": 1, "visit.chronic.households": 1}}})
	if _, err := db.VoidReport(ctx, saved.ID, testTime); err != nil {
		t.Fatal(err)
	}
	still("after the void")
	// Once a supervisor has handed it to w1, w1's visit closes it.
	if _, err := db.MoveFollowUp(ctx, owned.ID, "w1"); err != nil {
		t.Fatal(err)
	}
	r = hhVisit("m2", "w1", "g1", "3-2-201", "2026-11-06", "chronic")
	r.FollowKey, r.NextDue = key, "2027-02-04"
	if s := mustSave(t, db, r); s.ClosedFollowUp != owned.ID || s.Follows[0].Opened == 0 || s.Follows[0].Foreign != 0 {
		t.Fatalf("visit after the move: %+v", s.Follows)
	}
}

// seedRoster puts the roster TestCoverage reads.
func seedRoster(t *testing.T, db Store) {
	t.Helper()
	added, err := db.PutHouseholds(context.Background(), []flows.Household{
		{Community: "c1", Grid: "g1", Household: "3-2-201", Tags: []string{"高血压"}},
		{Community: "c1", Grid: "g1", Household: "3-2-202", Tags: []string{"糖尿病", "独居老人"}},
		{Community: "c1", Grid: "g1", Household: "3-2-203", Tags: []string{"高血压糖尿病"}},
		{Community: "c1", Grid: "g2", Household: "5-1-101", Tags: []string{"独居"}},
	})
	if err != nil || added != 4 {
		t.Fatalf("roster: %d added, %v", added, err)
	}
}

func mustCoverage(t testing.TB, db flows.Store, scope, period string) flows.Coverage {
	t.Helper()
	s, err := flows.ParseScope(scope)
	if err != nil {
		t.Fatal(err)
	}
	cv, err := db.Coverage(context.Background(), s, period)
	if err != nil {
		t.Fatal(err)
	}
	return cv
}

// covLine is the figures of a Coverage on one line, for comparisons.
func covLine(cv flows.Coverage) string {
	s := fmt.Sprintf("hh %d visited %d rate %g tags %v", cv.Households, cv.Visited, cv.VisitRate, cv.Tags)
	for _, m := range cv.Managed {
		s += fmt.Sprintf(" | %s %d/%d %g fu %d", m.Tag, m.Managed, m.Patients, m.Rate, m.FollowUps)
	}
	return s
}

// testCoverage counts 入户率 and 规范管理 from a small roster: visits in
// the roster's grid whoever makes them, patients managed at their fourth
// chronic visit of the year and no longer when one is voided, households
// put on the roster after their visits, a household moved to another grid.
func testCoverage(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	seedRoster(t, db)
	var first flows.Report
	for i, day := range []string{"2026-01-10", "2026-04-10", "2026-07-10", "2026-11-10"} {
		r := mustSave(t, db, hhVisit(fmt.Sprint("h201-", i), "w1", "g1", "3-2-201", day, "chronic"))
		if i == 0 {
			first = r
		}
	}
	for i, day := range []string{"2026-02-10", "2026-05-10", "2026-08-10"} {
		mustSave(t, db, hhVisit(fmt.Sprint("h203-", i), "w1", "g1", "3-2-203", day, "chronic"))
	}
	mustSave(t, db, hhVisit("h202", "w1", "g1", "3-2-202", "2026-11-11", "elderly"))
	mustSave(t, db, hhVisit("h101", "w1", "g1", "5-1-101", "2026-11-12", "elderly")) // g1's worker, g2's household
	mustSave(t, db, hhVisit("h901", "w1", "g1", "9-9-901", "2026-11-13", "chronic")) // not on the roster (yet)

	tags := "map[独居老人:2 糖尿病:2 高血压:2]"
	checks := []struct{ scope, period, want string }{
		{"community:c1", "2026-11", "hh 4 visited 3 rate 0.75 tags " + tags + " | 高血压 1/2 0.5 fu 7 | 糖尿病 0/2 0 fu 3"},
		{"grid:c1/g1", "2026-11", "hh 3 visited 2 rate 0.6667 tags map[独居老人:1 糖尿病:2 高血压:2] | 高血压 1/2 0.5 fu 7 | 糖尿病 0/2 0 fu 3"},
		{"grid:c1/g2", "2026-11", "hh 1 visited 1 rate 1 tags map[独居老人:1] | 高血压 0/0 0 fu 0 | 糖尿病 0/0 0 fu 0"},
		{"all", "2026", "hh 4 visited 4 rate 1 tags " + tags + " | 高血压 1/2 0.5 fu 7 | 糖尿病 0/2 0 fu 3"},
		{"all", "2026-11-10", "hh 4 visited 1 rate 0.25 tags " + tags + " | 高血压 1/2 0.5 fu 7 | 糖尿病 0/2 0 fu 3"},
		{"all", "2025", "hh 4 visited 0 rate 0 tags " + tags + " | 高血压 0/2 0 fu 0 | 糖尿病 0/2 0 fu 0"},
	}
	for _, c := range checks {
		if got := covLine(mustCoverage(t, db, c.scope, c.period)); got != c.want {
			t.Errorf("%s %s:\n got %s\nwant %s", c.scope, c.period, got, c.want)
		}
	}
	mustCheck(t, db)

	// The fourth visit of 3-2-203 (in November, by a worker of another
	// grid) manages both its tags; voiding a visit of 3-2-201 takes it
	// back to three.
	mustSave(t, db, hhVisit("h203-3", "w2", "g2", "3-2-203", "2026-11-20", "chronic", "elderly"))
	if _, err := db.VoidReport(ctx, first.ID, testTime); err != nil {
		t.Fatal(err)
	}
	want := "hh 4 visited 4 rate 1 tags " + tags + " | 高血压 1/2 0.5 fu 7 | 糖尿病 1/2 0.5 fu 4"
	if got := covLine(mustCoverage(t, db, "community:c1", "2026-11")); got != want {
		t.Errorf("after the fourth and a void:\n got %s\nwant %s", got, want)
	}
	mustCheck(t, db)

	// 9-9-901 joins the roster after its visit: it counts as visited.
	// 3-2-201 moves to g2 with a new tag.
	added, err := db.PutHouseholds(ctx, []flows.Household{
		{Community: "c1", Grid: "g1", Household: "9-9-901", Tags: []string{"高血压病"}},
		{Community: "c1", Grid: "g2", Household: "3-2-201", Tags: []string{"高血压", "独居老人"}},
	})
	if err != nil || added != 1 {
		t.Fatalf("second import: %d added, %v", added, err)
	}
	checks = []struct{ scope, period, want string }{
		{"community:c1", "2026-11", "hh 5 visited 5 rate 1 tags map[独居老人:3 糖尿病:2 高血压:3] | 高血压 1/3 0.3333 fu 8 | 糖尿病 1/2 0.5 fu 4"},
		{"grid:c1/g1", "2026-11", "hh 3 visited 3 rate 1 tags map[独居老人:1 糖尿病:2 高血压:2] | 高血压 1/2 0.5 fu 5 | 糖尿病 1/2 0.5 fu 4"},
		{"grid:c1/g2", "2026", "hh 2 visited 2 rate 1 tags map[独居老人:2 高血压:1] | 高血压 0/1 0 fu 3 | 糖尿病 0/0 0 fu 0"},
	}
	for _, c := range checks {
		if got := covLine(mustCoverage(t, db, c.scope, c.period)); got != c.want {
			t.Errorf("%s %s:\n got %s\nwant %s", c.scope, c.period, got, c.want)
		}
	}
	mustCheck(t, db)

	_, err = db.Coverage(ctx, flows.Scope{Kind: flows.ScopeWorker, ID: "w1"}, "2026")
	wantCode(t, err, flows.EInvalid)
	_, err = db.Coverage(ctx, flows.Scope{Kind: flows.ScopeAll}, "2026-13")
	wantCode(t, err, flows.EInvalid)
	_, err = db.PutHouseholds(ctx, []flows.Household{{Community: "c1", Household: "1-1-1"}})
	wantCode(t, err, flows.EInvalid)
}

// Check recomputes the distinct households and the coverage and names
// every counter tampered with behind the store's back.
func testCheckHouseholds(t *testing.T, d Driver) {
	db := d.Open(t)
	seedRoster(t, db)
	mustSave(t, db, hhVisit("a", "w1", "g1", "3-2-201", "2026-11-05", "chronic"))
	mustSave(t, db, hhVisit("b", "w1", "g1", "3-2-201", "2026-11-06", "chronic"))
	mustCheck(t, db)
	if d.Tamper == nil {
		t.Skip("the driver cannot tamper with its counters")
	}
	hid := flows.HouseholdID("c1", "3-2-201")
	d.Tamper(t, db, Counter{Table: "tallies", Scope: "all", Period: "2026-11", Metric: "visit.households", Delta: flows.Milli})
	d.Tamper(t, db, Counter{Table: "households", Scope: "grid:c1/g1", Household: hid, Period: "2026", Metric: "visit.chronic", Delta: -2})
	d.Tamper(t, db, Counter{Table: "coverage", Scope: "grid:c1/g1", Period: "2026-11", Metric: "visited", Delta: 1})
	diffs, err := db.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"all 2026-11 visit.households: stored 2, recomputed 1",
		"coverage grid:c1/g1 2026-11 visited: stored 2, recomputed 1",
		"households grid:c1/g1 c1/3-2-201 2026 visit.chronic: stored 0, recomputed 2",
	}
	if strings.Join(diffs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("diffs:\n%s\nwant:\n%s", strings.Join(diffs, "\n"), strings.Join(want, "\n"))
	}
}

// testHouseholdsConcurrent saves, voids and re-imports the same few
// households from many goroutines at once: the distinct counts and the
// coverage end as the reports and the roster say (Check finds nothing),
// however the transactions interleave.
func testHouseholdsConcurrent(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	seedRoster(t, db)
	targets := []string{"3-2-201", "3-2-202", "3-2-203", "5-1-101", "9-9-901"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 12 {
				r := hhVisit(fmt.Sprintf("g%d-%d", g, i), fmt.Sprintf("w%d", g), fmt.Sprintf("g%d", 1+g%2),
					targets[(g+i)%len(targets)], fmt.Sprintf("2026-%02d-10", 1+i%12), "chronic", "elderly")
				r.Kinds = r.Kinds[:1+i%2]
				if len(r.Kinds) == 1 {
					r.Kinds = nil
				}
				saved, _, err := db.SaveReport(ctx, r)
				if err != nil {
					t.Error(err)
					return
				}
				if i%3 == 0 {
					if _, err := db.VoidReport(ctx, saved.ID, testTime); err != nil {
						t.Error(err)
						return
					}
				}
				if i%4 == 0 {
					h := flows.Household{Community: "c1", Grid: fmt.Sprintf("g%d", 1+i%2), Household: targets[g%len(targets)],
						Tags: []string{"高血压", "糖尿病"}[g%2:]}
					if _, err := db.PutHouseholds(ctx, []flows.Household{h}); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	mustCheck(t, db)
	// Every target was visited and not every visit voided: five
	// households in the year, all five on the roster by now visited.
	if c := mustTally(t, db, "community:c1", "2026"); c["visit.households"] != 5 || c["visit"] != 64 {
		t.Fatalf("year: %v", c)
	}
	if cv := mustCoverage(t, db, "community:c1", "2026"); cv.Households != 5 || cv.Visited != 5 {
		t.Fatalf("coverage: %s", covLine(cv))
	}
}
