package storage

import (
	"context"
	"encoding/binary"
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
	err := kv.db.bolt.View(func(tx *bolt.Tx) error {
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
