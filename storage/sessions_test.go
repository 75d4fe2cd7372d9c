package storage

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"gridbot/flows"
)

// TestSessionsGuard: a session ended by another node is not "lost"; one
// the store lost with its data is, once; while the store is down, users
// without an open form read no session and everything else is
// EUnavailable, until the store answers again.
func TestSessionsGuard(t *testing.T) {
	ctx := context.Background()
	mr := miniredis.RunT(t)
	client := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { client.Close() })
	kv := NewRedisKV(client)
	a, b := NewSessions(kv), NewSessions(kv)
	a.RetryAfter = 50 * time.Millisecond
	form := []byte(`{"flow":"visit","step":"target"}`)
	code := func(err error) string { return flows.ErrorCode(err) }

	if err := a.Set(ctx, "s:w1", form, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "s:w1"); err != nil { // the form ended on another node
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, "s:w1"); code(err) != flows.ENotFound {
		t.Fatalf("ended elsewhere: %v, want not_found", err)
	}

	if err := a.Set(ctx, "s:w1", form, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := a.Set(ctx, "s:w2", []byte(`{"done":{}}`), time.Hour); err != nil {
		t.Fatal(err)
	}
	mr.FlushAll() // a restart without persistence
	if _, err := a.Get(ctx, "s:w1"); code(err) != flows.EExpired {
		t.Fatalf("lost form: %v, want expired", err)
	}
	if _, err := a.Get(ctx, "s:w1"); code(err) != flows.ENotFound {
		t.Fatalf("lost form, asked again: %v, want not_found", err)
	}
	if _, err := a.Get(ctx, "s:w2"); code(err) != flows.ENotFound {
		t.Fatalf("lost idle session: %v, want not_found (nothing to announce)", err)
	}

	if err := a.Set(ctx, "s:w1", form, time.Hour); err != nil {
		t.Fatal(err)
	}
	mr.Close() // down
	if _, err := a.Get(ctx, "s:w3"); code(err) != flows.ENotFound {
		t.Fatalf("down, no open form: %v, want not_found", err)
	}
	if a.Check(ctx) == nil {
		t.Fatal("Check while down: nil")
	}
	if _, err := a.Get(ctx, "s:w1"); code(err) != flows.EUnavailable {
		t.Fatalf("down, open form: %v, want unavailable", err)
	}
	if err := a.Set(ctx, "s:w3", form, time.Hour); code(err) != flows.EUnavailable {
		t.Fatalf("down, set: %v, want unavailable", err)
	}
	if err := mr.Restart(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	if err := a.Set(ctx, "s:w3", form, time.Hour); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	if a.Check(ctx) != nil {
		t.Fatal("Check after recovery: still down")
	}
}
