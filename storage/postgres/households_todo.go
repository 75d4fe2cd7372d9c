package postgres

import (
	"context"

	"gridbot/flows"
)

// The issue-9 additions to the Store contract (distinct households, the
// roster and coverage) are not yet built on PostgreSQL: these refuse with
// an internal error until they are.

// PutHouseholds is not yet implemented on PostgreSQL.
func (db *DB) PutHouseholds(ctx context.Context, hs []flows.Household) (int, error) {
	return 0, flows.Errorf(flows.EInternal, "postgres: roster households not implemented yet")
}

// HouseholdVisits is not yet implemented on PostgreSQL.
func (db *DB) HouseholdVisits(ctx context.Context, community, household, metric, period string) (int, error) {
	return 0, flows.Errorf(flows.EInternal, "postgres: household visits not implemented yet")
}

// Coverage is not yet implemented on PostgreSQL.
func (db *DB) Coverage(ctx context.Context, scope flows.Scope, period string) (flows.Coverage, error) {
	return flows.Coverage{}, flows.Errorf(flows.EInternal, "postgres: coverage not implemented yet")
}
