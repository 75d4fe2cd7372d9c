package console

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"gridbot/bot"
	"gridbot/flows"
)

// todoRow is an open follow-up in the list.
type todoRow struct {
	flows.FollowUp
	Label       string
	WorkerName  string
	DaysOverdue int
}

// todoCount is the open and overdue follow-ups of one grid or worker.
type todoCount struct {
	Label         string
	Href          string
	Open, Overdue int
}

// todoData is the 待办/逾期 page's data.
type todoData struct {
	View     view
	Rows     []todoRow
	ByGrid   []todoCount
	ByWorker []todoCount
	Overdue  int
	Reasons  []string
	Movable  []flows.Worker // whom a follow-up may go to (same community)
	More     bool
}

// maxTodo is the most follow-ups listed at once.
const maxTodo = 300

// todo is 待办/逾期: the scope's open follow-ups, overdue first (oldest due
// first), counted by grid and by worker; a supervisor may hand one to
// another worker or close it with a reason.
func (c *Console) todo(w http.ResponseWriter, r *http.Request, s *session) {
	v, ok := c.viewOrFail(w, r, s)
	if !ok {
		return
	}
	fs, err := c.Store.FollowUps(r.Context(), v.Scope, false)
	if err != nil {
		c.storeFail(w, r, s, "list follow-ups", err)
		return
	}
	slices.SortStableFunc(fs, func(a, b flows.FollowUp) int { return strings.Compare(a.Due, b.Due) })
	today := c.today()
	names := map[string]string{}
	for _, wk := range v.Workers {
		names[wk.OpenID] = displayName(wk)
	}
	d := &todoData{View: v, Reasons: bot.CloseReasons}
	if s.sup() {
		d.Movable = v.Workers
	}
	grids, workers := map[string]*todoCount{}, map[string]*todoCount{}
	count := func(m map[string]*todoCount, key, label, href string, overdue bool) {
		tc := m[key]
		if tc == nil {
			tc = &todoCount{Label: label, Href: href}
			m[key] = tc
		}
		tc.Open++
		if overdue {
			tc.Overdue++
		}
	}
	for _, f := range fs {
		row := todoRow{FollowUp: f, Label: c.cat().FollowUpLabel(f), WorkerName: names[f.Worker]}
		if row.WorkerName == "" {
			row.WorkerName = "（已解绑）"
		}
		if n := flows.DaysBetween(f.Due, today); n > 0 {
			row.DaysOverdue = n
			d.Overdue++
		}
		count(grids, f.Community+"/"+f.Grid, f.Grid, "/console/todo?"+gridQuery(s, f.Community, f.Grid), row.DaysOverdue > 0)
		count(workers, f.Worker, row.WorkerName, "/console/todo?"+workerQuery(f.Worker), row.DaysOverdue > 0)
		if len(d.Rows) < maxTodo {
			d.Rows = append(d.Rows, row)
		} else {
			d.More = true
		}
	}
	d.ByGrid, d.ByWorker = sortedCounts(grids), sortedCounts(workers)
	c.render(w, r, http.StatusOK, "todo", &page{Title: "待办/逾期", Nav: "todo", S: s, Data: d, Flash: flashes[r.URL.Query().Get("done")]})
}

func gridQuery(s *session, community, grid string) string {
	q := "grid=" + urlEscape(grid)
	if s.admin() {
		q += "&community=" + urlEscape(community)
	}
	return q
}

func workerQuery(openID string) string { return "worker=" + urlEscape(openID) }

// sortedCounts orders counts by overdue, then open, then label.
func sortedCounts(m map[string]*todoCount) []todoCount {
	var out []todoCount
	for _, tc := range m {
		out = append(out, *tc)
	}
	slices.SortFunc(out, func(a, b todoCount) int {
		if a.Overdue != b.Overdue {
			return b.Overdue - a.Overdue
		}
		if a.Open != b.Open {
			return b.Open - a.Open
		}
		return strings.Compare(a.Label, b.Label)
	})
	return out
}

// followUpFor reads the follow-up of the path's id, if the user may change it.
func (c *Console) followUpFor(w http.ResponseWriter, r *http.Request, s *session) (flows.FollowUp, bool) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		c.fail(w, r, s, http.StatusNotFound, "找不到这条待办。")
		return flows.FollowUp{}, false
	}
	f, err := c.Store.FollowUp(r.Context(), id)
	if err != nil {
		c.storeFail(w, r, s, "read follow-up", err)
		return f, false
	}
	if !s.mayTouch(f.Community) {
		c.log().Warn("console: follow-up refused", "actor", s.OpenID, "followup", id)
		c.fail(w, r, s, http.StatusForbidden, "只有本社区负责人可以处理这条待办。")
		return f, false
	}
	if f.Closed {
		c.fail(w, r, s, http.StatusConflict, "这条待办已经关闭了。")
		return f, false
	}
	return f, true
}

// moveFollowUp hands an open follow-up to another worker of its community.
func (c *Console) moveFollowUp(w http.ResponseWriter, r *http.Request, s *session) {
	f, ok := c.followUpFor(w, r, s)
	if !ok {
		return
	}
	to := strings.TrimSpace(r.PostFormValue("worker"))
	wk, err := c.Store.Worker(r.Context(), to)
	if err != nil || wk.Community != f.Community {
		c.fail(w, r, s, http.StatusBadRequest, "只能转交给本社区已绑定的网格员，请重新选择。")
		return
	}
	if _, err := c.Store.MoveFollowUp(r.Context(), f.ID, to); err != nil {
		c.storeFail(w, r, s, "move follow-up", err)
		return
	}
	c.log().Info("console: follow-up moved", "actor", s.OpenID, "followup", f.ID, "from", f.Worker, "to", to)
	http.Redirect(w, r, "/console/todo?done=moved", http.StatusSeeOther)
}

// closeFollowUp closes an open follow-up with one of bot.CloseReasons.
func (c *Console) closeFollowUp(w http.ResponseWriter, r *http.Request, s *session) {
	f, ok := c.followUpFor(w, r, s)
	if !ok {
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if !slices.Contains(bot.CloseReasons, reason) {
		c.fail(w, r, s, http.StatusBadRequest, "请选择关闭原因："+strings.Join(bot.CloseReasons, "、")+"。")
		return
	}
	if _, err := c.Store.CloseFollowUp(r.Context(), f.ID, reason, c.now()); err != nil {
		c.storeFail(w, r, s, "close follow-up", err)
		return
	}
	c.log().Info("console: follow-up closed", "actor", s.OpenID, "followup", f.ID, "reason", reason)
	http.Redirect(w, r, "/console/todo?done=closed", http.StatusSeeOther)
}
