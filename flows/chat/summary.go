package chat

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gridbot/flows"
)

// Summary is a year's figures of a scope, as JSON and as the paragraph of
// an annual work summary (全年工作总结): "全年共入户走访1570户、4210户次，其中慢病随访
// 600户（1800户次）；开展巡查120次，发现问题35处；开展宣传活动30次，其中讲座
// 培训12次，发放宣传资料400份；辖区花名册登记1600户，入户1570户，入户率98.1%；
// 对辖区内600名高血压患者进行每季度随访，…规范管理率37.5%。" (户: distinct
// households, 户次: visits). It names only metrics with data, with their
// exact figures.
type Summary struct {
	Scope string `json:"scope"`
	Year  int    `json:"year"`
	// Through is the last day counted ("2026-11-28") while the year is
	// still running; empty for a past year.
	Through string        `json:"through,omitempty"`
	Counts  flows.Counts  `json:"counts"`
	Items   []SummaryItem `json:"items"`
	// Coverage is the year's roster figures (入户率, 规范管理) of a grid,
	// community or all with a roster; nil otherwise.
	Coverage  *flows.Coverage `json:"coverage,omitempty"`
	Paragraph string          `json:"paragraph"`
}

// SummaryItem is one named figure of a Summary, in catalog order.
type SummaryItem struct {
	Key   string  `json:"key"`            // metric key: "visit", "visit.chronic", "leaflets"
	Name  string  `json:"name"`           // Chinese name: "入户走访", "慢病随访", "资料"
	Unit  string  `json:"unit,omitempty"` // "户", "份"
	Value float64 `json:"value"`
}

// BuildSummary reads a scope's totals for a year and words them. now (in
// zone) decides whether the year is still running: then the figures run
// to today and the paragraph says so.
func BuildSummary(ctx context.Context, st flows.Store, cat *flows.Catalog, scope flows.Scope, year int, now time.Time, zone *time.Location) (Summary, error) {
	if year < 1000 || year > 9999 {
		return Summary{}, flows.Errorf(flows.EInvalid, "year %d: want YYYY", year)
	}
	if cat == nil {
		cat = flows.Shipped()
	}
	if zone == nil {
		zone = flows.DefaultZone()
	}
	counts, err := st.Tally(ctx, scope, strconv.Itoa(year))
	if err != nil {
		return Summary{}, err
	}
	if counts == nil {
		counts = flows.Counts{}
	}
	s := Summary{Scope: scope.String(), Year: year, Counts: counts, Items: SummaryItems(cat, counts)}
	if scope.Kind != flows.ScopeWorker {
		cv, err := st.Coverage(ctx, scope, strconv.Itoa(year))
		if err != nil {
			return Summary{}, err
		}
		if cv.Households > 0 {
			s.Coverage = &cv
		}
	}
	today := flows.DayIn(now, zone)
	lead := "全年共"
	switch {
	case today.Year() == year && !(today.Month() == 12 && today.Day() == 31):
		s.Through = today.String()
		lead = fmt.Sprintf("%d年1月1日至%d月%d日，共", year, int(today.Month()), today.Day())
	case today.Year() < year:
		lead = fmt.Sprintf("%d年", year)
	}
	s.Paragraph = SummaryParagraph(cat, counts, s.Coverage, lead)
	return s, nil
}

// SummaryItems lists the metrics of counts that have data, named by the
// catalog, in its order (each flow, its kinds, its counters); metrics the
// catalog does not know come last under their keys. The distinct
// households of a household flow's metric follow it ("visit.households",
// unit 户, after "visit", unit 户次).
func SummaryItems(cat *flows.Catalog, counts flows.Counts) []SummaryItem {
	items := []SummaryItem{}
	add := func(l metricLine) {
		items = append(items, SummaryItem{l.key, l.name, l.unit, l.cur})
		if l.hh != nil && l.hh.cur != 0 {
			items = append(items, SummaryItem{l.key + flows.HouseholdsSuffix, l.name, l.hh.unit, l.hh.cur})
		}
	}
	for _, g := range groupCounts(cat, counts, nil, nil, hhKnown{cur: true}) {
		if g.head.key != "" && g.head.cur != 0 {
			add(g.head)
		}
		for _, l := range g.lines {
			add(l)
		}
	}
	return items
}

// SummaryParagraph words a year's counts as an annual work summary does,
// one clause per report type with data, after lead ("全年共"), then the
// roster coverage when cov is not nil:
// "全年共入户走访1570户、4210户次，其中慢病随访600户（1800户次）；开展巡查…次，
// 发现问题…处；…；辖区花名册登记…户，入户…户，入户率…%；对辖区内…名高血压患者
// 进行每季度随访，随访…人次，规范管理…人，规范管理率…%。"
// Figures are exact and written without thousands separators, as such
// documents write them. With no data at all it says so.
func SummaryParagraph(cat *flows.Catalog, counts flows.Counts, cov *flows.Coverage, lead string) string {
	words := cat.HouseholdWording()
	var clauses []string
	for i := range cat.Flows {
		f := &cat.Flows[i]
		n := counts[f.Key]
		hh := f.CountsHouseholds()
		var kinds, counters []string
		for _, k := range f.Kinds {
			key := f.Key + "." + k.Key
			v := counts[key]
			switch h := counts[key+flows.HouseholdsSuffix]; {
			case v == 0:
			case hh && h != 0:
				kinds = append(kinds, k.Name+fmtPlain(h)+words.Unit+"（"+fmtPlain(v)+words.VisitUnit+"）")
			case hh:
				kinds = append(kinds, k.Name+fmtPlain(v)+words.VisitUnit)
			default:
				kinds = append(kinds, k.Name+fmtPlain(v)+f.Unit)
			}
		}
		for _, c := range f.Counters {
			if v := counts[c.Key]; v != 0 {
				counters = append(counters, c.SummaryPhrase()+fmtPlain(v)+c.Unit)
			}
		}
		if n == 0 && len(kinds) == 0 && len(counters) == 0 {
			continue
		}
		var b strings.Builder
		switch h := counts[f.Key+flows.HouseholdsSuffix]; {
		case n == 0:
		case hh && h != 0:
			b.WriteString(f.SummaryPhrase() + fmtPlain(h) + words.Unit + "、" + fmtPlain(n) + words.VisitUnit)
		case hh:
			b.WriteString(f.SummaryPhrase() + fmtPlain(n) + words.VisitUnit)
		default:
			b.WriteString(f.SummaryPhrase() + fmtPlain(n) + f.Unit)
		}
		if len(kinds) > 0 {
			if b.Len() > 0 {
				b.WriteString("，其中")
			}
			b.WriteString(strings.Join(kinds, "、"))
		}
		if len(counters) > 0 {
			if b.Len() > 0 {
				b.WriteString("，")
			}
			b.WriteString(strings.Join(counters, "，"))
		}
		clauses = append(clauses, b.String())
	}
	if len(clauses) == 0 {
		return strings.TrimSuffix(strings.TrimSuffix(lead, "共"), "，") + "暂无上报数据。"
	}
	return lead + strings.Join(append(clauses, coverageClauses(words, cov)...), "；") + "。"
}

// coverageClauses words a year's roster coverage for the summary with the
// catalog's phrases: the 入户率, and the 规范管理 of each chronic tag with
// patients on the roster.
func coverageClauses(words flows.HouseholdWords, cov *flows.Coverage) []string {
	if cov == nil || cov.Households == 0 {
		return nil
	}
	out := []string{flows.Fill(words.VisitRate, "roster", itoa(cov.Households), "visited", itoa(cov.Visited),
		"rate", flows.RatePercent(cov.VisitRate))}
	for _, m := range cov.Managed {
		if m.Patients > 0 {
			out = append(out, flows.Fill(words.Managed, "tag", m.Tag, "patients", itoa(m.Patients),
				"followups", itoa(m.FollowUps), "managed", itoa(m.Managed), "rate", flows.RatePercent(m.Rate)))
		}
	}
	return out
}
