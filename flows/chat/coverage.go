package chat

import (
	"context"

	"gridbot/flows"
)

// msgNoRoster is what 社区统计 says of coverage while the community has
// no roster (花名册) to count it against.
const msgNoRoster = "📋 导入花名册后可查看入户率和规范管理率（请管理员导入）。"

// countText is a flow metric's figure: "24 次" for a flow without
// households; for one with, its visits (户次) and, when exact and not
// zero, its distinct households (户) before them: "20 户、24 户次".
func countText(cat *flows.Catalog, f *flows.FlowDef, c flows.Counts, key string, exact bool) string {
	if !f.CountsHouseholds() {
		return fmtNum(c[key]) + " " + f.Unit
	}
	w := cat.HouseholdWording()
	s := fmtNum(c[key]) + " " + w.VisitUnit
	if hh := c[key+flows.HouseholdsSuffix]; exact && hh != 0 {
		s = fmtNum(hh) + " " + w.Unit + "、" + s
	}
	return s
}

// coverageLines is the roster coverage in a community's 社区统计: the
// 入户率 of the span's period, for the community and each grid with a
// roster, and the 规范管理 of the span's year. A week is not a stored
// period: it gets the year's 规范管理 only, and says so. Without a roster
// it is the one-line hint msgNoRoster.
func (e *Engine) coverageLines(ctx context.Context, community string, span statSpan) ([]string, error) {
	period := span.Period
	if span.Week {
		period = span.To.String()[:4]
	}
	cv, err := e.Store.Coverage(ctx, flows.Scope{Kind: flows.ScopeCommunity, ID: community}, period)
	if err != nil {
		return nil, err
	}
	if cv.Households == 0 {
		return []string{msgNoRoster}, nil
	}
	unit := e.catalog().HouseholdWording().Unit
	var lines []string
	if span.Week {
		lines = append(lines, "【入户率】按日、月或年统计，发送\"社区统计\"查看本月。")
	} else {
		lines = append(lines, "【入户率】"+flows.RatePercent(cv.VisitRate)+"（已走访 "+itoa(cv.Visited)+" "+unit+" / 花名册 "+itoa(cv.Households)+" "+unit+"）")
		grids, err := communityGrids(ctx, e.Store, community)
		if err != nil {
			return nil, err
		}
		for _, g := range grids {
			gc, err := e.Store.Coverage(ctx, flows.Scope{Kind: flows.ScopeGrid, ID: community + "/" + g}, period)
			if err != nil {
				return nil, err
			}
			if gc.Households > 0 {
				lines = append(lines, "· "+rankLabel(g)+" "+flows.RatePercent(gc.VisitRate)+"（"+itoa(gc.Visited)+"/"+itoa(gc.Households)+" "+unit+"）")
			}
		}
	}
	var managed []string
	for _, m := range cv.Managed {
		if m.Patients > 0 {
			managed = append(managed, "· "+m.Tag+"患者 "+itoa(m.Patients)+" 人，规范管理 "+itoa(m.Managed)+" 人，规范管理率 "+
				flows.RatePercent(m.Rate)+"，随访 "+itoa(m.FollowUps)+" 人次")
		}
	}
	if len(managed) > 0 {
		lines = append(lines, "【规范管理】"+cv.Year+"年（全年随访满 "+itoa(flows.ManagedVisits)+" 次）")
		lines = append(lines, managed...)
	}
	return lines, nil
}
