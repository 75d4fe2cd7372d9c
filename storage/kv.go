package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/maphash"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"gridbot/flows"
)

// KV returns a flows.KV kept in the database file (bucket "kv"), for when
// no Redis is configured. Writes share commits with the other writers.
func (db *DB) KV() flows.KV { return boltKV{db} }

// boltKV stores each value behind an 8-byte big-endian expiry in unix
// nanoseconds (0: none). Expired entries read as absent; PurgeExpiredKV
// removes them.
type boltKV struct{ db *DB }

func (kv boltKV) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := kv.db.now().UnixNano()
	var val []byte
	err := kv.db.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(kvBucket).Get([]byte(key))
		if len(v) < 8 || expired(v, now) {
			return flows.Errorf(flows.ENotFound, "key %s", key)
		}
		val = append([]byte{}, v[8:]...)
		return nil
	})
	if err != nil {
		return nil, wrap("read key", err)
	}
	return val, nil
}

func (kv boltKV) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if key == "" {
		return flows.Errorf(flows.EInvalid, "empty key")
	}
	if ttl < 0 {
		return flows.Errorf(flows.EInvalid, "key %s: negative ttl %s", key, ttl)
	}
	var exp int64
	if ttl > 0 {
		exp = kv.db.now().Add(ttl).UnixNano()
	}
	v := make([]byte, 8+len(val))
	binary.BigEndian.PutUint64(v, uint64(exp))
	copy(v[8:], val)
	err := kv.db.update(func(tx *bolt.Tx) error {
		return tx.Bucket(kvBucket).Put([]byte(key), v)
	})
	return wrap("write key", err)
}

func (kv boltKV) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if key == "" {
		return nil
	}
	err := kv.db.update(func(tx *bolt.Tx) error {
		return tx.Bucket(kvBucket).Delete([]byte(key))
	})
	return wrap("delete key", err)
}

// Keys returns the keys with prefix that have not expired.
func (kv boltKV) Keys(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := kv.db.now().UnixNano()
	var keys []string
	err := kv.db.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(kvBucket).Cursor()
		p := []byte(prefix)
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			if len(v) >= 8 && !expired(v, now) {
				keys = append(keys, string(k))
			}
		}
		return nil
	})
	return keys, wrap("list keys", err)
}

func expired(v []byte, now int64) bool {
	exp := int64(binary.BigEndian.Uint64(v))
	return exp != 0 && now >= exp
}

// PurgeExpiredKV deletes the expired entries of the embedded KV and
// returns how many it removed (for a daily job).
func (db *DB) PurgeExpiredKV(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := db.now().UnixNano()
	var n int
	err := db.update(func(tx *bolt.Tx) error {
		n = 0
		c := tx.Bucket(kvBucket).Cursor()
		for k, v := c.First(); k != nil; {
			if len(v) < 8 || expired(v, now) {
				if err := c.Delete(); err != nil {
					return err
				}
				n++
				k, v = c.Seek(k)
				continue
			}
			k, v = c.Next()
		}
		return nil
	})
	if err != nil {
		return 0, wrap("purge expired keys", err)
	}
	return n, nil
}

// errNoKey is the ENotFound of a key that is not there, shared: a miss is
// the usual answer of the reply cache and of sessions, and needs no words.
var errNoKey = flows.Errorf(flows.ENotFound, "no such key")

// MemKV is a flows.KV in this process's memory, for values that need not
// survive a restart: the webhook's reply cache. (A reply lost in a crash
// costs little: a retry of the message is handled again from the stored
// session, and the store's MsgKey dedupe keeps a report counted once.)
// Expired entries read as absent; each shard sweeps them out at most once
// a minute, on a write, so memory follows the live entries. Create it
// with NewMemKV; it is safe for concurrent use.
type MemKV struct {
	seed   maphash.Seed
	now    func() time.Time
	shards [memShards]memShard
}

// memShards spreads keys over this many locks.
const memShards = 32

// memSweepEvery is how often a shard drops its expired entries.
const memSweepEvery = time.Minute

type memShard struct {
	mu      sync.Mutex
	m       map[string]memEntry
	sweepAt int64 // unix nanoseconds of the next sweep
}

type memEntry struct {
	val []byte
	exp int64 // unix nanoseconds; 0: none
}

// NewMemKV returns an empty MemKV.
func NewMemKV() *MemKV {
	kv := &MemKV{seed: maphash.MakeSeed(), now: time.Now}
	for i := range kv.shards {
		kv.shards[i].m = make(map[string]memEntry)
	}
	return kv
}

func (kv *MemKV) shard(key string) *memShard {
	return &kv.shards[maphash.String(kv.seed, key)%memShards]
}

// Get returns a copy of the value of key; ENotFound when it is absent or
// expired.
func (kv *MemKV) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := kv.now().UnixNano()
	s := kv.shard(key)
	s.mu.Lock()
	e, ok := s.m[key]
	s.mu.Unlock()
	if !ok || (e.exp != 0 && now >= e.exp) {
		return nil, errNoKey
	}
	return append([]byte{}, e.val...), nil
}

// Set stores a copy of val under key; ttl 0 means no expiry.
func (kv *MemKV) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if key == "" {
		return flows.Errorf(flows.EInvalid, "empty key")
	}
	if ttl < 0 {
		return flows.Errorf(flows.EInvalid, "key %s: negative ttl %s", key, ttl)
	}
	now := kv.now().UnixNano()
	e := memEntry{val: append([]byte{}, val...)}
	if ttl > 0 {
		e.exp = now + int64(ttl)
	}
	s := kv.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if now >= s.sweepAt {
		for k, old := range s.m {
			if old.exp != 0 && now >= old.exp {
				delete(s.m, k)
			}
		}
		s.sweepAt = now + int64(memSweepEvery)
	}
	s.m[key] = e
	return nil
}

// Delete removes key; deleting an absent key is not an error.
func (kv *MemKV) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := kv.shard(key)
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
	return nil
}
