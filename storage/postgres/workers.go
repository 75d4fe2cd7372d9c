package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"gridbot/flows"
	"gridbot/storage"
)

// Worker returns the worker bound to openID; ENotFound when there is none.
func (db *DB) Worker(ctx context.Context, openID string) (flows.Worker, error) {
	w, err := getWorker(ctx, db.pool, openID)
	return w, storage.Wrap("read worker", err)
}

func getWorker(ctx context.Context, q querier, openID string) (flows.Worker, error) {
	var w flows.Worker
	found, err := getJSON(ctx, q, &w, `SELECT data FROM workers WHERE openid = $1`, openID)
	if err == nil && !found {
		err = flows.Errorf(flows.ENotFound, "worker %s", openID)
	}
	return w, err
}

// putWorker creates or replaces a worker.
func putWorker(ctx context.Context, tx pgx.Tx, w flows.Worker) error {
	data, err := json.Marshal(w)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO workers (openid, data) VALUES ($1, $2)
		ON CONFLICT (openid) DO UPDATE SET data = excluded.data`, w.OpenID, data)
	return err
}

// PutWorker creates or replaces a worker.
func (db *DB) PutWorker(ctx context.Context, w flows.Worker) error {
	if w.OpenID == "" {
		return flows.Errorf(flows.EInvalid, "worker without openid")
	}
	if !w.Role.Valid() {
		return flows.Errorf(flows.EInvalid, "worker %s: unknown role %q", w.OpenID, w.Role)
	}
	return db.inTx(ctx, "save worker", func(tx pgx.Tx) error { return putWorker(ctx, tx, w) })
}

// Workers returns every worker in openid order.
func (db *DB) Workers(ctx context.Context) ([]flows.Worker, error) {
	ws, err := listJSON[flows.Worker](ctx, db.pool, `SELECT data FROM workers ORDER BY openid COLLATE "C"`)
	return ws, storage.Wrap("list workers", err)
}

// CreateInvite stores a new invite code; EConflict when the code exists.
func (db *DB) CreateInvite(ctx context.Context, inv flows.Invite) error {
	switch {
	case inv.Code == "":
		return flows.Errorf(flows.EInvalid, "invite without code")
	case inv.Community == "" || inv.Grid == "":
		return flows.Errorf(flows.EInvalid, "invite %s: community and grid are required", inv.Code)
	case !inv.Role.Valid():
		return flows.Errorf(flows.EInvalid, "invite %s: unknown role %q", inv.Code, inv.Role)
	}
	data, err := json.Marshal(inv)
	if err != nil {
		return storage.Wrap("create invite", err)
	}
	tag, err := db.pool.Exec(ctx, `INSERT INTO invites (code, data) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING`, inv.Code, data)
	if err != nil {
		return storage.Wrap("create invite", err)
	}
	if tag.RowsAffected() == 0 {
		return flows.Errorf(flows.EConflict, "invite %s exists", inv.Code)
	}
	return nil
}

// Invite returns an invite by code; ENotFound when there is none.
func (db *DB) Invite(ctx context.Context, code string) (flows.Invite, error) {
	var inv flows.Invite
	found, err := getJSON(ctx, db.pool, &inv, `SELECT data FROM invites WHERE code = $1`, code)
	if err == nil && !found {
		err = flows.Errorf(flows.ENotFound, "invite %s", code)
	}
	return inv, storage.Wrap("read invite", err)
}

// RedeemInvite binds openID to the invite's community, grid and role and
// marks the code used, in one transaction. ENotFound for an unknown code,
// EConflict for a used one, EExpired for an expired one.
func (db *DB) RedeemInvite(ctx context.Context, code, openID, name string, now time.Time) (flows.Worker, error) {
	if code == "" || openID == "" {
		return flows.Worker{}, flows.Errorf(flows.EInvalid, "redeem needs a code and an openid")
	}
	var w flows.Worker
	err := db.inTx(ctx, "redeem invite", func(tx pgx.Tx) error {
		var inv flows.Invite
		found, err := getJSON(ctx, tx, &inv, `SELECT data FROM invites WHERE code = $1 FOR UPDATE`, code)
		if err != nil {
			return err
		}
		switch {
		case !found:
			return flows.Errorf(flows.ENotFound, "invite %s", code)
		case inv.UsedBy != "":
			return flows.Errorf(flows.EConflict, "invite %s already used", code)
		case !inv.ExpiresAt.IsZero() && !now.Before(inv.ExpiresAt):
			return flows.Errorf(flows.EExpired, "invite %s expired at %s", code, inv.ExpiresAt.Format(time.RFC3339))
		}
		w = flows.Worker{OpenID: openID, Name: name}
		if old, err := getWorker(ctx, tx, openID); err == nil {
			if name == "" {
				w.Name = old.Name
			}
		} else if flows.ErrorCode(err) != flows.ENotFound {
			return err
		}
		w.Community, w.Grid, w.Role, w.BoundAt = inv.Community, inv.Grid, inv.Role, now
		if err := putWorker(ctx, tx, w); err != nil {
			return err
		}
		inv.UsedBy, inv.UsedAt = openID, now
		data, err := json.Marshal(inv)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE invites SET data = $2 WHERE code = $1`, code, data)
		return err
	})
	if err != nil {
		return flows.Worker{}, err
	}
	return w, nil
}
