package bot

import (
	"os"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"gridbot/flows"
	"gridbot/storage"
)

// TestTokenCache runs the SDK's cache contract over the embedded KV and
// Redis, with real expiry times.
func TestTokenCache(t *testing.T) {
	// Each case returns the KV and a function that lets time pass.
	cases := map[string]func(t *testing.T) (flows.KV, func(time.Duration)){
		"bolt": func(t *testing.T) (flows.KV, func(time.Duration)) { return openDB(t).KV(), time.Sleep },
		"redis": func(t *testing.T) (flows.KV, func(time.Duration)) {
			if os.Getenv("GRIDBOT_TEST_REDIS") != "" {
				return storage.NewRedisKV(testRedis(t)), time.Sleep
			}
			mr := miniredis.RunT(t)
			client := redis.NewClient(&redis.Options{Addr: mr.Addr()})
			t.Cleanup(func() { client.Close() })
			return storage.NewRedisKV(client), mr.FastForward
		},
	}
	for name, open := range cases {
		t.Run(name, func(t *testing.T) {
			kv, pass := open(t)
			c := NewTokenCache(kv)
			key := uniquePrefix() + "access_token_wx123"
			if v := c.Get(key); v != nil {
				t.Fatalf("Get of a missing key: %#v, want untyped nil", v)
			}
			if c.IsExist(key) {
				t.Fatal("IsExist of a missing key")
			}
			if err := c.Set(key, "TOKEN-abc", 300*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			// The SDK does val.(string).
			if s, ok := c.Get(key).(string); !ok || s != "TOKEN-abc" || !c.IsExist(key) {
				t.Fatalf("Get: %#v", c.Get(key))
			}
			pass(400 * time.Millisecond)
			if v := c.Get(key); v != nil || c.IsExist(key) {
				t.Fatalf("after expiry: %#v", v)
			}
			if err := c.Set(key, 7200, 0); err != nil {
				t.Fatal(err)
			}
			if s, ok := c.Get(key).(string); !ok || s != "7200" {
				t.Fatalf("non-string value: %#v", c.Get(key))
			}
			if err := c.Delete(key); err != nil || c.IsExist(key) {
				t.Fatalf("after Delete: %v, exists %v", err, c.IsExist(key))
			}
			if err := c.Set(key, "x", -time.Second); err != nil || c.IsExist(key) {
				t.Fatalf("negative timeout: %v, exists %v", err, c.IsExist(key))
			}
		})
	}
}
