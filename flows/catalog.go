package flows

import (
	"bytes"
	_ "embed"
	"fmt"
	"iter"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
)

// Catalog is the set of report flows the conversation knows: their kinds,
// counters and form fields. It is data, not code: the defaults ship as
// defaults.toml (embedded) and a community's config adds to them with
// [[flows]] tables of the same shape (see Merge).
//
// A Catalog is read-only once built; share it freely between goroutines.
type Catalog struct {
	Flows []FlowDef `toml:"flows"`
	// Households words distinct households and the roster coverage (the
	// [households] table of defaults.toml); see HouseholdWords.
	Households HouseholdWords `toml:"households"`
}

// FlowDef is one report flow ("visit", "inspection", "campaign", or a
// configured one). Every report of it counts 1 in the metric Key and, when
// it has a kind, 1 in "<Key>.<kind>"; each counter adds its value to the
// counter's own metric.
type FlowDef struct {
	Key   string   `toml:"key"`   // metric and flow key: "visit"
	Name  string   `toml:"name"`  // shown in headers and acks: "入户走访"
	Short string   `toml:"short"` // in tallies: "走访"
	Unit  string   `toml:"unit"`  // unit of the report count: "户", "次"
	Words []string `toml:"words"` // words that start this flow: 走访/入户/家访/随访

	// FollowUp is how reports of this flow schedule the next one:
	// "" none; "kind": per target household and kind, each kind's
	// FollowUpDays after the report (or the date the text states,
	// "下次随访12月5日"); "recheck": per target place, opened while
	// RecheckCounter is above zero, due RecheckDays later (or by the
	// deadline the text states, "限期3天整改"), closed by "已整改".
	FollowUp       FollowUpMode `toml:"follow_up"`
	RecheckCounter string       `toml:"recheck_counter"`
	RecheckDays    int          `toml:"recheck_days"`
	DueLabel       string       `toml:"due_label"` // before the due date in acks: "下次随访"

	// Phrase says the flow's count in the annual summary: "入户走访"
	// (入户走访 1,234 户); "": "开展" + Name.
	Phrase string `toml:"phrase"`
	// Note is the key of the field that holds the worker's remark (备注):
	// free words a one-line report leaves over go there, and the ledger
	// shows it in its 备注 column. "": the flow's first text field.
	Note string `toml:"note"`

	// Attachments: a location or photo sent while this flow's form is open
	// is attached to the report.
	Attachments bool `toml:"attachments"`

	// TimesUnits are the units that count the report itself (Report.Times):
	// "讲座2场" is one campaign report of 2 sessions (次 场 期 轮), "走访3户"
	// is 3 visits (户 家). A flow with a household field asks for the
	// household numbers (or "不登记户号") when Times is above 1. A number
	// with one of these units is never added to a counter.
	TimesUnits []string `toml:"times_units"`
	// TimesMax is the plausible ceiling of Times: above it the bot asks
	// for confirmation ("确认 500"). 0: DefaultMax.
	TimesMax float64 `toml:"times_max"`

	Kinds    []KindDef    `toml:"kinds"`
	Counters []CounterDef `toml:"counters"`
	Fields   []FieldDef   `toml:"fields"` // asked in this order, one per message (but LineOnly ones)
}

// KindDef is one kind of a flow ("chronic" 慢病随访).
type KindDef struct {
	Key   string   `toml:"key"`
	Name  string   `toml:"name"`
	Words []string `toml:"words"` // words that name it: 慢病/高血压/糖尿病
	// FollowUpDays is the interval to the next visit of this kind to the
	// same household (flows with follow_up = "kind"); 0 none. In a config
	// extending a shipped kind, -1 turns a shipped interval off.
	FollowUpDays int `toml:"follow_up_days"`
	// Tags are the roster 标签 (gridbot import) that put a household under
	// this kind: 高血压 → 慢病随访. A tag names one kind in the catalog.
	Tags []string `toml:"tags"`
}

// CounterDef is a counted quantity ("leaflets" 资料 份). Its key is a metric
// key and is unique in the whole catalog.
type CounterDef struct {
	Key  string `toml:"key"`
	Name string `toml:"name"` // "资料"
	Unit string `toml:"unit"` // "份"; required
	// Units are the other unit words it counts ("张", "册", "本" for 资料
	// 份). A number with a unit no counter of the flow takes is asked for,
	// never added to a counter of another unit.
	Units []string `toml:"units"`
	Words []string `toml:"words"` // words that name it: 资料/传单/宣传单/折页
	// Max is the plausible ceiling: a larger value is not saved until the
	// worker confirms it ("确认 99999"). 0 in the TOML: DefaultMax.
	Max      float64 `toml:"max"`
	Decimals bool    `toml:"decimals"` // 2.5 allowed (otherwise whole numbers only)
	// Phrase says the counter in the annual summary: "发放宣传资料"
	// (发放宣传资料 400 份); "": Name.
	Phrase string `toml:"phrase"`
}

// FieldDef is one question of a flow's form.
//
// A LineOnly field (an extra reading such as 血糖) is filled only from a
// one-line report ("走访 3-2-201 慢病 150/95 血糖7.2") or through 修改: the
// step-by-step form never asks it and leaves it out of its n/N, so the
// form stays as short as the design's. It must be optional and cannot be
// the target or the kind. The form asks it only when a one-line report
// gave a bad value for it, or when it is picked in 修改 (without n/N).
type FieldDef struct {
	Key      string `toml:"key"`       // answer key; for a counter field the counter's key
	Type     string `toml:"type"`      // one of the Field* types
	Name     string `toml:"name"`      // short, in the 修改 list: "血压"
	Label    string `toml:"label"`     // before the value in summaries: "血压" → "血压 150/95"
	Prompt   string `toml:"prompt"`    // the question: "血压（如 150/95，没测请回复"跳过"）"
	Help     string `toml:"help"`      // what 帮助 says at this step (a default per type otherwise)
	Optional bool   `toml:"optional"`  // "跳过" allowed; a one-line report does not ask for it
	When     string `toml:"when"`      // "kind=chronic" or "kind=a|b": asked only for those kinds
	LineOnly bool   `toml:"line_only"` // from one-line reports and 修改 only, never asked step by step
}

//go:embed defaults.toml
var defaultsTOML []byte

// shipped is the catalog of defaults.toml, parsed once.
var shipped = sync.OnceValue(func() *Catalog {
	c, err := ParseCatalog(defaultsTOML)
	if err != nil {
		panic("flows: embedded defaults.toml: " + err.Error())
	}
	return c
})

// DefaultCatalog returns a fresh copy of the shipped flows (defaults.toml):
// visit, inspection and campaign with the design's kinds and counters. The
// copy is the caller's to Merge a config into.
func DefaultCatalog() *Catalog { return shipped().clone() }

// Shipped returns the shipped catalog itself, shared: the one catalog a
// component given none uses. It must not be changed (Merge a copy from
// DefaultCatalog instead).
func Shipped() *Catalog { return shipped() }

// ParseCatalog reads a catalog from TOML ([[flows]] tables) and validates it.
func ParseCatalog(data []byte) (*Catalog, error) {
	var c Catalog
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&c)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("catalog: unknown key %s", und[0])
	}
	c.normalize()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Flow returns the flow with the key, or nil.
func (c *Catalog) Flow(key string) *FlowDef {
	if i := c.flowIndex(key); i >= 0 {
		return &c.Flows[i]
	}
	return nil
}

func (c *Catalog) flowIndex(key string) int {
	for i := range c.Flows {
		if c.Flows[i].Key == key {
			return i
		}
	}
	return -1
}

// FlowByWord finds the flow named earliest in text by one of its words
// (the longest word wins at the same position). It returns the flow, the
// word and its byte offset; nil when text names no flow.
func (c *Catalog) FlowByWord(text string) (f *FlowDef, word string, at int) {
	at = -1
	for i := range c.Flows {
		for _, w := range c.Flows[i].Words {
			j := strings.Index(text, w)
			if j < 0 {
				continue
			}
			if at < 0 || j < at || j == at && len(w) > len(word) {
				f, word, at = &c.Flows[i], w, j
			}
		}
	}
	return f, word, at
}

// MetricName returns the Chinese name and unit of a metric key: a flow
// ("visit" → 走访, 户), a flow's kind ("visit.chronic" → 慢病随访, 户) or a
// counter ("leaflets" → 资料, 份). ok is false for an unknown key.
func (c *Catalog) MetricName(key string) (name, unit string, ok bool) {
	fk, kk, hasKind := strings.Cut(key, ".")
	for i := range c.Flows {
		f := &c.Flows[i]
		if f.Key == fk {
			if !hasKind {
				return f.Short, f.Unit, true
			}
			if k := f.Kind(kk); k != nil {
				return k.Name, f.Unit, true
			}
			return "", "", false
		}
		if !hasKind {
			if k := f.Counter(key); k != nil {
				return k.Name, k.Unit, true
			}
		}
	}
	return "", "", false
}

// Kind returns the flow's kind with the key, or nil.
func (f *FlowDef) Kind(key string) *KindDef {
	for i := range f.Kinds {
		if f.Kinds[i].Key == key {
			return &f.Kinds[i]
		}
	}
	return nil
}

// KindByWord finds the kind named by text: its key, its name, or the
// earliest of its words in text (the longest word wins at the same
// position). Nil when none.
func (f *FlowDef) KindByWord(text string) *KindDef {
	k, _, _ := f.KindIn(text, nil)
	return k
}

// KindIn is KindByWord that also returns the match's span, ignoring matches
// inside the spans in skip (counter words: 宣传 in 宣传单).
func (f *FlowDef) KindIn(text string, skip []Span) (kind *KindDef, start, end int) {
	t := strings.TrimSpace(text)
	for i := range f.Kinds {
		if t == f.Kinds[i].Key || t == f.Kinds[i].Name {
			j := strings.Index(text, t)
			return &f.Kinds[i], j, j + len(t)
		}
	}
	start = -1
	for i := range f.Kinds {
		k := &f.Kinds[i]
		for w := range k.Terms() {
			j := indexOutside(text, w, skip)
			if j >= 0 && (start < 0 || j < start || j == start && j+len(w) > end) {
				kind, start, end = k, j, j+len(w)
			}
		}
	}
	return kind, start, end
}

// Terms yields what names the kind in a text: its name, then its words.
func (k *KindDef) Terms() iter.Seq[string] {
	return terms(k.Name, k.Words)
}

// Terms yields what names the counter in a text: its name, then its words.
func (k *CounterDef) Terms() iter.Seq[string] {
	return terms(k.Name, k.Words)
}

// terms yields name, then words.
func terms(name string, words []string) iter.Seq[string] {
	return func(yield func(string) bool) {
		if !yield(name) {
			return
		}
		for _, w := range words {
			if !yield(w) {
				return
			}
		}
	}
}

// indexOutside is the offset of the first of the non-overlapping w in s
// (as IndexAll finds them) that does not lie inside one of skip; -1 when
// none does.
func indexOutside(s, w string, skip []Span) int {
	if w == "" {
		return -1
	}
	for off := 0; ; {
		j := strings.Index(s[off:], w)
		if j < 0 {
			return -1
		}
		if j += off; !inside(skip, j, j+len(w)) {
			return j
		}
		off = j + len(w)
	}
}

// Counter returns the flow's counter with the key, or nil.
func (f *FlowDef) Counter(key string) *CounterDef {
	for i := range f.Counters {
		if f.Counters[i].Key == key {
			return &f.Counters[i]
		}
	}
	return nil
}

// CounterByWord returns the counter one of whose words (or its name) occurs
// in text, the earliest first; nil when none.
func (f *FlowDef) CounterByWord(text string) *CounterDef {
	var best *CounterDef
	at := -1
	for i := range f.Counters {
		k := &f.Counters[i]
		for w := range k.Terms() {
			if j := strings.Index(text, w); j >= 0 && (at < 0 || j < at) {
				best, at = k, j
			}
		}
	}
	return best
}

// DefaultMax is the plausible ceiling of a counter or of Times when the
// catalog gives none.
const DefaultMax = 100000

// TakesUnit reports whether the counter counts in unit: its Unit or one of
// its Units.
func (k *CounterDef) TakesUnit(unit string) bool {
	if unit == "" {
		return false
	}
	if unit == k.Unit {
		return true
	}
	for _, u := range k.Units {
		if u == unit {
			return true
		}
	}
	return false
}

// CountsTimes reports whether unit counts the report itself (TimesUnits).
func (f *FlowDef) CountsTimes(unit string) bool {
	for _, u := range f.TimesUnits {
		if u == unit {
			return true
		}
	}
	return false
}

// CountersByUnit returns the flow's counters that take unit.
func (f *FlowDef) CountersByUnit(unit string) []*CounterDef {
	var out []*CounterDef
	for i := range f.Counters {
		if f.Counters[i].TakesUnit(unit) {
			out = append(out, &f.Counters[i])
		}
	}
	return out
}

// CounterByUnit returns the only counter of the flow whose unit starts unit
// ("人" for "人次"), or nil when none or several do.
func (f *FlowDef) CounterByUnit(unit string) *CounterDef {
	if unit == "" {
		return nil
	}
	var found *CounterDef
	for i := range f.Counters {
		if strings.HasPrefix(unit, f.Counters[i].Unit) {
			if found != nil {
				return nil
			}
			found = &f.Counters[i]
		}
	}
	return found
}

// Field returns the field with the key, or nil.
func (f *FlowDef) Field(key string) *FieldDef {
	for i := range f.Fields {
		if f.Fields[i].Key == key {
			return &f.Fields[i]
		}
	}
	return nil
}

// TargetField returns the household or place field, or nil.
func (f *FlowDef) TargetField() *FieldDef {
	for i := range f.Fields {
		if f.Fields[i].Slot() == SlotTarget {
			return &f.Fields[i]
		}
	}
	return nil
}

// Span is a byte range [S, E) of a message.
type Span struct{ S, E int }

// inside reports whether [s, e) lies within one of spans.
func inside(spans []Span, s, e int) bool {
	for _, x := range spans {
		if s >= x.S && e <= x.E {
			return true
		}
	}
	return false
}

// IndexAll returns the byte offsets of every non-overlapping w in s.
func IndexAll(s, w string) []int {
	var out []int
	if w == "" {
		return nil
	}
	for off := 0; ; {
		j := strings.Index(s[off:], w)
		if j < 0 {
			return out
		}
		out = append(out, off+j)
		off += j + len(w)
	}
}

// FollowUpLabel names a follow-up's work: the kind's name ("慢病随访"),
// "<flow>复查" for a re-check ("巡查复查"), or the flow's short name.
func (c *Catalog) FollowUpLabel(f FollowUp) string {
	fd := c.Flow(f.Flow)
	if fd == nil {
		return "随访"
	}
	if fd.FollowUp == FollowRecheck {
		return fd.Short + "复查"
	}
	if k := fd.Kind(f.Kind); k != nil {
		return k.Name
	}
	return fd.Short
}
