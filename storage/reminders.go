package storage

import (
	"bytes"
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"gridbot/flows"
)

// Reminder buckets (listed in buckets, created at Open).
var (
	// digestClaimsBucket: day + "\x00" + worker → claim record. Written
	// before a digest is sent: at most one digest per worker per day.
	digestClaimsBucket = []byte("digest_claims")
	// digestAttemptsBucket: day + "\x00" + sequence (8 bytes) → attempt record.
	digestAttemptsBucket = []byte("digest_attempts")
	// noticesBucket: openid → notice record, a reminder that could not be pushed.
	noticesBucket = []byte("notices")
	// digestStateBucket: "last_run" → state record of the last scheduled run.
	digestStateBucket = []byte("digest_state")
)

var _ flows.ReminderStore = (*DB)(nil)

type claimRec struct {
	At time.Time `json:"at"`
}

type attemptRec struct {
	Worker  string    `json:"worker"`
	Day     string    `json:"day"`
	At      time.Time `json:"at"`
	Channel string    `json:"channel"`
	ErrCode int       `json:"errcode"`
	Error   string    `json:"error,omitempty"`
}

type noticeRec struct {
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

type runStateRec struct {
	Day string    `json:"day"`
	At  time.Time `json:"at"`
}

var lastRunKey = []byte("last_run")

// ClaimDigest marks the worker's digest for day as taken before it is
// sent; false when it already was (this run, an earlier one, or one that
// crashed after claiming).
func (db *DB) ClaimDigest(ctx context.Context, worker, day string, at time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if worker == "" || !validDay(day) {
		return false, flows.Errorf(flows.EInvalid, "claim digest: worker %q day %q", worker, day)
	}
	key := join([]byte(day), []byte{0}, []byte(worker))
	var claimed bool
	err := db.update(func(tx *bolt.Tx) error {
		claimed = false
		b := tx.Bucket(digestClaimsBucket)
		if b.Get(key) != nil {
			return nil
		}
		claimed = true
		return putRecord(tx, digestClaimsBucket, key, claimRec{At: at})
	})
	return claimed, wrap("claim digest", err)
}

// RecordAttempt appends an attempt to the log.
func (db *DB) RecordAttempt(ctx context.Context, a flows.DigestAttempt) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !validDay(a.Day) {
		return flows.Errorf(flows.EInvalid, "record attempt: day %q", a.Day)
	}
	rec := attemptRec(a)
	err := db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(digestAttemptsBucket)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		return putRecord(tx, digestAttemptsBucket, join([]byte(a.Day), []byte{0}, itob(seq)), rec)
	})
	return wrap("record attempt", err)
}

// DigestAttempts returns the attempts of a day, in the order made.
func (db *DB) DigestAttempts(ctx context.Context, day string) ([]flows.DigestAttempt, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	prefix := join([]byte(day), []byte{0})
	var out []flows.DigestAttempt
	err := db.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(digestAttemptsBucket).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var rec attemptRec
			if err := decode(v, &rec); err != nil {
				return err
			}
			out = append(out, flows.DigestAttempt(rec))
		}
		return nil
	})
	return out, wrap("list attempts", err)
}

// PutNotice keeps text for the worker's next message, replacing an earlier one.
func (db *DB) PutNotice(ctx context.Context, openID, text string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := db.update(func(tx *bolt.Tx) error {
		return putRecord(tx, noticesBucket, []byte(openID), noticeRec{Text: text, At: at})
	})
	return wrap("put notice", err)
}

// TakeNotice returns the worker's notice and removes it; "" when there is
// none. It writes only when there is one, so the common case is a read.
func (db *DB) TakeNotice(ctx context.Context, openID string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	key := []byte(openID)
	var found bool
	err := db.view(func(tx *bolt.Tx) error {
		found = tx.Bucket(noticesBucket).Get(key) != nil
		return nil
	})
	if err != nil || !found {
		return "", wrap("take notice", err)
	}
	var text string
	err = db.update(func(tx *bolt.Tx) error {
		text = ""
		var rec noticeRec
		ok, err := getRecord(tx, noticesBucket, key, &rec)
		if err != nil || !ok {
			return err
		}
		text = rec.Text
		return tx.Bucket(noticesBucket).Delete(key)
	})
	return text, wrap("take notice", err)
}

// LastDigestRun returns the day of the last scheduled run, "" when none.
func (db *DB) LastDigestRun(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var rec runStateRec
	err := db.view(func(tx *bolt.Tx) error {
		_, err := getRecord(tx, digestStateBucket, lastRunKey, &rec)
		return err
	})
	return rec.Day, wrap("read last run", err)
}

// MarkDigestRun records that the scheduled run of day has been done. A
// day earlier than the recorded one is ignored.
func (db *DB) MarkDigestRun(ctx context.Context, day string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !validDay(day) {
		return flows.Errorf(flows.EInvalid, "mark run: day %q", day)
	}
	err := db.update(func(tx *bolt.Tx) error {
		var rec runStateRec
		if _, err := getRecord(tx, digestStateBucket, lastRunKey, &rec); err != nil {
			return err
		}
		if rec.Day >= day {
			return nil
		}
		return putRecord(tx, digestStateBucket, lastRunKey, runStateRec{Day: day, At: at})
	})
	return wrap("mark run", err)
}

// OpenFollowUps opens many follow-ups in one transaction (a roster
// import), each as OpenFollowUp does: any open follow-up with the same Key
// is closed (Reason ReasonReplaced) and the new one gets a fresh ID. It
// returns them in order. Either all are opened or, on an error, none.
func (db *DB) OpenFollowUps(ctx context.Context, fs []flows.FollowUp) ([]flows.FollowUp, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, f := range fs {
		switch {
		case f.Key == "":
			return nil, flows.Errorf(flows.EInvalid, "follow-up without key")
		case f.Worker == "" || f.Community == "" || f.Grid == "":
			return nil, flows.Errorf(flows.EInvalid, "follow-up without worker, community or grid")
		case !validDay(f.Due):
			return nil, flows.Errorf(flows.EInvalid, "follow-up due %q: want YYYY-MM-DD", f.Due)
		}
	}
	now := db.now()
	var opened []flows.FollowUp
	err := db.update(func(tx *bolt.Tx) error {
		opened = make([]flows.FollowUp, 0, len(fs))
		for _, f := range fs {
			if _, err := closeOpenFollowUp(tx, f.Key, 0, now, ReasonReplaced); err != nil {
				return err
			}
			o, err := openFollowUp(tx, f)
			if err != nil {
				return err
			}
			opened = append(opened, o)
		}
		return nil
	})
	if err != nil {
		return nil, wrap("open follow-ups", err)
	}
	return opened, nil
}
