package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"gridbot/flows"
	"gridbot/flows/chat"
)

// Defaults of Reminders.
const (
	DefaultDailyAt           = "08:30"
	DefaultEscalateAfterDays = 14
	DefaultBusyRetries       = 3
	DefaultBusyBackoff       = 500 * time.Millisecond
	DefaultSendTimeout       = 15 * time.Second
)

// DefaultTemplateKeys are the keyword names the digest's three template
// values are sent under when Reminders.TemplateKeys is empty: what is
// due, the oldest item, what to do.
var DefaultTemplateKeys = []string{"keyword1", "keyword2", "keyword3"}

// noticePrefix introduces a digest that could not be pushed, shown before
// the reply to the worker's next message.
const noticePrefix = "📌 有一条提醒没能推送给你：\n"

// Reminders sends each worker with overdue follow-ups one digest a day at
// DailyAt (local to Zone), and puts items overdue for more than
// EscalateAfterDays into the digest of their community's supervisors.
//
// Delivery is a customer-service message first; outside the 48-hour window
// (45015/45047) a template message when TemplateID is set; otherwise, or
// when sending fails for good, the digest is kept as a notice shown at the
// worker's next message. Busy answers (-1) are retried with back-off.
// Workers who unfollowed the account get nothing.
//
// A digest is claimed in Deliveries (worker + day) before it is sent, so a
// worker gets at most one a day, across runs, restarts and crashes, and
// every attempt is logged there. Run is the scheduler; RunOnce runs now.
type Reminders struct {
	Store flows.Store // follow-ups and workers; required
	// Deliveries keeps what the runner needs of its own: claims, the
	// attempt log, notices and the last run; required (the same *storage.DB).
	Deliveries flows.ReminderStore
	Pusher     Pusher // required
	// Catalog names the kinds of work in digests; nil: flows.Shipped().
	Catalog           *flows.Catalog
	Zone              *time.Location // nil: flows.DefaultZone()
	DailyAt           string         // "HH:MM"; "": DefaultDailyAt
	EscalateAfterDays int            // 0: DefaultEscalateAfterDays
	// TemplateID is the template message used outside the 48-hour window
	// (wechat.reminder_template_id); "": no template fallback.
	TemplateID   string
	TemplateKeys []string // keyword names of the template; nil: DefaultTemplateKeys

	BusyRetries int           // retries after a busy answer; 0: DefaultBusyRetries, <0: none
	BusyBackoff time.Duration // first back-off, doubled each retry; 0: DefaultBusyBackoff
	SendTimeout time.Duration // bound on one send; 0: DefaultSendTimeout

	Log     *slog.Logger
	Now     func() time.Time
	Metrics *Metrics // counts runs; nil: none

	mu sync.Mutex // one run at a time
}

// RunResult counts the outcome of one run over the workers with something
// to be told.
type RunResult struct {
	Day      string `json:"day"`
	Sent     int    `json:"sent"`     // delivered as a customer-service message
	Fallback int    `json:"fallback"` // delivered as a template message
	Failed   int    `json:"failed"`   // not delivered: kept for the worker's next message
	Skipped  int    `json:"skipped"`  // had today's digest already, or unfollowed the account
}

// Run runs the digest every day at DailyAt until ctx ends. When started
// after today's DailyAt and today's scheduled run has not been done (the
// bot was down), it runs once at start to make up for it.
func (r *Reminders) Run(ctx context.Context) error {
	if err := r.check(); err != nil {
		return err
	}
	now := r.now()
	if !now.Before(r.slot(now)) {
		last, err := r.Deliveries.LastDigestRun(ctx)
		if err != nil {
			r.log().Error("reminders: read last run", "err", err)
		} else if today := r.day(now); last < today {
			r.log().Info("reminders: making up today's missed run", "day", today, "last_run", last)
			r.scheduled(ctx)
		}
	}
	for {
		now := r.now()
		next := r.slot(now)
		if !now.Before(next) {
			next = r.slot(now.AddDate(0, 0, 1))
		}
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		r.scheduled(ctx)
	}
}

// scheduled runs the digest and records the day's scheduled run as done.
func (r *Reminders) scheduled(ctx context.Context) {
	res, err := r.RunOnce(ctx)
	if err != nil {
		r.log().Error("reminders: run failed", "day", res.Day, "err", err)
		return
	}
	if err := r.Deliveries.MarkDigestRun(ctx, res.Day, r.now()); err != nil {
		r.log().Error("reminders: record run", "day", res.Day, "err", err)
	}
}

// RunOnce sends today's digests now to every worker who has not had one
// today. Delivery failures are counted, not returned; the error is a
// storage failure that stopped the run.
func (r *Reminders) RunOnce(ctx context.Context) (res RunResult, err error) {
	if err := r.check(); err != nil {
		return RunResult{}, err
	}
	defer func() { r.Metrics.reminderRun(err) }()
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	res = RunResult{Day: r.day(now)}
	digests, err := r.Plan(ctx, res.Day)
	if err != nil {
		return res, err
	}
	for _, d := range digests {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if d.Worker.Unsubscribed {
			res.Skipped++
			continue
		}
		claimed, err := r.Deliveries.ClaimDigest(ctx, d.Worker.OpenID, res.Day, r.now())
		if err != nil {
			return res, fmt.Errorf("reminders: claim digest: %w", err)
		}
		if !claimed {
			res.Skipped++
			continue
		}
		switch r.deliver(ctx, d) {
		case flows.ChannelText:
			res.Sent++
		case flows.ChannelTemplate:
			res.Fallback++
		default:
			res.Failed++
		}
	}
	r.log().Info("reminders: digest run", "day", res.Day, "sent", res.Sent, "fallback", res.Fallback,
		"failed", res.Failed, "skipped", res.Skipped)
	return res, nil
}

// Plan builds the digests of day ("2006-01-02") without sending anything:
// one for each worker with overdue follow-ups, and one for each supervisor
// or admin of a community with items overdue for more than
// EscalateAfterDays, in openid order. Its cost follows the number of
// workers and of overdue items, not of all follow-ups.
func (r *Reminders) Plan(ctx context.Context, day string) ([]chat.Digest, error) {
	workers, err := r.Store.Workers(ctx)
	if err != nil {
		return nil, fmt.Errorf("reminders: list workers: %w", err)
	}
	slices.SortFunc(workers, func(a, b flows.Worker) int { return strings.Compare(a.OpenID, b.OpenID) })
	names := make(map[string]string, len(workers))
	for _, w := range workers {
		names[w.OpenID] = w.Name
	}
	esc := r.escalateAfter()
	escalated := map[string][]flows.FollowUp{} // community → items overdue > esc days
	yesterday := flows.AddDays(day, -1)
	var out []chat.Digest
	for _, w := range workers {
		d := chat.Digest{Worker: w, Day: day, EscalateAfterDays: esc}
		d.Overdue, err = r.Store.DueFollowUps(ctx, flows.Scope{Kind: flows.ScopeWorker, ID: w.OpenID}, yesterday, 0)
		if err != nil {
			return nil, fmt.Errorf("reminders: overdue of a worker: %w", err)
		}
		if w.Role == flows.RoleSupervisor || w.Role == flows.RoleAdmin {
			items, ok := escalated[w.Community]
			if !ok {
				items, err = r.Store.DueFollowUps(ctx, flows.Scope{Kind: flows.ScopeCommunity, ID: w.Community}, flows.AddDays(day, -esc-1), 0)
				if err != nil {
					return nil, fmt.Errorf("reminders: overdue of a community: %w", err)
				}
				escalated[w.Community] = items
			}
			for _, f := range items {
				if f.Worker != w.OpenID {
					d.Escalated = append(d.Escalated, f)
				}
			}
			d.Names = names
		}
		if !d.Empty() {
			out = append(out, d)
		}
	}
	return out, nil
}

// deliver sends one claimed digest and returns the channel that carried
// it: ChannelText, ChannelTemplate, or ChannelNotice when it is kept for
// the worker's next message.
func (r *Reminders) deliver(ctx context.Context, d chat.Digest) string {
	label := r.cat().FollowUpLabel
	text := chat.DigestText(d, label)
	err := r.send(ctx, d, flows.ChannelText, func(ctx context.Context) error {
		return r.Pusher.SendText(ctx, d.Worker.OpenID, text)
	})
	if err == nil {
		return flows.ChannelText
	}
	if IsWindowClosed(err) && r.TemplateID != "" {
		data := r.templateData(chat.DigestTemplate(d, label))
		err = r.send(ctx, d, flows.ChannelTemplate, func(ctx context.Context) error {
			return r.Pusher.SendTemplate(ctx, d.Worker.OpenID, r.TemplateID, data, "")
		})
		if err == nil {
			return flows.ChannelTemplate
		}
	}
	// Undeliverable: keep it for the worker's next message.
	at := r.now()
	attempt := flows.DigestAttempt{Worker: d.Worker.OpenID, Day: d.Day, At: at, Channel: flows.ChannelNotice}
	if perr := r.Deliveries.PutNotice(ctx, d.Worker.OpenID, noticePrefix+text, at); perr != nil {
		attempt.ErrCode, attempt.Error = flows.ErrCodeTransport, clipErr(perr)
		r.log().Error("reminders: keep undelivered digest", "openid", d.Worker.OpenID, "err", clipErr(perr))
	}
	r.record(ctx, attempt)
	r.log().Warn("reminders: digest not delivered; kept for the next message", "openid", d.Worker.OpenID, "err", clipErr(err))
	return flows.ChannelNotice
}

// send makes one delivery, retrying busy answers with doubling back-off,
// and logs every attempt in the ledger.
func (r *Reminders) send(ctx context.Context, d chat.Digest, channel string, fn func(context.Context) error) error {
	backoff := r.BusyBackoff
	if backoff <= 0 {
		backoff = DefaultBusyBackoff
	}
	retries := r.BusyRetries
	switch {
	case retries == 0:
		retries = DefaultBusyRetries
	case retries < 0:
		retries = 0
	}
	timeout := r.SendTimeout
	if timeout <= 0 {
		timeout = DefaultSendTimeout
	}
	for attempt := 0; ; attempt++ {
		sctx, cancel := context.WithTimeout(ctx, timeout)
		err := fn(sctx)
		cancel()
		a := flows.DigestAttempt{Worker: d.Worker.OpenID, Day: d.Day, At: r.now(), Channel: channel}
		if err != nil {
			if code, ok := ErrCode(err); ok {
				a.ErrCode = code
			} else {
				a.ErrCode, a.Error = flows.ErrCodeTransport, clipErr(err)
			}
		}
		r.record(ctx, a)
		if err == nil || !IsBusy(err) || attempt >= retries {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff *= 2
	}
}

func (r *Reminders) record(ctx context.Context, a flows.DigestAttempt) {
	if err := r.Deliveries.RecordAttempt(ctx, a); err != nil {
		r.log().Error("reminders: record attempt", "openid", a.Worker, "channel", a.Channel, "err", err)
	}
}

// templateData names the digest's template values with TemplateKeys.
func (r *Reminders) templateData(values []string) map[string]string {
	keys := r.TemplateKeys
	if len(keys) == 0 {
		keys = DefaultTemplateKeys
	}
	data := make(map[string]string, len(values))
	for i, v := range values {
		if i < len(keys) {
			data[keys[i]] = v
		}
	}
	return data
}

// clipErr keeps a system error short for the attempt log and the log,
// with URLs reduced to their path (a query carries the access token).
func clipErr(err error) string {
	return chat.ClipRunes(redact(err.Error()), 200)
}

func (r *Reminders) check() error {
	switch {
	case r.Store == nil:
		return errors.New("reminders: Store is required")
	case r.Deliveries == nil:
		return errors.New("reminders: Deliveries is required")
	case r.Pusher == nil:
		return errors.New("reminders: Pusher is required")
	}
	if _, _, err := r.dailyAt(); err != nil {
		return err
	}
	return nil
}

// dailyAt parses DailyAt.
func (r *Reminders) dailyAt() (hour, minute int, err error) {
	s := r.DailyAt
	if s == "" {
		s = DefaultDailyAt
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, 0, fmt.Errorf("reminders: daily_at %q: want HH:MM", s)
	}
	return t.Hour(), t.Minute(), nil
}

// slot is the day's run time of the local day of t.
func (r *Reminders) slot(t time.Time) time.Time {
	h, m, _ := r.dailyAt()
	t = t.In(r.zone())
	return time.Date(t.Year(), t.Month(), t.Day(), h, m, 0, 0, r.zone())
}

func (r *Reminders) day(t time.Time) string { return t.In(r.zone()).Format(time.DateOnly) }

func (r *Reminders) escalateAfter() int {
	if r.EscalateAfterDays > 0 {
		return r.EscalateAfterDays
	}
	return DefaultEscalateAfterDays
}

func (r *Reminders) zone() *time.Location {
	if r.Zone != nil {
		return r.Zone
	}
	return flows.DefaultZone()
}

func (r *Reminders) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reminders) cat() *flows.Catalog {
	if r.Catalog != nil {
		return r.Catalog
	}
	return flows.Shipped()
}

func (r *Reminders) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}
