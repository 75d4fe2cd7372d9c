package chat

import (
	"time"

	"gridbot/flows"
)

// startUndo finds the worker's last report of the past 24 hours and asks
// to confirm voiding it (撤销 / 删除上一条).
func (e *Engine) startUndo(c *turn) (string, error) {
	r, err := e.Store.LastReport(c.ctx, c.w.OpenID, e.now().Add(-24*time.Hour))
	switch flows.ErrorCode(err) {
	case "":
	case flows.ENotFound:
		return "最近 24 小时内没有可以撤销的记录。", nil
	default:
		return "", err
	}
	c.s.reset()
	c.s.Step, c.s.Undo = stepUndo, r.ID
	return "要撤销这条记录吗？\n" + e.describe(r) + "\n回复 1 撤销，0 保留。", nil
}

// undoAnswer handles the answer to the undo confirmation. ok is false when
// t is something else: the undo is dropped and t handled as a new message.
func (e *Engine) undoAnswer(c *turn, t string) (string, bool, error) {
	id := c.s.Undo
	switch t {
	case "1", "确认", "是", "撤销", "对":
	case "0", "保留", "不", "否", "取消", "算了":
		c.s.reset()
		return "好的，记录保留。", true, nil
	default:
		if !e.understood(t) {
			// 2, 好, a stray digit: not an answer, not a new message.
			return msgUndoAsk, true, nil
		}
		c.s.reset()
		return "", false, nil
	}
	return e.voidReport(c, id)
}

// msgUndoAsk asks again for the answer to the undo confirmation.
const msgUndoAsk = "请回复 1 撤销，或 0 保留。"

// voidReport voids the report and answers with the updated tally. A report
// voided already (the confirming message delivered again) gets the same
// answer.
func (e *Engine) voidReport(c *turn, id uint64) (string, bool, error) {
	r, err := e.Store.VoidReport(c.ctx, id, e.now())
	switch flows.ErrorCode(err) {
	case "":
	case flows.EConflict: // voided already: this is the same answer delivered again
		if r, err = e.Store.Report(c.ctx, id); err != nil {
			return "", true, err
		}
	case flows.ENotFound:
		c.s.reset()
		return "找不到这条记录了。", true, nil
	default:
		return "", true, err
	}
	c.s.reset()
	if c.msgKey != "" {
		c.s.Voided, c.s.VoidKey = id, c.msgKey
	}
	reply := "↩️ 已撤销：" + e.describe(r) + "。"
	if f := e.catalog().Flow(r.Flow); f != nil {
		line, err := e.tallyLine(c, f, r)
		if err != nil {
			return "", true, err
		}
		reply += line
	}
	return reply, true, nil
}
