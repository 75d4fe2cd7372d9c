package flows

import (
	"context"
	"time"
)

// todoCommand answers 待办 (the sender's due follow-ups) and 逾期 (a
// supervisor's community overdue list). ok is false when text is not one.
func (e *Engine) todoCommand(ctx context.Context, w Worker, text string, now time.Time) (reply string, ok bool, err error) {
	return "", false, nil
}

// pendingNotice returns, once, a note about reminders that could not be
// delivered, to put before the reply to the worker's next message.
func (e *Engine) pendingNotice(ctx context.Context, w Worker) (string, error) {
	return "", nil
}
