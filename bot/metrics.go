package bot

import (
	"context"
	"net/http"
	"net/http/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are gridbot's Prometheus metrics, on a registry of their own
// (with the Go runtime's and the process's). A nil *Metrics records
// nothing, so every component takes one optionally. Server serves them at
// /metrics behind the admin API token.
type Metrics struct {
	reg *prometheus.Registry

	webhook      *prometheus.CounterVec
	outcomes     map[string]*lazyCounter // webhook's child of each outcome; fixed after NewMetrics
	handle       prometheus.Histogram
	reports      *prometheus.CounterVec
	commitSize   prometheus.Histogram
	commitTime   prometheus.Histogram
	redisErrors  prometheus.Counter
	pushes       *prometheus.CounterVec
	reminderRuns *prometheus.CounterVec
}

// Webhook request outcomes (gridbot_webhook_requests_total{outcome}).
const (
	OutcomeReplied     = "replied"      // answered in the reply
	OutcomeLate        = "late"         // answered "success", the answer pushed
	OutcomeNoReply     = "no_reply"     // nothing to answer (events)
	OutcomeRefused     = "refused"      // bad signature, body, replay, ...
	OutcomeRateLimited = "rate_limited" // over the per-user limit
	OutcomeDegraded    = "degraded"     // session store down: DegradedText
	OutcomeError       = "error"        // the handler failed: ApologyText
)

// NewMetrics creates the metrics.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.webhook = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gridbot_webhook_requests_total",
		Help: "WeChat webhook requests by outcome."}, []string{"outcome"})
	m.handle = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "gridbot_handle_seconds",
		Help:    "Time to handle one message (conversation and storage), retries not included.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2, 4, 10, 30}})
	m.reports = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gridbot_reports_saved_total",
		Help: "Reports newly saved, by flow (visit, inspection, campaign, ...)."}, []string{"flow"})
	m.commitSize = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "gridbot_commit_batch_writes",
		Help: "Writes carried by one storage commit (group commit).", Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}})
	m.commitTime = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "gridbot_commit_seconds",
		Help: "Duration of one storage commit, fsync included.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
	m.redisErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "gridbot_redis_errors_total",
		Help: "Redis commands that failed (a missing key is not a failure)."})
	m.pushes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gridbot_pushes_total",
		Help: "Messages pushed to users by channel (text, template) and WeChat errcode (0: delivered; transport: no answer)."},
		[]string{"channel", "errcode"})
	m.reminderRuns = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gridbot_reminder_runs_total",
		Help: "Reminder digest runs by outcome (ok, failed)."}, []string{"outcome"})
	m.outcomes = make(map[string]*lazyCounter)
	for _, o := range []string{OutcomeReplied, OutcomeLate, OutcomeNoReply, OutcomeRefused, OutcomeRateLimited, OutcomeDegraded, OutcomeError} {
		m.outcomes[o] = &lazyCounter{}
	}
	m.reg.MustRegister(m.webhook, m.handle, m.reports, m.commitSize, m.commitTime, m.redisErrors, m.pushes, m.reminderRuns,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *Metrics) request(outcome string) {
	if m == nil {
		return
	}
	if l := m.outcomes[outcome]; l != nil {
		l.once.Do(func() { l.c = m.webhook.WithLabelValues(outcome) })
		l.c.Inc()
		return
	}
	m.webhook.WithLabelValues(outcome).Inc()
}

// lazyCounter is a child of a CounterVec resolved at its first use (not
// before, so that /metrics lists only the outcomes that happened), and
// then without WithLabelValues's hashing and lookup.
type lazyCounter struct {
	once sync.Once
	c    prometheus.Counter
}

func (m *Metrics) handled(d time.Duration) {
	if m != nil {
		m.handle.Observe(d.Seconds())
	}
}

// ReportSaved counts a newly saved report of flow (storage.Options.OnReportSaved).
func (m *Metrics) ReportSaved(flow string) {
	if m != nil {
		m.reports.WithLabelValues(flow).Inc()
	}
}

// Commit observes one storage commit (storage.Options.OnCommit).
func (m *Metrics) Commit(writes int, took time.Duration) {
	if m != nil {
		m.commitSize.Observe(float64(writes))
		m.commitTime.Observe(took.Seconds())
	}
}

// RedisError counts a failed Redis command.
func (m *Metrics) RedisError() {
	if m != nil {
		m.redisErrors.Inc()
	}
}

func (m *Metrics) push(channel string, err error) {
	if m == nil {
		return
	}
	code := "0"
	if err != nil {
		code = "transport"
		if c, ok := ErrCode(err); ok {
			code = strconv.Itoa(c)
		}
	}
	m.pushes.WithLabelValues(channel, code).Inc()
}

func (m *Metrics) reminderRun(err error) {
	if m != nil {
		outcome := "ok"
		if err != nil {
			outcome = "failed"
		}
		m.reminderRuns.WithLabelValues(outcome).Inc()
	}
}

// CountPushes wraps p so that every push is counted by channel and errcode.
func (m *Metrics) CountPushes(p Pusher) Pusher {
	if m == nil || p == nil {
		return p
	}
	return countingPusher{p, m}
}

type countingPusher struct {
	Pusher
	m *Metrics
}

func (c countingPusher) SendText(ctx context.Context, openID, text string) error {
	err := c.Pusher.SendText(ctx, openID, text)
	c.m.push("text", err)
	return err
}

func (c countingPusher) SendTemplate(ctx context.Context, openID, templateID string, data map[string]string, url string) error {
	err := c.Pusher.SendTemplate(ctx, openID, templateID, data, url)
	c.m.push("template", err)
	return err
}

// pprofHandler serves net/http/pprof under /api/v1/admin/debug/pprof/.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return http.StripPrefix("/api/v1/admin", mux)
}
