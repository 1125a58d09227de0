package ewsmailbox

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
	"github.com/mailbridge/mailbridge/shared/testsupport/golden"
)

// TestNormalizeCalendarSamples normalizes the calendar samples the ews
// package decodes (Microsoft's, and the master written after the schema)
// into the feed's item (golden files in testdata/calendar): Graph's names
// for the pattern, range, item type, free/busy and responses, the RRULE,
// the range dates without Exchange's zone suffix, the day group "Weekday"
// as five days, attendees typed required, optional or resource.
func TestNormalizeCalendarSamples(t *testing.T) {
	dir := filepath.Join("..", "ews", "testdata")
	for _, name := range []string{
		"msdocs/how-to-create-a-recurring-series-by-using-ews-in-exchange.04.GetItemResponse.xml",
		"msdocs/getitem-operation-calendar-item.04.GetItemResponse.xml",
		"msdocs/how-to-process-calendar-items-in-batches-in-exchange.04.GetItemResponse.xml",
		"responses/getitem-recurring-master-with-exceptions.xml",
	} {
		t.Run(filepath.Base(name), func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			items, err := ews.DecodeItems(body)
			if err != nil {
				t.Fatal(err)
			}
			var out []domain.Item
			for _, it := range items {
				out = append(out, Normalize(it))
			}
			b, _ := json.MarshalIndent(out, "", "  ")
			golden.Check(t, filepath.Join("testdata", "calendar", strings.TrimSuffix(filepath.Base(name), ".xml")+".json"), append(b, '\n'))
		})
	}
}

// TestNormalizeRecurrence covers what the samples do not: every pattern
// and range maps to its RRULE, and a pattern Exchange would never send is
// kept with its RRuleError instead of an RRULE.
func TestNormalizeRecurrence(t *testing.T) {
	for _, c := range []struct {
		name  string
		rec   ews.Recurrence
		rrule string
		bad   bool
	}{
		{"daily", ews.Recurrence{Pattern: ews.DailyRecurrence, Interval: 2, Range: ews.NumberedRecurrence, StartDate: "2026-03-02", NumberOfOccurrences: 5}, "FREQ=DAILY;INTERVAL=2;COUNT=5", false},
		{"weekly with first day", ews.Recurrence{Pattern: ews.WeeklyRecurrence, Interval: 1, DaysOfWeek: []string{"Monday", "Friday"}, FirstDayOfWeek: "Monday", Range: ews.NoEndRecurrence, StartDate: "2026-03-02"}, "FREQ=WEEKLY;BYDAY=MO,FR;WKST=MO", false},
		{"absolute monthly 31st until", ews.Recurrence{Pattern: ews.AbsoluteMonthlyRecurrence, Interval: 1, DayOfMonth: 31, Range: ews.EndDateRecurrence, StartDate: "2026-01-31", EndDate: "2026-06-30"}, "FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1;UNTIL=20260630T215959Z", false},
		{"relative monthly last weekend day", ews.Recurrence{Pattern: ews.RelativeMonthlyRecurrence, Interval: 1, DaysOfWeek: []string{"WeekendDay"}, DayOfWeekIndex: "Last", Range: ews.NoEndRecurrence, StartDate: "2026-01-31"}, "FREQ=MONTHLY;BYDAY=SU,SA;BYSETPOS=-1", false},
		{"relative yearly second Tuesday of March", ews.Recurrence{Pattern: ews.RelativeYearlyRecurrence, DaysOfWeek: []string{"Tuesday"}, DayOfWeekIndex: "Second", Month: "March", Range: ews.NoEndRecurrence, StartDate: "2026-03-10"}, "FREQ=YEARLY;BYMONTH=3;BYDAY=2TU", false},
		{"absolute yearly 29 February", ews.Recurrence{Pattern: ews.AbsoluteYearlyRecurrence, DayOfMonth: 29, Month: "February", Range: ews.NumberedRecurrence, StartDate: "2024-02-29", NumberOfOccurrences: 3}, "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=28,29;BYSETPOS=-1;COUNT=3", false},
		{"day 30 of February", ews.Recurrence{Pattern: ews.AbsoluteYearlyRecurrence, DayOfMonth: 30, Month: "February", Range: ews.NoEndRecurrence, StartDate: "2024-02-29"}, "", true},
		{"unknown index", ews.Recurrence{Pattern: ews.RelativeMonthlyRecurrence, Interval: 1, DaysOfWeek: []string{"Monday"}, DayOfWeekIndex: "Fifth", Range: ews.NoEndRecurrence, StartDate: "2026-01-01"}, "", true},
		{"zero interval", ews.Recurrence{Pattern: ews.DailyRecurrence, Interval: 0, Range: ews.NoEndRecurrence, StartDate: "2026-01-01"}, "FREQ=DAILY", false},
		{"end before start", ews.Recurrence{Pattern: ews.DailyRecurrence, Interval: 1, Range: ews.EndDateRecurrence, StartDate: "2026-01-02", EndDate: "2026-01-01"}, "", true},
		{"unknown pattern", ews.Recurrence{Pattern: "HourlyRecurrence", Interval: 1, Range: ews.NoEndRecurrence, StartDate: "2026-01-01"}, "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.rec
			it := Normalize(ews.Item{Type: "CalendarItem", ItemID: "AAMk1", CalendarItemType: "RecurringMaster", StartTimeZone: "W. Europe Standard Time", Recurrence: &r})
			got := it.Recurrence
			if got == nil {
				t.Fatal("no recurrence")
			}
			if got.RRule != c.rrule || (got.RRuleError != "") != c.bad {
				t.Errorf("rrule %q (error %q), want %q (error %v)", got.RRule, got.RRuleError, c.rrule, c.bad)
			}
		})
	}
}
