package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// A damaged file (a disk error, a copy cut short, a crash of the disk
// rather than of the process) must never take the bot down with a stack
// trace, nor be served as if it were sound. bbolt trusts its pages: a
// damaged page makes it panic, and a page beyond the end of a truncated
// file is a memory fault that kills the process. So:
//
//   - Open reads the file's meta pages first, without touching any other
//     page, refuses a file shorter than they say (truncated) and a
//     zero-length file that was not just created, then walks every page
//     (verify) before it serves;
//   - verify and the other reads done here run under guard, which turns
//     panics and memory faults into a corruptError;
//   - Ping (the health check) reports a store found damaged and a write
//     that failed (disk full, I/O error) until a write succeeds again.

// ErrCorrupt matches (errors.Is) the error of Open, Check, Backup and Ping
// when the database file is damaged.
var ErrCorrupt = errors.New("storage: database file is damaged")

// corruptError is a damaged file: its path, what was found, and what to do.
type corruptError struct {
	path     string
	problems []string
}

// maxProblems is how many problems a corruptError lists.
const maxProblems = 5

func (e *corruptError) Error() string {
	shown := e.problems
	more := ""
	if len(shown) > maxProblems {
		more = fmt.Sprintf("; and %d more", len(shown)-maxProblems)
		shown = shown[:maxProblems]
	}
	return fmt.Sprintf("storage: %s is damaged (%s%s). Stop gridbot, move this file aside and "+
		"restore the latest backup to %s (a copy made by `gridbot backup`); "+
		"`gridbot check` lists the damage", e.path, strings.Join(shown, "; "), more, e.path)
}

func (e *corruptError) Is(target error) bool { return target == ErrCorrupt }

func (db *DB) corrupt(problems ...string) *corruptError {
	return &corruptError{path: db.path, problems: problems}
}

// catch runs fn with memory faults turned into panics (the file is
// memory-mapped: a page beyond its end faults) and returns what fn
// returned, or what it panicked with.
func catch(fn func() error) (err error, panicked any) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() { panicked = recover() }()
	return fn(), nil
}

// guard runs fn under catch; a panic, and a corruptError fn returns, mark
// the store damaged for Ping and come back as a corruptError.
func (db *DB) guard(fn func() error) error {
	err, p := catch(fn)
	if p != nil {
		err = db.corrupt(fmt.Sprint(p))
	}
	var ce *corruptError
	if errors.As(err, &ce) {
		db.health.damaged.CompareAndSwap(nil, ce)
	}
	return err
}

// view runs fn in a read transaction under guard: a damaged page read by
// any store method is an error matching ErrCorrupt (and marks the store
// damaged for Ping), not a panic that would take the caller down.
func (db *DB) view(fn func(tx *bolt.Tx) error) error {
	return db.guard(func() error { return db.bolt.View(fn) })
}

// errRollback ends a write transaction used only to read consistently.
var errRollback = errors.New("rollback")

// verify reads every page of the file: it walks every key and value of
// every bucket (bbolt checks each page it reads), then runs bbolt's own
// consistency check (pages both used and free, pages lost). It returns
// nil for a sound file, else a corruptError, and marks the store damaged.
// BenchmarkVerify: about 1 GB/s (a millisecond per megabyte).
func (db *DB) verify(ctx context.Context) error {
	err := db.guard(func() error {
		return db.bolt.View(func(tx *bolt.Tx) error { return walk(ctx, tx) })
	})
	if err != nil {
		return err
	}
	var problems []string
	err = db.guard(func() error {
		// bbolt's check reads the freelist, which writers change: it runs
		// in a write transaction (rolled back), so writers wait for it.
		return db.bolt.Update(func(tx *bolt.Tx) error {
			for err := range tx.Check() { // drain it: it runs in its own goroutine
				problems = append(problems, err.Error())
			}
			return errRollback
		})
	})
	if err != nil && !errors.Is(err, errRollback) {
		return err
	}
	if len(problems) > 0 {
		return db.guard(func() error { return db.corrupt(problems...) })
	}
	return nil
}

// walk reads every key and the last byte of every value of every bucket.
func walk(ctx context.Context, tx *bolt.Tx) error {
	n := 0
	var bucket func(b *bolt.Bucket) error
	bucket = func(b *bolt.Bucket) error {
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if n++; n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if v == nil {
				if nb := b.Bucket(k); nb != nil {
					if err := bucket(nb); err != nil {
						return err
					}
				}
				continue
			}
			if len(v) > 0 {
				_ = v[len(v)-1] // the end of a value spilling over pages
			}
		}
		return nil
	}
	return tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return bucket(b) })
}

// preflight checks the file at path before bbolt maps it: a file that
// exists but is empty is refused (bbolt would take it for a new store and
// the data would be silently gone), and so is a file shorter than its meta
// pages say (truncated: bbolt would fault reading past its end). It opens
// the file read-only through bbolt, which reads only the meta pages.
func preflight(path string, timeout time.Duration) error {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // a new store
	}
	if err != nil {
		return fmt.Errorf("storage: unable to open %s: %w", path, err)
	}
	if st.IsDir() {
		return fmt.Errorf("storage: %s is a directory, not a gridbot store (storage.path names the file)", path)
	}
	if st.Size() == 0 {
		return fmt.Errorf("storage: %s is empty (0 bytes), not a gridbot store: restore the latest backup "+
			"to this path (a copy made by `gridbot backup`), or delete the empty file to start a new, empty store", path)
	}
	ro, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: timeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return &inUseError{path}
		}
		return &corruptError{path: path, problems: []string{"not a bbolt file or both meta pages damaged: " + err.Error()}}
	}
	var need int64
	ro.View(func(tx *bolt.Tx) error { need = tx.Size(); return nil }) // the meta page only
	ro.Close()
	if st.Size() < need {
		return &corruptError{path: path, problems: []string{
			fmt.Sprintf("truncated: %d bytes, its pages need %d", st.Size(), need)}}
	}
	return nil
}

// health is what Ping reports besides a read: a damaged file (sticky) and
// the last failed commit (cleared by the next one that succeeds).
type health struct {
	damaged   atomic.Pointer[corruptError]
	writeFail atomic.Pointer[writeFailure]
	suspect   atomic.Bool // a write panicked: the next Ping reads every page
}

// writeFailure is a commit that failed: when and why.
type writeFailure struct {
	at  time.Time
	err error
}

// commitDone records the outcome of a commit (called by the committer).
func (h *health) commitDone(err error) {
	if err == nil {
		if h.writeFail.Load() != nil {
			h.writeFail.Store(nil)
		}
		return
	}
	h.writeFail.Store(&writeFailure{at: time.Now(), err: err})
}

// healthKey is the key Ping writes to find out whether writes work again
// after one failed.
const healthKey = "gridbot:health-probe"

// ping is Ping's check of the file: damaged, failing writes (retried with
// a probe write), then a read of the first key of every bucket.
func (db *DB) ping(ctx context.Context) error {
	if ce := db.health.damaged.Load(); ce != nil {
		return ce
	}
	if db.health.suspect.Load() {
		if err := db.verify(ctx); err != nil {
			return err
		}
		db.health.suspect.Store(false)
	}
	if wf := db.health.writeFail.Load(); wf != nil {
		// A probe write: it clears the failure if writes work again.
		err := db.update(func(tx *bolt.Tx) error {
			return tx.Bucket(kvBucket).Put([]byte(healthKey), itob(uint64(time.Now().UnixNano())))
		})
		if err != nil {
			return fmt.Errorf("storage: writes to %s fail since %s: %w", db.path, wf.at.Format(time.RFC3339), wf.err)
		}
	}
	return db.guard(func() error {
		return db.bolt.View(func(tx *bolt.Tx) error {
			for _, name := range buckets {
				b := tx.Bucket(name)
				if b == nil {
					return db.corrupt("bucket " + string(name) + " missing")
				}
				b.Cursor().First()
			}
			return ctx.Err()
		})
	})
}
