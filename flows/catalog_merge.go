package flows

import "fmt"

// Merge adds flows from a config to the catalog. A FlowDef whose key names
// an existing flow extends it: its non-empty settings replace the existing
// ones, its words are added, and each of its kinds, counters and fields
// either extends the one with the same key (same rules) or is added (a new
// kind goes before the kind "other", a new field before a trailing text
// field). Any other FlowDef is added as a new flow. A counter without a
// field of its own gets an optional one, so it is asked in the form. The
// result is validated; on error the catalog is left unchanged.
func (c *Catalog) Merge(extra []FlowDef) error {
	for _, x := range extra {
		if err := duplicates(x); err != nil {
			return err
		}
	}
	next := c.clone()
	for _, x := range extra {
		i := next.flowIndex(x.Key)
		if i < 0 {
			next.Flows = append(next.Flows, cloneFlow(x))
			continue
		}
		mergeFlow(&next.Flows[i], x)
	}
	next.normalize()
	if err := next.Validate(); err != nil {
		return err
	}
	*c = *next
	return nil
}

// duplicates refuses a config table that names a kind, counter or field
// twice (merging would silently keep the last).
func duplicates(x FlowDef) error {
	seen := map[string]bool{}
	for _, k := range x.Kinds {
		if seen["kind "+k.Key] {
			return fmt.Errorf("catalog: flow %q: duplicate kind %q", x.Key, k.Key)
		}
		seen["kind "+k.Key] = true
	}
	for _, k := range x.Counters {
		if seen["counter "+k.Key] {
			return fmt.Errorf("catalog: flow %q: duplicate counter %q", x.Key, k.Key)
		}
		seen["counter "+k.Key] = true
	}
	for _, fd := range x.Fields {
		if seen["field "+fd.Key] {
			return fmt.Errorf("catalog: flow %q: duplicate field %q", x.Key, fd.Key)
		}
		seen["field "+fd.Key] = true
	}
	return nil
}

func mergeFlow(f *FlowDef, x FlowDef) {
	setStr(&f.Name, x.Name)
	setStr(&f.Short, x.Short)
	setStr(&f.Unit, x.Unit)
	if x.FollowUp != "" {
		f.FollowUp = x.FollowUp
	}
	setStr(&f.Phrase, x.Phrase)
	setStr(&f.Note, x.Note)
	setStr(&f.RecheckCounter, x.RecheckCounter)
	setStr(&f.DueLabel, x.DueLabel)
	if x.RecheckDays != 0 {
		f.RecheckDays = x.RecheckDays
	}
	if x.Attachments {
		f.Attachments = true
	}
	f.Words = addWords(f.Words, x.Words)
	f.TimesUnits = addWords(f.TimesUnits, x.TimesUnits)
	if x.TimesMax != 0 {
		f.TimesMax = x.TimesMax
	}
	for _, k := range x.Kinds {
		j := -1
		for i := range f.Kinds {
			if f.Kinds[i].Key == k.Key {
				j = i
			}
		}
		if j < 0 {
			k.Words = append([]string(nil), k.Words...)
			k.Tags = append([]string(nil), k.Tags...)
			at := len(f.Kinds)
			if at > 0 && f.Kinds[at-1].Key == "other" {
				at--
			}
			f.Kinds = append(f.Kinds[:at], append([]KindDef{k}, f.Kinds[at:]...)...)
			continue
		}
		old := &f.Kinds[j]
		setStr(&old.Name, k.Name)
		old.Words = addWords(old.Words, k.Words)
		old.Tags = addWords(old.Tags, k.Tags)
		if k.FollowUpDays != 0 {
			old.FollowUpDays = k.FollowUpDays
		}
	}
	for _, k := range x.Counters {
		j := -1
		for i := range f.Counters {
			if f.Counters[i].Key == k.Key {
				j = i
			}
		}
		if j < 0 {
			k.Words = append([]string(nil), k.Words...)
			k.Units = append([]string(nil), k.Units...)
			f.Counters = append(f.Counters, k)
			continue
		}
		old := &f.Counters[j]
		setStr(&old.Name, k.Name)
		setStr(&old.Unit, k.Unit)
		setStr(&old.Phrase, k.Phrase)
		old.Words = addWords(old.Words, k.Words)
		old.Units = addWords(old.Units, k.Units)
		if k.Max != 0 {
			old.Max = k.Max
		}
		if k.Decimals {
			old.Decimals = true
		}
	}
	for _, fd := range x.Fields {
		j := -1
		for i := range f.Fields {
			if f.Fields[i].Key == fd.Key {
				j = i
			}
		}
		if j < 0 {
			f.Fields = insertField(f.Fields, fd)
			continue
		}
		old := &f.Fields[j]
		setStr(&old.Type, fd.Type)
		setStr(&old.Name, fd.Name)
		setStr(&old.Label, fd.Label)
		setStr(&old.Prompt, fd.Prompt)
		setStr(&old.Help, fd.Help)
		setStr(&old.When, fd.When)
		if fd.Optional {
			old.Optional = true
		}
		if fd.LineOnly {
			old.LineOnly = true
		}
	}
}

// insertField adds fd before a trailing text field (the note stays last).
func insertField(fields []FieldDef, fd FieldDef) []FieldDef {
	at := len(fields)
	if at > 0 && fields[at-1].Type == FieldText && fd.Type != FieldText {
		at--
	}
	out := make([]FieldDef, 0, len(fields)+1)
	out = append(out, fields[:at]...)
	out = append(out, fd)
	return append(out, fields[at:]...)
}

func setStr(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

func addWords(have, more []string) []string {
	out := append([]string(nil), have...)
	for _, w := range more {
		dup := false
		for _, h := range out {
			if h == w {
				dup = true
			}
		}
		if !dup {
			out = append(out, w)
		}
	}
	return out
}

// normalize fills what can be derived: a field for each counter that has
// none, names of counter fields, and turns a negative interval (a config
// switching a shipped one off) into none.
func (c *Catalog) normalize() {
	for i := range c.Flows {
		f := &c.Flows[i]
		for _, k := range f.Counters {
			if f.Field(k.Key) == nil {
				f.Fields = insertField(f.Fields, FieldDef{
					Key: k.Key, Type: FieldCounter, Name: k.Name, Optional: true,
					Prompt: k.Name + "多少" + k.Unit + "（没有请回复\"跳过\"）",
				})
			}
		}
		if f.TimesMax == 0 {
			f.TimesMax = DefaultMax
		}
		for j := range f.Counters {
			if f.Counters[j].Max == 0 {
				f.Counters[j].Max = DefaultMax
			}
		}
		for j := range f.Kinds {
			if f.Kinds[j].FollowUpDays < 0 {
				f.Kinds[j].FollowUpDays = 0
			}
		}
		for j := range f.Fields {
			fd := &f.Fields[j]
			if fd.Name == "" && fd.Type == FieldCounter {
				if k := f.Counter(fd.Key); k != nil {
					fd.Name = k.Name
				}
			}
		}
		if f.Short == "" {
			f.Short = f.Name
		}
		if f.Unit == "" {
			f.Unit = "次"
		}
	}
}

func (c *Catalog) clone() *Catalog {
	out := &Catalog{Flows: make([]FlowDef, len(c.Flows)), Households: c.Households}
	for i, f := range c.Flows {
		out.Flows[i] = cloneFlow(f)
	}
	return out
}

func cloneFlow(f FlowDef) FlowDef {
	f.Words = append([]string(nil), f.Words...)
	f.TimesUnits = append([]string(nil), f.TimesUnits...)
	kinds := make([]KindDef, len(f.Kinds))
	for i, k := range f.Kinds {
		k.Words = append([]string(nil), k.Words...)
		k.Tags = append([]string(nil), k.Tags...)
		kinds[i] = k
	}
	f.Kinds = kinds
	counters := make([]CounterDef, len(f.Counters))
	for i, k := range f.Counters {
		k.Words = append([]string(nil), k.Words...)
		k.Units = append([]string(nil), k.Units...)
		counters[i] = k
	}
	f.Counters = counters
	f.Fields = append([]FieldDef(nil), f.Fields...)
	return f
}
