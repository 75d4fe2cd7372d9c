// Package postgres implements gridbot's flows.Store and flows.ReminderStore
// on PostgreSQL (pgx v5 with its pool), with the guarantees of the bbolt
// store in package storage: a report, its tallies, distinct-household
// counts and roster coverage, indexes, follow-up effects and dedupe mark
// are written in one transaction, and a unique key
// on the completing message (MsgKey) keeps it saved once, also when two
// gridbot nodes receive the same message at the same time.
//
// Several nodes may share one database. The schema is created and
// upgraded by Open from the migrations embedded in the binary, under an
// advisory lock so that nodes starting together do not race.
//
// Write transactions run at READ COMMITTED. Tallies are added with one
// upsert in key order (no deadlock between two reports), and everything
// that reads and then changes a follow-up schedule first takes a
// transaction-scoped advisory lock on the schedule's key (several in key
// order), and everything that changes a household's counts or roster
// record the lock of the household after them, so two reports of the
// same household, or a report and a roster import, are applied one after
// the other.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"gridbot/flows"
	"gridbot/storage"
)

// DB is gridbot's PostgreSQL store. Create it with Open.
type DB struct {
	pool *pgxpool.Pool
	now  func() time.Time

	// OnCommit, if set, observes each report's transaction once committed
	// (one write: each report is its own transaction), and OnReportSaved
	// each newly saved report's flow, as storage.Options does for bbolt.
	// Set them before the store is used.
	OnCommit      func(writes int, took time.Duration)
	OnReportSaved func(flow string)
}

var (
	_ flows.Store         = (*DB)(nil)
	_ flows.ReminderStore = (*DB)(nil)
)

// Open connects to the database at dsn ("postgres://user@host:5432/db"),
// applies the embedded migrations it lacks and returns the store.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: storage.dsn: %w", err)
	}
	if cfg.MaxConns < 16 {
		cfg.MaxConns = 16
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: unable to reach %s:%d/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &DB{pool: pool, now: time.Now}, nil
}

// Close closes every connection of the pool.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping checks that the database answers, for health checks.
func (db *DB) Ping(ctx context.Context) error {
	return storage.Wrap("ping", db.pool.Ping(ctx))
}

// Pool returns the connection pool (for tests and tools).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// maxAttempts bounds the retries of a transaction that failed on a
// deadlock or a serialization failure.
const maxAttempts = 5

// inTx runs fn in a READ COMMITTED transaction and commits it, running it
// again when PostgreSQL aborted it for a deadlock or a serialization
// failure. fn must be safe to run again.
func (db *DB) inTx(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	return db.inTxOpts(ctx, op, pgx.TxOptions{}, fn)
}

func (db *DB) inTxOpts(ctx context.Context, op string, opts pgx.TxOptions, fn func(tx pgx.Tx) error) error {
	var err error
	for range maxAttempts {
		err = pgx.BeginTxFunc(ctx, db.pool, opts, fn)
		if !retryable(err) {
			break
		}
	}
	return storage.Wrap(op, err)
}

// retryable reports whether err is a deadlock or a serialization failure.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// isUniqueViolation reports whether err is a unique key violation.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// lockKey takes a transaction-scoped advisory lock on a text key (a
// follow-up schedule's key). ns keeps the key spaces apart.
func lockKey(ctx context.Context, tx pgx.Tx, ns, key string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, ns+":"+key)
	return err
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// getJSON decodes the data column of the single row sql returns into v;
// found is false when there is no row.
func getJSON(ctx context.Context, q querier, v any, sql string, args ...any) (found bool, err error) {
	var data []byte
	err = q.QueryRow(ctx, sql, args...).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal(data, v)
}

// eachJSON decodes the data column of each row into a new T and calls fn.
func eachJSON[T any](ctx context.Context, q querier, fn func(T) error, sql string, args ...any) error {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var data []byte
	n := 0
	for rows.Next() {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := rows.Scan(&data); err != nil {
			return err
		}
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return rows.Err()
}

// listJSON returns the decoded data column of every row.
func listJSON[T any](ctx context.Context, q querier, sql string, args ...any) ([]T, error) {
	var out []T
	err := eachJSON(ctx, q, func(v T) error { out = append(out, v); return nil }, sql, args...)
	return out, err
}

// scopeWhere returns the SQL condition (on columns worker, community,
// grid) selecting a scope, with its arguments numbered from n.
func scopeWhere(s flows.Scope, n int) (string, []any) {
	switch s.Kind {
	case flows.ScopeWorker:
		return fmt.Sprintf("worker = $%d", n), []any{s.ID}
	case flows.ScopeGrid:
		// The same test as flows.Scope.Contains, also for a community
		// whose name holds a "/".
		return fmt.Sprintf("community || '/' || grid = $%d", n), []any{s.ID}
	case flows.ScopeCommunity:
		return fmt.Sprintf("community = $%d", n), []any{s.ID}
	}
	return "true", nil
}

// dayRange returns the first and last day ("2006-01-02") a checked
// period covers, for a range condition on a text day column.
func dayRange(period string) (lo, hi string) {
	switch len(period) {
	case 4:
		return period + "-01-01", period + "-12-31"
	case 7:
		return period + "-01", period + "-31"
	}
	return period, period
}

// nullable turns "" into NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
