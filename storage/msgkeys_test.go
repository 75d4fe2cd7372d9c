package storage

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"gridbot/flows"
)

// Keys of the WeChat shape are ordered by MsgId whoever sent them; every
// other key keeps its own mark; no two keys share one.
func TestDedupeKey(t *testing.T) {
	keys := []string{
		"oA:24000000000000001", "oB:24000000000000002", "oA:24000000000000003",
		"oA:24000000000000003#1", "oA:24000000000000003#2", "oZ:24000000000000004",
		"oA:7", "oA:007", "oA:7#01", "oA:7#", "oA:-7", "oA:+7", "oA:18446744073709551616",
		"form:abc", "oA:1700000000:CLICK", ":7", "7", "", "oA\x00x:7", "oA:7\x00x",
	}
	seen := map[string]string{}
	for _, k := range keys {
		d := string(dedupeKey(k))
		if other, ok := seen[d]; ok {
			t.Errorf("%q and %q share the mark %q", k, other, d)
		}
		seen[d] = k
	}
	// MsgId order, whatever the sender: a commit's marks are neighbours.
	ordered := []string{"oZ:24000000000000001", "oA:24000000000000002", "oM:24000000000000002#1", "oB:24000000000000010"}
	for i := 1; i < len(ordered); i++ {
		if a, b := dedupeKey(ordered[i-1]), dedupeKey(ordered[i]); bytes.Compare(a, b) >= 0 {
			t.Errorf("%q sorts after %q", ordered[i-1], ordered[i])
		}
	}
	if dedupeKey("oA:007")[0] != 0 || dedupeKey("oA:7")[0] != 1 {
		t.Error("only canonical MsgIds are reordered")
	}
}

// A store written before dedupeKey keeps deduping the messages it saved,
// after an upgrade done a few marks per transaction (and not redone).
func TestOpenUpgradesMsgKeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var saved []flows.Report
	for i, key := range []string{"oA:24000000000000001", "oB:24000000000000002", "form:f1", "oA:24000000000000003#2", "oC:1700000000:CLICK"} {
		r := hhVisit(key, "w1", "g1", "3-2-20"+string(rune('1'+i)), "2026-11-09", "chronic")
		s, dup, err := db.SaveReport(ctx, r)
		if err != nil || dup {
			t.Fatalf("save %s: %v %v", key, dup, err)
		}
		saved = append(saved, s)
	}
	db.Close()
	// Back to the old layout: marks under the MsgKey as it is.
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		old, err := tx.CreateBucket(legacyMsgKeys)
		if err != nil {
			return err
		}
		for _, r := range saved {
			if err := old.Put([]byte(r.MsgKey), itob(r.ID)); err != nil {
				return err
			}
		}
		if err := tx.DeleteBucket(msgKeysBucket); err != nil {
			return err
		}
		_, err = tx.CreateBucket(msgKeysBucket)
		return err
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}

	defer func(n int) { upgradeChunk = n }(upgradeChunk)
	upgradeChunk = 2
	for range 2 { // the second Open finds nothing left to upgrade
		db, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		db.bolt.View(func(tx *bolt.Tx) error {
			if tx.Bucket(legacyMsgKeys) != nil {
				t.Error("old marks left after the upgrade")
			}
			return nil
		})
		for _, r := range saved {
			again := r
			again.ID = 0
			got, dup, err := db.SaveReport(ctx, again)
			if err != nil || !dup || got.ID != r.ID {
				t.Errorf("%s again after the upgrade: id %d dup %v %v, want id %d dup", r.MsgKey, got.ID, dup, err, r.ID)
			}
		}
		mustCheck(t, db)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
