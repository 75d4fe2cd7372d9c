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
//   - hhVisitsBucket counts, per scope, household, period and metric, the
//     reports that are not void. A count going 0→1 adds one to the tally
//     <metric>.households of that scope and period, 1→0 takes it out.
//   - rosterBucket holds the roster households; coverageBucket their
//     counts per roster scope (grid, community, all): the roster stock
//     (period ""), the roster households visited in each period, and per
//     year and chronic tag the follow-up visits and the managed patients.
//     A report's transitions in the community scope update them when its
//     household is on the roster; a roster change re-reads the household's
//     counts in that scope.
var (
	// hhVisitsBucket: scope + "\x00" + household id + "\x00" + period +
	// "\x00" + metric → uint64 count of non-void reports.
	hhVisitsBucket = []byte("hh_visits")
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

// hhKey is scope + "\x00" + household id + "\x00" + period + "\x00" + metric.
func hhKey(scope, hid, period, metric string) []byte {
	k := make([]byte, 0, len(scope)+len(hid)+len(period)+len(metric)+3)
	k = append(k, scope...)
	k = append(k, 0)
	k = append(k, hid...)
	k = append(k, 0)
	k = append(k, period...)
	k = append(k, 0)
	return append(k, metric...)
}

// reportHouseholds calls fn with each household counter key of the report
// (every scope, period and distinct metric) and the tally key of that
// metric's households. It is the one enumeration used when saving,
// voiding and checking.
func reportHouseholds(r *flows.Report, fn func(s flows.Scope, period, metric string, key, tally []byte) error) error {
	hid := r.HouseholdID()
	if hid == "" {
		return nil
	}
	metrics := r.DistinctMetrics()
	for _, s := range flows.Scopes(r.Worker, r.Community, r.Grid) {
		scope := s.String()
		for _, p := range flows.Periods(r.Day) {
			for _, m := range metrics {
				if err := fn(s, p, m, hhKey(scope, hid, p, m), tallyKey(scope, p, m+flows.HouseholdsSuffix)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// addHouseholds counts the report's household visits in (sign 1) or out
// (sign -1), with the households tallies and the roster coverage that
// change with them.
func addHouseholds(tx *bolt.Tx, r *flows.Report, sign int64) error {
	if r.HouseholdID() == "" {
		return nil
	}
	hh, tallies := tx.Bucket(hhVisitsBucket), tx.Bucket(talliesBucket)
	roster, onRoster, err := getRoster(tx, r.Community, r.Target)
	if err != nil {
		return err
	}
	cov := tx.Bucket(coverageBucket)
	return reportHouseholds(r, func(s flows.Scope, period, metric string, key, tally []byte) error {
		old := getCount(hh, key)
		n := old + sign
		err := putCount(hh, key, n)
		if err != nil {
			return err
		}
		switch {
		case old == 0 && n > 0:
			err = addTally(tallies, tally, flows.Milli)
		case old > 0 && n == 0:
			err = addTally(tallies, tally, -flows.Milli)
		}
		if err != nil || !onRoster || s.Kind != flows.ScopeCommunity {
			return err
		}
		return rosterDeltas(&roster, period, metric, old, n, func(key []byte, d int64) error {
			return addTally(cov, key, d)
		})
	})
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

func getCount(b *bolt.Bucket, key []byte) int64 {
	if v := b.Get(key); len(v) == 8 {
		return int64(binary.BigEndian.Uint64(v))
	}
	return 0
}

// putCount stores n at key, deleting the entry at zero.
func putCount(b *bolt.Bucket, key []byte, n int64) error {
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
	prefix := hhKey(flows.Scope{Kind: flows.ScopeCommunity, ID: rec.Community}.String(),
		flows.HouseholdID(rec.Community, rec.Household), "", "")
	prefix = prefix[:len(prefix)-1] // scope \0 hid \0
	c := tx.Bucket(hhVisitsBucket).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		period, metric, ok := strings.Cut(string(k[len(prefix):]), "\x00")
		if !ok || len(v) != 8 {
			continue
		}
		if err := rosterDeltas(rec, period, metric, 0, int64(binary.BigEndian.Uint64(v)), add); err != nil {
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
		n = getCount(tx.Bucket(hhVisitsBucket), hhKey(scope, flows.HouseholdID(community, household), period, metric))
		return nil
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
