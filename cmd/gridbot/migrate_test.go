package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/storage"
	"gridbot/storage/postgres"
	"gridbot/storage/postgres/pgtest"
)

// seedBolt fills a bbolt store with one of each record: reports (one with
// a follow-up, one closing one, one voided, one with decimals), workers,
// an invite, a digest claim, attempts, a notice and the last run.
func seedBolt(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2026, 11, 5, 9, 30, 0, 0, time.UTC)
	key := flows.FollowKey("c1", "visit", "chronic", "3-2-201")
	for i := range 30 {
		r := flows.Report{MsgKey: fmt.Sprintf("m%d", i), Worker: fmt.Sprintf("w%d", i%3), Community: "c1", Grid: "g1",
			Flow: "visit", Kind: "chronic", Day: fmt.Sprintf("2026-11-%02d", i%28+1), Target: fmt.Sprintf("3-2-%d", i), CreatedAt: at}
		if i < 2 {
			r.Target, r.FollowKey, r.NextDue = "3-2-201", key, fmt.Sprintf("2027-0%d-01", i+1)
		}
		saved, _, err := db.SaveReport(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if i == 7 {
			if _, err := db.VoidReport(ctx, saved.ID, at); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, _, err := db.SaveReport(ctx, flows.Report{MsgKey: "camp", Worker: "w1", Community: "c2", Grid: "g2", Flow: "campaign",
		Day: "2026-10-01", Counts: map[string]float64{"garbage_tons": 2.5}, CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := db.PutWorker(ctx, flows.Worker{OpenID: fmt.Sprintf("w%d", i), Name: "网格员", Community: "c1", Grid: "g1", Role: flows.RoleWorker, BoundAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CreateInvite(ctx, flows.Invite{Code: "INV1", Community: "c1", Grid: "g1", Role: flows.RoleWorker}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ClaimDigest(ctx, "w0", "2026-11-05", at); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := db.RecordAttempt(ctx, flows.DigestAttempt{Worker: "w0", Day: "2026-11-05", At: at.Add(time.Duration(i) * time.Second), Channel: flows.ChannelText, ErrCode: -i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PutNotice(ctx, "w2", "提醒", at); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkDigestRun(ctx, "2026-11-05", at); err != nil {
		t.Fatal(err)
	}
	seedHouseholds(t, db, at)
}

// seedHouseholds adds the roster and household visits (reports 32-35):
// one of two kinds opening two follow-ups, one to a household whose
// follow-up another grid owns (left untouched), a second visit of a
// household, and three visits with no household number.
func seedHouseholds(t *testing.T, db *storage.DB, at time.Time) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.PutHouseholds(ctx, []flows.Household{
		{Community: "c1", Grid: "g1", Household: "7-2-306", Tags: []string{"高血压", "独居老人"}},
		{Community: "c1", Grid: "g2", Household: "3-2-202", Tags: []string{"糖尿病"}},
	}); err != nil {
		t.Fatal(err)
	}
	foreign := flows.FollowKey("c1", "visit", "chronic", "3-2-202")
	if _, err := db.OpenFollowUp(ctx, flows.FollowUp{Key: foreign, Community: "c1", Grid: "g2", Worker: "z9",
		Flow: "visit", Kind: "chronic", Target: "3-2-202", Due: "2026-12-01"}); err != nil {
		t.Fatal(err)
	}
	visit := func(msgKey, worker, target, day string, kinds ...string) flows.Report {
		r := flows.Report{MsgKey: msgKey, Worker: worker, Community: "c1", Grid: "g1", Flow: "visit", Kind: kinds[0],
			Day: day, Target: target, Household: true, CreatedAt: at}
		if len(kinds) > 1 {
			r.Kinds = kinds
		}
		return r
	}
	r32 := visit("h32", "w0", "7-2-306", "2026-11-10", "chronic", "elderly")
	r32.Follows = []flows.FollowEffect{
		{Key: flows.FollowKey("c1", "visit", "chronic", "7-2-306"), Kind: "chronic", NextDue: "2027-02-10"},
		{Key: flows.FollowKey("c1", "visit", "elderly", "7-2-306"), Kind: "elderly", NextDue: "2026-12-10"},
	}
	r33 := visit("h33", "w1", "3-2-202", "2026-11-11", "chronic")
	r33.FollowKey, r33.NextDue = foreign, "2027-02-11"
	r35 := flows.Report{MsgKey: "h35", Worker: "w2", Community: "c1", Grid: "g1", Flow: "visit", Kind: "other",
		Times: 3, Day: "2026-11-12", CreatedAt: at}
	for _, r := range []flows.Report{r32, r33, visit("h34", "w2", "7-2-306", "2026-11-20", "chronic"), r35} {
		if _, _, err := db.SaveReport(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
}

// changeSource changes the bbolt store as the running bot would between
// two migrations: the report that moved the follow-up schedule is voided
// (the follow-up it closed is reopened, the one it opened closed), the
// only campaign is voided (its tallies go to zero and vanish), a second
// household visit is voided, the kept notice is shown, and a roster
// household moves to another grid.
func changeSource(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2026, 11, 6, 9, 0, 0, 0, time.UTC)
	for _, id := range []uint64{2, 31, 34} {
		if _, err := db.VoidReport(ctx, id, at); err != nil {
			t.Fatal(err)
		}
	}
	if text, err := db.TakeNotice(ctx, "w2"); err != nil || text == "" {
		t.Fatalf("take notice: %q, %v", text, err)
	}
	// 3-2-202 moves to g1 on the roster, with a new tag.
	if _, err := db.PutHouseholds(ctx, []flows.Household{{Community: "c1", Grid: "g1", Household: "3-2-202", Tags: []string{"糖尿病", "独居老人"}}}); err != nil {
		t.Fatal(err)
	}
}

// TestMigrate copies a bbolt store into PostgreSQL, changes the store as a
// running bot would, and copies it again: the second run adds nothing
// twice, and the database then holds what the file holds.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	path := filepath.Join(t.TempDir(), "gridbot.db")
	seedBolt(t, path)
	args := []string{"migrate", "-from", "bbolt:" + path, "-to", "postgres:" + dsn}
	for i := range 2 {
		var out, errs bytes.Buffer
		if err := run(ctx, args, &out, &errs); err != nil {
			t.Fatalf("run %d: %v\n%s%s", i, err, out.String(), errs.String())
		}
		if !strings.Contains(out.String(), "every tally matches its reports") || !strings.Contains(errs.String(), "reports:") {
			t.Fatalf("run %d output:\n%s%s", i, out.String(), errs.String())
		}
		t.Logf("run %d:\n%s%s", i, errs.String(), out.String())
		if i == 0 {
			changeSource(t, path)
		}
	}
	src, err := storage.Open(path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	for _, scope := range []string{"all", "worker:w0", "worker:w1", "grid:c1/g1", "community:c2"} {
		s, _ := flows.ParseScope(scope)
		for _, p := range []string{"2026", "2026-11", "2026-10", "2026-11-08"} {
			want, err1 := src.Tally(ctx, s, p)
			got, err2 := dst.Tally(ctx, s, p)
			if err1 != nil || err2 != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("tally %s %s: %v (%v), want %v (%v)", scope, p, got, err2, want, err1)
			}
		}
	}
	count := func(db interface {
		Reports(context.Context, flows.Scope, string, bool, func(flows.Report) error) error
	}) (n int, last flows.Report) {
		err := db.Reports(ctx, flows.Scope{Kind: flows.ScopeAll}, "2026", true, func(r flows.Report) error {
			n++
			if r.ID > last.ID {
				last = r
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n, last
	}
	if n, last := count(dst); n != 35 || last.ID != 35 {
		t.Errorf("%d reports up to id %d in the database, want 35", n, last.ID)
	}
	// The household reports' kinds, times and follow-up effects (the
	// foreign one too) came along as stored.
	for id := uint64(32); id <= 35; id++ {
		want, err1 := src.Report(ctx, id)
		got, err2 := dst.Report(ctx, id)
		if err1 != nil || err2 != nil || fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Errorf("report %d:\n got %+v (%v)\nwant %+v (%v)", id, got, err2, want, err1)
		}
	}
	if r, _ := dst.Report(ctx, 33); len(r.Follows) != 1 || r.Follows[0].Foreign != 3 || r.Follows[0].Owner != "z9" {
		t.Errorf("foreign effect of report 33: %+v", r.Follows)
	}
	// The roster and its figures: 入户率 and 规范管理 as the file has them.
	for _, scope := range []string{"all", "community:c1", "grid:c1/g1", "grid:c1/g2"} {
		s, _ := flows.ParseScope(scope)
		for _, p := range []string{"2026", "2026-11", "2026-11-20"} {
			want, err1 := src.Coverage(ctx, s, p)
			got, err2 := dst.Coverage(ctx, s, p)
			if err1 != nil || err2 != nil || fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
				t.Errorf("coverage %s %s: %+v (%v), want %+v (%v)", scope, p, got, err2, want, err1)
			}
		}
	}
	if cv, err := dst.Coverage(ctx, flows.Scope{Kind: flows.ScopeGrid, ID: "c1/g1"}, "2026-11"); err != nil || cv.Households != 2 || cv.Visited != 2 || cv.Tags["独居老人"] != 2 {
		t.Errorf("coverage of g1 after the move: %+v, %v", cv, err)
	}
	if n, err := dst.HouseholdVisits(ctx, "c1", "7-2-306", "visit.chronic", "2026-11"); err != nil || n != 1 {
		t.Errorf("chronic visits of 7-2-306 after a void: %d, %v", n, err)
	}
	// The schedule as voiding report 2 left it: the first follow-up open
	// again, the second closed; beside it, the two the visit of two kinds
	// opened and another grid's, untouched.
	due, err := dst.DueFollowUps(ctx, flows.Scope{Kind: flows.ScopeAll}, "2099-12-31", 0)
	if err != nil || len(due) != 4 || due[0].ID != 3 || due[0].Worker != "z9" || due[1].ID != 5 || due[2].Due != "2027-01-01" || due[2].ID != 1 || due[3].ID != 4 {
		t.Errorf("open follow-ups: %+v, %v", due, err)
	}
	closed, err := dst.FollowUps(ctx, flows.Scope{Kind: flows.ScopeAll}, true)
	if err != nil || len(closed) != 1 || closed[0].ID != 2 || closed[0].Reason != storage.ReasonVoided {
		t.Errorf("closed follow-ups: %+v, %v", closed, err)
	}
	if c, err := dst.Tally(ctx, flows.Scope{Kind: flows.ScopeCommunity, ID: "c2"}, "2026"); err != nil || len(c) != 0 {
		t.Errorf("tally of the voided campaign: %v, %v", c, err)
	}
	if ws, err := dst.Workers(ctx); err != nil || len(ws) != 3 {
		t.Errorf("workers: %+v, %v", ws, err)
	}
	if inv, err := dst.Invite(ctx, "INV1"); err != nil || inv.Grid != "g1" {
		t.Errorf("invite: %+v, %v", inv, err)
	}
	if ok, err := dst.ClaimDigest(ctx, "w0", "2026-11-05", time.Now()); err != nil || ok {
		t.Errorf("digest claim not copied: %v, %v", ok, err)
	}
	if as, err := dst.DigestAttempts(ctx, "2026-11-05"); err != nil || len(as) != 2 || as[1].ErrCode != -1 {
		t.Errorf("attempts after two runs: %+v, %v (want the 2 of the file)", as, err)
	}
	if text, err := dst.TakeNotice(ctx, "w2"); err != nil || text != "" {
		t.Errorf("notice shown since the first run: %q, %v", text, err)
	}
	if day, err := dst.LastDigestRun(ctx); err != nil || day != "2026-11-05" {
		t.Errorf("last run: %q, %v", day, err)
	}
	// The dedupe marks came along, and new ids go on after the copied ones.
	if _, dup, err := dst.SaveReport(ctx, flows.Report{MsgKey: "m3", Worker: "w0", Community: "c1", Grid: "g1", Flow: "visit", Day: "2026-11-04", CreatedAt: time.Now()}); err != nil || !dup {
		t.Errorf("copied message saved again: dup %v, %v", dup, err)
	}
	r, dup, err := dst.SaveReport(ctx, flows.Report{MsgKey: "new", Worker: "w0", Community: "c1", Grid: "g1", Flow: "visit", Day: "2026-11-04", CreatedAt: time.Now()})
	if err != nil || dup || r.ID != 36 {
		t.Errorf("new report after the migration: id %d, dup %v, %v", r.ID, dup, err)
	}

	// check and backup work on the database with driver postgres; the
	// backup is a bbolt file holding the same figures.
	t.Setenv("GRIDBOT_STORAGE_DRIVER", "postgres")
	t.Setenv("GRIDBOT_STORAGE_DSN", dsn)
	var out, errs bytes.Buffer
	if err := run(ctx, []string{"check"}, &out, &errs); err != nil || !strings.Contains(out.String(), "ok: every tally matches") {
		t.Fatalf("check on postgres: %v\n%s%s", err, out.String(), errs.String())
	}
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	if err := run(ctx, []string{"backup", copyPath}, &out, &errs); err != nil {
		t.Fatalf("backup of postgres: %v\n%s", err, errs.String())
	}
	cp, err := storage.Open(copyPath, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	for _, p := range []string{"2026", "2026-11"} {
		want, err1 := dst.Tally(ctx, flows.Scope{Kind: flows.ScopeAll}, p)
		got, err2 := cp.Tally(ctx, flows.Scope{Kind: flows.ScopeAll}, p)
		if err1 != nil || err2 != nil || fmt.Sprint(got) != fmt.Sprint(want) || len(got) == 0 {
			t.Errorf("backup tally %s: %v (%v), want %v (%v)", p, got, err2, want, err1)
		}
	}
	if n, last := count(cp); n != 36 || last.MsgKey != "new" {
		t.Errorf("backup: %d reports, last %q; want 36, \"new\"", n, last.MsgKey)
	}
	if got, want := mustCoverageOf(t, cp, "community:c1"), mustCoverageOf(t, dst, "community:c1"); got != want || !strings.Contains(got, "Visited:2") {
		t.Errorf("backup coverage: %s, want %s", got, want)
	}
}

func TestMigrateRefusals(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gridbot.db")
	seedBolt(t, path)
	var out, errs bytes.Buffer
	if err := run(ctx, []string{"migrate", "-help"}, &out, &errs); !errors.Is(err, flag.ErrHelp) ||
		!strings.Contains(errs.String(), "safe") || !strings.Contains(errs.String(), "gridbot backup") {
		t.Errorf("-help: %v\n%s", err, errs.String())
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-from", path, "-to", "postgres://x@127.0.0.1/db"}, "want bbolt:FILE"},
		{[]string{"-from", "bbolt:" + path, "-to", "mysql://x"}, "want postgres:"},
		{[]string{"-from", "bbolt:" + path + ".missing", "-to", "postgres://x@127.0.0.1/db"}, "no store at"},
	} {
		err := run(ctx, append([]string{"migrate"}, tt.args...), &out, &errs)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.args, err, tt.want)
		}
	}
	// A file a bot holds open is refused, with what to do instead.
	db, err := storage.Open(path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = run(ctx, []string{"migrate", "-from", "bbolt:" + path, "-to", "postgres://x@127.0.0.1/db"}, &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "gridbot backup") {
		t.Errorf("file in use: %v", err)
	}
}

// mustCoverageOf returns a scope's coverage of 2026-11 as text.
func mustCoverageOf(t *testing.T, db flows.Store, scope string) string {
	t.Helper()
	s, err := flows.ParseScope(scope)
	if err != nil {
		t.Fatal(err)
	}
	cv, err := db.Coverage(context.Background(), s, "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%+v", cv)
}
