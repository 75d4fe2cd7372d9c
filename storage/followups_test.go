package storage

import (
	"context"
	"testing"

	"gridbot/flows"
)

func followIDs(fs []flows.FollowUp) []uint64 {
	ids := make([]uint64, len(fs))
	for i, f := range fs {
		ids[i] = f.ID
	}
	return ids
}

func mustDue(t *testing.T, db *DB, scope, until string, limit int) []flows.FollowUp {
	t.Helper()
	s, err := flows.ParseScope(scope)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := db.DueFollowUps(context.Background(), s, until, limit)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}
