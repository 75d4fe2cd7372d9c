package chat_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/flows/chat"
	"gridbot/storage"
)

// statsEngine is an engine over a real bbolt store in dir, sessions in the
// same file, in Asia/Shanghai.
func statsEngine(tb testing.TB, path string) (*chat.Engine, *storage.DB) {
	tb.Helper()
	db, err := storage.Open(path, storage.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	zone, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		tb.Fatal(err)
	}
	e := &chat.Engine{Store: db, Sessions: db.KV(), Notices: db, Attempts: db, Zone: zone, SessionPrefix: "s:"}
	return e, db
}

func ask(tb testing.TB, e *chat.Engine, openID, text string, at time.Time, n int) string {
	tb.Helper()
	e.Now = func() time.Time { return at }
	reply, err := e.Handle(context.Background(), flows.Inbound{
		MsgKey: fmt.Sprintf("%s-%d", openID, n), OpenID: openID, Type: "text", Text: text, At: at,
	})
	if err != nil {
		tb.Fatalf("%s: %v", text, err)
	}
	return reply.Text
}

// TestStatsLongReplyIsCut ranks 150 grids: the reply stays within WeChat's
// 2048 bytes, keeps whole lines from the top (the busiest grids) and ends
// with where to find the rest.
func TestStatsLongReplyIsCut(t *testing.T) {
	e, db := statsEngine(t, filepath.Join(t.TempDir(), "gridbot.db"))
	ctx := context.Background()
	const grids = 150
	for g := 1; g <= grids; g++ {
		w := flows.Worker{OpenID: fmt.Sprintf("w%03d", g), Name: "员", Community: "幸福社区", Grid: fmt.Sprintf("第%d网格", g), Role: flows.RoleWorker}
		if err := db.PutWorker(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PutWorker(ctx, flows.Worker{OpenID: "boss", Community: "幸福社区", Grid: "第1网格", Role: flows.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	// Grid g gets g%7 visits (to no household: 户次 only): the ranking
	// starts with the grids of 6, tied at rank 1 and in natural order (6
	// before 13).
	var reports []flows.Report
	for g := 1; g <= grids; g++ {
		for i := range g % 7 {
			reports = append(reports, flows.Report{
				MsgKey: fmt.Sprintf("g%d-%d", g, i), Worker: fmt.Sprintf("w%03d", g), Community: "幸福社区",
				Grid: fmt.Sprintf("第%d网格", g), Flow: "visit", Kind: "elderly", Day: "2026-11-03",
			})
		}
	}
	saveConcurrently(t, db, reports, 16)

	at := time.Date(2026, 11, 28, 9, 0, 0, 0, e.Zone)
	reply := ask(t, e, "boss", "网格排名", at, 1)
	if len(reply) > chat.MaxReplyBytes {
		t.Fatalf("reply of %d bytes", len(reply))
	}
	if !strings.HasSuffix(reply, "\n……更多请在电脑端导出台帐") {
		t.Errorf("no pointer to the rest:\n%s", reply)
	}
	lines := strings.Split(reply, "\n")
	if lines[0] != "🏆 幸福社区 网格排名 2026年11月（截至28日）" || lines[1] != "1. 第6网格 6 条：走访 6 户次" || lines[2] != "1. 第13网格 6 条：走访 6 户次" {
		t.Errorf("head:\n%s", strings.Join(lines[:3], "\n"))
	}
	for _, l := range lines[1 : len(lines)-1] {
		if !strings.Contains(l, "网格 ") || !(strings.HasSuffix(l, " 户次") || strings.HasSuffix(l, "暂无记录")) {
			t.Errorf("cut line %q", l)
		}
	}
}

// saveConcurrently saves reports from n goroutines, so that they share commits.
func saveConcurrently(tb testing.TB, db *storage.DB, reports []flows.Report, n int) {
	tb.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	next := make(chan flows.Report, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				if _, _, err := db.SaveReport(context.Background(), r); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, r := range reports {
		next <- r
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		tb.Fatal(firstErr)
	}
}

// benchReport is the i-th of n reports of a synthetic store: half of all
// reports in 幸福社区 (20 grids of 10 workers), half in four other
// communities, every flow, days spread over 2026 up to 28 November. One
// report in ten has a kind and counters, so that a month's totals hold
// every metric; the others count in their flow only. Reports come in day
// order, in runs of one worker, with ascending message keys, so that the
// store's indexes grow at their ends and the large store fills quickly.
func benchReport(i, n int) flows.Report {
	community := "幸福社区"
	if i/10%2 == 1 {
		community = fmt.Sprintf("社区%d", i/20%4)
	}
	w := i / 50 % 200
	r := flows.Report{
		MsgKey:    fmt.Sprintf("b%09d", i),
		Worker:    fmt.Sprintf("%s-w%d", community, w),
		Community: community,
		Grid:      fmt.Sprint(w%20 + 1),
		Day:       time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(int64(i)*331/int64(n))).Format(time.DateOnly),
		Target:    fmt.Sprintf("%d-%d-%d", i%30, i%4+1, 100+i%20),
		Flow:      []string{"visit", "inspection", "campaign"}[i%3],
	}
	if i%10 != 0 {
		return r
	}
	switch r.Flow {
	case "visit":
		r.Kind = []string{"chronic", "maternal", "floating", "elderly", "other"}[i/10%5]
	case "inspection":
		r.Kind = "sanitation"
		r.Counts = map[string]float64{"issues_found": float64(i % 4)}
	default:
		r.Kind = "publicity"
		r.Counts = map[string]float64{"leaflets": float64(100 + i%300), "participants": float64(i % 50)}
	}
	return r
}

// fillStats fills a store with n synthetic reports through SaveReport from
// 1024 concurrent writers (they share commits), plus the community's
// workers. The store stays open until parent's cleanup.
func fillStats(b, parent *testing.B, path string, n int) (*chat.Engine, *storage.DB) {
	b.Helper()
	e, db := statsEngine(parent, path)
	ctx := context.Background()
	start := time.Now()
	for w := range 200 {
		err := db.PutWorker(ctx, flows.Worker{OpenID: fmt.Sprintf("幸福社区-w%d", w), Community: "幸福社区", Grid: fmt.Sprint(w%20 + 1), Role: flows.RoleWorker})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := db.PutWorker(ctx, flows.Worker{OpenID: "boss", Community: "幸福社区", Grid: "1", Role: flows.RoleSupervisor}); err != nil {
		b.Fatal(err)
	}
	const chunk = 10_000
	for lo := 0; lo < n; lo += chunk {
		batch := make([]flows.Report, 0, chunk)
		for i := lo; i < min(lo+chunk, n); i++ {
			batch = append(batch, benchReport(i, n))
		}
		saveConcurrently(b, db, batch, 1024)
	}
	b.Logf("filled %d reports in %s", n, time.Since(start).Round(time.Millisecond))
	return e, db
}

// bigStore is the size of the large benchmark store: 1,000,000 reports, or
// GRIDBOT_BENCH_REPORTS for a quicker run.
func bigStore(b *testing.B) int {
	if v := os.Getenv("GRIDBOT_BENCH_REPORTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("GRIDBOT_BENCH_REPORTS=%q: want a count", v)
		}
		return n
	}
	return 1_000_000
}

// benchDir is where benchmark stores are built: GRIDBOT_BENCH_DIR when
// set, else /dev/shm when there is one (the fill's commits then cost no
// disk flushes, which keeps building a million reports near a minute), else
// the benchmark's temporary directory. The reads measured come from bbolt's
// memory map either way.
func benchDir(b *testing.B) string {
	base := os.Getenv("GRIDBOT_BENCH_DIR")
	if base == "" {
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			base = "/dev/shm"
		}
	}
	if base == "" {
		return b.TempDir()
	}
	dir, err := os.MkdirTemp(base, "gridbot-bench-")
	if err != nil {
		return b.TempDir()
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// BenchmarkCommunityMonthTotals reads a community's month-to-date totals
// with 1,000 and with 1,000,000 reports stored: straight from the store
// (Store.Tally) and as the supervisor's 社区统计 chat reply, which also sums
// last month's days 1–28 for the comparison. The cost must not follow the
// number of reports.
func BenchmarkCommunityMonthTotals(b *testing.B) {
	parent, dir := b, benchDir(b)
	type filled struct {
		e  *chat.Engine
		db *storage.DB
	}
	stores := map[int]filled{}
	for _, n := range []int{1000, bigStore(b)} {
		get := func(b *testing.B) filled {
			if f, ok := stores[n]; ok {
				return f
			}
			e, db := fillStats(b, parent, filepath.Join(dir, fmt.Sprintf("stats-%d.db", n)), n)
			runtime.GC()
			stores[n] = filled{e, db}
			return stores[n]
		}
		b.Run(fmt.Sprintf("reports=%d/tally", n), func(b *testing.B) {
			f := get(b)
			scope := flows.Scope{Kind: flows.ScopeCommunity, ID: "幸福社区"}
			var c flows.Counts
			for b.Loop() {
				var err error
				if c, err = f.db.Tally(context.Background(), scope, "2026-11"); err != nil {
					b.Fatal(err)
				}
			}
			if c["visit"] == 0 {
				b.Fatalf("empty tally %v", c)
			}
		})
		b.Run(fmt.Sprintf("reports=%d/chat", n), func(b *testing.B) {
			f := get(b)
			at := time.Date(2026, 11, 28, 9, 0, 0, 0, f.e.Zone)
			f.e.Now = func() time.Time { return at }
			in := flows.Inbound{OpenID: "boss", Type: "text", Text: "社区统计", At: at}
			var reply flows.Reply
			i := 0
			for b.Loop() {
				i++
				in.MsgKey = fmt.Sprint("q", i)
				var err error
				if reply, err = f.e.Handle(context.Background(), in); err != nil {
					b.Fatal(err)
				}
			}
			if !strings.HasPrefix(reply.Text, "📊 幸福社区 2026年11月（截至28日）") || !strings.Contains(reply.Text, "↑↓ 对比10月1–28日") {
				b.Fatalf("reply:\n%s", reply.Text)
			}
		})
	}
}
