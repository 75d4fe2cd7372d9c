package storetest

import (
	"context"
	"slices"
	"testing"

	"gridbot/flows"
)

// inspectionReport is an inspection of a place by w1, saved without a
// location or photos.
func inspectionReport(msgKey string) flows.Report {
	return flows.Report{
		MsgKey: msgKey, Worker: "w1", Community: "c1", Grid: "g1",
		Flow: "inspection", Kind: "fire", Day: "2026-11-05", Target: "幸福路12号",
		Counts: map[string]float64{"issues_found": 2}, CreatedAt: testTime,
		FollowKey: flows.FollowKey("c1", "inspection", "", "幸福路12号"), NextDue: "2026-11-10",
	}
}

// Attachments accumulate on the stored report, one call at a time; the
// same image sent again (a WeChat retry) is not added twice, and a new
// location replaces the old one.
func testAttachToReport(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	saved := mustSave(t, db, inspectionReport("m1"))
	market := &flows.Location{Lat: 30.27, Lng: 120.15, Label: "幸福路12号"}
	gate := &flows.Location{Lat: 30.28, Lng: 120.16, Label: "幸福路12号东门"}
	tests := []struct {
		name       string
		loc        *flows.Location
		image      string
		wantLoc    *flows.Location
		wantImages []string
	}{
		{"photo", nil, "http://img/1.jpg", nil, []string{"http://img/1.jpg"}},
		{"same photo again", nil, "http://img/1.jpg", nil, []string{"http://img/1.jpg"}},
		{"location", market, "", market, []string{"http://img/1.jpg"}},
		{"second photo", nil, "http://img/2.jpg", market, []string{"http://img/1.jpg", "http://img/2.jpg"}},
		{"new location", gate, "", gate, []string{"http://img/1.jpg", "http://img/2.jpg"}},
		{"same location again", gate, "", gate, []string{"http://img/1.jpg", "http://img/2.jpg"}},
		{"nothing", nil, "", gate, []string{"http://img/1.jpg", "http://img/2.jpg"}},
	}
	for _, tt := range tests {
		got, err := db.AttachToReport(ctx, saved.ID, tt.loc, tt.image)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		stored, err := db.Report(ctx, saved.ID)
		if err != nil {
			t.Fatalf("%s: read back: %v", tt.name, err)
		}
		for _, r := range []flows.Report{got, stored} {
			if !sameLocation(r.Location, tt.wantLoc) || !slices.Equal(r.Images, tt.wantImages) {
				t.Fatalf("%s: location %+v images %v; want %+v %v", tt.name, r.Location, r.Images, tt.wantLoc, tt.wantImages)
			}
			if r.Target != saved.Target || r.Counts["issues_found"] != 2 || r.NextDue != saved.NextDue || r.MsgKey != "m1" {
				t.Fatalf("%s: other fields changed: %+v", tt.name, r)
			}
		}
	}
	// Tallies, follow-ups and indexes are as the save left them.
	if c := mustTally(t, db, "worker:w1", "2026-11"); !sameCounts(c, flows.Counts{"inspection": 1, "inspection.fire": 1, "issues_found": 2}) {
		t.Fatalf("tally: %v", c)
	}
	if diffs, err := db.Check(ctx); err != nil || len(diffs) != 0 {
		t.Fatalf("check: %v %v", diffs, err)
	}
	// The attachments are durable, and voiding still reverses the report's
	// follow-up effect (the record kept the follow-up it opened).
	db = d.Reopen(t, db)
	r, err := db.Report(ctx, saved.ID)
	if err != nil || !sameLocation(r.Location, gate) || len(r.Images) != 2 {
		t.Fatalf("after reopen: %+v %v", r, err)
	}
	if _, err := db.VoidReport(ctx, saved.ID, testTime); err != nil {
		t.Fatal(err)
	}
	due, err := db.DueFollowUps(ctx, flows.Scope{Kind: flows.ScopeWorker, ID: "w1"}, "2026-12-31", 0)
	if err != nil || len(due) != 0 {
		t.Fatalf("follow-ups after void: %+v %v", due, err)
	}
}

func testAttachToReportErrors(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	voided := mustSave(t, db, inspectionReport("m1"))
	if _, err := db.VoidReport(ctx, voided.ID, testTime); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		id   uint64
		want string
	}{
		{"unknown report", voided.ID + 100, flows.ENotFound},
		{"void report", voided.ID, flows.EConflict},
	}
	for _, tt := range tests {
		_, err := db.AttachToReport(ctx, tt.id, nil, "http://img/1.jpg")
		wantCode(t, err, tt.want)
	}
	r, err := db.Report(ctx, voided.ID)
	if err != nil || len(r.Images) != 0 {
		t.Fatalf("void report changed: %+v %v", r, err)
	}
}

func sameLocation(a, b *flows.Location) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
