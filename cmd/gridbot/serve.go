package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"gridbot/bot"
	"gridbot/bot/console"
	"gridbot/flows"
	"gridbot/flows/chat"
	"gridbot/storage"
)

// Main is the running bot: Run opens every component from Config and
// starts serving; Close shuts it down in reverse order.
type Main struct {
	Config     Config
	ConfigPath string // "" when running on the embedded defaults
	Log        *slog.Logger

	// Store is the configured store (bbolt or PostgreSQL); DB is the same
	// store when the driver is bbolt, nil otherwise.
	Store Store
	DB    *storage.DB
	Redis *redis.Client // nil when no Redis is configured
	// Metrics are served at /metrics behind the API token.
	Metrics *bot.Metrics
	// Sessions are the conversation sessions, over Redis or the store.
	Sessions *storage.Sessions
	Engine   *chat.Engine
	Server   *bot.Server
	Outbox   *bot.Outbox // local mode only
	Pusher   bot.Pusher
	Webhook  *bot.Webhook
	// Reminders pushes the daily overdue digest.
	Reminders *bot.Reminders
	// Console is the web console under /console/.
	Console *console.Console

	cancel context.CancelFunc
	bg     chan struct{}
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "TOML config `file` (see config.example.toml); none: embedded defaults")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: gridbot serve [-config FILE]

Runs the bot: the WeChat callback on /wechat, the admin API on /api/v1,
the web console on /console/, /healthz, and the daily reminder digest. Without a config file it runs on
embedded defaults (bbolt ./gridbot.db, no Redis, local mode: pushes go to a
local outbox that "gridbot chat" shows). Environment variables
GRIDBOT_<SECTION>_<KEY> override any key. SIGTERM or Ctrl-C drains requests
in flight and closes the store cleanly.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q (the config file goes with -config)", fs.Arg(0))
	}
	cfg, err := ReadConfigFile(*configPath, environ())
	if err != nil {
		return err
	}
	m := &Main{Config: cfg, ConfigPath: *configPath, Log: newLogger(stderr, cfg.Log.Level)}
	tuneRuntime(os.Getenv, m.Log)
	if err := m.Run(ctx); err != nil {
		m.Close()
		return err
	}
	<-ctx.Done()
	m.Log.Info("shutting down")
	return m.Close()
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// Run opens storage, sessions and the WeChat client, and starts serving.
// It returns once the server listens (see URL).
func (m *Main) Run(ctx context.Context) error {
	cfg := &m.Config
	if m.Log == nil {
		m.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	bot.QuietSDKLogs(level)

	if err := cfg.checkSeveralNodes(); err != nil {
		return err
	}
	m.Metrics = bot.NewMetrics()
	store, db, err := openStore(ctx, cfg, storage.Options{OnCommit: m.Metrics.Commit, OnReportSaved: m.Metrics.ReportSaved})
	if err != nil {
		return err
	}
	m.Store, m.DB = store, db

	var kv flows.KV
	if db != nil {
		kv = db.KV()
	}
	// With bbolt, replies kept for WeChat's retries (and plain mode's used
	// signatures) live in memory, with or without Redis: only this process
	// serves the store file, and after a restart a retry is handled again
	// from the stored session, the report's MsgKey keeping it counted once.
	// A Redis round trip each would cost more than the rest of a message,
	// and memory needs no fallback when Redis is down. With PostgreSQL,
	// several nodes answer: replies and the per-user lock are in Redis.
	var replies flows.KV = storage.NewMemKV()
	var userLock bot.UserLocker
	checks := []bot.HealthCheck{{Name: "storage", Check: store.Ping}}
	if cfg.Redis.Addr != "" {
		m.Redis = newRedis(cfg, m.Log)
		m.Redis.AddHook(redisErrors{m.Metrics})
		if err := pingRedis(ctx, cfg, m.Redis); err != nil {
			return err
		}
		kv = storage.NewRedisKV(m.Redis)
		if db == nil {
			replies = kv
			userLock = storage.NewRedisLocker(m.Redis, cfg.Session.Prefix+"lock:", 0)
		}
		// A write, not a PING: a Redis out of memory still answers PING
		// but refuses every session write. Without Redis the bot works in
		// part (one-line reports, totals, 待办): degraded, not down — except
		// with PostgreSQL, where several nodes cannot work without it.
		healthKey := cfg.Session.Prefix + "healthz"
		checks = append(checks, bot.HealthCheck{Name: "redis", Degrades: db != nil, Check: func(ctx context.Context) error {
			return m.Redis.Set(ctx, healthKey, time.Now().Unix(), time.Minute).Err()
		}})
	}
	// Sessions degrade without their store: one-line reports, totals and
	// 待办 go on, a form says only one-line reports work right now.
	m.Sessions = storage.NewSessions(kv)
	m.Sessions.EpochKey = cfg.Session.Prefix + "@epoch"
	if db != nil {
		// One node: only this process writes the sessions, so a user with
		// none (every one-line report) needs no read of the session store.
		if err := m.Sessions.Own(ctx, cfg.Session.Prefix); err != nil {
			m.Log.Warn("sessions: every message will read its session from the store", "err", err)
		}
	}
	if m.ConfigPath == "" && cfg.Redis.Addr == "" {
		m.Log.Info("no config file and no Redis: running on embedded defaults",
			"storage", cfg.Storage.Path, "sessions", "embedded", "wechat", "local mode")
	}

	if cfg.API.Token == "" && cfg.LocalMode() {
		token, created, err := localToken(cfg)
		if err != nil {
			return err
		}
		cfg.API.Token = token
		if created {
			m.Log.Info("local mode: generated the admin API token; export, summary, check, backup, import and chat read it from its file",
				"file", tokenPath(cfg))
		}
	}

	catalog := flows.DefaultCatalog()
	if err := catalog.Merge(cfg.Flows); err != nil {
		return fmt.Errorf("config: flows: %w", err)
	}

	if cfg.LocalMode() {
		m.Outbox = &bot.Outbox{Start: uint64(time.Now().UnixMicro())}
		m.Pusher = m.Outbox
		m.Log.Info("local mode: no wechat.app_id, pushes go to the local outbox")
	} else {
		// The access token is shared through Redis by every node; without
		// Redis one process holds the store, and the token stays in its
		// memory rather than in the store file (secrets are never stored).
		var tokens flows.KV = storage.NewMemKV()
		if m.Redis != nil {
			tokens = kv
		}
		out, err := bot.NewOutbound(bot.OutboundConfig{
			AppID: cfg.WeChat.AppID, AppSecret: cfg.WeChat.AppSecret,
			Token: cfg.WeChat.Token, EncodingAESKey: cfg.WeChat.EncodingAESKey,
			APIBase: cfg.WeChat.APIBase, Cache: bot.NewTokenCache(tokens), Log: m.Log,
		})
		if err != nil {
			return err
		}
		m.Pusher = out
	}
	m.Pusher = m.Metrics.CountPushes(m.Pusher)

	m.Engine = &chat.Engine{
		Store: store, Sessions: m.Sessions, Notices: store, Attempts: store, Catalog: catalog, Zone: cfg.Zone(),
		SessionPrefix: cfg.Session.Prefix, SessionTTL: cfg.Session.TTL.Duration, Log: m.Log,
	}
	api := &bot.API{Token: cfg.API.Token, Store: store, Maint: store, Batch: store, Log: m.Log}
	m.Console = &console.Console{
		Store: store, KV: kv, Ledger: api, Catalog: catalog, Zone: cfg.Zone(),
		BaseURL: cfg.Console.BaseURL, KeyPrefix: cfg.Session.Prefix + "console:", Log: m.Log,
		WeChat: &console.LocalWeChat{},
	}
	if out, ok := m.Pusher.(*bot.Outbound); ok {
		m.Console.WeChat = &console.SDKWeChat{OA: out.OfficialAccount(), AuthorizeBase: cfg.Console.AuthorizeBase}
	}
	m.Engine.Extra = m.Console.Commands()
	m.Webhook, err = bot.NewWebhook(bot.WebhookConfig{
		Token: cfg.WeChat.Token, AppID: cfg.WeChat.AppID, EncodingAESKey: cfg.WeChat.EncodingAESKey,
		MaxSkew: cfg.WeChat.TimestampWindow.Duration, ReplyWithin: cfg.WeChat.ReplyWithin.Duration,
		Handler: m.Console.Chat(m.Engine), Pusher: m.Pusher, Notices: store, Metrics: m.Metrics,
		Replies: replies, ReplyPrefix: cfg.Session.Prefix + "reply:", UserLock: userLock, Log: m.Log,
		PerUserPerMinute: cfg.Limits.PerUserPerMinute,
	})
	if err != nil {
		return err
	}
	m.Reminders = &bot.Reminders{
		Store: store, Deliveries: store, Pusher: m.Pusher, Catalog: catalog, Zone: cfg.Zone(),
		DailyAt: cfg.Reminders.DailyAt, EscalateAfterDays: cfg.Reminders.EscalateAfterDays,
		TemplateID: cfg.WeChat.ReminderTemplateID, Log: m.Log, Metrics: m.Metrics,
	}
	api.Reminders = m.Reminders
	m.Server = &bot.Server{
		Addr:    cfg.HTTP.Addr,
		Webhook: m.Webhook,
		API:     api,
		Console: m.Console,
		Health:  &bot.Health{Checks: checks, Log: m.Log},
		Outbox:  m.Outbox,
		Metrics: m.Metrics,
		Log:     m.Log,
	}
	if cfg.LocalMode() {
		m.Server.Local = map[string]http.Handler{"/local/invite": &localInvite{Store: store, Now: time.Now}}
	}
	if err := m.Server.Open(); err != nil {
		return err
	}
	if cfg.Console.BaseURL == "" {
		m.Console.SetBaseURL(m.Server.URL()) // links in chat; pages use each request's Host
	}
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	m.bg = make(chan struct{})
	go func() {
		defer close(m.bg)
		if err := m.Reminders.Run(bctx); err != nil && bctx.Err() == nil {
			m.Log.Error("reminders stopped", "err", err)
		}
	}()
	m.Log.Info("gridbot serving", "url", m.Server.URL(), "webhook", m.Server.URL()+"/wechat",
		"console", m.Server.URL()+console.Prefix,
		"safe_mode", cfg.WeChat.EncodingAESKey != "")
	return nil
}

// URL is the base URL the server listens on.
func (m *Main) URL() string { return m.Server.URL() }

// Close drains requests in flight, stops background work and closes
// storage and Redis. A second Close does nothing.
func (m *Main) Close() error {
	var errs []error
	if m.Server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		errs = append(errs, m.Server.Shutdown(ctx))
		cancel()
	}
	if m.cancel != nil {
		m.cancel()
		<-m.bg
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	if m.Redis != nil {
		errs = append(errs, m.Redis.Close())
	}
	m.Server, m.cancel, m.Store, m.DB, m.Redis = nil, nil, nil, nil, nil
	return errors.Join(errs...)
}

// isLoopback reports whether a request comes from this machine.
func isLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
