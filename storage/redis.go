package storage

import (
	"context"
	"errors"
	"fmt"
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
