// Package storage implements gridbot's flows.Store on bbolt (one file, every
// record with its tallies and indexes written in one transaction) and
// flows.KV on bbolt or Redis, plus a token cache for the WeChat SDK.
//
// It implements the interfaces declared in package flows and must not import
// bot or cmd.
package storage

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"gridbot/flows"
)

// Bucket names. Every bucket in buckets is created right after Open.
var (
	// workersBucket: openid → worker record.
	workersBucket = []byte("workers")
	// invitesBucket: code → invite record.
	invitesBucket = []byte("invites")
	// reportsBucket: id (8-byte big-endian) → report record.
	reportsBucket = []byte("reports")
	// msgKeysBucket: dedupeKey(report MsgKey) → report id (the dedupe
	// mark), in the order of WeChat's MsgIds (msgkeys.go).
	msgKeysBucket = []byte("report_msgids")
	// reportsByWorkerBucket: worker + "\x00" + id → nothing (LastReport).
	reportsByWorkerBucket = []byte("reports_by_worker")
	// reportsByDayBucket: day ("2006-01-02") + id → nothing (Reports).
	reportsByDayBucket = []byte("reports_by_day")
	// talliesBucket: scope + "\x00" + period → counter set (countset.go):
	// metric → int64 thousandths.
	talliesBucket = []byte("tally_sets")
	// followUpsBucket: id → follow-up record.
	followUpsBucket = []byte("followups")
	// followUpsOpenBucket: follow-up Key → id of the open follow-up with that key.
	followUpsOpenBucket = []byte("followups_open")
	// followUpsDueBucket: scope + "\x00" + due + id → nothing, one entry per
	// scope of each open follow-up.
	followUpsDueBucket = []byte("followups_due")
	// kvBucket: key → 8-byte expiry (unix nanoseconds, 0: none) + value.
	kvBucket = []byte("kv")
)

// buckets lists every bucket Open creates.
var buckets = [][]byte{
	workersBucket,
	invitesBucket,
	reportsBucket,
	msgKeysBucket,
	reportsByWorkerBucket,
	reportsByDayBucket,
	talliesBucket,
	followUpsBucket,
	followUpsOpenBucket,
	followUpsDueBucket,
	kvBucket,
	digestClaimsBucket, digestAttemptsBucket, noticesBucket, digestStateBucket, // storage/reminders.go
	hhVisitsBucket, rosterBucket, coverageBucket, // storage/households.go
}

// ErrInUse matches (errors.Is) Open's error when another process holds the
// file: maintenance commands then go through the running bot instead.
var ErrInUse = errors.New("storage: database is in use by another gridbot process")

// inUseError is Open's error when the file is locked; it names the file.
type inUseError struct{ path string }

func (e *inUseError) Error() string {
	return "storage: " + e.path + " is in use by another gridbot process"
}

func (e *inUseError) Is(target error) bool { return target == ErrInUse }

// DefaultTimeout is how long Open waits for the file lock when
// Options.Timeout is zero.
const DefaultTimeout = time.Second

// Options tune Open.
type Options struct {
	// Timeout is how long to wait for the lock on the file, which another
	// gridbot process may hold. Zero means DefaultTimeout.
	Timeout time.Duration
	// OnCommit, if set, is called after each commit with the number of
	// writes it carried and how long it took (for metrics).
	OnCommit func(writes int, took time.Duration)
	// OnReportSaved, if set, is called with the flow of each report
	// newly saved (not for a duplicate), for metrics.
	OnReportSaved func(flow string)
}

// DB is gridbot's bbolt store. It implements flows.Store; KV returns a
// flows.KV kept in the same file. Writes from concurrent callers share
// commits (and fsyncs); every method returns once its write is durable.
type DB struct {
	path   string
	bolt   *bolt.DB
	commit *committer
	now    func() time.Time // clock for KV expiry
	health health           // damage found and failed writes, for Ping
	// onReportSaved is Options.OnReportSaved.
	onReportSaved func(flow string)
}

var _ flows.Store = (*DB)(nil)

// Open opens (or creates) the database file at path and creates every
// bucket. It fails within opts.Timeout when another process has it open
// (ErrInUse). A damaged file (truncated, or a page that does not read
// back) is an error matching ErrCorrupt that names the file and says what
// to do, never a panic: Open reads every page before it returns
// (BenchmarkOpen: 0.2 to 0.3 s for a 96 MB store of 100k reports). An
// existing empty file is refused, not taken for a new store.
func Open(path string, opts Options) (*DB, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if err := preflight(path, opts.Timeout); err != nil {
		return nil, err
	}
	var bdb *bolt.DB
	err, p := catch(func() (err error) {
		bdb, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout})
		return err
	})
	if p != nil {
		return nil, &corruptError{path: path, problems: []string{fmt.Sprint(p)}}
	}
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, &inUseError{path}
	}
	if err != nil {
		return nil, fmt.Errorf("storage: unable to open %s: %w", path, err)
	}
	db := &DB{path: path, bolt: bdb, now: time.Now}
	err = db.guard(func() error {
		return bdb.Update(func(tx *bolt.Tx) error {
			for _, name := range buckets {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return fmt.Errorf("bucket %s: %w", name, err)
				}
			}
			return nil
		})
	})
	if err == nil {
		err = db.verify(context.Background())
	}
	if err == nil {
		err = db.guard(func() error { return upgradeCounters(bdb) })
	}
	if err == nil {
		err = db.guard(func() error { return upgradeMsgKeys(bdb) })
	}
	if err != nil {
		bdb.Close()
		if errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		return nil, fmt.Errorf("storage: unable to create buckets in %s: %w", path, err)
	}
	db.commit = newCommitter(bdb, &db.health)
	db.commit.onCommit = opts.OnCommit
	db.onReportSaved = opts.OnReportSaved
	return db, nil
}

// Close waits for queued writes, then closes the file.
func (db *DB) Close() error {
	db.commit.close()
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("storage: unable to close %s: %w", db.path, err)
	}
	return nil
}

// Path returns the file the database lives in.
func (db *DB) Path() string { return db.path }

// Ping checks that the database is open, readable and writable, for
// health checks. It fails (ErrCorrupt) once the file was found damaged,
// and while writes fail (disk full, I/O errors): after a failed commit it
// writes a small probe record, so it recovers as soon as writes do.
func (db *DB) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if db.commit.isClosed() {
		return errClosed
	}
	return wrap("ping", db.ping(ctx))
}

// Backup writes a consistent copy of the whole database to w. The copy is
// a bbolt file Open can read. It returns the number of bytes written.
//
// It first copies the file, in one read transaction, to a temporary file
// beside it (or in os.TempDir when that directory is not writable), then
// streams that file to w: a read transaction keeps bbolt from growing the
// file, so one held while a slow client reads would stall every write.
//
// A store found damaged (by Open, Check or Ping) is not backed up: its copy
// would be damaged too, and could overwrite a good backup.
func (db *DB) Backup(w io.Writer) (int64, error) {
	if ce := db.health.damaged.Load(); ce != nil {
		return 0, ce
	}
	f, err := os.CreateTemp(filepath.Dir(db.path), "."+filepath.Base(db.path)+".backup-*")
	if err != nil {
		f, err = os.CreateTemp("", "gridbot-backup-*")
	}
	if err != nil {
		return 0, fmt.Errorf("storage: unable to back up %s: %w", db.path, err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	err = db.guard(func() error {
		return db.bolt.View(func(tx *bolt.Tx) error {
			_, err := tx.WriteTo(f)
			return err
		})
	})
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		return 0, fmt.Errorf("storage: unable to back up %s: %w", db.path, err)
	}
	n, err := io.Copy(w, f)
	if err != nil {
		return n, fmt.Errorf("storage: unable to back up %s: %w", db.path, err)
	}
	return n, nil
}

// update runs fn in a write transaction shared with other concurrent
// writers (see committer). fn must be idempotent: it may be run again after
// another writer's failure rolled the shared transaction back.
func (db *DB) update(fn func(tx *bolt.Tx) error) error {
	return db.commit.update(fn)
}

// wrap returns domain errors (*flows.Error) as they are and wraps any other
// as "storage: unable to <op>: ...".
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var fe *flows.Error
	if errors.As(err, &fe) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("storage: unable to %s: %w", op, err)
}

// itob encodes an id as an 8-byte big-endian key, so cursor order is id order.
func itob(id uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, id)
	return b
}

// btoi decodes an 8-byte big-endian key.
func btoi(b []byte) uint64 {
	return binary.BigEndian.Uint64(b)
}

// join concatenates parts into a new slice (safe to hand to Put).
func join(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

// recordV1 is the version byte in front of every JSON record.
const recordV1 = 1

// encode marshals a storage record behind its version byte.
func encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+len(b))
	out[0] = recordV1
	copy(out[1:], b)
	return out, nil
}

// decode unmarshals a record written by encode.
func decode(data []byte, v any) error {
	if len(data) == 0 {
		return errors.New("empty record")
	}
	if data[0] != recordV1 {
		return fmt.Errorf("unknown record version %d", data[0])
	}
	return json.Unmarshal(data[1:], v)
}

// validDay reports whether s is a "2006-01-02" date.
func validDay(s string) bool {
	if len(s) != 10 {
		return false
	}
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// checkScope rejects scopes that name nothing.
func checkScope(s flows.Scope) error {
	switch s.Kind {
	case flows.ScopeAll:
		return nil
	case flows.ScopeWorker, flows.ScopeGrid, flows.ScopeCommunity:
		if s.ID != "" {
			return nil
		}
	}
	return flows.Errorf(flows.EInvalid, "scope %q names nothing", s.String())
}
