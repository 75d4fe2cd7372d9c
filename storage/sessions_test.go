package storage

import (
	"context"
	"strconv"
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

// countingKV counts the reads that reach the store under it.
type countingKV struct {
	flows.KV
	gets int
}

func (c *countingKV) Get(ctx context.Context, key string) ([]byte, error) {
	c.gets++
	return c.KV.Get(ctx, key)
}

func (c *countingKV) Keys(ctx context.Context, prefix string) ([]string, error) {
	return c.KV.(KeyLister).Keys(ctx, prefix)
}

// TestSessionsOwn: on one node, a user with no session reads nothing from
// the store, and every session that may be there is still read: the ones
// there before Own, the ones Set since (until their TTL), none deleted.
// Run on Redis and on the bbolt KV, with a prefix that holds Redis glob
// characters.
func TestSessionsOwn(t *testing.T) {
	ctx := context.Background()
	stores := map[string]func(t testing.TB) flows.KV{
		"redis": func(t testing.TB) flows.KV { c, _ := testRedis(t); return NewRedisKV(c) },
		"bolt":  func(t testing.TB) flows.KV { return newTestDB(t).KV() },
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			base := randomPrefix(t)
			prefix := base + "[s]*:"
			kv := &countingKV{KV: open(t)}
			// base+"s:w1" matches the prefix taken as a glob, not as text.
			for _, k := range []string{prefix + "old", base + "s:w1"} {
				if err := kv.Set(ctx, k, []byte(`{"flow":"visit"}`), time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			now := time.Now()
			s := NewSessions(kv)
			s.Now = func() time.Time { return now }
			if err := s.Own(ctx, prefix); err != nil {
				t.Fatal(err)
			}
			get := func(key string, want string, reads int) {
				t.Helper()
				before := kv.gets
				v, err := s.Get(ctx, key)
				if got := string(v); flows.ErrorCode(err) != "" {
					got = flows.ErrorCode(err)
				} else if got != want {
					t.Errorf("Get %s = %q, want %q", key, got, want)
				}
				if flows.ErrorCode(err) != "" && want != flows.ErrorCode(err) {
					t.Errorf("Get %s: %v, want %s", key, err, want)
				}
				if n := kv.gets - before; n != reads {
					t.Errorf("Get %s read the store %d times, want %d", key, n, reads)
				}
			}
			get(prefix+"old", `{"flow":"visit"}`, 1) // there before Own
			get(prefix+"w1", flows.ENotFound, 0)     // never written
			if err := s.Set(ctx, prefix+"w1", []byte(`{"done":{}}`), time.Hour); err != nil {
				t.Fatal(err)
			}
			get(prefix+"w1", `{"done":{}}`, 1)
			if err := s.Delete(ctx, prefix+"w1"); err != nil {
				t.Fatal(err)
			}
			get(prefix+"w1", flows.ENotFound, 0)
			get(base+"s:w1", `{"flow":"visit"}`, 1) // not under the prefix: always read

			if err := s.Set(ctx, prefix+"w2", []byte(`{"done":{}}`), time.Minute); err != nil {
				t.Fatal(err)
			}
			now = now.Add(time.Minute + knownMargin) // its TTL is over
			get(prefix+"w2", flows.ENotFound, 0)
		})
	}
}

// BenchmarkSessionsGet: the session read of a user with no open form (every
// one-line report), on Redis (GRIDBOT_TEST_REDIS, else miniredis) and on
// the bbolt KV: read from the store, or answered by Own's list.
func BenchmarkSessionsGet(b *testing.B) {
	ctx := context.Background()
	stores := []struct {
		name string
		open func(t testing.TB) flows.KV
	}{
		{"redis", func(t testing.TB) flows.KV { c, _ := testRedis(t); return NewRedisKV(c) }},
		{"bolt", func(t testing.TB) flows.KV { return newTestDB(t).KV() }},
	}
	for _, st := range stores {
		for _, owned := range []bool{false, true} {
			name := st.name + "/read"
			if owned {
				name = st.name + "/owned"
			}
			b.Run(name, func(b *testing.B) {
				kv := st.open(b)
				prefix := "bench-sessions:" + randomPrefix(b) + ":"
				s := NewSessions(kv)
				if owned {
					if err := s.Own(ctx, prefix); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					if _, err := s.Get(ctx, prefix+"o"+strconv.Itoa(i%64)); flows.ErrorCode(err) != flows.ENotFound {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
