package storage

import (
	"context"
	"sync"
	"time"

	"gridbot/flows"
)

// FallbackKV is a flows.KV on Primary (Redis) that uses Secondary (the
// embedded store) while Primary fails: the webhook's reply cache keeps
// answering WeChat's retries through a Redis outage. After a failure
// Primary is left alone for RetryAfter, then tried again.
type FallbackKV struct {
	Primary, Secondary flows.KV
	RetryAfter         time.Duration // 0: 2 s

	mu        sync.Mutex
	downUntil time.Time
}

func (f *FallbackKV) up() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !time.Now().Before(f.downUntil)
}

// failed takes Primary as down unless err is an answer (not found,
// invalid) or the caller's own deadline.
func (f *FallbackKV) failed(ctx context.Context, err error) bool {
	if c := flows.ErrorCode(err); c == flows.ENotFound || c == flows.EInvalid || ctx.Err() != nil {
		return false
	}
	d := f.RetryAfter
	if d <= 0 {
		d = 2 * time.Second
	}
	f.mu.Lock()
	f.downUntil = time.Now().Add(d)
	f.mu.Unlock()
	return true
}

// Get reads Primary, or Secondary while Primary is down.
func (f *FallbackKV) Get(ctx context.Context, key string) ([]byte, error) {
	if f.up() {
		v, err := f.Primary.Get(ctx, key)
		if !f.failed(ctx, err) {
			return v, err
		}
	}
	return f.Secondary.Get(ctx, key)
}

// Set writes Primary, or Secondary while Primary is down.
func (f *FallbackKV) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if f.up() {
		err := f.Primary.Set(ctx, key, val, ttl)
		if !f.failed(ctx, err) {
			return err
		}
	}
	return f.Secondary.Set(ctx, key, val, ttl)
}

// Delete removes key from both.
func (f *FallbackKV) Delete(ctx context.Context, key string) error {
	err := f.Secondary.Delete(ctx, key)
	if f.up() {
		if perr := f.Primary.Delete(ctx, key); !f.failed(ctx, perr) && perr != nil {
			return perr
		}
	}
	return err
}
