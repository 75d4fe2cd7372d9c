package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"gridbot/storage/postgres"
	"gridbot/storage/postgres/pgtest"
	"gridbot/storage/storetest"
)

// pgStore is a store with the DSN it was opened on, for Reopen.
type pgStore struct {
	*postgres.DB
	dsn string
}

func openStore(t testing.TB, dsn string) *pgStore {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &pgStore{db, dsn}
}

var driver = storetest.Driver{
	Open: func(t testing.TB) storetest.Store { return openStore(t, pgtest.NewDatabase(t)) },
	Reopen: func(t testing.TB, s storetest.Store) storetest.Store {
		p := s.(*pgStore)
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		return openStore(t, p.dsn)
	},
	Tamper: func(t testing.TB, s storetest.Store, c storetest.Counter) {
		ctx := context.Background()
		pool := s.(*pgStore).Pool()
		var err error
		switch c.Table {
		case "tallies":
			_, err = pool.Exec(ctx, `INSERT INTO tallies (scope, period, metric, shard, milli) VALUES ($1, $2, $3, 0, $4)
				ON CONFLICT (scope, period, metric, shard) DO UPDATE SET milli = tallies.milli + excluded.milli`, c.Scope, c.Period, c.Metric, c.Delta)
		case "households":
			_, err = pool.Exec(ctx, `INSERT INTO household_visits (scope, household, period, metric, n) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (scope, household, period, metric) DO UPDATE SET n = household_visits.n + excluded.n`,
				c.Scope, c.Household, c.Period, c.Metric, c.Delta)
			if err == nil {
				_, err = pool.Exec(ctx, `DELETE FROM household_visits WHERE n = 0`)
			}
		case "coverage":
			_, err = pool.Exec(ctx, `INSERT INTO coverage (scope, period, metric, shard, n) VALUES ($1, $2, $3, 0, $4)
				ON CONFLICT (scope, period, metric, shard) DO UPDATE SET n = coverage.n + excluded.n`, c.Scope, c.Period, c.Metric, c.Delta)
		default:
			t.Fatalf("tamper: no table %q", c.Table)
		}
		if err != nil {
			t.Fatal(err)
		}
	},
}

func TestContract(t *testing.T) { storetest.Run(t, driver) }

// TestMigrateTogether: nodes starting together on an empty database
// apply each migration once (the advisory lock), and a database whose
// schema is newer than the binary is refused.
func TestMigrateTogether(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := postgres.Open(ctx, dsn)
			if err == nil {
				db.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
	db := openStore(t, dsn)
	var n, version int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*), max(version) FROM gridbot_schema`).Scan(&n, &version); err != nil {
		t.Fatal(err)
	}
	if n != postgres.SchemaVersion() || version != postgres.SchemaVersion() {
		t.Fatalf("%d migrations recorded up to %d, want %d", n, version, postgres.SchemaVersion())
	}
	if _, err := db.Pool().Exec(ctx, `INSERT INTO gridbot_schema (version, name) VALUES ($1, 'from the future')`, version+1); err != nil {
		t.Fatal(err)
	}
	_, err := postgres.Open(ctx, dsn)
	if err == nil || !strings.Contains(err.Error(), "newer than this gridbot") {
		t.Fatalf("newer schema: %v", err)
	}
}
