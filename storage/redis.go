package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"gridbot/flows"
)

// RedisKV is a flows.KV on Redis (go-redis v9). Keys are used as given:
// callers namespace them.
type RedisKV struct {
	client *redis.Client
}

// NewRedisKV returns a flows.KV over client.
func NewRedisKV(client *redis.Client) flows.KV {
	return &RedisKV{client: client}
}

// Get returns the value of key; ENotFound when it is absent or expired.
func (kv *RedisKV) Get(ctx context.Context, key string) ([]byte, error) {
	val, err := kv.client.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, flows.Errorf(flows.ENotFound, "key %s", key)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: unable to read redis key: %w", err)
	}
	return val, nil
}

// Set stores val under key; ttl 0 means no expiry.
func (kv *RedisKV) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if ttl < 0 {
		return flows.Errorf(flows.EInvalid, "key %s: negative ttl %s", key, ttl)
	}
	if err := kv.client.Set(ctx, key, val, ttl).Err(); err != nil {
		return fmt.Errorf("storage: unable to write redis key: %w", err)
	}
	return nil
}

// Delete removes key; deleting an absent key is not an error.
func (kv *RedisKV) Delete(ctx context.Context, key string) error {
	if err := kv.client.Del(ctx, key).Err(); err != nil {
		return fmt.Errorf("storage: unable to delete redis key: %w", err)
	}
	return nil
}

// Keys returns the keys with prefix (SCAN, a batch at a time).
func (kv *RedisKV) Keys(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	iter := kv.client.Scan(ctx, 0, globEscape(prefix)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("storage: unable to list redis keys: %w", err)
	}
	return keys, nil
}

// globEscape quotes the characters Redis's MATCH patterns give a meaning.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\', '^', '-':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
