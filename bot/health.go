package bot

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// HealthCheck is one named check of /healthz, e.g. the store's Ping.
type HealthCheck struct {
	Name  string
	Check func(context.Context) error
	// Degrades marks a dependency the bot can work without, with less (a
	// failure then makes /healthz answer 200 "degraded", not 503).
	Degrades bool
}

// Health answers GET /healthz with every check's outcome:
//
//	200 {"status":"ok","checks":[{"name":"storage","status":"ok"},{"name":"redis","status":"ok"}]}
//	200 {"status":"degraded",…}     a check with Degrades failed
//	503 {"status":"unavailable",…}  another check failed or did not answer
//
// A check's status is "ok", "failed" or "timeout". The checks run
// concurrently and the answer comes within Timeout even when a check hangs
// (a Redis that accepts connections and never answers); such a check is
// "timeout". Errors go to the log, not to the (unauthenticated) answer.
type Health struct {
	Checks  []HealthCheck
	Timeout time.Duration // 0: 2 s
	Log     *slog.Logger
}

// healthStatus is one check in the answer of /healthz.
type healthStatus struct {
	Name   string `json:"name"`
	Status string `json:"status"` // ok, failed or timeout
}

// ServeHTTP runs the checks concurrently and answers within the timeout.
func (h *Health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSONError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use GET")
		return
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = defaultCheckTimeout
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	type result struct {
		i   int
		err error
	}
	results := make(chan result, len(h.Checks)) // buffered: a late check does not block
	for i, c := range h.Checks {
		go func() { results <- result{i, c.Check(ctx)} }()
	}
	statuses := make([]healthStatus, len(h.Checks))
	for i, c := range h.Checks {
		statuses[i] = healthStatus{Name: c.Name, Status: "pending"}
	}
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
wait:
	for range h.Checks {
		select {
		case res := <-results:
			statuses[res.i].Status = "ok"
			if res.err != nil {
				statuses[res.i].Status = "failed"
				if errors.Is(res.err, context.DeadlineExceeded) {
					statuses[res.i].Status = "timeout"
				}
				log.Warn("healthz: check failed", "check", h.Checks[res.i].Name, "err", res.err)
			}
		case <-ctx.Done():
			break wait
		}
	}
	overall, code := "ok", http.StatusOK
	for i := range statuses {
		s := &statuses[i]
		if s.Status == "ok" {
			continue
		}
		if s.Status == "pending" {
			s.Status = "timeout"
			log.Warn("healthz: check did not answer in time", "check", s.Name, "timeout", timeout)
		}
		if h.Checks[i].Degrades {
			if overall == "ok" {
				overall = "degraded"
			}
			continue
		}
		overall, code = "unavailable", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"status": overall, "checks": statuses})
}
