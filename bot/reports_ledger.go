package bot

import (
	"strconv"
	"strings"

	"gridbot/flows"
)

// A ledger (台帐) lists reports one per row, with Chinese column headers:
// 日期, 网格员, 网格, 户号/地点, 类型, then each field and counter of the
// report type, then 备注 (and 状态 when voided reports are included).
// XLSX has one sheet per report type; CSV is one table with a 报告类型
// column and the columns of every type.

// ledgerCol is one column of a ledger.
type ledgerCol struct {
	header string
	width  float64                   // XLSX column width, in characters
	value  func(r *flows.Report) any // string, float64, or nil for an empty cell
	date   bool                      // the value is a "2006-01-02" day: a date cell in XLSX
}

// ledgerNames resolves workers' openids to their names.
type ledgerNames map[string]string

func (n ledgerNames) name(openID string) string {
	if v := n[openID]; v != "" {
		return v
	}
	return openID
}

// ledgerLayout is the columns of each report type.
type ledgerLayout struct {
	cat         *flows.Catalog
	names       ledgerNames
	includeVoid bool
	counted     map[string]bool // households the 户数（去重） column has counted
}

// head is the columns every ledger starts with.
func (l *ledgerLayout) head() []ledgerCol {
	return []ledgerCol{
		{header: "日期", width: 12, date: true, value: func(r *flows.Report) any { return r.Day }},
		{header: "网格员", width: 10, value: func(r *flows.Report) any { return l.names.name(r.Worker) }},
		{header: "网格", width: 10, value: func(r *flows.Report) any { return r.Grid }},
		{header: "户号/地点", width: 16, value: func(r *flows.Report) any { return r.Target }},
		{header: "类型", width: 14, value: func(r *flows.Report) any { return l.kindName(r) }},
	}
}

// note is the report's remark: its flow's note field (FlowDef.NoteKey),
// "note" for a flow the catalog does not know.
func (l *ledgerLayout) note(r *flows.Report) string {
	if f := l.cat.Flow(r.Flow); f != nil {
		return r.Fields[f.NoteKey()]
	}
	return r.Fields["note"]
}

// tail is the columns every ledger ends with: 户数（去重） when
// households, 备注, and 状态 with voided reports.
func (l *ledgerLayout) tail(households bool) []ledgerCol {
	var cols []ledgerCol
	if households {
		cols = append(cols, l.householdCol())
	}
	cols = append(cols, ledgerCol{header: "备注", width: 30, value: func(r *flows.Report) any { return l.note(r) }})
	if l.includeVoid {
		cols = append(cols, ledgerCol{header: "状态", width: 8, value: func(r *flows.Report) any {
			if r.Void {
				return "作废"
			}
			return ""
		}})
	}
	return cols
}

// kindName names the report's kinds, all of them for a report of several
// ("慢病随访、老年人探访").
func (l *ledgerLayout) kindName(r *flows.Report) string {
	kinds := r.AllKinds()
	names := make([]string, len(kinds))
	f := l.cat.Flow(r.Flow)
	for i, kind := range kinds {
		names[i] = kind
		if f != nil {
			if k := f.Kind(kind); k != nil {
				names[i] = k.Name
			}
		}
	}
	return strings.Join(names, "、")
}

// fieldCols is a flow's own columns: its fields other than the target,
// the kind and the note, in form order, and any counter without a field.
func fieldCols(f *flows.FlowDef) []ledgerCol {
	var cols []ledgerCol
	seen := map[string]bool{}
	for _, fd := range f.Fields {
		switch slot := fd.Slot(); {
		case slot == flows.SlotTarget || slot == flows.SlotKind || fd.Key == f.NoteKey():
			continue
		case slot == flows.SlotCounts:
			if c := f.Counter(fd.Key); c != nil {
				seen[c.Key] = true
				cols = append(cols, counterCol(c))
			}
		default:
			key, header := fd.Key, fd.Name
			if fd.Label != "" {
				header = fd.Label
			}
			cols = append(cols, ledgerCol{header: header, width: colWidth(header, 10),
				value: func(r *flows.Report) any { return r.Fields[key] }})
		}
	}
	for i := range f.Counters {
		if c := &f.Counters[i]; !seen[c.Key] {
			cols = append(cols, counterCol(c))
		}
	}
	if f.Attachments {
		cols = append(cols,
			ledgerCol{header: "位置", width: 24, value: func(r *flows.Report) any { return locationText(r.Location) }},
			ledgerCol{header: "照片", width: 8, value: func(r *flows.Report) any {
				if len(r.Images) == 0 {
					return nil
				}
				return float64(len(r.Images))
			}},
		)
	}
	return cols
}

// counterCol is a counter's column, headed with its unit: "资料（份）".
func counterCol(c *flows.CounterDef) ledgerCol {
	key, header := c.Key, c.Name+"（"+c.Unit+"）"
	return ledgerCol{header: header, width: colWidth(header, 8), value: func(r *flows.Report) any {
		v, ok := r.Counts[key]
		if !ok {
			return nil
		}
		return v
	}}
}

// otherCols is the columns of a report whose flow the catalog does not
// know (a flow removed from the config): its fields and counts as text.
func otherCols() []ledgerCol {
	return []ledgerCol{{header: "内容", width: 40, value: func(r *flows.Report) any {
		var parts []string
		for _, k := range sortedKeys(r.Fields) {
			if k != "note" {
				parts = append(parts, k+"="+r.Fields[k])
			}
		}
		for _, k := range sortedKeys(r.Counts) {
			parts = append(parts, k+"="+strconv.FormatFloat(r.Counts[k], 'f', -1, 64))
		}
		return strings.Join(parts, "；")
	}}}
}

// colWidth is a width that fits a Chinese header (two units per character).
func colWidth(header string, min float64) float64 {
	w := float64(len([]rune(header)))*2 + 2
	if w < min {
		return min
	}
	return w
}

func locationText(l *flows.Location) any {
	if l == nil {
		return nil
	}
	s := strconv.FormatFloat(l.Lat, 'f', 6, 64) + "," + strconv.FormatFloat(l.Lng, 'f', 6, 64)
	if l.Label != "" {
		s = l.Label + " (" + s + ")"
	}
	return s
}

// flowCols is every column of one report type's ledger.
func (l *ledgerLayout) flowCols(f *flows.FlowDef) []ledgerCol {
	cols := l.head()
	if f != nil {
		cols = append(cols, fieldCols(f)...)
	} else {
		cols = append(cols, otherCols()...)
	}
	return append(cols, l.tail(f != nil && f.CountsHouseholds())...)
}

// csvCols is the one table of a CSV ledger: 报告类型, the head, the own
// columns of every flow (each key once), the tail.
func (l *ledgerLayout) csvCols() []ledgerCol {
	cols := []ledgerCol{{header: "报告类型", value: func(r *flows.Report) any {
		if f := l.cat.Flow(r.Flow); f != nil {
			return f.Name
		}
		return r.Flow
	}}}
	cols = append(cols, l.head()...)
	seen := map[string]bool{}
	for i := range l.cat.Flows {
		for _, c := range fieldCols(&l.cat.Flows[i]) {
			if !seen[c.header] {
				seen[c.header] = true
				cols = append(cols, c)
			}
		}
	}
	cols = append(cols, otherColsFor(l.cat)...)
	households := false
	for i := range l.cat.Flows {
		households = households || l.cat.Flows[i].CountsHouseholds()
	}
	return append(cols, l.tail(households)...)
}

// otherColsFor is the 内容 column, filled only for reports of flows the
// catalog does not know.
func otherColsFor(cat *flows.Catalog) []ledgerCol {
	inner := otherCols()[0]
	return []ledgerCol{{header: inner.header, value: func(r *flows.Report) any {
		if cat.Flow(r.Flow) != nil {
			return nil
		}
		return inner.value(r)
	}}}
}
