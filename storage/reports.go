package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"slices"
	"strings"
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
	case len(r.Follows) > 0 && r.FollowKey != "" && r.FollowKey != r.Follows[0].Key:
		return flows.Errorf(flows.EInvalid, "report with both follows and another follow key")
	case r.Times < 0:
		return flows.Errorf(flows.EInvalid, "report times %d", r.Times)
	case r.Household && r.Target == "":
		return flows.Errorf(flows.EInvalid, "household report without target")
	case r.Household && r.Times > 1:
		return flows.Errorf(flows.EInvalid, "a household report is one visit, not %d", r.Times)
	case strings.ContainsRune(r.Target, 0) || strings.ContainsRune(r.Community, 0):
		return flows.Errorf(flows.EInvalid, "report target or community with a NUL byte")
	}
	if len(r.Kinds) > 0 {
		if r.Kind == "" {
			r.Kind = r.Kinds[0]
		}
		if r.Kind != r.Kinds[0] {
			return flows.Errorf(flows.EInvalid, "report kind %q is not its first kind %q", r.Kind, r.Kinds[0])
		}
		for i, k := range r.Kinds {
			if k == "" || slices.Contains(r.Kinds[:i], k) {
				return flows.Errorf(flows.EInvalid, "report kinds %q: empty or repeated", r.Kinds)
			}
		}
		if len(r.Kinds) == 1 {
			r.Kinds = nil
		}
	}
	r.Follows = slices.Clone(r.Effects())
	for i := range r.Follows {
		f := &r.Follows[i]
		switch {
		case f.Key == "":
			return flows.Errorf(flows.EInvalid, "report follow-up effect without key")
		case f.NextDue != "" && !validDay(f.NextDue):
			return flows.Errorf(flows.EInvalid, "report next due %q: want YYYY-MM-DD", f.NextDue)
		}
		for _, g := range r.Follows[:i] {
			if g.Key == f.Key {
				return flows.Errorf(flows.EInvalid, "report closes follow-up %q twice", f.Key)
			}
		}
		f.Closed, f.Opened, f.Foreign, f.Owner, f.OwnerGrid, f.Stale = 0, 0, 0, "", "", false
	}
	return nil
}

// saveReport is SaveReport's transaction body. r must be valid.
func saveReport(tx *bolt.Tx, r flows.Report) (flows.Report, bool, error) {
	saved, dup, err := putReport(tx, r)
	if err != nil || dup {
		return saved, dup, err
	}
	return saved, false, countReport(tx, &saved, 1)
}

// openFollowUpOf returns the open follow-up of key; ok is false when
// there is none.
func openFollowUpOf(tx *bolt.Tx, key string) (f flows.FollowUp, ok bool, err error) {
	id := tx.Bucket(followUpsOpenBucket).Get([]byte(key))
	if id == nil {
		return flows.FollowUp{}, false, nil
	}
	f, err = getFollowUp(tx, btoi(id))
	return f, err == nil, err
}

// applyEffect applies one follow-up effect of the report r (already
// given its id) and records on e what it did: the open follow-up of e.Key
// is closed and the next one opened, unless it belongs to another grid of
// the community and was not handed to r's worker (Foreign) or was set by a report done after r.Day (Stale);
// then nothing changes and e.NextDue is cleared (nothing was scheduled).
func applyEffect(tx *bolt.Tx, r *flows.Report, e *flows.FollowEffect) error {
	open, ok, err := openFollowUpOf(tx, e.Key)
	if err != nil {
		return err
	}
	if ok {
		if open.Community == r.Community && open.Grid != r.Grid && open.Worker != r.Worker {
			e.Foreign, e.Owner, e.OwnerGrid, e.NextDue = open.ID, open.Worker, open.Grid, ""
			return nil
		}
		if open.OpenedBy != 0 {
			opener, err := getReportRec(tx, open.OpenedBy)
			if err != nil {
				return err
			}
			if opener.Day > r.Day {
				e.Stale, e.NextDue = true, ""
				return nil
			}
		}
		if err := closeFollowUp(tx, &open, r.ID, r.CreatedAt, ""); err != nil {
			return err
		}
		e.Closed = open.ID
	}
	if e.NextDue == "" {
		return nil
	}
	f, err := openFollowUp(tx, flows.FollowUp{
		Key: e.Key, Community: r.Community, Grid: r.Grid, Worker: r.Worker,
		Flow: r.Flow, Kind: e.Kind, Target: r.Target, Due: e.NextDue, OpenedBy: r.ID,
	})
	e.Opened = f.ID
	return err
}

// putReport writes everything of saveReport but the tallies: dedupe mark,
// id, record, indexes and follow-up effects.
func putReport(tx *bolt.Tx, r flows.Report) (flows.Report, bool, error) {
	msgKeys := tx.Bucket(msgKeysBucket)
	if r.MsgKey != "" {
		if id := msgKeys.Get(dedupeKey(r.MsgKey)); id != nil {
			old, err := getReport(tx, btoi(id))
			return old, true, err
		}
	}
	reports := tx.Bucket(reportsBucket)
	id, err := reports.NextSequence()
	if err != nil {
		return flows.Report{}, false, err
	}
	r.ID, r.Void, r.VoidedAt = id, false, time.Time{}
	idKey := itob(id)
	r.Follows = slices.Clone(r.Effects())
	for i := range r.Follows {
		if err := applyEffect(tx, &r, &r.Follows[i]); err != nil {
			return flows.Report{}, false, err
		}
	}
	mirrorFirstEffect(&r)
	rec := toReportRec(&r)
	if err := putRecord(tx, reportsBucket, idKey, &rec); err != nil {
		return flows.Report{}, false, err
	}
	if r.MsgKey != "" {
		if err := msgKeys.Put(dedupeKey(r.MsgKey), idKey); err != nil {
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

// tallyKey is scope + "\x00" + period + "\x00" + metric: the flat key of
// one tally in Check's messages, and of a coverage counter.
func tallyKey(scope, period, metric string) []byte { return setKey(scope, period, metric) }

// reportSets calls fn for each scope and period the report counts in, with
// the key of the tally set there (scope + "\x00" + period) and of its
// household's visit counts (hhSetKey; nil when the report counts no
// household). It is the one enumeration used when saving, voiding and
// checking; the metrics of each set are r.Metrics() and, in the household
// set, r.DistinctMetrics().
func reportSets(r *flows.Report, fn func(s flows.Scope, period string, tally, hh []byte) error) error {
	hid := r.HouseholdID()
	for _, s := range flows.Scopes(r.Worker, r.Community, r.Grid) {
		scope := s.String()
		for _, p := range flows.Periods(r.Day) {
			var hh []byte
			if hid != "" {
				hh = hhSetKey(scope, hid, p)
			}
			if err := fn(s, p, setKey(scope, p), hh); err != nil {
				return err
			}
		}
	}
	return nil
}

// countReport adds (sign 1) or takes out (sign -1) the report in every
// tally set it counts in: its metrics, and the distinct households whose
// visit count goes 0→1 or 1→0 (with the roster coverage that changes
// with them, see householdCounter). One read and one write per set.
func countReport(tx *bolt.Tx, r *flows.Report, sign int64) error {
	metrics := r.Metrics()
	base := make([]countDelta, 0, len(metrics))
	for m, v := range metrics {
		if v != 0 {
			base = append(base, countDelta{m, sign * v})
		}
	}
	base = sortDeltas(base)
	hh, err := newHouseholdCounter(tx, r, sign)
	if err != nil {
		return err
	}
	tallies := tx.Bucket(talliesBucket)
	deltas := make([]countDelta, 0, len(base)+len(hh.distinct))
	return reportSets(r, func(s flows.Scope, period string, tally, hhKey []byte) error {
		deltas = append(deltas[:0], base...)
		if hhKey != nil {
			n := len(deltas)
			var err error
			if deltas, err = hh.count(s, period, hhKey, deltas); err != nil {
				return err
			}
			if len(deltas) > n {
				deltas = sortDeltas(deltas)
			}
		}
		return addCounts(tallies, tally, deltas)
	})
}

// Report returns a report by id; ENotFound when there is none.
func (db *DB) Report(ctx context.Context, id uint64) (flows.Report, error) {
	if err := ctx.Err(); err != nil {
		return flows.Report{}, err
	}
	var r flows.Report
	err := db.view(func(tx *bolt.Tx) error {
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
	err := db.view(func(tx *bolt.Tx) error {
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
		if err := countReport(tx, &r, -1); err != nil {
			return err
		}
		return undoFollowUpEffects(tx, &rec, at)
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
	err := db.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(talliesBucket).Get(setKey(scope.String(), period))
		return forEachCount(v, func(name []byte, n int64) error {
			counts[string(name)] = float64(n) / flows.Milli
			return nil
		})
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
	err := db.view(func(tx *bolt.Tx) error {
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
