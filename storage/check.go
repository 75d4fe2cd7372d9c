package storage

import (
	"context"
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"

	"gridbot/flows"
)

// Check first reads every page of the file (a damaged one is an error
// matching ErrCorrupt, which names the problems and what to do), then
// recomputes every tally from the reports that are not void and returns
// one line per difference with the stored tallies, e.g.
// "all 2026-11 visit: stored 3, recomputed 2". No diffs means the tallies
// are right. The tallies are recomputed in one read transaction, so
// writers go on meanwhile (they wait only for bbolt's page check).
func (db *DB) Check(ctx context.Context) (diffs []string, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := db.verify(ctx); err != nil {
		return nil, err
	}
	err = db.view(func(tx *bolt.Tx) error {
		want := map[string]int64{}
		n := 0
		err := tx.Bucket(reportsBucket).ForEach(func(k, v []byte) error {
			if n++; n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			var rec reportRec
			if err := decode(v, &rec); err != nil {
				return fmt.Errorf("report %d: %w", btoi(k), err)
			}
			if rec.Void {
				return nil
			}
			r := rec.report()
			return reportTallies(&r, func(key []byte, v int64) error {
				want[string(key)] += v
				return nil
			})
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(talliesBucket).ForEach(func(k, v []byte) error {
			key := string(k)
			if len(v) != 8 {
				diffs = append(diffs, fmt.Sprintf("%s: stored value of %d bytes, recomputed %s",
					readableKey(key), len(v), formatMilli(want[key])))
				delete(want, key)
				return nil
			}
			got := int64(binary.BigEndian.Uint64(v))
			if w := want[key]; got != w {
				diffs = append(diffs, fmt.Sprintf("%s: stored %s, recomputed %s",
					readableKey(key), formatMilli(got), formatMilli(w)))
			}
			delete(want, key)
			return nil
		})
		if err != nil {
			return err
		}
		for key, w := range want {
			if w != 0 {
				diffs = append(diffs, fmt.Sprintf("%s: stored 0, recomputed %s", readableKey(key), formatMilli(w)))
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap("check tallies", err)
	}
	sort.Strings(diffs)
	return diffs, nil
}

// readableKey turns a tally key "all\x002026-11\x00visit" into "all 2026-11 visit".
func readableKey(k string) string {
	return strings.ReplaceAll(k, "\x00", " ")
}

// formatMilli prints thousandths exactly: 2600 → "2.6", -1500 → "-1.5".
func formatMilli(n int64) string {
	sign := ""
	u := uint64(n)
	if n < 0 {
		sign, u = "-", uint64(-n)
	}
	s := sign + strconv.FormatUint(u/flows.Milli, 10)
	if frac := u % flows.Milli; frac != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%03d", frac), "0")
	}
	return s
}
