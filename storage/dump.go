package storage

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"gridbot/flows"
)

// This file is what other stores share with the bbolt one: the rules a
// report must follow, the one enumeration of the tallies it counts in, and
// a driver-neutral copy of a whole store (Dump into a Loader), used by
// `gridbot migrate` (bbolt → PostgreSQL) and by the PostgreSQL backup
// (PostgreSQL → a bbolt file).

// ValidateReport returns EInvalid when r cannot be saved (what SaveReport checks).
func ValidateReport(r *flows.Report) error { return validateReport(r) }

// ValidDay reports whether s is a "2006-01-02" date.
func ValidDay(s string) bool { return validDay(s) }

// CheckScope returns EInvalid for a scope that names nothing.
func CheckScope(s flows.Scope) error { return checkScope(s) }

// Wrap returns domain errors and context errors as they are and wraps any
// other as "storage: unable to <op>: ...".
func Wrap(op string, err error) error { return wrap(op, err) }

// TallyEntry is one tally a report counts in: scope ("all",
// "worker:<openid>", …), period ("2026", "2026-11", "2026-11-05"), metric
// and value in thousandths (flows.Milli).
type TallyEntry struct {
	Scope, Period, Metric string
	Milli                 int64
}

// TallyEntries lists the tallies r counts in, the same enumeration the
// bbolt store saves, voids and checks with.
func TallyEntries(r *flows.Report) []TallyEntry {
	var out []TallyEntry
	metrics := r.Metrics()
	_ = reportSets(r, func(s flows.Scope, period string, _, _ []byte) error {
		for m, v := range metrics {
			if v != 0 {
				out = append(out, TallyEntry{s.String(), period, m, v})
			}
		}
		return nil
	})
	return out
}

// TallyDiffs compares stored tallies with recomputed ones (both keyed by
// TallyEntry with Milli 0) and returns one line per difference, in the
// format of Check: "all 2026-11 visit: stored 3, recomputed 2".
func TallyDiffs(stored, want map[TallyEntry]int64) []string {
	var diffs []string
	for k, got := range stored {
		if w := want[k]; got != w {
			diffs = append(diffs, fmt.Sprintf("%s %s %s: stored %s, recomputed %s", k.Scope, k.Period, k.Metric, formatMilli(got), formatMilli(w)))
		}
	}
	for k, w := range want {
		if _, ok := stored[k]; !ok && w != 0 {
			diffs = append(diffs, fmt.Sprintf("%s %s %s: stored 0, recomputed %s", k.Scope, k.Period, k.Metric, formatMilli(w)))
		}
	}
	return diffs
}

// MirrorFirstEffect sets r's one-effect fields (FollowKey, NextDue,
// ClosedFollowUp) from r.Follows as applied, as SaveReport does.
func MirrorFirstEffect(r *flows.Report) { mirrorFirstEffect(r) }

// HouseholdCount is one distinct-household counter: how many reports that
// are not void count household (flows.HouseholdID) in metric, in a scope
// and period. Its transitions 0→1 and 1→0 move the tally
// metric+flows.HouseholdsSuffix of the scope and period.
type HouseholdCount struct {
	Scope, Household, Period, Metric string
	N                                int64
}

// HouseholdCounts lists the household counters r counts in (N 1 each),
// the same enumeration the bbolt store saves, voids and checks with.
func HouseholdCounts(r *flows.Report) []HouseholdCount {
	var out []HouseholdCount
	hid := r.HouseholdID()
	metrics := r.DistinctMetrics()
	_ = reportSets(r, func(s flows.Scope, period string, _, hh []byte) error {
		if hh == nil {
			return nil
		}
		for _, m := range metrics {
			out = append(out, HouseholdCount{s.String(), hid, period, m, 1})
		}
		return nil
	})
	return out
}

// CoverageCount is one roster coverage counter of a roster scope (grid,
// community, all): the roster stock (Period ""), the households visited
// in a period, the managed patients and their follow-ups in a year.
type CoverageCount struct {
	Scope, Period, Metric string
	N                     int64
}

// CoverageDeltas returns the coverage counters that change when the
// community-scope count of the roster household h in period and metric
// goes from old to n, with their changes.
func CoverageDeltas(h flows.Household, period, metric string, old, n int64) []CoverageCount {
	rec := rosterRec(h)
	var out []CoverageCount
	_ = rosterDeltas(&rec, period, metric, old, n, func(key []byte, d int64) error {
		out = append(out, coverageCount(key, d))
		return nil
	})
	return out
}

// RosterStock returns the coverage counters a roster household adds 1 to
// by being on the roster: households and each of its tags, in each of its
// roster scopes.
func RosterStock(h flows.Household) []CoverageCount {
	rec := rosterRec(h)
	var out []CoverageCount
	_ = rosterStock(&rec, 1, func(key []byte, d int64) error {
		out = append(out, coverageCount(key, d))
		return nil
	})
	return out
}

func coverageCount(key []byte, n int64) CoverageCount {
	s, rest, _ := strings.Cut(string(key), "\x00")
	p, m, _ := strings.Cut(rest, "\x00")
	return CoverageCount{s, p, m, n}
}

// CoverageFrom builds the Coverage of a scope and period from its
// coverage counters, keyed period + "|" + metric (what Coverage reads).
func CoverageFrom(scope flows.Scope, period string, counts map[string]int64) flows.Coverage {
	year := period[:4]
	cv := flows.Coverage{Scope: scope.String(), Period: period, Year: year, Tags: map[string]int{},
		Households: int(counts["|"+covHouseholds]), Visited: int(counts[period+"|"+covVisited])}
	cv.VisitRate = rate(cv.Visited, cv.Households)
	for k, v := range counts {
		if t, ok := strings.CutPrefix(k, "|"+covTag); ok && v != 0 {
			cv.Tags[t] = int(v)
		}
	}
	for _, t := range flows.ManagedTags {
		m := flows.Managed{Tag: t, Patients: cv.Tags[t], Managed: int(counts[year+"|"+covManaged+t]),
			FollowUps: int(counts[year+"|"+covFollowUps+t])}
		m.Rate = rate(m.Managed, m.Patients)
		cv.Managed = append(cv.Managed, m)
	}
	return cv
}

// Loader receives a whole store, record by record, from Dump. Records of
// one kind come in id (or key) order; a Loader must accept a record it
// already holds (a second run of a migration) without duplicating it.
type Loader interface {
	LoadWorker(ctx context.Context, w flows.Worker) error
	LoadInvite(ctx context.Context, inv flows.Invite) error
	// LoadReport receives a report as stored, with its ID, Void and
	// ClosedFollowUp; nothing is recomputed from it.
	LoadReport(ctx context.Context, r flows.Report) error
	LoadFollowUp(ctx context.Context, f flows.FollowUp) error
	LoadTally(ctx context.Context, e TallyEntry) error
	LoadDigestClaim(ctx context.Context, worker, day string, at time.Time) error
	LoadDigestAttempt(ctx context.Context, a flows.DigestAttempt) error
	LoadNotice(ctx context.Context, openID, text string, at time.Time) error
	LoadDigestRun(ctx context.Context, day string, at time.Time) error
	// LoadHousehold receives a roster household; LoadHouseholdCount and
	// LoadCoverageCount the distinct-household and coverage counters as
	// stored (like LoadTally, nothing is recomputed).
	LoadHousehold(ctx context.Context, h flows.Household) error
	LoadHouseholdCount(ctx context.Context, c HouseholdCount) error
	LoadCoverageCount(ctx context.Context, c CoverageCount) error
}

// Dump hands every record of the store to l, from one read transaction
// (a consistent snapshot while writers go on), in the order workers,
// invites, follow-ups, reports, tallies, digest claims, attempts, notices,
// last run, roster households, household counters, coverage counters.
// progress, when not nil, is called with each kind's name and count as it
// is done.
func (db *DB) Dump(ctx context.Context, l Loader, progress func(kind string, n int)) error {
	if progress == nil {
		progress = func(string, int) {}
	}
	err := db.view(func(tx *bolt.Tx) error {
		each := func(kind string, bucket []byte, fn func(k, v []byte) error) error {
			n := 0
			err := tx.Bucket(bucket).ForEach(func(k, v []byte) error {
				if n++; n%1024 == 0 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				if err := fn(k, v); err != nil {
					return fmt.Errorf("%s %q: %w", kind, k, err)
				}
				return nil
			})
			progress(kind, n)
			return err
		}
		steps := []struct {
			kind   string
			bucket []byte
			fn     func(k, v []byte) error
		}{
			{"workers", workersBucket, func(k, v []byte) error {
				var rec workerRec
				if err := decode(v, &rec); err != nil {
					return err
				}
				return l.LoadWorker(ctx, rec.worker())
			}},
			{"invites", invitesBucket, func(k, v []byte) error {
				var rec inviteRec
				if err := decode(v, &rec); err != nil {
					return err
				}
				return l.LoadInvite(ctx, rec.invite())
			}},
			{"follow-ups", followUpsBucket, func(k, v []byte) error {
				var rec followUpRec
				if err := decode(v, &rec); err != nil {
					return err
				}
				return l.LoadFollowUp(ctx, rec.followUp())
			}},
			{"reports", reportsBucket, func(k, v []byte) error {
				var rec reportRec
				if err := decode(v, &rec); err != nil {
					return err
				}
				return l.LoadReport(ctx, rec.report())
			}},
			{"tallies", talliesBucket, func(k, v []byte) error {
				scope, period, ok := strings.Cut(string(k), "\x00")
				if !ok {
					return fmt.Errorf("malformed tally set")
				}
				return forEachCount(v, func(metric []byte, n int64) error {
					return l.LoadTally(ctx, TallyEntry{scope, period, string(metric), n})
				})
			}},
			{"digest claims", digestClaimsBucket, func(k, v []byte) error {
				day, worker, _ := strings.Cut(string(k), "\x00")
				var rec claimRec
				if err := decode(v, &rec); err != nil {
					return err
				}
				return l.LoadDigestClaim(ctx, worker, day, rec.At)
			}},
			{"digest attempts", digestAttemptsBucket, func(k, v []byte) error {
				var rec attemptRec
				if err := decode(v, &rec); err != nil {
					return err
				}
				return l.LoadDigestAttempt(ctx, flows.DigestAttempt(rec))
			}},
			{"notices", noticesBucket, func(k, v []byte) error {
				var rec noticeRec
				if err := decode(v, &rec); err != nil {
					return err
				}
				return l.LoadNotice(ctx, string(k), rec.Text, rec.At)
			}},
			{"digest runs", digestStateBucket, func(k, v []byte) error {
				var rec runStateRec
				if err := decode(v, &rec); err != nil {
					return err
				}
				return l.LoadDigestRun(ctx, rec.Day, rec.At)
			}},
			{"households", rosterBucket, func(k, v []byte) error {
				var rec rosterRec
				if err := decode(v, &rec); err != nil {
					return err
				}
				return l.LoadHousehold(ctx, flows.Household(rec))
			}},
			{"household counts", hhVisitsBucket, func(k, v []byte) error {
				// hhSetKey: household id, scope, period.
				parts := strings.SplitN(string(k), "\x00", 3)
				if len(parts) != 3 {
					return fmt.Errorf("malformed household set")
				}
				return forEachCount(v, func(metric []byte, n int64) error {
					return l.LoadHouseholdCount(ctx, HouseholdCount{parts[1], parts[0], parts[2], string(metric), n})
				})
			}},
			{"coverage counts", coverageBucket, func(k, v []byte) error {
				if len(v) != 8 || bytes.Count(k, []byte{0}) != 2 {
					return fmt.Errorf("malformed coverage count")
				}
				return l.LoadCoverageCount(ctx, coverageCount(k, int64(btoi(v))))
			}},
		}
		for _, s := range steps {
			if err := each(s.kind, s.bucket, s.fn); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("dump store", err)
}

// BoltLoader writes a dumped store into a bbolt database (a fresh one: a
// PostgreSQL backup), with every index, in one transaction per Flush.
// Create it with (*DB).Loader; call Flush at the end.
type BoltLoader struct {
	db      *DB
	pending []func(tx *bolt.Tx) error
}

// Loader returns a Loader that writes into db. Records are written in
// batches; Flush writes the rest.
func (db *DB) Loader() *BoltLoader { return &BoltLoader{db: db} }

func (b *BoltLoader) add(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	b.pending = append(b.pending, fn)
	if len(b.pending) >= 4096 {
		return b.Flush(ctx)
	}
	return ctx.Err()
}

// Flush writes the records received so far in one transaction.
func (b *BoltLoader) Flush(ctx context.Context) error {
	if len(b.pending) == 0 {
		return nil
	}
	fns := b.pending
	b.pending = nil
	err := b.db.bolt.Update(func(tx *bolt.Tx) error {
		for _, fn := range fns {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("load store", err)
}

// keepSequence raises a bucket's sequence to at least id, so later ids go on after it.
func keepSequence(b *bolt.Bucket, id uint64) error {
	if b.Sequence() < id {
		return b.SetSequence(id)
	}
	return nil
}

// LoadWorker implements Loader.
func (b *BoltLoader) LoadWorker(ctx context.Context, w flows.Worker) error {
	return b.add(ctx, func(tx *bolt.Tx) error {
		rec := toWorkerRec(w)
		return putRecord(tx, workersBucket, []byte(w.OpenID), &rec)
	})
}

// LoadInvite implements Loader.
func (b *BoltLoader) LoadInvite(ctx context.Context, inv flows.Invite) error {
	return b.add(ctx, func(tx *bolt.Tx) error {
		rec := toInviteRec(inv)
		return putRecord(tx, invitesBucket, []byte(inv.Code), &rec)
	})
}

// LoadReport implements Loader: the record, its dedupe mark and indexes.
func (b *BoltLoader) LoadReport(ctx context.Context, r flows.Report) error {
	return b.add(ctx, func(tx *bolt.Tx) error {
		rec := toReportRec(&r)
		rec.ClosedFollowUp = r.ClosedFollowUp
		idKey := itob(r.ID)
		if err := putRecord(tx, reportsBucket, idKey, &rec); err != nil {
			return err
		}
		if err := keepSequence(tx.Bucket(reportsBucket), r.ID); err != nil {
			return err
		}
		if r.MsgKey != "" {
			if err := tx.Bucket(msgKeysBucket).Put(dedupeKey(r.MsgKey), idKey); err != nil {
				return err
			}
		}
		if err := tx.Bucket(reportsByWorkerBucket).Put(workerReportKey(r.Worker, r.ID), nil); err != nil {
			return err
		}
		return tx.Bucket(reportsByDayBucket).Put(join([]byte(r.Day), idKey), nil)
	})
}

// LoadFollowUp implements Loader: the record and, when open, its indexes.
func (b *BoltLoader) LoadFollowUp(ctx context.Context, f flows.FollowUp) error {
	return b.add(ctx, func(tx *bolt.Tx) error {
		if err := putFollowUp(tx, &f); err != nil {
			return err
		}
		if err := keepSequence(tx.Bucket(followUpsBucket), f.ID); err != nil {
			return err
		}
		if f.Closed {
			return nil
		}
		if err := tx.Bucket(followUpsOpenBucket).Put([]byte(f.Key), itob(f.ID)); err != nil {
			return err
		}
		return indexDue(tx, &f, false)
	})
}

// LoadTally implements Loader.
func (b *BoltLoader) LoadTally(ctx context.Context, e TallyEntry) error {
	return b.add(ctx, func(tx *bolt.Tx) error {
		return setCount(tx.Bucket(talliesBucket), setKey(e.Scope, e.Period), e.Metric, e.Milli)
	})
}

// LoadDigestClaim implements Loader.
func (b *BoltLoader) LoadDigestClaim(ctx context.Context, worker, day string, at time.Time) error {
	return b.add(ctx, func(tx *bolt.Tx) error {
		return putRecord(tx, digestClaimsBucket, join([]byte(day), []byte{0}, []byte(worker)), claimRec{At: at})
	})
}

// LoadDigestAttempt implements Loader: appended after the day's attempts.
func (b *BoltLoader) LoadDigestAttempt(ctx context.Context, a flows.DigestAttempt) error {
	return b.add(ctx, func(tx *bolt.Tx) error {
		seq, err := tx.Bucket(digestAttemptsBucket).NextSequence()
		if err != nil {
			return err
		}
		return putRecord(tx, digestAttemptsBucket, join([]byte(a.Day), []byte{0}, itob(seq)), attemptRec(a))
	})
}

// LoadNotice implements Loader.
func (b *BoltLoader) LoadNotice(ctx context.Context, openID, text string, at time.Time) error {
	return b.add(ctx, func(tx *bolt.Tx) error {
		return putRecord(tx, noticesBucket, []byte(openID), noticeRec{Text: text, At: at})
	})
}

// LoadDigestRun implements Loader.
func (b *BoltLoader) LoadDigestRun(ctx context.Context, day string, at time.Time) error {
	return b.add(ctx, func(tx *bolt.Tx) error {
		return putRecord(tx, digestStateBucket, lastRunKey, runStateRec{Day: day, At: at})
	})
}

// LoadHousehold implements Loader.
func (b *BoltLoader) LoadHousehold(ctx context.Context, h flows.Household) error {
	return b.add(ctx, func(tx *bolt.Tx) error {
		rec := rosterRec(h)
		return putRecord(tx, rosterBucket, rosterKey(h.Community, h.Household), &rec)
	})
}

// LoadHouseholdCount implements Loader.
func (b *BoltLoader) LoadHouseholdCount(ctx context.Context, c HouseholdCount) error {
	return b.add(ctx, func(tx *bolt.Tx) error {
		return setCount(tx.Bucket(hhVisitsBucket), hhSetKey(c.Scope, c.Household, c.Period), c.Metric, c.N)
	})
}

// LoadCoverageCount implements Loader.
func (b *BoltLoader) LoadCoverageCount(ctx context.Context, c CoverageCount) error {
	return b.add(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(coverageBucket)
		key := tallyKey(c.Scope, c.Period, c.Metric)
		var old int64
		if v := b.Get(key); len(v) == 8 {
			old = int64(btoi(v))
		}
		return addTally(b, key, c.N-old)
	})
}
