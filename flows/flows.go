// Package flows is gridbot's domain: workers, reports, tallies, follow-ups,
// the catalog of report flows, and the contracts storage implements. The
// chat conversation that produces reports is package flows/chat.
//
// It does no I/O of its own and knows nothing of WeChat, bbolt or Redis: it
// talks to storage through the small interfaces declared here (Store, KV),
// which package storage implements, and it is driven by package bot, which
// turns WeChat requests into Inbound values and Replies back into XML.
//
// flows must not import bot, storage, cmd or flows/chat.
package flows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Role is what a bound user may do.
type Role string

// Roles. A supervisor sees the figures of their community; an admin too,
// and may create invites through the admin API.
const (
	RoleWorker     Role = "worker"
	RoleSupervisor Role = "supervisor"
	RoleAdmin      Role = "admin"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	return r == RoleWorker || r == RoleSupervisor || r == RoleAdmin
}

// Worker is a WeChat user bound to a community and grid.
type Worker struct {
	OpenID       string    `json:"openid"`
	Name         string    `json:"name"`
	Community    string    `json:"community"`
	Grid         string    `json:"grid"`
	Role         Role      `json:"role"`
	Unsubscribed bool      `json:"unsubscribed,omitempty"` // unfollowed the account: no pushes
	BoundAt      time.Time `json:"bound_at"`
}

// Invite is a one-time code an admin hands to a new worker ("绑定 <code>").
type Invite struct {
	Code      string    `json:"code"`
	Community string    `json:"community"`
	Grid      string    `json:"grid"`
	Role      Role      `json:"role"`
	ExpiresAt time.Time `json:"expires_at"`
	UsedBy    string    `json:"used_by,omitempty"`
	UsedAt    time.Time `json:"used_at,omitzero"`
}

// Location is a place a worker shared (a WeChat location message).
type Location struct {
	Lat   float64 `json:"lat"`
	Lng   float64 `json:"lng"`
	Label string  `json:"label,omitempty"`
}

// Report is one saved piece of work: a household visit, an inspection, a
// campaign. Day is the local date the work was done ("2006-01-02" in the
// configured zone); every tally period derives from it.
type Report struct {
	ID        uint64             `json:"id"`
	MsgKey    string             `json:"msg_key"` // dedupe key of the message that completed it
	Worker    string             `json:"worker"`  // openid
	Community string             `json:"community"`
	Grid      string             `json:"grid"`
	Flow      string             `json:"flow"`             // "visit", "inspection", "campaign", or a configured one
	Kind      string             `json:"kind,omitempty"`   // "chronic", ...
	Day       string             `json:"day"`              // "2006-01-02"
	Target    string             `json:"target,omitempty"` // household "3-2-201" or place "菜市场"
	Fields    map[string]string  `json:"fields,omitempty"` // other answers: "bp": "150/95", "note": "按时服药"
	Counts    map[string]float64 `json:"counts,omitempty"` // counters: "leaflets": 400
	Location  *Location          `json:"location,omitempty"`
	Images    []string           `json:"images,omitempty"` // picture URLs or media ids
	CreatedAt time.Time          `json:"created_at"`
	Void      bool               `json:"void,omitempty"`
	VoidedAt  time.Time          `json:"voided_at,omitzero"`

	// Kinds lists every kind of a report of several kinds at once
	// ("走访 7-2-306 慢病 老人"), Kind first; empty when it has one kind or
	// none (Kind alone). Use AllKinds to read either form.
	Kinds []string `json:"kinds,omitempty"`
	// Times is how many sessions or visits the report stands for: a
	// campaign "讲座2场" is 2, "走访3户 不登记户号" is 3 visits with no
	// household. 0 means 1. A household report (Household) is one visit.
	Times int `json:"times,omitempty"`
	// Household says Target is a household (户): the report then counts
	// in the distinct-household tallies (visit.households,
	// visit.<kind>.households) and in the roster coverage. Place targets
	// (inspections) leave it false.
	Household bool `json:"household,omitempty"`

	// Follows is the follow-up effect, decided by the conversation and
	// applied by storage in the same transaction as the report: for each
	// entry, the open follow-up with its Key is closed by this report and,
	// when NextDue is set, a new one of Kind is opened, due that day. See
	// FollowEffect for the cases where storage leaves a schedule alone.
	Follows []FollowEffect `json:"follows,omitempty"`
	// FollowKey and NextDue are the one-effect form of Follows, kept for
	// callers that schedule a single kind: when Follows is empty and
	// FollowKey is set, storage reads them as Follows{{Key: FollowKey,
	// Kind: Kind, NextDue: NextDue}}. On a saved report they mirror
	// Follows[0].
	FollowKey string `json:"follow_key,omitempty"`
	NextDue   string `json:"next_due,omitempty"`
	// ClosedFollowUp is the id of the first open follow-up this report
	// closed, 0 when it closed none. Set by storage on the saved report (and
	// on reports read back); ignored on input. Follows[i].Closed has all.
	ClosedFollowUp uint64 `json:"closed_followup,omitempty"`
}

// FollowEffect is one schedule a report acts on: the follow-up of Key
// (FollowKey of the household, flow and kind) is closed, and the next one,
// of Kind and due NextDue, opened when NextDue is set.
//
// Storage leaves a schedule as it is, and says why on the saved report,
// in two cases: the open follow-up belongs to another grid of the same
// community and was not handed to the reporting worker (Foreign, Owner,
// OwnerGrid: the chat says "该户属于3网格（张三），随访未变更"; a supervisor
// can move it to the worker with MoveFollowUp), or it was
// set by a report done after this one's Day (Stale: a back-dated report
// neither closes nor moves a newer schedule).
type FollowEffect struct {
	Key     string `json:"key"`
	Kind    string `json:"kind,omitempty"`
	NextDue string `json:"next_due,omitempty"` // "2006-01-02"; "" closes only

	// Set by storage on the saved report; ignored on input.
	Closed    uint64 `json:"closed,omitempty"`  // id of the follow-up it closed
	Opened    uint64 `json:"opened,omitempty"`  // id of the follow-up it opened
	Foreign   uint64 `json:"foreign,omitempty"` // id of another grid's open follow-up, left as it was
	Owner     string `json:"owner,omitempty"`   // that follow-up's worker (openid)
	OwnerGrid string `json:"owner_grid,omitempty"`
	Stale     bool   `json:"stale,omitempty"`
}

// AllKinds returns the report's kinds: Kinds, or Kind alone, or none.
func (r *Report) AllKinds() []string {
	if len(r.Kinds) > 0 {
		return r.Kinds
	}
	if r.Kind != "" {
		return []string{r.Kind}
	}
	return nil
}

// TimesOr1 is Times, with 0 read as 1.
func (r *Report) TimesOr1() int {
	if r.Times <= 0 {
		return 1
	}
	return r.Times
}

// Effects returns the report's follow-up effect: Follows, or the
// one-effect form FollowKey/NextDue, or none.
func (r *Report) Effects() []FollowEffect {
	if len(r.Follows) > 0 {
		return r.Follows
	}
	if r.FollowKey != "" {
		return []FollowEffect{{Key: r.FollowKey, Kind: r.Kind, NextDue: r.NextDue, Closed: r.ClosedFollowUp}}
	}
	return nil
}

// Milli is the fixed-point scale of stored tallies: counters may carry
// decimals (garbage_tons 2.5) and sums must be exact, so 2.5 is kept as 2500.
const Milli = 1000

// Metrics returns what the report adds to the tallies, in thousandths:
// Times (default 1) for the flow and for flow.kind of each of its kinds,
// and each counter's value. It is the one definition used both when saving
// and when `gridbot check` recomputes. The distinct households
// (<metric>.households) are not in it: they depend on the other reports
// (see DistinctMetrics).
func (r *Report) Metrics() map[string]int64 {
	kinds := r.AllKinds()
	m := make(map[string]int64, 1+len(kinds)+len(r.Counts))
	n := int64(r.TimesOr1()) * Milli
	m[r.Flow] += n
	for _, k := range kinds {
		m[r.Flow+"."+k] += n
	}
	for k, v := range r.Counts {
		if v != 0 {
			m[k] += ToMilli(v)
		}
	}
	return m
}

// ToMilli converts a counter value to thousandths, rounding half away from zero.
func ToMilli(v float64) int64 {
	if v < 0 {
		return -int64(-v*Milli + 0.5)
	}
	return int64(v*Milli + 0.5)
}

// Counts maps metric keys ("visit", "visit.chronic", "leaflets") to totals.
type Counts map[string]float64

// FollowUp is a scheduled next visit to a household, or a re-check of a
// place, owned by a worker.
type FollowUp struct {
	ID        uint64    `json:"id"`
	Key       string    `json:"key"` // FollowKey of the reports that open and close it
	Community string    `json:"community"`
	Grid      string    `json:"grid"`
	Worker    string    `json:"worker"`
	Flow      string    `json:"flow"`
	Kind      string    `json:"kind,omitempty"`
	Target    string    `json:"target"`
	Due       string    `json:"due"` // "2006-01-02"
	OpenedBy  uint64    `json:"opened_by,omitempty"`
	Closed    bool      `json:"closed,omitempty"`
	ClosedAt  time.Time `json:"closed_at,omitzero"`
	ClosedBy  uint64    `json:"closed_by,omitempty"` // report id, 0 when closed by hand
	Reason    string    `json:"reason,omitempty"`    // 迁出/死亡/拒绝 when closed by hand
}

// FollowKey is the identity of a schedule: the same household (or place) in
// the same community, for the same flow and kind.
func FollowKey(community, flow, kind, target string) string {
	return community + "|" + flow + "." + kind + "|" + target
}

// ScopeKind says whose figures a Scope names.
type ScopeKind string

// Scope kinds.
const (
	ScopeWorker    ScopeKind = "worker"
	ScopeGrid      ScopeKind = "grid"
	ScopeCommunity ScopeKind = "community"
	ScopeAll       ScopeKind = "all"
)

// Scope names a set of reports: one worker's, a grid's, a community's, or all.
// For a grid, ID is "community/grid".
type Scope struct {
	Kind ScopeKind
	ID   string
}

// ParseScope reads "worker:<openid>", "grid:<community>/<grid>",
// "community:<community>" or "all".
func ParseScope(s string) (Scope, error) {
	if s == "all" {
		return Scope{Kind: ScopeAll}, nil
	}
	kind, id, ok := strings.Cut(s, ":")
	if !ok || id == "" {
		return Scope{}, Errorf(EInvalid, "scope %q: want worker:<openid>, grid:<community>/<grid>, community:<community> or all", s)
	}
	switch ScopeKind(kind) {
	case ScopeWorker, ScopeCommunity:
	case ScopeGrid:
		c, g, ok := strings.Cut(id, "/")
		if !ok || c == "" || g == "" {
			return Scope{}, Errorf(EInvalid, "scope %q: a grid is grid:<community>/<grid>", s)
		}
	default:
		return Scope{}, Errorf(EInvalid, "scope %q: unknown kind %q", s, kind)
	}
	return Scope{Kind: ScopeKind(kind), ID: id}, nil
}

// String is the inverse of ParseScope.
func (s Scope) String() string {
	if s.Kind == ScopeAll {
		return "all"
	}
	return string(s.Kind) + ":" + s.ID
}

// Scopes returns the four scopes a report of this worker counts in.
func Scopes(worker, community, grid string) []Scope {
	return []Scope{
		{ScopeWorker, worker},
		{ScopeGrid, community + "/" + grid},
		{ScopeCommunity, community},
		{Kind: ScopeAll},
	}
}

// Contains reports whether a report falls in the scope.
func (s Scope) Contains(r *Report) bool {
	switch s.Kind {
	case ScopeWorker:
		return r.Worker == s.ID
	case ScopeGrid:
		return r.Community+"/"+r.Grid == s.ID
	case ScopeCommunity:
		return r.Community == s.ID
	case ScopeAll:
		return true
	}
	return false
}

// Periods returns the day, month and year a "2006-01-02" day counts in.
func Periods(day string) []string {
	return []string{day, day[:7], day[:4]}
}

// ParsePeriod checks a period: "YYYY", "YYYY-MM" or "YYYY-MM-DD".
func ParsePeriod(p string) (string, error) {
	layouts := map[int]string{4: "2006", 7: "2006-01", 10: "2006-01-02"}
	layout, ok := layouts[len(p)]
	if ok {
		if _, err := time.Parse(layout, p); err == nil {
			return p, nil
		}
	}
	return "", Errorf(EInvalid, "period %q: want YYYY, YYYY-MM or YYYY-MM-DD", p)
}

// Inbound is one message or event from a user, as the conversation sees it.
type Inbound struct {
	MsgKey   string    // dedupe key: MsgId, or user+CreateTime+Event for events
	OpenID   string    // sender
	Type     string    // text, voice, location, image, event, or anything else WeChat sends
	Text     string    // text content, or the voice's Recognition
	Event    string    // for Type "event": subscribe, unsubscribe, CLICK, LOCATION, ...
	EventKey string    // menu key for CLICK
	Status   string    // TEMPLATESENDJOBFINISH: "success", "failed:user block", "failed: system failed"
	At       time.Time // CreateTime
	Location *Location // location messages and LOCATION events
	PicURL   string    // image messages
	MediaID  string    // image and voice messages
}

// Reply is what the user sees back. An empty Text means no reply.
type Reply struct {
	Text string
}

// Store is what the conversation needs of storage. One method is one
// transaction. Errors carry a Code (see Error): ENotFound when a record
// does not exist, and so on.
type Store interface {
	Worker(ctx context.Context, openID string) (Worker, error)
	PutWorker(ctx context.Context, w Worker) error
	Workers(ctx context.Context) ([]Worker, error)

	CreateInvite(ctx context.Context, inv Invite) error
	// RedeemInvite binds openID with the invite's community, grid and role
	// and marks the code used, in one transaction. ENotFound for an unknown
	// code, EExpired for an expired one, EConflict for a used one.
	RedeemInvite(ctx context.Context, code, openID, name string, now time.Time) (Worker, error)

	// SaveReport assigns r.ID and writes the report, its tallies, indexes,
	// follow-up effect and dedupe mark (r.MsgKey) in one transaction.
	// If a report with the same MsgKey exists, nothing is written and that
	// report is returned with dup true.
	SaveReport(ctx context.Context, r Report) (saved Report, dup bool, err error)
	Report(ctx context.Context, id uint64) (Report, error)
	// LastReport is the worker's newest report that is not void, created at
	// or after since. ENotFound when there is none.
	LastReport(ctx context.Context, worker string, since time.Time) (Report, error)
	// VoidReport marks a report void and takes its metrics out of the
	// tallies; the follow-up it opened is closed (reason 撤销) and the one it
	// closed is reopened, unless the schedule has moved on since.
	VoidReport(ctx context.Context, id uint64, at time.Time) (Report, error)
	// AttachToReport adds to a saved report what a worker sent after it: it
	// sets Location when loc is not nil and appends image when it is not ""
	// and not there already (so a message delivered again adds nothing),
	// and returns the report as stored. ENotFound for an unknown id,
	// EConflict for a void report.
	AttachToReport(ctx context.Context, id uint64, loc *Location, image string) (Report, error)
	// Tally returns the totals of a scope for a period ("2026", "2026-11",
	// "2026-11-05"), without voided reports. Metrics with no data are absent.
	Tally(ctx context.Context, scope Scope, period string) (Counts, error)
	// Reports calls fn for each report of the scope whose Day falls in the
	// period, in day order, skipping void ones unless includeVoid.
	Reports(ctx context.Context, scope Scope, period string, includeVoid bool, fn func(Report) error) error

	// DueFollowUps returns the open follow-ups of a scope due on or before
	// until ("2006-01-02"), oldest first, at most limit (0: no limit). Its
	// cost follows the number of items returned, not all follow-ups.
	DueFollowUps(ctx context.Context, scope Scope, until string, limit int) ([]FollowUp, error)
	// FollowUps returns a scope's follow-ups: open ones, or closed ones when closed is true.
	FollowUps(ctx context.Context, scope Scope, closed bool) ([]FollowUp, error)
	FollowUp(ctx context.Context, id uint64) (FollowUp, error)
	// OpenFollowUp opens a follow-up by hand (a roster import), closing any
	// open one with the same Key. It assigns f.ID.
	OpenFollowUp(ctx context.Context, f FollowUp) (FollowUp, error)
	// MoveFollowUp hands an open follow-up to another worker.
	MoveFollowUp(ctx context.Context, id uint64, worker string) (FollowUp, error)
	// CloseFollowUp closes an open follow-up by hand with a reason.
	CloseFollowUp(ctx context.Context, id uint64, reason string, at time.Time) (FollowUp, error)

	// HouseholdVisits returns how many reports that are not void count
	// the household (a Report with Household set, in community) in metric
	// ("visit", "visit.chronic") within period ("2026-12-04", "2026-12",
	// "2026"): "今天已记过 3-2-201 的慢病随访" is HouseholdVisits(c,
	// "3-2-201", "visit.chronic", today) > 0. One indexed read.
	HouseholdVisits(ctx context.Context, community, household, metric, period string) (int, error)
	// PutHouseholds adds roster households, or replaces those already on
	// the roster (same community and household: grid and tags are
	// updated), with the coverage counts they touch, in one transaction.
	// It returns how many were new.
	PutHouseholds(ctx context.Context, hs []Household) (added int, err error)
	// Coverage returns the roster figures of a grid, community or all
	// (EInvalid for a worker) for a period: 入户率 of the period and
	// 规范管理 of its year. Its cost does not follow the number of reports.
	Coverage(ctx context.Context, scope Scope, period string) (Coverage, error)
}

// KV is a small expiring key-value store: conversation sessions and the
// access token live in it (Redis, or bbolt when no Redis is configured).
type KV interface {
	// Get returns ENotFound when the key is absent or expired.
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores val; ttl 0 means no expiry.
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	Delete(ctx context.Context, key string) error
}

// Error codes.
const (
	EInvalid      = "invalid"
	ENotFound     = "not_found"
	EConflict     = "conflict"
	EExpired      = "expired"
	EUnauthorized = "unauthorized"
	EInternal     = "internal"
	// EUnavailable: a dependency (the session store) is down; the message
	// was not handled and nothing was saved.
	EUnavailable = "unavailable"
)

// Error is gridbot's one error type: a code the edges map to HTTP statuses
// and replies, and a message for logs and API clients (never for chat users).
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err's *Error, EInternal for any other error
// and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}
