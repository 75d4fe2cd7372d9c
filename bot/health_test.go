package bot

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// healthz runs h once and returns the status code and the answer.
func healthz(t *testing.T, h *Health) (int, healthAnswer) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	var a healthAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("%d %s: %v", rec.Code, rec.Body.String(), err)
	}
	return rec.Code, a
}

type healthAnswer struct {
	Status string         `json:"status"`
	Checks []healthStatus `json:"checks"`
}

func (a healthAnswer) String() string {
	var parts []string
	for _, c := range a.Checks {
		parts = append(parts, c.Name+"="+c.Status)
	}
	return a.Status + " " + strings.Join(parts, " ")
}

func TestHealth(t *testing.T) {
	db := openDB(t)
	redisClient := testRedis(t)
	redisPing := func(ctx context.Context) error { return redisClient.Ping(ctx).Err() }
	refused := func(context.Context) error { return errors.New("dial tcp: connection refused") }
	hangs := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	tests := []struct {
		label  string
		checks []HealthCheck
		status int
		want   string
	}{
		{"storage and redis", []HealthCheck{{Name: "storage", Check: db.Ping}, {Name: "redis", Check: redisPing}}, 200, "ok storage=ok redis=ok"},
		{"no checks", nil, 200, "ok "},
		{"redis down", []HealthCheck{{Name: "storage", Check: db.Ping}, {Name: "redis", Check: refused}}, 503, "unavailable storage=ok redis=failed"},
		{"redis down, bot works without", []HealthCheck{{Name: "storage", Check: db.Ping}, {Name: "redis", Check: refused, Degrades: true}}, 200, "degraded storage=ok redis=failed"},
		{"check hangs", []HealthCheck{{Name: "storage", Check: hangs}}, 503, "unavailable storage=timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			code, a := healthz(t, &Health{Checks: tt.checks, Timeout: 100 * time.Millisecond, Log: (&logBuffer{}).logger()})
			if code != tt.status || a.String() != tt.want {
				t.Fatalf("%d %s, want %d %s", code, a, tt.status, tt.want)
			}
		})
	}
	// A closed store is unhealthy.
	db2 := openDB(t)
	db2.Close()
	if code, a := healthz(t, &Health{Checks: []HealthCheck{{Name: "storage", Check: db2.Ping}}, Log: (&logBuffer{}).logger()}); code != 503 {
		t.Fatalf("closed store: %d %s", code, a)
	}
}

// A Redis that accepts connections and never answers (hung, or a black
// hole on the way) is reported as a timeout within the health check's own
// timeout (2 s), not after go-redis's longer read timeouts; the other
// checks are still reported.
func TestHealthRedisHung(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() }) // held open, never answered
		}
	}()
	rc := redis.NewClient(&redis.Options{Addr: ln.Addr().String()})
	defer rc.Close()
	db := openDB(t)
	h := &Health{Checks: []HealthCheck{
		{Name: "storage", Check: db.Ping},
		{Name: "redis", Check: func(ctx context.Context) error { return rc.Ping(ctx).Err() }},
	}, Log: (&logBuffer{}).logger()}
	start := time.Now()
	code, a := healthz(t, h)
	elapsed := time.Since(start)
	if code != 503 || a.String() != "unavailable storage=ok redis=timeout" {
		t.Errorf("%d %s", code, a)
	}
	if elapsed > defaultCheckTimeout+time.Second {
		t.Errorf("answered after %s, want within its %s timeout", elapsed.Round(time.Millisecond), defaultCheckTimeout)
	}
}
