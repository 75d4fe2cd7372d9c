package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisLocker is a short per-key lock in Redis, shared by every gridbot
// node on that Redis: SET key value NX PX ttl with a random value, and a
// release that deletes the key only while it still holds that value, so a
// node never frees a lock that lapsed and was taken by another.
type RedisLocker struct {
	client *redis.Client
	prefix string
	ttl    time.Duration
	poll   time.Duration
}

// DefaultLockTTL bounds how long a lock outlives a node that died holding it.
const DefaultLockTTL = 45 * time.Second

// NewRedisLocker returns a locker whose keys are prefix + the locked name.
// ttl 0 means DefaultLockTTL; it must exceed the longest time a lock is held.
func NewRedisLocker(client *redis.Client, prefix string, ttl time.Duration) *RedisLocker {
	if ttl <= 0 {
		ttl = DefaultLockTTL
	}
	return &RedisLocker{client: client, prefix: prefix, ttl: ttl, poll: 10 * time.Millisecond}
}

// unlockScript deletes the key only when it holds the caller's value.
var unlockScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// Lock waits until it holds name's lock, or ctx ends, polling every few
// milliseconds (up to 100 ms). unlock releases it.
func (l *RedisLocker) Lock(ctx context.Context, name string) (unlock func(), err error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	key, val := l.prefix+name, hex.EncodeToString(b)
	wait := l.poll
	for {
		ok, err := l.client.SetNX(ctx, key, val, l.ttl).Result()
		if err != nil {
			return nil, fmt.Errorf("storage: unable to take lock %s: %w", key, err)
		}
		if ok {
			return func() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				unlockScript.Run(ctx, l.client, []string{key}, val)
			}, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("storage: lock %s: %w", key, ctx.Err())
		case <-t.C:
		}
		if wait < 100*time.Millisecond {
			wait *= 2
		}
	}
}

// LockUser is Lock for one user's messages (bot.UserLocker).
func (l *RedisLocker) LockUser(ctx context.Context, openID string) (func(), error) {
	return l.Lock(ctx, openID)
}
