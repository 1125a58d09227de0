package domain

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// recurrence_rrule.go turns a series' pattern and range (as either
// protocol gives them) into an RFC 5545 RRULE that a standard library
// (teambition/rrule-go, python-dateutil, ical.js) expands to the same
// instances Exchange shows. Conventions (docs/items.md):
//
//   - DTSTART is the item's Start in the item's TimeZone (IANA); the
//     RRULE carries no DTSTART.
//   - UNTIL is UTC (RFC 5545 requires it when DTSTART has a TZID): the
//     last second of the range's end date in the series' zone, so every
//     occurrence that starts on the end date is included.
//   - An absolute monthly or yearly day that a month lacks (the 31st, or
//     the 29th of February) falls on that month's last day, as Exchange
//     places it: BYMONTHDAY lists the day and the shorter month ends and
//     BYSETPOS=-1 takes the latest that exists.
//   - A relative pattern on one day is BYDAY with an ordinal (2TU, -1FR);
//     on several (EWS's Day, Weekday, WeekendDay) BYDAY lists them and
//     BYSETPOS picks the index.

// MaxRecurrenceInterval bounds a pattern's interval; Outlook allows 999.
const MaxRecurrenceInterval = 999

var rruleDays = map[string]string{
	"sunday": "SU", "monday": "MO", "tuesday": "TU", "wednesday": "WE",
	"thursday": "TH", "friday": "FR", "saturday": "SA",
}

var rruleIndex = map[string]int{"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}

// RRuleOf returns the RRULE of r for a series in loc
// (UTC when nil), or an error saying why the pattern cannot be expressed.
func RRuleOf(r Recurrence, loc *time.Location) (string, error) {
	if loc == nil {
		loc = time.UTC
	}
	p, rg := r.Pattern, r.Range
	if p.Interval < 1 || p.Interval > MaxRecurrenceInterval {
		return "", fmt.Errorf("interval %d is not 1 to %d", p.Interval, MaxRecurrenceInterval)
	}
	var parts []string
	days := func() (string, error) {
		if len(p.DaysOfWeek) == 0 {
			return "", fmt.Errorf("a %s pattern needs days of the week", p.Type)
		}
		var out []string
		seen := map[string]bool{}
		for _, d := range p.DaysOfWeek {
			c, ok := rruleDays[strings.ToLower(d)]
			if !ok {
				return "", fmt.Errorf("day of week %q is not sunday to saturday", d)
			}
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
		return strings.Join(out, ","), nil
	}
	relative := func() error {
		n, ok := rruleIndex[strings.ToLower(p.Index)]
		if !ok {
			return fmt.Errorf("index %q is not first, second, third, fourth or last", p.Index)
		}
		d, err := days()
		if err != nil {
			return err
		}
		if !strings.Contains(d, ",") {
			parts = append(parts, "BYDAY="+strconv.Itoa(n)+d)
		} else {
			parts = append(parts, "BYDAY="+d, "BYSETPOS="+strconv.Itoa(n))
		}
		return nil
	}
	monthDay := func(maxDay int) error {
		if p.DayOfMonth < 1 || p.DayOfMonth > maxDay {
			return fmt.Errorf("day of month %d is not 1 to %d", p.DayOfMonth, maxDay)
		}
		if p.DayOfMonth <= 28 {
			parts = append(parts, "BYMONTHDAY="+strconv.Itoa(p.DayOfMonth))
			return nil
		}
		// The day or, in a shorter month, its last day.
		ds := []string{}
		for d := 28; d <= p.DayOfMonth; d++ {
			ds = append(ds, strconv.Itoa(d))
		}
		parts = append(parts, "BYMONTHDAY="+strings.Join(ds, ","), "BYSETPOS=-1")
		return nil
	}
	month := func() error {
		if p.Month < 1 || p.Month > 12 {
			return fmt.Errorf("month %d is not 1 to 12", p.Month)
		}
		parts = append(parts, "BYMONTH="+strconv.Itoa(p.Month))
		return nil
	}
	var err error
	switch p.Type {
	case PatternDaily:
		parts = append(parts, "FREQ=DAILY")
	case PatternWeekly:
		parts = append(parts, "FREQ=WEEKLY")
		var d string
		if d, err = days(); err == nil {
			parts = append(parts, "BYDAY="+d)
		}
	case PatternAbsoluteMonthly:
		parts = append(parts, "FREQ=MONTHLY")
		err = monthDay(31)
	case PatternRelativeMonthly:
		parts = append(parts, "FREQ=MONTHLY")
		err = relative()
	case PatternAbsoluteYearly:
		parts = append(parts, "FREQ=YEARLY")
		if err = month(); err == nil {
			err = monthDay([13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[p.Month])
		}
	case PatternRelativeYearly:
		parts = append(parts, "FREQ=YEARLY")
		if err = month(); err == nil {
			err = relative()
		}
	default:
		return "", fmt.Errorf("pattern type %q is not one of daily, weekly, absoluteMonthly, relativeMonthly, absoluteYearly, relativeYearly", p.Type)
	}
	if err != nil {
		return "", err
	}
	if p.Interval > 1 {
		parts = append(parts[:1], append([]string{"INTERVAL=" + strconv.Itoa(p.Interval)}, parts[1:]...)...)
	}
	if _, err := time.Parse(time.DateOnly, rg.StartDate); err != nil {
		return "", fmt.Errorf("range start date %q is not YYYY-MM-DD", rg.StartDate)
	}
	switch rg.Type {
	case RangeNoEnd:
	case RangeNumbered:
		if rg.NumberOfOccurrences < 1 || rg.NumberOfOccurrences > MaxRecurrenceCount {
			return "", fmt.Errorf("number of occurrences %d is not 1 to %d", rg.NumberOfOccurrences, MaxRecurrenceCount)
		}
		parts = append(parts, "COUNT="+strconv.Itoa(rg.NumberOfOccurrences))
	case RangeEndDate:
		end, err := time.ParseInLocation(time.DateOnly, rg.EndDate, loc)
		if err != nil {
			return "", fmt.Errorf("range end date %q is not YYYY-MM-DD", rg.EndDate)
		}
		if rg.EndDate < rg.StartDate {
			return "", fmt.Errorf("range end date %s is before its start date %s", rg.EndDate, rg.StartDate)
		}
		// The last second of the end date in the series' zone, in UTC.
		until := end.AddDate(0, 0, 1).Add(-time.Second).UTC()
		parts = append(parts, "UNTIL="+until.Format("20060102T150405Z"))
	default:
		return "", fmt.Errorf("range type %q is not endDate, noEnd or numbered", rg.Type)
	}
	if f := strings.ToLower(p.FirstDayOfWeek); f != "" {
		c, ok := rruleDays[f]
		if !ok {
			return "", fmt.Errorf("first day of week %q is not sunday to saturday", p.FirstDayOfWeek)
		}
		// WKST only changes weekly series with an interval above 1; it is
		// given whenever the protocol gave it.
		parts = append(parts, "WKST="+c)
	}
	return strings.Join(parts, ";"), nil
}

// MaxRecurrenceCount bounds a numbered range; Outlook allows 999.
const MaxRecurrenceCount = 999

// boundRecurrence sets the series' RRULE, or its RRuleError when the
// pattern cannot be expressed (the pattern and range are kept as given),
// and cuts the exception lists to MaxItemOccurrences. Bound calls it
// after the zone is named, so UNTIL is computed in the series' zone.
func (it *Item) boundRecurrence() (cut bool) {
	if r := it.Recurrence; r != nil {
		// The pattern's names are short words; a longer one is no value
		// either protocol sends, cut (and then named in RRuleError).
		short := func(s *string) {
			if len(*s) > maxPatternText {
				*s = strings.ToValidUTF8((*s)[:maxPatternText], "")
				cut = true
			}
		}
		if len(r.Pattern.DaysOfWeek) > 7 {
			r.Pattern.DaysOfWeek = r.Pattern.DaysOfWeek[:7]
			cut = true
		}
		for i := range r.Pattern.DaysOfWeek {
			short(&r.Pattern.DaysOfWeek[i])
		}
		for _, s := range []*string{&r.Pattern.Type, &r.Pattern.FirstDayOfWeek, &r.Pattern.Index, &r.Range.Type, &r.Range.StartDate, &r.Range.EndDate} {
			short(s)
		}
		loc := time.UTC
		if it.TimeZone != "" {
			if l, err := time.LoadLocation(it.TimeZone); err == nil {
				loc = l
			}
		}
		s, err := RRuleOf(*r, loc)
		r.RRule, r.RRuleError = s, ""
		if err != nil {
			r.RRule, r.RRuleError = "", err.Error()
		}
	}
	if len(it.ModifiedOccurrences) > MaxItemOccurrences {
		it.ModifiedOccurrences = it.ModifiedOccurrences[:MaxItemOccurrences]
		cut = true
	}
	// The exceptions' texts share one budget, so a series with a hundred
	// long-titled exceptions stays small: kept in order until it is spent.
	budget := MaxOccurrenceBytes
	for i := range it.ModifiedOccurrences {
		o := &it.ModifiedOccurrences[i]
		if o.Bound() {
			cut = true
		}
		budget -= jsonCost(o.Subject) + jsonCost(o.Location) + jsonCost(o.ItemID)
		if budget < 0 {
			it.ModifiedOccurrences = it.ModifiedOccurrences[:i]
			cut = true
			break
		}
	}
	if len(it.DeletedOccurrences) > MaxItemOccurrences {
		it.DeletedOccurrences = it.DeletedOccurrences[:MaxItemOccurrences]
		cut = true
	}
	return cut
}

// Bounds of a series' exceptions in the feed: a daily series edited for
// years can carry thousands; the first ones (Exchange lists them in
// start order) are kept and the item marked Truncated.
const (
	MaxItemOccurrences = 100
	MaxOccurrenceText  = 256 // bytes of an exception's subject and location
	// MaxOccurrenceBytes bounds the ids, subjects and locations of all of
	// a master's exceptions together, counted as JSON encodes them.
	MaxOccurrenceBytes = 48 << 10
	maxPatternText     = 32
)

// Bound cuts an exception's subject and location to MaxOccurrenceText;
// true when it cut.
func (o *Occurrence) Bound() (cut bool) {
	for _, s := range []*string{&o.Subject, &o.Location} {
		if len(*s) > MaxOccurrenceText {
			*s = strings.ToValidUTF8((*s)[:MaxOccurrenceText], "")
			cut = true
		}
	}
	return cut
}
