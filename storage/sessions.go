package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"gridbot/flows"
)

// Sessions guards the conversation sessions kept in Redis (any flows.KV)
// so that chat keeps working without it and says what happened to a form:
//
//   - When the store fails, it is taken as down for RetryAfter: calls fail
//     at once instead of each waiting for a timeout, then the next call
//     tries again (recovery is automatic). Down reports that state
//     (/healthz says degraded).
//   - While it is down, Get answers ENotFound for a user with no open form
//     here, so messages that need no session (one-line reports, totals,
//     待办) go on; for a user with an open form, and for every Set and
//     Delete, it fails with flows.EUnavailable (the bot then answers that
//     only one-line reports work right now).
//   - A session with an open form that the store no longer has while it
//     should (a restart without persistence) reads as flows.EExpired once,
//     which the conversation announces like a form that timed out.
//
// With Own (one node: the bbolt driver), it also remembers which sessions
// may be in the store at all, and answers ENotFound for the others without
// asking it: a user with no session costs no Redis round trip.
//
// It remembers in memory which users have an open form and until when.
// A missing session counts as lost only when the store lost its data: an
// epoch value it keeps under EpochKey is gone or changed (so a session
// ended by another node sharing the store is not taken as lost). It reads
// the "flow" and "step" keys of the conversation's session JSON.
type Sessions struct {
	KV         flows.KV
	RetryAfter time.Duration // 0: 2 s
	Now        func() time.Time
	// EpochKey names the store's epoch value; "": "gridbot:sessions:epoch".
	EpochKey string

	mu        sync.Mutex
	open      map[string]time.Time // key → expiry of a stored open form
	owned     string               // Own's prefix; "": not owned
	known     map[string]time.Time // owned: key → expiry of a session that may be stored
	downUntil time.Time
	sweepAt   time.Time
	epoch     []byte // the store's epoch value as last seen; nil: not read yet
}

func (s *Sessions) epochKey() string {
	if s.EpochKey != "" {
		return s.EpochKey
	}
	return "gridbot:sessions:epoch"
}

// readEpoch returns the store's epoch value, creating it when absent
// (a new store, or one that lost its data).
func (s *Sessions) readEpoch(ctx context.Context) ([]byte, error) {
	v, err := s.KV.Get(ctx, s.epochKey())
	if err == nil {
		return v, nil
	}
	if flows.ErrorCode(err) != flows.ENotFound {
		return nil, err
	}
	v = []byte(strconv.FormatInt(s.now().UnixNano(), 36))
	return v, s.KV.Set(ctx, s.epochKey(), v, 0)
}

// lost reports whether the store lost its data since the epoch was seen.
func (s *Sessions) lost(ctx context.Context) bool {
	cur, err := s.readEpoch(ctx)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	was := s.epoch
	s.epoch = cur
	return was != nil && !bytes.Equal(was, cur)
}

// NewSessions guards kv.
func NewSessions(kv flows.KV) *Sessions {
	return &Sessions{KV: kv, open: make(map[string]time.Time)}
}

func (s *Sessions) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Down reports whether the store failed within the last RetryAfter.
func (s *Sessions) Down() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now().Before(s.downUntil)
}

// Check is a health check: an error while the store is down.
func (s *Sessions) Check(ctx context.Context) error {
	if s.Down() {
		return flows.Errorf(flows.EUnavailable, "session store down")
	}
	return nil
}

func (s *Sessions) retryAfter() time.Duration {
	if s.RetryAfter > 0 {
		return s.RetryAfter
	}
	return 2 * time.Second
}

// failed records a store failure and returns the error to give.
func (s *Sessions) failed(err error) error {
	s.mu.Lock()
	s.downUntil = s.now().Add(s.retryAfter())
	s.mu.Unlock()
	return flows.Errorf(flows.EUnavailable, "session store: %v", err)
}

// skip reports whether the store is down, so calls fail fast.
func (s *Sessions) skip() bool { return s.Down() }

// hasOpen reports whether key holds an open form that has not expired.
func (s *Sessions) hasOpen(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.open[key]
	return ok && s.now().Before(exp)
}

// KeyLister is a flows.KV that can list its keys: what Own needs.
type KeyLister interface {
	// Keys returns the keys with prefix that are present and not expired.
	Keys(ctx context.Context, prefix string) ([]string, error)
}

// knownMargin is how long past its TTL a session is still taken as maybe
// stored (clocks of this process and of the store differ a little).
const knownMargin = time.Minute

// Own declares this process the only writer of the sessions under prefix
// (one node: the bbolt driver, whose file only one process opens). It
// lists the sessions the store holds now; from then on Get answers
// ENotFound for a key under prefix that was neither listed nor Set since,
// without reading the store. It fails when the KV cannot list its keys
// (it is not a KeyLister) or the listing fails; Sessions then go on
// reading the store for every Get.
func (s *Sessions) Own(ctx context.Context, prefix string) error {
	if prefix == "" {
		return errors.New("sessions: Own needs a key prefix")
	}
	kl, ok := s.KV.(KeyLister)
	if !ok {
		return fmt.Errorf("sessions: %T cannot list its keys", s.KV)
	}
	keys, err := kl.Keys(ctx, prefix)
	if err != nil {
		return err
	}
	forever := s.now().Add(100 * 365 * 24 * time.Hour)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.owned, s.known = prefix, make(map[string]time.Time, len(keys))
	for _, k := range keys {
		s.known[k] = forever // its TTL is not known: read it while it lasts
	}
	return nil
}

// unknown reports whether key is owned and certainly not in the store.
func (s *Sessions) unknown(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owned == "" || !strings.HasPrefix(key, s.owned) {
		return false
	}
	exp, ok := s.known[key]
	return !ok || !s.now().Before(exp)
}

// mayBeStored notes that key may be in the store until ttl from now
// (0: without expiry).
func (s *Sessions) mayBeStored(key string, ttl time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owned == "" || !strings.HasPrefix(key, s.owned) {
		return
	}
	exp := s.now().Add(100 * 365 * 24 * time.Hour)
	if ttl > 0 {
		exp = s.now().Add(ttl + knownMargin)
	}
	s.known[key] = exp
}

// Get reads a session; see Sessions for how failures read.
func (s *Sessions) Get(ctx context.Context, key string) ([]byte, error) {
	if s.unknown(key) {
		return nil, errNoKey
	}
	if s.skip() {
		if s.hasOpen(key) {
			return nil, flows.Errorf(flows.EUnavailable, "session store down")
		}
		return nil, flows.Errorf(flows.ENotFound, "key %s (session store down)", key)
	}
	val, err := s.KV.Get(ctx, key)
	switch flows.ErrorCode(err) {
	case "":
		return val, nil
	case flows.ENotFound:
		s.mu.Lock()
		delete(s.known, key) // expired there, or the store lost it
		s.mu.Unlock()
		if s.hasOpen(key) {
			s.forget(key)
			if s.lost(ctx) {
				return nil, flows.Errorf(flows.EExpired, "session %s lost by the store", key)
			}
		}
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, err // our deadline, not the store's failure
	}
	err = s.failed(err)
	if s.hasOpen(key) {
		return nil, err
	}
	return nil, flows.Errorf(flows.ENotFound, "key %s (session store down)", key)
}

// Set stores a session and remembers whether it holds an open form.
func (s *Sessions) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if s.skip() {
		return flows.Errorf(flows.EUnavailable, "session store down")
	}
	s.mayBeStored(key, ttl) // before the write: a failed one may have landed
	if err := s.KV.Set(ctx, key, val, ttl); err != nil {
		if flows.ErrorCode(err) == flows.EInvalid || ctx.Err() != nil {
			return err
		}
		return s.failed(err)
	}
	var form struct {
		Flow string `json:"flow"`
		Step string `json:"step"`
	}
	_ = json.Unmarshal(val, &form)
	if open := form.Flow != "" || form.Step != ""; open {
		s.mu.Lock()
		seen := s.epoch != nil
		s.mu.Unlock()
		if !seen {
			s.lost(ctx) // note the epoch a later loss is told by
		}
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if form.Flow != "" || form.Step != "" {
		exp := now.Add(ttl)
		if ttl == 0 {
			exp = now.Add(100 * 365 * 24 * time.Hour)
		}
		s.open[key] = exp
	} else {
		delete(s.open, key)
	}
	if now.After(s.sweepAt) {
		s.sweepAt = now.Add(time.Minute)
		for k, exp := range s.open {
			if !now.Before(exp) {
				delete(s.open, k)
			}
		}
		for k, exp := range s.known {
			if !now.Before(exp) {
				delete(s.known, k)
			}
		}
	}
	return nil
}

// Delete removes a session.
func (s *Sessions) Delete(ctx context.Context, key string) error {
	if s.skip() {
		return flows.Errorf(flows.EUnavailable, "session store down")
	}
	if err := s.KV.Delete(ctx, key); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return s.failed(err)
	}
	s.deleted(key)
	return nil
}

func (s *Sessions) forget(key string) {
	s.mu.Lock()
	delete(s.open, key)
	s.mu.Unlock()
}

// deleted notes that key is no longer in the store.
func (s *Sessions) deleted(key string) {
	s.mu.Lock()
	delete(s.open, key)
	delete(s.known, key)
	s.mu.Unlock()
}
