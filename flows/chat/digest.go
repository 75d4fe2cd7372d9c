package chat

import (
	"fmt"
	"strings"

	"gridbot/flows"
)

// DigestShow is how many items of each section a digest lists; the rest
// are counted ("…另有 3 项").
const DigestShow = 3

// TemplateKeywordMax is WeChat's limit on one template keyword's value.
const TemplateKeywordMax = 20

// Digest is one worker's daily reminder: their own overdue follow-ups and,
// for a supervisor, the community's items overdue for longer than the
// escalation threshold. It is built by the reminder runner and rendered by
// DigestText or DigestTemplate; it holds no I/O.
type Digest struct {
	Worker flows.Worker
	// Day is the local date of the run ("2006-01-02"); an item is overdue
	// when its Due is before Day.
	Day string
	// Overdue is the worker's own overdue follow-ups, oldest first.
	Overdue []flows.FollowUp
	// Escalated is, for a supervisor, the community's follow-ups overdue for
	// more than EscalateAfterDays, oldest first.
	Escalated         []flows.FollowUp
	EscalateAfterDays int
	// Names maps the openids of Escalated's owners to their names.
	Names map[string]string
}

// Empty reports whether there is nothing to tell.
func (d Digest) Empty() bool { return len(d.Overdue) == 0 && len(d.Escalated) == 0 }

// Labeler names a follow-up's work in Chinese ("慢病随访", "巡查复查").
type Labeler func(flows.FollowUp) string

// DigestText renders a digest as the customer service message a worker
// receives: how many, the oldest few with days overdue, and how to clear
// them. It is "" for an empty digest.
func DigestText(d Digest, label Labeler) string {
	if d.Empty() {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "⏰ 随访提醒（%s）\n", flows.DayCN(d.Day))
	if n := len(d.Overdue); n > 0 {
		fmt.Fprintf(&b, "你有 %d 项随访已逾期：\n", n)
		for i, f := range d.Overdue[:min(n, DigestShow)] {
			fmt.Fprintf(&b, "%d. %s %s，逾期 %d 天\n", i+1, f.Target, label(f), flows.DaysBetween(f.Due, d.Day))
		}
		if n > DigestShow {
			fmt.Fprintf(&b, "…另有 %d 项\n", n-DigestShow)
		}
	}
	if n := len(d.Escalated); n > 0 {
		fmt.Fprintf(&b, "⚠️ 社区有 %d 项逾期超过 %d 天：\n", n, d.EscalateAfterDays)
		for _, f := range d.Escalated[:min(n, DigestShow)] {
			who := d.Names[f.Worker]
			if who == "" {
				who = "未知网格员"
			}
			fmt.Fprintf(&b, "· %s %s：%s %s，逾期 %d 天\n", gridLabel(f.Grid), who, f.Target, label(f), flows.DaysBetween(f.Due, d.Day))
		}
		if n > DigestShow {
			fmt.Fprintf(&b, "…另有 %d 项\n", n-DigestShow)
		}
	}
	if len(d.Overdue) > 0 {
		b.WriteString(`回复"待办"查看全部，照常上报走访或巡查即可销项。`)
	} else {
		b.WriteString(`回复"逾期"查看社区逾期清单，可在管理后台改派。`)
	}
	return b.String()
}

// DigestTemplate renders a digest as the three keyword values of a template
// message (the fallback outside the 48-hour window): what, the oldest item,
// and what to do. Each value is at most TemplateKeywordMax characters.
func DigestTemplate(d Digest, label Labeler) []string {
	if d.Empty() {
		return nil
	}
	var what, oldest string
	switch {
	case len(d.Overdue) > 0 && len(d.Escalated) > 0:
		what = fmt.Sprintf("逾期随访%d项，社区超期%d项", len(d.Overdue), len(d.Escalated))
	case len(d.Overdue) > 0:
		what = fmt.Sprintf("逾期随访%d项", len(d.Overdue))
	default:
		what = fmt.Sprintf("社区超期%d天未随访%d项", d.EscalateAfterDays, len(d.Escalated))
	}
	first := d.Escalated
	if len(d.Overdue) > 0 {
		first = d.Overdue
	}
	f := first[0]
	oldest = fmt.Sprintf("%s逾期%d天", f.Target, flows.DaysBetween(f.Due, d.Day))
	if l := label(f); l != "" && len([]rune(l+" "+oldest)) <= TemplateKeywordMax {
		oldest = l + " " + oldest
	}
	todo := `回复"待办"查看并处理`
	if len(d.Overdue) == 0 {
		todo = `回复"逾期"查看清单`
	}
	return []string{ClipRunes(what, TemplateKeywordMax), ClipRunes(oldest, TemplateKeywordMax), ClipRunes(todo, TemplateKeywordMax)}
}

// ClipRunes cuts s to at most n characters, ending with "…" when cut.
func ClipRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 1 {
		return string(r[:n])
	}
	return string(r[:n-1]) + "…"
}

// gridLabel names a grid for people: "1" becomes "1网格", "第一网格" stays.
func gridLabel(g string) string {
	if g == "" {
		return "未分网格"
	}
	if strings.HasSuffix(g, "网格") || strings.HasSuffix(g, "格") {
		return g
	}
	return g + "网格"
}
