// Package zh normalises Chinese free-text input typed by grid workers on a
// phone (or dictated by voice): full-width characters, Chinese numerals,
// counts with units (Quantities: every number with its unit and the words
// around it), household addresses with their estate (HouseholdID), dates
// (Day: whether the year was inferred and must be confirmed), periods,
// blood pressure and glucose readings, questions (IsQuestion) and command
// words with one typo (MatchWord, MatchLead).
//
// It is pure: no I/O, and it imports only the standard library. It must not
// import flows, storage, bot or cmd.
package zh

import (
	"errors"
	"sort"
	"strings"
	"unicode/utf8"
)

// Sentinel errors returned by the parsers; compare with errors.Is.
var (
	// ErrNotNumber means the answer is not a number.
	ErrNotNumber = errors.New("zh: not a number")
	// ErrNegative means the number is negative ("-5", "负五").
	ErrNegative = errors.New("zh: negative number")
	// ErrNotBP means the text is not a blood pressure of the shape 150/95.
	ErrNotBP = errors.New("zh: not a blood pressure")
	// ErrBPRange means the blood pressure is implausible: systolic outside
	// 50–300, diastolic outside 30–200, or systolic not above diastolic.
	ErrBPRange = errors.New("zh: blood pressure out of range")
	// ErrGlucoseRange means the glucose value is outside 1–35 mmol/L.
	ErrGlucoseRange = errors.New("zh: glucose out of range")
	// ErrNotDate means the text is not a recognised date.
	ErrNotDate = errors.New("zh: not a date")
	// ErrFutureDate means the date is after today.
	ErrFutureDate = errors.New("zh: date in the future")
	// ErrTooOld means the date is more than 366 days before today.
	ErrTooOld = errors.New("zh: date too old")
)

// Fold maps full-width ASCII (３５, ／, ，, ：, （）, －) to half-width,
// converts the ideographic space (and tabs, newlines, no-break and
// zero-width spaces pasted from chats) to a space, trims, and collapses runs
// of spaces into one. It is idempotent.
func Fold(s string) string {
	if folded(s) {
		return s // most texts (chat's normalised ones, always): no copy
	}
	return foldCopy(s)
}

// foldCopy is Fold building the folded copy, whether or not it is s.
func foldCopy(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		r = foldRune(r)
		if r == ' ' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// folded reports whether Fold(s) is s: valid UTF-8 with no rune Fold
// changes, no space at either end and no two spaces in a row.
func folded(s string) bool {
	space := true // a space here would be leading or doubled
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			switch {
			case c == ' ':
				if space {
					return false
				}
				space = true
			case foldRune(rune(c)) != rune(c):
				return false // a tab, a newline
			default:
				space = false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || foldRune(r) != r {
			return false
		}
		space = false
		i += n
	}
	return !space || s == ""
}

// foldRune is Fold for one rune.
func foldRune(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - 0xFEE0
	case r == 0x3000 || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' || r == 0xA0,
		r >= 0x2000 && r <= 0x200B, r == 0x202F, r == 0x205F, r == 0xFEFF:
		return ' ' // ideographic, no-break, thin and zero-width spaces
	}
	return r
}

// Has reports whether s contains any of words (empty words never match).
func Has(s string, words ...string) bool {
	for _, w := range words {
		if w != "" && strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// text is an input normalised rune for rune (full-width to half-width,
// dashes to '-', every kind of space to ' '), with what it takes to map a
// byte offset in it back to the original string, so that matches found in
// the normalised text can be reported as offsets into what the caller
// passed.
type text struct {
	src string // the original
	s   string // normalised; src itself when nothing changed
	// shifts are the runes whose normalised form is of another length
	// than the original (３ → 3, ， → ,), in order: between them, offsets
	// in s and src differ by a constant. Usually none or a few.
	shifts []shift
}

// shift is one rune of another length: s[norm:normEnd] is the normalised
// form of src[orig:origEnd].
type shift struct{ norm, normEnd, orig, origEnd int }

func newText(orig string) text {
	tx := text{src: orig, s: orig}
	var b strings.Builder
	changed := false // b holds s up to i
	for i := 0; i < len(orig); {
		r, m := utf8.DecodeRuneInString(orig[i:])
		nr := normRune(r)
		n := utf8.RuneLen(nr)
		if n < 0 {
			nr, n = utf8.RuneError, 3
		}
		if nr != r || n != m { // n != m: an invalid byte, now U+FFFD
			if !changed {
				b.Grow(len(orig) + 2)
				b.WriteString(orig[:i])
				changed = true
			}
			b.WriteRune(nr)
			if n != m {
				tx.shifts = append(tx.shifts, shift{norm: b.Len() - n, normEnd: b.Len(), orig: i, origEnd: i + m})
			}
		} else if changed {
			b.WriteString(orig[i : i+m])
		}
		i += m
	}
	if changed {
		tx.s = b.String()
	}
	return tx
}

// at is the byte offset in the original of normalised byte i (0 ≤ i ≤
// len(s)): where the original of the rune holding that byte starts.
func (tx *text) at(i int) int {
	for i > 0 && i < len(tx.s) && !utf8.RuneStart(tx.s[i]) {
		i--
	}
	// The last shift starting at or before i.
	k := sort.Search(len(tx.shifts), func(k int) bool { return tx.shifts[k].norm > i }) - 1
	switch {
	case k < 0:
		return i
	case tx.shifts[k].norm == i:
		return tx.shifts[k].orig
	}
	return tx.shifts[k].origEnd + i - tx.shifts[k].normEnd
}

// normRune folds a rune for scanning: foldRune plus dashes and the
// full-width full stop.
func normRune(r rune) rune {
	switch r {
	case 0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212, 0xFE58, 0xFE63, 0x2500:
		return '-'
	case 0xFF61: // halfwidth ideographic full stop, rarely typed
		return '。'
	}
	return foldRune(r)
}

// --- small scanning helpers over a normalised string ---

// runeAt returns the rune at byte i and its size; 0, 0 at the end.
func runeAt(t string, i int) (rune, int) {
	if i < 0 || i >= len(t) {
		return 0, 0
	}
	return utf8.DecodeRuneInString(t[i:])
}

// runeBefore returns the rune ending at byte i; 0 at the start.
func runeBefore(t string, i int) rune {
	if i <= 0 || i > len(t) {
		return 0
	}
	r, _ := utf8.DecodeLastRuneInString(t[:i])
	return r
}

// prefixAt reports whether t has p at byte i.
func prefixAt(t string, i int, p string) bool {
	return i >= 0 && i <= len(t) && strings.HasPrefix(t[i:], p)
}

// matchAt returns the first of words (list them longest first) found at
// byte i, and the index just past it.
func matchAt(t string, i int, words []string) (string, int, bool) {
	for _, w := range words {
		if prefixAt(t, i, w) {
			return w, i + len(w), true
		}
	}
	return "", i, false
}

// matchBefore returns the first of words (longest first) that ends at byte i.
func matchBefore(t string, i int, words []string) (string, int, bool) {
	for _, w := range words {
		if i >= len(w) && t[i-len(w):i] == w {
			return w, i - len(w), true
		}
	}
	return "", i, false
}

// skipSpaces returns the index of the first non-space byte at or after i.
func skipSpaces(t string, i int) int {
	for i < len(t) && t[i] == ' ' {
		i++
	}
	return i
}

// spacesBefore returns the index where a run of spaces ending at i starts.
func spacesBefore(t string, i int) int {
	for i > 0 && t[i-1] == ' ' {
		i--
	}
	return i
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// digitsEnd returns the end of the run of ASCII digits starting at i.
func digitsEnd(t string, i int) int {
	for i < len(t) && isDigit(t[i]) {
		i++
	}
	return i
}

// trimAnswer returns the bounds of t without surrounding spaces and
// punctuation that voice input and fast typing add.
func trimAnswer(t string) (int, int) {
	const cut = " 。.!！?？~,，、;；:：\"'“”‘’"
	i, e := 0, len(t)
	for i < e {
		r, n := utf8.DecodeRuneInString(t[i:])
		if !strings.ContainsRune(cut, r) || r == '.' && i+1 < e && isDigit(t[i+1]) {
			break
		}
		i += n
	}
	for e > i {
		r, n := utf8.DecodeLastRuneInString(t[i:e])
		if !strings.ContainsRune(cut, r) {
			break
		}
		e -= n
	}
	return i, e
}

// span is a half-open byte range in a normalised string.
type span struct{ start, end int }

// inSpans returns the end of the span containing i, or -1.
func inSpans(spans []span, i int) int {
	for _, s := range spans {
		if i >= s.start && i < s.end {
			return s.end
		}
	}
	return -1
}
