package flows

import (
	"reflect"
	"testing"
)

func TestReportMetrics(t *testing.T) {
	tests := []struct {
		name     string
		r        Report
		want     map[string]int64
		distinct []string
	}{
		{"one kind", Report{Flow: "visit", Kind: "chronic", Target: "3-2-201", Household: true},
			map[string]int64{"visit": 1000, "visit.chronic": 1000}, []string{"visit", "visit.chronic"}},
		{"several kinds count each, the visit once",
			Report{Flow: "visit", Kind: "chronic", Kinds: []string{"chronic", "elderly"}, Target: "7-2-306", Household: true},
			map[string]int64{"visit": 1000, "visit.chronic": 1000, "visit.elderly": 1000},
			[]string{"visit", "visit.chronic", "visit.elderly"}},
		{"讲座2场 counts two sessions", Report{Flow: "campaign", Kind: "lecture", Times: 2, Counts: map[string]float64{"participants": 60}},
			map[string]int64{"campaign": 2000, "campaign.lecture": 2000, "participants": 60000}, nil},
		{"走访3户 不登记户号", Report{Flow: "visit", Kind: "other", Times: 3},
			map[string]int64{"visit": 3000, "visit.other": 3000}, nil},
		{"a place is not a household", Report{Flow: "inspection", Kind: "fire", Target: "菜市场"},
			map[string]int64{"inspection": 1000, "inspection.fire": 1000}, nil},
		{"no kind", Report{Flow: "visit", Target: "1-1-101", Household: true},
			map[string]int64{"visit": 1000}, []string{"visit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Metrics(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Metrics %v, want %v", got, tt.want)
			}
			if got := tt.r.DistinctMetrics(); !reflect.DeepEqual(got, tt.distinct) {
				t.Errorf("DistinctMetrics %v, want %v", got, tt.distinct)
			}
		})
	}
}

func TestReportEffects(t *testing.T) {
	one := Report{Kind: "chronic", FollowKey: "k", NextDue: "2027-01-01"}
	if got := one.Effects(); !reflect.DeepEqual(got, []FollowEffect{{Key: "k", Kind: "chronic", NextDue: "2027-01-01"}}) {
		t.Errorf("one-effect form: %+v", got)
	}
	many := Report{Follows: []FollowEffect{{Key: "a"}, {Key: "b"}}, FollowKey: "a"}
	if got := many.Effects(); len(got) != 2 || got[1].Key != "b" {
		t.Errorf("Follows: %+v", got)
	}
	if got := (&Report{}).Effects(); got != nil {
		t.Errorf("none: %+v", got)
	}
}

func TestCanonicalTags(t *testing.T) {
	got := CanonicalTags([]string{"高血压糖尿病", "高血压病", "独居", "低保"})
	if want := []string{"高血压", "糖尿病", "独居老人", "低保"}; !reflect.DeepEqual(got, want) {
		t.Errorf("CanonicalTags %v, want %v", got, want)
	}
}
