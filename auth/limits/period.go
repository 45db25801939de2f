package limits

import (
	"fmt"
	"time"
)

// Period is a quota's calendar period, in UTC.
type Period string

// The quota periods.
const (
	// Day runs from 00:00:00 UTC to the next midnight.
	Day Period = "day"
	// Month runs from the first of the month, 00:00:00 UTC, to the next first.
	Month Period = "month"
)

// Layouts of the period keys that name a period's counters: "2026-12-01"
// for a day, "2026-12" for a month.
const (
	dayLayout   = "2006-01-02"
	monthLayout = "2006-01"
)

// ParsePeriod accepts exactly "day" or "month"; anything else is
// ErrInvalidPeriod, so that a typo in a tier's config is refused rather than
// read as a default.
func ParsePeriod(s string) (Period, error) {
	switch p := Period(s); p {
	case Day, Month:
		return p, nil
	}
	return "", fmt.Errorf("parsing period %q: %w", s, ErrInvalidPeriod)
}

// window is the period containing one instant.
type window struct {
	key        string    // names the counters: "2026-12-01" or "2026-12"
	start, end time.Time // UTC; end is the start of the next period
}

// window returns the period of p that contains t.
func (p Period) window(t time.Time) (window, error) {
	t = t.UTC()
	switch p {
	case Day:
		start := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return window{key: start.Format(dayLayout), start: start, end: start.AddDate(0, 0, 1)}, nil
	case Month:
		start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		return window{key: start.Format(monthLayout), start: start, end: start.AddDate(0, 1, 0)}, nil
	}
	return window{}, fmt.Errorf("%w: %q", ErrInvalidPeriod, string(p))
}

// parseWindowKey reverses window.key; ok is false for any other name.
func parseWindowKey(key string) (w window, ok bool) {
	if t, err := time.Parse(dayLayout, key); err == nil && len(key) == len(dayLayout) {
		return window{key: key, start: t, end: t.AddDate(0, 0, 1)}, true
	}
	if t, err := time.Parse(monthLayout, key); err == nil && len(key) == len(monthLayout) {
		return window{key: key, start: t, end: t.AddDate(0, 1, 0)}, true
	}
	return window{}, false
}
