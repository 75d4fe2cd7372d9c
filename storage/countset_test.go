package storage

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"gridbot/flows"
)

// testdata/counters-v1.db is a store written by the code before counter
// sets (one key per metric in "tallies" and "hh_visits"): the roster of
// seedRoster, five household visits and a campaign in c1, one visit
// voided. testdata/counters-v1.json holds what that code read from it:
// tallies, coverage and household visits of several scopes and periods.

// An older store opens upgraded: the per-metric buckets are gone (a
// damaged entry with them), and
// everything reads as the old code read it, Check finds nothing, and new
// reports count on top of the upgraded sets.
func TestOpenUpgradesCounters(t *testing.T) {
	ctx := context.Background()
	data, err := os.ReadFile("testdata/counters-v1.db")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "old.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// A damaged entry (not 8 bytes) is dropped by the upgrade, not read.
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("tallies")).Put(setKey("all", "2026-11", "bogus"), []byte{1, 2, 3})
	})
	if err != nil {
		t.Fatal(err)
	}
	bdb.Close()
	var golden map[string]json.RawMessage
	raw, err := os.ReadFile("testdata/counters-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	read := func(db *DB, key string) any {
		f := strings.Fields(key)
		switch f[0] {
		case "tally":
			return mustTally(t, db, f[1], f[2])
		case "coverage":
			return mustCoverage(t, db, f[1], f[2])
		default:
			n, err := db.HouseholdVisits(ctx, "c1", f[1], f[2], f[3])
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	same := func(key string, got any) bool {
		want := reflect.New(reflect.TypeOf(got))
		if err := json.Unmarshal(golden[key], want.Interface()); err != nil {
			t.Fatal(err)
		}
		w := want.Elem().Interface()
		if c, ok := got.(flows.Counts); ok {
			return sameCounts(c, w.(flows.Counts))
		}
		return reflect.DeepEqual(got, w)
	}

	// Moved a few entries (whole sets) per transaction, as a big store is.
	defer func(n int) { upgradeChunk = n }(upgradeChunk)
	upgradeChunk = 3
	for range 2 { // the second Open finds nothing left to upgrade
		db, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		db.bolt.View(func(tx *bolt.Tx) error {
			for _, lc := range legacyCounters {
				if tx.Bucket(lc.old) != nil {
					t.Errorf("bucket %s left after the upgrade", lc.old)
				}
			}
			return nil
		})
		for key := range golden {
			if got := read(db, key); !same(key, got) {
				t.Errorf("%s: %+v, want %s", key, got, golden[key])
			}
		}
		mustCheck(t, db)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if c := golden["tally all 2026-11"]; !strings.Contains(string(c), `"visit.households": 2`) {
		t.Fatalf("golden file without the distinct households: %s", c)
	}

	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustSave(t, db, hhVisit("g", "w1", "g1", "3-2-201", "2026-11-09", "chronic"))
	mustSave(t, db, hhVisit("h", "w1", "g1", "3-2-203", "2026-11-09", "chronic"))
	mustCheck(t, db)
	checkTallies(t, db, "after upgrade", []tallyWant{{"community:c1", "2026-11", flows.Counts{
		"visit": 5, "visit.chronic": 5, "visit.elderly": 1, "visit.households": 3,
		"visit.chronic.households": 3, "visit.elderly.households": 1,
		"campaign": 1, "campaign.cleanup": 1, "garbage_tons": 2.5, "participants": 35,
	}}})
	if cv := mustCoverage(t, db, "community:c1", "2026-11"); cv.Households != 4 || cv.Visited != 3 {
		t.Errorf("coverage after upgrade: %+v", cv)
	}
}

// A set keeps its entries sorted whatever order they are added in, drops
// the ones back at zero, and is deleted when empty.
func TestCounterSets(t *testing.T) {
	db := newTestDB(t)
	key := setKey("all", "2026-11")
	steps := []struct {
		deltas []countDelta
		want   string
	}{
		{[]countDelta{{"visit", 1000}, {"b", -2}}, "b=-2 visit=1000"},
		{[]countDelta{{"a", 5}, {"visit", 1000}, {"z", 1}}, "a=5 b=-2 visit=2000 z=1"},
		{[]countDelta{{"b", 2}, {"visit.chronic", 7}}, "a=5 visit=2000 visit.chronic=7 z=1"},
		{[]countDelta{{"a", -5}, {"visit", -2000}, {"visit.chronic", -7}, {"z", -1}}, ""},
	}
	for i, s := range steps {
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(talliesBucket)
			if err := addCounts(b, key, sortDeltas(s.deltas)); err != nil {
				return err
			}
			v := b.Get(key)
			if s.want == "" && v != nil {
				t.Errorf("step %d: empty set kept: %x", i, v)
			}
			var got []string
			err := forEachCount(v, func(name []byte, n int64) error {
				got = append(got, string(name)+"="+formatInt(n))
				return nil
			})
			if strings.Join(got, " ") != s.want {
				t.Errorf("step %d: %q, want %q", i, strings.Join(got, " "), s.want)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := countIn([]byte{5, 'a'}, "a"); err == nil {
		t.Error("truncated set decoded")
	}
}
