package storage

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// The dedupe marks. A report's MsgKey is the key of the message that
// completed it; a WeChat message's is its sender and MsgId,
// "<openid>:<MsgId>" (with "#<n>" for the n-th household of a visit to
// several). Kept as they are, a commit's marks fall on as many pages as
// it has senders. WeChat hands out MsgIds in increasing order, so the
// marks are keyed by MsgId first: the marks of a commit land together at
// the end of the bucket, one page or two for the whole batch.
//
// dedupeKey(k) is 0x01 + the MsgId as 8 bytes big-endian + "#<n>" if any
// + "\x00" + openid for a key of that shape, and 0x00 + k for any other
// (forms' "form:<id>", events): two different keys never meet.
func dedupeKey(msgKey string) []byte {
	if i := strings.LastIndexByte(msgKey, ':'); i > 0 {
		sender, id := msgKey[:i], msgKey[i+1:]
		digits, nth, hasNth := strings.Cut(id, "#")
		n, ok := canonicalUint(digits)
		if _, nthOK := canonicalUint(nth); ok && (!hasNth || nthOK) {
			k := make([]byte, 0, 1+8+len(id)-len(digits)+1+len(sender))
			k = append(k, 1)
			k = binary.BigEndian.AppendUint64(k, n)
			if hasNth {
				k = append(append(k, '#'), nth...)
			}
			return append(append(k, 0), sender...)
		}
	}
	return append([]byte{0}, msgKey...)
}

// canonicalUint parses a decimal number written without sign or leading
// zeros, so that each number has one spelling (and each key one mark).
func canonicalUint(s string) (uint64, bool) {
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil && strconv.FormatUint(n, 10) == s
}

// legacyMsgKeys is the bucket of the dedupe marks of stores written
// before dedupeKey: MsgKey as it is → report id.
var legacyMsgKeys = []byte("report_msgkeys")

// upgradeMsgKeys moves the marks of an older store into msgKeysBucket
// under dedupeKey and deletes the old bucket (see drainLegacy).
func upgradeMsgKeys(bdb *bolt.DB) error {
	return drainLegacy(bdb, legacyMsgKeys, func(tx *bolt.Tx, old *bolt.Bucket) ([][]byte, error) {
		marks := tx.Bucket(msgKeysBucket)
		var moved [][]byte
		c := old.Cursor()
		for k, v := c.First(); k != nil && len(moved) < upgradeChunk; k, v = c.Next() {
			if err := marks.Put(dedupeKey(string(k)), bytes.Clone(v)); err != nil {
				return nil, err
			}
			moved = append(moved, bytes.Clone(k))
		}
		return moved, nil
	})
}
