package zh

import (
	"bufio"
	"fmt"
	"math"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"
)

// fmtQuantity renders a quantity as the corpus writes it: "200 份 ~",
// "60 _", "? 人" for a vague one.
func fmtQuantity(q Quantity) string {
	v := strconv.FormatFloat(q.Value, 'f', -1, 64)
	if q.Vague {
		v = "?"
	}
	u := q.Unit
	if u == "" {
		u = "_"
	}
	s := v + " " + u
	if q.Approx {
		s += " ~"
	}
	return s
}

var quantityCases = []struct {
	in   string
	want []string // fmtQuantity "|" span "|" lead "|" trail
}{
	{"开展健康知识讲座1次 参与群众60人 发放宣传资料200余份", []string{
		"1 次|1次|开展健康知识讲座|", "60 人|60人|参与群众|", "200 份 ~|200余份|发放宣传资料|"}},
	{"义诊1次 测血压80人次", []string{"1 次|1次|义诊|", "80 人次|80人次|测血压|"}},
	{"召开居民议事会议1次 参会30人", []string{"1 次|1次|召开居民议事会议|", "30 人|30人|参会|"}},
	{"讲座1次参与群众60人", []string{"1 次|1次|讲座|参与群众", "60 人|60人|参与群众|"}},
	{"发放资料100，200人参与", []string{"100 _|100|发放资料|", "200 人|200人||参与"}},
	{"走访二十来户", []string{"20 户 ~|二十来户|走访|"}},
	{"垃圾2.5吨 堵塞1处", []string{"2.5 吨|2.5吨|垃圾|", "1 处|1处|堵塞|"}},
	{"清理垃圾两吨半", []string{"2.5 吨|两吨半|清理垃圾|"}},
	{"清理垃圾二点五吨", []string{"2.5 吨|二点五吨|清理垃圾|"}},
	{"下午二点五十分到", nil},
	{"限期3天整改", []string{"3 天|3天|限期|整改"}},
	{"99999999999份", []string{"99999999999 份|99999999999份||"}},
	{"联系电话13812345678", nil},
	{"走访阳光花园2期5栋1单元101", nil},
	{"黑板报2期", []string{"2 期|2期|黑板报|"}},
	{"高血压患者3户", []string{"3 户|3户|高血压患者|"}},
	{"对346名孕妇", []string{"346 名|346名|对|孕妇"}},
	{"参与群众约400人，资料四百余份，１，２００份", []string{"400 人 ~|约400人|参与群众|", "400 份 ~|四百余份|资料|", "1200 份|１，２００份||"}},
	{"群众几十人 资料十几份 二三十人", []string{"? 人|几十人|群众|", "? 份|十几份|资料|", "? 人|二三十人||"}},
	{"参加50-60人 资料200到300份", []string{"? 人|50-60人|参加|", "? 份|200到300份|资料|"}},
	{"他住了十几年", nil},
	{"群众百余人 资料千多份 上千人 数百份", []string{"100 人 ~|百余人|群众|", "1000 份 ~|千多份|资料|", "1000 人 ~|上千人||", "? 份|数百份||"}},
	{"资料 -20份 负5人", []string{"-20 份|-20份|资料|", "-5 人|负5人||"}},
	{"80岁老人 入户率90%以上", []string{"80 岁|80岁||老人", "90 % ~|90%以上|入户率|"}},
	{"第3期宣传", nil},
	{"11月5日走访3-2-201 血压150/95 上午9点 10:30", nil},
	{"", nil},
}

func TestQuantities(t *testing.T) {
	for _, c := range quantityCases {
		var got []string
		for _, q := range Quantities(c.in) {
			got = append(got, fmt.Sprintf("%s|%s|%s|%s", fmtQuantity(q), c.in[q.Start:q.End], q.Lead, q.Trail))
			if c.in[q.LeadStart:q.LeadStart+len(q.Lead)] != q.Lead {
				t.Errorf("Quantities(%q): LeadStart %d does not point at %q", c.in, q.LeadStart, q.Lead)
			}
		}
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("Quantities(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestQuantityFlags(t *testing.T) {
	qs := Quantities("资料200份 约300人 " + strings.Repeat("9", 400) + "份 1234567890123456789份 2.5吨 3斤 1000公斤")
	if len(qs) != 7 {
		t.Fatalf("got %d quantities: %+v", len(qs), qs)
	}
	if !qs[0].Exact || qs[0].Class != ClassItems || qs[1].Exact || !qs[1].Approx || qs[1].Class != ClassPeople {
		t.Errorf("flags: %+v %+v", qs[0], qs[1])
	}
	if !math.IsInf(qs[2].Value, 1) || qs[2].Exact {
		t.Errorf("a 400-digit count must be +Inf and not exact, got %+v", qs[2])
	}
	if qs[3].Exact || qs[3].Value < 1e18 {
		t.Errorf("a 19-digit count must be huge and not exact, got %+v", qs[3])
	}
	for i, want := range []float64{2.5, 0.0015, 1} {
		if tons, ok := qs[4+i].Tons(); !ok || math.Abs(tons-want) > 1e-12 || qs[4+i].Class != ClassWeight {
			t.Errorf("%q Tons() = %v %v, want %v", qs[4+i].Unit, tons, ok, want)
		}
	}
	if _, ok := qs[0].Tons(); ok {
		t.Errorf("份 is no weight")
	}
	if ClassHouseholds.String() != "households" || Class(99).String() != "invalid" {
		t.Errorf("Class.String: %q %q", ClassHouseholds, Class(99))
	}
}

// corpusStop are the words that end the text before an estate name: the
// shipped catalog's flow and kind words (flows/defaults.toml), as the
// line parser will pass them.
var corpusStop = []string{"走访", "入户", "家访", "随访", "访视", "走防", "慢病", "高血压", "糖尿病", "老人", "新生儿", "孕产妇", "巡查", "宣传"}

// corpusKeys are the keys the corpus's counter column may use.
var corpusKeys = map[string]bool{
	"sessions": true, "participants": true, "leaflets": true, "households": true,
	"issues_found": true, "garbage_tons": true, "deadline": true, "glucose": true,
}

// TestCorpus runs every phrasing of testdata/corpus.tsv (header comment
// there) through Quantities and FindHouseholdID, and checks that the
// counter column is well formed and accounts for what was found.
func TestCorpus(t *testing.T) {
	f, err := os.Open("../testdata/corpus.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n, line := 0, 0
	for sc.Scan() {
		line++
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		n++
		col := strings.Split(l, "\t")
		if len(col) != 4 {
			t.Errorf("corpus.tsv:%d: %d columns, want 4", line, len(col))
			continue
		}
		text, wantQ, wantHH, counters := col[0], col[1], col[2], col[3]
		qs := Quantities(text)
		var got []string
		for _, q := range qs {
			got = append(got, fmtQuantity(q))
		}
		var want []string
		var kws []string
		if wantQ != "-" {
			for _, item := range strings.Split(wantQ, ";") {
				f := strings.Fields(item)
				kw := ""
				if len(f) > 0 && strings.HasPrefix(f[len(f)-1], "@") {
					kw, f = strings.TrimPrefix(f[len(f)-1], "@"), f[:len(f)-1]
				}
				want = append(want, strings.Join(f, " "))
				kws = append(kws, kw)
			}
		}
		if strings.Join(got, ";") != strings.Join(want, ";") {
			t.Errorf("corpus.tsv:%d: Quantities(%q)\n got %q\nwant %q", line, text, got, want)
		} else {
			for i, kw := range kws {
				if kw != "" && !strings.Contains(qs[i].Lead, kw) && !strings.Contains(qs[i].Trail, kw) {
					t.Errorf("corpus.tsv:%d: %q: %s has lead %q, trail %q; want the keyword %q", line, text, got[i], qs[i].Lead, qs[i].Trail, kw)
				}
			}
		}
		hh := "-"
		if h, ok := FindHouseholdID(text, corpusStop); ok {
			hh = h.String()
			if h.Start < 0 || h.End > len(text) || h.Start >= h.End {
				t.Errorf("corpus.tsv:%d: household span [%d,%d)", line, h.Start, h.End)
			}
		}
		if hh != wantHH {
			t.Errorf("corpus.tsv:%d: FindHouseholdID(%q) = %q, want %q", line, text, hh, wantHH)
		}
		checkCounters(t, line, text, counters, qs)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d phrasings", n)
	if n < 250 {
		t.Errorf("corpus has %d phrasings, want at least 250", n)
	}
}

// checkCounters checks a corpus counter column: "-", or key=value and ask
// items; each value is the value of a quantity found (in tons for a
// weight, in days for a deadline) or the sum of several, and there are no
// more asks than quantities and vague amounts.
func checkCounters(t *testing.T, line int, text, col string, qs []Quantity) {
	t.Helper()
	if col == "-" {
		return
	}
	asks := 0
	for _, item := range strings.Split(col, ";") {
		if item == "ask" {
			asks++
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		val, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || !corpusKeys[k] {
			t.Errorf("corpus.tsv:%d: bad counter item %q", line, item)
			continue
		}
		var values []float64
		for _, q := range qs {
			x := q.Value
			if tons, ok := q.Tons(); ok && k == "garbage_tons" {
				x = tons
			}
			if q.Unit == "周" && k == "deadline" {
				x *= 7
			}
			values = append(values, x)
		}
		if !sumOfSome(values, val) {
			t.Errorf("corpus.tsv:%d: %q: %s is no quantity found (nor a sum of some): %v", line, text, item, values)
		}
	}
	if asks > len(qs)+1 {
		t.Errorf("corpus.tsv:%d: %d asks for %d quantities", line, asks, len(qs))
	}
}

// sumOfSome reports whether want is one of vs or the sum of a subset.
func sumOfSome(vs []float64, want float64) bool {
	if len(vs) > 12 {
		vs = vs[:12]
	}
	for m := 1; m < 1<<len(vs); m++ {
		s := 0.0
		for i, v := range vs {
			if m&(1<<i) != 0 {
				s += v
			}
		}
		if math.Abs(s-want) < 1e-9*math.Max(1, math.Abs(want)) {
			return true
		}
	}
	return false
}

// TestQuantitiesProperty generates messages carrying several quantities
// with units in random order, written in digits, full-width digits,
// Chinese numerals or with thousands separators, with and without
// approximation words, joined by separators, filler words or nothing, with
// digits that are no quantity (households, dates, readings, phone
// numbers) between them, and checks that each is found exactly once with
// its value and unit, none summed into another and none lost; an amount
// that is no single value (十几份, 50-60人) is found once as Vague, for the
// bot to ask.
func TestQuantitiesProperty(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	keywords := map[string][]string{
		"次": {"讲座", "开展义诊", "召开会议", "宣传"}, "场": {"讲座", "培训"}, "人": {"参与群众", "参会", "受益群众", "参加"},
		"人次": {"测血压", "体检"}, "名": {"老人", "志愿者"}, "份": {"发放宣传资料", "资料", "宣传单"}, "张": {"海报"},
		"户": {"走访", "入户"}, "处": {"发现隐患", "堵塞", "卫生死角"}, "吨": {"清运垃圾", "垃圾"}, "天": {"限期"},
	}
	unitsList := []string{"次", "场", "人", "人次", "名", "份", "张", "户", "处", "吨", "天"}
	distractors := []string{"走访3-2-201 ", "阳光花园2期5栋1单元101", "血压150/95，", "12月5日", "联系电话13812345678，", "10:30", "第3", "在幸福路12号", "下午3点", "2026-11-05", "血压一百四十 九十，"}
	seps := []string{"，", ",", " ", "　", "；", "、", "", "。然后", " 另外", "，其中"}
	for iter := 0; iter < 3000; iter++ {
		k := 1 + rng.Intn(5)
		var b strings.Builder
		type gen struct {
			value  float64
			unit   string
			approx bool
			vague  bool
		}
		var want []gen
		if rng.Intn(3) == 0 {
			b.WriteString([]string{"今天", "昨天下午", "11月5日", "2026-11-05 ", "上午9点在广场"}[rng.Intn(5)])
		}
		for j := 0; j < k; j++ {
			if j > 0 {
				b.WriteString(seps[rng.Intn(len(seps))])
			}
			if rng.Intn(4) == 0 {
				// Digits that are no quantity: they must not be found.
				b.WriteString(distractors[rng.Intn(len(distractors))])
			}
			u := unitsList[rng.Intn(len(unitsList))]
			kw := keywords[u][rng.Intn(len(keywords[u]))]
			b.WriteString(kw)
			switch rng.Intn(6) {
			case 0:
				b.WriteString(" ")
			case 1:
				b.WriteString([]string{"共", "了", "有", "共计", "达"}[rng.Intn(5)])
			}
			if rng.Intn(8) == 0 {
				// An amount that is no single value: found once, vague, to ask.
				b.WriteString([]string{"十几", "几十", "二三十", "50-60", "200到300", "数百"}[rng.Intn(6)] + u)
				want = append(want, gen{unit: u, vague: true})
				continue
			}
			v := float64(1 + rng.Intn(2000))
			if u == "吨" && rng.Intn(2) == 0 {
				v += 0.5
			}
			approx := false
			num := writeNumber(rng, v)
			switch rng.Intn(6) {
			case 0:
				num, approx = "约"+num, true
			case 1:
				if !strings.ContainsAny(num, ".") {
					num, approx = num+"余", true
				}
			case 2:
				if !strings.ContainsAny(num, ".") {
					num, approx = num+"多", true
				}
			}
			b.WriteString(num + u)
			if rng.Intn(5) == 0 && !approx {
				b.WriteString("左右")
				approx = true
			}
			want = append(want, gen{value: v, unit: u, approx: approx})
		}
		msg := b.String()
		qs := Quantities(msg)
		if len(qs) != len(want) {
			t.Fatalf("%q: found %d quantities %v, want %d", msg, len(qs), fmtAll(qs), len(want))
		}
		for j, w := range want {
			q := qs[j]
			if q.Value != w.value || q.Unit != w.unit || q.Approx != w.approx || q.Vague != w.vague {
				t.Fatalf("%q: quantity %d is %s, want %v %s approx=%v", msg, j, fmtQuantity(q), w.value, w.unit, w.approx)
			}
			if q.Start < 0 || q.End > len(msg) || q.Start >= q.End {
				t.Fatalf("%q: span [%d,%d)", msg, q.Start, q.End)
			}
		}
	}
}

func fmtAll(qs []Quantity) []string {
	var out []string
	for _, q := range qs {
		out = append(out, fmtQuantity(q))
	}
	return out
}

// writeNumber writes v as a worker may: ASCII or full-width digits, with
// a thousands separator, or in Chinese numerals (whole numbers).
func writeNumber(rng *rand.Rand, v float64) string {
	if v != math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	n := int(v)
	switch rng.Intn(5) {
	case 0:
		return toFullWidth(strconv.Itoa(n))
	case 1:
		if n >= 1000 {
			return fmt.Sprintf("%d,%03d", n/1000, n%1000)
		}
	case 2:
		return chineseNumeral(n)
	}
	return strconv.Itoa(n)
}

func toFullWidth(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '!' && r <= '~' {
			r += 0xFEE0
		}
		b.WriteRune(r)
	}
	return b.String()
}

// chineseNumeral writes 0 < n < 10000 in Chinese numerals: 1205 一千二百零五.
func chineseNumeral(n int) string {
	digits := []rune("零一二三四五六七八九")
	var b strings.Builder
	zero := false
	for _, p := range []struct {
		v int
		w string
	}{{1000, "千"}, {100, "百"}, {10, "十"}, {1, ""}} {
		d := n / p.v % 10
		if d == 0 {
			zero = b.Len() > 0
			continue
		}
		if zero {
			b.WriteRune('零')
			zero = false
		}
		if !(d == 1 && p.v == 10 && b.Len() == 0) {
			b.WriteRune(digits[d])
		}
		b.WriteString(p.w)
	}
	return b.String()
}

func FuzzQuantities(f *testing.F) {
	for _, c := range quantityCases {
		f.Add(c.in)
	}
	f.Add("走访 阳光花园二期5栋1单元101 高血压患者3户 12月5日")
	f.Add("参加50-60人 资料200到300份 几十人 十几份")
	f.Fuzz(func(t *testing.T, s string) {
		prevEnd := 0
		for _, q := range Quantities(s) {
			if q.Start < prevEnd || q.Start >= q.End || q.End > len(s) {
				t.Fatalf("Quantities(%q): span [%d,%d) after %d", s, q.Start, q.End, prevEnd)
			}
			if q.LeadStart < 0 || q.LeadStart+len(q.Lead) > q.Start || s[q.LeadStart:q.LeadStart+len(q.Lead)] != q.Lead {
				t.Fatalf("Quantities(%q): lead %q at %d", s, q.Lead, q.LeadStart)
			}
			if math.IsNaN(q.Value) || q.Vague && q.Value != 0 || q.Exact && q.Approx {
				t.Fatalf("Quantities(%q): %+v", s, q)
			}
			prevEnd = q.End
		}
		if h, ok := FindHouseholdID(s, corpusStop); ok {
			if h.Start < 0 || h.Start >= h.End || h.End > len(s) || h.Unit == "" {
				t.Fatalf("FindHouseholdID(%q) = %+v", s, h)
			}
		}
		ParseHouseholdID(s)
		if tx := newText(s); !mayHoldBP(tx.s) {
			if _, _, _, _, ok := scanBP(&tx); ok {
				t.Fatalf("FindBloodPressure(%q): a reading the guard mayHoldBP skips", s)
			}
		}
		if d, ok, err := FindDay(s, nowNov); ok && err == nil && (d.Start < 0 || d.Start >= d.End || d.End > len(s) || d.Time.After(nowNov)) {
			t.Fatalf("FindDay(%q) = %+v", s, d)
		}
		IsQuestion(s)
		MatchWord(s, []string{"走访", "撤销", "本月统计", "待办"})
		if _, end, _, ok := MatchLead(s, []string{"走访", "撤销", "本月统计", "待办"}); ok && (end <= 0 || end > len(s)) {
			t.Fatalf("MatchLead(%q) end %d", s, end)
		}
	})
}
