package chat

import (
	"context"
	"slices"
	"strings"

	"gridbot/flows"
)

// formMode says what a command does while a form is open.
type formMode int

const (
	// formAnswer: during a form the text is an answer to the step (我叫 … in
	// a note), or one of the form's own controls (取消, 帮助 at a step).
	formAnswer formMode = iota
	// formBusy: refused with "finish or cancel the form first" (撤销).
	formBusy
	// formAsk: answered, then the step is asked again; only for a text that
	// reads as a question (see looksLikeQuestion), so an answer that merely
	// contains a command word stays an answer.
	formAsk
	// formAlways: answered before anything else, form or not (绑定).
	formAlways
)

// command is one chat command: how it is recognised, what it answers, what
// it does during a form, and how 帮助 and the menu mention it.
type command struct {
	name string
	// match is the test of the (normalised) text; run may still decline
	// (ok false), and the text goes on to the next command.
	match func(t string) bool
	run   func(e *Engine, c *turn, t string) (reply string, ok bool, err error)
	form  formMode
	// help is its line in 帮助 ("" for none); staffHelp a line shown to
	// supervisors and admins only.
	help, staffHelp string
	// clicks maps menu click keys to the text the click stands for.
	clicks map[string]string
}

// commands is every chat command, in the order they are tried, and the
// order 帮助 lists them in. It is the one list: the idle path, the
// questions asked during a form, the end of an undo confirmation, 帮助
// and the menu clicks all consult it. A new command is one entry here.
// (It is set in init: help's entry refers to menuText, which reads it.)
var commands []command

func init() {
	commands = []command{
		{
			name: "bind", match: isBind, form: formAlways,
			run: func(e *Engine, c *turn, t string) (string, bool, error) {
				m := bindRe.FindStringSubmatch(t)
				reply, err := e.bind(c.ctx, c.w.OpenID, m[1], m[2])
				return reply, true, err
			},
		},
		{
			name: "name", match: isName,
			run: func(e *Engine, c *turn, t string) (string, bool, error) {
				reply, err := e.setName(c, nameRe.FindStringSubmatch(t)[1])
				return reply, true, err
			},
		},
		{
			name: "help", match: isHelp,
			run: func(e *Engine, c *turn, _ string) (string, bool, error) { return e.menuText(c.w), true, nil },
		},
		{
			name: "cancel", match: isCancel,
			run: func(*Engine, *turn, string) (string, bool, error) { return msgNoForm, true, nil },
		},
		{
			name: "stats", match: statsMatch, run: (*Engine).statsCommand, form: formAsk,
			help:      "本月统计 / 上月统计 / 今年统计 / 本周统计 / 今天统计",
			staffHelp: "社区统计 / 网格排名 / 逾期：全社区的数字和逾期随访",
			clicks:    map[string]string{MenuStatsMonth: "本月统计", MenuStatsLastMonth: "上月统计", MenuStatsYear: "今年统计"},
		},
		{
			name: "todo", match: todoMatch, run: (*Engine).todoCommand, form: formAsk,
			help:   "待办：该随访的住户",
			clicks: map[string]string{MenuTodo: "待办"},
		},
		{
			name: "undo", match: isUndo, form: formBusy,
			run: func(e *Engine, c *turn, _ string) (string, bool, error) {
				reply, err := e.startUndo(c)
				return reply, true, err
			},
			help: "撤销：作废上一条记录（留底备查，不再计入统计）",
		},
		{
			// A question none of the above could read is answered with the
			// questions there are.
			name: "question", form: formAsk,
			match: func(t string) bool { return looksLikeQuestion(t, false) },
			run:   func(*Engine, *turn, string) (string, bool, error) { return msgQuestion, true, nil },
		},
	}
}

// Command is a chat command another package adds to the engine's table
// (Engine.Extra): the texts it answers (the whole message, as normalised,
// without closing punctuation: "台帐", "导出台帐"), its lines in 帮助,
// and its answer for the bound worker who sent it. During a form it is
// answered, like 统计, only when the text reads as a question.
type Command struct {
	Name            string
	Words           []string
	Help, StaffHelp string
	Run             func(ctx context.Context, w flows.Worker) (string, error)
}

// table is the command table: the engine's own commands with Extra
// before the last (the catch-all for questions).
func (e *Engine) table() []command { return e.derived().table }

// buildTable builds the command table with extra.
func buildTable(extra []Command) []command {
	if len(extra) == 0 {
		return commands
	}
	t := make([]command, 0, len(commands)+len(extra))
	t = append(t, commands[:len(commands)-1]...)
	for _, x := range extra {
		t = append(t, command{
			name: x.Name, form: formAsk, help: x.Help, staffHelp: x.StaffHelp,
			match: func(t string) bool { return slices.Contains(x.Words, strings.TrimRight(t, "。.!！?？ ")) },
			run: func(_ *Engine, c *turn, _ string) (string, bool, error) {
				reply, err := x.Run(c.ctx, c.w)
				return reply, true, err
			},
		})
	}
	return append(t, commands[len(commands)-1])
}

// statsMatch is what may be a totals question: question-like text, a
// text with a totals word (几份), or a bare period (去年). statsCommand
// reads it or declines.
func statsMatch(t string) bool {
	return looksLikeQuestion(t, false) || hasStatsWord(t) || statsBare[strings.TrimRight(t, statsTrim)]
}

// runCommand answers t with the first command that takes it, among those
// allowed: all when no form is open, else those of mode. ok is false when
// none does.
func (e *Engine) runCommand(c *turn, t string, idle bool, mode formMode) (string, bool, error) {
	table := e.table()
	for i := range table {
		cmd := &table[i]
		if !idle && cmd.form != mode || !cmd.match(t) {
			continue
		}
		if reply, ok, err := cmd.run(e, c, t); ok || err != nil {
			return reply, true, err
		}
	}
	return "", false, nil
}

// busyCommand reports whether t is a command that must wait for the open
// form to be finished (撤销).
func busyCommand(t string) bool {
	for i := range commands {
		if commands[i].form == formBusy && commands[i].match(t) {
			return true
		}
	}
	return false
}

// understood reports whether t, sent while no form is open, means
// something of its own: a report or a command (other than 取消). Other
// text answering the undo confirmation is asked again.
func (e *Engine) understood(t string) bool {
	if f, _, _ := e.catalog().FlowByWord(t); f != nil {
		return true
	}
	table := e.table()
	for i := range table {
		if table[i].name != "cancel" && table[i].match(t) {
			return true
		}
	}
	return false
}

// clickText is the text a menu click stands for ("" when the key is none
// of the commands').
func clickText(key string) string {
	for i := range commands {
		if t, ok := commands[i].clicks[key]; ok {
			return t
		}
	}
	return ""
}

// menuText is the short list of what w can send (帮助/菜单/?);
// supervisors and admins also get their community's commands.
func (e *Engine) menuText(w flows.Worker) string {
	var names []string
	for _, f := range e.catalog().Flows {
		names = append(names, "\""+f.Short+"\"")
	}
	staff := w.Role == flows.RoleSupervisor || w.Role == flows.RoleAdmin
	s := "可以这样用：\n" +
		"· 发" + strings.Join(names, "、") + "，按提示一步步填\n" +
		"· 一句话记录，如：走访 3-2-201 慢病 150/95\n"
	var extra string
	for _, cmd := range e.table() {
		if cmd.help != "" {
			s += "· " + cmd.help + "\n"
		}
		if staff && cmd.staffHelp != "" {
			extra += "· " + cmd.staffHelp + "\n"
		}
	}
	return s + extra + "填写时可回复：取消、返回、跳过、帮助"
}
