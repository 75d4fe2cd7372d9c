// Package storetest is the contract every gridbot store (bbolt in package
// storage, PostgreSQL in storage/postgres) must keep: Run runs the same
// tests against a Driver. The tests came from package storage's own
// tests, written for the bbolt store; what they check of a store's
// internals (bbolt buckets, record revisions) stays there.
package storetest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/storage"
)

// Store is what the contract exercises: the domain store, the reminder
// store, and the maintenance and batch methods both drivers have.
type Store interface {
	flows.Store
	flows.ReminderStore
	Invite(ctx context.Context, code string) (flows.Invite, error)
	OpenFollowUps(ctx context.Context, fs []flows.FollowUp) ([]flows.FollowUp, error)
	Check(ctx context.Context) ([]string, error)
	Backup(w io.Writer) (int64, error)
	Ping(ctx context.Context) error
	Close() error
}

// Driver opens stores for the contract.
type Driver struct {
	// Open returns a new, empty store, closed when t ends.
	Open func(t testing.TB) Store
	// Reopen closes s and opens the same data again, as after a restart.
	Reopen func(t testing.TB, s Store) Store
	// Tamper changes a stored counter behind the store's back, for the
	// tests of Check; nil skips them.
	Tamper func(t testing.TB, s Store, c Counter)
}

// Run runs every contract test against d.
func Run(t *testing.T, d Driver) {
	tests := []struct {
		name string
		run  func(t *testing.T, d Driver)
	}{
		{"AttachToReport", testAttachToReport},
		{"AttachToReportErrors", testAttachToReportErrors},
		{"FollowUpLifecycle", testFollowUpLifecycle},
		{"DueFollowUpsOrderAndLimit", testDueFollowUpsOrderAndLimit},
		{"BackdatedReportKeepsNewerSchedule", testBackdatedReportKeepsNewerSchedule},
		{"ClaimDigest", testClaimDigest},
		{"ClaimDigestConcurrent", testClaimDigestConcurrent},
		{"DigestAttempts", testDigestAttempts},
		{"Notices", testNotices},
		{"DigestRunState", testDigestRunState},
		{"OpenFollowUps", testOpenFollowUps},
		{"SaveReportClosedFollowUp", testSaveReportClosedFollowUp},
		{"SaveReportDedupe", testSaveReportDedupe},
		{"SaveReportConcurrentDedupe", testSaveReportConcurrentDedupe},
		{"SaveReportConcurrentDistinct", testSaveReportConcurrentDistinct},
		{"SaveReportInvalid", testSaveReportInvalid},
		{"Tally", testTally},
		{"TallyDecimals", testTallyDecimals},
		{"VoidReport", testVoidReport},
		{"LastReport", testLastReport},
		{"Reports", testReports},
		{"VoidReportFollowUps", testVoidReportFollowUps},
		{"Workers", testWorkers},
		{"RedeemInvite", testRedeemInvite},
		{"ReopenKeepsData", testReopenKeepsData},
		{"CheckClean", testCheckClean},
		{"BackupIsABoltStore", testBackup},
		{"DistinctHouseholds", testDistinctHouseholds},
		{"SaveReportInvalidKindsAndTimes", testSaveReportInvalidKindsAndTimes},
		{"MultiKindFollowUps", testMultiKindFollowUps},
		{"ForeignGridFollowUpUntouched", testForeignGridFollowUpUntouched},
		{"Coverage", testCoverage},
		{"CheckHouseholds", testCheckHouseholds},
		{"HouseholdsConcurrent", testHouseholdsConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, d) })
	}
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

func mustSave(t testing.TB, db Store, r flows.Report) flows.Report {
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

func mustTally(t testing.TB, db Store, scope, period string) flows.Counts {
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

// followUpIn reports whether a follow-up belongs to the scope.
func followUpIn(s flows.Scope, f *flows.FollowUp) bool {
	return s.Contains(&flows.Report{Worker: f.Worker, Community: f.Community, Grid: f.Grid})
}

func testReopenKeepsData(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	w := flows.Worker{OpenID: "w1", Name: "李娟", Community: "c1", Grid: "g1", Role: flows.RoleWorker, BoundAt: testTime}
	if err := db.PutWorker(ctx, w); err != nil {
		t.Fatal(err)
	}
	r := visitReport("m1", "w1", "c1", "g1", "chronic", "2026-11-05")
	r.FollowKey, r.NextDue = flows.FollowKey("c1", "visit", "chronic", "3-2-201"), "2027-02-03"
	first := mustSave(t, db, r)
	db = d.Reopen(t, db)
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

// seedForCheck saves reports in several scopes and periods, including
// decimals, a follow-up and a voided report.
func seedForCheck(t *testing.T, db Store) {
	t.Helper()
	ctx := context.Background()
	for i, day := range []string{"2026-11-05", "2026-11-06", "2026-12-01", "2025-01-31"} {
		mustSave(t, db, visitReport(fmt.Sprintf("v%d", i), fmt.Sprintf("w%d", i%2), "c1", "g1", "chronic", day))
	}
	c := flows.Report{MsgKey: "c1", Worker: "w2", Community: "c2", Grid: "g9", Flow: "campaign", Kind: "cleanup",
		Day: "2026-11-05", Counts: map[string]float64{"garbage_tons": 2.5, "participants": 35}, CreatedAt: testTime}
	mustSave(t, db, c)
	f := visitReport("f1", "w1", "c1", "g1", "elderly", "2026-11-05")
	f.FollowKey, f.NextDue = flows.FollowKey("c1", "visit", "elderly", "3-2-201"), "2026-12-05"
	mustSave(t, db, f)
	v := mustSave(t, db, visitReport("gone", "w2", "c2", "g9", "elderly", "2026-11-07"))
	if _, err := db.VoidReport(ctx, v.ID, testTime); err != nil {
		t.Fatal(err)
	}
	if err := db.PutWorker(ctx, flows.Worker{OpenID: "w1", Name: "李娟", Community: "c1", Grid: "g1", Role: flows.RoleWorker, BoundAt: testTime}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateInvite(ctx, flows.Invite{Code: "ABC123", Community: "c1", Grid: "g2", Role: flows.RoleWorker}); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.ClaimDigest(ctx, "w1", "2026-11-05", testTime); err != nil || !ok {
		t.Fatalf("claim: %v, %v", ok, err)
	}
	if err := db.RecordAttempt(ctx, flows.DigestAttempt{Worker: "w1", Day: "2026-11-05", At: testTime, Channel: flows.ChannelText}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutNotice(ctx, "w2", "提醒", testTime); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkDigestRun(ctx, "2026-11-05", testTime); err != nil {
		t.Fatal(err)
	}
	seedRoster(t, db)
	mustSave(t, db, hhVisit("hh1", "w1", "g1", "3-2-201", "2026-11-05", "chronic", "elderly"))
	mustSave(t, db, hhVisit("hh2", "w3", "g2", "3-2-202", "2026-11-06", "elderly"))
}

func testCheckClean(t *testing.T, d Driver) {
	db := d.Open(t)
	seedForCheck(t, db)
	diffs, err := db.Check(context.Background())
	if err != nil || len(diffs) != 0 {
		t.Fatalf("clean store: diffs %q, %v", diffs, err)
	}
}

// testBackup: a backup taken while writers go on is a bbolt file that
// opens, checks clean and holds the same records as the store.
func testBackup(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	seedForCheck(t, db)
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
	cp, err := storage.Open(path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	if diffs, err := cp.Check(ctx); err != nil || len(diffs) != 0 {
		t.Fatalf("backup check: %q, %v", diffs, err)
	}
	for _, p := range []string{"2026", "2026-11", "2025-01"} {
		for _, s := range []string{"community:c1", "community:c2", "worker:w1"} {
			got, err := cp.Tally(ctx, mustScope(t, s), p)
			if err != nil {
				t.Fatal(err)
			}
			if want := mustTally(t, db, s, p); !sameCounts(got, want) {
				t.Fatalf("backup tally %s %s: %v, want %v", s, p, got, want)
			}
		}
	}
	for _, sc := range []string{"community:c1", "grid:c1/g1", "all"} {
		if got, want := covLine(mustCoverage(t, cp, sc, "2026-11")), covLine(mustCoverage(t, db, sc, "2026-11")); got != want || !strings.Contains(got, "visited 2") {
			t.Fatalf("backup coverage %s: %s, want %s", sc, got, want)
		}
	}
	if n, err := cp.HouseholdVisits(ctx, "c1", "3-2-201", "visit.chronic", "2026-11-05"); err != nil || n != 1 {
		t.Fatalf("backup household visits: %d, %v", n, err)
	}
	if w, err := cp.Worker(ctx, "w1"); err != nil || w.Name != "李娟" {
		t.Fatalf("backup worker: %+v, %v", w, err)
	}
	if inv, err := cp.Invite(ctx, "ABC123"); err != nil || inv.Grid != "g2" {
		t.Fatalf("backup invite: %+v, %v", inv, err)
	}
	due, err := cp.DueFollowUps(ctx, flows.Scope{Kind: flows.ScopeAll}, "2099-12-31", 0)
	if err != nil || len(due) != 1 || due[0].Due != "2026-12-05" {
		t.Fatalf("backup follow-ups: %+v, %v", due, err)
	}
	if ok, err := cp.ClaimDigest(ctx, "w1", "2026-11-05", testTime); err != nil || ok {
		t.Fatalf("backup lost the digest claim: %v, %v", ok, err)
	}
	if as, err := cp.DigestAttempts(ctx, "2026-11-05"); err != nil || len(as) != 1 {
		t.Fatalf("backup attempts: %+v, %v", as, err)
	}
	if text, err := cp.TakeNotice(ctx, "w2"); err != nil || text != "提醒" {
		t.Fatalf("backup notice: %q, %v", text, err)
	}
	if day, err := cp.LastDigestRun(ctx); err != nil || day != "2026-11-05" {
		t.Fatalf("backup last run: %q, %v", day, err)
	}
	// Ids go on after the copied ones, and dedupe marks came along.
	if _, dup, err := cp.SaveReport(ctx, visitReport("v0", "w0", "c1", "g1", "chronic", "2026-11-05")); err != nil || !dup {
		t.Fatalf("backup dedupe mark: dup %v, %v", dup, err)
	}
}

func mustScope(t testing.TB, s string) flows.Scope {
	t.Helper()
	sc, err := flows.ParseScope(s)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// BenchReport is the i-th report of a synthetic year, the same as the
// bbolt benchmarks': 500 workers in 50 grids of 10 communities, mostly
// household visits (with their follow-up schedule, counted in the
// distinct households), one in ten a campaign with counters.
func BenchReport(i int) flows.Report {
	worker := i % 500
	community, grid := fmt.Sprintf("c%d", worker%10), fmt.Sprintf("g%d", worker%50/10)
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%365).Format(time.DateOnly)
	r := flows.Report{
		MsgKey: fmt.Sprintf("m%d", i), Worker: fmt.Sprintf("w%d", worker), Community: community, Grid: grid,
		Day: day, CreatedAt: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
	}
	if i%10 == 9 {
		r.Flow, r.Kind = "campaign", []string{"publicity", "cleanup", "lecture"}[i%3]
		r.Counts = map[string]float64{"leaflets": float64(i % 400), "participants": float64(i % 50), "garbage_tons": 0.5}
		return r
	}
	r.Flow, r.Kind = "visit", []string{"chronic", "elderly", "maternal", "floating", "other"}[i%5]
	r.Target, r.Household = fmt.Sprintf("%d-%d-%d", i%30, i%4, i%600), true
	r.Fields = map[string]string{"bp": "150/95", "note": "按时服药"}
	r.FollowKey = flows.FollowKey(community, r.Flow, r.Kind, r.Target)
	r.NextDue = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%90).Format(time.DateOnly)
	return r
}

// BenchRoster is the roster of the bench stores, the same as the bbolt
// benchmarks': the 600 households of BenchReport's visits in each of the
// 10 communities, in 5 grids, tagged 高血压 or 糖尿病 (and 独居老人 for
// one in three).
func BenchRoster() []flows.Household {
	var hs []flows.Household
	for c := range 10 {
		for h := range 600 {
			tags := []string{[]string{"高血压", "糖尿病"}[h%2]}
			if h%3 == 0 {
				tags = append(tags, "独居老人")
			}
			hs = append(hs, flows.Household{Community: fmt.Sprintf("c%d", c), Grid: fmt.Sprintf("g%d", h%5),
				Household: fmt.Sprintf("%d-%d-%d", h%30, h%4, h), Tags: tags})
		}
	}
	return hs
}
