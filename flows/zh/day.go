package zh

import (
	"fmt"
	"time"
)

// ConfirmDays is how far back a date written without a year may be before
// the bot asks with the full date ("你说的是 2025年12月5日 吗？").
const ConfirmDays = 60

// Day is a date read from a message and resolved against today.
type Day struct {
	// Time is local midnight of the day, in now's location.
	Time time.Time
	// YearInferred is true when the year was not written (12月5日, 5号):
	// the day is the latest such day not after today.
	YearInferred bool
	// DaysBack is how many days before today the day is (0 for today).
	DaysBack int
	// Confirm is true when the year was inferred and the day is more than
	// ConfirmDays back: ask "你说的是 <Label> 吗？" before saving.
	Confirm bool
	// Start and End are the byte span of the date in the string passed in.
	Start, End int
}

// Label is the full date for a question or a reply: "2025年12月5日".
func (d Day) Label() string {
	return fmt.Sprintf("%d年%d月%d日", d.Time.Year(), int(d.Time.Month()), d.Time.Day())
}

// ParseDay parses a whole answer that is a date, as Date does, and says
// whether its year was inferred and whether it must be confirmed. Errors:
// ErrNotDate, ErrFutureDate (after today, with or without a year: 明天,
// 2027-01-01), ErrTooOld (more than 366 days back).
func ParseDay(s string, now time.Time) (Day, error) {
	tx := newText(s)
	i, e := trimAnswer(tx.s)
	t := tx.s[:e]
	sp, j, ok := dateAt(t, i, false, false)
	if !ok || !dateTail(t, j, e) {
		return Day{}, ErrNotDate
	}
	return sp.day(now, tx.at(i), tx.at(j))
}

// FindDay finds the first date in free text, as FindDate does, with what
// ParseDay says about it. ok is false when there is none; err is set (and
// the span still given) when one is found but cannot be used.
func FindDay(s string, now time.Time) (d Day, ok bool, err error) {
	tx := newText(s)
	sp, i, j, ok := findDateSpec(&tx)
	if !ok {
		return Day{}, false, nil
	}
	d, err = sp.day(now, tx.at(i), tx.at(j))
	return d, true, err
}

// day resolves sp into a Day spanning [start, end).
func (sp dateSpec) day(now time.Time, start, end int) (Day, error) {
	d, err := sp.resolve(now)
	if err != nil {
		return Day{Start: start, End: end}, err
	}
	loc := now.Location()
	today := midnight(now.Year(), now.Month(), now.Day(), loc)
	back := 0
	for c := d; c.Before(today); c = midnight(c.Year(), c.Month(), c.Day()+1, loc) {
		back++ // counted in calendar days: robust to DST shifts
	}
	inferred := sp.kind == dateMD || sp.kind == dateDay
	return Day{Time: d, YearInferred: inferred, DaysBack: back, Confirm: inferred && back > ConfirmDays, Start: start, End: end}, nil
}
