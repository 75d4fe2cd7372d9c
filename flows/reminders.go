package flows

import (
	"context"
	"time"
)

// Digest delivery channels, as recorded in a DigestAttempt.
const (
	ChannelText     = "text"     // customer service message
	ChannelTemplate = "template" // template message, outside the 48-hour window
	ChannelNotice   = "notice"   // undeliverable: kept for the worker's next message
	// ChannelTemplateJob is WeChat's later word on a template message
	// (the TEMPLATESENDJOBFINISH event): ErrCode 0 when delivered.
	ChannelTemplateJob = "template_job"
)

// DigestAttempt is one try at delivering a worker's daily digest, kept in
// storage for audit. It holds no message content.
type DigestAttempt struct {
	Worker  string    `json:"worker"`  // openid
	Day     string    `json:"day"`     // the run's local date
	At      time.Time `json:"at"`      // when it was tried
	Channel string    `json:"channel"` // ChannelText, ChannelTemplate or ChannelNotice
	// ErrCode is WeChat's errcode (0: delivered; -1 busy; 45015 window
	// closed, …), or ErrCodeTransport when no errcode came back.
	ErrCode int    `json:"errcode"`
	Error   string `json:"error,omitempty"` // short system error, never message text
}

// ErrCodeTransport marks an attempt that failed without a WeChat errcode
// (network error, timeout).
const ErrCodeTransport = -100

// ReminderStore is what the reminder runner keeps of its own, next to the
// follow-ups in Store: claims that make a digest at most once per worker per
// day, the attempt log, undelivered notices and the last scheduled run.
type ReminderStore interface {
	// ClaimDigest marks the worker's digest for day as taken, durably,
	// before anything is sent. It is false when it was already claimed.
	ClaimDigest(ctx context.Context, worker, day string, at time.Time) (claimed bool, err error)
	AttemptLog
	// PutNotice keeps text to show the worker at their next message,
	// replacing an earlier one.
	PutNotice(ctx context.Context, openID, text string, at time.Time) error
	// LastDigestRun returns the day of the last scheduled run ("" if none).
	LastDigestRun(ctx context.Context) (string, error)
	// MarkDigestRun records that the scheduled run of day has been done.
	MarkDigestRun(ctx context.Context, day string, at time.Time) error
	NoticeStore
}

// AttemptLog is the log of reminder delivery attempts (not the 台帐 of
// reports): each try at a digest, and WeChat's later word on a template
// message.
type AttemptLog interface {
	// RecordAttempt appends a to the attempt log.
	RecordAttempt(ctx context.Context, a DigestAttempt) error
	// DigestAttempts returns the attempts of a day, in the order made.
	DigestAttempts(ctx context.Context, day string) ([]DigestAttempt, error)
}

// NoticeStore hands the conversation the reminders that could not be
// pushed; the conversation shows them before its next reply.
type NoticeStore interface {
	// TakeNotice returns the worker's kept notice and removes it; "" when
	// there is none.
	TakeNotice(ctx context.Context, openID string) (string, error)
}
