package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"

	bolt "go.etcd.io/bbolt"

	"gridbot/flows"
)

// Distinct households and roster coverage are kept as counters maintained
// at write time, so that reading them costs the same with a thousand or a
// million reports:
//
//   - hhVisitsBucket counts, per household, scope, period and metric, the
//     reports that are not void, in one counter set per household, scope
//     and period (see countset.go): the 12 sets a report updates (4 scopes
//     × 3 periods) are neighbours, on one or two pages. A count going 0→1 adds one to the
//     tally <metric>.households of that scope and period, 1→0 takes it out.
//   - rosterBucket holds the roster households; coverageBucket their
//     counts per roster scope (grid, community, all): the roster stock
//     (period ""), the roster households visited in each period, and per
//     year and chronic tag the follow-up visits and the managed patients.
//     A report's transitions in the community scope update them when its
//     household is on the roster; a roster change re-reads the household's
//     counts in that scope.
var (
	// hhVisitsBucket: household id + "\x00" + scope + "\x00" + period →
	// counter set: metric → count of non-void reports.
	hhVisitsBucket = []byte("hh_sets")
	// rosterBucket: community + "\x00" + household → roster record.
	rosterBucket = []byte("roster")
	// coverageBucket: scope + "\x00" + period + "\x00" + metric → int64.
	coverageBucket = []byte("coverage")
)

// Coverage metrics in coverageBucket.
const (
	covHouseholds = "households" // roster households (period "")
	covTag        = "tag."       // + tag: roster households with the tag (period "")
	covVisited    = "visited"    // roster households with a visit in the period
	covManaged    = "managed."   // + tag: patients with ≥ ManagedVisits chronic visits (year)
	covFollowUps  = "followups." // + tag: chronic visits to the tag's patients (year)
)

// hhSetKey is household id + "\x00" + scope + "\x00" + period: a
// household's sets are neighbours.
func hhSetKey(scope, hid, period string) []byte { return setKey(hid, scope, period) }

// hhFlatKey is the flat key of one household counter in Check and its
// messages: scope + "\x00" + household id + "\x00" + period + "\x00" +
// metric, given the set key and the metric; nil for a malformed set key.
func hhFlatKey(set []byte, metric string) []byte {
	parts := bytes.SplitN(set, []byte{0}, 3)
	if len(parts) != 3 {
		return nil
	}
	return setKey(string(parts[1]), string(parts[0]), string(parts[2]), metric)
}

// householdCounter counts one report's household visit in (sign 1) or out
// (sign -1) of the household sets of each scope and period.
type householdCounter struct {
	sign     int64
	distinct []countDelta // the report's distinct metrics, sorted, d = sign
	suffixed []string     // the same + flows.HouseholdsSuffix
	hh, cov  *bolt.Bucket
	roster   rosterRec
	onRoster bool
}

func newHouseholdCounter(tx *bolt.Tx, r *flows.Report, sign int64) (*householdCounter, error) {
	c := &householdCounter{sign: sign, hh: tx.Bucket(hhVisitsBucket), cov: tx.Bucket(coverageBucket)}
	if r.HouseholdID() == "" {
		return c, nil
	}
	for _, m := range r.DistinctMetrics() {
		c.distinct = append(c.distinct, countDelta{m, sign})
	}
	c.distinct = sortDeltas(c.distinct)
	for _, d := range c.distinct {
		c.suffixed = append(c.suffixed, d.name+flows.HouseholdsSuffix)
	}
	var err error
	c.roster, c.onRoster, err = getRoster(tx, r.Community, r.Target)
	return c, err
}

// count counts the visit in the household set at key (scope s, period)
// and appends to tally the households tallies that change: +1 for each
// metric whose count goes 0→1, -1 for 1→0. For a roster household in its
// community scope it updates the coverage counters too.
func (c *householdCounter) count(s flows.Scope, period string, key []byte, tally []countDelta) ([]countDelta, error) {
	set := c.hh.Get(key)
	for i, d := range c.distinct {
		old, err := countIn(set, d.name)
		if err != nil {
			return nil, err
		}
		n := old + c.sign
		switch {
		case old == 0 && n > 0:
			tally = append(tally, countDelta{c.suffixed[i], flows.Milli})
		case old > 0 && n == 0:
			tally = append(tally, countDelta{c.suffixed[i], -flows.Milli})
		}
		if !c.onRoster || s.Kind != flows.ScopeCommunity {
			continue
		}
		err = rosterDeltas(&c.roster, period, d.name, old, n, func(key []byte, d int64) error {
			return addTally(c.cov, key, d)
		})
		if err != nil {
			return nil, err
		}
	}
	return tally, putCounts(c.hh, key, set, c.distinct)
}

// rosterDeltas calls fn with each coverage counter that changes when the
// community-scope count of the roster household rec in period and metric
// goes from old to n.
func rosterDeltas(rec *rosterRec, period, metric string, old, n int64, fn func(key []byte, d int64) error) error {
	var deltas []struct {
		metric string
		d      int64
	}
	add := func(m string, d int64) {
		if d != 0 {
			deltas = append(deltas, struct {
				metric string
				d      int64
			}{m, d})
		}
	}
	switch {
	case metric == flows.VisitFlow:
		add(covVisited, b2i(n > 0)-b2i(old > 0))
	case metric == flows.VisitFlow+"."+flows.ChronicKind && len(period) == 4:
		for _, t := range flows.CanonicalTags(rec.Tags) {
			if !isManagedTag(t) {
				continue
			}
			add(covFollowUps+t, n-old)
			add(covManaged+t, b2i(n >= flows.ManagedVisits)-b2i(old >= flows.ManagedVisits))
		}
	}
	for _, d := range deltas {
		for _, s := range rosterScopes(rec) {
			if err := fn(tallyKey(s, period, d.metric), d.d); err != nil {
				return err
			}
		}
	}
	return nil
}

// rosterStock calls fn with the roster counters a household adds to:
// households, and each of its tags.
func rosterStock(rec *rosterRec, sign int64, fn func(key []byte, d int64) error) error {
	metrics := []string{covHouseholds}
	for _, t := range flows.CanonicalTags(rec.Tags) {
		metrics = append(metrics, covTag+t)
	}
	for _, s := range rosterScopes(rec) {
		for _, m := range metrics {
			if err := fn(tallyKey(s, "", m), sign); err != nil {
				return err
			}
		}
	}
	return nil
}

func isManagedTag(t string) bool {
	for _, m := range flows.ManagedTags {
		if m == t {
			return true
		}
	}
	return false
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// rosterScopes are the scopes a roster household counts in: its grid (the
// roster's, not the visiting worker's), its community, all.
func rosterScopes(rec *rosterRec) []string {
	return []string{
		flows.Scope{Kind: flows.ScopeGrid, ID: rec.Community + "/" + rec.Grid}.String(),
		flows.Scope{Kind: flows.ScopeCommunity, ID: rec.Community}.String(),
		flows.Scope{Kind: flows.ScopeAll}.String(),
	}
}

// addTally adds delta to the flat 8-byte counter at key of b (the
// coverage counters), deleting it when it reaches zero.
func addTally(b *bolt.Bucket, key []byte, delta int64) error {
	var n int64
	if v := b.Get(key); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	n += delta
	if n == 0 {
		return b.Delete(key)
	}
	return b.Put(key, binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(n)))
}

// rosterRec is the stored form of a flows.Household.
type rosterRec struct {
	Community string   `json:"community"`
	Grid      string   `json:"grid"`
	Household string   `json:"household"`
	Tags      []string `json:"tags,omitempty"`
}

func rosterKey(community, household string) []byte {
	return join([]byte(community), []byte{0}, []byte(household))
}

// getRoster returns the roster record of a household; ok is false when it
// is not on the roster.
func getRoster(tx *bolt.Tx, community, household string) (rec rosterRec, ok bool, err error) {
	ok, err = getRecord(tx, rosterBucket, rosterKey(community, household), &rec)
	return rec, ok, err
}

// rosterContribution adds (sign 1) or takes out (sign -1) everything the
// roster household rec counts in coverage: its stock, and the deltas of
// its current visit counts in its community scope, read from hhVisits.
func rosterContribution(tx *bolt.Tx, rec *rosterRec, sign int64) error {
	cov := tx.Bucket(coverageBucket)
	add := func(key []byte, d int64) error { return addTally(cov, key, sign*d) }
	if err := rosterStock(rec, 1, add); err != nil {
		return err
	}
	prefix := hhSetKey(flows.Scope{Kind: flows.ScopeCommunity, ID: rec.Community}.String(),
		flows.HouseholdID(rec.Community, rec.Household), "") // hid \0 scope \0
	c := tx.Bucket(hhVisitsBucket).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		period := string(k[len(prefix):])
		err := forEachCount(v, func(metric []byte, n int64) error {
			return rosterDeltas(rec, period, string(metric), 0, n, add)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// PutHouseholds adds roster households, or replaces those already on the
// roster (same community and household), with every coverage count they
// touch, in one transaction. It returns how many were new.
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
	err = db.update(func(tx *bolt.Tx) error {
		added = 0
		for _, h := range hs {
			old, ok, err := getRoster(tx, h.Community, h.Household)
			if err != nil {
				return err
			}
			if ok {
				if err := rosterContribution(tx, &old, -1); err != nil {
					return err
				}
			} else {
				added++
			}
			rec := rosterRec{Community: h.Community, Grid: h.Grid, Household: h.Household, Tags: h.Tags}
			if err := putRecord(tx, rosterBucket, rosterKey(h.Community, h.Household), &rec); err != nil {
				return err
			}
			if err := rosterContribution(tx, &rec, 1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, wrap("put households", err)
	}
	return added, nil
}

// HouseholdVisits returns how many non-void reports count the household
// in metric within period: one read of its counter.
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
	err := db.view(func(tx *bolt.Tx) error {
		scope := flows.Scope{Kind: flows.ScopeCommunity, ID: community}.String()
		var err error
		n, err = countIn(tx.Bucket(hhVisitsBucket).Get(hhSetKey(scope, flows.HouseholdID(community, household), period)), metric)
		return err
	})
	return int(n), wrap("read household visits", err)
}

// Coverage returns the roster figures of a grid, community or all for a
// period (入户率) and its year (规范管理), read from the maintained counts:
// two short prefix scans whatever the number of reports.
func (db *DB) Coverage(ctx context.Context, scope flows.Scope, period string) (flows.Coverage, error) {
	if err := ctx.Err(); err != nil {
		return flows.Coverage{}, err
	}
	if err := checkScope(scope); err != nil {
		return flows.Coverage{}, err
	}
	if scope.Kind == flows.ScopeWorker {
		return flows.Coverage{}, flows.Errorf(flows.EInvalid, "coverage of %s: the roster counts grids, communities or all", scope)
	}
	if _, err := flows.ParsePeriod(period); err != nil {
		return flows.Coverage{}, err
	}
	counts := map[string]int64{}
	year := period[:4]
	err := db.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(coverageBucket).Cursor()
		read := func(p string, want func(m string) bool) {
			prefix := tallyKey(scope.String(), p, "")
			for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
				if m := string(k[len(prefix):]); len(v) == 8 && want(m) {
					counts[p+"|"+m] = int64(binary.BigEndian.Uint64(v))
				}
			}
		}
		read("", func(string) bool { return true })
		read(period, func(m string) bool { return m == covVisited })
		read(year, func(m string) bool {
			return strings.HasPrefix(m, covManaged) || strings.HasPrefix(m, covFollowUps)
		})
		return nil
	})
	if err != nil {
		return flows.Coverage{}, wrap("read coverage", err)
	}
	cv := flows.Coverage{Scope: scope.String(), Period: period, Year: year, Tags: map[string]int{},
		Households: int(counts["|"+covHouseholds]), Visited: int(counts[period+"|"+covVisited])}
	cv.VisitRate = rate(cv.Visited, cv.Households)
	for k, v := range counts {
		if t, ok := strings.CutPrefix(k, "|"+covTag); ok {
			cv.Tags[t] = int(v)
		}
	}
	for _, t := range flows.ManagedTags {
		m := flows.Managed{Tag: t, Patients: cv.Tags[t], Managed: int(counts[year+"|"+covManaged+t]),
			FollowUps: int(counts[year+"|"+covFollowUps+t])}
		m.Rate = rate(m.Managed, m.Patients)
		cv.Managed = append(cv.Managed, m)
	}
	return cv, nil
}

// rate is n ÷ of rounded to four decimals (0.9123 = 91.23%), 0 when of is 0.
func rate(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(int64(float64(n)*10000/float64(of)+0.5)) / 10000
}
