package bot

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/silenceper/wechat/v2/cache"

	"gridbot/flows"
)

// TokenCache is the WeChat SDK's cache (access token, JS ticket) over a
// flows.KV, so every gridbot process shares one token through Redis or
// keeps it in the embedded store (storage.NewMemKV for a one-shot command). Values are stored as strings and Get
// returns a string, as the SDK type-asserts it.
type TokenCache struct {
	kv flows.KV
}

var _ cache.ContextCache = (*TokenCache)(nil)

// NewTokenCache returns a TokenCache over kv.
func NewTokenCache(kv flows.KV) *TokenCache {
	return &TokenCache{kv: kv}
}

// Get returns the string stored under key, or nil when there is none.
func (c *TokenCache) Get(key string) interface{} {
	return c.GetContext(context.Background(), key)
}

// GetContext is Get with a context.
func (c *TokenCache) GetContext(ctx context.Context, key string) interface{} {
	val, err := c.kv.Get(ctx, key)
	if err != nil {
		if flows.ErrorCode(err) != flows.ENotFound {
			slog.Warn("wechat: token cache read failed", "key", key, "err", err)
		}
		return nil // untyped nil: the SDK tests val != nil
	}
	return string(val)
}

// Set stores val (a string; other values are formatted with fmt.Sprint)
// for timeout. A zero timeout keeps it forever; a negative one removes it.
func (c *TokenCache) Set(key string, val interface{}, timeout time.Duration) error {
	return c.SetContext(context.Background(), key, val, timeout)
}

// SetContext is Set with a context.
func (c *TokenCache) SetContext(ctx context.Context, key string, val interface{}, timeout time.Duration) error {
	if timeout < 0 {
		return c.kv.Delete(ctx, key)
	}
	var s string
	switch v := val.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		s = fmt.Sprint(v)
	}
	return c.kv.Set(ctx, key, []byte(s), timeout)
}

// IsExist reports whether key holds a value.
func (c *TokenCache) IsExist(key string) bool {
	return c.IsExistContext(context.Background(), key)
}

// IsExistContext is IsExist with a context.
func (c *TokenCache) IsExistContext(ctx context.Context, key string) bool {
	return c.GetContext(ctx, key) != nil
}

// Delete removes key.
func (c *TokenCache) Delete(key string) error {
	return c.DeleteContext(context.Background(), key)
}

// DeleteContext is Delete with a context.
func (c *TokenCache) DeleteContext(ctx context.Context, key string) error {
	return c.kv.Delete(ctx, key)
}
