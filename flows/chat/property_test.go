package chat_test

import (
	"context"
	"math/rand"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestQuantitiesProperty generates campaign reports carrying several
// quantities with units, in random order, number styles and separators,
// and sends each through the real engine (issue 9, rule 1). Whatever the
// bot does, every quantity ends in exactly one counter with its value, or
// the bot asks and saves nothing: no value is summed into another
// counter, none is lost. A message whose quantities all have a counter of
// their unit must be saved, so asking cannot pass for correctness.
func TestQuantitiesProperty(t *testing.T) {
	type item struct {
		key   string // counter key, "times", or "" for a unit the campaign has no counter of
		words []string
		units []string
	}
	items := []item{
		{"leaflets", []string{"发放资料", "宣传单", "手册"}, []string{"份", "张", "本"}},
		{"participants", []string{"参与群众", "受益居民", "参加"}, []string{"人", "名", "人次"}},
		{"garbage_tons", []string{"清运垃圾"}, []string{"吨"}},
		{"times", []string{"共", "开展"}, []string{"场", "次", "期"}},
		{"", []string{"发现隐患", "检查门店"}, []string{"处"}},
		{"", []string{"入户"}, []string{"户"}},
	}
	cn := []string{"", "一", "二", "三", "四", "五", "六", "七", "八", "九"}
	h := newHarness(t, "bbolt")
	h.run(step{text: "@worker w1 阳光社区 3"})
	rng := rand.New(rand.NewSource(9))
	ctx := context.Background()
	saved, asked := 0, 0
	for n := 0; n < 400; n++ {
		k := 1 + rng.Intn(3)
		want := map[string]float64{}
		foreign := false
		var parts []string
		used := map[int]bool{}
		for len(parts) < k {
			i := rng.Intn(len(items))
			if used[i] {
				continue
			}
			used[i] = true
			it := items[i]
			v := 1 + rng.Intn(500)
			if it.key == "times" {
				v = 1 + rng.Intn(9)
			}
			num := strconv.Itoa(v)
			if v < 10 && rng.Intn(2) == 0 {
				num = cn[v]
			}
			unit := it.units[rng.Intn(len(it.units))]
			parts = append(parts, it.words[rng.Intn(len(it.words))]+num+unit)
			if it.key == "" {
				foreign = true
			} else {
				want[it.key] += float64(v)
			}
		}
		seps := []string{" ", "，", ""}
		lead := "宣传 "
		if want["garbage_tons"] != 0 {
			lead = "大扫除 "
		}
		msg := lead + strings.Join(parts, seps[rng.Intn(len(seps))])
		h.clock = h.clock.Add(time.Minute)
		before := countReports(t, h)
		reply := h.say(msg)
		after := countReports(t, h)
		if !strings.HasPrefix(reply, "✅") {
			if after != before {
				t.Fatalf("%q: saved while asking: %q", msg, reply)
			}
			if !foreign {
				t.Errorf("%q: every quantity has a counter of its unit, yet the bot asked: %q", msg, reply)
			}
			h.say("取消")
			asked++
			continue
		}
		if foreign {
			t.Errorf("%q: a quantity of a unit no counter takes, yet saved: %q", msg, reply)
			continue
		}
		r, err := h.db.LastReport(ctx, "w1", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		times := want["times"]
		delete(want, "times")
		if times == 0 {
			times = 1
		}
		if float64(r.TimesOr1()) != times {
			t.Errorf("%q: times %d, want %v (%q)", msg, r.TimesOr1(), times, reply)
		}
		for key, v := range r.Counts {
			if v != want[key] {
				t.Errorf("%q: %s = %v, want %v (%q)", msg, key, v, want[key], reply)
			}
			delete(want, key)
		}
		for key, v := range want {
			t.Errorf("%q: %s = %v lost (%q)", msg, key, v, reply)
		}
		saved++
	}
	t.Logf("%d saved exactly, %d asked", saved, asked)
	if saved == 0 || asked == 0 {
		t.Errorf("degenerate generator: %d saved, %d asked", saved, asked)
	}
}
