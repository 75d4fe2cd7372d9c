package storage_test

import (
	"path/filepath"
	"testing"

	"gridbot/storage"
	"gridbot/storage/storetest"
)

// boltStore is a store with the file it was opened on, for Reopen.
type boltStore struct{ *storage.DB }

func openBolt(t testing.TB, path string) storetest.Store {
	t.Helper()
	db, err := storage.Open(path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return boltStore{db}
}

// TestContract runs the store contract shared with the PostgreSQL driver.
func TestContract(t *testing.T) {
	storetest.Run(t, storetest.Driver{
		Open: func(t testing.TB) storetest.Store { return openBolt(t, filepath.Join(t.TempDir(), "gridbot.db")) },
		Reopen: func(t testing.TB, s storetest.Store) storetest.Store {
			db := s.(boltStore).DB
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			return openBolt(t, db.Path())
		},
		Tamper: func(t testing.TB, s storetest.Store, c storetest.Counter) {
			if err := storage.Tamper(s.(boltStore).DB, c.Table, c.Scope, c.Household, c.Period, c.Metric, c.Delta); err != nil {
				t.Fatal(err)
			}
		},
	})
}
