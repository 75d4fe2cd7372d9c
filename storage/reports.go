package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"

	"gridbot/flows"
)

// SaveReport assigns r.ID and writes, in one transaction, the report, its
// dedupe mark (r.MsgKey), its indexes, its tallies and its follow-up
// effect; the saved report's ClosedFollowUp is the follow-up it closed
// (its input value is ignored). If a report with the same MsgKey exists,
// nothing is written and that report is returned with dup true.
// Concurrent calls share commits; the report is durable when SaveReport
// returns. ctx is checked before the write is queued; once queued,
// SaveReport waits for its outcome.
func (db *DB) SaveReport(ctx context.Context, r flows.Report) (saved flows.Report, dup bool, err error) {
	if err := ctx.Err(); err != nil {
		return flows.Report{}, false, err
	}
	if err := validateReport(&r); err != nil {
		return flows.Report{}, false, err
	}
	err = db.update(func(tx *bolt.Tx) error {
		var err error
		saved, dup, err = saveReport(tx, r)
		return err
	})
	if err != nil {
		return flows.Report{}, false, wrap("save report", err)
	}
	if !dup && db.onReportSaved != nil {
		db.onReportSaved(saved.Flow)
	}
	return saved, dup, nil
}

func validateReport(r *flows.Report) error {
	switch {
	case r.Worker == "" || r.Community == "" || r.Grid == "":
		return flows.Errorf(flows.EInvalid, "report without worker, community or grid")
	case r.Flow == "":
		return flows.Errorf(flows.EInvalid, "report without flow")
	case !validDay(r.Day):
		return flows.Errorf(flows.EInvalid, "report day %q: want YYYY-MM-DD", r.Day)
	case r.NextDue != "" && r.FollowKey == "":
		return flows.Errorf(flows.EInvalid, "report next due %s without follow key", r.NextDue)
	case r.NextDue != "" && !validDay(r.NextDue):
		return flows.Errorf(flows.EInvalid, "report next due %q: want YYYY-MM-DD", r.NextDue)
	}
	return nil
}

// saveReport is SaveReport's transaction body. r must be valid.
func saveReport(tx *bolt.Tx, r flows.Report) (flows.Report, bool, error) {
	saved, dup, err := putReport(tx, r)
	if err != nil || dup {
		return saved, dup, err
	}
	return saved, false, addTallies(tx, &saved, 1)
}

// scheduleIsNewer reports whether the open follow-up of key was opened by a
// report done after day.
func scheduleIsNewer(tx *bolt.Tx, key, day string) (bool, error) {
	id := tx.Bucket(followUpsOpenBucket).Get([]byte(key))
	if id == nil {
		return false, nil
	}
	f, err := getFollowUp(tx, btoi(id))
	if err != nil || f.OpenedBy == 0 {
		return false, err
	}
	opener, err := getReportRec(tx, f.OpenedBy)
	if err != nil {
		return false, err
	}
	return opener.Day > day, nil
}

// putReport writes everything of saveReport but the tallies: dedupe mark,
// id, record, indexes and follow-up effect.
func putReport(tx *bolt.Tx, r flows.Report) (flows.Report, bool, error) {
	msgKeys := tx.Bucket(msgKeysBucket)
	if r.MsgKey != "" {
		if id := msgKeys.Get([]byte(r.MsgKey)); id != nil {
			old, err := getReport(tx, btoi(id))
			return old, true, err
		}
	}
	reports := tx.Bucket(reportsBucket)
	id, err := reports.NextSequence()
	if err != nil {
		return flows.Report{}, false, err
	}
	r.ID, r.Void, r.VoidedAt, r.ClosedFollowUp = id, false, time.Time{}, 0
	idKey := itob(id)
	if r.FollowKey != "" {
		newer, err := scheduleIsNewer(tx, r.FollowKey, r.Day)
		if err != nil {
			return flows.Report{}, false, err
		}
		if newer {
			// A back-dated report older than the visit that set the current
			// schedule neither closes it nor moves its date.
			r.FollowKey, r.NextDue = "", ""
		}
	}
	rec := toReportRec(&r)
	if r.FollowKey != "" {
		closed, err := closeOpenFollowUp(tx, r.FollowKey, r.ID, r.CreatedAt, "")
		if err != nil {
			return flows.Report{}, false, err
		}
		rec.ClosedFollowUp, r.ClosedFollowUp = closed, closed
		if r.NextDue != "" {
			f := flows.FollowUp{
				Key: r.FollowKey, Community: r.Community, Grid: r.Grid, Worker: r.Worker,
				Flow: r.Flow, Kind: r.Kind, Target: r.Target, Due: r.NextDue, OpenedBy: r.ID,
			}
			if _, err := openFollowUp(tx, f); err != nil {
				return flows.Report{}, false, err
			}
		}
	}
	if err := putRecord(tx, reportsBucket, idKey, &rec); err != nil {
		return flows.Report{}, false, err
	}
	if r.MsgKey != "" {
		if err := msgKeys.Put([]byte(r.MsgKey), idKey); err != nil {
			return flows.Report{}, false, err
		}
	}
	if err := tx.Bucket(reportsByWorkerBucket).Put(workerReportKey(r.Worker, id), nil); err != nil {
		return flows.Report{}, false, err
	}
	if err := tx.Bucket(reportsByDayBucket).Put(join([]byte(r.Day), idKey), nil); err != nil {
		return flows.Report{}, false, err
	}
	return r, false, nil
}

func workerReportKey(worker string, id uint64) []byte {
	k := make([]byte, 0, len(worker)+9)
	k = append(k, worker...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, id)
}

// tallyKey is scope + "\x00" + period + "\x00" + metric.
func tallyKey(scope, period, metric string) []byte {
	k := make([]byte, 0, len(scope)+len(period)+len(metric)+2)
	k = append(k, scope...)
	k = append(k, 0)
	k = append(k, period...)
	k = append(k, 0)
	return append(k, metric...)
}

// reportTallies calls fn with each tally key the report counts in (every
// scope and period of it) and the metric's value in thousandths. It is the
// one enumeration used when saving, voiding and checking.
func reportTallies(r *flows.Report, fn func(key []byte, v int64) error) error {
	metrics := r.Metrics()
	for _, s := range flows.Scopes(r.Worker, r.Community, r.Grid) {
		scope := s.String()
		for _, p := range flows.Periods(r.Day) {
			for m, v := range metrics {
				if v == 0 {
					continue
				}
				if err := fn(tallyKey(scope, p, m), v); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// addTallies adds (sign 1) or subtracts (sign -1) the report's metrics in
// every scope and period it counts in. Entries that reach zero are deleted.
func addTallies(tx *bolt.Tx, r *flows.Report, sign int64) error {
	b := tx.Bucket(talliesBucket)
	return reportTallies(r, func(key []byte, v int64) error {
		return addTally(b, key, sign*v)
	})
}

func addTally(b *bolt.Bucket, key []byte, delta int64) error {
	var n int64
	if v := b.Get(key); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	n += delta
	if n == 0 {
		return b.Delete(key)
	}
	return b.Put(key, binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(n)))
}

// Report returns a report by id; ENotFound when there is none.
func (db *DB) Report(ctx context.Context, id uint64) (flows.Report, error) {
	if err := ctx.Err(); err != nil {
		return flows.Report{}, err
	}
	var r flows.Report
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		r, err = getReport(tx, id)
		return err
	})
	return r, wrap("read report", err)
}

func getReport(tx *bolt.Tx, id uint64) (flows.Report, error) {
	rec, err := getReportRec(tx, id)
	if err != nil {
		return flows.Report{}, err
	}
	return rec.report(), nil
}

// getReportRec returns the stored record of a report; ENotFound when
// there is none.
func getReportRec(tx *bolt.Tx, id uint64) (reportRec, error) {
	var rec reportRec
	found, err := getRecord(tx, reportsBucket, itob(id), &rec)
	if err != nil {
		return reportRec{}, err
	}
	if !found {
		return reportRec{}, flows.Errorf(flows.ENotFound, "report %d", id)
	}
	return rec, nil
}

// LastReport returns the worker's newest report that is not void, created
// at or after since; ENotFound when there is none. It walks the worker's
// reports from the newest and stops at the first one created before since:
// one worker's reports are saved in the order they are made (the bot
// handles one message at a time per user).
func (db *DB) LastReport(ctx context.Context, worker string, since time.Time) (flows.Report, error) {
	if err := ctx.Err(); err != nil {
		return flows.Report{}, err
	}
	var last flows.Report
	err := db.bolt.View(func(tx *bolt.Tx) error {
		prefix := append([]byte(worker), 0)
		c := tx.Bucket(reportsByWorkerBucket).Cursor()
		k, _ := c.Seek(workerReportKey(worker, ^uint64(0)))
		if k == nil {
			k, _ = c.Last()
		} else if !bytes.Equal(k, workerReportKey(worker, ^uint64(0))) {
			k, _ = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
			r, err := getReport(tx, btoi(k[len(prefix):]))
			if err != nil {
				return err
			}
			if r.CreatedAt.Before(since) {
				break
			}
			if !r.Void {
				last = r
				return nil
			}
		}
		return flows.Errorf(flows.ENotFound, "no report of worker %s since %s", worker, since.Format(time.RFC3339))
	})
	return last, wrap("read last report", err)
}

// VoidReport marks a report void and, in the same transaction, takes its
// metrics out of the tallies and reverses its follow-up effect: the
// follow-up it opened, if still open, is closed (Reason ReasonVoided), and
// the one it closed is reopened as it was, unless the schedule has moved
// on since (see undoFollowUpEffect). ENotFound for an unknown id,
// EConflict when it is void already.
func (db *DB) VoidReport(ctx context.Context, id uint64, at time.Time) (flows.Report, error) {
	if err := ctx.Err(); err != nil {
		return flows.Report{}, err
	}
	var r flows.Report
	err := db.update(func(tx *bolt.Tx) error {
		rec, err := getReportRec(tx, id)
		if err != nil {
			return err
		}
		if rec.Void {
			return flows.Errorf(flows.EConflict, "report %d is void already", id)
		}
		rec.Void, rec.VoidedAt = true, at
		if err := putRecord(tx, reportsBucket, itob(id), &rec); err != nil {
			return err
		}
		r = rec.report()
		if err := addTallies(tx, &r, -1); err != nil {
			return err
		}
		return undoFollowUpEffect(tx, &rec, at)
	})
	if err != nil {
		return flows.Report{}, wrap("void report", err)
	}
	return r, nil
}

// Tally returns the totals of a scope for a period ("2026", "2026-11",
// "2026-11-05") without void reports, read from the stored tallies: its
// cost follows the number of metrics, not the number of reports.
func (db *DB) Tally(ctx context.Context, scope flows.Scope, period string) (flows.Counts, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkScope(scope); err != nil {
		return nil, err
	}
	if _, err := flows.ParsePeriod(period); err != nil {
		return nil, err
	}
	counts := flows.Counts{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		prefix := tallyKey(scope.String(), period, "")
		c := tx.Bucket(talliesBucket).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(v) != 8 {
				continue
			}
			if n := int64(binary.BigEndian.Uint64(v)); n != 0 {
				counts[string(k[len(prefix):])] = float64(n) / flows.Milli
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap("read tally", err)
	}
	return counts, nil
}

// Reports calls fn for each report of the scope whose Day falls in period,
// in day order (then id order), skipping void ones unless includeVoid. It
// stops at, and returns, the first error of fn. fn runs inside a read
// transaction: it must not call back into the store for writes.
func (db *DB) Reports(ctx context.Context, scope flows.Scope, period string, includeVoid bool, fn func(flows.Report) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkScope(scope); err != nil {
		return err
	}
	if _, err := flows.ParsePeriod(period); err != nil {
		return err
	}
	var fnErr error
	err := db.bolt.View(func(tx *bolt.Tx) error {
		prefix := []byte(period)
		c := tx.Bucket(reportsByDayBucket).Cursor()
		n := 0
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if n++; n%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			r, err := getReport(tx, btoi(k[len(k)-8:]))
			if err != nil {
				return err
			}
			if (r.Void && !includeVoid) || !scope.Contains(&r) {
				continue
			}
			if err := fn(r); err != nil {
				fnErr = err
				return err
			}
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	return wrap("list reports", err)
}
