package storage

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"gridbot/flows"
)

// kvHarness is one flows.KV implementation under the contract.
type kvHarness struct {
	kv      flows.KV
	prefix  string                // put in front of every key (unique per test on a shared Redis)
	advance func(d time.Duration) // moves the KV's clock forward by d
}

func (h kvHarness) key(name string) string { return h.prefix + name }

// kvImpls returns every KV implementation, each fresh for t.
func kvImpls(t *testing.T) map[string]func(t *testing.T) kvHarness {
	return map[string]func(t *testing.T) kvHarness{
		"bbolt": func(t *testing.T) kvHarness {
			db := newTestDB(t)
			var mu sync.Mutex
			now := time.Now()
			db.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			return kvHarness{kv: db.KV(), advance: func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }}
		},
		"memory": func(t *testing.T) kvHarness {
			kv := NewMemKV()
			var mu sync.Mutex
			now := time.Now()
			kv.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			return kvHarness{kv: kv, advance: func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }}
		},
		"redis": func(t *testing.T) kvHarness {
			client, advance := testRedis(t)
			prefix := randomPrefix(t)
			t.Cleanup(func() { cleanRedis(t, client, prefix) })
			return kvHarness{kv: NewRedisKV(client), prefix: prefix, advance: advance}
		},
	}
}

// testRedis connects to GRIDBOT_TEST_REDIS when set (advance sleeps), or
// starts an in-process miniredis (advance fast-forwards its clock).
func testRedis(t testing.TB) (*redis.Client, func(time.Duration)) {
	t.Helper()
	if addr := os.Getenv("GRIDBOT_TEST_REDIS"); addr != "" {
		client := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { client.Close() })
		if err := client.Ping(context.Background()).Err(); err != nil {
			t.Fatalf("GRIDBOT_TEST_REDIS=%s: %v", addr, err)
		}
		return client, time.Sleep
	}
	m := miniredis.RunT(t)
	client := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { client.Close() })
	return client, m.FastForward
}

func randomPrefix(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "gridbot-test:" + hex.EncodeToString(b) + ":"
}

func cleanRedis(t *testing.T, client *redis.Client, prefix string) {
	ctx := context.Background()
	iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		if err := client.Del(ctx, iter.Val()).Err(); err != nil {
			t.Errorf("clean %s: %v", iter.Val(), err)
		}
	}
	if err := iter.Err(); err != nil {
		t.Errorf("clean redis: %v", err)
	}
}

// kvContract is what every flows.KV must do.
var kvContract = []struct {
	name string
	run  func(t *testing.T, h kvHarness)
}{
	{"absent key is not found", func(t *testing.T, h kvHarness) {
		_, err := h.kv.Get(context.Background(), h.key("nothing"))
		wantCode(t, err, flows.ENotFound)
	}},
	{"set, get, overwrite", func(t *testing.T, h kvHarness) {
		kvSet(t, h, "s", "one", 0)
		kvWant(t, h, "s", "one")
		kvSet(t, h, "s", "two", 0)
		kvWant(t, h, "s", "two")
	}},
	{"binary and empty values", func(t *testing.T, h kvHarness) {
		ctx := context.Background()
		bin := []byte{0, 1, 0xff, 0, '\n'}
		if err := h.kv.Set(ctx, h.key("bin"), bin, 0); err != nil {
			t.Fatal(err)
		}
		got, err := h.kv.Get(ctx, h.key("bin"))
		if err != nil || !bytes.Equal(got, bin) {
			t.Fatalf("got %q, %v", got, err)
		}
		kvSet(t, h, "empty", "", 0)
		kvWant(t, h, "empty", "")
	}},
	{"values are copies", func(t *testing.T, h kvHarness) {
		ctx := context.Background()
		val := []byte("orig")
		if err := h.kv.Set(ctx, h.key("c"), val, 0); err != nil {
			t.Fatal(err)
		}
		copy(val, "XXXX")
		got, err := h.kv.Get(ctx, h.key("c"))
		if err != nil || string(got) != "orig" {
			t.Fatalf("after changing the value set: %q, %v", got, err)
		}
		copy(got, "YYYY")
		kvWant(t, h, "c", "orig")
	}},
	{"delete", func(t *testing.T, h kvHarness) {
		ctx := context.Background()
		kvSet(t, h, "d", "x", 0)
		if err := h.kv.Delete(ctx, h.key("d")); err != nil {
			t.Fatal(err)
		}
		_, err := h.kv.Get(ctx, h.key("d"))
		wantCode(t, err, flows.ENotFound)
		if err := h.kv.Delete(ctx, h.key("d")); err != nil {
			t.Fatalf("deleting an absent key: %v", err)
		}
	}},
	{"expiry", func(t *testing.T, h kvHarness) {
		ctx := context.Background()
		kvSet(t, h, "ttl", "soon gone", 300*time.Millisecond)
		kvSet(t, h, "keep", "stays", 0)
		kvSet(t, h, "long", "stays too", time.Hour)
		kvWant(t, h, "ttl", "soon gone")
		h.advance(400 * time.Millisecond)
		_, err := h.kv.Get(ctx, h.key("ttl"))
		wantCode(t, err, flows.ENotFound)
		kvWant(t, h, "keep", "stays")
		kvWant(t, h, "long", "stays too")
	}},
	{"set without ttl clears the expiry", func(t *testing.T, h kvHarness) {
		kvSet(t, h, "p", "temp", 300*time.Millisecond)
		kvSet(t, h, "p", "kept", 0)
		h.advance(400 * time.Millisecond)
		kvWant(t, h, "p", "kept")
	}},
	{"set after expiry", func(t *testing.T, h kvHarness) {
		kvSet(t, h, "r", "old", 300*time.Millisecond)
		h.advance(400 * time.Millisecond)
		kvSet(t, h, "r", "new", time.Hour)
		kvWant(t, h, "r", "new")
	}},
	{"negative ttl is invalid", func(t *testing.T, h kvHarness) {
		err := h.kv.Set(context.Background(), h.key("neg"), []byte("x"), -time.Second)
		wantCode(t, err, flows.EInvalid)
	}},
}

func kvSet(t *testing.T, h kvHarness, key, val string, ttl time.Duration) {
	t.Helper()
	if err := h.kv.Set(context.Background(), h.key(key), []byte(val), ttl); err != nil {
		t.Fatalf("set %s: %v", key, err)
	}
}

func kvWant(t *testing.T, h kvHarness, key, want string) {
	t.Helper()
	got, err := h.kv.Get(context.Background(), h.key(key))
	if err != nil || string(got) != want {
		t.Fatalf("get %s: %q, %v; want %q", key, got, err, want)
	}
}

func TestKVContract(t *testing.T) {
	for implName, newKV := range kvImpls(t) {
		t.Run(implName, func(t *testing.T) {
			for _, tt := range kvContract {
				t.Run(tt.name, func(t *testing.T) {
					tt.run(t, newKV(t))
				})
			}
		})
	}
}

// TestMemKVSweep: expired entries leave memory once a sweep interval has
// passed and writes go on; live ones stay.
func TestMemKVSweep(t *testing.T) {
	ctx := context.Background()
	kv := NewMemKV()
	now := time.Now()
	kv.now = func() time.Time { return now }
	for i := range 1000 {
		ttl := time.Second
		if i%10 == 0 {
			ttl = time.Hour
		}
		if err := kv.Set(ctx, "k"+strconv.Itoa(i), []byte("v"), ttl); err != nil {
			t.Fatal(err)
		}
	}
	held := func() int {
		n := 0
		for i := range kv.shards {
			n += len(kv.shards[i].m)
		}
		return n
	}
	if n := held(); n != 1000 {
		t.Fatalf("%d entries held, want 1000", n)
	}
	now = now.Add(memSweepEvery + time.Second)
	for i := range 2000 { // enough writes to reach every shard
		if err := kv.Set(ctx, "new"+strconv.Itoa(i), []byte("v"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if n := held(); n != 100+2000 {
		t.Errorf("%d entries held after the sweep, want %d", n, 100+2000)
	}
	if v, err := kv.Get(ctx, "k10"); err != nil || string(v) != "v" {
		t.Errorf("live entry after the sweep: %q, %v", v, err)
	}
}

func TestPurgeExpiredKV(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	now := time.Now()
	db.now = func() time.Time { return now }
	kv := db.KV()
	for key, ttl := range map[string]time.Duration{"a": time.Second, "b": time.Second, "c": 0, "d": time.Hour} {
		if err := kv.Set(ctx, key, []byte(key), ttl); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(time.Minute)
	n, err := db.PurgeExpiredKV(ctx)
	if err != nil || n != 2 {
		t.Fatalf("purged %d, %v; want 2", n, err)
	}
	for _, key := range []string{"c", "d"} {
		if v, err := kv.Get(ctx, key); err != nil || string(v) != key {
			t.Fatalf("%s after purge: %q, %v", key, v, err)
		}
	}
}
