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
// recomputes every tally from the reports that are not void, and the
// distinct-household counts and roster coverage from them and the roster,
// and returns one line per difference with what is stored, e.g.
// "all 2026-11 visit: stored 3, recomputed 2" or "households all 2026-11
// visit: …". No diffs means the counts are right. It runs in one read
// transaction, so writers go on meanwhile (they wait only for bbolt's page
// check).
func (db *DB) Check(ctx context.Context) (diffs []string, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := db.verify(ctx); err != nil {
		return nil, err
	}
	err = db.view(func(tx *bolt.Tx) error {
		want, hh := map[string]int64{}, map[string]int64{}
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
			metrics, distinct := r.Metrics(), r.DistinctMetrics()
			return reportSets(&r, func(_ flows.Scope, _ string, tally, hhSet []byte) error {
				for m, v := range metrics {
					want[string(setKey(string(tally), m))] += v
				}
				for _, m := range distinct {
					key := string(hhFlatKey(hhSet, m))
					if hh[key]++; hh[key] == 1 {
						want[string(setKey(string(tally), m+flows.HouseholdsSuffix))] += flows.Milli
					}
				}
				return nil
			})
		})
		if err != nil {
			return err
		}
		cov, err := recomputeCoverage(tx, hh)
		if err != nil {
			return err
		}
		diffs = append(diffs, compareCounts(tx.Bucket(talliesBucket), tallyFlatKey, "", want, formatMilli)...)
		diffs = append(diffs, compareCounts(tx.Bucket(hhVisitsBucket), hhFlatKey, "households ", hh, formatInt)...)
		diffs = append(diffs, compareCounts(tx.Bucket(coverageBucket), nil, "coverage ", cov, formatInt)...)
		return nil
	})
	if err != nil {
		return nil, wrap("check tallies", err)
	}
	sort.Strings(diffs)
	return diffs, nil
}

// recomputeCoverage recomputes the coverage counters from the roster and
// the recomputed household counts hh.
func recomputeCoverage(tx *bolt.Tx, hh map[string]int64) (map[string]int64, error) {
	// The community-scope counts of each household: hid → keys.
	byHousehold := map[string][]string{}
	for key := range hh {
		parts := strings.SplitN(key, "\x00", 4)
		if len(parts) == 4 && strings.HasPrefix(parts[0], string(flows.ScopeCommunity)+":") {
			byHousehold[parts[1]] = append(byHousehold[parts[1]], key)
		}
	}
	cov := map[string]int64{}
	add := func(key []byte, d int64) error {
		cov[string(key)] += d
		return nil
	}
	err := tx.Bucket(rosterBucket).ForEach(func(k, v []byte) error {
		var rec rosterRec
		if err := decode(v, &rec); err != nil {
			return fmt.Errorf("roster %q: %w", k, err)
		}
		if err := rosterStock(&rec, 1, add); err != nil {
			return err
		}
		for _, key := range byHousehold[flows.HouseholdID(rec.Community, rec.Household)] {
			parts := strings.SplitN(key, "\x00", 4)
			if parts[0] != (flows.Scope{Kind: flows.ScopeCommunity, ID: rec.Community}).String() {
				continue
			}
			if err := rosterDeltas(&rec, parts[2], parts[3], 0, hh[key], add); err != nil {
				return err
			}
		}
		return nil
	})
	return cov, err
}

// compareCounts lists the differences between the counters of b and want
// (consumed), keyed by flat key, each line prefixed with label. b holds
// counter sets, whose entries flat names, or flat 8-byte counters when
// flat is nil.
func compareCounts(b *bolt.Bucket, flat func(set []byte, name string) []byte, label string, want map[string]int64, format func(int64) string) []string {
	sets := flat != nil
	var diffs []string
	compare := func(key string, got int64) {
		if w := want[key]; got != w {
			diffs = append(diffs, fmt.Sprintf("%s%s: stored %s, recomputed %s",
				label, readableKey(key), format(got), format(w)))
		}
		delete(want, key)
	}
	b.ForEach(func(k, v []byte) error {
		if !sets && len(v) == 8 {
			compare(string(k), int64(binary.BigEndian.Uint64(v)))
			return nil
		}
		if !sets {
			diffs = append(diffs, fmt.Sprintf("%s%s: stored value of %d bytes, recomputed %s",
				label, readableKey(string(k)), len(v), format(want[string(k)])))
			delete(want, string(k))
			return nil
		}
		err := forEachCount(v, func(name []byte, n int64) error {
			key := flat(k, string(name))
			if key == nil {
				return errBadSet
			}
			compare(string(key), n)
			return nil
		})
		if err != nil {
			diffs = append(diffs, fmt.Sprintf("%s%s: %v", label, readableKey(string(k)), err))
		}
		return nil
	})
	for key, w := range want {
		if w != 0 {
			diffs = append(diffs, fmt.Sprintf("%s%s: stored 0, recomputed %s", label, readableKey(key), format(w)))
		}
	}
	return diffs
}

// tallyFlatKey is the flat key of one tally: set key + "\x00" + metric.
func tallyFlatKey(set []byte, metric string) []byte { return setKey(string(set), metric) }

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }

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
