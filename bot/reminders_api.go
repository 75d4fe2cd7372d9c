package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"gridbot/flows"
)

// CloseReasons are the reasons a follow-up may be closed by hand.
var CloseReasons = []string{"迁出", "死亡", "拒绝"}

// MaxImportRows is the most roster rows one POST /api/v1/households/import takes.
const MaxImportRows = 1000

// followUpItem is a follow-up in API answers, with its days overdue.
type followUpItem struct {
	flows.FollowUp
	Label       string `json:"label"`
	DaysOverdue int    `json:"days_overdue,omitempty"`
}

// getFollowUps answers GET /api/v1/followups?scope=…&status=open|overdue|closed
// with {"scope", "status", "day", "followups": [...]}: the scope's open
// follow-ups in due order, the overdue ones (due before today), or the
// closed ones.
func (a *API) getFollowUps(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	scope, err := queryScope(q)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	status := q.Get("status")
	if status == "" {
		status = "open"
	}
	today := a.now().In(a.reminders().zone()).Format(time.DateOnly)
	var fs []flows.FollowUp
	switch status {
	case "open":
		fs, err = a.Store.FollowUps(r.Context(), scope, false)
	case "overdue":
		fs, err = a.Store.DueFollowUps(r.Context(), scope, flows.AddDays(today, -1), 0)
	case "closed":
		fs, err = a.Store.FollowUps(r.Context(), scope, true)
	default:
		err = flows.Errorf(flows.EInvalid, "status %q: want open, overdue or closed", status)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	label := a.reminders().cat().FollowUpLabel
	items := make([]followUpItem, len(fs))
	for i, f := range fs {
		items[i] = followUpItem{FollowUp: f, Label: label(f)}
		if d := flows.DaysBetween(f.Due, today); !f.Closed && d > 0 {
			items[i].DaysOverdue = d
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"scope": scope.String(), "status": status, "day": today, "followups": items})
}

// followUpChange is the body of POST /api/v1/followups/{id}: either
// {"worker": openid} to hand it to another worker, or {"close": true,
// "reason": "迁出|死亡|拒绝"} to close it.
type followUpChange struct {
	Worker string `json:"worker"`
	Close  bool   `json:"close"`
	Reason string `json:"reason"`
}

// postFollowUp moves or closes a follow-up and answers with it.
func (a *API) postFollowUp(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		a.writeError(w, r, flows.Errorf(flows.EInvalid, "follow-up id %q: want a positive number", r.PathValue("id")))
		return
	}
	var req followUpChange
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	req.Worker, req.Reason = strings.TrimSpace(req.Worker), strings.TrimSpace(req.Reason)
	if err := checkLengths([2]string{"worker", req.Worker}, [2]string{"reason", req.Reason}); err != nil {
		a.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	var f flows.FollowUp
	switch {
	case req.Close && req.Worker == "":
		if !validReason(req.Reason) {
			a.writeError(w, r, flows.Errorf(flows.EInvalid, "reason %q: want one of %s", req.Reason, strings.Join(CloseReasons, ", ")))
			return
		}
		f, err = a.Store.CloseFollowUp(ctx, id, req.Reason, a.now())
	case !req.Close && req.Worker != "" && req.Reason == "":
		f, err = a.Store.FollowUp(ctx, id)
		if err != nil {
			break
		}
		var to flows.Worker
		to, err = a.Store.Worker(ctx, req.Worker)
		if flows.ErrorCode(err) == flows.ENotFound {
			err = flows.Errorf(flows.EInvalid, "worker %q is not bound", req.Worker)
		}
		if err != nil {
			break
		}
		if to.Community != f.Community {
			err = flows.Errorf(flows.EInvalid, "worker %q belongs to community %q, the follow-up to %q", req.Worker, to.Community, f.Community)
			break
		}
		f, err = a.Store.MoveFollowUp(ctx, id, req.Worker)
	default:
		err = flows.Errorf(flows.EInvalid, `want {"worker": openid} or {"close": true, "reason": "迁出|死亡|拒绝"}`)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, followUpItem{FollowUp: f, Label: a.reminders().cat().FollowUpLabel(f)})
}

// tagsFit reports whether every tag is within its length limit.
func tagsFit(tags []string) bool {
	for _, t := range tags {
		if checkLengths([2]string{"tag", t}) != nil {
			return false
		}
	}
	return true
}

func validReason(s string) bool {
	for _, r := range CloseReasons {
		if s == r {
			return true
		}
	}
	return false
}

// postRemindersRun runs the digest now: 200 with the RunResult counts
// {day, sent, fallback, failed, skipped}.
func (a *API) postRemindersRun(w http.ResponseWriter, r *http.Request) {
	if a.Reminders == nil {
		writeJSONError(w, http.StatusServiceUnavailable, "unavailable", "reminders are not configured")
		return
	}
	res, err := a.Reminders.RunOnce(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// importRequest is the body of POST /api/v1/households/import.
type importRequest struct {
	Rows []flows.HouseholdRow `json:"rows"`
}

// postHouseholdsImport opens the follow-ups of a batch of roster rows
// (`gridbot import households` sends them): for each row, one follow-up per
// kind its tags call for, due the kind's interval after the last visit,
// owned by a worker of the row's grid. A follow-up already open with the
// same or a later due date is left as it is; an earlier one is replaced
// (keeping its worker). Rows that cannot be imported come back in
// "errors" with their line and reason; the others are imported.
func (a *API) postHouseholdsImport(w http.ResponseWriter, r *http.Request) {
	var req importRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	if len(req.Rows) > MaxImportRows {
		a.writeError(w, r, flows.Errorf(flows.EInvalid, "%d rows: send at most %d per request", len(req.Rows), MaxImportRows))
		return
	}
	ctx := r.Context()
	rem := a.reminders()
	today := a.now().In(rem.zone()).Format(time.DateOnly)
	workers, err := a.Store.Workers(ctx)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	cat := rem.cat()
	open := map[string]map[string]flows.FollowUp{} // community/grid → key → open follow-up
	res := flows.ImportResult{Errors: []flows.RowError{}}
	var toOpen []flows.FollowUp
	var roster []flows.Household
	for _, row := range req.Rows {
		reason := checkRow(&row, today)
		var planned []flows.FollowUp
		if reason == "" {
			wk, ok := flows.PickWorker(workers, row.Community, row.Grid, row.Household)
			if !ok {
				reason = "网格「" + row.Grid + "」还没有绑定的网格员"
			} else if planned, err = cat.PlanHousehold(row, wk, today); err != nil {
				reason = errMessage(err)
			}
		}
		if reason != "" {
			res.Errors = append(res.Errors, flows.RowError{Line: row.Line, Reason: reason})
			continue
		}
		roster = append(roster, flows.Household{Community: row.Community, Grid: row.Grid, Household: row.Household, Tags: row.Tags})
		gk := row.Community + "/" + row.Grid
		if open[gk] == nil {
			fs, err := a.Store.FollowUps(ctx, flows.Scope{Kind: flows.ScopeGrid, ID: gk}, false)
			if err != nil {
				a.writeError(w, r, err)
				return
			}
			open[gk] = make(map[string]flows.FollowUp, len(fs))
			for _, f := range fs {
				open[gk][f.Key] = f
			}
		}
		for _, f := range planned {
			if old, ok := open[gk][f.Key]; ok {
				if old.Due >= f.Due {
					res.Unchanged++
					continue
				}
				f.Worker = old.Worker
			}
			open[gk][f.Key] = f
			toOpen = append(toOpen, f)
		}
	}
	if err := a.openFollowUps(ctx, toOpen); err != nil {
		a.writeError(w, r, err)
		return
	}
	res.Opened = len(toOpen)
	if len(roster) > 0 {
		if res.Roster, err = a.Store.PutHouseholds(ctx, roster); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, res)
}

// FollowUpBatcher opens many follow-ups in one transaction
// (*storage.DB does; wired as API.Batch).
type FollowUpBatcher interface {
	// OpenFollowUps opens fs as OpenFollowUp does, all or none.
	OpenFollowUps(ctx context.Context, fs []flows.FollowUp) ([]flows.FollowUp, error)
}

// openFollowUps opens fs, in one transaction when the store can.
func (a *API) openFollowUps(ctx context.Context, fs []flows.FollowUp) error {
	if len(fs) == 0 {
		return nil
	}
	if a.Batch != nil {
		_, err := a.Batch.OpenFollowUps(ctx, fs)
		return err
	}
	for _, f := range fs {
		if _, err := a.Store.OpenFollowUp(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// checkRow validates a roster row as received and trims it; it returns
// the reason it cannot be imported, or "".
func checkRow(row *flows.HouseholdRow, today string) string {
	row.Community, row.Grid, row.Household = strings.TrimSpace(row.Community), strings.TrimSpace(row.Grid), strings.TrimSpace(row.Household)
	switch {
	case row.Community == "":
		return "缺少社区"
	case row.Grid == "":
		return "缺少网格"
	case row.Household == "":
		return "缺少户号"
	case checkLengths([2]string{"community", row.Community}) != nil:
		return "社区名称过长（最多 64 字）"
	case checkLengths([2]string{"grid", row.Grid}) != nil:
		return "网格名称过长（最多 64 字）"
	case checkLengths([2]string{"household", row.Household}) != nil:
		return "户号过长（最多 64 字）"
	case len(row.Tags) > maxTags:
		return fmt.Sprintf("标签过多（最多 %d 个）", maxTags)
	case !tagsFit(row.Tags):
		return "标签过长（每个最多 32 字）"
	case row.LastVisit == "":
		return ""
	}
	if _, err := time.Parse(time.DateOnly, row.LastVisit); err != nil {
		return "上次随访日期「" + row.LastVisit + "」应为 YYYY-MM-DD"
	}
	if row.LastVisit > today {
		return "上次随访日期「" + row.LastVisit + "」在今天之后"
	}
	return ""
}

// errMessage is the message of a domain error, for row reasons.
func errMessage(err error) string {
	var fe *flows.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	return err.Error()
}

// reminders returns a.Reminders, or one with the defaults (local zone,
// shipped catalog) when it is not set.
func (a *API) reminders() *Reminders {
	if a.Reminders != nil {
		return a.Reminders
	}
	return defaultReminders()
}

// defaultReminders is a Reminders with every default, read-only.
var defaultReminders = sync.OnceValue(func() *Reminders { return &Reminders{} })
