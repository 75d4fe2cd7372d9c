package postgres

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"gridbot/flows"
	"gridbot/storage"
)

// Distinct households and roster coverage are counters kept at write
// time (tables household_visits, roster, coverage: see migration 0002), by
// the rules and enumerations of the bbolt store (storage.HouseholdCounts,
// storage.CoverageDeltas, storage.RosterStock), so that reading them
// costs one indexed lookup whatever the number of reports.
//
// Everything that changes a household's counters or its roster record
// first takes the transaction-scoped advisory lock "household:<id>": a
// report of a household and a roster import touching it are applied one
// after the other.

// householdLockNS is the advisory lock namespace of a household.
const householdLockNS = "household"

// covKey names a coverage counter.
type covKey struct{ scope, period, metric string }

// addHouseholds counts the report's household visits in (sign 1) or out
// (sign -1) and updates the roster coverage that changes with them. It
// returns the <metric>.households tallies that move (a household's count
// in a scope and period going 0→1 or 1→0), for the caller to add with
// the report's other tallies.
func addHouseholds(ctx context.Context, tx pgx.Tx, r *flows.Report, sign int64) ([]storage.TallyEntry, error) {
	cs := storage.HouseholdCounts(r)
	if len(cs) == 0 {
		return nil, nil
	}
	hid := r.HouseholdID()
	if err := lockKey(ctx, tx, householdLockNS, hid); err != nil {
		return nil, err
	}
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.Scope != b.Scope {
			return a.Scope < b.Scope
		}
		if a.Period != b.Period {
			return a.Period < b.Period
		}
		return a.Metric < b.Metric
	})
	scopes, periods, metrics := make([]string, len(cs)), make([]string, len(cs)), make([]string, len(cs))
	for i, c := range cs {
		scopes[i], periods[i], metrics[i] = c.Scope, c.Period, c.Metric
	}
	rows, err := tx.Query(ctx, `INSERT INTO household_visits (scope, household, period, metric, n)
		SELECT s, $4, p, m, $5 FROM unnest($1::text[], $2::text[], $3::text[]) AS k(s, p, m) ORDER BY 1, 3, 4
		ON CONFLICT (scope, household, period, metric) DO UPDATE SET n = household_visits.n + excluded.n
		RETURNING scope, period, metric, n`, scopes, periods, metrics, hid, sign)
	if err != nil {
		return nil, err
	}
	type moved struct {
		covKey
		old, n int64
	}
	var ms []moved
	var m moved
	if _, err := pgx.ForEachRow(rows, []any{&m.scope, &m.period, &m.metric, &m.n}, func() error {
		m.old = m.n - sign
		ms = append(ms, m)
		return nil
	}); err != nil {
		return nil, err
	}
	if sign < 0 {
		_, err := tx.Exec(ctx, `DELETE FROM household_visits h USING unnest($1::text[], $2::text[], $3::text[]) AS k(s, p, m)
			WHERE h.scope = k.s AND h.household = $4 AND h.period = k.p AND h.metric = k.m AND h.n = 0`,
			scopes, periods, metrics, hid)
		if err != nil {
			return nil, err
		}
	}
	h, onRoster, err := rosterHousehold(ctx, tx, r.Community, r.Target)
	if err != nil {
		return nil, err
	}
	community := flows.Scope{Kind: flows.ScopeCommunity, ID: r.Community}.String()
	var tallies []storage.TallyEntry
	cov := map[covKey]int64{}
	for _, m := range ms {
		switch {
		case m.old == 0 && m.n > 0:
			tallies = append(tallies, storage.TallyEntry{Scope: m.scope, Period: m.period, Metric: m.metric + flows.HouseholdsSuffix, Milli: flows.Milli})
		case m.old > 0 && m.n == 0:
			tallies = append(tallies, storage.TallyEntry{Scope: m.scope, Period: m.period, Metric: m.metric + flows.HouseholdsSuffix, Milli: -flows.Milli})
		}
		if onRoster && m.scope == community {
			for _, d := range storage.CoverageDeltas(h, m.period, m.metric, m.old, m.n) {
				cov[covKey{d.Scope, d.Period, d.Metric}] += d.N
			}
		}
	}
	return tallies, addCoverage(ctx, tx, cov, int16(r.ID%tallyShards))
}

// rosterHousehold returns the roster record of a household; ok is false
// when it is not on the roster.
func rosterHousehold(ctx context.Context, q querier, community, household string) (h flows.Household, ok bool, err error) {
	ok, err = getJSON(ctx, q, &h, `SELECT data FROM roster WHERE community = $1 AND household = $2`, community, household)
	return h, ok, err
}

// addCoverage adds the coverage changes on shard, in one upsert in key
// order, and deletes the rows that reach zero (only a decrease can).
func addCoverage(ctx context.Context, tx pgx.Tx, cov map[covKey]int64, shard int16) error {
	keys := make([]covKey, 0, len(cov))
	for k, d := range cov {
		if d != 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.scope != b.scope {
			return a.scope < b.scope
		}
		if a.period != b.period {
			return a.period < b.period
		}
		return a.metric < b.metric
	})
	scopes, periods, metrics := make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys))
	ds := make([]int64, len(keys))
	mayZero := false
	for i, k := range keys {
		scopes[i], periods[i], metrics[i], ds[i] = k.scope, k.period, k.metric, cov[k]
		mayZero = mayZero || ds[i] < 0
	}
	_, err := tx.Exec(ctx, `INSERT INTO coverage (scope, period, metric, shard, n)
		SELECT s, p, m, $5, d FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS k(s, p, m, d) ORDER BY 1, 2, 3
		ON CONFLICT (scope, period, metric, shard) DO UPDATE SET n = coverage.n + excluded.n`,
		scopes, periods, metrics, ds, shard)
	if err != nil || !mayZero {
		return err
	}
	_, err = tx.Exec(ctx, `DELETE FROM coverage c USING unnest($1::text[], $2::text[], $3::text[]) AS k(s, p, m)
		WHERE c.scope = k.s AND c.period = k.p AND c.metric = k.m AND c.shard = $4 AND c.n = 0`, scopes, periods, metrics, shard)
	return err
}

// PutHouseholds adds roster households, or replaces those already on the
// roster (same community and household: grid and tags are updated), with
// every coverage count they touch, in one transaction. It returns how
// many were new.
func (db *DB) PutHouseholds(ctx context.Context, hs []flows.Household) (added int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	for _, h := range hs {
		switch {
		case h.Community == "" || h.Grid == "" || h.Household == "":
			return 0, flows.Errorf(flows.EInvalid, "roster household without community, grid or household")
		case strings.ContainsRune(h.Community+h.Household, 0):
			return 0, flows.Errorf(flows.EInvalid, "roster household with a NUL byte")
		}
	}
	if len(hs) == 0 {
		return 0, nil
	}
	err = db.inTx(ctx, "put households", func(tx pgx.Tx) error {
		added = 0
		var locks, hids, communities, households, scopes []string
		seen := map[string]bool{}
		for _, h := range hs {
			hid := flows.HouseholdID(h.Community, h.Household)
			if !seen[hid] {
				seen[hid] = true
				hids, locks = append(hids, hid), append(locks, householdLockNS+":"+hid)
				communities, households = append(communities, h.Community), append(households, h.Household)
				scopes = append(scopes, flows.Scope{Kind: flows.ScopeCommunity, ID: h.Community}.String())
			}
		}
		// Every household's lock first, in one order, before any row.
		if _, err := tx.Exec(ctx, `SELECT count(pg_advisory_xact_lock(l)) FROM
			(SELECT hashtextextended(k, 0) AS l FROM unnest($1::text[]) AS k ORDER BY 1) AS s`, locks); err != nil {
			return err
		}
		onRoster := map[string]flows.Household{}
		err := eachJSON(ctx, tx, func(h flows.Household) error {
			onRoster[flows.HouseholdID(h.Community, h.Household)] = h
			return nil
		}, `SELECT data FROM roster WHERE (community, household) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
			communities, households)
		if err != nil {
			return err
		}
		// The community-scope visit counts of each household.
		visits := map[string][]storage.HouseholdCount{}
		rows, err := tx.Query(ctx, `SELECT h.household, h.period, h.metric, h.n FROM household_visits h
			JOIN unnest($1::text[], $2::text[]) AS k(s, hid) ON h.scope = k.s AND h.household = k.hid`, scopes, hids)
		if err != nil {
			return err
		}
		var c storage.HouseholdCount
		if _, err := pgx.ForEachRow(rows, []any{&c.Household, &c.Period, &c.Metric, &c.N}, func() error {
			visits[c.Household] = append(visits[c.Household], c)
			return nil
		}); err != nil {
			return err
		}
		cov := map[covKey]int64{}
		contribute := func(h flows.Household, sign int64) {
			for _, d := range storage.RosterStock(h) {
				cov[covKey{d.Scope, d.Period, d.Metric}] += sign * d.N
			}
			for _, v := range visits[flows.HouseholdID(h.Community, h.Household)] {
				for _, d := range storage.CoverageDeltas(h, v.Period, v.Metric, 0, v.N) {
					cov[covKey{d.Scope, d.Period, d.Metric}] += sign * d.N
				}
			}
		}
		for _, h := range hs {
			hid := flows.HouseholdID(h.Community, h.Household)
			if old, ok := onRoster[hid]; ok {
				contribute(old, -1)
			} else {
				added++
			}
			onRoster[hid] = h
			contribute(h, 1)
		}
		var b pgx.Batch
		for i, hid := range hids {
			data, err := marshal(onRoster[hid])
			if err != nil {
				return err
			}
			b.Queue(`INSERT INTO roster (community, household, data) VALUES ($1, $2, $3)
				ON CONFLICT (community, household) DO UPDATE SET data = excluded.data`, communities[i], households[i], data)
		}
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return err
		}
		return addCoverage(ctx, tx, cov, 0)
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}

// HouseholdVisits returns how many non-void reports count the household
// in metric within period: one lookup of its counter.
func (db *DB) HouseholdVisits(ctx context.Context, community, household, metric, period string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if _, err := flows.ParsePeriod(period); err != nil {
		return 0, err
	}
	if community == "" || household == "" || metric == "" {
		return 0, flows.Errorf(flows.EInvalid, "household visits without community, household or metric")
	}
	var n int64
	err := db.pool.QueryRow(ctx, `SELECT n FROM household_visits WHERE scope = $1 AND household = $2 AND period = $3 AND metric = $4`,
		flows.Scope{Kind: flows.ScopeCommunity, ID: community}.String(), flows.HouseholdID(community, household), period, metric).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return int(n), storage.Wrap("read household visits", err)
}

// Coverage returns the roster figures of a grid, community or all for a
// period (入户率) and its year (规范管理), read from the maintained
// counters: one indexed read whatever the number of reports.
func (db *DB) Coverage(ctx context.Context, scope flows.Scope, period string) (flows.Coverage, error) {
	if err := ctx.Err(); err != nil {
		return flows.Coverage{}, err
	}
	if err := storage.CheckScope(scope); err != nil {
		return flows.Coverage{}, err
	}
	if scope.Kind == flows.ScopeWorker {
		return flows.Coverage{}, flows.Errorf(flows.EInvalid, "coverage of %s: the roster counts grids, communities or all", scope)
	}
	if _, err := flows.ParsePeriod(period); err != nil {
		return flows.Coverage{}, err
	}
	rows, err := db.pool.Query(ctx, `SELECT period, metric, sum(n)::bigint FROM coverage
		WHERE scope = $1 AND period IN ('', $2, $3) GROUP BY 1, 2`, scope.String(), period, period[:4])
	if err != nil {
		return flows.Coverage{}, storage.Wrap("read coverage", err)
	}
	counts := map[string]int64{}
	var p, m string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&p, &m, &n}, func() error {
		counts[p+"|"+m] = n
		return nil
	}); err != nil {
		return flows.Coverage{}, storage.Wrap("read coverage", err)
	}
	return storage.CoverageFrom(scope, period, counts), nil
}
