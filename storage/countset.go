package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Counter sets. The tallies and the distinct-household counts are kept as
// one bbolt value per scope and period (tallies) or per scope, household
// and period (household visits), holding every metric of it: a report then
// reads and writes 12 values of its 4 scopes × 3 periods instead of one
// key per metric (about 70 for a household visit), and Tally reads one
// value. A set is a sequence of entries sorted by name, each
// uvarint(len(name)) + name + varint(count); an entry at zero is dropped,
// an empty set deleted.
//
// Stores written before counter sets kept one key per metric, in the
// buckets "tallies" and "hh_visits" (key set key + "\x00" + metric, value
// 8-byte big-endian); Open moves them into sets once (upgradeCounters).

// countDelta is a change of one named counter of a set.
type countDelta struct {
	name string
	d    int64
}

var errBadSet = errors.New("malformed counter set")

// nextCount decodes the first entry of the set v.
func nextCount(v []byte) (name []byte, n int64, rest []byte, err error) {
	l, k := binary.Uvarint(v)
	if k <= 0 || uint64(len(v)-k) < l {
		return nil, 0, nil, errBadSet
	}
	name, v = v[k:k+int(l)], v[k+int(l):]
	n, k = binary.Varint(v)
	if k <= 0 {
		return nil, 0, nil, errBadSet
	}
	return name, n, v[k:], nil
}

func appendCount(dst []byte, name string, n int64) []byte {
	if n == 0 {
		return dst
	}
	dst = binary.AppendUvarint(dst, uint64(len(name)))
	dst = append(dst, name...)
	return binary.AppendVarint(dst, n)
}

// mergeCounts appends to dst the set old with deltas (sorted by name,
// unique) added.
func mergeCounts(dst, old []byte, deltas []countDelta) ([]byte, error) {
	i := 0
	for len(old) > 0 {
		name, n, rest, err := nextCount(old)
		if err != nil {
			return nil, err
		}
		for i < len(deltas) && deltas[i].name < string(name) {
			dst = appendCount(dst, deltas[i].name, deltas[i].d)
			i++
		}
		if i < len(deltas) && deltas[i].name == string(name) {
			n += deltas[i].d
			i++
		}
		if n != 0 {
			dst = binary.AppendUvarint(dst, uint64(len(name)))
			dst = append(dst, name...)
			dst = binary.AppendVarint(dst, n)
		}
		old = rest
	}
	for ; i < len(deltas); i++ {
		dst = appendCount(dst, deltas[i].name, deltas[i].d)
	}
	return dst, nil
}

// addCounts adds deltas (sorted by name, unique) to the set at key of b.
func addCounts(b *bolt.Bucket, key []byte, deltas []countDelta) error {
	return putCounts(b, key, b.Get(key), deltas)
}

// putCounts writes at key of b the set old, its value as just read, with
// deltas (sorted by name, unique) added.
func putCounts(b *bolt.Bucket, key, old []byte, deltas []countDelta) error {
	size := len(old)
	for _, d := range deltas {
		size += len(d.name) + 12
	}
	v, err := mergeCounts(make([]byte, 0, size), old, deltas)
	if err != nil {
		return fmt.Errorf("counter set %q: %w", readableKey(string(key)), err)
	}
	if len(v) == 0 {
		if old == nil {
			return nil
		}
		return b.Delete(key)
	}
	return b.Put(key, v)
}

// sortDeltas sorts ds by name and sums entries of the same name.
func sortDeltas(ds []countDelta) []countDelta {
	slices.SortFunc(ds, func(a, b countDelta) int { return strings.Compare(a.name, b.name) })
	out := ds[:0]
	for _, d := range ds {
		if len(out) > 0 && out[len(out)-1].name == d.name {
			out[len(out)-1].d += d.d
			continue
		}
		out = append(out, d)
	}
	return out
}

// countIn returns the count of name in the set v (0 when absent).
func countIn(v []byte, name string) (int64, error) {
	for len(v) > 0 {
		n, c, rest, err := nextCount(v)
		if err != nil {
			return 0, err
		}
		if string(n) == name {
			return c, nil
		}
		v = rest
	}
	return 0, nil
}

// forEachCount calls fn with each entry of the set v.
func forEachCount(v []byte, fn func(name []byte, n int64) error) error {
	for len(v) > 0 {
		name, n, rest, err := nextCount(v)
		if err != nil {
			return err
		}
		if err := fn(name, n); err != nil {
			return err
		}
		v = rest
	}
	return nil
}

// setCount sets the counter name of the set at key of b to n.
func setCount(b *bolt.Bucket, key []byte, name string, n int64) error {
	old, err := countIn(b.Get(key), name)
	if err != nil {
		return err
	}
	return addCounts(b, key, []countDelta{{name, n - old}})
}

// setKey is the parts joined by "\x00": the key of a counter set, and
// (with the counter's name last) the flat key the old layout, Check and
// its messages use.
func setKey(parts ...string) []byte {
	n := len(parts) - 1
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			k = append(k, 0)
		}
		k = append(k, p...)
	}
	return k
}

// legacyCounters are the per-metric buckets of stores written before
// counter sets, the bucket of sets each moves into, and how many "\x00"
// separate the set key from the metric in their keys.
// set gives the set key of an old key's prefix (the part before the metric).
var legacyCounters = []struct {
	old, sets []byte
	nul       int
	set       func(prefix []byte) []byte
}{
	{[]byte("tallies"), talliesBucket, 2, bytes.Clone}, // scope, period, metric
	{[]byte("hh_visits"), hhVisitsBucket, 3, func(p []byte) []byte { // scope, household, period, metric
		parts := bytes.SplitN(p, []byte{0}, 3)
		return hhSetKey(string(parts[0]), string(parts[1]), string(parts[2]))
	}},
}

// upgradeChunk is about how many old entries one upgrade transaction moves.
var upgradeChunk = 20_000

// upgradeCounters moves the per-metric counters of an older store into
// counter sets and deletes the old buckets, whole sets at a time (see
// drainLegacy).
func upgradeCounters(bdb *bolt.DB) error {
	for _, lc := range legacyCounters {
		err := drainLegacy(bdb, lc.old, func(tx *bolt.Tx, old *bolt.Bucket) ([][]byte, error) {
			sets := tx.Bucket(lc.sets)
			var moved [][]byte
			var prefix []byte
			var deltas []countDelta
			flush := func() error {
				if prefix == nil {
					return nil
				}
				return addCounts(sets, lc.set(prefix), deltas)
			}
			c := old.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				cut := nthNul(k, lc.nul)
				if cut < 0 || len(v) != 8 {
					// Damaged: dropped, so Check reports the
					// recomputed figure against a stored 0.
					moved = append(moved, bytes.Clone(k))
					continue
				}
				if prefix == nil || !bytes.Equal(prefix, k[:cut]) {
					if len(moved) >= upgradeChunk {
						break
					}
					if err := flush(); err != nil {
						return nil, err
					}
					prefix, deltas = bytes.Clone(k[:cut]), deltas[:0]
				}
				deltas = append(deltas, countDelta{string(k[cut+1:]), int64(binary.BigEndian.Uint64(v))})
				moved = append(moved, bytes.Clone(k))
			}
			return moved, flush()
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// drainLegacy empties the bucket name of an older store and then deletes
// it, a transaction at a time: move copies some of its entries (about
// upgradeChunk) to where they now belong and returns their keys, which are
// deleted in the same transaction. A crash in the middle leaves a store the
// next Open finishes upgrading; a store without the bucket is left as it is.
func drainLegacy(bdb *bolt.DB, name []byte, move func(tx *bolt.Tx, old *bolt.Bucket) (moved [][]byte, err error)) error {
	for done := false; !done; {
		err := bdb.Update(func(tx *bolt.Tx) error {
			old := tx.Bucket(name)
			if old == nil {
				done = true
				return nil
			}
			moved, err := move(tx, old)
			if err != nil {
				return err
			}
			if len(moved) == 0 {
				done = true
				return tx.DeleteBucket(name)
			}
			for _, k := range moved {
				if err := old.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// nthNul returns the index of the n-th "\x00" in k, -1 when there are fewer.
func nthNul(k []byte, n int) int {
	at := -1
	for range n {
		i := bytes.IndexByte(k[at+1:], 0)
		if i < 0 {
			return -1
		}
		at += 1 + i
	}
	return at
}
