package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gridbot/flows"

	"gridbot/flows/zh"
)

// TodoAheadDays is how far ahead 待办 looks for items coming due.
const TodoAheadDays = 7

// todoListMax caps the items a 待办 reply numbers.
const todoListMax = 20

// todoListTTL is how long a 待办 list's numbers stay valid for "走访 <n>".
const todoListTTL = 24 * time.Hour

var (
	todoWords    = map[string]bool{"待办": true, "待办事项": true, "我的待办": true, "提醒": true, "待随访": true, "随访提醒": true}
	overdueWords = map[string]bool{"逾期": true, "逾期清单": true, "逾期随访": true, "社区逾期": true}
	// todoPickRe is "走访 3": start item 3 of the last 待办 list.
	todoPickRe = regexp.MustCompile(`^(走访|随访|入户|家访|巡查|复查)\s*(?:第)?(\d{1,3})(?:项|个)?$`)
	// todoTargetRe is "走访 3-2-201": a verb and nothing but a target.
	todoTargetRe = regexp.MustCompile(`^(走访|随访|入户|家访)\s*(\S+)$`)
)

// todoMatch is what may be a 待办 or 逾期 command; todoCommand reads it
// or declines.
func todoMatch(t string) bool {
	return todoWords[t] || overdueWords[t] || todoShape(t) && (todoPickRe.MatchString(t) || todoTargetRe.MatchString(t))
}

// todoShape is what every text todoPickRe or todoTargetRe matches looks
// like, checked without running them (they are tried on every report
// line): one of their verbs first, then, past the spaces after it, no more
// spaces (\s is ASCII in RE2) and something.
func todoShape(t string) bool {
	for _, v := range [...]string{"走访", "随访", "入户", "家访", "巡查", "复查"} {
		if rest, ok := strings.CutPrefix(t, v); ok {
			rest = strings.TrimLeft(rest, " \t\n\f\r")
			return rest != "" && !strings.ContainsAny(rest, " \t\n\f\r")
		}
	}
	return false
}

// todoCommand answers 待办 (the sender's due follow-ups) and 逾期 (a
// supervisor's community overdue list), and starts the visit for an item
// of the list ("走访 2", or "走访 3-2-201" for a household with an open
// follow-up). ok is false when text is not one.
func (e *Engine) todoCommand(c *turn, text string) (reply string, ok bool, err error) {
	t := normalize(text)
	switch {
	case todoWords[t]:
		reply, err = e.todoList(c)
		return reply, true, err
	case overdueWords[t]:
		reply, err = e.overdueList(c)
		return reply, true, err
	}
	if m := todoPickRe.FindStringSubmatch(t); m != nil {
		n, _ := strconv.Atoi(m[2])
		reply, err = e.todoPick(c, m[1], n)
		return reply, true, err
	}
	if m := todoTargetRe.FindStringSubmatch(t); m != nil {
		if hh, ok := zh.Household(m[2]); ok {
			return e.todoHousehold(c, hh)
		}
	}
	return "", false, nil
}

// todoItems returns the worker's open follow-ups due by today+TodoAheadDays,
// oldest first.
func (e *Engine) todoItems(ctx context.Context, w flows.Worker, today string) ([]flows.FollowUp, error) {
	return e.Store.DueFollowUps(ctx, flows.Scope{Kind: flows.ScopeWorker, ID: w.OpenID}, flows.AddDays(today, TodoAheadDays), 0)
}

// todoList answers 待办: overdue items first with days overdue, then those
// due within TodoAheadDays, numbered; the numbers are kept for "走访 <n>".
func (e *Engine) todoList(c *turn) (string, error) {
	ctx, w, now := c.ctx, c.w, c.at
	today := now.In(e.zone()).Format(time.DateOnly)
	items, err := e.todoItems(ctx, w, today)
	if err != nil {
		return "", err
	}
	if len(items) == 0 {
		return fmt.Sprintf("✅ 暂无待办：没有逾期或 %d 天内到期的随访。", TodoAheadDays), nil
	}
	total := len(items)
	if len(items) > todoListMax {
		items = items[:todoListMax]
	}
	if err := e.keepTodoList(ctx, w.OpenID, items); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "📋 你的待办（共 %d 项）\n", total)
	section := ""
	for i, f := range items {
		days := flows.DaysBetween(f.Due, today)
		s := fmt.Sprintf("%d 天内到期：", TodoAheadDays)
		if days > 0 {
			s = "逾期："
		}
		if s != section {
			b.WriteString(s + "\n")
			section = s
		}
		var when string
		switch {
		case days > 0:
			when = fmt.Sprintf("逾期 %d 天", days)
		case days == 0:
			when = "今天到期"
		default:
			when = fmt.Sprintf("%s，%d 天后", flows.DayCN(f.Due), -days)
		}
		fmt.Fprintf(&b, "%d. %s %s（%s）\n", i+1, f.Target, e.followUpLabel(f), when)
	}
	if total > len(items) {
		fmt.Fprintf(&b, "…另有 %d 项，先处理以上各项。\n", total-len(items))
	}
	fmt.Fprintf(&b, "回复\"%s 1\"开始记录第 1 项，完成上报即可销项。", e.verb(items[0]))
	return b.String(), nil
}

// verb is the word that starts an item's flow ("走访", "巡查").
func (e *Engine) verb(f flows.FollowUp) string {
	if fd := e.catalog().Flow(f.Flow); fd != nil && len(fd.Words) > 0 {
		return fd.Words[0]
	}
	return "走访"
}

// followUpLabel names a follow-up's work with the engine's catalog.
func (e *Engine) followUpLabel(f flows.FollowUp) string { return e.catalog().FollowUpLabel(f) }

// todoKey is where the last 待办 list's follow-up ids are kept in Sessions.
func (e *Engine) todoKey(openID string) string { return e.SessionPrefix + "todo:" + openID }

func (e *Engine) keepTodoList(ctx context.Context, openID string, items []flows.FollowUp) error {
	ids := make([]uint64, len(items))
	for i, f := range items {
		ids[i] = f.ID
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	return e.Sessions.Set(ctx, e.todoKey(openID), b, todoListTTL)
}

// todoPick starts the visit (or re-check) for item n of the last 待办
// list; without a kept list, of the list as it is now. verb is the word
// before the number: "巡查 1" for a visit item says to send "走访 1".
func (e *Engine) todoPick(c *turn, verb string, n int) (string, error) {
	ctx, w, now := c.ctx, c.w, c.at
	var ids []uint64
	b, err := e.Sessions.Get(ctx, e.todoKey(w.OpenID))
	switch {
	case err == nil:
		if json.Unmarshal(b, &ids) != nil {
			ids = nil
		}
	case flows.ErrorCode(err) != flows.ENotFound:
		return "", err
	}
	if ids == nil {
		items, err := e.todoItems(ctx, w, now.In(e.zone()).Format(time.DateOnly))
		if err != nil {
			return "", err
		}
		for _, f := range items[:min(len(items), todoListMax)] {
			ids = append(ids, f.ID)
		}
		if err := e.keepTodoList(ctx, w.OpenID, items[:min(len(items), todoListMax)]); err != nil {
			return "", err
		}
	}
	if len(ids) == 0 {
		return "你现在没有待办。发送\"走访\"开始一条新的走访记录。", nil
	}
	if n < 1 || n > len(ids) {
		return fmt.Sprintf("待办里没有第 %d 项（共 %d 项）。回复\"待办\"查看清单。", n, len(ids)), nil
	}
	f, err := e.Store.FollowUp(ctx, ids[n-1])
	switch {
	case flows.ErrorCode(err) == flows.ENotFound:
		return "这一项已不在待办里。回复\"待办\"查看最新清单。", nil
	case err != nil:
		return "", err
	}
	if f.Closed {
		return fmt.Sprintf("第 %d 项（%s %s）已经完成。回复\"待办\"查看最新清单。", n, f.Target, e.followUpLabel(f)), nil
	}
	if f.Worker != w.OpenID {
		return "这一项已改派给其他网格员。回复\"待办\"查看最新清单。", nil
	}
	if !e.verbFits(verb, f) {
		name := f.Flow
		if fd := e.catalog().Flow(f.Flow); fd != nil {
			name = fd.Name
		}
		return fmt.Sprintf("第 %d 项是%s（%s %s），请发送\"%s %d\"。", n, name, f.Target, e.followUpLabel(f), e.verb(f), n), nil
	}
	return e.beginFollowUp(c, f, fmt.Sprintf("待办第%d项", n))
}

// verbFits reports whether the word of "<verb> <n>" names the item's flow:
// 走访 a visit, 巡查 an inspection, 复查 any re-check.
func (e *Engine) verbFits(verb string, f flows.FollowUp) bool {
	fd := e.catalog().Flow(f.Flow)
	if fd == nil {
		return true
	}
	if verb == "复查" {
		return fd.FollowUp == flows.FollowRecheck
	}
	vf, _, _ := e.catalog().FlowByWord(verb)
	return vf == nil || vf.Key == fd.Key
}

// todoHousehold starts the visit for "走访 3-2-201" with the kind filled
// in, when the worker has exactly one open kind of follow-up for that
// household; otherwise the text is left to the one-line report parser.
func (e *Engine) todoHousehold(c *turn, hh string) (string, bool, error) {
	ctx, w := c.ctx, c.w
	open, err := e.Store.FollowUps(ctx, flows.Scope{Kind: flows.ScopeWorker, ID: w.OpenID}, false)
	if err != nil {
		return "", true, err
	}
	var match []flows.FollowUp
	for _, f := range open {
		if f.Target != hh || f.Kind == "" {
			continue
		}
		if fd := e.catalog().Flow(f.Flow); fd == nil || fd.FollowUp != flows.FollowByKind || fd.TargetField() == nil || fd.TargetField().Type != flows.FieldHousehold {
			continue
		}
		if !slices.ContainsFunc(match, func(m flows.FollowUp) bool { return m.Flow == f.Flow && m.Kind == f.Kind }) {
			match = append(match, f)
		}
	}
	if len(match) != 1 {
		return "", false, nil
	}
	reply, err := e.beginFollowUp(c, match[0], "待办")
	return reply, true, err
}

// beginFollowUp starts the follow-up's flow with its target (and kind)
// filled in, and says first what it filled in and from where:
// "【入户走访】3-2-202｜慢病随访（来自待办第1项）".
func (e *Engine) beginFollowUp(c *turn, f flows.FollowUp, from string) (string, error) {
	fd := e.catalog().Flow(f.Flow)
	if fd == nil {
		return "这一项的上报类型已不存在，请联系管理员。", nil
	}
	prefill := map[string]string{}
	if tf := fd.TargetField(); tf != nil {
		prefill[tf.Key] = f.Target
	}
	if f.Kind != "" && fd.Field("kind") != nil && fd.Kind(f.Kind) != nil {
		prefill["kind"] = f.Kind
	}
	reply, err := e.begin(c, fd, prefill)
	if flows.ErrorCode(err) == flows.EInvalid {
		// A stored target or kind the form no longer accepts (a changed
		// catalog): let the worker fill the form by hand.
		e.log().Warn("flows: follow-up cannot prefill its form", "followup", f.ID, "flow", f.Flow)
		return "这一项无法自动填写，请发送\"" + e.verb(f) + "\"按提示记录。", nil
	}
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(reply, "✅") {
		return reply, nil // everything was filled in: saved
	}
	filled := []string{f.Target}
	if k := fd.Kind(prefill["kind"]); k != nil {
		filled = append(filled, k.Name)
	}
	head := "【" + fd.Name + "】" + strings.Join(filled, "｜") + "（来自" + from + "）\n"
	if fd.FollowUp == flows.FollowRecheck {
		head += "复查：整改好了请在备注里写\"已整改\"；仍有问题请填几处，可写\"限期3天整改\"。\n"
	}
	return head + strings.TrimPrefix(reply, "【"+fd.Name+"】"), nil
}

// overdueList answers 逾期: for a supervisor or admin, the community's
// overdue items grouped by grid and worker; a worker is pointed to 待办.
func (e *Engine) overdueList(c *turn) (string, error) {
	ctx, w, now := c.ctx, c.w, c.at
	if w.Role != flows.RoleSupervisor && w.Role != flows.RoleAdmin {
		own, err := e.todoList(c)
		if err != nil {
			return "", err
		}
		return "「逾期」汇总是给社区负责人看的，下面是你自己的待办：\n" + own, nil
	}
	today := now.In(e.zone()).Format(time.DateOnly)
	items, err := e.Store.DueFollowUps(ctx, flows.Scope{Kind: flows.ScopeCommunity, ID: w.Community}, flows.AddDays(today, -1), 0)
	if err != nil {
		return "", err
	}
	if len(items) == 0 {
		return "✅ " + w.Community + "目前没有逾期的随访。", nil
	}
	workers, err := e.Store.Workers(ctx)
	if err != nil {
		return "", err
	}
	names := make(map[string]string, len(workers))
	for _, x := range workers {
		names[x.OpenID] = x.Name
	}
	return OverdueText(w.Community, today, items, names, e.followUpLabel), nil
}

// overduePerWorker caps the items shown for one worker in 逾期.
const overduePerWorker = 3

// OverdueText renders a community's overdue follow-ups grouped by grid and
// worker, oldest first within each, for 逾期. names maps openids to names.
func OverdueText(community, today string, items []flows.FollowUp, names map[string]string, label Labeler) string {
	type group struct {
		grid, worker string
		items        []flows.FollowUp
	}
	var groups []*group
	idx := map[[2]string]*group{}
	for _, f := range items {
		k := [2]string{f.Grid, f.Worker}
		g := idx[k]
		if g == nil {
			g = &group{grid: f.Grid, worker: f.Worker}
			idx[k] = g
			groups = append(groups, g)
		}
		g.items = append(g.items, f)
	}
	slices.SortStableFunc(groups, func(a, b *group) int {
		if c := strings.Compare(a.grid, b.grid); c != 0 {
			return c
		}
		return len(b.items) - len(a.items)
	})
	var b strings.Builder
	fmt.Fprintf(&b, "⚠️ %s逾期随访 %d 项（截至%s）\n", community, len(items), flows.DayCN(today))
	grid := "\x00"
	for _, g := range groups {
		if g.grid != grid {
			n := 0
			for _, h := range groups {
				if h.grid == g.grid {
					n += len(h.items)
				}
			}
			fmt.Fprintf(&b, "【%s】%d 项\n", gridLabel(g.grid), n)
			grid = g.grid
		}
		who := names[g.worker]
		if who == "" {
			who = "未知网格员"
		}
		parts := make([]string, 0, overduePerWorker)
		for _, f := range g.items[:min(len(g.items), overduePerWorker)] {
			parts = append(parts, fmt.Sprintf("%s %s 逾期%d天", f.Target, label(f), flows.DaysBetween(f.Due, today)))
		}
		more := ""
		if len(g.items) > overduePerWorker {
			more = fmt.Sprintf(" 等%d项", len(g.items))
		}
		fmt.Fprintf(&b, "· %s %d 项：%s%s\n", who, len(g.items), strings.Join(parts, "；"), more)
	}
	b.WriteString("可在管理后台改派或注销（迁出/死亡/拒绝）。")
	return b.String()
}

// pendingNotice returns, once, a note about reminders that could not be
// delivered, to put before the reply to the worker's next message.
func (e *Engine) pendingNotice(ctx context.Context, w flows.Worker) (string, error) {
	if e.Notices == nil {
		return "", nil
	}
	return e.Notices.TakeNotice(ctx, w.OpenID)
}
