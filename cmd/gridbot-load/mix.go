package main

import (
	"fmt"
	"strings"
)

// step is one message of a user's traffic and what its reply must be.
type step struct {
	text string
	// want lists the accepted starts of the reply; the reply must begin
	// with one of them. Echo mode replaces it with the text itself.
	want []string
	// saves is what an acknowledged reply adds to the tallies (metric key
	// → amount); nil for a message that saves nothing.
	saves map[string]float64
	// restart: a wrong reply to this step leaves the user somewhere
	// unknown in a form; the next step sent is cancelStep, then the cycle
	// starts over.
	restart bool
}

// Metrics the generator's reports count, and that the tally check compares.
var checkedMetrics = []string{"visit", "visit.chronic", "campaign", "leaflets", "participants"}

// cancelStep leaves whatever form a user is in; any reply is accepted.
var cancelStep = step{text: "取消", want: []string{""}}

// mixes are the traffic patterns of -mix: each makes the n-th step of a
// user's cycle; hh is a household address no other message of this run
// uses.
var mixes = map[string]struct {
	help  string
	cycle int
	step  func(n int, hh func() string) step
}{
	"oneline": {
		help:  "one-line reports only: a chronic-disease visit to a new household, then a publicity campaign, in turn",
		cycle: 2,
		step: func(n int, hh func() string) step {
			if n == 0 {
				return visitLine(hh())
			}
			return campaignLine
		},
	},
	"full": {
		help: "a visit form step by step (走访, household, kind, blood pressure, note, confirm), " +
			"two one-line reports, 本月统计 and 待办, in turn",
		cycle: 10,
		step: func(n int, hh func() string) step {
			switch n {
			case 0:
				return step{text: "走访", want: []string{"【入户走访】1/4"}, restart: true}
			case 1:
				return step{text: hh(), want: []string{"2/4 "}, restart: true}
			case 2:
				return step{text: "1", want: []string{"3/4 "}, restart: true}
			case 3:
				return step{text: "150/95", want: []string{"4/4 "}, restart: true}
			case 4:
				return step{text: "跳过", want: []string{"请确认："}, restart: true}
			case 5:
				return step{text: "1", want: []string{"✅ 已保存。"}, saves: visitSaves, restart: true}
			case 6:
				return visitLine(hh())
			case 7:
				return campaignLine
			case 8:
				return step{text: "本月统计", want: []string{"📊 "}}
			default:
				return step{text: "待办", want: []string{"✅ 暂无待办", "📋 "}}
			}
		},
	},
}

var visitSaves = map[string]float64{"visit": 1, "visit.chronic": 1}

// visitLine is a one-line chronic-disease visit; its reply must state the
// household and the blood pressure as sent.
func visitLine(hh string) step {
	return step{
		text:  "走访 " + hh + " 慢病 150/95",
		want:  []string{"✅ 已记录入户走访：" + hh + "，慢病随访，血压 150/95。"},
		saves: visitSaves,
	}
}

// campaignLine is a one-line publicity campaign; its reply must state the
// two counts as sent.
var campaignLine = step{
	text:  "今天宣传发放资料35份，参与群众12人",
	want:  []string{"✅ 已记录宣传活动：资料 35 份，参与 12 人。"},
	saves: map[string]float64{"campaign": 1, "leaflets": 35, "participants": 12},
}

// household is the address of a user's n-th household in a run tagged
// tag: building tag, unit user+1, room n+101 ("17-3-101").
func household(tag, user, n int) string {
	return fmt.Sprintf("%d-%d-%d", tag, user+1, n+101)
}

// mixNames lists the mixes for -help.
func mixNames() string {
	var b strings.Builder
	for _, name := range []string{"oneline", "full"} {
		fmt.Fprintf(&b, "  %-8s %s\n", name, mixes[name].help)
	}
	return b.String()
}
