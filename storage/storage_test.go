package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"gridbot/flows"
)

// newTestDB opens a fresh database in t.TempDir and closes it at cleanup.
func newTestDB(t testing.TB) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "gridbot.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

// testTime is the fixed instant reports are created at in tests.
var testTime = time.Date(2026, 11, 5, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))

// visitReport is a household visit by worker of community/grid on day.
func visitReport(msgKey, worker, community, grid, kind, day string) flows.Report {
	return flows.Report{
		MsgKey: msgKey, Worker: worker, Community: community, Grid: grid,
		Flow: "visit", Kind: kind, Day: day, Target: "3-2-201",
		Fields:    map[string]string{"bp": "150/95"},
		CreatedAt: testTime,
	}
}

func mustSave(t testing.TB, db *DB, r flows.Report) flows.Report {
	t.Helper()
	saved, dup, err := db.SaveReport(context.Background(), r)
	if err != nil {
		t.Fatalf("save %s: %v", r.MsgKey, err)
	}
	if dup {
		t.Fatalf("save %s: unexpected dup", r.MsgKey)
	}
	return saved
}

func mustTally(t testing.TB, db *DB, scope, period string) flows.Counts {
	t.Helper()
	s, err := flows.ParseScope(scope)
	if err != nil {
		t.Fatal(err)
	}
	c, err := db.Tally(context.Background(), s, period)
	if err != nil {
		t.Fatalf("tally %s %s: %v", scope, period, err)
	}
	return c
}

func sameCounts(a, b flows.Counts) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := flows.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gridbot.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := flows.Worker{OpenID: "w1", Name: "李娟", Community: "c1", Grid: "g1", Role: flows.RoleWorker, BoundAt: testTime}
	if err := db.PutWorker(ctx, w); err != nil {
		t.Fatal(err)
	}
	r := visitReport("m1", "w1", "c1", "g1", "chronic", "2026-11-05")
	r.FollowKey, r.NextDue = flows.FollowKey("c1", "visit", "chronic", "3-2-201"), "2027-02-03"
	first := mustSave(t, db, r)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(ctx); err == nil {
		t.Fatal("Ping after Close: no error")
	}
	if _, _, err := db.SaveReport(ctx, visitReport("m2", "w1", "c1", "g1", "chronic", "2026-11-05")); err == nil {
		t.Fatal("SaveReport after Close: no error")
	}

	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	gotW, err := db.Worker(ctx, "w1")
	if err != nil || gotW.Name != "李娟" || !gotW.BoundAt.Equal(testTime) {
		t.Fatalf("worker after reopen: %+v, %v", gotW, err)
	}
	got, err := db.Report(ctx, first.ID)
	if err != nil || got.MsgKey != "m1" || got.Fields["bp"] != "150/95" || !got.CreatedAt.Equal(testTime) {
		t.Fatalf("report after reopen: %+v, %v", got, err)
	}
	if c := mustTally(t, db, "worker:w1", "2026-11"); !sameCounts(c, flows.Counts{"visit": 1, "visit.chronic": 1}) {
		t.Fatalf("tally after reopen: %v", c)
	}
	due, err := db.DueFollowUps(ctx, flows.Scope{Kind: flows.ScopeAll}, "2027-12-31", 0)
	if err != nil || len(due) != 1 || due[0].OpenedBy != first.ID {
		t.Fatalf("follow-ups after reopen: %+v, %v", due, err)
	}
	// The dedupe mark survived, and ids go on from where they were.
	if _, dup, err := db.SaveReport(ctx, r); err != nil || !dup {
		t.Fatalf("resave after reopen: dup %v, %v", dup, err)
	}
	second := mustSave(t, db, visitReport("m2", "w1", "c1", "g1", "chronic", "2026-11-05"))
	if second.ID != first.ID+1 {
		t.Fatalf("id after reopen %d, want %d", second.ID, first.ID+1)
	}
}

func TestSecondOpenFailsFast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gridbot.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const timeout = 100 * time.Millisecond
	start := time.Now()
	db2, err := Open(path, Options{Timeout: timeout})
	if err == nil {
		db2.Close()
		t.Fatal("second Open succeeded")
	}
	want := "storage: " + path + " is in use by another gridbot process"
	if err.Error() != want || !errors.Is(err, ErrInUse) {
		t.Fatalf("error %q (is ErrInUse: %v), want %q", err, errors.Is(err, ErrInUse), want)
	}
	if elapsed := time.Since(start); elapsed > 10*timeout {
		t.Fatalf("second Open took %s with timeout %s", elapsed, timeout)
	}
}

func TestOpenBadPath(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "missing", "dir", "gridbot.db"), Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "storage: unable to open") {
		t.Fatalf("error %v", err)
	}
}

// seedForCheck saves reports in several scopes and periods, including
// decimals and a voided one.
func seedForCheck(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	for i, day := range []string{"2026-11-05", "2026-11-06", "2026-12-01", "2025-01-31"} {
		mustSave(t, db, visitReport(fmt.Sprintf("v%d", i), fmt.Sprintf("w%d", i%2), "c1", "g1", "chronic", day))
	}
	c := flows.Report{MsgKey: "c1", Worker: "w2", Community: "c2", Grid: "g9", Flow: "campaign", Kind: "cleanup",
		Day: "2026-11-05", Counts: map[string]float64{"garbage_tons": 2.5, "participants": 35}, CreatedAt: testTime}
	mustSave(t, db, c)
	v := mustSave(t, db, visitReport("gone", "w2", "c2", "g9", "elderly", "2026-11-07"))
	if _, err := db.VoidReport(ctx, v.ID, testTime); err != nil {
		t.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	seedForCheck(t, db)
	diffs, err := db.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 0 {
		t.Fatalf("clean store: diffs %q", diffs)
	}

	// Corrupt the tallies behind the store's back: a wrong value, a
	// missing entry and an entry no report explains.
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(talliesBucket)
		if err := setCount(b, setKey("all", "2026-11"), "visit", 3000); err != nil {
			return err
		}
		if err := setCount(b, setKey("community:c2", "2026"), "garbage_tons", 0); err != nil {
			return err
		}
		return setCount(b, setKey("worker:w9", "2026-11-05"), "visit", 1000)
	})
	if err != nil {
		t.Fatal(err)
	}
	diffs, err = db.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"all 2026-11 visit: stored 3, recomputed 2",
		"community:c2 2026 garbage_tons: stored 0, recomputed 2.5",
		"worker:w9 2026-11-05 visit: stored 1, recomputed 0",
	}
	if strings.Join(diffs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("diffs:\n%s\nwant:\n%s", strings.Join(diffs, "\n"), strings.Join(want, "\n"))
	}
}

func TestBackup(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	seedForCheck(t, db)

	// Back up while writers go on.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := db.SaveReport(ctx, visitReport(fmt.Sprintf("during%d", i), "w5", "c3", "g1", "other", "2026-11-08")); err != nil {
				t.Error(err)
			}
		}()
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := db.Backup(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if st, err := os.Stat(path); err != nil || st.Size() != n || n == 0 {
		t.Fatalf("backup file: %v, %v, n %d", st, err, n)
	}

	copyDB, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	diffs, err := copyDB.Check(ctx)
	if err != nil || len(diffs) != 0 {
		t.Fatalf("backup check: %q, %v", diffs, err)
	}
	for _, p := range []string{"2026", "2026-11", "2025-01"} {
		if got, want := mustTally(t, copyDB, "community:c1", p), mustTally(t, db, "community:c1", p); !sameCounts(got, want) {
			t.Fatalf("backup tally %s: %v, want %v", p, got, want)
		}
	}
}

// TestCommitterIsolatesFailures runs writers that fail or panic among
// writers that succeed, concurrently, so they share transactions: every
// writer gets its own outcome and only the successful writes remain.
func TestCommitterIsolatesFailures(t *testing.T) {
	db := newTestDB(t)
	errOdd := errors.New("odd writer fails")
	const writers = 200
	results := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := []byte(fmt.Sprintf("k%03d", i))
			results[i] = db.update(func(tx *bolt.Tx) error {
				if err := tx.Bucket(kvBucket).Put(key, []byte("xxxxxxxxv")); err != nil {
					return err
				}
				switch {
				case i%10 == 7:
					panic("writer panics")
				case i%2 == 1:
					return errOdd
				}
				return nil
			})
		}()
	}
	wg.Wait()
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(kvBucket)
		for i := range writers {
			stored := b.Get([]byte(fmt.Sprintf("k%03d", i))) != nil
			switch {
			case i%10 == 7:
				if results[i] == nil || !strings.Contains(results[i].Error(), "panic") || stored {
					t.Errorf("writer %d (panics): err %v, stored %v", i, results[i], stored)
				}
			case i%2 == 1:
				if !errors.Is(results[i], errOdd) || stored {
					t.Errorf("writer %d (fails): err %v, stored %v", i, results[i], stored)
				}
			default:
				if results[i] != nil || !stored {
					t.Errorf("writer %d: err %v, stored %v", i, results[i], stored)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
