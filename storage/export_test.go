package storage

import (
	bolt "go.etcd.io/bbolt"

	"gridbot/flows"
)

// Tamper adds delta to a stored counter behind the store's back (for the
// contract's tests of Check): table "tallies", "households" or
// "coverage"; a counter reaching zero is deleted.
func Tamper(db *DB, table, scope, household, period, metric string, delta int64) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		switch table {
		case "tallies":
			return addCounts(tx.Bucket(talliesBucket), setKey(scope, period), []countDelta{{metric, delta}})
		case "households":
			return addCounts(tx.Bucket(hhVisitsBucket), hhSetKey(scope, household, period), []countDelta{{metric, delta}})
		case "coverage":
			return addTally(tx.Bucket(coverageBucket), tallyKey(scope, period, metric), delta)
		}
		return flows.Errorf(flows.EInvalid, "tamper: no table %q", table)
	})
}
