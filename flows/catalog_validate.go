package flows

import (
	"fmt"
	"strings"
)

// Validate checks the catalog: keys present and unique (flows; kinds,
// fields within a flow; counters in the whole catalog, and apart from flow
// keys since both are metric keys), names and units present, known field
// types, a counter field naming a counter of its flow, a kind field only
// where there are kinds, at most one target field (household or place), a
// "when" naming existing kinds, and a known follow-up mode.
func (c *Catalog) Validate() error {
	if len(c.Flows) == 0 {
		return fmt.Errorf("catalog: no flows")
	}
	flowKeys := map[string]bool{}
	counterKeys := map[string]string{}
	tags := map[string]string{} // roster tag → "flow.kind"
	for _, f := range c.Flows {
		if err := checkKey(f.Key); err != nil {
			return fmt.Errorf("catalog: flow %q: %v", f.Key, err)
		}
		if flowKeys[f.Key] {
			return fmt.Errorf("catalog: duplicate flow %q", f.Key)
		}
		flowKeys[f.Key] = true
	}
	for _, f := range c.Flows {
		where := fmt.Sprintf("catalog: flow %q", f.Key)
		if f.Name == "" {
			return fmt.Errorf("%s: no name", where)
		}
		if len(f.Words) == 0 {
			return fmt.Errorf("%s: no words to start it", where)
		}
		if len(f.Fields) == 0 {
			return fmt.Errorf("%s: no fields", where)
		}
		if f.TimesMax < 0 {
			return fmt.Errorf("%s: negative times_max", where)
		}
		// A unit of the report itself is no counter's: "2场" would not
		// know where it goes. (Counters may share a unit: their words
		// then decide, or the bot asks.)
		for _, k := range f.Counters {
			for _, u := range append([]string{k.Unit}, k.Units...) {
				if f.CountsTimes(u) {
					return fmt.Errorf("%s: unit %q is in times_units and a unit of counter %q", where, u, k.Key)
				}
			}
		}
		kinds := map[string]bool{}
		for _, k := range f.Kinds {
			if err := checkKey(k.Key); err != nil {
				return fmt.Errorf("%s: kind %q: %v", where, k.Key, err)
			}
			if kinds[k.Key] {
				return fmt.Errorf("%s: duplicate kind %q", where, k.Key)
			}
			if k.Name == "" {
				return fmt.Errorf("%s: kind %q: no name", where, k.Key)
			}
			kinds[k.Key] = true
			for _, t := range k.Tags {
				if other, dup := tags[t]; dup {
					return fmt.Errorf("%s: kind %q: roster tag %q already names %s", where, k.Key, t, other)
				}
				tags[t] = f.Key + "." + k.Key
			}
		}
		for _, k := range f.Counters {
			if err := checkKey(k.Key); err != nil {
				return fmt.Errorf("%s: counter %q: %v", where, k.Key, err)
			}
			if other, dup := counterKeys[k.Key]; dup {
				return fmt.Errorf("%s: counter %q is also a counter of flow %q", where, k.Key, other)
			}
			if flowKeys[k.Key] {
				return fmt.Errorf("%s: counter %q has the key of a flow", where, k.Key)
			}
			counterKeys[k.Key] = f.Key
			switch {
			case k.Name == "":
				return fmt.Errorf("%s: counter %q: no name", where, k.Key)
			case k.Unit == "":
				return fmt.Errorf("%s: counter %q: no unit", where, k.Key)
			case k.Max < 0:
				return fmt.Errorf("%s: counter %q: negative max", where, k.Key)
			}
		}
		fields := map[string]bool{}
		targets := 0
		for _, fd := range f.Fields {
			if err := checkKey(fd.Key); err != nil {
				return fmt.Errorf("%s: field %q: %v", where, fd.Key, err)
			}
			if fields[fd.Key] {
				return fmt.Errorf("%s: duplicate field %q", where, fd.Key)
			}
			fields[fd.Key] = true
			if fd.Prompt == "" || fd.Name == "" {
				return fmt.Errorf("%s: field %q: no name or prompt", where, fd.Key)
			}
			ft, ok := fieldTypes[fd.Type]
			if !ok {
				return fmt.Errorf("%s: field %q: unknown type %q", where, fd.Key, fd.Type)
			}
			if ft.Slot == SlotTarget {
				targets++
			}
			if ft.check != nil {
				if err := ft.check(&f, &fd); err != nil {
					return fmt.Errorf("%s: %v", where, err)
				}
			}
			if fd.LineOnly {
				switch {
				case ft.Asked:
					return fmt.Errorf("%s: field %q: a %s field cannot be line_only (the form must ask it)", where, fd.Key, fd.Type)
				case !fd.Optional:
					return fmt.Errorf("%s: field %q: line_only needs optional = true (the form never asks it)", where, fd.Key)
				}
			}
			if ft.Slot != SlotCounts && f.Counter(fd.Key) != nil {
				return fmt.Errorf("%s: field %q has a counter's key but type %q", where, fd.Key, fd.Type)
			}
			if fd.When != "" {
				ks, ok := ParseWhen(fd.When)
				if !ok {
					return fmt.Errorf("%s: field %q: when %q: want kind=<kind>[|<kind>...]", where, fd.Key, fd.When)
				}
				for _, k := range ks {
					if !kinds[k] {
						return fmt.Errorf("%s: field %q: when names unknown kind %q", where, fd.Key, k)
					}
				}
			}
		}
		if targets > 1 {
			return fmt.Errorf("%s: more than one household or place field", where)
		}
		if len(f.Kinds) > 0 && !fields["kind"] {
			return fmt.Errorf("%s: has kinds but no kind field", where)
		}
		if f.Note != "" {
			if fd := f.Field(f.Note); fd == nil || fd.Type != FieldText {
				return fmt.Errorf("%s: note %q is not a text field of the flow", where, f.Note)
			}
		}
		switch f.FollowUp {
		case FollowNone:
		case FollowByKind:
			if f.Field("kind") == nil || f.TargetField() == nil {
				return fmt.Errorf("%s: follow_up \"kind\" needs a kind field and a household or place field", where)
			}
		case FollowRecheck:
			if f.TargetField() == nil {
				return fmt.Errorf("%s: follow_up \"recheck\" needs a household or place field", where)
			}
			if f.RecheckCounter != "" && f.Counter(f.RecheckCounter) == nil {
				return fmt.Errorf("%s: recheck_counter %q is not a counter of the flow", where, f.RecheckCounter)
			}
			if f.RecheckDays <= 0 {
				return fmt.Errorf("%s: follow_up \"recheck\" needs recheck_days > 0", where)
			}
		default:
			return fmt.Errorf("%s: unknown follow_up %q (want \"kind\" or \"recheck\")", where, f.FollowUp)
		}
		for _, k := range f.Kinds {
			if len(k.Tags) > 0 && f.FollowUp != FollowByKind {
				return fmt.Errorf("%s: kind %q: roster tags need follow_up = \"kind\"", where, k.Key)
			}
		}
	}
	return nil
}

func checkKey(k string) error {
	if k == "" {
		return fmt.Errorf("empty key")
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return fmt.Errorf("key may hold only a-z, 0-9 and _")
		}
	}
	return nil
}

// ParseWhen reads "kind=a|b".
func ParseWhen(s string) ([]string, bool) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) != "kind" || strings.TrimSpace(v) == "" {
		return nil, false
	}
	var out []string
	for _, x := range strings.Split(v, "|") {
		if x = strings.TrimSpace(x); x == "" {
			return nil, false
		}
		out = append(out, x)
	}
	return out, true
}

// WhenNames reports whether ParseWhen(s) lists kind, without building the
// list: a field's When is asked about per field per message.
func WhenNames(s, kind string) bool {
	k, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) != "kind" || strings.TrimSpace(v) == "" {
		return false
	}
	found := false
	for x := range strings.SplitSeq(v, "|") {
		x = strings.TrimSpace(x)
		if x == "" {
			return false // not a valid When: lists nothing
		}
		found = found || x == kind
	}
	return found
}
