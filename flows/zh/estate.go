package zh

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// HouseholdID identifies a household within a community: the estate (小区)
// when one is named, and building-unit-room. 5-1-101 of two estates are
// two households.
type HouseholdID struct {
	// Estate is the estate as written, its phase in digits: "阳光花园2期"
	// (also from 阳光花园二期); "" when the text names none.
	Estate string
	// Unit is building-unit-room or building-room: "5-1-101".
	Unit string
	// Start and End are the byte span in the string passed in, estate
	// included.
	Start, End int
}

// String is the identity to store and compare: "阳光花园2期/5-1-101", or
// "5-1-101" when no estate was named.
func (h HouseholdID) String() string {
	if h.Estate == "" {
		return h.Unit
	}
	return h.Estate + "/" + h.Unit
}

// estateEnds are the endings of estate names (longest first).
var estateEnds = []string{
	"花园", "小区", "家园", "公寓", "新村", "新城", "大厦", "广场", "山庄", "名苑", "花苑", "雅苑", "嘉园", "社区", "大院",
	"苑", "园", "城", "庭", "府", "邸", "湾", "里", "村", "居", "坊", "庄", "院", "区", "阁", "轩", "墅", "舍",
}

// estateLeads are words that start a phrase before an estate name and
// are not part of it (在阳光花园, 到阳光花园).
var estateLeads = []string{"前往", "来到", "在", "到", "去", "往", "赴"}

const maxEstateRunes = 12

// hhMatch is a household address found in normalised text, with the
// start of its estate (estStart == start when none).
type hhMatch struct {
	estate, unit         string
	estStart, start, end int
}

// findHouseholds finds every household address in tx, each with the
// estate before it when one is named.
func findHouseholds(tx *text) []hhMatch {
	return findHouseholdsStop(tx, nil)
}

func findHouseholdsStop(tx *text, stop []string) []hhMatch {
	var out []hhMatch
	for i := 0; ; {
		h, ok := nextHousehold(tx, i, stop)
		if !ok {
			return out
		}
		out = append(out, h)
		i = h.end
	}
}

// nextHousehold finds the first household address in tx from byte i on,
// with the estate before it (findHouseholdsStop's stop).
func nextHousehold(tx *text, i int, stop []string) (hhMatch, bool) {
	t := tx.s
	for i < len(t) {
		if !numeralStart(t, i) {
			_, n := runeAt(t, i)
			i += n
			continue
		}
		if hh, j, ok := householdAt(t, i, true); ok {
			est, es := estateBefore(t, i, stop)
			return hhMatch{estate: est, unit: hh, estStart: es, start: i, end: j}, true
		}
		_, n := runeAt(t, i)
		i += n
	}
	return hhMatch{}, false
}

// estateBefore reads an estate name ending at byte i (spaces between
// allowed): Chinese words ending in an estate word (花园, 小区, 苑…), then
// an optional phase (2期, 二期, 3区, A区). Without an estate word a phase
// is required. The name starts after the last of stop (the caller's
// command and kind words) and after a leading preposition (在, 到). It
// returns the estate with the phase in digits, and where it starts; "" and
// i when there is none.
func estateBefore(t string, i int, stop []string) (string, int) {
	k := spacesBefore(t, i)
	phase := ""
	if w, p, ok := matchBefore(t, k, []string{"期", "区"}); ok {
		q := p
		for q > 0 {
			r, n := utf8.DecodeLastRuneInString(t[:q])
			if !(r >= '0' && r <= '9' || isCNNumeral(r) || isLetter(r)) {
				break
			}
			q -= n
		}
		if q < p {
			num := t[q:p]
			if v, e, _, ok := intAt(t, q, 3); ok && e == p {
				num = strconv.Itoa(v)
			} else if !onlyLetters(num) {
				num = ""
			}
			if num != "" {
				phase, k = num+w, q
			}
		}
	}
	// The name: Chinese characters (and letters) ending at k.
	s := k
	for s > 0 && utf8.RuneCountInString(t[s:k]) < maxEstateRunes {
		r, n := utf8.DecodeLastRuneInString(t[:s])
		if !unicode.Is(unicode.Han, r) && !isLetter(r) {
			break
		}
		s -= n
	}
	name := t[s:k]
	if c := afterCount(name, s > 0 && isDigit(t[s-1])); c > 0 {
		s += c // 48处阳光花园: the estate starts after the count
		name = name[c:]
	}
	for _, w := range stop {
		if w == "" {
			continue
		}
		if j := strings.LastIndex(name, w); j >= 0 {
			s += j + len(w)
			name = name[j+len(w):]
		}
	}
	for changed := true; changed; {
		changed = false
		for _, w := range estateLeads {
			if rest, ok := strings.CutPrefix(name, w); ok && utf8.RuneCountInString(rest) >= 2 {
				s += len(w)
				name, changed = rest, true
			}
		}
	}
	if utf8.RuneCountInString(name) < 2 {
		return "", i
	}
	if phase == "" {
		if _, _, ok := matchBefore(name, len(name), estateEnds); !ok {
			return "", i
		}
	}
	if genericPlace(name) {
		return "", i // 小区3-2-201, 本社区3-2-201: no estate named
	}
	return name + phase, s
}

// afterCount returns the end of the last count (Chinese numerals, 余/多,
// a unit: 四十八处) in name, 0 when there is none. digitBefore says that
// name follows a digit: a unit at its start ends a count (48处).
func afterCount(name string, digitBefore bool) int {
	cut := 0
	if digitBefore {
		k := 0
		if _, e, ok := matchAt(name, 0, append([]string{"几"}, approxInner...)); ok {
			k = e
		}
		if _, e, ok := unitIn(quantityUnits, name, k); ok {
			cut = e
		}
	}
	for i := 0; i < len(name); {
		r, n := utf8.DecodeRuneInString(name[i:])
		if !isCNNumeral(r) {
			i += n
			continue
		}
		e := cnAt(name, i).end
		if prefixAt(name, e, "几") {
			e += len("几") // 十几人
		}
		if _, k, ok := matchAt(name, e, approxInner); ok {
			e = k
		}
		if _, k, ok := unitIn(quantityUnits, name, e); ok {
			cut = k
		}
		i = max(e, i+n)
	}
	return cut
}

// genericPlace reports a name that is an estate word alone, maybe after
// a demonstrative: 小区, 本小区, 这个社区.
func genericPlace(name string) bool {
	for _, d := range []string{"这个", "那个", "我们", "咱们", "本", "该", "这", "那", "我", ""} {
		if rest, ok := strings.CutPrefix(name, d); ok {
			for _, w := range estateEnds {
				if rest == w {
					return true
				}
			}
		}
	}
	return false
}

func onlyLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isLetter(rune(s[i])) {
			return false
		}
	}
	return s != ""
}

// FindHouseholdID finds the first household address in free text with
// the estate before it: "走访 阳光花园2期5栋1单元101" gives 阳光花园2期 and
// 5-1-101. stop are words that end the text before an estate name (the
// flow's and kinds' words: 走访阳光花园… is the estate 阳光花园). A count
// with 户 ("高血压患者3户", "3户") is never a household.
func FindHouseholdID(s string, stop []string) (HouseholdID, bool) {
	tx := newText(s)
	h, ok := nextHousehold(&tx, 0, stop)
	if !ok {
		return HouseholdID{}, false
	}
	return HouseholdID{Estate: h.estate, Unit: h.unit, Start: tx.at(h.estStart), End: tx.at(h.end)}, true
}

// ParseHouseholdID parses a whole answer that is a household address,
// with or without an estate: "阳光花园2期5栋1单元101", "阳光花园 5-1-101",
// "3号楼2单元201室", "3-2-201". ok is false for anything else, "3户" and
// "高血压患者3户" included.
func ParseHouseholdID(s string) (HouseholdID, bool) {
	tx := newText(s)
	i, e := trimAnswer(tx.s)
	tx.s = tx.s[:e]
	if hh, end, ok := householdAt(tx.s, i, false); ok && end == e {
		return HouseholdID{Unit: hh, Start: tx.at(i), End: tx.at(e)}, true
	}
	hs := findHouseholdsStop(&tx, nil)
	if len(hs) != 1 || hs[0].end != e || hs[0].estStart != i {
		return HouseholdID{}, false
	}
	h := hs[0]
	return HouseholdID{Estate: h.estate, Unit: h.unit, Start: tx.at(h.estStart), End: tx.at(h.end)}, true
}
