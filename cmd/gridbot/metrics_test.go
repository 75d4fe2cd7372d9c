package main

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestMetricsAndPprofBehindTheToken: /metrics and the profiler answer only
// with the API token, and the metrics count what happened.
func TestMetricsAndPprofBehindTheToken(t *testing.T) {
	const token = "metrics-test-token"
	m := startMain(t, "GRIDBOT_API_TOKEN="+token)
	p := newPhone(t, m, "o-metrics")
	p.expect("走访 3-2-201 慢病 150/95", "✅ 已记录入户走访")
	get := func(path, auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, m.URL()+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, _ := get("/api/v1/reminders/run", ""); st != 401 {
		t.Fatalf("sanity: API without token %d", st)
	}
	// After the day's digest time, serve makes up the missed run at start:
	// count the runs from here.
	const runsOK = `gridbot_reminder_runs_total{outcome="ok"}`
	_, body := get("/metrics", token)
	runsBefore := metricValue(body, runsOK)
	req, _ := http.NewRequest(http.MethodPost, m.URL()+"/api/v1/reminders/run", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("reminders/run: %v %v", resp, err)
	}
	for _, path := range []string{"/metrics", "/api/v1/admin/debug/pprof/", "/api/v1/admin/debug/pprof/heap?debug=1"} {
		for _, auth := range []string{"", "wrong"} {
			if st, _ := get(path, auth); st != 401 {
				t.Errorf("%s with token %q: %d, want 401", path, auth, st)
			}
		}
	}
	st, body := get("/metrics", token)
	if st != 200 {
		t.Fatalf("/metrics: %d", st)
	}
	if got := metricValue(body, runsOK); got != runsBefore+1 {
		t.Errorf("%s went %g → %g, want one more", runsOK, runsBefore, got)
	}
	for _, want := range []string{
		`gridbot_webhook_requests_total{outcome="replied"} 1`,
		`gridbot_reports_saved_total{flow="visit"} 1`,
		`gridbot_handle_seconds_count 1`,
		`gridbot_commit_batch_writes_count`,
		`gridbot_commit_seconds_bucket`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if st, body := get("/api/v1/admin/debug/pprof/", token); st != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("pprof index: %d", st)
	}
	if st, body := get("/api/v1/admin/debug/pprof/heap?debug=1", token); st != 200 || !strings.Contains(body, "heap profile") {
		t.Errorf("pprof heap: %d %.80s", st, body)
	}
}

// metricValue reads the value of the series name (with its labels) from a
// /metrics page; 0 when absent.
func metricValue(page, name string) float64 {
	for _, line := range strings.Split(page, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}
