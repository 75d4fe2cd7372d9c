package flows

import (
	"strconv"
	"strings"
)

// HouseholdWords is how distinct households (户) and visits (户次) of a
// flow with a household field, and the roster coverage, are worded. It is
// catalog data: the [households] table of defaults.toml. An empty setting
// takes the shipped one.
type HouseholdWords struct {
	Unit      string `toml:"unit"`       // distinct households: "户"
	VisitUnit string `toml:"visit_unit"` // visits: "户次"
	// VisitRate is the summary's 入户率 clause, with {roster}, {visited}
	// and {rate}: "辖区花名册登记400户，入户250户，入户率62.5%".
	VisitRate string `toml:"visit_rate"`
	// Managed is the summary's 规范管理 clause of one tag, with {tag},
	// {patients}, {followups}, {managed} and {rate}.
	Managed string `toml:"managed"`
}

// HouseholdWording returns the catalog's HouseholdWords, each empty
// setting filled from the shipped catalog.
func (c *Catalog) HouseholdWording() HouseholdWords {
	w := c.Households
	if c == shipped() {
		return w
	}
	s := shipped().Households
	for _, p := range []struct {
		dst *string
		def string
	}{
		{&w.Unit, s.Unit}, {&w.VisitUnit, s.VisitUnit}, {&w.VisitRate, s.VisitRate}, {&w.Managed, s.Managed},
	} {
		if *p.dst == "" {
			*p.dst = p.def
		}
	}
	return w
}

// Fill replaces each {key} of a phrase with its value.
func Fill(phrase string, kv ...string) string {
	pairs := make([]string, 0, len(kv))
	for i := 0; i+1 < len(kv); i += 2 {
		pairs = append(pairs, "{"+kv[i]+"}", kv[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(phrase)
}

// CountsHouseholds reports whether the flow's reports name a household
// (its target is a household field): its tallies then keep distinct
// households (<metric>.households, 户) beside its visits (户次).
func (f *FlowDef) CountsHouseholds() bool {
	t := f.TargetField()
	return t != nil && t.Type == FieldHousehold
}

// RatePercent writes a rate (0.625) as a percentage with at most one
// decimal, as summaries do: "62.5%", "90%".
func RatePercent(r float64) string {
	p := int64(r*1000 + 0.5) // tenths of a percent
	s := strconv.FormatInt(p/10, 10)
	if p%10 != 0 {
		s += "." + strconv.FormatInt(p%10, 10)
	}
	return s + "%"
}
