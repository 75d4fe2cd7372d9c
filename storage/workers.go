package storage

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"gridbot/flows"
)

// Worker returns the worker bound to openID; ENotFound when there is none.
func (db *DB) Worker(ctx context.Context, openID string) (flows.Worker, error) {
	if err := ctx.Err(); err != nil {
		return flows.Worker{}, err
	}
	var w flows.Worker
	err := db.view(func(tx *bolt.Tx) error {
		var err error
		w, err = getWorker(tx, openID)
		return err
	})
	return w, wrap("read worker", err)
}

// PutWorker creates or replaces a worker.
func (db *DB) PutWorker(ctx context.Context, w flows.Worker) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if w.OpenID == "" {
		return flows.Errorf(flows.EInvalid, "worker without openid")
	}
	if !w.Role.Valid() {
		return flows.Errorf(flows.EInvalid, "worker %s: unknown role %q", w.OpenID, w.Role)
	}
	err := db.update(func(tx *bolt.Tx) error {
		rec := toWorkerRec(w)
		return putRecord(tx, workersBucket, []byte(w.OpenID), &rec)
	})
	return wrap("save worker", err)
}

// Workers returns every worker in openid order.
func (db *DB) Workers(ctx context.Context) ([]flows.Worker, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var ws []flows.Worker
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(workersBucket).ForEach(func(k, v []byte) error {
			var rec workerRec
			if err := decode(v, &rec); err != nil {
				return err
			}
			ws = append(ws, rec.worker())
			return nil
		})
	})
	if err != nil {
		return nil, wrap("list workers", err)
	}
	return ws, nil
}

// CreateInvite stores a new invite code; EConflict when the code exists.
func (db *DB) CreateInvite(ctx context.Context, inv flows.Invite) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	switch {
	case inv.Code == "":
		return flows.Errorf(flows.EInvalid, "invite without code")
	case inv.Community == "" || inv.Grid == "":
		return flows.Errorf(flows.EInvalid, "invite %s: community and grid are required", inv.Code)
	case !inv.Role.Valid():
		return flows.Errorf(flows.EInvalid, "invite %s: unknown role %q", inv.Code, inv.Role)
	}
	err := db.update(func(tx *bolt.Tx) error {
		if tx.Bucket(invitesBucket).Get([]byte(inv.Code)) != nil {
			return flows.Errorf(flows.EConflict, "invite %s exists", inv.Code)
		}
		rec := toInviteRec(inv)
		return putRecord(tx, invitesBucket, []byte(inv.Code), &rec)
	})
	return wrap("create invite", err)
}

// Invite returns an invite by code; ENotFound when there is none.
func (db *DB) Invite(ctx context.Context, code string) (flows.Invite, error) {
	if err := ctx.Err(); err != nil {
		return flows.Invite{}, err
	}
	var inv flows.Invite
	err := db.view(func(tx *bolt.Tx) error {
		var rec inviteRec
		found, err := getRecord(tx, invitesBucket, []byte(code), &rec)
		if err != nil {
			return err
		}
		if !found {
			return flows.Errorf(flows.ENotFound, "invite %s", code)
		}
		inv = rec.invite()
		return nil
	})
	return inv, wrap("read invite", err)
}

// RedeemInvite binds openID to the invite's community, grid and role and
// marks the code used, in one transaction. ENotFound for an unknown code,
// EConflict for a used one, EExpired for an expired one. An openID that is
// already bound is rebound (name kept when name is empty).
func (db *DB) RedeemInvite(ctx context.Context, code, openID, name string, now time.Time) (flows.Worker, error) {
	if err := ctx.Err(); err != nil {
		return flows.Worker{}, err
	}
	if code == "" || openID == "" {
		return flows.Worker{}, flows.Errorf(flows.EInvalid, "redeem needs a code and an openid")
	}
	var w flows.Worker
	err := db.update(func(tx *bolt.Tx) error {
		var rec inviteRec
		found, err := getRecord(tx, invitesBucket, []byte(code), &rec)
		if err != nil {
			return err
		}
		switch {
		case !found:
			return flows.Errorf(flows.ENotFound, "invite %s", code)
		case rec.UsedBy != "":
			return flows.Errorf(flows.EConflict, "invite %s already used", code)
		case !rec.ExpiresAt.IsZero() && !now.Before(rec.ExpiresAt):
			return flows.Errorf(flows.EExpired, "invite %s expired at %s", code, rec.ExpiresAt.Format(time.RFC3339))
		}
		w = flows.Worker{OpenID: openID, Name: name}
		if old, err := getWorker(tx, openID); err == nil {
			if name == "" {
				w.Name = old.Name
			}
		} else if flows.ErrorCode(err) != flows.ENotFound {
			return err
		}
		w.Community, w.Grid, w.Role, w.BoundAt = rec.Community, rec.Grid, flows.Role(rec.Role), now
		wrec := toWorkerRec(w)
		if err := putRecord(tx, workersBucket, []byte(openID), &wrec); err != nil {
			return err
		}
		rec.UsedBy, rec.UsedAt = openID, now
		return putRecord(tx, invitesBucket, []byte(code), &rec)
	})
	if err != nil {
		return flows.Worker{}, wrap("redeem invite", err)
	}
	return w, nil
}

func getWorker(tx *bolt.Tx, openID string) (flows.Worker, error) {
	var rec workerRec
	found, err := getRecord(tx, workersBucket, []byte(openID), &rec)
	if err != nil {
		return flows.Worker{}, err
	}
	if !found {
		return flows.Worker{}, flows.Errorf(flows.ENotFound, "worker %s", openID)
	}
	return rec.worker(), nil
}
