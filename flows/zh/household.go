package zh

import "strconv"

// Building markers (longest first) and room suffixes.
var (
	buildingMarks = []string{"号楼", "栋楼", "幢楼", "号", "栋", "幢", "座", "#", "楼"}
	unitMarks     = []string{"单元", "门"}
	roomMarks     = []string{"室", "号", "房", "户"}
)

// roomAt reads a room number: ASCII digits or Chinese numerals ("二零一",
// "二百零一"), and an optional 室/号/房/户. marked says a suffix was present.
func roomAt(t string, i int) (room string, end int, digits int, marked bool, ok bool) {
	v, e, nd, ok := intAt(t, i, 5)
	if !ok || v == 0 {
		return "", i, 0, false, false
	}
	if nd == 0 {
		nd = len(strconv.Itoa(v))
	}
	if _, k, ok := matchAt(t, e, roomMarks); ok {
		// "201号楼" is a building, not a room.
		if !prefixAt(t, k, "楼") {
			e, marked = k, true
		}
	}
	return strconv.Itoa(v), e, nd, marked, true
}

// dashAt skips a separator made of dashes (with spaces around when spaces
// is set) at i.
func dashAt(t string, i int, spaces bool) (int, bool) {
	j := i
	if spaces {
		j = skipSpaces(t, j)
	}
	if j >= len(t) || t[j] != '-' {
		return i, false
	}
	for j < len(t) && t[j] == '-' {
		j++
	}
	if spaces {
		j = skipSpaces(t, j)
	}
	return j, true
}

// householdAt matches a household address at i and returns it as
// "building-unit-room" or "building-room". free applies the stricter rules
// for free text.
func householdAt(t string, i int, free bool) (hh string, end int, ok bool) {
	if !numeralStart(t, i) {
		return "", i, false
	}
	if free {
		if p := runeBefore(t, i); isLetter(p) || p == '-' || p == '/' || p == '.' {
			return "", i, false
		}
	}
	b, j, bd, ok := intAt(t, i, 4)
	if !ok || b == 0 {
		return "", i, false
	}
	building := strconv.Itoa(b)
	if mark, k, ok := matchAt(t, j, buildingMarks); ok {
		return householdMarked(t, i, k, building, mark, free)
	}
	// Dashes only: 3-2-201, 3—2—201, 3-201.
	if bd == 0 || bd > 3 {
		return "", i, false
	}
	k, ok := dashAt(t, j, !free)
	if !ok {
		return "", i, false
	}
	u, k2, ud, ok := intAt(t, k, 4)
	if !ok || ud == 0 {
		return "", i, false
	}
	if k3, ok := dashAt(t, k2, !free); ok && ud <= 2 {
		room, e, rd, _, ok := roomAt(t, k3)
		if !ok || !isDigit(t[k3]) || (free && rd < 2) {
			return "", i, false
		}
		if !householdEnd(t, e, free) {
			return "", i, false
		}
		return building + "-" + strconv.Itoa(u) + "-" + room, e, true
	}
	// Two parts: building-room, the room has three or four digits.
	if ud < 3 {
		return "", i, false
	}
	room, e, _, _, _ := roomAt(t, k)
	if !householdEnd(t, e, free) {
		return "", i, false
	}
	return building + "-" + room, e, true
}

// householdMarked continues after a building marker (号楼, 栋, 幢, #, ...)
// ending at k.
func householdMarked(t string, i, k int, building, mark string, free bool) (string, int, bool) {
	k = skipSeps(t, k)
	u, k2, _, ok := intAt(t, k, 3)
	if ok && u > 0 {
		// Unit with a marker: 2单元201, 2门201.
		if _, k3, ok := matchAt(t, k2, unitMarks); ok {
			k3 = skipSeps(t, k3)
			room, e, _, _, ok := roomAt(t, k3)
			if ok && householdEnd(t, e, free) {
				return building + "-" + strconv.Itoa(u) + "-" + room, e, true
			}
			return "", i, false
		}
		// Unit-room with a dash: 3幢2-201, 3#2-201.
		if k3, ok := dashAt(t, k2, true); ok && isDigit(t[k]) && k2-k <= 2 {
			room, e, _, _, ok := roomAt(t, k3)
			if ok && householdEnd(t, e, free) {
				return building + "-" + strconv.Itoa(u) + "-" + room, e, true
			}
			return "", i, false
		}
	}
	// 号 and 楼 alone are dates and floors unless a unit follows.
	if mark == "号" || mark == "楼" {
		return "", i, false
	}
	// No unit: 3号楼201, 3栋201室.
	room, e, rd, marked, ok := roomAt(t, k)
	if !ok || (rd < 3 && !marked) || !householdEnd(t, e, free) {
		return "", i, false
	}
	return building + "-" + room, e, true
}

// skipSeps skips spaces, commas and dashes between parts of an address.
func skipSeps(t string, k int) int {
	for k < len(t) && (t[k] == ' ' || t[k] == '-' || t[k] == ',') {
		k++
	}
	return k
}

// householdEnd reports whether an address may end at e: not in the middle
// of a number, and in free text not followed by a unit (10-200人 is a
// range, not an address).
func householdEnd(t string, e int, free bool) bool {
	r, _ := runeAt(t, e)
	if r >= '0' && r <= '9' || isCNNumeral(r) || r == '.' {
		return false
	}
	if r == '-' || r == '/' {
		if e+1 < len(t) && isDigit(t[e+1]) {
			return false
		}
	}
	if free {
		if _, _, ok := unitAt(t, e); ok {
			return false
		}
		if _, _, ok := matchAt(t, e, approxInner); ok {
			return false
		}
	}
	return true
}

// Household normalises a whole answer that is a household address to
// "building-unit-room": "3号楼2单元201室", "3栋2单元201", "3幢2-201",
// "3-2-201", "3—2—201", "3栋2单元201号", "三号楼二单元201", "3#2-201" all
// give "3-2-201"; without a unit, "3号楼201" and "3栋201室" give "3-201".
// ok is false when s is not an address of that shape (e.g. "菜市场").
func Household(s string) (string, bool) {
	t := newText(s).s
	i, e := trimAnswer(t)
	t = t[:e]
	hh, end, ok := householdAt(t, i, false)
	if !ok || end != e {
		return "", false
	}
	return hh, true
}

// FindHousehold finds the first household address in free text ("走访
// 3号楼2单元201室张大爷"); start and end are byte offsets into s.
func FindHousehold(s string) (hh string, start, end int, ok bool) {
	tx := newText(s)
	t := tx.s
	for i := 0; i < len(t); {
		if !numeralStart(t, i) {
			_, n := runeAt(t, i)
			i += n
			continue
		}
		if hh, j, ok := householdAt(t, i, true); ok {
			return hh, tx.at(i), tx.at(j), true
		}
		_, n := runeAt(t, i)
		i += n
	}
	return "", 0, 0, false
}
