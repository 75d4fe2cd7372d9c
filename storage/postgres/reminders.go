package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"gridbot/flows"
	"gridbot/storage"
)

// ClaimDigest marks the worker's digest for day as taken before it is
// sent: a row with a unique key (day, worker), so of several nodes running
// the digest at once exactly one gets true.
func (db *DB) ClaimDigest(ctx context.Context, worker, day string, at time.Time) (bool, error) {
	if worker == "" || !storage.ValidDay(day) {
		return false, flows.Errorf(flows.EInvalid, "claim digest: worker %q day %q", worker, day)
	}
	tag, err := db.pool.Exec(ctx, `INSERT INTO digest_claims (day, worker, at) VALUES ($1, $2, $3)
		ON CONFLICT (day, worker) DO NOTHING`, day, worker, at)
	if err != nil {
		return false, storage.Wrap("claim digest", err)
	}
	return tag.RowsAffected() == 1, nil
}

// RecordAttempt appends an attempt to the log.
func (db *DB) RecordAttempt(ctx context.Context, a flows.DigestAttempt) error {
	if !storage.ValidDay(a.Day) {
		return flows.Errorf(flows.EInvalid, "record attempt: day %q", a.Day)
	}
	return storage.Wrap("record attempt", insertAttempt(ctx, db.pool, a))
}

// execer is a pool, a transaction or a connection.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func insertAttempt(ctx context.Context, q execer, a flows.DigestAttempt) error {
	data, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = q.Exec(ctx, `INSERT INTO digest_attempts (day, worker, at, channel, errcode, data)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, a.Day, a.Worker, a.At, a.Channel, a.ErrCode, data)
	return err
}

// DigestAttempts returns the attempts of a day, in the order made.
func (db *DB) DigestAttempts(ctx context.Context, day string) ([]flows.DigestAttempt, error) {
	as, err := listJSON[flows.DigestAttempt](ctx, db.pool, `SELECT data FROM digest_attempts WHERE day = $1 ORDER BY id`, day)
	return as, storage.Wrap("list attempts", err)
}

// PutNotice keeps text for the worker's next message, replacing an earlier one.
func (db *DB) PutNotice(ctx context.Context, openID, text string, at time.Time) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO notices (openid, text, at) VALUES ($1, $2, $3)
		ON CONFLICT (openid) DO UPDATE SET text = excluded.text, at = excluded.at`, openID, text, at)
	return storage.Wrap("put notice", err)
}

// TakeNotice returns the worker's notice and removes it; "" when there is
// none. Of two nodes taking it at once, one gets it.
func (db *DB) TakeNotice(ctx context.Context, openID string) (string, error) {
	var text string
	err := db.pool.QueryRow(ctx, `DELETE FROM notices WHERE openid = $1 RETURNING text`, openID).Scan(&text)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return text, storage.Wrap("take notice", err)
}

// LastDigestRun returns the day of the last scheduled run, "" when none.
func (db *DB) LastDigestRun(ctx context.Context) (string, error) {
	var day *string
	err := db.pool.QueryRow(ctx, `SELECT max(day) FROM digest_runs`).Scan(&day)
	if err != nil || day == nil {
		return "", storage.Wrap("read last run", err)
	}
	return *day, nil
}

// MarkDigestRun records that the scheduled run of day has been done.
func (db *DB) MarkDigestRun(ctx context.Context, day string, at time.Time) error {
	if !storage.ValidDay(day) {
		return flows.Errorf(flows.EInvalid, "mark run: day %q", day)
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO digest_runs (day, at) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING`, day, at)
	return storage.Wrap("mark run", err)
}
