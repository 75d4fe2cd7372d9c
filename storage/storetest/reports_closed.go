package storetest

import (
	"context"
	"reflect"
	"testing"

	"gridbot/flows"
)

// testSaveReportClosedFollowUp: the saved report says which open follow-up
// it closed (whatever the caller put there), a retry of its message gets
// the same, and so does the report read back.
func testSaveReportClosedFollowUp(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	key := flows.FollowKey("c1", "visit", "chronic", "3-2-201")
	imported, err := db.OpenFollowUp(ctx, flows.FollowUp{Key: flows.FollowKey("c1", "visit", "elderly", "3-2-201"),
		Community: "c1", Grid: "g1", Worker: "w1", Flow: "visit", Kind: "elderly", Target: "3-2-201", Due: "2026-11-01"})
	if err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name, kind, day, next string
		key                   string
		closes                string // name of the report whose follow-up it closes, "import", or ""
	}{
		{name: "first", kind: "chronic", day: "2026-11-05", next: "2027-02-03", key: key},
		{name: "second", kind: "chronic", day: "2026-11-20", next: "2027-02-18", key: key, closes: "first"},
		{name: "backdated", kind: "chronic", day: "2026-11-10", next: "2027-02-08", key: key},
		{name: "last", kind: "chronic", day: "2026-11-25", key: key, closes: "second"},
		{name: "nothing open", kind: "chronic", day: "2026-11-26", key: key},
		{name: "no follow key", kind: "other", day: "2026-11-26"},
		{name: "elderly", kind: "elderly", day: "2026-11-27", key: imported.Key, closes: "import"},
	}
	opened := map[string]uint64{"import": imported.ID} // report name → follow-up it opened
	for _, st := range steps {
		r := visitReport(st.name, "w1", "c1", "g1", st.kind, st.day)
		r.FollowKey, r.NextDue = st.key, st.next
		r.ClosedFollowUp = 999 // storage decides
		saved := mustSave(t, db, r)
		want := opened[st.closes]
		if st.closes == "" {
			want = 0
		}
		if saved.ClosedFollowUp != want {
			t.Errorf("%s: saved ClosedFollowUp %d, want %d", st.name, saved.ClosedFollowUp, want)
		}
		if want != 0 {
			f, err := db.FollowUp(ctx, want)
			if err != nil || !f.Closed || f.ClosedBy != saved.ID {
				t.Errorf("%s: follow-up %d: %+v %v, want closed by %d", st.name, want, f, err, saved.ID)
			}
		}
		again, dup, err := db.SaveReport(ctx, r)
		if err != nil || !dup || !sameReport(again, saved) {
			t.Errorf("%s: retry %+v dup %v err %v, want %+v", st.name, again, dup, err, saved)
		}
		read, err := db.Report(ctx, saved.ID)
		if err != nil || !sameReport(read, saved) {
			t.Errorf("%s: read back %+v %v, want %+v", st.name, read, err, saved)
		}
		if st.next != "" && saved.NextDue != "" {
			due := mustDue(t, db, "all", "2099-12-31", 0)
			for _, f := range due {
				if f.OpenedBy == saved.ID {
					opened[st.name] = f.ID
				}
			}
		}
	}
	if len(opened) != 3 {
		t.Fatalf("follow-ups opened: %v, want by first and second", opened)
	}
}

// sameReport compares reports with their creation instants, not zones.
func sameReport(a, b flows.Report) bool {
	a.CreatedAt, b.CreatedAt = a.CreatedAt.UTC(), b.CreatedAt.UTC()
	return reflect.DeepEqual(a, b)
}
