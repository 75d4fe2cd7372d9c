package flows

import (
	"hash/fnv"
	"slices"
	"strings"
)

// HouseholdRow is one good row of a household roster (户号, 网格, 标签,
// 上次随访日期), as `gridbot import households` sends it to the server.
// The resident's name stays on the client: it is not needed to schedule.
type HouseholdRow struct {
	Line      int      `json:"line"` // row number in the file, for error reports
	Community string   `json:"community"`
	Grid      string   `json:"grid"`
	Household string   `json:"household"` // normalised, "3-2-201"
	Tags      []string `json:"tags"`
	// LastVisit is the last follow-up's date ("2006-01-02"); empty when the
	// household was never visited: its follow-ups are then due at once.
	LastVisit string `json:"last_visit,omitempty"`
}

// RowError is a rejected roster row: its line and the reason, in Chinese.
type RowError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// ImportResult is the server's answer to one batch of roster rows.
type ImportResult struct {
	Opened    int        `json:"opened"`    // follow-ups opened (or moved to a later due date)
	Unchanged int        `json:"unchanged"` // already open with the same or a later due date
	Roster    int        `json:"roster"`    // households new on the roster (others updated)
	Errors    []RowError `json:"errors,omitempty"`
}

// SplitTags splits a roster's 标签 cell ("高血压、糖尿病", "高血压/独居老人").
func SplitTags(cell string) []string {
	f := strings.FieldsFunc(cell, func(r rune) bool {
		return strings.ContainsRune("、,，;；/／|｜ \t\u3000+＋", r)
	})
	out := f[:0]
	for _, t := range f {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// RosterKind is a kind of follow-up a roster tag calls for.
type RosterKind struct {
	Flow, Kind string
	Days       int // the kind's interval (KindDef.FollowUpDays)
}

// TagKinds returns the distinct kinds the tags call for (KindDef.Tags), in
// a stable order, and the tags that call for none.
func (c *Catalog) TagKinds(tags []string) (kinds []RosterKind, unknown []string) {
	for _, t := range tags {
		rk, ok := c.tagKind(t)
		if !ok {
			unknown = append(unknown, t)
			continue
		}
		if !slices.Contains(kinds, rk) {
			kinds = append(kinds, rk)
		}
	}
	slices.SortFunc(kinds, func(a, b RosterKind) int {
		return strings.Compare(a.Flow+"."+a.Kind, b.Flow+"."+b.Kind)
	})
	return kinds, unknown
}

// tagKind finds the kind a roster tag names.
func (c *Catalog) tagKind(tag string) (RosterKind, bool) {
	for _, f := range c.Flows {
		for _, k := range f.Kinds {
			if slices.Contains(k.Tags, tag) {
				return RosterKind{Flow: f.Key, Kind: k.Key, Days: k.FollowUpDays}, true
			}
		}
	}
	return RosterKind{}, false
}

// PickWorker chooses who follows a household up among the workers of its
// grid: grid workers before supervisors, the same one for the same
// household every time (a stable hash spreads a grid's households). ok is
// false when nobody is bound to that grid.
func PickWorker(all []Worker, community, grid, household string) (Worker, bool) {
	var workers, others []Worker
	for _, w := range all {
		if w.Community != community || w.Grid != grid {
			continue
		}
		if w.Role == RoleWorker {
			workers = append(workers, w)
		} else {
			others = append(others, w)
		}
	}
	if len(workers) == 0 {
		workers = others
	}
	if len(workers) == 0 {
		return Worker{}, false
	}
	slices.SortFunc(workers, func(a, b Worker) int { return strings.Compare(a.OpenID, b.OpenID) })
	h := fnv.New32a()
	h.Write([]byte(household))
	return workers[int(h.Sum32()%uint32(len(workers)))], true
}

// PlanHousehold turns a roster row into the follow-ups it opens: one per
// kind its tags call for, due the kind's interval after the last visit (or
// today when it was never visited).
func (c *Catalog) PlanHousehold(row HouseholdRow, w Worker, today string) ([]FollowUp, error) {
	kinds, unknown := c.TagKinds(row.Tags)
	if len(kinds) == 0 {
		if len(unknown) > 0 {
			return nil, Errorf(EInvalid, "标签「%s」没有对应的随访（可用：高血压、糖尿病、孕产妇、独居老人）", strings.Join(unknown, "、"))
		}
		return nil, Errorf(EInvalid, "缺少标签")
	}
	var out []FollowUp
	for _, k := range kinds {
		if k.Days <= 0 {
			return nil, Errorf(EInvalid, "随访类型 %s 没有设置随访间隔", k.Kind)
		}
		due := today
		if row.LastVisit != "" {
			due = AddDays(row.LastVisit, k.Days)
		}
		out = append(out, FollowUp{
			Key:       FollowKey(row.Community, k.Flow, k.Kind, row.Household),
			Community: row.Community,
			Grid:      row.Grid,
			Worker:    w.OpenID,
			Flow:      k.Flow,
			Kind:      k.Kind,
			Target:    row.Household,
			Due:       due,
		})
	}
	return out, nil
}
