package bot

import (
	"fmt"
	"net/url"
	"unicode/utf8"

	"gridbot/flows"
)

// Input limits of the admin API. WeChat openids are 28 characters; names,
// communities, grids and households are short Chinese words. Anything far
// longer is a mistake or abuse, and would reach bbolt as a key it refuses
// (over 32 KB), turning a bad request into a 500. Lengths are in
// characters (runes).
var fieldLimits = map[string]int{
	"openid":    128,
	"worker":    128,
	"name":      64,
	"community": 64,
	"grid":      64,
	"household": 64,
	"tag":       32,
	"reason":    16,
	"scope":     256,
}

// maxTags is the most tags one roster row may carry.
const maxTags = 32

// checkLengths fails with EInvalid naming the first field (in fields'
// order) longer than its limit in fieldLimits.
func checkLengths(fields ...[2]string) error {
	for _, f := range fields {
		name, v := f[0], f[1]
		limit, ok := fieldLimits[name]
		if !ok {
			panic("checkLengths: no limit for " + name)
		}
		if len(v) > limit*utf8.UTFMax || utf8.RuneCountInString(v) > limit {
			return flows.Errorf(flows.EInvalid, "%s: %s long, at most %d characters", name, sizeOf(v), limit)
		}
	}
	return nil
}

// sizeOf describes a too-long value by its size, never by its content.
func sizeOf(v string) string {
	if len(v) >= 1<<10 {
		return fmt.Sprintf("%d KB", len(v)>>10)
	}
	return fmt.Sprintf("%d characters", utf8.RuneCountInString(v))
}

// queryScope reads and checks the scope parameter of a query.
func queryScope(q url.Values) (flows.Scope, error) {
	s := q.Get("scope")
	if err := checkLengths([2]string{"scope", s}); err != nil {
		return flows.Scope{}, err
	}
	return flows.ParseScope(s)
}
