package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/storage"
)

func testClaimDigest(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	steps := []struct {
		worker, day string
		want        bool
	}{
		{"w1", "2026-11-05", true},
		{"w1", "2026-11-05", false}, // same day again
		{"w2", "2026-11-05", true},  // another worker
		{"w1", "2026-11-06", true},  // the next day
	}
	for _, s := range steps {
		got, err := db.ClaimDigest(ctx, s.worker, s.day, testTime)
		if err != nil {
			t.Fatal(err)
		}
		if got != s.want {
			t.Errorf("claim %s %s = %v, want %v", s.worker, s.day, got, s.want)
		}
	}
	db = d.Reopen(t, db)
	for _, s := range steps {
		got, err := db.ClaimDigest(ctx, s.worker, s.day, testTime)
		if err != nil || got {
			t.Errorf("after restart: claim %s %s = %v, %v; want false", s.worker, s.day, got, err)
		}
	}
	for _, bad := range [][2]string{{"", "2026-11-05"}, {"w1", "2026-13-01"}, {"w1", "today"}} {
		_, err := db.ClaimDigest(ctx, bad[0], bad[1], testTime)
		wantCode(t, err, flows.EInvalid)
	}
}

func testClaimDigestConcurrent(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	var won atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := db.ClaimDigest(ctx, "w1", "2026-11-05", testTime)
			if err != nil {
				t.Error(err)
			}
			if ok {
				won.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := won.Load(); n != 1 {
		t.Fatalf("%d concurrent claims won, want 1", n)
	}
}

func testDigestAttempts(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	at := testTime
	want := []flows.DigestAttempt{
		{Worker: "w1", Day: "2026-11-05", At: at, Channel: flows.ChannelText, ErrCode: -1},
		{Worker: "w1", Day: "2026-11-05", At: at.Add(time.Second), Channel: flows.ChannelText, ErrCode: 45015},
		{Worker: "w1", Day: "2026-11-05", At: at.Add(2 * time.Second), Channel: flows.ChannelTemplate},
		{Worker: "w2", Day: "2026-11-05", At: at.Add(3 * time.Second), Channel: flows.ChannelNotice, ErrCode: flows.ErrCodeTransport, Error: "dial tcp: refused"},
	}
	other := flows.DigestAttempt{Worker: "w1", Day: "2026-11-06", At: at.Add(24 * time.Hour), Channel: flows.ChannelText}
	for _, a := range append(want[:2:2], other) {
		if err := db.RecordAttempt(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	db = d.Reopen(t, db) // the log survives a restart and goes on after it
	for _, a := range want[2:] {
		if err := db.RecordAttempt(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.DigestAttempts(ctx, "2026-11-05")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d attempts, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !got[i].At.Equal(want[i].At) || got[i].Worker != want[i].Worker || got[i].Channel != want[i].Channel ||
			got[i].ErrCode != want[i].ErrCode || got[i].Error != want[i].Error {
			t.Errorf("attempt %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if got, _ := db.DigestAttempts(ctx, "2026-11-06"); len(got) != 1 {
		t.Errorf("next day: %d attempts, want 1", len(got))
	}
	wantCode(t, db.RecordAttempt(ctx, flows.DigestAttempt{Worker: "w1", Day: "bad"}), flows.EInvalid)
}

func testNotices(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	steps := []struct {
		op, openID, text string // op "put" or "take"; for take, text is what is expected
	}{
		{"take", "w1", ""},
		{"put", "w1", "第一条"},
		{"put", "w1", "第二条"}, // replaces
		{"put", "w2", "给 w2"},
		{"restart", "", ""},
		{"take", "w1", "第二条"},
		{"take", "w1", ""}, // handed out once
		{"take", "w2", "给 w2"},
	}
	for i, s := range steps {
		switch s.op {
		case "put":
			if err := db.PutNotice(ctx, s.openID, s.text, testTime); err != nil {
				t.Fatal(err)
			}
		case "restart":
			db = d.Reopen(t, db)
		case "take":
			got, err := db.TakeNotice(ctx, s.openID)
			if err != nil {
				t.Fatal(err)
			}
			if got != s.text {
				t.Errorf("step %d: take %s = %q, want %q", i, s.openID, got, s.text)
			}
		}
	}
}

func testDigestRunState(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	if last, err := db.LastDigestRun(ctx); err != nil || last != "" {
		t.Fatalf("fresh store: last run %q, %v", last, err)
	}
	steps := []struct{ mark, want string }{
		{"2026-11-05", "2026-11-05"},
		{"2026-11-04", "2026-11-05"}, // an earlier day does not go back
		{"2026-11-07", "2026-11-07"},
	}
	for _, s := range steps {
		if err := db.MarkDigestRun(ctx, s.mark, testTime); err != nil {
			t.Fatal(err)
		}
		if last, _ := db.LastDigestRun(ctx); last != s.want {
			t.Errorf("after marking %s: last %q, want %q", s.mark, last, s.want)
		}
	}
	db = d.Reopen(t, db)
	if last, _ := db.LastDigestRun(ctx); last != "2026-11-07" {
		t.Errorf("after restart: last %q", last)
	}
	wantCode(t, db.MarkDigestRun(ctx, "11/07", testTime), flows.EInvalid)
}

func testOpenFollowUps(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	fu := func(target, due string) flows.FollowUp {
		return flows.FollowUp{Key: flows.FollowKey("c1", "visit", "chronic", target), Community: "c1", Grid: "g1",
			Worker: "w1", Flow: "visit", Kind: "chronic", Target: target, Due: due}
	}
	first, err := db.OpenFollowUps(ctx, []flows.FollowUp{fu("1-1-101", "2026-11-01"), fu("1-1-102", "2026-11-02")})
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || first[0].ID == 0 || first[1].ID == first[0].ID {
		t.Fatalf("opened %+v", first)
	}
	// A second batch replaces the open one with the same key.
	second, err := db.OpenFollowUps(ctx, []flows.FollowUp{fu("1-1-101", "2026-12-01")})
	if err != nil {
		t.Fatal(err)
	}
	old, err := db.FollowUp(ctx, first[0].ID)
	if err != nil || !old.Closed || old.Reason != storage.ReasonReplaced {
		t.Fatalf("replaced follow-up: %+v, %v", old, err)
	}
	due := mustDue(t, db, "worker:w1", "2026-12-31", 0)
	if ids := followIDs(due); len(ids) != 2 || ids[0] != first[1].ID || ids[1] != second[0].ID {
		t.Fatalf("open after replace: %v", ids)
	}
	// One bad follow-up: nothing of the batch is opened.
	bad := fu("1-1-103", "2026-11-31")
	_, err = db.OpenFollowUps(ctx, []flows.FollowUp{fu("1-1-104", "2026-11-03"), bad})
	wantCode(t, err, flows.EInvalid)
	if n := len(mustDue(t, db, "worker:w1", "2026-12-31", 0)); n != 2 {
		t.Fatalf("%d open after a refused batch, want 2", n)
	}
}
