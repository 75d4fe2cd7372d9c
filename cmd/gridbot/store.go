package main

import (
	"context"
	"fmt"
	"time"

	"gridbot/bot"
	"gridbot/flows"
	"gridbot/storage"
	"gridbot/storage/postgres"
)

// Store is what gridbot needs of either storage driver: the domain and
// reminder stores, check and backup, a health check, Close.
type Store interface {
	flows.Store
	flows.ReminderStore
	bot.Maintainer
	bot.FollowUpBatcher
	bot.LateNotices
	Ping(ctx context.Context) error
	Close() error
}

var (
	_ Store = (*storage.DB)(nil)
	_ Store = (*postgres.DB)(nil)
)

// openStore opens the configured store. db is the bbolt store when the
// driver is bbolt (it also keeps the embedded KV), nil otherwise.
func openStore(ctx context.Context, cfg *Config, opts storage.Options) (s Store, db *storage.DB, err error) {
	switch cfg.Storage.Driver {
	case "postgres":
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		pg, err := postgres.Open(ctx, cfg.Storage.DSN)
		if err != nil {
			return nil, nil, fmt.Errorf("storage.dsn: %w", err)
		}
		pg.OnCommit, pg.OnReportSaved = opts.OnCommit, opts.OnReportSaved
		return pg, nil, nil
	default:
		db, err := storage.Open(cfg.Storage.Path, opts)
		if err != nil {
			return nil, nil, err
		}
		return db, db, nil
	}
}

// checkSeveralNodes refuses a postgres config that would keep sessions in
// one node's memory or file: with several nodes a conversation's next
// message may reach another node.
func (c *Config) checkSeveralNodes() error {
	if c.Storage.Driver == "postgres" && c.Redis.Addr == "" {
		return fmt.Errorf("config: storage.driver = \"postgres\" needs redis.addr (GRIDBOT_REDIS_ADDR): " +
			"several nodes share conversation sessions, cached replies and per-user locks in Redis")
	}
	return nil
}
