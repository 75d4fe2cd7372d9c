package flows_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"gridbot/flows"
)

// TestDefaultCatalog checks the shipped flows against the design's table:
// keys, kinds, counters, intervals and metric names.
func TestDefaultCatalog(t *testing.T) {
	c := flows.DefaultCatalog()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		flow     string
		kinds    []string
		counters []string
		fields   []string
	}{
		{"visit", []string{"chronic", "maternal", "floating", "elderly", "family_planning", "hardship", "other"}, nil,
			[]string{"household", "kind", "bp", "glucose", "note"}},
		{"inspection", []string{"sanitation", "vector", "fire", "storefront", "other"}, []string{"issues_found"},
			[]string{"place", "kind", "issues_found", "note"}},
		{"campaign", []string{"publicity", "lecture", "clinic", "cleanup", "pest", "meeting", "other"},
			[]string{"leaflets", "participants", "garbage_tons"},
			[]string{"kind", "leaflets", "participants", "garbage_tons", "note"}},
	}
	if len(c.Flows) != len(want) {
		t.Fatalf("%d flows, want %d", len(c.Flows), len(want))
	}
	for i, w := range want {
		f := c.Flows[i]
		if f.Key != w.flow {
			t.Fatalf("flow %d = %q, want %q", i, f.Key, w.flow)
		}
		var kinds, counters, fields []string
		for _, k := range f.Kinds {
			kinds = append(kinds, k.Key)
		}
		for _, k := range f.Counters {
			counters = append(counters, k.Key)
		}
		for _, fd := range f.Fields {
			fields = append(fields, fd.Key)
		}
		if !slices.Equal(kinds, w.kinds) || !slices.Equal(counters, w.counters) || !slices.Equal(fields, w.fields) {
			t.Errorf("%s: kinds %v counters %v fields %v", f.Key, kinds, counters, fields)
		}
	}
	days := map[string]int{"chronic": 90, "maternal": 7, "elderly": 30, "floating": 0, "other": 0}
	for k, d := range days {
		if got := c.Flow("visit").Kind(k).FollowUpDays; got != d {
			t.Errorf("visit.%s follow-up %d days, want %d", k, got, d)
		}
	}
	if f := c.Flow("inspection"); f.RecheckDays != 7 || f.RecheckCounter != "issues_found" {
		t.Errorf("inspection re-check %d days on %q", f.RecheckDays, f.RecheckCounter)
	}
	if k := c.Flow("campaign").Counter("garbage_tons"); !k.Decimals || k.Unit != "吨" {
		t.Errorf("garbage_tons %+v", k)
	}
	if k := c.Flow("campaign").Counter("leaflets"); k.Max != 50000 {
		t.Errorf("leaflets max %v", k.Max)
	}
	metrics := []struct{ key, name, unit string }{
		{"visit", "走访", "户"}, {"visit.chronic", "慢病随访", "户"}, {"inspection", "巡查", "次"},
		{"issues_found", "发现问题", "处"}, {"campaign", "宣传", "次"}, {"leaflets", "资料", "份"},
		{"participants", "参与", "人"}, {"garbage_tons", "垃圾", "吨"},
	}
	for _, m := range metrics {
		name, unit, ok := c.MetricName(m.key)
		if !ok || name != m.name || unit != m.unit {
			t.Errorf("MetricName(%q) = %q %q %v, want %q %q", m.key, name, unit, ok, m.name, m.unit)
		}
	}
	if _, _, ok := c.MetricName("visit.nope"); ok {
		t.Error("MetricName of an unknown kind is ok")
	}
	// Only 血糖 is line_only: the step-by-step visit stays the design's 4
	// questions.
	var lineOnly []string
	for _, f := range c.Flows {
		for _, fd := range f.Fields {
			if fd.LineOnly {
				lineOnly = append(lineOnly, f.Key+"."+fd.Key)
				if !fd.Optional {
					t.Errorf("%s.%s is line_only but not optional", f.Key, fd.Key)
				}
			}
		}
	}
	if !slices.Equal(lineOnly, []string{"visit.glucose"}) {
		t.Errorf("line_only fields %v, want [visit.glucose]", lineOnly)
	}
}

// TestCatalogWords checks the lookups by the words users type.
func TestCatalogWords(t *testing.T) {
	c := flows.DefaultCatalog()
	cases := []struct {
		text, flow, kind, counter string
	}{
		{"今天走访3-2-201", "visit", "", ""},
		{"家访 高血压", "visit", "chronic", ""},
		{"随访 新生儿", "visit", "maternal", ""},
		{"排查 消防", "inspection", "fire", ""},
		{"检查 卫生死角", "inspection", "sanitation", "issues_found"},
		{"义诊 参与30人", "campaign", "clinic", "participants"},
		{"大扫除 清运垃圾2.5吨", "campaign", "cleanup", "garbage_tons"},
		{"发放宣传单200份", "campaign", "publicity", "leaflets"},
		{"灭鼠", "campaign", "pest", ""},
		{"你好", "", "", ""},
	}
	for _, tc := range cases {
		f, _, _ := c.FlowByWord(tc.text)
		if tc.flow == "" {
			if f != nil {
				t.Errorf("FlowByWord(%q) = %s, want none", tc.text, f.Key)
			}
			continue
		}
		if f == nil || f.Key != tc.flow {
			t.Errorf("FlowByWord(%q) = %v, want %s", tc.text, f, tc.flow)
			continue
		}
		var kind, counter string
		if k := f.KindByWord(tc.text); k != nil {
			kind = k.Key
		}
		if k := f.CounterByWord(tc.text); k != nil {
			counter = k.Key
		}
		if kind != tc.kind || counter != tc.counter {
			t.Errorf("%q: kind %q counter %q, want %q %q", tc.text, kind, counter, tc.kind, tc.counter)
		}
	}
}

// configFlows decodes [[flows]] tables as a config file holds them.
func configFlows(t *testing.T, src string) []flows.FlowDef {
	t.Helper()
	var cfg struct {
		Flows []flows.FlowDef `toml:"flows"`
	}
	if _, err := toml.Decode(src, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.Flows
}

// TestCatalogMerge adds a kind, a counter and a whole flow from config,
// without code, and changes a shipped setting.
func TestCatalogMerge(t *testing.T) {
	c := flows.DefaultCatalog()
	err := c.Merge(configFlows(t, `
[[flows]]
key = "visit"
  [[flows.kinds]]
  key = "disabled"
  name = "残疾人走访"
  words = ["残疾人", "残障"]
  follow_up_days = 60
  [[flows.kinds]]
  key = "maternal"
  follow_up_days = 14
  [[flows.fields]]
  key = "bp"
  line_only = true

[[flows]]
key = "campaign"
  [[flows.counters]]
  key = "masks"
  name = "口罩"
  unit = "个"
  words = ["口罩"]
  max = 10000
  [[flows.counters]]
  key = "leaflets"
  max = 100000

[[flows]]
key = "vaccination"
name = "疫苗接种"
short = "接种"
unit = "人"
words = ["接种", "疫苗"]
  [[flows.counters]]
  key = "doses"
  name = "剂次"
  unit = "剂"
  [[flows.fields]]
  key = "note"
  type = "text"
  name = "备注"
  prompt = "备注（可\"跳过\"）"
  optional = true
`))
	if err != nil {
		t.Fatal(err)
	}
	v := c.Flow("visit")
	if k := v.Kind("disabled"); k == nil || k.FollowUpDays != 60 {
		t.Fatalf("added kind: %+v", k)
	}
	if last := v.Kinds[len(v.Kinds)-1].Key; last != "other" {
		t.Errorf("the new kind went after %q: other must stay last", last)
	}
	if d := v.Kind("maternal").FollowUpDays; d != 14 {
		t.Errorf("maternal interval %d, want 14", d)
	}
	if v.Kind("maternal").Name != "孕产妇/新生儿访视" {
		t.Errorf("merge lost the shipped name")
	}
	for _, fd := range v.Fields {
		if fd.Key == "bp" && (!fd.LineOnly || !fd.Optional || fd.When != "kind=chronic" || fd.Prompt == "") {
			t.Errorf("bp after merging line_only: %+v", fd)
		}
	}
	camp := c.Flow("campaign")
	if k := camp.Counter("masks"); k == nil || camp.Fields[len(camp.Fields)-1].Key != "note" {
		t.Fatalf("added counter %+v, fields %+v", k, camp.Fields)
	}
	if camp.Counter("leaflets").Max != 100000 {
		t.Errorf("leaflets ceiling not raised")
	}
	vac := c.Flow("vaccination")
	if vac == nil || len(vac.Fields) != 2 || vac.Fields[0].Key != "doses" {
		t.Fatalf("new flow %+v", vac)
	}
	if name, unit, ok := c.MetricName("doses"); !ok || name != "剂次" || unit != "剂" {
		t.Errorf("MetricName(doses) = %q %q %v", name, unit, ok)
	}
	if f, _, _ := c.FlowByWord("今天疫苗接种 30剂"); f == nil || f.Key != "vaccination" {
		t.Errorf("new flow not found by its words")
	}
	if d := flows.DefaultCatalog().Flow("visit").Kind("maternal").FollowUpDays; d != 7 {
		t.Errorf("Merge changed the shipped defaults: maternal %d", d)
	}
	for _, fd := range flows.DefaultCatalog().Flow("visit").Fields {
		if fd.Key == "bp" && fd.LineOnly {
			t.Errorf("Merge changed the shipped defaults: bp line_only")
		}
	}
}

// TestCatalogValidate refuses broken configs, each with a reason, and
// leaves the catalog unchanged.
// TestCatalogUnits: units and plausible ceilings are catalog data: a
// counter without max gets DefaultMax, a config adds units and
// times_units to the shipped ones.
func TestCatalogUnits(t *testing.T) {
	c := flows.DefaultCatalog()
	err := c.Merge(configFlows(t, `
[[flows]]
key = "campaign"
times_units = ["堂"]
  [[flows.counters]]
  key = "leaflets"
  units = ["袋"]
  [[flows.counters]]
  key = "masks"
  name = "口罩"
  unit = "只"
`))
	if err != nil {
		t.Fatal(err)
	}
	f := c.Flow("campaign")
	if !f.CountsTimes("堂") || !f.CountsTimes("场") {
		t.Errorf("times_units %v: want the shipped ones and 堂", f.TimesUnits)
	}
	if k := f.Counter("leaflets"); !k.TakesUnit("袋") || !k.TakesUnit("张") || !k.TakesUnit("份") || k.TakesUnit("人") {
		t.Errorf("leaflets units %q %v", k.Unit, k.Units)
	}
	if k := f.Counter("masks"); k.Max != flows.DefaultMax {
		t.Errorf("masks max %v, want DefaultMax", k.Max)
	}
	if cs := f.CountersByUnit("人次"); len(cs) != 1 || cs[0].Key != "participants" {
		t.Errorf("人次 counted by %v", cs)
	}
	if flows.Shipped().Flow("visit").CountsTimes("份") {
		t.Error("a visit does not count 份")
	}
}

func TestCatalogValidate(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"duplicate kind", `
[[flows]]
key = "visit"
  [[flows.kinds]]
  key = "chronic"
  [[flows.kinds]]
  key = "chronic"
`, "duplicate kind"},
		{"times unit that is a counter's unit", `
[[flows]]
key = "campaign"
  [[flows.counters]]
  key = "sessions_held"
  name = "场次"
  unit = "场"
`, "times_units and a unit of counter"},
		{"counter without unit", `
[[flows]]
key = "campaign"
  [[flows.counters]]
  key = "masks"
  name = "口罩"
`, "no unit"},
		{"counter key reused", `
[[flows]]
key = "inspection"
  [[flows.counters]]
  key = "leaflets"
  name = "资料"
  unit = "份"
`, "also a counter"},
		{"unknown field type", `
[[flows]]
key = "visit"
  [[flows.fields]]
  key = "photo"
  type = "picture"
  name = "照片"
  prompt = "照片"
`, "unknown type"},
		{"when names unknown kind", `
[[flows]]
key = "visit"
  [[flows.fields]]
  key = "sugar"
  type = "glucose"
  name = "血糖"
  prompt = "血糖"
  when = "kind=diabetes"
`, "unknown kind"},
		{"line_only without optional", `
[[flows]]
key = "visit"
  [[flows.fields]]
  key = "weight"
  type = "text"
  name = "体重"
  prompt = "体重"
  line_only = true
`, "line_only needs optional"},
		{"line_only kind", `
[[flows]]
key = "visit"
  [[flows.fields]]
  key = "kind"
  optional = true
  line_only = true
`, "cannot be line_only"},
		{"line_only household", `
[[flows]]
key = "visit"
  [[flows.fields]]
  key = "household"
  optional = true
  line_only = true
`, "cannot be line_only"},
		{"new flow without words", `
[[flows]]
key = "meeting"
name = "会议"
  [[flows.fields]]
  key = "note"
  type = "text"
  name = "备注"
  prompt = "备注"
`, "no words"},
		{"bad key", `
[[flows]]
key = "Visit Two"
name = "x"
words = ["x"]
`, "key may hold"},
		{"unknown follow-up", `
[[flows]]
key = "visit"
follow_up = "weekly"
`, "unknown follow_up"},
		{"counter with a flow's key", `
[[flows]]
key = "campaign"
  [[flows.counters]]
  key = "visit"
  name = "走访"
  unit = "户"
`, "key of a flow"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := flows.DefaultCatalog()
			err := c.Merge(configFlows(t, tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Merge: err %v, want one saying %q", err, tc.want)
			}
			if len(c.Flows) != 3 || len(c.Flow("visit").Kinds) != 7 || len(c.Flow("campaign").Counters) != 3 {
				t.Fatal("a failed Merge changed the catalog")
			}
		})
	}
	if _, err := flows.ParseCatalog([]byte("[[flows]]\nkey = \"x\"\ncolour = \"red\"\n")); err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Fatalf("ParseCatalog with an unknown key: %v", err)
	}
}

// WhenNames answers as ParseWhen's list does, valid When or not.
func TestWhenNames(t *testing.T) {
	whens := []string{"", "kind=chronic", "kind=chronic|elderly", " kind = chronic | elderly ", "kind=chronic||elderly",
		"kind=", "kind= ", "kinds=chronic", "chronic", "kind=chronic|", "kind=|chronic", "kind=a=b|chronic"}
	kinds := []string{"chronic", "elderly", "", " chronic", "a=b", "other"}
	for _, w := range whens {
		list, _ := flows.ParseWhen(w)
		for _, k := range kinds {
			if got, want := flows.WhenNames(w, k), slices.Contains(list, k); got != want {
				t.Errorf("WhenNames(%q, %q) = %v, want %v (ParseWhen lists %q)", w, k, got, want, list)
			}
		}
	}
}
