package bot

import (
	"context"
	"time"
)

// LateNotices keeps what could not be pushed for the user's next message
// (flows.ReminderStore's notices).
type LateNotices interface {
	PutNotice(ctx context.Context, openID, text string, at time.Time) error
	TakeNotice(ctx context.Context, openID string) (string, error)
}

// lateNoticePrefix introduces a late answer that could not be pushed.
const lateNoticePrefix = "📌 上次发的消息，回复没能送到：\n"

// push delivers a late answer as a customer-service message, retrying
// with back-off; one that still fails is kept as a notice for the user's
// next message.
func (wh *Webhook) push(ctx context.Context, openID, text string) {
	if wh.cfg.Pusher == nil {
		wh.log.Error("wechat: late answer dropped: no Pusher configured", "openid", openID)
		return
	}
	attempts, backoff := wh.cfg.PushAttempts, wh.cfg.PushBackoff
	if attempts <= 0 {
		attempts = 3
	}
	if backoff <= 0 {
		backoff = time.Second
	}
	var err error
	for i := range attempts {
		if i > 0 {
			time.Sleep(backoff)
			backoff *= 2
		}
		sctx, cancel := context.WithTimeout(ctx, 2*outboundTimeout)
		err = wh.cfg.Pusher.SendText(sctx, openID, text)
		cancel()
		if err == nil {
			wh.log.Debug("wechat: late answer pushed", "openid", openID)
			return
		}
		wh.log.Warn("wechat: late answer push failed", "openid", openID, "attempt", i+1, "err", err)
		if IsWindowClosed(err) {
			break // will not succeed later
		}
	}
	wh.keepNotice(ctx, openID, text, err)
}

// keepNotice keeps an undelivered late answer for the user's next
// message, after a notice already kept for them.
func (wh *Webhook) keepNotice(ctx context.Context, openID, text string, pushErr error) {
	if wh.cfg.Notices == nil {
		wh.log.Error("wechat: late answer not delivered", "openid", openID, "err", pushErr)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*kvTimeout)
	defer cancel()
	notice := lateNoticePrefix + text
	if old, err := wh.cfg.Notices.TakeNotice(ctx, openID); err == nil && old != "" {
		notice = old + "\n\n" + notice
	}
	if err := wh.cfg.Notices.PutNotice(ctx, openID, notice, wh.now()); err != nil {
		wh.log.Error("wechat: late answer not delivered nor kept", "openid", openID, "err", err)
		return
	}
	wh.log.Warn("wechat: late answer not delivered; kept for the next message", "openid", openID, "err", pushErr)
}
