package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"gridbot/flows"
	"gridbot/storage"
)

// errDupRace ends a SaveReport transaction whose MsgKey another
// transaction saved first; the report is then read back as a dup.
var errDupRace = errors.New("msg key saved concurrently")

// SaveReport assigns r.ID and writes, in one transaction, the report, its
// dedupe mark (r.MsgKey, a unique key), its tallies and its follow-up
// effect; the saved report's ClosedFollowUp is the follow-up it closed. If
// a report with the same MsgKey exists, also one being saved at the same
// time by another node, nothing is written and that report is returned
// with dup true.
func (db *DB) SaveReport(ctx context.Context, r flows.Report) (saved flows.Report, dup bool, err error) {
	if err := ctx.Err(); err != nil {
		return flows.Report{}, false, err
	}
	if err := storage.ValidateReport(&r); err != nil {
		return flows.Report{}, false, err
	}
	start := time.Now()
	err = db.inTx(ctx, "save report", func(tx pgx.Tx) error {
		var err error
		saved, dup, err = saveReport(ctx, tx, r)
		return err
	})
	if errors.Is(err, errDupRace) {
		saved, err = db.reportByMsgKey(ctx, r.MsgKey)
		return saved, err == nil, storage.Wrap("save report", err)
	}
	if err != nil {
		return flows.Report{}, false, err
	}
	if !dup {
		if db.OnCommit != nil {
			db.OnCommit(1, time.Since(start))
		}
		if db.OnReportSaved != nil {
			db.OnReportSaved(saved.Flow)
		}
	}
	return saved, dup, nil
}

func (db *DB) reportByMsgKey(ctx context.Context, key string) (flows.Report, error) {
	var r flows.Report
	found, err := getJSON(ctx, db.pool, &r, `SELECT data FROM reports WHERE msg_key = $1`, key)
	if err == nil && !found {
		err = flows.Errorf(flows.ENotFound, "report of message %s", key)
	}
	return r, err
}

func saveReport(ctx context.Context, tx pgx.Tx, r flows.Report) (flows.Report, bool, error) {
	if r.MsgKey != "" {
		var old flows.Report
		found, err := getJSON(ctx, tx, &old, `SELECT data FROM reports WHERE msg_key = $1`, r.MsgKey)
		if err != nil || found {
			return old, found, err
		}
	}
	if err := tx.QueryRow(ctx, `SELECT nextval('reports_id_seq')`).Scan(&r.ID); err != nil {
		return flows.Report{}, false, err
	}
	r.Void, r.VoidedAt = false, time.Time{}
	if err := lockEffects(ctx, tx, r.Follows); err != nil {
		return flows.Report{}, false, err
	}
	for i := range r.Follows {
		if err := applyEffect(ctx, tx, &r, &r.Follows[i]); err != nil {
			return flows.Report{}, false, err
		}
	}
	storage.MirrorFirstEffect(&r)
	data, err := json.Marshal(&r)
	if err != nil {
		return flows.Report{}, false, err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO reports (id, msg_key, worker, community, grid, day, created_at, void, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, false, $8) ON CONFLICT (msg_key) DO NOTHING`,
		r.ID, nullable(r.MsgKey), r.Worker, r.Community, r.Grid, r.Day, r.CreatedAt, data)
	if err != nil {
		return flows.Report{}, false, err
	}
	if tag.RowsAffected() == 0 {
		return flows.Report{}, false, errDupRace
	}
	return r, false, countReport(ctx, tx, &r, 1)
}

// lockEffects takes the locks of the schedules the effects act on, in key
// order (two reports of one household take them in the same order).
func lockEffects(ctx context.Context, tx pgx.Tx, es []flows.FollowEffect) error {
	keys := make([]string, 0, len(es))
	for _, e := range es {
		keys = append(keys, e.Key)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := lockKey(ctx, tx, "followup", k); err != nil {
			return err
		}
	}
	return nil
}

// applyEffect applies one follow-up effect of the report r (already given
// its id) and records on e what it did, by the rules of the bbolt store:
// the open follow-up of e.Key is closed and the next one opened, unless
// it belongs to another grid of the community and was not handed to r's
// worker (Foreign) or was set by a report done after r.Day (Stale); then
// nothing changes and e.NextDue is cleared. The caller holds e.Key's lock.
func applyEffect(ctx context.Context, tx pgx.Tx, r *flows.Report, e *flows.FollowEffect) error {
	open, ok, err := openFollowUpOf(ctx, tx, e.Key)
	if err != nil {
		return err
	}
	if ok {
		if open.Community == r.Community && open.Grid != r.Grid && open.Worker != r.Worker {
			e.Foreign, e.Owner, e.OwnerGrid, e.NextDue = open.ID, open.Worker, open.Grid, ""
			return nil
		}
		if open.OpenedBy != 0 {
			var openerDay string
			err := tx.QueryRow(ctx, `SELECT day FROM reports WHERE id = $1`, open.OpenedBy).Scan(&openerDay)
			if err != nil {
				return fmt.Errorf("report %d that opened follow-up %d: %w", open.OpenedBy, open.ID, err)
			}
			if openerDay > r.Day {
				e.Stale, e.NextDue = true, ""
				return nil
			}
		}
		open.Closed, open.ClosedAt, open.ClosedBy, open.Reason = true, r.CreatedAt, r.ID, ""
		if err := putFollowUp(ctx, tx, &open); err != nil {
			return err
		}
		e.Closed = open.ID
	}
	if e.NextDue == "" {
		return nil
	}
	f, err := openFollowUp(ctx, tx, flows.FollowUp{
		Key: e.Key, Community: r.Community, Grid: r.Grid, Worker: r.Worker,
		Flow: r.Flow, Kind: e.Kind, Target: r.Target, Due: e.NextDue, OpenedBy: r.ID,
	})
	e.Opened = f.ID
	return err
}

// tallyShards is the number of rows each total is spread over (see the
// tallies table).
const tallyShards = 16

// countReport adds (sign 1) or takes out (sign -1) everything the report
// counts in: its distinct households (and the roster coverage they move)
// and its tallies, on the shard of its id.
func countReport(ctx context.Context, tx pgx.Tx, r *flows.Report, sign int64) error {
	es, err := addHouseholds(ctx, tx, r, sign)
	if err != nil {
		return err
	}
	for _, e := range storage.TallyEntries(r) {
		e.Milli *= sign
		es = append(es, e)
	}
	return addTallies(ctx, tx, es, int16(r.ID%tallyShards))
}

// addTallies adds the tally changes es on shard in one upsert in key
// order (so two transactions lock tally rows in the same order), and
// deletes the rows that reach zero.
func addTallies(ctx context.Context, tx pgx.Tx, es []storage.TallyEntry, shard int16) error {
	if len(es) == 0 {
		return nil
	}
	sort.Slice(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.Scope != b.Scope {
			return a.Scope < b.Scope
		}
		if a.Period != b.Period {
			return a.Period < b.Period
		}
		return a.Metric < b.Metric
	})
	scopes, periods, metrics := make([]string, len(es)), make([]string, len(es)), make([]string, len(es))
	vals := make([]int64, len(es))
	mayZero := false
	for i, e := range es {
		scopes[i], periods[i], metrics[i], vals[i] = e.Scope, e.Period, e.Metric, e.Milli
		mayZero = mayZero || vals[i] < 0
	}
	_, err := tx.Exec(ctx, `INSERT INTO tallies (scope, period, metric, shard, milli)
		SELECT s, p, m, $5, v FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS k(s, p, m, v) ORDER BY 1, 2, 3
		ON CONFLICT (scope, period, metric, shard) DO UPDATE SET milli = tallies.milli + excluded.milli`,
		scopes, periods, metrics, vals, shard)
	if err != nil || !mayZero {
		return err
	}
	_, err = tx.Exec(ctx, `DELETE FROM tallies t USING unnest($1::text[], $2::text[], $3::text[]) AS k(s, p, m)
		WHERE t.scope = k.s AND t.period = k.p AND t.metric = k.m AND t.shard = $4 AND t.milli = 0`, scopes, periods, metrics, shard)
	return err
}

// Report returns a report by id; ENotFound when there is none.
func (db *DB) Report(ctx context.Context, id uint64) (flows.Report, error) {
	r, err := getReport(ctx, db.pool, id, false)
	return r, storage.Wrap("read report", err)
}

func getReport(ctx context.Context, q querier, id uint64, forUpdate bool) (flows.Report, error) {
	sql := `SELECT data FROM reports WHERE id = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	var r flows.Report
	found, err := getJSON(ctx, q, &r, sql, id)
	if err == nil && !found {
		err = flows.Errorf(flows.ENotFound, "report %d", id)
	}
	return r, err
}

func putReport(ctx context.Context, tx pgx.Tx, r *flows.Report) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE reports SET void = $2, data = $3 WHERE id = $1`, r.ID, r.Void, data)
	return err
}

// LastReport returns the worker's newest report that is not void, created
// at or after since; ENotFound when there is none.
func (db *DB) LastReport(ctx context.Context, worker string, since time.Time) (flows.Report, error) {
	var r flows.Report
	found, err := getJSON(ctx, db.pool, &r, `SELECT data FROM reports
		WHERE worker = $1 AND created_at >= $2 AND NOT void ORDER BY id DESC LIMIT 1`, worker, since)
	if err == nil && !found {
		err = flows.Errorf(flows.ENotFound, "no report of worker %s since %s", worker, since.Format(time.RFC3339))
	}
	return r, storage.Wrap("read last report", err)
}

// VoidReport marks a report void and, in the same transaction, takes its
// metrics out of the tallies and reverses its follow-up effect, as the
// bbolt store does. ENotFound for an unknown id, EConflict when it is void
// already.
func (db *DB) VoidReport(ctx context.Context, id uint64, at time.Time) (flows.Report, error) {
	var r flows.Report
	err := db.inTx(ctx, "void report", func(tx pgx.Tx) error {
		var err error
		if r, err = getReport(ctx, tx, id, false); err != nil {
			return err
		}
		// The schedules' locks before the report's row: the order SaveReport takes them in.
		if err := lockEffects(ctx, tx, r.Effects()); err != nil {
			return err
		}
		if r, err = getReport(ctx, tx, id, true); err != nil {
			return err
		}
		if r.Void {
			return flows.Errorf(flows.EConflict, "report %d is void already", id)
		}
		r.Void, r.VoidedAt = true, at
		if err := putReport(ctx, tx, &r); err != nil {
			return err
		}
		if err := countReport(ctx, tx, &r, -1); err != nil {
			return err
		}
		for _, e := range r.Effects() {
			if e.Foreign != 0 || e.Stale {
				continue // it changed nothing
			}
			if err := undoFollowUpEffect(ctx, tx, r.ID, &e, at); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return flows.Report{}, err
	}
	return r, nil
}

// AttachToReport sets the location when loc is not nil and appends image
// when it is not "" and not there already. ENotFound for an unknown id,
// EConflict for a void report.
func (db *DB) AttachToReport(ctx context.Context, id uint64, loc *flows.Location, image string) (flows.Report, error) {
	var r flows.Report
	err := db.inTx(ctx, "attach to report", func(tx pgx.Tx) error {
		var err error
		if r, err = getReport(ctx, tx, id, true); err != nil {
			return err
		}
		if r.Void {
			return flows.Errorf(flows.EConflict, "report %d is void", id)
		}
		changed := false
		if loc != nil && (r.Location == nil || *r.Location != *loc) {
			l := *loc
			r.Location, changed = &l, true
		}
		if image != "" && !slices.Contains(r.Images, image) {
			r.Images, changed = append(r.Images, image), true
		}
		if !changed {
			return nil
		}
		return putReport(ctx, tx, &r)
	})
	if err != nil {
		return flows.Report{}, err
	}
	return r, nil
}

// Tally returns the totals of a scope for a period, read from the stored
// tallies: its cost follows the number of metrics, not of reports.
func (db *DB) Tally(ctx context.Context, scope flows.Scope, period string) (flows.Counts, error) {
	if err := storage.CheckScope(scope); err != nil {
		return nil, err
	}
	if _, err := flows.ParsePeriod(period); err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT metric, sum(milli)::bigint FROM tallies WHERE scope = $1 AND period = $2
		GROUP BY metric HAVING sum(milli) <> 0`, scope.String(), period)
	if err != nil {
		return nil, storage.Wrap("read tally", err)
	}
	counts := flows.Counts{}
	var metric string
	var milli int64
	_, err = pgx.ForEachRow(rows, []any{&metric, &milli}, func() error {
		counts[metric] = float64(milli) / flows.Milli
		return nil
	})
	if err != nil {
		return nil, storage.Wrap("read tally", err)
	}
	return counts, nil
}

// Reports calls fn for each report of the scope whose Day falls in
// period, in day order (then id order), skipping void ones unless
// includeVoid. It stops at, and returns, the first error of fn.
func (db *DB) Reports(ctx context.Context, scope flows.Scope, period string, includeVoid bool, fn func(flows.Report) error) error {
	if err := storage.CheckScope(scope); err != nil {
		return err
	}
	if _, err := flows.ParsePeriod(period); err != nil {
		return err
	}
	lo, hi := dayRange(period)
	cond, args := scopeWhere(scope, 3)
	sql := `SELECT data FROM reports WHERE day >= $1 AND day <= $2 AND ` + cond
	if !includeVoid {
		sql += ` AND NOT void`
	}
	sql += ` ORDER BY day, id`
	var fnErr error
	err := eachJSON(ctx, db.pool, func(r flows.Report) error {
		if err := fn(r); err != nil {
			fnErr = err
			return err
		}
		return nil
	}, sql, append([]any{lo, hi}, args...)...)
	if fnErr != nil {
		return fnErr
	}
	return storage.Wrap("list reports", err)
}
