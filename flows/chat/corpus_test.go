package chat_test

import (
	"bufio"
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/flows/zh"
)

// TestCorpusEngine runs every phrasing of flows/testdata/corpus.tsv through
// the real engine (bbolt store, one bound worker) as a one-line report and
// checks the saved report against the corpus's 4th column (issue 9, rule 1):
// each counter with its value, sessions and households as Report.Times, a
// deadline as the re-check's due day; "ask" means the bot must ask and save
// nothing. A phrasing that names no flow is sent after the word of the flow
// its counters belong to (巡查, 走访 or 宣传). When the corpus expects a
// counter the chosen flow does not have (发放慰问品4份 on a visit), the bot
// must ask, since a number is never added to a counter of another unit.
//
// The bot's follow-up questions are answered as a worker would: the
// household numbers with 不登记户号, a missing kind with 1, a missing place
// or household with one, a plausible-range check with the 确认 it offers.
func TestCorpusEngine(t *testing.T) {
	f, err := os.Open("../testdata/corpus.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := newHarness(t, "bbolt")
	h.run(step{text: "@worker w1 阳光社区 3"})
	cat := flows.Shipped()
	ctx := context.Background()
	sc := bufio.NewScanner(f)
	line, total, pass, asked, mismatch := 0, 0, 0, 0, 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.HasPrefix(text, "#") || strings.TrimSpace(text) == "" {
			continue
		}
		col := strings.Split(text, "\t")
		if len(col) != 4 {
			t.Fatalf("corpus.tsv:%d: %d columns", line, len(col))
		}
		total++
		msg, want := col[0], parseCounters(col[3])
		fl, _, _ := cat.FlowByWord(msg)
		if fl == nil {
			var word string
			fl, word = flowFor(cat, want)
			msg = word + " " + msg
		}
		// A question is never a report (rule 10): the bot answers it.
		expectAsk := want["ask"] != "" || !fits(fl, want) || zh.IsQuestion(msg)
		if !fits(fl, want) {
			mismatch++
		}
		h.clock = h.clock.Add(time.Minute)
		before := countReports(t, h)
		replies := []string{h.say(msg)}
		if expectAsk {
			if countReports(t, h) != before || strings.HasPrefix(replies[0], "✅") {
				t.Errorf("corpus.tsv:%d: %q: want the bot to ask, got %q", line, msg, replies[0])
				continue
			}
			h.say("取消")
			pass++
			asked++
			continue
		}
		for i := 0; i < 4 && !strings.HasPrefix(replies[len(replies)-1], "✅"); i++ {
			ans := answerFor(replies[len(replies)-1])
			if ans == "" {
				break
			}
			replies = append(replies, h.say(ans))
		}
		last := replies[len(replies)-1]
		if !strings.HasPrefix(last, "✅") {
			t.Errorf("corpus.tsv:%d: %q (%s): not saved:\n%s", line, msg, col[3], strings.Join(replies, "\n---\n"))
			h.say("取消")
			continue
		}
		r, err := h.db.LastReport(ctx, "w1", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		added := countReports(t, h) - before
		if n, _ := strconv.Atoi(want["households"]); n > 1 && added == n && r.Household {
			pass++ // one report per household named
			continue
		}
		if d := compareReport(fl, r, want); d != "" {
			t.Errorf("corpus.tsv:%d: %q (%s): %s\n%s", line, msg, col[3], d, strings.Join(replies, "\n---\n"))
			continue
		}
		pass++
	}
	t.Logf("corpus: %d/%d phrasings pass (%d asked, %d of them because the flow has no counter of that unit)", pass, total, asked, mismatch)
}

// say sends a text message as the harness's worker and returns the reply.
func (h *harness) say(text string) string {
	h.t.Helper()
	in, _ := h.inbound(">", text)
	reply, err := h.eng.Handle(context.Background(), in)
	if err != nil {
		h.t.Fatalf("Handle %q: %v", text, err)
	}
	return reply.Text
}

func countReports(t *testing.T, h *harness) int {
	n := 0
	err := h.db.Reports(context.Background(), flows.Scope{Kind: flows.ScopeWorker, ID: "w1"}, "", true, func(flows.Report) error { n++; return nil })
	if err != nil {
		// An empty period is not every store's "all": count this year.
		n = 0
		for _, p := range []string{"2025", "2026"} {
			if err := h.db.Reports(context.Background(), flows.Scope{Kind: flows.ScopeWorker, ID: "w1"}, p, true, func(flows.Report) error { n++; return nil }); err != nil {
				t.Fatal(err)
			}
		}
	}
	return n
}

func parseCounters(s string) map[string]string {
	out := map[string]string{}
	if s == "-" {
		return out
	}
	for _, it := range strings.Split(s, ";") {
		k, v, _ := strings.Cut(it, "=")
		if k == "ask" {
			v = "1"
		}
		out[k] = v
	}
	return out
}

// flowFor is the flow a phrasing without a flow word is sent to, and the
// word that starts it (大扫除 for garbage, which only a cleanup counts).
func flowFor(cat *flows.Catalog, want map[string]string) (*flows.FlowDef, string) {
	switch {
	case want["issues_found"] != "" || want["deadline"] != "":
		return cat.Flow("inspection"), "巡查"
	case want["households"] != "":
		return cat.Flow("visit"), "走访"
	case want["garbage_tons"] != "":
		return cat.Flow("campaign"), "大扫除"
	}
	return cat.Flow("campaign"), "宣传"
}

// fits reports whether flow f can count everything want lists.
func fits(f *flows.FlowDef, want map[string]string) bool {
	for k := range want {
		switch k {
		case "ask":
		case "sessions":
			if f.Key != "campaign" && f.Key != "inspection" {
				return false
			}
		case "households":
			if f.Key != "visit" {
				return false
			}
		case "deadline":
			if f.FollowUp != flows.FollowRecheck {
				return false
			}
		case "glucose":
			if f.Field("glucose") == nil {
				return false
			}
		default:
			if f.Counter(k) == nil {
				return false
			}
		}
	}
	return true
}

var confirmRe = regexp.MustCompile(`"(确认 [0-9.]+)"`)

// answerFor is how a worker answers the bot's question; "" when it asked
// something the corpus does not settle.
func answerFor(reply string) string {
	switch {
	case strings.Contains(reply, `"不登记户号"`):
		return "不登记户号"
	case confirmRe.MatchString(reply):
		return confirmRe.FindStringSubmatch(reply)[1]
	case strings.Contains(reply, "回复 1 保存"), strings.Contains(reply, "1 记 0 不记"), strings.Contains(reply, "1 是 0 不是"):
		return "1"
	case strings.Contains(reply, "类型："):
		return "1"
	case strings.Contains(reply, "巡查地点"):
		return "菜市场"
	case strings.Contains(reply, "户号或地址"):
		return "3-2-201"
	case strings.Contains(reply, `没测请回复"跳过"`), strings.Contains(reply, `（可"跳过"）`):
		return "跳过"
	}
	return ""
}

// compareReport says how r differs from what the corpus wants ("" when not).
func compareReport(f *flows.FlowDef, r flows.Report, want map[string]string) string {
	counts := map[string]float64{}
	for k, v := range r.Counts {
		if v != 0 {
			counts[k] = v
		}
	}
	times := "1"
	for k, v := range want {
		switch k {
		case "sessions", "households":
			times = v
		case "deadline":
			n, _ := strconv.Atoi(v)
			if due := flows.AddDays(r.Day, n); r.NextDue != due {
				return "next due " + r.NextDue + ", want " + due
			}
		case "glucose":
			if r.Fields["glucose"] != v {
				return "glucose " + r.Fields["glucose"] + ", want " + v
			}
		default:
			x, _ := strconv.ParseFloat(v, 64)
			if counts[k] != x {
				return k + " " + strconv.FormatFloat(counts[k], 'f', -1, 64) + ", want " + v
			}
			delete(counts, k)
		}
	}
	if len(counts) > 0 {
		return "counted more than listed: " + fmtCounts(counts)
	}
	if got := strconv.Itoa(r.TimesOr1()); got != times {
		return "times " + got + ", want " + times
	}
	if want["households"] != "" && (r.Target != "" || r.Household) {
		return "a count of households became household " + r.Target
	}
	return ""
}

func fmtCounts(m map[string]float64) string {
	var s []string
	for k, v := range m {
		s = append(s, k+"="+strconv.FormatFloat(v, 'f', -1, 64))
	}
	return strings.Join(s, ";")
}
