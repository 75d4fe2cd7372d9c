package flows

import "testing"

func TestRatePercent(t *testing.T) {
	for _, tt := range []struct {
		r    float64
		want string
	}{{0, "0%"}, {0.625, "62.5%"}, {0.9, "90%"}, {1, "100%"}, {0.3333, "33.3%"}, {0.35, "35%"}, {0.0005, "0.1%"}} {
		if got := RatePercent(tt.r); got != tt.want {
			t.Errorf("RatePercent(%v) = %q, want %q", tt.r, got, tt.want)
		}
	}
}

// The shipped catalog words households as the summaries do; a catalog
// without a [households] table takes the shipped words.
func TestHouseholdWording(t *testing.T) {
	w := Shipped().HouseholdWording()
	if w.Unit != "户" || w.VisitUnit != "户次" {
		t.Errorf("shipped units %q %q", w.Unit, w.VisitUnit)
	}
	got := Fill(w.Managed, "tag", "高血压", "patients", "120", "followups", "310", "managed", "45", "rate", "37.5%")
	if want := "对辖区内120名高血压患者进行每季度随访，随访310人次，规范管理45人，规范管理率37.5%"; got != want {
		t.Errorf("managed phrase %q, want %q", got, want)
	}
	c, err := ParseCatalog([]byte("[[flows]]\nkey = \"x\"\nname = \"测试\"\nwords = [\"测试\"]\n[[flows.fields]]\nkey = \"hh\"\ntype = \"household\"\nname = \"户号\"\nprompt = \"户号\"\n\n[households]\nvisit_unit = \"次\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if w := c.HouseholdWording(); w.Unit != "户" || w.VisitUnit != "次" || w.VisitRate == "" {
		t.Errorf("merged wording %+v", w)
	}
	if !c.Flows[0].CountsHouseholds() || Shipped().Flow("campaign").CountsHouseholds() {
		t.Error("CountsHouseholds: want a flow with a household field only")
	}
	if c := DefaultCatalog(); c.Households != Shipped().Households {
		t.Errorf("DefaultCatalog lost the wording: %+v", c.Households)
	}
}
