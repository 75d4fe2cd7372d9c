package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"gridbot/flows"
	"gridbot/storage"
)

// snapshot is a REPEATABLE READ, read-only transaction: every query in it
// sees the database as of its first one, while writers go on.
var snapshot = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}

// Check recomputes every tally from the reports that are not void, and
// the distinct-household counters and the roster coverage from them and
// the roster, and returns one line per difference with what is stored, in
// the format of the bbolt store's Check. It reads one snapshot.
func (db *DB) Check(ctx context.Context) ([]string, error) {
	var diffs []string
	err := db.inTxOpts(ctx, "check tallies", snapshot, func(tx pgx.Tx) error {
		want := map[storage.TallyEntry]int64{}
		hh := map[storage.HouseholdCount]int64{}
		err := eachJSON(ctx, tx, func(r flows.Report) error {
			for _, e := range storage.TallyEntries(&r) {
				want[storage.TallyEntry{Scope: e.Scope, Period: e.Period, Metric: e.Metric}] += e.Milli
			}
			for _, c := range storage.HouseholdCounts(&r) {
				c.N = 0
				if hh[c]++; hh[c] == 1 {
					want[storage.TallyEntry{Scope: c.Scope, Period: c.Period, Metric: c.Metric + flows.HouseholdsSuffix}] += flows.Milli
				}
			}
			return nil
		}, `SELECT data FROM reports WHERE NOT void`)
		if err != nil {
			return err
		}
		cov, err := recomputeCoverage(ctx, tx, hh)
		if err != nil {
			return err
		}
		stored := map[storage.TallyEntry]int64{}
		var k storage.TallyEntry
		var n int64
		if err := forEach(ctx, tx, []any{&k.Scope, &k.Period, &k.Metric, &n}, func() { stored[k] = n },
			`SELECT scope, period, metric, sum(milli)::bigint FROM tallies GROUP BY 1, 2, 3`); err != nil {
			return err
		}
		diffs = storage.TallyDiffs(stored, want)

		storedHH := map[storage.HouseholdCount]int64{}
		var c storage.HouseholdCount
		if err := forEach(ctx, tx, []any{&c.Scope, &c.Household, &c.Period, &c.Metric, &n}, func() { storedHH[c] = n },
			`SELECT scope, household, period, metric, n FROM household_visits`); err != nil {
			return err
		}
		diffs = append(diffs, countDiffs("households ", storedHH, hh, func(c storage.HouseholdCount) string {
			return c.Scope + " " + c.Household + " " + c.Period + " " + c.Metric
		})...)

		storedCov := map[storage.CoverageCount]int64{}
		var v storage.CoverageCount
		if err := forEach(ctx, tx, []any{&v.Scope, &v.Period, &v.Metric, &n}, func() { storedCov[v] = n },
			`SELECT scope, period, metric, sum(n)::bigint FROM coverage GROUP BY 1, 2, 3`); err != nil {
			return err
		}
		diffs = append(diffs, countDiffs("coverage ", storedCov, cov, func(c storage.CoverageCount) string {
			return c.Scope + " " + c.Period + " " + c.Metric
		})...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(diffs)
	return diffs, nil
}

// recomputeCoverage recomputes the coverage counters from the roster and
// the recomputed household counters hh.
func recomputeCoverage(ctx context.Context, tx pgx.Tx, hh map[storage.HouseholdCount]int64) (map[storage.CoverageCount]int64, error) {
	// The community-scope counters of each household.
	byHousehold := map[string][]storage.HouseholdCount{}
	for c, n := range hh {
		if strings.HasPrefix(c.Scope, string(flows.ScopeCommunity)+":") {
			c.N = n
			byHousehold[c.Household] = append(byHousehold[c.Household], c)
		}
	}
	cov := map[storage.CoverageCount]int64{}
	err := eachJSON(ctx, tx, func(h flows.Household) error {
		for _, d := range storage.RosterStock(h) {
			cov[storage.CoverageCount{Scope: d.Scope, Period: d.Period, Metric: d.Metric}] += d.N
		}
		community := flows.Scope{Kind: flows.ScopeCommunity, ID: h.Community}.String()
		for _, c := range byHousehold[flows.HouseholdID(h.Community, h.Household)] {
			if c.Scope != community {
				continue
			}
			for _, d := range storage.CoverageDeltas(h, c.Period, c.Metric, 0, c.N) {
				cov[storage.CoverageCount{Scope: d.Scope, Period: d.Period, Metric: d.Metric}] += d.N
			}
		}
		return nil
	}, `SELECT data FROM roster`)
	return cov, err
}

// forEach runs sql and calls fn after scanning each row into dest.
func forEach(ctx context.Context, tx pgx.Tx, dest []any, fn func(), sql string, args ...any) error {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	_, err = pgx.ForEachRow(rows, dest, func() error { fn(); return nil })
	return err
}

// countDiffs lists the differences between stored and recomputed
// counters (keys with N 0), in the format of the bbolt store's Check:
// label + key + ": stored 2, recomputed 1".
func countDiffs[K comparable](label string, stored, want map[K]int64, name func(K) string) []string {
	var diffs []string
	for k, got := range stored {
		if w := want[k]; got != w {
			diffs = append(diffs, fmt.Sprintf("%s%s: stored %d, recomputed %d", label, name(k), got, w))
		}
	}
	for k, w := range want {
		if _, ok := stored[k]; !ok && w != 0 {
			diffs = append(diffs, fmt.Sprintf("%s%s: stored 0, recomputed %d", label, name(k), w))
		}
	}
	return diffs
}

// Dump hands every record to l from one snapshot (see storage.Loader), in
// the order of the bbolt store's Dump.
func (db *DB) Dump(ctx context.Context, l storage.Loader, progress func(kind string, n int)) error {
	if progress == nil {
		progress = func(string, int) {}
	}
	return db.inTxOpts(ctx, "dump store", snapshot, func(tx pgx.Tx) error {
		steps := []struct {
			kind string
			run  func() (int, error)
		}{
			{"workers", func() (int, error) {
				return each(ctx, tx, `SELECT data FROM workers ORDER BY openid COLLATE "C"`,
					func(w flows.Worker) error { return l.LoadWorker(ctx, w) })
			}},
			{"invites", func() (int, error) {
				return each(ctx, tx, `SELECT data FROM invites ORDER BY code COLLATE "C"`,
					func(inv flows.Invite) error { return l.LoadInvite(ctx, inv) })
			}},
			{"follow-ups", func() (int, error) {
				return each(ctx, tx, `SELECT data FROM followups ORDER BY id`,
					func(f flows.FollowUp) error { return l.LoadFollowUp(ctx, f) })
			}},
			{"reports", func() (int, error) {
				return each(ctx, tx, `SELECT data FROM reports ORDER BY id`,
					func(r flows.Report) error { return l.LoadReport(ctx, r) })
			}},
			{"tallies", func() (int, error) {
				return each(ctx, tx, `SELECT json_build_object('Scope', scope, 'Period', period, 'Metric', metric, 'Milli', sum(milli))
					FROM tallies GROUP BY scope, period, metric HAVING sum(milli) <> 0
					ORDER BY scope COLLATE "C", period COLLATE "C", metric COLLATE "C"`,
					func(e storage.TallyEntry) error { return l.LoadTally(ctx, e) })
			}},
			{"digest claims", func() (int, error) {
				type claim struct {
					Day, Worker string
					At          time.Time
				}
				return each(ctx, tx, `SELECT json_build_object('Day', day, 'Worker', worker, 'At', at) FROM digest_claims ORDER BY day, worker COLLATE "C"`,
					func(c claim) error { return l.LoadDigestClaim(ctx, c.Worker, c.Day, c.At) })
			}},
			{"digest attempts", func() (int, error) {
				return each(ctx, tx, `SELECT data FROM digest_attempts ORDER BY id`,
					func(a flows.DigestAttempt) error { return l.LoadDigestAttempt(ctx, a) })
			}},
			{"notices", func() (int, error) {
				type notice struct {
					OpenID, Text string
					At           time.Time
				}
				return each(ctx, tx, `SELECT json_build_object('OpenID', openid, 'Text', text, 'At', at) FROM notices ORDER BY openid COLLATE "C"`,
					func(n notice) error { return l.LoadNotice(ctx, n.OpenID, n.Text, n.At) })
			}},
			{"digest runs", func() (int, error) {
				type run struct {
					Day string
					At  time.Time
				}
				return each(ctx, tx, `SELECT json_build_object('Day', day, 'At', at) FROM digest_runs ORDER BY day DESC LIMIT 1`,
					func(r run) error { return l.LoadDigestRun(ctx, r.Day, r.At) })
			}},
			{"households", func() (int, error) {
				return each(ctx, tx, `SELECT data FROM roster ORDER BY community COLLATE "C", household COLLATE "C"`,
					func(h flows.Household) error { return l.LoadHousehold(ctx, h) })
			}},
			{"household counts", func() (int, error) {
				return each(ctx, tx, `SELECT json_build_object('Scope', scope, 'Household', household, 'Period', period, 'Metric', metric, 'N', n)
					FROM household_visits WHERE n <> 0`,
					func(c storage.HouseholdCount) error { return l.LoadHouseholdCount(ctx, c) })
			}},
			{"coverage counts", func() (int, error) {
				return each(ctx, tx, `SELECT json_build_object('Scope', scope, 'Period', period, 'Metric', metric, 'N', sum(n))
					FROM coverage GROUP BY scope, period, metric HAVING sum(n) <> 0`,
					func(c storage.CoverageCount) error { return l.LoadCoverageCount(ctx, c) })
			}},
		}
		for _, s := range steps {
			n, err := s.run()
			if err != nil {
				return fmt.Errorf("%s: %w", s.kind, err)
			}
			progress(s.kind, n)
		}
		return nil
	})
}

// each is eachJSON that counts the rows.
func each[T any](ctx context.Context, q querier, sql string, fn func(T) error) (int, error) {
	n := 0
	err := eachJSON(ctx, q, func(v T) error { n++; return fn(v) }, sql)
	return n, err
}

// Backup writes the whole store to w as a bbolt file that `gridbot serve`
// with driver bbolt (or `gridbot migrate`) can open: a consistent export
// of one snapshot, built in a temporary file first. It returns the number
// of bytes written. (For PostgreSQL's own backups use pg_dump.)
func (db *DB) Backup(w io.Writer) (int64, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "gridbot-backup-")
	if err != nil {
		return 0, storage.Wrap("back up", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "gridbot.db")
	if err := db.ExportBolt(ctx, path, nil); err != nil {
		return 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, storage.Wrap("back up", err)
	}
	defer f.Close()
	n, err := io.Copy(w, f)
	return n, storage.Wrap("back up", err)
}

// ExportBolt writes the whole store, from one snapshot, into a new bbolt
// file at path.
func (db *DB) ExportBolt(ctx context.Context, path string, progress func(kind string, n int)) error {
	out, err := storage.Open(path, storage.Options{})
	if err != nil {
		return err
	}
	l := out.Loader()
	err = db.Dump(ctx, l, progress)
	if err == nil {
		err = l.Flush(ctx)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// Loader writes a dumped store (a bbolt one: `gridbot migrate`) into this
// database with the ids it had, replacing records with the same id or key,
// so a second run adds nothing twice. Records go in batches; call Flush at
// the end, which also moves the id sequences past the loaded ids.
type Loader struct {
	db    *DB
	batch pgx.Batch
}

// Loader returns a Loader into db.
func (db *DB) Loader() *Loader { return &Loader{db: db} }

var _ storage.Loader = (*Loader)(nil)

func (l *Loader) queue(ctx context.Context, sql string, args ...any) error {
	l.batch.Queue(sql, args...)
	if l.batch.Len() >= 2000 {
		return l.send(ctx)
	}
	return ctx.Err()
}

// send runs the queued statements in one transaction.
func (l *Loader) send(ctx context.Context) error {
	if l.batch.Len() == 0 {
		return nil
	}
	b := l.batch
	l.batch = pgx.Batch{}
	return l.db.inTx(ctx, "load store", func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, &b).Close()
	})
}

// Flush writes what is queued and sets the id sequences after the
// greatest loaded ids.
func (l *Loader) Flush(ctx context.Context) error {
	if err := l.send(ctx); err != nil {
		return err
	}
	_, err := l.db.pool.Exec(ctx, `SELECT setval('reports_id_seq', greatest((SELECT max(id) FROM reports), 1), (SELECT max(id) FROM reports) IS NOT NULL);
		SELECT setval('followups_id_seq', greatest((SELECT max(id) FROM followups), 1), (SELECT max(id) FROM followups) IS NOT NULL)`)
	return storage.Wrap("load store", err)
}

// Reset deletes the records a run copies as a whole rather than one by
// one: tallies, household and coverage counters, and kept notices. A source's tally that reached zero, or a
// notice it has shown since, then leaves no trace of an earlier run. Call
// it before the run.
func (l *Loader) Reset(ctx context.Context) error {
	_, err := l.db.pool.Exec(ctx, `DELETE FROM tallies; DELETE FROM household_visits; DELETE FROM coverage; DELETE FROM notices`)
	return storage.Wrap("load store", err)
}

func marshal(v any) ([]byte, error) { return json.Marshal(v) }

// LoadWorker implements storage.Loader.
func (l *Loader) LoadWorker(ctx context.Context, w flows.Worker) error {
	data, err := marshal(w)
	if err != nil {
		return err
	}
	return l.queue(ctx, `INSERT INTO workers (openid, data) VALUES ($1, $2) ON CONFLICT (openid) DO UPDATE SET data = excluded.data`, w.OpenID, data)
}

// LoadInvite implements storage.Loader.
func (l *Loader) LoadInvite(ctx context.Context, inv flows.Invite) error {
	data, err := marshal(inv)
	if err != nil {
		return err
	}
	return l.queue(ctx, `INSERT INTO invites (code, data) VALUES ($1, $2) ON CONFLICT (code) DO UPDATE SET data = excluded.data`, inv.Code, data)
}

// LoadReport implements storage.Loader.
func (l *Loader) LoadReport(ctx context.Context, r flows.Report) error {
	data, err := marshal(r)
	if err != nil {
		return err
	}
	return l.queue(ctx, `INSERT INTO reports (id, msg_key, worker, community, grid, day, created_at, void, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO UPDATE SET msg_key = excluded.msg_key, worker = excluded.worker, community = excluded.community,
			grid = excluded.grid, day = excluded.day, created_at = excluded.created_at, void = excluded.void, data = excluded.data`,
		r.ID, nullable(r.MsgKey), r.Worker, r.Community, r.Grid, r.Day, r.CreatedAt, r.Void, data)
}

// LoadFollowUp implements storage.Loader. An open one first closes any
// other open one with its key that an earlier run copied (the source has
// reopened it since); that one's own record follows in the same run.
func (l *Loader) LoadFollowUp(ctx context.Context, f flows.FollowUp) error {
	data, err := marshal(f)
	if err != nil {
		return err
	}
	if !f.Closed {
		if err := l.queue(ctx, `UPDATE followups SET closed = true WHERE key = $1 AND NOT closed AND id <> $2`, f.Key, f.ID); err != nil {
			return err
		}
	}
	return l.queue(ctx, `INSERT INTO followups (id, key, worker, community, grid, due, closed, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (id) DO UPDATE SET key = excluded.key, worker = excluded.worker, community = excluded.community,
			grid = excluded.grid, due = excluded.due, closed = excluded.closed, data = excluded.data`,
		f.ID, f.Key, f.Worker, f.Community, f.Grid, f.Due, f.Closed, data)
}

// LoadTally implements storage.Loader: the stored value, as it was, in
// shard 0.
func (l *Loader) LoadTally(ctx context.Context, e storage.TallyEntry) error {
	return l.queue(ctx, `INSERT INTO tallies (scope, period, metric, shard, milli) VALUES ($1, $2, $3, 0, $4)
		ON CONFLICT (scope, period, metric, shard) DO UPDATE SET milli = excluded.milli`, e.Scope, e.Period, e.Metric, e.Milli)
}

// LoadDigestClaim implements storage.Loader.
func (l *Loader) LoadDigestClaim(ctx context.Context, worker, day string, at time.Time) error {
	return l.queue(ctx, `INSERT INTO digest_claims (day, worker, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, day, worker, at)
}

// LoadDigestAttempt implements storage.Loader.
func (l *Loader) LoadDigestAttempt(ctx context.Context, a flows.DigestAttempt) error {
	data, err := marshal(a)
	if err != nil {
		return err
	}
	return l.queue(ctx, `INSERT INTO digest_attempts (day, worker, at, channel, errcode, data)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, a.Day, a.Worker, a.At, a.Channel, a.ErrCode, data)
}

// LoadNotice implements storage.Loader.
func (l *Loader) LoadNotice(ctx context.Context, openID, text string, at time.Time) error {
	return l.queue(ctx, `INSERT INTO notices (openid, text, at) VALUES ($1, $2, $3)
		ON CONFLICT (openid) DO UPDATE SET text = excluded.text, at = excluded.at`, openID, text, at)
}

// LoadDigestRun implements storage.Loader.
func (l *Loader) LoadDigestRun(ctx context.Context, day string, at time.Time) error {
	return l.queue(ctx, `INSERT INTO digest_runs (day, at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, day, at)
}

// LoadHousehold implements storage.Loader.
func (l *Loader) LoadHousehold(ctx context.Context, h flows.Household) error {
	data, err := marshal(h)
	if err != nil {
		return err
	}
	return l.queue(ctx, `INSERT INTO roster (community, household, data) VALUES ($1, $2, $3)
		ON CONFLICT (community, household) DO UPDATE SET data = excluded.data`, h.Community, h.Household, data)
}

// LoadHouseholdCount implements storage.Loader: the stored value, as it was.
func (l *Loader) LoadHouseholdCount(ctx context.Context, c storage.HouseholdCount) error {
	return l.queue(ctx, `INSERT INTO household_visits (scope, household, period, metric, n) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (scope, household, period, metric) DO UPDATE SET n = excluded.n`, c.Scope, c.Household, c.Period, c.Metric, c.N)
}

// LoadCoverageCount implements storage.Loader: the stored value, as it
// was, in shard 0.
func (l *Loader) LoadCoverageCount(ctx context.Context, c storage.CoverageCount) error {
	return l.queue(ctx, `INSERT INTO coverage (scope, period, metric, shard, n) VALUES ($1, $2, $3, 0, $4)
		ON CONFLICT (scope, period, metric, shard) DO UPDATE SET n = excluded.n`, c.Scope, c.Period, c.Metric, c.N)
}
