package ewsmailbox

// normalize_calendar.go maps a calendar item's series and meeting
// properties (ews/calendar.go) to the domain's names, which are Graph's:
// a consumer reads one shape whichever protocol the tenant speaks.

import (
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
)

// normalizeCalendar fills out's calendar fields from it (Normalize has set
// the common ones: times, zone, location, organizer, attendees).
func normalizeCalendar(it ews.Item, out *domain.Item) {
	out.CalendarItemType = calendarItemTypes[it.CalendarItemType]
	out.IsAllDay = it.IsAllDay
	out.OriginalStart = utc(it.OriginalStart)
	if r := it.Recurrence; r != nil && it.CalendarItemType != "Occurrence" && it.CalendarItemType != "Exception" {
		out.Recurrence = recurrence(*r)
	}
	for _, o := range it.ModifiedOccurrences {
		out.ModifiedOccurrences = append(out.ModifiedOccurrences, domain.Occurrence{
			ItemID: o.ItemID, OriginalStart: utc(o.OriginalStart), Start: utc(o.Start), End: utc(o.End)})
	}
	for _, d := range it.DeletedOccurrences {
		out.DeletedOccurrences = append(out.DeletedOccurrences, domain.DeletedOccurrence{OriginalStart: utc(d)})
	}
	if it.EndTimeZone != "" && it.EndTimeZone != it.StartTimeZone {
		if z, ok := domain.ResolveTimeZone(it.EndTimeZone); ok {
			out.EndTimeZone, out.WindowsEndTimeZone = z.IANA, z.Windows
		} else {
			out.WindowsEndTimeZone = it.EndTimeZone
		}
	}
	out.ShowAs = showAs[it.LegacyFreeBusyStatus]
	out.IsCancelled = it.IsCancelled
	out.ResponseRequested = it.IsResponseRequested
	out.MyResponse = responses[it.MyResponseType]
	out.OnlineMeetingURL = strings.TrimSpace(it.JoinOnlineMeetingURL)
	if it.ReminderIsSet && it.ReminderMinutesBeforeStart != nil && *it.ReminderMinutesBeforeStart >= 0 {
		n := *it.ReminderMinutesBeforeStart
		out.ReminderMinutes = &n
	}
	out.Attendees = nil
	for _, l := range []struct {
		kind string
		as   []ews.Attendee
	}{{"required", it.RequiredAttendees}, {"optional", it.OptionalAttendees}, {"resource", it.Resources}} {
		for _, a := range l.as {
			if addr := address(&a.Mailbox); addr != nil {
				addr.Type, addr.Response = l.kind, responses[a.ResponseType]
				out.Attendees = append(out.Attendees, *addr)
			}
		}
	}
}

var calendarItemTypes = map[string]string{
	"Single": domain.CalendarSingle, "RecurringMaster": domain.CalendarSeriesMaster,
	"Occurrence": domain.CalendarOccurrence, "Exception": domain.CalendarException,
}

var showAs = map[string]string{
	"Free": domain.ShowAsFree, "Tentative": domain.ShowAsTentative, "Busy": domain.ShowAsBusy,
	"OOF": domain.ShowAsOutOfOffice, "WorkingElsewhere": domain.ShowAsWorkingElsewhere, "NoData": domain.ShowAsUnknown,
}

var responses = map[string]string{
	"Unknown": domain.ResponseNone, "Organizer": domain.ResponseOrganizer, "Tentative": domain.ResponseTentativelyAccepted,
	"Accept": domain.ResponseAccepted, "Decline": domain.ResponseDeclined, "NoResponseReceived": domain.ResponseNotResponded,
}

var patternTypes = map[string]string{
	ews.DailyRecurrence: domain.PatternDaily, ews.WeeklyRecurrence: domain.PatternWeekly,
	ews.AbsoluteMonthlyRecurrence: domain.PatternAbsoluteMonthly, ews.RelativeMonthlyRecurrence: domain.PatternRelativeMonthly,
	ews.AbsoluteYearlyRecurrence: domain.PatternAbsoluteYearly, ews.RelativeYearlyRecurrence: domain.PatternRelativeYearly,
}

var rangeTypes = map[string]string{
	ews.NoEndRecurrence: domain.RangeNoEnd, ews.EndDateRecurrence: domain.RangeEndDate, ews.NumberedRecurrence: domain.RangeNumbered,
}

// EWS's day groups of relative patterns, as the days they stand for
// (Graph lists the days: "the last weekday" is five days and "last").
var dayGroups = map[string][]string{
	"Day":        {"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"},
	"Weekday":    {"monday", "tuesday", "wednesday", "thursday", "friday"},
	"WeekendDay": {"sunday", "saturday"},
}

// recurrence maps an EWS Recurrence; values Exchange never sends are kept
// as given, so Bound marks the pattern with its RRuleError.
func recurrence(r ews.Recurrence) *domain.Recurrence {
	p := domain.RecurrencePattern{
		Type:           patternTypes[r.Pattern],
		Interval:       max(r.Interval, 1),
		DayOfMonth:     r.DayOfMonth,
		FirstDayOfWeek: strings.ToLower(r.FirstDayOfWeek),
		Index:          strings.ToLower(r.DayOfWeekIndex),
	}
	if p.Type == "" {
		p.Type = r.Pattern
	}
	for i, m := range ews.MonthNames {
		if strings.EqualFold(m, r.Month) {
			p.Month = i + 1
		}
	}
	for _, d := range r.DaysOfWeek {
		if g, ok := dayGroups[d]; ok {
			p.DaysOfWeek = append(p.DaysOfWeek, g...)
		} else {
			p.DaysOfWeek = append(p.DaysOfWeek, strings.ToLower(d))
		}
	}
	rg := domain.RecurrenceRange{Type: rangeTypes[r.Range], StartDate: xsDate(r.StartDate), NumberOfOccurrences: r.NumberOfOccurrences}
	if rg.Type == "" {
		rg.Type = r.Range
	}
	if r.Range == ews.EndDateRecurrence {
		rg.EndDate = xsDate(r.EndDate)
	}
	return &domain.Recurrence{Pattern: p, Range: rg}
}

// xsDate drops the zone offset Exchange may add to an xs:date
// ("2014-03-08-08:00"): the date is already the series' local date.
func xsDate(s string) string {
	if len(s) > len("2006-01-02") {
		return s[:len("2006-01-02")]
	}
	return s
}
