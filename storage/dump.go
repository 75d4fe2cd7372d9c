package storage

import (
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
}

// Dump hands every record of the store to l, from one read transaction
// (a consistent snapshot while writers go on), in the order workers,
// invites, follow-ups, reports, tallies, digest claims, attempts, notices,
// last run. progress, when not nil, is called with each kind's name and
// count as it is done.
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
			if err := tx.Bucket(msgKeysBucket).Put([]byte(r.MsgKey), idKey); err != nil {
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
