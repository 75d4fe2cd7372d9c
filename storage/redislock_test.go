package storage

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestRedisLocker: holders of one name never overlap, across lockers (as
// across nodes); a lapsed lock taken by another is not freed by its first
// holder; a waiter gives up when its context ends.
func TestRedisLocker(t *testing.T) {
	client, advance := testRedis(t)
	prefix := randomPrefix(t)
	t.Cleanup(func() { cleanRedis(t, client, prefix) })
	ctx := context.Background()
	a, b := NewRedisLocker(client, prefix, time.Second), NewRedisLocker(client, prefix, time.Second)

	var mu sync.Mutex
	inside, maxInside, total := 0, 0, 0
	var wg sync.WaitGroup
	for i := range 20 {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := l.LockUser(ctx, "u1")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			inside++
			maxInside = max(maxInside, inside)
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
			mu.Lock()
			inside--
			total++
			mu.Unlock()
			unlock()
		}()
	}
	wg.Wait()
	if maxInside != 1 || total != 20 {
		t.Fatalf("%d holders at once (want 1), %d done (want 20)", maxInside, total)
	}

	unlockA, err := a.Lock(ctx, "u2")
	if err != nil {
		t.Fatal(err)
	}
	advance(1500 * time.Millisecond) // a's lock lapses
	unlockB, err := b.Lock(ctx, "u2")
	if err != nil {
		t.Fatal(err)
	}
	unlockA() // must not free b's lock
	wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := a.Lock(wctx, "u2"); err == nil {
		t.Fatal("lock taken while b holds it")
	}
	unlockB()
	if unlock, err := a.Lock(ctx, "u2"); err != nil {
		t.Fatalf("after b's release: %v", err)
	} else {
		unlock()
	}
}
