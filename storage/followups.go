package storage

import (
	"bytes"
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"gridbot/flows"
)

// ReasonReplaced is the Reason of a follow-up closed because OpenFollowUp
// opened another one with the same Key.
const ReasonReplaced = "已重新安排"

// ReasonVoided is the Reason of a follow-up closed because the report that
// opened it was voided (撤销).
const ReasonVoided = "撤销"

// dueKey is scope + "\x00" + due + id: the due index entry of an open
// follow-up in one of its scopes.
func dueKey(scope, due string, id uint64) []byte {
	k := make([]byte, 0, len(scope)+1+len(due)+8)
	k = append(k, scope...)
	k = append(k, 0)
	k = append(k, due...)
	return append(k, itob(id)...)
}

// followUpIn reports whether a follow-up belongs to the scope.
func followUpIn(s flows.Scope, f *flows.FollowUp) bool {
	return s.Contains(&flows.Report{Worker: f.Worker, Community: f.Community, Grid: f.Grid})
}

func getFollowUp(tx *bolt.Tx, id uint64) (flows.FollowUp, error) {
	var rec followUpRec
	found, err := getRecord(tx, followUpsBucket, itob(id), &rec)
	if err != nil {
		return flows.FollowUp{}, err
	}
	if !found {
		return flows.FollowUp{}, flows.Errorf(flows.ENotFound, "follow-up %d", id)
	}
	return rec.followUp(), nil
}

func putFollowUp(tx *bolt.Tx, f *flows.FollowUp) error {
	rec := toFollowUpRec(f)
	return putRecord(tx, followUpsBucket, itob(f.ID), &rec)
}

// indexDue adds (or with del, removes) the due index entries of f, one per
// scope of its worker.
func indexDue(tx *bolt.Tx, f *flows.FollowUp, del bool) error {
	b := tx.Bucket(followUpsDueBucket)
	for _, s := range flows.Scopes(f.Worker, f.Community, f.Grid) {
		k := dueKey(s.String(), f.Due, f.ID)
		var err error
		if del {
			err = b.Delete(k)
		} else {
			err = b.Put(k, nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// openFollowUp stores f as a new open follow-up with a fresh id. The
// caller closes any open follow-up with f.Key first.
func openFollowUp(tx *bolt.Tx, f flows.FollowUp) (flows.FollowUp, error) {
	b := tx.Bucket(followUpsBucket)
	id, err := b.NextSequence()
	if err != nil {
		return flows.FollowUp{}, err
	}
	f.ID, f.Closed, f.ClosedAt, f.ClosedBy, f.Reason = id, false, time.Time{}, 0, ""
	if err := putFollowUp(tx, &f); err != nil {
		return flows.FollowUp{}, err
	}
	if err := tx.Bucket(followUpsOpenBucket).Put([]byte(f.Key), itob(id)); err != nil {
		return flows.FollowUp{}, err
	}
	return f, indexDue(tx, &f, false)
}

// closeOpenFollowUp closes the open follow-up with key, if there is one,
// and returns its id (0: there was none).
func closeOpenFollowUp(tx *bolt.Tx, key string, by uint64, at time.Time, reason string) (closed uint64, err error) {
	id := tx.Bucket(followUpsOpenBucket).Get([]byte(key))
	if id == nil {
		return 0, nil
	}
	f, err := getFollowUp(tx, btoi(id))
	if err != nil {
		return 0, err
	}
	return f.ID, closeFollowUp(tx, &f, by, at, reason)
}

// closeFollowUp marks the open follow-up f closed and removes it from the
// open and due indexes.
func closeFollowUp(tx *bolt.Tx, f *flows.FollowUp, by uint64, at time.Time, reason string) error {
	f.Closed, f.ClosedAt, f.ClosedBy, f.Reason = true, at, by, reason
	if err := putFollowUp(tx, f); err != nil {
		return err
	}
	open := tx.Bucket(followUpsOpenBucket)
	if id := open.Get([]byte(f.Key)); id != nil && btoi(id) == f.ID {
		if err := open.Delete([]byte(f.Key)); err != nil {
			return err
		}
	}
	return indexDue(tx, f, true)
}

// reopenFollowUp reopens the closed follow-up f as it was before it was
// closed (same id, due date and worker) and puts it back in the open and
// due indexes. No other follow-up with f.Key may be open.
func reopenFollowUp(tx *bolt.Tx, f *flows.FollowUp) error {
	f.Closed, f.ClosedAt, f.ClosedBy, f.Reason = false, time.Time{}, 0, ""
	if err := putFollowUp(tx, f); err != nil {
		return err
	}
	if err := tx.Bucket(followUpsOpenBucket).Put([]byte(f.Key), itob(f.ID)); err != nil {
		return err
	}
	return indexDue(tx, f, false)
}

// undoFollowUpEffects reverses the follow-up effects of the report rec,
// which is being voided at at; effects that changed nothing (Foreign,
// Stale) are skipped. See undoFollowUpEffect.
func undoFollowUpEffects(tx *bolt.Tx, rec *reportRec, at time.Time) error {
	for _, e := range rec.effects() {
		if e.Foreign != 0 || e.Stale {
			continue
		}
		if err := undoFollowUpEffect(tx, rec.ID, &e, at); err != nil {
			return err
		}
	}
	return nil
}

// undoFollowUpEffect reverses one follow-up effect e of report id: the
// follow-up it opened, if still open, is closed (ReasonVoided, ClosedBy
// 0), and the one it closed is reopened as it was. The closed one stays
// closed when the key's schedule has moved on since the report: another
// follow-up with the key is open, or the one the report opened has been
// closed by a later report or by hand. Old records (Rev 0) do not say
// which follow-up they closed (e.Closed 0); it stays closed.
func undoFollowUpEffect(tx *bolt.Tx, id uint64, e *flows.FollowEffect, at time.Time) error {
	if open := tx.Bucket(followUpsOpenBucket).Get([]byte(e.Key)); open != nil {
		f, err := getFollowUp(tx, btoi(open))
		if err != nil {
			return err
		}
		if f.OpenedBy != id {
			return nil // opened since, by another report or by hand
		}
		if err := closeFollowUp(tx, &f, 0, at, ReasonVoided); err != nil {
			return err
		}
	} else if e.NextDue != "" {
		return nil // the follow-up the report opened was closed since
	}
	if e.Closed == 0 {
		return nil
	}
	f, err := getFollowUp(tx, e.Closed)
	if err != nil {
		return err
	}
	if !f.Closed || f.ClosedBy != id || f.Key != e.Key {
		return nil
	}
	return reopenFollowUp(tx, &f)
}

// DueFollowUps returns the open follow-ups of a scope due on or before
// until ("2006-01-02"), oldest first, at most limit (0: no limit). It
// walks the scope's due index from the oldest and stops past until or at
// limit: its cost follows the number of items returned.
func (db *DB) DueFollowUps(ctx context.Context, scope flows.Scope, until string, limit int) ([]flows.FollowUp, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkScope(scope); err != nil {
		return nil, err
	}
	if !validDay(until) {
		return nil, flows.Errorf(flows.EInvalid, "until %q: want YYYY-MM-DD", until)
	}
	var fs []flows.FollowUp
	err := db.view(func(tx *bolt.Tx) error {
		prefix := append([]byte(scope.String()), 0)
		end := []byte(until)
		c := tx.Bucket(followUpsDueBucket).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if limit > 0 && len(fs) >= limit {
				break
			}
			rest := k[len(prefix):]
			if len(rest) != 18 {
				continue
			}
			if bytes.Compare(rest[:10], end) > 0 {
				break
			}
			f, err := getFollowUp(tx, btoi(rest[10:]))
			if err != nil {
				return err
			}
			fs = append(fs, f)
		}
		return nil
	})
	if err != nil {
		return nil, wrap("list due follow-ups", err)
	}
	return fs, nil
}

// FollowUps returns a scope's open follow-ups in due order, or, when
// closed is true, its closed ones in id order. The closed listing scans
// every follow-up (an office report, not a chat reply).
func (db *DB) FollowUps(ctx context.Context, scope flows.Scope, closed bool) ([]flows.FollowUp, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkScope(scope); err != nil {
		return nil, err
	}
	var fs []flows.FollowUp
	err := db.view(func(tx *bolt.Tx) error {
		if !closed {
			prefix := append([]byte(scope.String()), 0)
			c := tx.Bucket(followUpsDueBucket).Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				if len(k) < len(prefix)+8 {
					continue
				}
				f, err := getFollowUp(tx, btoi(k[len(k)-8:]))
				if err != nil {
					return err
				}
				fs = append(fs, f)
			}
			return nil
		}
		n := 0
		return tx.Bucket(followUpsBucket).ForEach(func(k, v []byte) error {
			if n++; n%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			var rec followUpRec
			if err := decode(v, &rec); err != nil {
				return err
			}
			if f := rec.followUp(); f.Closed && followUpIn(scope, &f) {
				fs = append(fs, f)
			}
			return nil
		})
	})
	if err != nil {
		return nil, wrap("list follow-ups", err)
	}
	return fs, nil
}

// FollowUp returns a follow-up by id; ENotFound when there is none.
func (db *DB) FollowUp(ctx context.Context, id uint64) (flows.FollowUp, error) {
	if err := ctx.Err(); err != nil {
		return flows.FollowUp{}, err
	}
	var f flows.FollowUp
	err := db.view(func(tx *bolt.Tx) error {
		var err error
		f, err = getFollowUp(tx, id)
		return err
	})
	return f, wrap("read follow-up", err)
}

// OpenFollowUp opens a follow-up by hand (a roster import), closing any
// open one with the same Key (Reason ReasonReplaced). It assigns f.ID.
func (db *DB) OpenFollowUp(ctx context.Context, f flows.FollowUp) (flows.FollowUp, error) {
	if err := ctx.Err(); err != nil {
		return flows.FollowUp{}, err
	}
	switch {
	case f.Key == "":
		return flows.FollowUp{}, flows.Errorf(flows.EInvalid, "follow-up without key")
	case f.Worker == "" || f.Community == "" || f.Grid == "":
		return flows.FollowUp{}, flows.Errorf(flows.EInvalid, "follow-up without worker, community or grid")
	case !validDay(f.Due):
		return flows.FollowUp{}, flows.Errorf(flows.EInvalid, "follow-up due %q: want YYYY-MM-DD", f.Due)
	}
	now := db.now()
	var opened flows.FollowUp
	err := db.update(func(tx *bolt.Tx) error {
		if _, err := closeOpenFollowUp(tx, f.Key, 0, now, ReasonReplaced); err != nil {
			return err
		}
		var err error
		opened, err = openFollowUp(tx, f)
		return err
	})
	if err != nil {
		return flows.FollowUp{}, wrap("open follow-up", err)
	}
	return opened, nil
}

// MoveFollowUp hands an open follow-up to another worker. ENotFound for an
// unknown id, EConflict when it is closed.
func (db *DB) MoveFollowUp(ctx context.Context, id uint64, worker string) (flows.FollowUp, error) {
	if err := ctx.Err(); err != nil {
		return flows.FollowUp{}, err
	}
	if worker == "" {
		return flows.FollowUp{}, flows.Errorf(flows.EInvalid, "move follow-up %d to nobody", id)
	}
	var f flows.FollowUp
	err := db.update(func(tx *bolt.Tx) error {
		var err error
		f, err = getFollowUp(tx, id)
		if err != nil {
			return err
		}
		if f.Closed {
			return flows.Errorf(flows.EConflict, "follow-up %d is closed", id)
		}
		if f.Worker == worker {
			return nil
		}
		b := tx.Bucket(followUpsDueBucket)
		if err := b.Delete(dueKey(flows.Scope{Kind: flows.ScopeWorker, ID: f.Worker}.String(), f.Due, f.ID)); err != nil {
			return err
		}
		f.Worker = worker
		if err := b.Put(dueKey(flows.Scope{Kind: flows.ScopeWorker, ID: f.Worker}.String(), f.Due, f.ID), nil); err != nil {
			return err
		}
		return putFollowUp(tx, &f)
	})
	if err != nil {
		return flows.FollowUp{}, wrap("move follow-up", err)
	}
	return f, nil
}

// CloseFollowUp closes an open follow-up by hand with a reason (迁出, 死亡,
// 拒绝…). ENotFound for an unknown id, EConflict when it is closed already.
func (db *DB) CloseFollowUp(ctx context.Context, id uint64, reason string, at time.Time) (flows.FollowUp, error) {
	if err := ctx.Err(); err != nil {
		return flows.FollowUp{}, err
	}
	var f flows.FollowUp
	err := db.update(func(tx *bolt.Tx) error {
		var err error
		f, err = getFollowUp(tx, id)
		if err != nil {
			return err
		}
		if f.Closed {
			return flows.Errorf(flows.EConflict, "follow-up %d is closed already", id)
		}
		return closeFollowUp(tx, &f, 0, at, reason)
	})
	if err != nil {
		return flows.FollowUp{}, wrap("close follow-up", err)
	}
	return f, nil
}
