package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gridbot/flows"
)

// maxListed is the most reports the 记录 list shows at once.
const maxListed = 200

// recordRow is a report in the list.
type recordRow struct {
	flows.Report
	TypeName   string
	KindName   string
	WorkerName string
	Summary    string // the counters, "资料 400份 · 参与 35人"
}

// recordsData is the 记录 page's data.
type recordsData struct {
	View     view
	Period   period
	Tabs     []periodTab
	PrevHref string
	NextHref string
	Flow     string
	Target   string
	Flows    []flows.FlowDef
	Rows     []recordRow
	More     bool // more than maxListed matched
	Matched  int
	Voided   int // of Matched
	Q        string
}

// records is 记录: the scope's reports of the period, newest first,
// filtered by type, grid, worker and household (a part of the address).
// It is the one page that reads reports rather than tallies.
func (c *Console) records(w http.ResponseWriter, r *http.Request, s *session) {
	v, ok := c.viewOrFail(w, r, s)
	if !ok {
		return
	}
	q := r.URL.Query()
	today := c.todayUTC()
	p := parsePeriod(q.Get("period"), today)
	d := &recordsData{View: v, Period: p, Flow: q.Get("flow"), Target: strings.TrimSpace(q.Get("target")), Flows: c.cat().Flows}
	keep := url.Values{}
	for k, vs := range v.Filters {
		keep[k] = vs
	}
	if d.Flow != "" {
		keep.Set("flow", d.Flow)
	}
	if d.Target != "" {
		keep.Set("target", d.Target)
	}
	d.Q = keep.Encode()
	d.Tabs, d.PrevHref, d.NextHref = periodTabs("/console/records", keep, p, today)
	names := map[string]string{}
	for _, wk := range v.Workers {
		names[wk.OpenID] = displayName(wk)
	}
	var rows []recordRow
	for _, sp := range p.storePeriods() {
		err := c.Store.Reports(r.Context(), v.Scope, sp, true, func(rep flows.Report) error {
			if d.Flow != "" && rep.Flow != d.Flow {
				return nil
			}
			if d.Target != "" && !strings.Contains(rep.Target, d.Target) {
				return nil
			}
			d.Matched++
			if rep.Void {
				d.Voided++
			}
			rows = append(rows, c.row(rep, names))
			if len(rows) > 2*maxListed {
				rows = slices.Delete(rows, 0, maxListed) // keep the newest: reports come in day order
			}
			return nil
		})
		if err != nil {
			c.storeFail(w, r, s, "list reports", err)
			return
		}
	}
	slices.Reverse(rows)
	if len(rows) > maxListed {
		rows, d.More = rows[:maxListed], true
	}
	d.Rows = rows
	c.render(w, r, http.StatusOK, "records", &page{Title: "记录", Nav: "records", S: s, Data: d})
}

func (c *Console) row(rep flows.Report, names map[string]string) recordRow {
	row := recordRow{Report: rep, TypeName: rep.Flow, KindName: rep.Kind, WorkerName: names[rep.Worker]}
	if row.WorkerName == "" {
		row.WorkerName = "（已解绑）"
	}
	f := c.cat().Flow(rep.Flow)
	if f == nil {
		return row
	}
	row.TypeName = f.Name
	if k := f.Kind(rep.Kind); k != nil {
		row.KindName = k.Name
	}
	var parts []string
	for _, ct := range f.Counters {
		if v, ok := rep.Counts[ct.Key]; ok {
			parts = append(parts, ct.Name+" "+fmtNum(v)+ct.Unit)
		}
	}
	row.Summary = strings.Join(parts, " · ")
	return row
}

// voidNote is who voided a report from the console, and why.
type voidNote struct {
	By     string    `json:"by"`
	Name   string    `json:"name"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// fieldRow is one answer of a report, named by its form.
type fieldRow struct{ Name, Value string }

// recordData is the page of one report.
type recordData struct {
	Row    recordRow
	Fields []fieldRow
	Void   *voidNote
	Back   string
	// Created and Voided are the report's times in the configured zone.
	Created, Voided string
}

// record shows one report: its fields, counters, location and photos.
func (c *Console) record(w http.ResponseWriter, r *http.Request, s *session) {
	rep, ok := c.reportFor(w, r, s)
	if !ok {
		return
	}
	names := map[string]string{}
	if wk, err := c.Store.Worker(r.Context(), rep.Worker); err == nil {
		names[wk.OpenID] = displayName(wk)
	}
	d := &recordData{Row: c.row(rep, names), Back: "/console/records?period=" + rep.Day[:7],
		Created: rep.CreatedAt.In(c.zone()).Format("2006-01-02 15:04")}
	if rep.Void {
		d.Voided = rep.VoidedAt.In(c.zone()).Format("2006-01-02 15:04")
	}
	f := c.cat().Flow(rep.Flow)
	for k, val := range rep.Fields {
		name := k
		if f != nil {
			if fd := fieldDef(f, k); fd != nil {
				name = fd.Name
			}
		}
		d.Fields = append(d.Fields, fieldRow{name, val})
	}
	slices.SortFunc(d.Fields, func(a, b fieldRow) int { return strings.Compare(a.Name, b.Name) })
	if f != nil {
		for _, ct := range f.Counters {
			if v, ok := rep.Counts[ct.Key]; ok {
				d.Fields = append(d.Fields, fieldRow{ct.Name, fmtNum(v) + " " + ct.Unit})
			}
		}
	}
	if rep.Void {
		if b, err := c.KV.Get(r.Context(), c.key("void", strconv.FormatUint(rep.ID, 10))); err == nil {
			var n voidNote
			if json.Unmarshal(b, &n) == nil {
				d.Void = &n
			}
		}
	}
	c.render(w, r, http.StatusOK, "record", &page{Title: "记录详情", Nav: "records", S: s, Data: d, Flash: flashes[r.URL.Query().Get("done")]})
}

func fieldDef(f *flows.FlowDef, key string) *flows.FieldDef {
	for i := range f.Fields {
		if f.Fields[i].Key == key {
			return &f.Fields[i]
		}
	}
	return nil
}

// reportFor reads the report of the path's id, if the user may see it.
func (c *Console) reportFor(w http.ResponseWriter, r *http.Request, s *session) (flows.Report, bool) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		c.fail(w, r, s, http.StatusNotFound, "找不到这条记录。")
		return flows.Report{}, false
	}
	rep, err := c.Store.Report(r.Context(), id)
	if err != nil {
		c.storeFail(w, r, s, "read report", err)
		return rep, false
	}
	if !s.mayView(rep.Community, rep.Worker) {
		c.log().Warn("console: report refused", "actor", s.OpenID, "report", id)
		c.fail(w, r, s, http.StatusForbidden, "你只能查看自己权限范围内的记录。")
		return rep, false
	}
	return rep, true
}

// maxReasonRunes is the longest reason accepted for voiding or closing.
const maxReasonRunes = 100

// voidRecord voids a report with a reason, as 撤销 does in chat: its
// figures leave the tallies in the same transaction, its follow-up effect
// is undone. Who did it and why is kept beside it and logged.
func (c *Console) voidRecord(w http.ResponseWriter, r *http.Request, s *session) {
	rep, ok := c.reportFor(w, r, s)
	if !ok {
		return
	}
	if !s.mayTouch(rep.Community) {
		c.fail(w, r, s, http.StatusForbidden, "只有本社区负责人可以作废记录。")
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" || utf8.RuneCountInString(reason) > maxReasonRunes {
		c.fail(w, r, s, http.StatusBadRequest, "请写明作废原因（100 字以内），如：重复录入。")
		return
	}
	if rep.Void {
		c.fail(w, r, s, http.StatusConflict, "这条记录已经作废了。")
		return
	}
	ctx := r.Context()
	note, _ := json.Marshal(voidNote{By: s.OpenID, Name: s.me.Name, Reason: reason, At: c.now()})
	// The note first: a void without its reason would be an unexplained
	// change; a note without a void (the void failed) is never shown.
	if err := c.KV.Set(ctx, c.key("void", strconv.FormatUint(rep.ID, 10)), note, 0); err != nil {
		c.storeFail(w, r, s, "keep void reason", err)
		return
	}
	if _, err := c.Store.VoidReport(ctx, rep.ID, c.now()); err != nil {
		var fe *flows.Error
		if errors.As(err, &fe) && fe.Code == flows.EConflict {
			c.fail(w, r, s, http.StatusConflict, "这条记录已经作废了。")
			return
		}
		c.storeFail(w, r, s, "void report", err)
		return
	}
	c.log().Info("console: report voided", "actor", s.OpenID, "report", rep.ID, "flow", rep.Flow, "community", rep.Community)
	c.log().Debug("console: void reason", "report", rep.ID, "reason", reason)
	http.Redirect(w, r, "/console/records/"+strconv.FormatUint(rep.ID, 10)+"?done=void", http.StatusSeeOther)
}
