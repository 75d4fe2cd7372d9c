package flows

import (
	"fmt"
	"strconv"
	"strings"
)

// Field types.
const (
	FieldHousehold = "household" // the report's Target, normalised by zh.Household
	FieldPlace     = "place"     // the report's Target, free text
	FieldKind      = "kind"      // the report's Kind, one of the flow's kinds
	FieldBP        = "bp"        // blood pressure "150/95", in Report.Fields
	FieldGlucose   = "glucose"   // blood glucose "7.2" (mmol/L), in Report.Fields
	FieldCounter   = "counter"   // the counter with the field's key, in Report.Counts
	FieldText      = "text"      // free text, in Report.Fields
)

// Slot is where a field's answer goes in a Report.
type Slot int

// Slots.
const (
	SlotFields Slot = iota // Report.Fields[key]
	SlotTarget             // Report.Target: the household or place
	SlotKind               // Report.Kind
	SlotCounts             // Report.Counts[key], a counter's value
)

// FieldType is what the domain knows of a field type (FieldDef.Type):
// where an answer goes in a report and what a catalog must satisfy to use
// it. Package chat adds, keyed by the same names, how an answer is read,
// explained and shown. A new type is one entry here and one there.
type FieldType struct {
	Slot Slot
	// Asked: the form must ask it (a target or the kind): it cannot be
	// line_only.
	Asked bool
	// check validates a field of this type in flow f beyond what every
	// field needs; nil when there is nothing more.
	check func(f *FlowDef, fd *FieldDef) error
}

// fieldTypes is the registry of field types, keyed by FieldDef.Type.
var fieldTypes = map[string]FieldType{
	FieldHousehold: {Slot: SlotTarget, Asked: true},
	FieldPlace:     {Slot: SlotTarget, Asked: true},
	FieldKind: {Slot: SlotKind, Asked: true, check: func(f *FlowDef, fd *FieldDef) error {
		if len(f.Kinds) == 0 {
			return fmt.Errorf("field %q asks for a kind but the flow has no kinds", fd.Key)
		}
		if fd.Key != "kind" {
			return fmt.Errorf("the kind field must have the key \"kind\"")
		}
		return nil
	}},
	FieldBP:      {Slot: SlotFields},
	FieldGlucose: {Slot: SlotFields},
	FieldText:    {Slot: SlotFields},
	FieldCounter: {Slot: SlotCounts, check: func(f *FlowDef, fd *FieldDef) error {
		if f.Counter(fd.Key) == nil {
			return fmt.Errorf("field %q: no counter with that key", fd.Key)
		}
		return nil
	}},
}

// FieldTypes returns the names of the registered field types.
func FieldTypes() []string {
	out := make([]string, 0, len(fieldTypes))
	for name := range fieldTypes {
		out = append(out, name)
	}
	return out
}

// Slot is where the field's answers go in a report; SlotFields for a type
// the registry does not know (a catalog that passed Validate has none).
func (fd *FieldDef) Slot() Slot { return fieldTypes[fd.Type].Slot }

// Store puts the field's answer v (normalised, as the conversation keeps
// it) into r: the target, the kind (several joined by commas fill Kinds), a counter's value (left out when not
// a number or zero) or Fields[key]. An empty v stores nothing.
func (fd *FieldDef) Store(r *Report, v string) {
	if v == "" {
		return
	}
	switch fd.Slot() {
	case SlotTarget:
		r.Target = v
	case SlotKind:
		// Several kinds at once ("chronic,elderly": 走访 7-2-306 慢病 老人).
		ks := strings.Split(v, ",")
		r.Kind, r.Kinds = ks[0], nil
		if len(ks) > 1 {
			r.Kinds = ks
		}
	case SlotCounts:
		if x, err := strconv.ParseFloat(v, 64); err == nil && x != 0 {
			if r.Counts == nil {
				r.Counts = map[string]float64{}
			}
			r.Counts[fd.Key] = x
		}
	default:
		if r.Fields == nil {
			r.Fields = map[string]string{}
		}
		r.Fields[fd.Key] = v
	}
}

// FollowUpMode is how reports of a flow schedule the next one (FlowDef.FollowUp).
type FollowUpMode string

// Follow-up modes.
const (
	FollowNone FollowUpMode = "" // none
	// FollowByKind: per target and kind, each kind's FollowUpDays after the
	// report, or the date the text states (下次随访12月5日).
	FollowByKind FollowUpMode = "kind"
	// FollowRecheck: per target place, opened while the flow's
	// RecheckCounter is above zero, due RecheckDays later or by the
	// deadline the text states (限期3天整改), closed by 已整改.
	FollowRecheck FollowUpMode = "recheck"
)

// NoteKey is the key of the field that holds the worker's remark (备注):
// Note, else the first text field; "" when the flow has none.
func (f *FlowDef) NoteKey() string {
	if f.Note != "" {
		return f.Note
	}
	for i := range f.Fields {
		if f.Fields[i].Type == FieldText {
			return f.Fields[i].Key
		}
	}
	return ""
}

// SummaryPhrase says the flow's count in the annual summary: Phrase, else
// "开展" + Name.
func (f *FlowDef) SummaryPhrase() string {
	if f.Phrase != "" {
		return f.Phrase
	}
	return "开展" + f.Name
}

// SummaryPhrase says the counter in the annual summary: Phrase, else Name.
func (k *CounterDef) SummaryPhrase() string {
	if k.Phrase != "" {
		return k.Phrase
	}
	return k.Name
}
