package storage

import (
	"context"
	"slices"

	bolt "go.etcd.io/bbolt"

	"gridbot/flows"
)

// AttachToReport adds, in one transaction, what a worker sent after saving
// a report: it sets the location when loc is not nil and appends image
// when it is not "" and not there already, so a message WeChat delivers
// again adds nothing. It returns the report as stored. Tallies, indexes
// and follow-ups are untouched. ENotFound for an unknown id, EConflict for
// a void report.
func (db *DB) AttachToReport(ctx context.Context, id uint64, loc *flows.Location, image string) (flows.Report, error) {
	if err := ctx.Err(); err != nil {
		return flows.Report{}, err
	}
	var r flows.Report
	err := db.update(func(tx *bolt.Tx) error {
		var err error
		r, err = attachToReport(tx, id, loc, image)
		return err
	})
	if err != nil {
		return flows.Report{}, wrap("attach to report", err)
	}
	return r, nil
}

// attachToReport is AttachToReport's transaction body. It rewrites the
// record only when something changed, keeping its revision and the
// follow-up it closed.
func attachToReport(tx *bolt.Tx, id uint64, loc *flows.Location, image string) (flows.Report, error) {
	rec, err := getReportRec(tx, id)
	if err != nil {
		return flows.Report{}, err
	}
	if rec.Void {
		return flows.Report{}, flows.Errorf(flows.EConflict, "report %d is void", id)
	}
	changed := false
	if loc != nil {
		l := &locationRec{loc.Lat, loc.Lng, loc.Label}
		if rec.Location == nil || *rec.Location != *l {
			rec.Location, changed = l, true
		}
	}
	if image != "" && !slices.Contains(rec.Images, image) {
		rec.Images, changed = append(rec.Images, image), true
	}
	if changed {
		if err := putRecord(tx, reportsBucket, itob(id), &rec); err != nil {
			return flows.Report{}, err
		}
	}
	return rec.report(), nil
}
