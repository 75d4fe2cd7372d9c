package chat

import (
	"fmt"
	"strconv"
	"strings"

	"gridbot/flows"
)

// confirmText is "请确认：3-2-201｜慢病随访｜血压 150/95｜按时服药。回复 1 保存，2 修改，0 取消。"
func (e *Engine) confirmText(c *turn, f *flows.FlowDef) string {
	parts := e.parts(f, c.s.Answers, true)
	parts = append(parts, e.extraParts(f, c.s, c.day())...)
	return "请确认：" + strings.Join(parts, "｜") + "。回复 1 保存，2 修改，0 取消。"
}

// extraParts shows what is not a field: a date other than today, a stated
// next date or deadline, rectified, attachments.
func (e *Engine) extraParts(f *flows.FlowDef, s *session, today string) []string {
	var out []string
	if tp := timesPart(f, s.Times, s.NoHousehold); tp != "" && len(s.Households) == 0 {
		out = append(out, tp)
	}
	if s.Day != "" && s.Day != today {
		out = append(out, "日期 "+flows.DayCN(s.Day))
	}
	if s.NextDue != "" && f.FollowUp == flows.FollowByKind {
		out = append(out, f.DueLabel+" "+s.NextDue)
	}
	if f.FollowUp == flows.FollowRecheck {
		// 已整改 is said once: not again when the note says it.
		if s.Rectified {
			if !rectifiedRe.MatchString(s.Answers[f.NoteKey()]) {
				out = append(out, "已整改")
			}
		} else if s.Deadline > 0 {
			out = append(out, "限期 "+itoa(s.Deadline)+" 天整改")
		}
	}
	if s.Location != nil {
		out = append(out, "已附位置")
	}
	if len(s.Images) > 0 {
		out = append(out, "照片 "+itoa(len(s.Images))+" 张")
	}
	return out
}

// parts formats the applicable non-empty answers in field order: a target
// as is, a kind by name, a counter as "资料 400 份", others with their label.
// withKind false leaves out a kind whose name the flow's name already says
// (宣传 in 宣传活动).
func (e *Engine) parts(f *flows.FlowDef, answers map[string]string, withKind bool) []string {
	var out []string
	for i := range f.Fields {
		fd := &f.Fields[i]
		if yes, decided := applies(fd, answers); !yes && decided {
			continue
		}
		v := answers[fd.Key]
		if v == "" {
			continue
		}
		if shown := fieldTypeOf(fd).show(f, fd, v, withKind); shown != "" {
			out = append(out, shown)
		}
	}
	return out
}

func (e *Engine) confirmInput(c *turn, f *flows.FlowDef, t string) (string, error) {
	s := c.s
	switch {
	case t == "1" || t == "保存" || t == "确认" || t == "是" || t == "好" || t == "对":
		return e.complete(c, false)
	case t == "2" || t == "修改":
		s.Step = stepEdit
		return e.editPrompt(c, f), nil
	case t == "0" || isCancel(t):
		s.reset()
		return "已取消，本次" + f.Short + "记录未保存。", nil
	case isBack(t):
		return e.back(c, f)
	case isHelp(t):
		return "核对上面的内容：没问题回复 1 保存；要改某一项回复 2；不记了回复 0。\n" + e.confirmText(c, f), nil
	case isSkip(t):
		return "已经填完了。\n" + e.confirmText(c, f), nil
	case busyCommand(t):
		return msgBusyForm + "\n" + e.confirmText(c, f), nil
	}
	if reply, ok, err := e.interrupt(c, t, false); ok || err != nil {
		return reply, err
	}
	return "请回复 1 保存，2 修改，0 取消。\n" + e.confirmText(c, f), nil
}

// editPrompt is "修改哪一项？回复序号：1 户号 2 走访类型 3 血压 4 备注".
func (e *Engine) editPrompt(c *turn, f *flows.FlowDef) string {
	var b strings.Builder
	b.WriteString("修改哪一项？回复序号：")
	for i, fd := range e.editable(c, f) {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%d %s", i+1, fd.Name)
	}
	b.WriteString("（回复\"返回\"不改）")
	return b.String()
}

// editable lists the fields that apply now, for the 修改 list: LineOnly
// ones too, so a value from a one-line report can be corrected or added.
func (e *Engine) editable(c *turn, f *flows.FlowDef) []*flows.FieldDef {
	var out []*flows.FieldDef
	for i := range f.Fields {
		if yes, _ := applies(&f.Fields[i], c.s.Answers); yes {
			out = append(out, &f.Fields[i])
		}
	}
	return out
}

func (e *Engine) editInput(c *turn, f *flows.FlowDef, t string) (string, error) {
	s := c.s
	list := e.editable(c, f)
	switch {
	case isBack(t):
		s.Step = stepConfirm
		return e.confirmText(c, f), nil
	case isCancel(t):
		s.reset()
		return "已取消，本次" + f.Short + "记录未保存。", nil
	case isHelp(t):
		return "回复要修改的那一项的序号，如 1。\n" + e.editPrompt(c, f), nil
	}
	n, err := strconv.Atoi(t)
	if err != nil || n < 1 || n > len(list) {
		if reply, ok, err := e.interrupt(c, t, false); ok || err != nil {
			return reply, err
		}
		return fmt.Sprintf("请回复 1–%d 的序号。\n", len(list)) + e.editPrompt(c, f), nil
	}
	fd := list[n-1]
	s.Step = fd.Key
	s.Editing = true
	return e.ask(c, f, fd), nil
}
