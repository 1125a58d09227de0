package domain

import (
	"testing"
	"time"
)

// TestBoundSeries: a master keeps its first MaxItemOccurrences exceptions
// and deleted occurrences and is marked Truncated when it had more; an
// ordinary master is untouched and gains its RRULE, with UNTIL in UTC at
// the end of its end date in its own zone.
func TestBoundSeries(t *testing.T) {
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	series := func(n int) Item {
		it := Item{Kind: KindCalendar, Start: start, End: start.Add(time.Hour), TimeZone: "W. Europe Standard Time", CalendarItemType: CalendarSeriesMaster,
			Recurrence: &Recurrence{Pattern: RecurrencePattern{Type: PatternWeekly, Interval: 1, DaysOfWeek: []string{"monday"}},
				Range: RecurrenceRange{Type: RangeEndDate, StartDate: "2026-03-02", EndDate: "2026-07-31"}}}
		for i := range n {
			it.ModifiedOccurrences = append(it.ModifiedOccurrences, Occurrence{OriginalStart: start.AddDate(0, 0, 7*i), Subject: "moved"})
			it.DeletedOccurrences = append(it.DeletedOccurrences, DeletedOccurrence{OriginalStart: start.AddDate(0, 0, 7*i)})
		}
		return it
	}
	ordinary := series(3)
	ordinary.Bound()
	if ordinary.Truncated || len(ordinary.ModifiedOccurrences) != 3 || len(ordinary.DeletedOccurrences) != 3 {
		t.Errorf("ordinary series changed: truncated %v, %d/%d", ordinary.Truncated, len(ordinary.ModifiedOccurrences), len(ordinary.DeletedOccurrences))
	}
	if want := "FREQ=WEEKLY;BYDAY=MO;UNTIL=20260731T215959Z"; ordinary.Recurrence.RRule != want || ordinary.TimeZone != "Europe/Berlin" {
		t.Errorf("rrule %q in %q, want %q in Europe/Berlin", ordinary.Recurrence.RRule, ordinary.TimeZone, want)
	}
	big := series(MaxItemOccurrences + 50)
	big.Bound()
	if !big.Truncated || len(big.ModifiedOccurrences) != MaxItemOccurrences || len(big.DeletedOccurrences) != MaxItemOccurrences {
		t.Errorf("big series: truncated %v, %d/%d", big.Truncated, len(big.ModifiedOccurrences), len(big.DeletedOccurrences))
	}
	// A zone only Exchange knows: UNTIL is computed in UTC.
	custom := series(0)
	custom.TimeZone = "Customized Time Zone"
	custom.Bound()
	if want := "FREQ=WEEKLY;BYDAY=MO;UNTIL=20260731T235959Z"; custom.Recurrence.RRule != want {
		t.Errorf("custom zone rrule %q, want %q", custom.Recurrence.RRule, want)
	}
}
