package bot

import (
	"context"

	"github.com/xuri/excelize/v2"

	"gridbot/flows"
)

// A ledger tells distinct households (户) from visits (户次): every row of
// a household flow is one visit, and its 户数（去重） column holds 1 on the
// first visit to each household in the ledger (void rows and visits with
// no household hold nothing), so the column's sum is the households
// figure of /api/v1/tallies (visit.households) for the same scope and
// period. The XLSX ledger adds a 汇总 sheet with both figures per report
// type and kind, and the roster coverage.

// householdsHeader heads the distinct-households column.
const householdsHeader = "户数（去重）"

// householdCol is the 户数（去重） column. It keeps the households it has
// counted: one column value per report, in the ledger's order.
func (l *ledgerLayout) householdCol() ledgerCol {
	return ledgerCol{header: householdsHeader, width: 10, value: func(r *flows.Report) any {
		hid := r.HouseholdID()
		if r.Void || hid == "" {
			return nil
		}
		key := r.Flow + "\x00" + hid
		if l.counted[key] {
			return nil
		}
		if l.counted == nil {
			l.counted = map[string]bool{}
		}
		l.counted[key] = true
		return float64(1)
	}}
}

// summaryRows is the 汇总 sheet of a ledger: per report type and kind its
// figures, households (户) beside visits (户次) for a household flow, then
// the roster coverage of the period (入户率, 规范管理 of its year) when the
// scope has a roster.
func (a *API) summaryRows(ctx context.Context, cat *flows.Catalog, scope flows.Scope, period string) ([][]any, error) {
	counts, err := a.Store.Tally(ctx, scope, period)
	if err != nil {
		return nil, err
	}
	w := cat.HouseholdWording()
	rows := [][]any{{"项目", w.Unit, "次数", "单位"}}
	num := func(v float64) any {
		if v == 0 {
			return nil
		}
		return v
	}
	for i := range cat.Flows {
		f := &cat.Flows[i]
		add := func(key, name string) {
			if f.CountsHouseholds() {
				rows = append(rows, []any{name, num(counts[key+flows.HouseholdsSuffix]), counts[key], w.VisitUnit})
			} else {
				rows = append(rows, []any{name, nil, counts[key], f.Unit})
			}
		}
		add(f.Key, f.Name)
		for _, k := range f.Kinds {
			if counts[f.Key+"."+k.Key] != 0 {
				add(f.Key+"."+k.Key, "  "+k.Name)
			}
		}
		for _, c := range f.Counters {
			if v := counts[c.Key]; v != 0 {
				rows = append(rows, []any{"  " + c.Name, nil, v, c.Unit})
			}
		}
	}
	if scope.Kind == flows.ScopeWorker {
		return rows, nil
	}
	cv, err := a.Store.Coverage(ctx, scope, period)
	if err != nil || cv.Households == 0 {
		return rows, err
	}
	rows = append(rows,
		[]any{"花名册", float64(cv.Households), nil, w.Unit},
		[]any{"已走访（花名册内）", float64(cv.Visited), nil, w.Unit},
		[]any{"入户率", flows.RatePercent(cv.VisitRate), nil, nil},
	)
	for _, m := range cv.Managed {
		if m.Patients == 0 {
			continue
		}
		rows = append(rows,
			[]any{m.Tag + "患者（" + cv.Year + "年）", float64(m.Patients), nil, "人"},
			[]any{"  规范管理", float64(m.Managed), nil, "人"},
			[]any{"  规范管理率", flows.RatePercent(m.Rate), nil, nil},
			[]any{"  随访", nil, float64(m.FollowUps), "人次"},
		)
	}
	return rows, nil
}

// addSummarySheet writes rows as the 汇总 sheet, after the others.
func (x *xlsxLedger) addSummarySheet(rows [][]any) error {
	name := x.sheetName("汇总")
	if _, err := x.f.NewSheet(name); err != nil {
		return err
	}
	sw, err := x.printReady(name, "汇总")
	if err != nil {
		return err
	}
	// Widths from the last column to the first, as in sheet.
	widths := []float64{24, 10, 10, 8}
	for i := len(widths) - 1; i >= 0; i-- {
		if err := sw.SetColWidth(i+1, i+1, widths[i]); err != nil {
			return err
		}
	}
	for i, r := range rows {
		cells := make([]any, len(r))
		for j, v := range r {
			style := x.body
			if i == 0 {
				style = x.header
			}
			cells[j] = excelize.Cell{StyleID: style, Value: v}
		}
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		if err != nil {
			return err
		}
		if err := sw.SetRow(cell, cells); err != nil {
			return err
		}
	}
	return sw.Flush()
}
