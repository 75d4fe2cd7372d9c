package bot

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/storage"
)

// discardWriter is an http.ResponseWriter that counts and drops the body,
// so that a benchmark measures the export, not a buffer of it.
type discardWriter struct {
	h      http.Header
	status int
	n      int64
}

func (d *discardWriter) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}
func (d *discardWriter) Write(b []byte) (int, error) { d.n += int64(len(b)); return len(b), nil }
func (d *discardWriter) WriteHeader(status int)      { d.status = status }

// heapPeak samples the Go heap in use every millisecond until stopped and
// returns the largest value seen, in MB.
func heapPeak() (stop func() float64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 {
		close(done)
		wg.Wait()
		return float64(peak.Load()) / (1 << 20)
	}
}

// ledgerBenchReport is the i-th of a month's synthetic reports, in day
// order and runs of one worker (the store's indexes then grow at their
// ends, which keeps the fill quick).
func ledgerBenchReport(i, n int) flows.Report {
	w := i / 50 % 100
	r := flows.Report{
		MsgKey: fmt.Sprintf("x%09d", i), Worker: fmt.Sprintf("o-%d", w), Community: "幸福社区", Grid: fmt.Sprint(w%20 + 1),
		Day:       fmt.Sprintf("2026-11-%02d", 1+i*28/n),
		CreatedAt: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC),
	}
	switch i % 3 {
	case 0:
		r.Flow, r.Kind, r.Target = "visit", []string{"chronic", "maternal", "elderly"}[i%3], fmt.Sprintf("%d-%d-%d", i%30, i%4+1, 100+i%20)
		r.Fields = map[string]string{"bp": "150/95", "note": "按时服药，血压控制尚可"}
	case 1:
		r.Flow, r.Kind, r.Target = "inspection", "sanitation", "菜市场东门"
		r.Counts = map[string]float64{"issues_found": float64(i % 4)}
	default:
		r.Flow, r.Kind = "campaign", "publicity"
		r.Counts = map[string]float64{"leaflets": float64(100 + i%300), "participants": float64(i % 50)}
		r.Fields = map[string]string{"note": "社区广场"}
	}
	return r
}

// BenchmarkLedgerExport exports a month's ledger of 100,000 reports through
// the API handler as XLSX (and CSV, for comparison): time per export,
// allocations, and the peak of the Go heap in use during the exports.
func BenchmarkLedgerExport(b *testing.B) {
	const n = 100_000
	dir := b.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		// Build on tmpfs when there is one: the fill's commits then cost
		// no disk flushes; the export reads from bbolt's memory map anyway.
		if d, err := os.MkdirTemp("/dev/shm", "gridbot-bench-"); err == nil {
			dir = d
			b.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	db, err := storage.Open(filepath.Join(dir, "ledger.db"), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	ctx := context.Background()
	for w := range 100 {
		if err := db.PutWorker(ctx, flows.Worker{OpenID: fmt.Sprintf("o-%d", w), Name: fmt.Sprintf("网格员%d", w), Community: "幸福社区", Grid: fmt.Sprint(w%20 + 1), Role: flows.RoleWorker}); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	const chunk = 10_000
	for lo := 0; lo < n; lo += chunk {
		batch := make([]flows.Report, 0, chunk)
		for i := lo; i < min(lo+chunk, n); i++ {
			batch = append(batch, ledgerBenchReport(i, n))
		}
		saveAll(b, db, batch)
	}
	b.Logf("filled %d reports in %s", n, time.Since(start).Round(time.Millisecond))
	api := &API{Token: reportsToken, Store: db}

	for _, format := range []string{"xlsx", "csv"} {
		b.Run(fmt.Sprintf("reports=%d/%s", n, format), func(b *testing.B) {
			runtime.GC()
			stop := heapPeak()
			b.ReportAllocs()
			var size int64
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/api/v1/reports?scope=community:幸福社区&period=2026-11&format="+format, nil)
				req.Header.Set("Authorization", "Bearer "+reportsToken)
				w := &discardWriter{}
				api.ServeHTTP(w, req)
				if w.status != 0 && w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
				size = w.n
			}
			b.ReportMetric(stop(), "peak-MB")
			b.ReportMetric(float64(size)/(1<<20), "file-MB")
		})
	}
}
