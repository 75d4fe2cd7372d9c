package storage

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// errClosed is returned by writes after Close.
var errClosed = errors.New("storage: database is closed")

// maxCommitBatch caps how many writers share one transaction.
const maxCommitBatch = 1024

// commitReq is one writer waiting for its function to be committed.
type commitReq struct {
	fn   func(tx *bolt.Tx) error
	done chan error
}

// committer is a group commit: writers enqueue their functions and one
// goroutine runs everything queued so far in a single bbolt Update, so
// concurrent writers share one fsync. A lone writer is committed at once;
// nothing waits on a timer, batches grow only while a commit is in flight.
//
// When one function fails, the shared transaction is rolled back, that
// function is run again alone to get its own result, and the others are
// committed together without it (as bbolt's db.Batch does). Functions must
// therefore be idempotent and must set all their outputs on every run.
type committer struct {
	db     *bolt.DB
	health *health // told the outcome of every commit
	reqs   chan *commitReq
	exited chan struct{}

	mu     sync.RWMutex // guards closed and sends on reqs against close(reqs)
	closed bool

	commits atomic.Uint64 // transactions committed (for benchmarks)
	// onCommit, if set, observes each commit (writes, duration).
	onCommit func(writes int, took time.Duration)
}

func newCommitter(db *bolt.DB, h *health) *committer {
	c := &committer{
		db:     db,
		health: h,
		reqs:   make(chan *commitReq, maxCommitBatch),
		exited: make(chan struct{}),
	}
	go c.loop()
	return c
}

// update queues fn and waits until it is committed (durably) or failed.
func (c *committer) update(fn func(tx *bolt.Tx) error) error {
	req := &commitReq{fn: fn, done: make(chan error, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return errClosed
	}
	c.reqs <- req
	c.mu.RUnlock()
	return <-req.done
}

// close stops accepting writes and waits until the queued ones are done.
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.reqs)
	}
	c.mu.Unlock()
	<-c.exited
}

func (c *committer) isClosed() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.closed
}

// loop takes the first queued request, everything else queued behind it,
// and commits them together, until reqs is closed and drained.
func (c *committer) loop() {
	defer close(c.exited)
	batch := make([]*commitReq, 0, maxCommitBatch)
	for req := range c.reqs {
		batch = append(batch[:0], req)
	more:
		for len(batch) < maxCommitBatch {
			select {
			case r, ok := <-c.reqs:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		c.run(batch)
	}
}

// run commits batch in one transaction and answers every request.
func (c *committer) run(batch []*commitReq) {
	for len(batch) > 0 {
		failed, ferr := -1, error(nil)
		start := time.Now()
		err := c.db.Update(func(tx *bolt.Tx) error {
			fillAppended(tx)
			for i, r := range batch {
				if err := call(r.fn, tx); err != nil {
					failed, ferr = i, err
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			if err == nil {
				c.commits.Add(1)
				if c.onCommit != nil {
					c.onCommit(len(batch), time.Since(start))
				}
			}
			c.health.commitDone(err) // a commit that failed: disk full, I/O error
			// All functions ran; err is the commit's outcome, shared by all.
			for _, r := range batch {
				r.done <- err
			}
			return
		}
		bad := batch[failed]
		var wp *writePanic
		if errors.As(ferr, &wp) {
			c.health.suspect.Store(true) // a damaged page, or a bug: Ping looks
		}
		if len(batch) == 1 {
			bad.done <- ferr
			return
		}
		// Its failure may have depended on the writers before it in the
		// batch: run it alone for its own answer, then retry the others.
		bad.done <- c.db.Update(func(tx *bolt.Tx) error { return call(bad.fn, tx) })
		batch = append(batch[:failed], batch[failed+1:]...)
	}
}

// call runs fn, turning a panic into an error so one writer cannot take
// the others down with it.
func call(fn func(tx *bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &writePanic{p}
		}
	}()
	return fn(tx)
}

// writePanic is the error of a write function that panicked.
type writePanic struct{ v any }

func (p *writePanic) Error() string { return fmt.Sprintf("panic in write: %v", p.v) }

// appendedBuckets are the buckets whose new keys come after the others:
// reports and follow-ups by id, the dedupe marks by MsgId, the day index
// by day and id. bbolt splits a full page in two half-full ones, which for
// keys that only grow leaves every page half empty and spreads a commit's
// new records over twice the pages it needs; these are packed instead.
var appendedBuckets = [][]byte{reportsBucket, followUpsBucket, msgKeysBucket, reportsByDayBucket}

// appendedFill is how full a page of appendedBuckets is left when split.
const appendedFill = 0.95

// fillAppended sets appendedFill on tx's handles of appendedBuckets (the
// handle is kept for the transaction, its setting used when it commits).
func fillAppended(tx *bolt.Tx) {
	for _, name := range appendedBuckets {
		if b := tx.Bucket(name); b != nil {
			b.FillPercent = appendedFill
		}
	}
}
