package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"gridbot/bot"
)

// newRedis returns a client for the configured Redis with short timeouts
// (a Redis that does not answer makes chat degrade at once instead of
// each message waiting seconds) and go-redis's own log lines routed to
// log at debug level: gridbot reports Redis failures itself, in one line.
func newRedis(cfg *Config, log *slog.Logger) *redis.Client {
	redis.SetLogger(redisLogger{log})
	return redis.NewClient(&redis.Options{
		Addr: cfg.Redis.Addr, Password: cfg.Redis.Password, DB: cfg.Redis.DB,
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
		MaxRetries: 1,
	})
}

// pingRedis checks Redis at start; the error names the config key.
func pingRedis(ctx context.Context, cfg *Config, rdb *redis.Client) error {
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		return fmt.Errorf("redis at %s (redis.addr): %w", cfg.Redis.Addr, err)
	}
	return nil
}

// redisLogger is go-redis's internal logger on slog, at debug level.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	if l.log != nil {
		l.log.Debug("redis: " + fmt.Sprintf(format, v...))
	}
}

// redisErrors is a go-redis hook counting failed commands (redis.Nil, a
// missing key, is an answer, not a failure).
type redisErrors struct{ m *bot.Metrics }

func (h redisErrors) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisErrors) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if err != nil && !errors.Is(err, redis.Nil) {
			h.m.RedisError()
		}
		return err
	}
}

func (h redisErrors) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if err != nil && !errors.Is(err, redis.Nil) {
			h.m.RedisError()
		}
		return err
	}
}
