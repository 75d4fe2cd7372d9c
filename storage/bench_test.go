package storage

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"gridbot/flows"
)

// benchReport is the i-th report of a synthetic year: 500 workers in 50
// grids of 10 communities, mostly household visits (with their follow-up
// schedule, counted in the distinct households), one in ten a campaign
// with counters. Its MsgKey has the webhook's shape, sender and MsgId.
func benchReport(i int) flows.Report {
	worker := i % 500
	community, grid := fmt.Sprintf("c%d", worker%10), fmt.Sprintf("g%d", worker%50/10)
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%365).Format(time.DateOnly)
	r := flows.Report{
		MsgKey: fmt.Sprintf("ow%d:%d", worker, 24_000_000_000_000_000+i), Worker: fmt.Sprintf("w%d", worker), Community: community, Grid: grid,
		Day: day, CreatedAt: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
	}
	if i%10 == 9 {
		r.Flow, r.Kind = "campaign", []string{"publicity", "cleanup", "lecture"}[i%3]
		r.Counts = map[string]float64{"leaflets": float64(i % 400), "participants": float64(i % 50), "garbage_tons": 0.5}
		return r
	}
	r.Flow, r.Kind = "visit", []string{"chronic", "elderly", "maternal", "floating", "other"}[i%5]
	r.Target, r.Household = fmt.Sprintf("%d-%d-%d", i%30, i%4, i%600), true
	r.Fields = map[string]string{"bp": "150/95", "note": "按时服药"}
	r.FollowKey = flows.FollowKey(community, r.Flow, r.Kind, r.Target)
	r.NextDue = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%90).Format(time.DateOnly)
	return r
}

// BenchmarkSaveReport saves reports through the group commit, each durable
// (fsync) when SaveReport returns, from 1 and from 64 concurrent writers.
// Wall time follows the disk's fsync, shared with whatever else runs: on a
// busy machine compare allocations, pages/commit and the process's CPU
// time per save (e.g. /usr/bin/time) against a baseline in the same run.
func BenchmarkSaveReport(b *testing.B) {
	for _, writers := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			ctx := context.Background()
			db := newTestDB(b)
			var next atomic.Int64
			writes := func() int64 { s := db.bolt.Stats(); return s.TxStats.GetWrite() }
			commits, written := db.commit.commits.Load(), writes()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1))
						if i > b.N {
							return
						}
						// Live reports are about today's work, or the day before.
						r := benchReport(i)
						r.Day = fmt.Sprintf("2026-11-%02d", 5+i%2)
						if _, _, err := db.SaveReport(ctx, r); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "saves/s")
			n := float64(db.commit.commits.Load() - commits)
			b.ReportMetric(float64(b.N)/n, "saves/commit")
			// Pages bbolt wrote (dirty pages, overflow included) per commit.
			b.ReportMetric(float64(writes()-written)/n, "pages/commit")
		})
	}
}

// fillDB opens a database at path and writes n items with put, in batched
// transactions and without fsync (only the fill: the benchmark then reads
// with the normal settings), then runs after in the same mode. The caller
// closes the database.
func fillDB(b testing.TB, path string, n int, put func(tx *bolt.Tx, i int) error, after func(db *DB) error) *DB {
	b.Helper()
	db, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	db.bolt.NoSync = true
	// Moderate transactions: bbolt splits nodes only at commit, so inserts
	// into one huge transaction slow down quadratically.
	const perTx = 5000
	for lo := 0; lo < n; lo += perTx {
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			for i := lo; i < min(lo+perTx, n); i++ {
				if err := put(tx, i); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if after != nil {
		if err := after(db); err != nil {
			b.Fatal(err)
		}
	}
	db.bolt.NoSync = false
	if err := db.bolt.Sync(); err != nil {
		b.Fatal(err)
	}
	b.Logf("filled %s with %d items in %s", filepath.Base(path), n, time.Since(start).Round(time.Millisecond))
	return db
}

// fillReports fills a store with n benchReports, without their follow-up
// effect (it does not touch what Tally reads), as household visits when
// households is true, and then with the roster when it is not nil. Each
// report is written with its record and indexes as SaveReport does; its
// tally and distinct-household deltas (the same reportSets enumeration)
// are summed in memory and written once, as counter sets,
// in key order, at the end; the roster goes in last, reading the
// household counts as PutHouseholds does. The counters are what n
// SaveReports produce (TestFillMatchesCheck), built in a fraction of the
// time.
func fillReports(b testing.TB, path string, n int, households bool, roster []flows.Household) *DB {
	// Sized for benchReport's keys (about one distinct household counter
	// per report); fewer collections while the maps grow.
	sums, hh := make(map[string]int64, 1024+n/8), make(map[string]int64, 1024+n*3/2)
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	put := func(tx *bolt.Tx, i int) error {
		r := benchReport(i)
		r.FollowKey, r.NextDue = "", ""
		r.Household = households && r.Target != ""
		r, _, err := putReport(tx, r)
		if err != nil {
			return err
		}
		metrics, distinct := r.Metrics(), r.DistinctMetrics()
		return reportSets(&r, func(_ flows.Scope, _ string, tally, hhSet []byte) error {
			for m, v := range metrics {
				sums[string(setKey(string(tally), m))] += v
			}
			for _, m := range distinct {
				k := string(hhSet) + "\x00" + m
				c := hh[k] + 1
				if hh[k] = c; c == 1 {
					sums[string(setKey(string(tally), m+flows.HouseholdsSuffix))] += flows.Milli
				}
			}
			return nil
		})
	}
	// writeSorted writes the flat counters of m (set key + "\x00" + name)
	// as counter sets.
	writeSorted := func(db *DB, bucket []byte, m map[string]int64) error {
		keys := slices.Sorted(maps.Keys(m))
		for lo := 0; lo < len(keys); {
			err := db.bolt.Update(func(tx *bolt.Tx) error {
				tb := tx.Bucket(bucket)
				for n := 0; lo < len(keys) && n < 20_000; {
					set := keys[lo][:strings.LastIndexByte(keys[lo], 0)]
					var deltas []countDelta
					for ; lo < len(keys) && strings.HasPrefix(keys[lo], set+"\x00"); lo++ {
						deltas = append(deltas, countDelta{keys[lo][len(set)+1:], m[keys[lo]]})
						n++
					}
					if err := addCounts(tb, []byte(set), deltas); err != nil {
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
	after := func(db *DB) error {
		if err := writeSorted(db, talliesBucket, sums); err != nil {
			return err
		}
		if err := writeSorted(db, hhVisitsBucket, hh); err != nil {
			return err
		}
		return db.bolt.Update(func(tx *bolt.Tx) error {
			for _, h := range roster {
				rec := rosterRec{Community: h.Community, Grid: h.Grid, Household: h.Household, Tags: h.Tags}
				if err := putRecord(tx, rosterBucket, rosterKey(h.Community, h.Household), &rec); err != nil {
					return err
				}
				if err := rosterContribution(tx, &rec, 1); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return fillDB(b, path, n, put, after)
}

// BenchmarkTallyMonth reads a month's totals of all reports from a store
// of 1k and of 1M reports: the cost must not follow the number of reports.
func BenchmarkTallyMonth(b *testing.B) {
	dir := b.TempDir() // shared by the sub-benchmarks, built once per size
	stores := map[int]*DB{}
	b.Cleanup(func() {
		for _, db := range stores {
			db.Close()
		}
	})
	for _, n := range []int{1000, 1_000_000} {
		b.Run(fmt.Sprintf("reports=%d", n), func(b *testing.B) {
			db := stores[n]
			if db == nil {
				db = fillReports(b, filepath.Join(dir, fmt.Sprintf("tally-%d.db", n)), n, false, nil)
				stores[n] = db
			}
			ctx := context.Background()
			all := flows.Scope{Kind: flows.ScopeAll}
			var c flows.Counts
			b.ResetTimer()
			for b.Loop() {
				var err error
				if c, err = db.Tally(ctx, all, "2026-11"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(c)), "metrics")
			if c["visit"] == 0 {
				b.Fatalf("empty tally %v", c)
			}
		})
	}
}

// BenchmarkDueFollowUps lists the 100 overdue follow-ups among 1k and 1M
// open ones: the cost must follow the items returned.
func BenchmarkDueFollowUps(b *testing.B) {
	dir := b.TempDir()
	stores := map[int]*DB{}
	b.Cleanup(func() {
		for _, db := range stores {
			db.Close()
		}
	})
	const overdue = 100
	for _, n := range []int{1000, 1_000_000} {
		b.Run(fmt.Sprintf("open=%d", n), func(b *testing.B) {
			db := stores[n]
			if db == nil {
				db = fillDB(b, filepath.Join(dir, fmt.Sprintf("due-%d.db", n)), n, func(tx *bolt.Tx, i int) error {
					// The first 100 are due in October; the rest after the 5th of November.
					due := time.Date(2026, 10, 1+i%30, 0, 0, 0, 0, time.UTC)
					if i >= overdue {
						due = time.Date(2026, 11, 6, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%400)
					}
					w := i % 500
					_, err := openFollowUp(tx, flows.FollowUp{
						Key: fmt.Sprintf("k%d", i), Worker: fmt.Sprintf("w%d", w), Community: fmt.Sprintf("c%d", w%10),
						Grid: fmt.Sprintf("g%d", w%50/10), Flow: "visit", Kind: "chronic", Target: fmt.Sprint(i),
						Due: due.Format(time.DateOnly),
					})
					return err
				}, nil)
				stores[n] = db
			}
			ctx := context.Background()
			all := flows.Scope{Kind: flows.ScopeAll}
			b.ResetTimer()
			for b.Loop() {
				fs, err := db.DueFollowUps(ctx, all, "2026-11-05", 0)
				if err != nil || len(fs) != overdue {
					b.Fatalf("%d due, %v", len(fs), err)
				}
			}
		})
	}
}

// coverageRoster is the roster of the bench stores: the 600 households of
// benchReport's visits in each of the 10 communities, in 5 grids, tagged
// 高血压 or 糖尿病 (and 独居老人 for one in three).
func coverageRoster() []flows.Household {
	var hs []flows.Household
	for c := range 10 {
		for h := range 600 {
			tags := []string{[]string{"高血压", "糖尿病"}[h%2]}
			if h%3 == 0 {
				tags = append(tags, "独居老人")
			}
			hs = append(hs, flows.Household{Community: fmt.Sprintf("c%d", c), Grid: fmt.Sprintf("g%d", h%5),
				Household: fmt.Sprintf("%d-%d-%d", h%30, h%4, h), Tags: tags})
		}
	}
	return hs
}

// benchStores keeps the big stores of the read benchmarks for the whole
// test process: each is built once, and with -count N the sizes are
// measured in turn N times (the machine's load drifts within minutes, so
// sizes measured minutes apart are not comparable). TestMain removes them.
var benchStores = struct {
	sync.Mutex
	dir string
	dbs map[string]*DB
}{dbs: map[string]*DB{}}

// benchStore returns the store name, built by build at a path in the
// shared directory the first time.
func benchStore(b *testing.B, name string, build func(path string) *DB) *DB {
	benchStores.Lock()
	defer benchStores.Unlock()
	if db := benchStores.dbs[name]; db != nil {
		return db
	}
	if benchStores.dir == "" {
		dir, err := os.MkdirTemp("", "gridbot-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchStores.dir = dir
	}
	db := build(filepath.Join(benchStores.dir, name+".db"))
	benchStores.dbs[name] = db
	return db
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, db := range benchStores.dbs {
		db.Close()
	}
	if benchStores.dir != "" {
		os.RemoveAll(benchStores.dir)
	}
	os.Exit(code)
}

// BenchmarkHouseholdsMonth reads a month's distinct households (the
// tallies with visit.households) and a community's coverage (入户率,
// 规范管理) from a store of 1k and of 1M household reports: the cost must
// not follow the number of reports. Run it with -count 5 or more: the
// stores are built once (about 4 minutes for 1M on a busy 2-core machine)
// and the two sizes are then measured in turn.
func BenchmarkHouseholdsMonth(b *testing.B) {
	for _, n := range []int{1000, 1_000_000} {
		b.Run(fmt.Sprintf("reports=%d", n), func(b *testing.B) {
			db := benchStore(b, fmt.Sprintf("hh-%d", n), func(path string) *DB {
				return fillReports(b, path, n, true, coverageRoster())
			})
			ctx := context.Background()
			all := flows.Scope{Kind: flows.ScopeAll}
			community := flows.Scope{Kind: flows.ScopeCommunity, ID: "c3"}
			var c flows.Counts
			var cv flows.Coverage
			b.ResetTimer()
			for b.Loop() {
				var err error
				if c, err = db.Tally(ctx, all, "2026-11"); err != nil {
					b.Fatal(err)
				}
				if cv, err = db.Coverage(ctx, community, "2026-11"); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if c["visit.households"] == 0 || cv.Households != 600 || cv.Visited == 0 {
				b.Fatalf("empty figures: %v %+v", c, cv)
			}
			b.ReportMetric(c["visit.households"], "households")
			b.ReportMetric(float64(cv.Visited), "visited")
		})
	}
}
