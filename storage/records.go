package storage

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"gridbot/flows"
)

// The structs below are the stored form of the domain types (version
// recordV1). They are private so the domain can change without silently
// changing the file format: a change here needs a new version, or, for an
// addition old records can do without, a new revision of the record (see
// reportRev2).

type workerRec struct {
	OpenID       string    `json:"openid"`
	Name         string    `json:"name,omitempty"`
	Community    string    `json:"community"`
	Grid         string    `json:"grid"`
	Role         string    `json:"role"`
	Unsubscribed bool      `json:"unsub,omitempty"`
	BoundAt      time.Time `json:"bound_at,omitzero"`
}

func toWorkerRec(w flows.Worker) workerRec {
	return workerRec{w.OpenID, w.Name, w.Community, w.Grid, string(w.Role), w.Unsubscribed, w.BoundAt}
}

func (r workerRec) worker() flows.Worker {
	return flows.Worker{OpenID: r.OpenID, Name: r.Name, Community: r.Community, Grid: r.Grid,
		Role: flows.Role(r.Role), Unsubscribed: r.Unsubscribed, BoundAt: r.BoundAt}
}

type inviteRec struct {
	Code      string    `json:"code"`
	Community string    `json:"community"`
	Grid      string    `json:"grid"`
	Role      string    `json:"role"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	UsedBy    string    `json:"used_by,omitempty"`
	UsedAt    time.Time `json:"used_at,omitzero"`
}

func toInviteRec(i flows.Invite) inviteRec {
	return inviteRec{i.Code, i.Community, i.Grid, string(i.Role), i.ExpiresAt, i.UsedBy, i.UsedAt}
}

func (r inviteRec) invite() flows.Invite {
	return flows.Invite{Code: r.Code, Community: r.Community, Grid: r.Grid, Role: flows.Role(r.Role),
		ExpiresAt: r.ExpiresAt, UsedBy: r.UsedBy, UsedAt: r.UsedAt}
}

type locationRec struct {
	Lat   float64 `json:"lat"`
	Lng   float64 `json:"lng"`
	Label string  `json:"label,omitempty"`
}

type reportRec struct {
	ID        uint64             `json:"id"`
	MsgKey    string             `json:"msg_key,omitempty"`
	Worker    string             `json:"worker"`
	Community string             `json:"community"`
	Grid      string             `json:"grid"`
	Flow      string             `json:"flow"`
	Kind      string             `json:"kind,omitempty"`
	Day       string             `json:"day"`
	Target    string             `json:"target,omitempty"`
	Fields    map[string]string  `json:"fields,omitempty"`
	Counts    map[string]float64 `json:"counts,omitempty"`
	Location  *locationRec       `json:"loc,omitempty"`
	Images    []string           `json:"images,omitempty"`
	CreatedAt time.Time          `json:"created_at"`
	Void      bool               `json:"void,omitempty"`
	VoidedAt  time.Time          `json:"voided_at,omitzero"`
	FollowKey string             `json:"follow_key,omitempty"`
	NextDue   string             `json:"next_due,omitempty"`

	// Rev is the revision of the report record within recordV1: 0 (absent)
	// for records written before reportRev2, which do not say which
	// follow-up they closed.
	Rev int `json:"rev,omitempty"`
	// ClosedFollowUp is the id of the follow-up the report closed when it
	// was saved, 0 when it closed none (reportRev2 only; reportRev3 keeps
	// it in Follows). VoidReport reopens it.
	ClosedFollowUp uint64 `json:"closed_followup,omitempty"`

	// From reportRev3 on: several kinds, times, household, and the
	// follow-up effects (instead of FollowKey, NextDue and ClosedFollowUp).
	Kinds     []string    `json:"kinds,omitempty"`
	Times     int         `json:"times,omitempty"`
	Household bool        `json:"hh,omitempty"`
	Follows   []followRec `json:"follows,omitempty"`
}

// followRec is the stored form of a flows.FollowEffect.
type followRec struct {
	Key       string `json:"key"`
	Kind      string `json:"kind,omitempty"`
	NextDue   string `json:"next_due,omitempty"`
	Closed    uint64 `json:"closed,omitempty"`
	Opened    uint64 `json:"opened,omitempty"`
	Foreign   uint64 `json:"foreign,omitempty"`
	Owner     string `json:"owner,omitempty"`
	OwnerGrid string `json:"owner_grid,omitempty"`
	Stale     bool   `json:"stale,omitempty"`
}

// Report record revisions. reportRev2 adds ClosedFollowUp; reportRev3 adds
// Kinds, Times, Household and Follows. Older records decode unchanged:
// one kind, once, not a household for the distinct counts (they were
// saved before households were counted), their one effect in FollowKey.
const (
	reportRev2 = 2
	reportRev3 = 3
)

// toReportRec is the stored form of a new report, at revision reportRev3;
// r.Follows holds its effects as applied.
func toReportRec(r *flows.Report) reportRec {
	rec := reportRec{Rev: reportRev3,
		ID: r.ID, MsgKey: r.MsgKey, Worker: r.Worker, Community: r.Community, Grid: r.Grid,
		Flow: r.Flow, Kind: r.Kind, Day: r.Day, Target: r.Target, Fields: r.Fields, Counts: r.Counts,
		Images: r.Images, CreatedAt: r.CreatedAt, Void: r.Void, VoidedAt: r.VoidedAt,
		Kinds: r.Kinds, Times: r.Times, Household: r.Household,
	}
	for _, f := range r.Follows {
		rec.Follows = append(rec.Follows, followRec(f))
	}
	if r.Location != nil {
		rec.Location = &locationRec{r.Location.Lat, r.Location.Lng, r.Location.Label}
	}
	return rec
}

// effects returns the follow-up effects of the record, in either form.
func (rec *reportRec) effects() []flows.FollowEffect {
	if len(rec.Follows) > 0 {
		out := make([]flows.FollowEffect, len(rec.Follows))
		for i, f := range rec.Follows {
			out[i] = flows.FollowEffect(f)
		}
		return out
	}
	if rec.FollowKey != "" {
		return []flows.FollowEffect{{Key: rec.FollowKey, Kind: rec.Kind, NextDue: rec.NextDue, Closed: rec.ClosedFollowUp}}
	}
	return nil
}

func (rec *reportRec) report() flows.Report {
	r := flows.Report{
		ID: rec.ID, MsgKey: rec.MsgKey, Worker: rec.Worker, Community: rec.Community, Grid: rec.Grid,
		Flow: rec.Flow, Kind: rec.Kind, Day: rec.Day, Target: rec.Target, Fields: rec.Fields,
		Counts: rec.Counts, Images: rec.Images, CreatedAt: rec.CreatedAt, Void: rec.Void,
		VoidedAt: rec.VoidedAt, Kinds: rec.Kinds, Times: rec.Times, Household: rec.Household,
		Follows: rec.effects(),
	}
	mirrorFirstEffect(&r)
	if rec.Location != nil {
		r.Location = &flows.Location{Lat: rec.Location.Lat, Lng: rec.Location.Lng, Label: rec.Location.Label}
	}
	return r
}

// mirrorFirstEffect sets the one-effect fields of r from r.Follows: the
// key and due date of the first effect that acted on its schedule (not
// Foreign, not Stale), and the first follow-up closed.
func mirrorFirstEffect(r *flows.Report) {
	r.FollowKey, r.NextDue, r.ClosedFollowUp = "", "", 0
	for _, f := range r.Follows {
		if f.Foreign == 0 && !f.Stale && r.FollowKey == "" {
			r.FollowKey, r.NextDue = f.Key, f.NextDue
		}
		if f.Closed != 0 && r.ClosedFollowUp == 0 {
			r.ClosedFollowUp = f.Closed
		}
	}
}

type followUpRec struct {
	ID        uint64    `json:"id"`
	Key       string    `json:"key"`
	Community string    `json:"community"`
	Grid      string    `json:"grid"`
	Worker    string    `json:"worker"`
	Flow      string    `json:"flow"`
	Kind      string    `json:"kind,omitempty"`
	Target    string    `json:"target"`
	Due       string    `json:"due"`
	OpenedBy  uint64    `json:"opened_by,omitempty"`
	Closed    bool      `json:"closed,omitempty"`
	ClosedAt  time.Time `json:"closed_at,omitzero"`
	ClosedBy  uint64    `json:"closed_by,omitempty"`
	Reason    string    `json:"reason,omitempty"`
}

func toFollowUpRec(f *flows.FollowUp) followUpRec {
	return followUpRec{f.ID, f.Key, f.Community, f.Grid, f.Worker, f.Flow, f.Kind, f.Target, f.Due,
		f.OpenedBy, f.Closed, f.ClosedAt, f.ClosedBy, f.Reason}
}

func (r *followUpRec) followUp() flows.FollowUp {
	return flows.FollowUp{ID: r.ID, Key: r.Key, Community: r.Community, Grid: r.Grid, Worker: r.Worker,
		Flow: r.Flow, Kind: r.Kind, Target: r.Target, Due: r.Due, OpenedBy: r.OpenedBy, Closed: r.Closed,
		ClosedAt: r.ClosedAt, ClosedBy: r.ClosedBy, Reason: r.Reason}
}

// getRecord decodes the record at key of bucket into v. found is false
// when there is none. Decoding copies everything out of the transaction.
func getRecord(tx *bolt.Tx, bucket, key []byte, v any) (found bool, err error) {
	data := tx.Bucket(bucket).Get(key)
	if data == nil {
		return false, nil
	}
	if err := decode(data, v); err != nil {
		return true, fmt.Errorf("decode %s/%x: %w", bucket, key, err)
	}
	return true, nil
}

// putRecord encodes v and stores it at key of bucket.
func putRecord(tx *bolt.Tx, bucket, key []byte, v any) error {
	data, err := encode(v)
	if err != nil {
		return fmt.Errorf("encode %s/%x: %w", bucket, key, err)
	}
	return tx.Bucket(bucket).Put(key, data)
}
