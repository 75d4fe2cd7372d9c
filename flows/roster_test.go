package flows

import (
	"slices"
	"strings"
	"testing"
)

func TestTags(t *testing.T) {
	cases := []struct {
		cell           string
		kinds, unknown []string
	}{
		{"高血压", []string{"chronic"}, nil},
		{"高血压、糖尿病", []string{"chronic"}, nil},
		{"高血压/独居老人", []string{"chronic", "elderly"}, nil},
		{"孕产妇，新生儿", []string{"maternal"}, nil},
		{" 糖尿病 ; 空巢老人 ", []string{"chronic", "elderly"}, nil},
		{"残疾人", nil, []string{"残疾人"}},
		{"残疾人 高血压", []string{"chronic"}, []string{"残疾人"}},
		{"", nil, nil},
		{"高血压,高血压", []string{"chronic"}, nil},
	}
	for _, c := range cases {
		found, unknown := Shipped().TagKinds(SplitTags(c.cell))
		var kinds []string
		for _, k := range found {
			if k.Flow != "visit" || k.Days <= 0 {
				t.Errorf("%q: kind %+v, want a visit kind with an interval", c.cell, k)
			}
			kinds = append(kinds, k.Kind)
		}
		if !slices.Equal(kinds, c.kinds) || !slices.Equal(unknown, c.unknown) {
			t.Errorf("%q: kinds %q unknown %q, want %q %q", c.cell, kinds, unknown, c.kinds, c.unknown)
		}
	}
}

func TestPickWorker(t *testing.T) {
	ws := []Worker{
		{OpenID: "wb", Community: "c1", Grid: "1", Role: RoleWorker},
		{OpenID: "wa", Community: "c1", Grid: "1", Role: RoleWorker},
		{OpenID: "sup", Community: "c1", Grid: "2", Role: RoleSupervisor},
		{OpenID: "other", Community: "c2", Grid: "1", Role: RoleWorker},
	}
	cases := []struct {
		community, grid string
		in              []string // acceptable picks
		ok              bool
	}{
		{"c1", "1", []string{"wa", "wb"}, true},
		{"c1", "2", []string{"sup"}, true}, // only a supervisor there
		{"c2", "1", []string{"other"}, true},
		{"c1", "9", nil, false},
	}
	for _, c := range cases {
		seen := map[string]bool{}
		for _, hh := range []string{"1-1-101", "1-1-102", "1-1-103", "2-3-401", "5-5-505", "7-1-201"} {
			w, ok := PickWorker(ws, c.community, c.grid, hh)
			if ok != c.ok || ok && !slices.Contains(c.in, w.OpenID) {
				t.Fatalf("%s/%s %s: picked %q %v", c.community, c.grid, hh, w.OpenID, ok)
			}
			again, _ := PickWorker(ws, c.community, c.grid, hh)
			if again.OpenID != w.OpenID {
				t.Fatalf("%s: not stable: %s then %s", hh, w.OpenID, again.OpenID)
			}
			seen[w.OpenID] = true
		}
		if c.ok && len(seen) != len(c.in) {
			t.Errorf("%s/%s: households went to %v, want spread over %v", c.community, c.grid, seen, c.in)
		}
	}
}

func TestPlanHousehold(t *testing.T) {
	cat := DefaultCatalog()
	w := Worker{OpenID: "w1"}
	cases := []struct {
		name string
		row  HouseholdRow
		want []string // kind@due
		err  string
	}{
		{"chronic", HouseholdRow{Community: "c", Grid: "1", Household: "3-2-201", Tags: []string{"高血压"}, LastVisit: "2026-09-01"},
			[]string{"chronic@2026-11-30"}, ""},
		{"two kinds", HouseholdRow{Community: "c", Grid: "1", Household: "3-2-201", Tags: []string{"糖尿病", "独居老人", "高血压"}, LastVisit: "2026-11-01"},
			[]string{"chronic@2027-01-30", "elderly@2026-12-01"}, ""},
		{"maternal", HouseholdRow{Community: "c", Grid: "1", Household: "3-2-201", Tags: []string{"孕产妇"}, LastVisit: "2026-11-25"},
			[]string{"maternal@2026-12-02"}, ""},
		{"never visited", HouseholdRow{Community: "c", Grid: "1", Household: "3-2-201", Tags: []string{"独居老人"}},
			[]string{"elderly@2026-11-28"}, ""},
		{"unknown tag", HouseholdRow{Community: "c", Grid: "1", Household: "3-2-201", Tags: []string{"低保"}}, nil, "低保"},
		{"no tag", HouseholdRow{Community: "c", Grid: "1", Household: "3-2-201"}, nil, "缺少标签"},
	}
	for _, c := range cases {
		fs, err := cat.PlanHousehold(c.row, w, "2026-11-28")
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []string
		for _, f := range fs {
			got = append(got, f.Kind+"@"+f.Due)
			if f.Key != FollowKey("c", "visit", f.Kind, "3-2-201") || f.Worker != "w1" || f.Target != "3-2-201" || f.Grid != "1" {
				t.Errorf("%s: follow-up %+v", c.name, f)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

// TestRosterTagsFromConfig: a kind a config adds with roster tags is
// planned with its own interval, and a tag may name only one kind.
func TestRosterTagsFromConfig(t *testing.T) {
	cat := DefaultCatalog()
	err := cat.Merge([]FlowDef{{Key: "visit", Kinds: []KindDef{{Key: "disabled", Name: "残疾人探访", Words: []string{"残疾"}, FollowUpDays: 60, Tags: []string{"残疾人"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := cat.PlanHousehold(HouseholdRow{Community: "c", Grid: "1", Household: "1-1-101", Tags: []string{"残疾人"}, LastVisit: "2026-11-01"}, Worker{OpenID: "w"}, "2026-11-28")
	if err != nil || len(fs) != 1 || fs[0].Kind != "disabled" || fs[0].Due != "2026-12-31" {
		t.Fatalf("planned %+v, %v; want one disabled follow-up due 2026-12-31", fs, err)
	}
	if _, unknown := Shipped().TagKinds([]string{"残疾人"}); len(unknown) != 1 {
		t.Error("the shipped catalog changed with a merged copy")
	}
	err = cat.Merge([]FlowDef{{Key: "visit", Kinds: []KindDef{{Key: "elderly", Tags: []string{"高血压"}}}}})
	if err == nil || !strings.Contains(err.Error(), "高血压") {
		t.Errorf("a tag naming two kinds: err %v", err)
	}
}
