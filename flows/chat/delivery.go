package chat

import (
	"context"
	"strings"

	"gridbot/flows"
)

// ErrCodeTemplateFailed marks a template message WeChat reported as not
// delivered (TEMPLATESENDJOBFINISH with a Status other than "success").
const ErrCodeTemplateFailed = -200

// recordTemplateJob keeps WeChat's delivery report of a template message
// (a reminder sent outside the 48-hour window) in the reminders' attempt
// log (Engine.Attempts). It is never answered.
func (e *Engine) recordTemplateJob(ctx context.Context, in flows.Inbound) error {
	if e.Attempts == nil {
		return nil
	}
	a := flows.DigestAttempt{
		Worker:  in.OpenID,
		Day:     in.At.In(e.zone()).Format("2006-01-02"),
		At:      in.At,
		Channel: flows.ChannelTemplateJob,
	}
	if status := strings.TrimSpace(in.Status); status != "success" {
		a.ErrCode, a.Error = ErrCodeTemplateFailed, status
	}
	if err := e.Attempts.RecordAttempt(ctx, a); err != nil {
		// Logged, not returned: the event is never answered, and an error
		// would turn into an apology the user never asked for.
		e.log().Error("conversation: record template delivery", "openid", in.OpenID, "err", err)
	}
	return nil
}
