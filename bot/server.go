package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server serves gridbot's HTTP endpoints on one listener:
//
//	/wechat        the WeChat callback (Webhook)
//	/api/v1/...    the admin API (API)
//	/healthz       the health check (Health)
//	/console/      the web console (Console; only when set)
//	/local/outbox  pushes kept in local mode (Outbox; only when set; API token)
//	/metrics       Prometheus metrics behind the API token (Metrics)
//
// Fill in the fields, call Open, and Shutdown on SIGTERM. Zero timeouts
// take the defaults below.
type Server struct {
	Addr    string   // listen address, e.g. ":8080" or "127.0.0.1:0"
	Webhook *Webhook // required
	API     *API     // nil: no admin API
	Health  *Health  // nil: /healthz always answers 200
	Outbox  *Outbox  // set only in local mode
	// Console is the web console (package bot/console), served under
	// /console/; nil: none.
	Console http.Handler
	// Metrics are served at /metrics behind the API's token; nil: none.
	Metrics *Metrics
	// Local holds more local-mode endpoints by pattern (e.g.
	// "/local/invite", which `gridbot chat` uses to bind its demo user).
	Local map[string]http.Handler
	Log   *slog.Logger

	ReadHeaderTimeout time.Duration // default 5 s
	ReadTimeout       time.Duration // default 30 s
	WriteTimeout      time.Duration // default 5 min (ledger exports can be long)
	IdleTimeout       time.Duration // default 2 min

	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// Handler returns the mux of every endpoint.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/wechat", s.Webhook)
	if s.API != nil {
		mux.Handle("/api/v1/", s.API)
	}
	if s.Health != nil {
		mux.Handle("/healthz", s.Health)
	} else {
		mux.Handle("/healthz", &Health{})
	}
	if s.Console != nil {
		mux.Handle("/console/", s.Console)
	}
	if s.Outbox != nil {
		// Pushes carry residents' data: the API token is required.
		api := s.API
		if api == nil {
			api = &API{} // no token: every request refused
		}
		mux.Handle("/local/outbox", api.Protect(s.Outbox))
	}
	if s.Metrics != nil && s.API != nil {
		mux.Handle("/metrics", s.API.Protect(s.Metrics.Handler()))
	}
	for pattern, h := range s.Local {
		mux.Handle(pattern, h)
	}
	return mux
}

// Open listens on Addr and serves in the background.
func (s *Server) Open() error {
	if s.Webhook == nil {
		return errors.New("server: Webhook is required")
	}
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", s.Addr, err)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: orDefault(s.ReadHeaderTimeout, 5*time.Second),
		ReadTimeout:       orDefault(s.ReadTimeout, 30*time.Second),
		WriteTimeout:      orDefault(s.WriteTimeout, 5*time.Minute),
		IdleTimeout:       orDefault(s.IdleTimeout, 2*time.Minute),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("server: serve failed", "err", err)
		}
	}()
	return nil
}

// URL is the server's base URL, e.g. "http://127.0.0.1:8080", once Open.
func (s *Server) URL() string {
	if s.ln == nil {
		return ""
	}
	addr := s.ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
}

// Shutdown stops accepting requests, waits for those in flight and then for
// the webhook's background work (late answers, reply caching), or until ctx
// ends. Close storage after it returns.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	<-s.done
	if werr := s.Webhook.Wait(ctx); err == nil {
		err = werr
	}
	return err
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
