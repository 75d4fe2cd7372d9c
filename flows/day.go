package flows

import (
	"strconv"
	"sync"
	"time"
)

// DefaultZoneName is the zone days are local to when the config names
// none (time.zone); every component given no zone uses DefaultZone.
const DefaultZoneName = "Asia/Shanghai"

// defaultZone is DefaultZoneName loaded once; China Standard Time (UTC+8,
// no daylight saving) when the system has no zone database.
var defaultZone = sync.OnceValue(func() *time.Location {
	if z, err := time.LoadLocation(DefaultZoneName); err == nil {
		return z
	}
	return time.FixedZone("CST", 8*60*60)
})

// DefaultZone is the zone of DefaultZoneName.
func DefaultZone() *time.Location { return defaultZone() }

// DayLayout is how a Day is written in records and APIs: "2006-01-02".
const DayLayout = time.DateOnly

// Day is a calendar day in the configured zone (a civil date: 2026-11-05),
// kept as midnight UTC so that arithmetic on it ignores zones. It is the
// one place date rules live: what a valid day is, adding days, the days
// between two, and how a day is said in Chinese (11月5日).
//
// Records keep days as strings (Report.Day, FollowUp.Due); ParseDay and
// String convert.
type Day struct{ t time.Time }

// MinYear is the first year a valid day may fall in: an earlier one is a
// zero time (0001-01-01) or a typo, never real work.
const MinYear = 2000

// DateOf returns the day y-m-d; m and d may overflow (month 13, day 0)
// the way time.Date normalises them.
func DateOf(y int, m time.Month, d int) Day { return Day{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)} }

// DayIn returns the day t falls on in zone (time.UTC when nil).
func DayIn(t time.Time, zone *time.Location) Day {
	if zone != nil {
		t = t.In(zone)
	}
	return DateOf(t.Year(), t.Month(), t.Day())
}

// ParseDay reads a "2006-01-02" day. It is the one rule for a valid day:
// the layout, a real date, and a year from MinYear on. Anything else is an
// EInvalid error.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(DayLayout, s)
	if err != nil || len(s) != len(DayLayout) || t.Year() < MinYear {
		return Day{}, Errorf(EInvalid, "day %q: want a date YYYY-MM-DD from %d on", s, MinYear)
	}
	return Day{t}, nil
}

// ValidDay reports whether s is a valid day (see ParseDay).
func ValidDay(s string) bool {
	_, err := ParseDay(s)
	return err == nil
}

// String is the day as "2006-01-02".
func (d Day) String() string { return d.t.Format(DayLayout) }

// IsZero reports whether d is the zero Day (no day).
func (d Day) IsZero() bool { return d.t.IsZero() }

// AddDays returns the day n days later (earlier when n < 0).
func (d Day) AddDays(n int) Day { return Day{d.t.AddDate(0, 0, n)} }

// DaysUntil returns e − d in whole days.
func (d Day) DaysUntil(e Day) int { return int(e.t.Sub(d.t).Hours() / 24) }

// After reports whether d is later than e.
func (d Day) After(e Day) bool { return d.t.After(e.t) }

// Before reports whether d is earlier than e.
func (d Day) Before(e Day) bool { return d.t.Before(e.t) }

// MonthEnd is the last day of d's month.
func (d Day) MonthEnd() Day { return DateOf(d.t.Year(), d.t.Month()+1, 0) }

// YearEnd is December 31 of d's year.
func (d Day) YearEnd() Day { return DateOf(d.t.Year(), 12, 31) }

// Year is d's year.
func (d Day) Year() int { return d.t.Year() }

// Month is d's month.
func (d Day) Month() time.Month { return d.t.Month() }

// Day is d's day of the month.
func (d Day) Day() int { return d.t.Day() }

// Weekday is d's day of the week.
func (d Day) Weekday() time.Weekday { return d.t.Weekday() }

// MonthKey is d's month as a tally period: "2006-01".
func (d Day) MonthKey() string { return d.t.Format("2006-01") }

// CN is the day as said in Chinese: "11月5日".
func (d Day) CN() string {
	return strconv.Itoa(int(d.t.Month())) + "月" + strconv.Itoa(d.t.Day()) + "日"
}

// DaysIn is the number of days in month m of year y.
func DaysIn(y int, m time.Month) int { return DateOf(y, m+1, 0).Day() }

// DayCN says a "2006-01-02" day in Chinese ("11月5日"); any other text is
// returned as is.
func DayCN(day string) string {
	t, err := time.Parse(DayLayout, day)
	if err != nil {
		return day
	}
	return Day{t}.CN()
}

// DaysBetween returns to − from in whole days for two "2006-01-02" days,
// 0 when either does not parse.
func DaysBetween(from, to string) int {
	a, err1 := time.Parse(DayLayout, from)
	b, err2 := time.Parse(DayLayout, to)
	if err1 != nil || err2 != nil {
		return 0
	}
	return Day{a}.DaysUntil(Day{b})
}

// AddDays returns the "2006-01-02" day n days after day (before, when n is
// negative); day itself when it does not parse.
func AddDays(day string, n int) string {
	t, err := time.Parse(DayLayout, day)
	if err != nil {
		return day
	}
	return Day{t}.AddDays(n).String()
}
