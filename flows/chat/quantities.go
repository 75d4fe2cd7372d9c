package chat

import (
	"strings"

	"gridbot/flows"
	"gridbot/flows/zh"
)

// How a one-line report's quantities are attributed (issue 9, rule 1):
// which counter, or the report's Times, each one goes to, and which are
// not counts of their own. The units and words are the catalog's; the
// words here are Chinese, not field knowledge.

// attribute finds where quantity q goes: counter k, or the report's Times
// (isTimes). known is false when nothing in the catalog takes it.
func (p *lineParser) attribute(q zh.Quantity) (k *flows.CounterDef, isTimes, known bool) {
	f := p.f
	switch {
	case q.Unit != "" && f.CountsTimes(q.Unit):
		return nil, true, true
	case q.Unit != "" && !genericUnits[q.Unit]:
		cs := f.CountersByUnit(q.Unit)
		switch len(cs) {
		case 0:
			return nil, false, false
		case 1:
			return cs[0], false, true
		}
		if k := nearestCounter(f, p.t, p.cwords, q.Start, q.End); k != nil && k.TakesUnit(q.Unit) {
			return k, false, true
		}
		return nil, false, false
	case q.Unit != "": // 个: what the word just before it names (发现问题3个)
		for _, w := range p.cwords {
			if w.e <= q.Start && w.s >= q.LeadStart {
				return f.Counter(w.key), false, true
			}
		}
		return nil, false, false
	}
	if k := nearestCounter(f, p.t, p.cwords, q.Start, q.End); k != nil {
		return k, false, true
	}
	if len(f.Counters) == 1 {
		return &f.Counters[0], false, true
	}
	return nil, false, false
}

// genericUnits are classifiers that say nothing of what is counted (3个):
// the word before the number decides, else the bot asks.
var genericUnits = map[string]bool{"个": true}

// partWords mark a number that is a part of a count already given, not a
// count of its own: 其中慢病8户, 已整改3处, 2户不在家. The bot asks.
var partWords = []string{"其中", "整改", "不在家", "没在家", "未见", "没见", "不在", "每"}

// staffWords after a head count say it counts the staff, not the people
// reached (配备4名医务人员): the bot asks.
var staffWords = []string{"医务人员", "工作人员", "医生", "护士", "志愿者", "专家"}

// partOf reports whether q is a part of another count or a count of
// something else than it seems (see partWords, staffWords).
func partOf(q zh.Quantity) bool {
	for _, w := range partWords {
		if strings.Contains(q.Lead, w) || strings.HasPrefix(q.Trail, w) {
			return true
		}
	}
	for _, w := range staffWords {
		if strings.HasPrefix(q.Trail, w) {
			return true
		}
	}
	return false
}
