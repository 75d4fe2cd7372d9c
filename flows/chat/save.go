package chat

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"gridbot/flows"
)

// complete builds the report from the form and saves it.
func (e *Engine) complete(c *turn, oneLine bool) (string, error) {
	f := c.flow()
	if len(c.s.Households) > 1 {
		return e.saveHouseholds(c, f)
	}
	r := e.buildReport(c, f)
	if q, err := e.againQuestion(c, f, r); q != "" || err != nil {
		return q, err
	}
	return e.save(c, r, oneLine)
}

// againQuestion asks before recording a household, kind and day recorded
// already (issue 9, rule 7): "今天已记过 3-2-201 的慢病随访，再记一次？1 记
// 0 不记". "" when it was not, or the worker said to record it again.
func (e *Engine) againQuestion(c *turn, f *flows.FlowDef, r flows.Report) (string, error) {
	if !r.Household || c.s.Again {
		return "", nil
	}
	metrics := []string{f.Key}
	for _, k := range r.AllKinds() {
		metrics = append(metrics, f.Key+"."+k)
	}
	what := f.Short
	for _, m := range metrics[min(1, len(metrics)-1):] {
		n, err := e.Store.HouseholdVisits(c.ctx, r.Community, r.Target, m, r.Day)
		if err != nil {
			return "", err
		}
		if n == 0 {
			continue
		}
		if last, err := e.Store.LastReport(c.ctx, r.Worker, time.Time{}); err == nil && r.MsgKey != "" && last.MsgKey == r.MsgKey {
			return "", nil // this very message, delivered again: the store dedupes it
		} else if err != nil && flows.ErrorCode(err) != flows.ENotFound {
			return "", err
		}
		if _, kk, ok := strings.Cut(m, "."); ok {
			if k := f.Kind(kk); k != nil {
				what = k.Name
			}
		}
		when := "今天"
		if r.Day != c.day() {
			when = flows.DayCN(r.Day)
		}
		c.s.Step = stepAgain
		return when + "已记过 " + r.Target + " 的" + what + "，再记一次？1 记 0 不记", nil
	}
	return "", nil
}

// buildReport turns the session's answers into a Report, with its
// follow-up effect.
func (e *Engine) buildReport(c *turn, f *flows.FlowDef) flows.Report {
	s := c.s
	day := s.Day
	if day == "" {
		day = c.day()
	}
	key := c.msgKey
	if s.FormID != "" {
		key = "form:" + s.FormID // a stored form: saved once, however often confirmed
	}
	r := flows.Report{
		MsgKey: key, Worker: c.w.OpenID, Community: c.w.Community, Grid: c.w.Grid,
		Flow: f.Key, Day: day, CreatedAt: e.now(),
	}
	if s.Location != nil {
		loc := *s.Location
		r.Location = &loc
	}
	r.Images = slices.Clone(s.Images)
	if s.Times > 1 {
		r.Times = s.Times
	}
	for i := range f.Fields {
		fd := &f.Fields[i]
		if yes, _ := applies(fd, s.Answers); !yes {
			continue
		}
		v := s.Answers[fd.Key]
		if v == "" {
			continue
		}
		fd.Store(&r, v)
	}
	if r.Target == "" {
		return r
	}
	r.Household = fieldOfType(f, flows.FieldHousehold) != nil
	switch f.FollowUp {
	case flows.FollowByKind:
		// One schedule per kind: a visit of several kinds closes every
		// open follow-up those kinds cover and opens each next one.
		for _, kind := range r.AllKinds() {
			fe := flows.FollowEffect{Key: flows.FollowKey(r.Community, f.Key, kind, r.Target), Kind: kind}
			if s.NextDue != "" {
				fe.NextDue = s.NextDue
			} else if k := f.Kind(kind); k != nil && k.FollowUpDays > 0 {
				fe.NextDue = flows.AddDays(day, k.FollowUpDays)
			}
			r.Follows = append(r.Follows, fe)
		}
		if len(r.Follows) == 1 {
			r.FollowKey, r.NextDue, r.Follows = r.Follows[0].Key, r.Follows[0].NextDue, nil
		}
	case flows.FollowRecheck:
		// Every inspection of a place closes its open re-check; a new one
		// is opened only when problems were found and not yet rectified.
		r.FollowKey = flows.FollowKey(r.Community, f.Key, "", r.Target)
		// A stated deadline (限期3天整改) says there is something to re-check.
		open := f.RecheckCounter == "" || r.Counts[f.RecheckCounter] > 0 || s.Deadline > 0
		if open && !s.Rectified {
			days := f.RecheckDays
			if s.Deadline > 0 {
				days = s.Deadline
			}
			r.NextDue = flows.AddDays(day, days)
		}
	}
	return r
}

// save stores the report and answers with the ack. A report whose MsgKey
// was saved before is not saved again and gets the same ack.
func (e *Engine) save(c *turn, r flows.Report, oneLine bool) (string, error) {
	if !flows.ValidDay(r.Day) {
		// Never store a report without a real day: every tally derives
		// from it. Reaching this is a bug; nothing is saved.
		return "", flows.Errorf(flows.EInternal, "save %s report: invalid day %q", r.Flow, r.Day)
	}
	saved, _, err := e.Store.SaveReport(c.ctx, r)
	if err != nil {
		return "", err
	}
	c.saved = true
	c.s.reset()
	if r.MsgKey != "" {
		c.s.Done, c.s.DoneOneLine, c.s.DoneMsg = &r, oneLine, c.msgKey
	}
	return e.ack(c, saved, oneLine)
}

// ack is "✅ 已保存。本月你已走访 20 户、24 户次（慢病随访 8 户、10 户次）。下次随访 2027-02-26。"
// or, for a one-line report, "✅ 已记录宣传活动：资料 400 份，参与 35 人。本月累计：…"
func (e *Engine) ack(c *turn, r flows.Report, oneLine bool) (string, error) {
	f := e.catalog().Flow(r.Flow)
	if f == nil {
		return "✅ 已保存。", nil
	}
	var b strings.Builder
	var when string // a day other than the message's: "（11月20日）"
	if r.Day != c.day() {
		when = "（" + flows.DayCN(r.Day) + "）"
		if r.Day[:4] != c.day()[:4] {
			when = "（" + r.Day[:4] + "年" + flows.DayCN(r.Day) + "）"
		}
	}
	if oneLine {
		b.WriteString("✅ 已记录" + f.Name + when)
		parts := e.parts(f, reportAnswers(f, r), false)
		if tp := timesPart(f, r.Times, r.Target == ""); tp != "" {
			parts = append([]string{tp}, parts...)
		}
		if len(parts) > 0 {
			b.WriteString("：" + strings.Join(parts, "，"))
		}
		b.WriteString("。")
	} else {
		b.WriteString("✅ 已保存" + when + "。")
	}
	line, err := e.tallyLine(c, f, r)
	if err != nil {
		return "", err
	}
	b.WriteString(line)
	if r.ClosedFollowUp != 0 {
		fu, err := e.Store.FollowUp(c.ctx, r.ClosedFollowUp)
		if err != nil && flows.ErrorCode(err) != flows.ENotFound {
			return "", err
		}
		if err == nil {
			b.WriteString(clearedClause(c, f, r, fu))
		}
	}
	fx, err := e.effectsClause(c, f, r)
	if err != nil {
		return "", err
	}
	b.WriteString(fx)
	return b.String(), nil
}

// effectsClause says what the report did to its schedules beyond the
// first one closed: the next due day of each kind ("下次随访 2027-02-26。"
// or, for several kinds, "下次随访：慢病随访 2027-02-26，老年人探访
// 2026-12-28。"), the other follow-ups it closed, and for a household
// whose follow-up belongs to another grid's worker, that it was left
// alone: "该户属于3网格（张三）的随访，已记录走访，随访未变更。"
func (e *Engine) effectsClause(c *turn, f *flows.FlowDef, r flows.Report) (string, error) {
	fx := r.Effects()
	var due, foreign []string
	closed := 0
	for _, x := range fx {
		if x.Closed != 0 {
			closed++
		}
		if x.Foreign != 0 {
			who := x.OwnerGrid + "网格"
			if w, err := e.Store.Worker(c.ctx, x.Owner); err == nil && w.Name != "" {
				who += "（" + w.Name + "）"
			} else if err != nil && flows.ErrorCode(err) != flows.ENotFound {
				return "", err
			}
			what := f.Short
			if k := f.Kind(x.Kind); k != nil {
				what = k.Name
			}
			foreign = append(foreign, "该户属于"+who+"的"+what+"，已记录"+f.Short+"，随访未变更。")
			continue
		}
		if x.NextDue == "" || x.Stale {
			continue // a back-dated report opens nothing over a newer schedule
		}
		if k := f.Kind(x.Kind); k != nil && len(fx) > 1 {
			due = append(due, k.Name+" "+x.NextDue)
		} else {
			due = append(due, x.NextDue)
		}
	}
	var b strings.Builder
	if closed > 1 {
		b.WriteString("共销项 " + itoa(closed) + " 条随访。")
	}
	switch {
	case len(due) == 1:
		b.WriteString(f.DueLabel + " " + due[0] + "。")
	case len(due) > 1:
		b.WriteString(f.DueLabel + "：" + strings.Join(due, "，") + "。")
	}
	b.WriteString(strings.Join(foreign, ""))
	return b.String(), nil
}

// timesPart says a report of several sessions or visits: "2 次", or
// "3 户（未登记户号，不安排随访）" for visits with no household; "" for one.
func timesPart(f *flows.FlowDef, times int, noTarget bool) string {
	if times <= 1 {
		return ""
	}
	s := fmtNum(float64(times)) + " " + f.Unit
	if noTarget && fieldOfType(f, flows.FieldHousehold) != nil {
		s += "（未登记户号，不安排随访）"
	}
	return s
}

// clearedClause is what the ack says of the open follow-up fu the report
// r closed: "已销项：原定 12月1日 的随访。" for a next visit; for a re-check
// the report clears without opening a new one, "该处复查已销号。".
func clearedClause(c *turn, f *flows.FlowDef, r flows.Report, fu flows.FollowUp) string {
	if f.FollowUp == flows.FollowRecheck {
		if r.NextDue != "" {
			return ""
		}
		return msgRecheckCleared
	}
	what := strings.TrimPrefix(f.DueLabel, "下次")
	if what == "" {
		what = "随访"
	}
	due := flows.DayCN(fu.Due)
	if len(fu.Due) == 10 && fu.Due[:4] != c.day()[:4] {
		due = fu.Due[:4] + "年" + due
	}
	return "已销项：原定 " + due + " 的" + what + "。"
}

// tallyLine is the worker's month in the report's metrics: "本月你已走访
// 20 户、24 户次（慢病随访 8 户、10 户次）。" for a flow without counters
// (户: distinct households, 户次: visits), "本月累计：宣传 3 次，
// 资料 1,150 份，参与 98 人。" for one with counters.
func (e *Engine) tallyLine(c *turn, f *flows.FlowDef, r flows.Report) (string, error) {
	month := r.Day[:7]
	counts, err := e.Store.Tally(c.ctx, flows.Scope{Kind: flows.ScopeWorker, ID: r.Worker}, month)
	if err != nil {
		return "", err
	}
	when := "本月"
	var buf [len("2006-01")]byte
	if now := e.now().In(e.zone()).AppendFormat(buf[:0], "2006-01"); month != string(now) {
		when = monthCN(month)
		if month[:4] == string(now[:4]) {
			when = when[len(month[:4])+len("年"):] // "11月" within this year
		}
	}
	cat := e.catalog()
	if len(f.Counters) == 0 {
		s := when + "你已" + f.Short + " " + countText(cat, f, counts, f.Key, true)
		if k := f.Kind(r.Kind); k != nil {
			s += "（" + k.Name + " " + countText(cat, f, counts, f.Key+"."+k.Key, true) + "）"
		}
		return s + "。", nil
	}
	s := when + "累计：" + f.Short + " " + countText(cat, f, counts, f.Key, true)
	for _, k := range f.Counters {
		if r.Counts[k.Key] != 0 {
			s += "，" + k.Name + " " + fmtNum(counts[k.Key]) + " " + k.Unit
		}
	}
	return s + "。", nil
}

// reportAnswers maps a saved report back to field answers, for summaries.
func reportAnswers(f *flows.FlowDef, r flows.Report) map[string]string {
	a := map[string]string{}
	for _, fd := range f.Fields {
		switch fd.Type {
		case flows.FieldHousehold, flows.FieldPlace:
			a[fd.Key] = r.Target
		case flows.FieldKind:
			a[fd.Key] = strings.Join(r.AllKinds(), ",")
		case flows.FieldCounter:
			if v := r.Counts[fd.Key]; v != 0 {
				a[fd.Key] = strconv.FormatFloat(v, 'f', -1, 64)
			}
		default:
			a[fd.Key] = r.Fields[fd.Key]
		}
	}
	return a
}

// describe is one line about a saved report: "11月28日 入户走访：3-2-201｜慢病随访".
func (e *Engine) describe(r flows.Report) string {
	f := e.catalog().Flow(r.Flow)
	if f == nil {
		return flows.DayCN(r.Day) + " " + r.Flow
	}
	s := flows.DayCN(r.Day) + " " + f.Name
	if parts := e.parts(f, reportAnswers(f, r), true); len(parts) > 0 {
		s += "：" + strings.Join(parts, "｜")
	}
	return s
}
