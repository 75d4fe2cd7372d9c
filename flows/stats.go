package flows

import (
	"context"
	"time"
)

// statsCommand answers questions about totals (统计, 本月统计, 上月统计,
// 今年统计, 社区统计, 网格排名, ...). ok is false when text is not one.
func (e *Engine) statsCommand(ctx context.Context, w Worker, text string, now time.Time) (reply string, ok bool, err error) {
	return "", false, nil
}
