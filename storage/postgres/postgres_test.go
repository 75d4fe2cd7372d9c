package postgres_test

import (
	"context"
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
}

func TestContract(t *testing.T) { storetest.Run(t, driver) }
