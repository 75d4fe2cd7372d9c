package bot

import (
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimitedText is the one reply a user gets when over the rate limit;
// further messages until the limit frees up get no answer.
const RateLimitedText = "你发得太快了，这条没有记录。请等一分钟再发。"

// userLimits is the per-user rate limit of inbound messages: perMinute
// messages a minute, in bursts of up to perMinute. A retry of a message
// seen recently (the same dedupe key) is not counted again.
type userLimits struct {
	perMinute int

	mu      sync.Mutex
	users   map[string]*userLimit
	sweepAt time.Time
}

type userLimit struct {
	lim    *rate.Limiter
	told   bool      // the user got RateLimitedText since their last accepted message
	recent []string  // dedupe keys of the last accepted messages
	last   time.Time // last message
}

// recentKeys is how many accepted message keys are remembered per user:
// more than WeChat's three deliveries of any message in flight.
const recentKeys = 16

func newUserLimits(perMinute int) *userLimits {
	if perMinute <= 0 {
		return nil
	}
	return &userLimits{perMinute: perMinute, users: make(map[string]*userLimit)}
}

// allow reports whether the message key of openID may be handled; when
// not, reply is RateLimitedText the first time and "" afterwards.
func (l *userLimits) allow(openID, key string, now time.Time) (ok bool, reply string) {
	if l == nil {
		return true, ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	u := l.users[openID]
	if u == nil {
		u = &userLimit{lim: rate.NewLimiter(rate.Limit(float64(l.perMinute)/60), l.perMinute)}
		l.users[openID] = u
	}
	u.last = now
	if slices.Contains(u.recent, key) {
		return true, "" // a retry: counted when it first came
	}
	if !u.lim.AllowN(now, 1) {
		if u.told {
			return false, ""
		}
		u.told = true
		return false, RateLimitedText
	}
	u.told = false
	if len(u.recent) == recentKeys {
		u.recent = slices.Delete(u.recent, 0, 1)
	}
	u.recent = append(u.recent, key)
	return true, ""
}

// sweep forgets, once a minute, users quiet for over a minute: their
// bucket is full again (it refills in a minute), as a new user's is, and
// WeChat's retries of a message come within 15 s. l.mu must be held.
func (l *userLimits) sweep(now time.Time) {
	if now.Before(l.sweepAt) {
		return
	}
	l.sweepAt = now.Add(time.Minute)
	for id, u := range l.users {
		if now.Sub(u.last) > time.Minute {
			delete(l.users, id)
		}
	}
}
