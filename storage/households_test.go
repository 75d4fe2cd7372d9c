package storage

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"gridbot/flows"
)

// mustCheck fails when Check finds any difference.
func mustCheck(t *testing.T, db *DB) {
	t.Helper()
	diffs, err := db.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 0 {
		t.Fatalf("check: %q", diffs)
	}
}

// Records saved before several kinds and households were counted read as
// one kind, once, not a household, with their one follow-up effect.
func TestOldReportRecordsCount(t *testing.T) {
	data := `{"id":7,"worker":"w1","community":"c1","grid":"g1","flow":"visit","kind":"elderly","day":"2026-11-05","target":"3-2-203","created_at":"2026-11-05T09:30:00+08:00","follow_key":"c1|visit.elderly|3-2-203","next_due":"2026-12-05","rev":2,"closed_followup":3}`
	var rec reportRec
	if err := decode(append([]byte{recordV1}, data...), &rec); err != nil {
		t.Fatal(err)
	}
	r := rec.report()
	if m := r.Metrics(); !reflect.DeepEqual(m, map[string]int64{"visit": 1000, "visit.elderly": 1000}) {
		t.Fatalf("metrics %v", m)
	}
	want := []flows.FollowEffect{{Key: "c1|visit.elderly|3-2-203", Kind: "elderly", NextDue: "2026-12-05", Closed: 3}}
	if r.Household || r.DistinctMetrics() != nil || !reflect.DeepEqual(r.Follows, want) || r.ClosedFollowUp != 3 {
		t.Fatalf("read as %+v", r)
	}
}

func mustCoverage(t *testing.T, db *DB, scope, period string) flows.Coverage {
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

// The benchmarks' fill writes the counters n SaveReports and a
// PutHouseholds would: the same tallies and coverage, and Check finds
// nothing to correct.
func TestFillMatchesCheck(t *testing.T) {
	ctx := context.Background()
	const n = 3000
	filled := fillReports(t, filepath.Join(t.TempDir(), "fill.db"), n, true, coverageRoster())
	defer filled.Close()
	mustCheck(t, filled)
	saved := newTestDB(t)
	saved.bolt.NoSync = true // the same writes, without waiting for the disk
	for i := range n {
		r := benchReport(i)
		r.FollowKey, r.NextDue, r.Household = "", "", r.Target != ""
		mustSave(t, saved, r)
	}
	if _, err := saved.PutHouseholds(ctx, coverageRoster()); err != nil {
		t.Fatal(err)
	}
	for _, sc := range []string{"all", "community:c3", "grid:c3/g0", "worker:w7"} {
		for _, p := range []string{"2026", "2026-03", "2026-03-05"} {
			if a, b := mustTally(t, filled, sc, p), mustTally(t, saved, sc, p); !sameCounts(a, b) || (sc == "all" && a["visit.households"] == 0) {
				t.Errorf("%s %s: filled %v, saved %v", sc, p, a, b)
			}
			if sc == "worker:w7" {
				continue
			}
			if a, b := covLine(mustCoverage(t, filled, sc, p)), covLine(mustCoverage(t, saved, sc, p)); a != b {
				t.Errorf("coverage %s %s: filled %s, saved %s", sc, p, a, b)
			}
		}
	}
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

type tallyWant struct {
	scope, period string
	want          flows.Counts
}

func checkTallies(t *testing.T, db *DB, label string, wants []tallyWant) {
	t.Helper()
	for _, w := range wants {
		if c := mustTally(t, db, w.scope, w.period); !sameCounts(c, w.want) {
			t.Errorf("%s: %s %s: %v, want %v", label, w.scope, w.period, c, w.want)
		}
	}
}
