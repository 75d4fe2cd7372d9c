package flows

// HouseholdID is the identity of the report's household across
// communities ("幸福社区/3-2-201"), "" when the report is not a household
// visit (no Household, no Target). Within a community a household is its
// Target, which carries the estate when one was given (rule: 阳光花园5-1-101
// and 5-1-101 are different households).
func (r *Report) HouseholdID() string {
	if !r.Household || r.Target == "" {
		return ""
	}
	return HouseholdID(r.Community, r.Target)
}

// HouseholdID joins a community and a household number into one identity.
func HouseholdID(community, household string) string {
	return community + "/" + household
}

// DistinctMetrics returns the metrics in which the report's household is
// counted distinct (户) beside its visits (户次): the flow and flow.kind for
// each kind ("visit", "visit.chronic"); storage keeps <metric>.households.
// Nil when the report is not a household visit.
func (r *Report) DistinctMetrics() []string {
	if r.HouseholdID() == "" {
		return nil
	}
	kinds := r.AllKinds()
	m := make([]string, 0, 1+len(kinds))
	m = append(m, r.Flow)
	for _, k := range kinds {
		m = append(m, r.Flow+"."+k)
	}
	return m
}

// HouseholdsSuffix is appended to a metric for its distinct households:
// "visit" counts visits (户次), "visit.households" households (户).
const HouseholdsSuffix = ".households"

// Household is one household of the roster (花名册) a community imports
// with `gridbot import households`: its identity within the community
// (Household, normalised, with the estate when the roster gives one), the
// grid it belongs to and its tags (高血压, 糖尿病, 独居老人…). Coverage
// rates are counted against it. The resident's name is never stored.
type Household struct {
	Community string   `json:"community"`
	Grid      string   `json:"grid"`
	Household string   `json:"household"`
	Tags      []string `json:"tags"`
}

// Coverage is what the roster lets a station sign: the visit rate (入户率)
// of a period and the standard management (规范管理) of chronic patients in
// the period's year, for a grid, a community or all (the roster's grid,
// not the visiting worker's, decides which grid a household counts in).
type Coverage struct {
	Scope  string `json:"scope"`
	Period string `json:"period"`
	// Households is the number of roster households of the scope.
	Households int `json:"households"`
	// Visited is how many of them had at least one visit (any kind, not
	// void) dated in Period.
	Visited int `json:"visited"`
	// VisitRate is 入户率, Visited ÷ Households (0 without a roster).
	VisitRate float64 `json:"visit_rate"`
	// Tags counts the roster households of each tag.
	Tags map[string]int `json:"tags"`
	// Year is the year of Period, which Managed is about.
	Year    string    `json:"year"`
	Managed []Managed `json:"managed"`
}

// Managed is the standard management (规范管理) of one chronic tag in a
// year: patients (roster households with the tag) who had at least
// ManagedVisits chronic follow-up visits in the year.
type Managed struct {
	Tag      string `json:"tag"`      // 高血压, 糖尿病
	Patients int    `json:"patients"` // roster households tagged Tag
	Managed  int    `json:"managed"`  // of them with ≥ ManagedVisits chronic visits in the year
	// Rate is 规范管理率, Managed ÷ Patients (0 without patients).
	Rate float64 `json:"rate"`
	// FollowUps is the chronic follow-up visits to these patients in the
	// year (随访人次), void ones left out.
	FollowUps int `json:"followups"`
}

// The national basic public health standard for chronic patients is a
// quarterly face-to-face follow-up: a patient with ManagedVisits chronic
// visits (visit kind ChronicKind) in a year is managed (规范管理). Which
// roster tags are chronic patients is ManagedTags, after CanonicalTag.
// Visits of flow VisitFlow (any kind) count for the visit rate (入户率).
const (
	VisitFlow     = "visit"
	ChronicKind   = "chronic"
	ManagedVisits = 4
)

// ManagedTags are the roster tags whose patients' standard management is
// counted, in the order Coverage lists them.
var ManagedTags = []string{"高血压", "糖尿病"}

// tagSynonyms maps the roster's spellings of a tag to the one it is
// counted under.
var tagSynonyms = map[string][]string{
	"高血压病": {"高血压"}, "2型糖尿病": {"糖尿病"}, "高血压糖尿病": {"高血压", "糖尿病"},
	"独居": {"独居老人"}, "孕妇": {"孕产妇"}, "产妇": {"孕产妇"},
}

// CanonicalTags returns the tags a roster household is counted under:
// synonyms folded (高血压病 → 高血压, 高血压糖尿病 → both), each once, in
// the order given.
func CanonicalTags(tags []string) []string {
	var out []string
	add := func(t string) {
		for _, o := range out {
			if o == t {
				return
			}
		}
		out = append(out, t)
	}
	for _, t := range tags {
		if c, ok := tagSynonyms[t]; ok {
			for _, x := range c {
				add(x)
			}
			continue
		}
		add(t)
	}
	return out
}
