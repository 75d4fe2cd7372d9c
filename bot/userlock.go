package bot

import "context"

// UserLocker makes one user's messages run one at a time across several
// gridbot nodes (the Webhook already orders them within one process).
// storage.RedisLocker implements it.
type UserLocker interface {
	// LockUser waits until it holds the user's lock, or ctx ends. unlock
	// releases it; the lock also lapses by itself after a while, so a node
	// that dies holding it does not stop the user for good.
	LockUser(ctx context.Context, openID string) (unlock func(), err error)
}

// lockUser takes the user's cross-node lock when one is configured. On
// failure (Redis unreachable) it logs and goes on without it: the store's
// unique key on the message still saves a report at most once.
func (wh *Webhook) lockUser(ctx context.Context, openID, key string) func() {
	if wh.cfg.UserLock == nil {
		return func() {}
	}
	unlock, err := wh.cfg.UserLock.LockUser(ctx, openID)
	if err != nil {
		wh.log.Warn("wechat: user lock not taken; handling the message without it", "msg_key", key, "err", err)
		return func() {}
	}
	return unlock
}
