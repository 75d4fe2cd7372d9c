package postgres

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"gridbot/flows"
	"gridbot/storage"
)

func getFollowUp(ctx context.Context, q querier, id uint64, forUpdate bool) (flows.FollowUp, error) {
	sql := `SELECT data FROM followups WHERE id = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	var f flows.FollowUp
	found, err := getJSON(ctx, q, &f, sql, id)
	if err == nil && !found {
		err = flows.Errorf(flows.ENotFound, "follow-up %d", id)
	}
	return f, err
}

// putFollowUp writes f (insert or update by id) with its index columns.
func putFollowUp(ctx context.Context, tx pgx.Tx, f *flows.FollowUp) error {
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO followups (id, key, worker, community, grid, due, closed, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (id) DO UPDATE SET key = excluded.key, worker = excluded.worker, community = excluded.community,
			grid = excluded.grid, due = excluded.due, closed = excluded.closed, data = excluded.data`,
		f.ID, f.Key, f.Worker, f.Community, f.Grid, f.Due, f.Closed, data)
	return err
}

// openFollowUp stores f as a new open follow-up with a fresh id. The
// caller holds the key's lock and has closed any open one with f.Key.
func openFollowUp(ctx context.Context, tx pgx.Tx, f flows.FollowUp) (flows.FollowUp, error) {
	if err := tx.QueryRow(ctx, `SELECT nextval('followups_id_seq')`).Scan(&f.ID); err != nil {
		return flows.FollowUp{}, err
	}
	f.Closed, f.ClosedAt, f.ClosedBy, f.Reason = false, time.Time{}, 0, ""
	return f, putFollowUp(ctx, tx, &f)
}

// openFollowUpOf returns the open follow-up with key, ok false when none.
func openFollowUpOf(ctx context.Context, tx pgx.Tx, key string) (f flows.FollowUp, ok bool, err error) {
	ok, err = getJSON(ctx, tx, &f, `SELECT data FROM followups WHERE key = $1 AND NOT closed FOR UPDATE`, key)
	return f, ok, err
}

// closeOpenFollowUp closes the open follow-up with key, if there is one,
// and returns its id (0: there was none). The caller holds the key's lock.
func closeOpenFollowUp(ctx context.Context, tx pgx.Tx, key string, by uint64, at time.Time, reason string) (uint64, error) {
	f, ok, err := openFollowUpOf(ctx, tx, key)
	if err != nil || !ok {
		return 0, err
	}
	f.Closed, f.ClosedAt, f.ClosedBy, f.Reason = true, at, by, reason
	return f.ID, putFollowUp(ctx, tx, &f)
}

// undoFollowUpEffect reverses one follow-up effect e of the report id,
// which is being voided at at, by the rules of the bbolt store: the
// follow-up it opened, if still open, is closed (storage.ReasonVoided),
// and the one it closed is reopened as it was, unless the schedule has
// moved on since. The caller holds the key's lock.
func undoFollowUpEffect(ctx context.Context, tx pgx.Tx, id uint64, e *flows.FollowEffect, at time.Time) error {
	open, ok, err := openFollowUpOf(ctx, tx, e.Key)
	if err != nil {
		return err
	}
	if ok {
		if open.OpenedBy != id {
			return nil // opened since, by another report or by hand
		}
		open.Closed, open.ClosedAt, open.ClosedBy, open.Reason = true, at, 0, storage.ReasonVoided
		if err := putFollowUp(ctx, tx, &open); err != nil {
			return err
		}
	} else if e.NextDue != "" {
		return nil // the follow-up the report opened was closed since
	}
	if e.Closed == 0 {
		return nil
	}
	f, err := getFollowUp(ctx, tx, e.Closed, true)
	if err != nil {
		return err
	}
	if !f.Closed || f.ClosedBy != id || f.Key != e.Key {
		return nil
	}
	f.Closed, f.ClosedAt, f.ClosedBy, f.Reason = false, time.Time{}, 0, ""
	return putFollowUp(ctx, tx, &f)
}

// DueFollowUps returns the open follow-ups of a scope due on or before
// until, oldest first, at most limit (0: no limit), from an index on the
// open ones: its cost follows the number returned.
func (db *DB) DueFollowUps(ctx context.Context, scope flows.Scope, until string, limit int) ([]flows.FollowUp, error) {
	if err := storage.CheckScope(scope); err != nil {
		return nil, err
	}
	if !storage.ValidDay(until) {
		return nil, flows.Errorf(flows.EInvalid, "until %q: want YYYY-MM-DD", until)
	}
	cond, args := scopeWhere(scope, 2)
	sql := `SELECT data FROM followups WHERE NOT closed AND due <= $1 AND ` + cond + ` ORDER BY due, id`
	if limit > 0 {
		sql += ` LIMIT ` + strconv.Itoa(limit)
	}
	fs, err := listJSON[flows.FollowUp](ctx, db.pool, sql, append([]any{until}, args...)...)
	return fs, storage.Wrap("list due follow-ups", err)
}

// FollowUps returns a scope's open follow-ups in due order, or, when
// closed is true, its closed ones in id order.
func (db *DB) FollowUps(ctx context.Context, scope flows.Scope, closed bool) ([]flows.FollowUp, error) {
	if err := storage.CheckScope(scope); err != nil {
		return nil, err
	}
	cond, args := scopeWhere(scope, 1)
	sql := `SELECT data FROM followups WHERE NOT closed AND ` + cond + ` ORDER BY due, id`
	if closed {
		sql = `SELECT data FROM followups WHERE closed AND ` + cond + ` ORDER BY id`
	}
	fs, err := listJSON[flows.FollowUp](ctx, db.pool, sql, args...)
	return fs, storage.Wrap("list follow-ups", err)
}

// FollowUp returns a follow-up by id; ENotFound when there is none.
func (db *DB) FollowUp(ctx context.Context, id uint64) (flows.FollowUp, error) {
	f, err := getFollowUp(ctx, db.pool, id, false)
	return f, storage.Wrap("read follow-up", err)
}

func checkFollowUp(f *flows.FollowUp) error {
	switch {
	case f.Key == "":
		return flows.Errorf(flows.EInvalid, "follow-up without key")
	case f.Worker == "" || f.Community == "" || f.Grid == "":
		return flows.Errorf(flows.EInvalid, "follow-up without worker, community or grid")
	case !storage.ValidDay(f.Due):
		return flows.Errorf(flows.EInvalid, "follow-up due %q: want YYYY-MM-DD", f.Due)
	}
	return nil
}

// OpenFollowUp opens a follow-up by hand (a roster import), closing any
// open one with the same Key (storage.ReasonReplaced). It assigns f.ID.
func (db *DB) OpenFollowUp(ctx context.Context, f flows.FollowUp) (flows.FollowUp, error) {
	fs, err := db.openFollowUps(ctx, "open follow-up", []flows.FollowUp{f})
	if err != nil {
		return flows.FollowUp{}, err
	}
	return fs[0], nil
}

// OpenFollowUps opens many follow-ups in one transaction, each as
// OpenFollowUp does. Either all are opened or, on an error, none.
func (db *DB) OpenFollowUps(ctx context.Context, fs []flows.FollowUp) ([]flows.FollowUp, error) {
	return db.openFollowUps(ctx, "open follow-ups", fs)
}

func (db *DB) openFollowUps(ctx context.Context, op string, fs []flows.FollowUp) ([]flows.FollowUp, error) {
	for i := range fs {
		if err := checkFollowUp(&fs[i]); err != nil {
			return nil, err
		}
	}
	now := db.now()
	var opened []flows.FollowUp
	err := db.inTx(ctx, op, func(tx pgx.Tx) error {
		opened = make([]flows.FollowUp, 0, len(fs))
		for _, f := range fs {
			if err := lockKey(ctx, tx, "followup", f.Key); err != nil {
				return err
			}
			if _, err := closeOpenFollowUp(ctx, tx, f.Key, 0, now, storage.ReasonReplaced); err != nil {
				return err
			}
			o, err := openFollowUp(ctx, tx, f)
			if err != nil {
				return err
			}
			opened = append(opened, o)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return opened, nil
}

// MoveFollowUp hands an open follow-up to another worker. ENotFound for
// an unknown id, EConflict when it is closed.
func (db *DB) MoveFollowUp(ctx context.Context, id uint64, worker string) (flows.FollowUp, error) {
	if worker == "" {
		return flows.FollowUp{}, flows.Errorf(flows.EInvalid, "move follow-up %d to nobody", id)
	}
	var f flows.FollowUp
	err := db.inTx(ctx, "move follow-up", func(tx pgx.Tx) error {
		var err error
		if f, err = getFollowUp(ctx, tx, id, true); err != nil {
			return err
		}
		if f.Closed {
			return flows.Errorf(flows.EConflict, "follow-up %d is closed", id)
		}
		if f.Worker == worker {
			return nil
		}
		f.Worker = worker
		return putFollowUp(ctx, tx, &f)
	})
	if err != nil {
		return flows.FollowUp{}, err
	}
	return f, nil
}

// CloseFollowUp closes an open follow-up by hand with a reason. ENotFound
// for an unknown id, EConflict when it is closed already.
func (db *DB) CloseFollowUp(ctx context.Context, id uint64, reason string, at time.Time) (flows.FollowUp, error) {
	var f flows.FollowUp
	err := db.inTx(ctx, "close follow-up", func(tx pgx.Tx) error {
		var err error
		if f, err = getFollowUp(ctx, tx, id, true); err != nil {
			return err
		}
		if f.Closed {
			return flows.Errorf(flows.EConflict, "follow-up %d is closed already", id)
		}
		f.Closed, f.ClosedAt, f.ClosedBy, f.Reason = true, at, 0, reason
		return putFollowUp(ctx, tx, &f)
	})
	if err != nil {
		return flows.FollowUp{}, err
	}
	return f, nil
}
