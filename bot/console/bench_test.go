package console_test

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"gridbot/flows"
)

// BenchmarkDashboard renders 概览 of a community for this month — its
// figures, the comparison, the 12-month trend, the grids' bars and the
// overdue count — through the whole HTTP stack (session, gzip), over
// stores of different sizes: its cost follows the tallies, not the number
// of reports. GRIDBOT_BENCH_REPORTS sets the larger store (default 50,000).
//
//	go test -run '^$' -bench Dashboard ./bot/console/
func BenchmarkDashboard(b *testing.B) {
	big := 50_000
	if v := os.Getenv("GRIDBOT_BENCH_REPORTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("GRIDBOT_BENCH_REPORTS=%q: want a count", v)
		}
		big = n
	}
	for _, n := range []int{1_000, big} {
		b.Run(fmt.Sprintf("reports=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
				if d, err := os.MkdirTemp("/dev/shm", "gridbot-bench-"); err == nil {
					dir = d
					b.Cleanup(func() { os.RemoveAll(d) })
				}
			}
			e := newEnvAt(b, filepath.Join(dir, "gridbot.db"), false)
			fill(b, e, n)
			link := regexp.MustCompile(`/console/link/[A-Za-z0-9_-]+`).FindString(e.say(sup.OpenID, "后台"))
			br := e.browser()
			if status, _, _ := br.get(link); status != http.StatusSeeOther {
				b.Fatalf("login: %d", status)
			}
			url := e.srv.URL() + "/console/?period=" + thisMonth()
			var size int64
			b.ResetTimer()
			for b.Loop() {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Accept-Encoding", "gzip")
				resp, err := br.c.Do(req)
				if err != nil || resp.StatusCode != 200 {
					b.Fatalf("dashboard: %v %v", resp, err)
				}
				size, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			b.ReportMetric(float64(size), "gzip-bytes")
			// The page is gzip: check it decodes to the dashboard.
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Accept-Encoding", "gzip")
			resp, _ := br.c.Do(req)
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				b.Fatal(err)
			}
			page, _ := io.ReadAll(zr)
			resp.Body.Close()
			if metric(b, string(page), "visit") == "0" {
				b.Fatal("empty dashboard")
			}
		})
	}
}

// fill saves n reports of the supervisor's community (and some of another)
// spread over the last 12 months, from 32 writers at once.
func fill(b *testing.B, e *env, n int) {
	b.Helper()
	start := time.Now()
	now := time.Now().In(shanghai())
	workers := []flows.Worker{wang, zhao, otherSp}
	var wg sync.WaitGroup
	ch := make(chan int)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ch {
				w := workers[i%3]
				r := flows.Report{MsgKey: fmt.Sprintf("bench:%d", i), Worker: w.OpenID, Community: w.Community, Grid: w.Grid,
					Flow: []string{"visit", "inspection", "campaign"}[i%3], Kind: []string{"chronic", "sanitation", "publicity"}[i%3],
					Day: now.AddDate(0, 0, -(i*7)%365).Format("2006-01-02"), Target: fmt.Sprintf("%d-%d-%d", i%30, i%4+1, 100+i%50),
					Counts: map[string]float64{}, CreatedAt: now}
				if r.Flow == "campaign" {
					r.Counts["leaflets"] = float64(i % 100)
				}
				if _, _, err := e.db.SaveReport(b.Context(), r); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	for i := range n {
		ch <- i
	}
	close(ch)
	wg.Wait()
	b.Logf("filled %d reports in %s", n, time.Since(start).Round(time.Millisecond))
}
