package flows

import (
	"testing"
	"time"
)

// TestParseDay: one rule for a valid day: the layout, a real date, a year
// from MinYear on.
func TestParseDay(t *testing.T) {
	for _, s := range []string{"2026-11-05", "2024-02-29", "2000-01-01"} {
		if d, err := ParseDay(s); err != nil || d.String() != s {
			t.Errorf("ParseDay(%q) = %v, %v; want the day back", s, d, err)
		}
	}
	for _, s := range []string{"", "0001-01-01", "1999-12-31", "2026-02-30", "2026-1-5", "2026/11/05", "2026-11-05x"} {
		if _, err := ParseDay(s); ErrorCode(err) != EInvalid || ValidDay(s) {
			t.Errorf("ParseDay(%q): err %v, want EInvalid", s, err)
		}
	}
}

// TestDayArithmetic: adding days across months and years, the days
// between two, the Chinese form, and the day of an instant in a zone.
func TestDayArithmetic(t *testing.T) {
	d, _ := ParseDay("2026-12-30")
	if got := d.AddDays(3).String(); got != "2027-01-02" {
		t.Errorf("AddDays(3) = %s", got)
	}
	if got := d.DaysUntil(DateOf(2027, 3, 1)); got != 61 {
		t.Errorf("DaysUntil = %d, want 61", got)
	}
	if got := d.CN(); got != "12月30日" {
		t.Errorf("CN = %s", got)
	}
	if got := DayCN("2026-01-05"); got != "1月5日" {
		t.Errorf("DayCN = %s", got)
	}
	// 2026-11-27 20:00 UTC is already the 28th in Shanghai.
	at := time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC)
	if got := DayIn(at, DefaultZone()).String(); got != "2026-11-28" {
		t.Errorf("DayIn Shanghai = %s", got)
	}
	if got := AddDays("2026-02-28", 1); got != "2026-03-01" {
		t.Errorf("AddDays = %s", got)
	}
	if got := DaysBetween("2026-11-01", "2026-10-30"); got != -2 {
		t.Errorf("DaysBetween = %d", got)
	}
}
