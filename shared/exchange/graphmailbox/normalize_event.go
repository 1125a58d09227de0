package graphmailbox

import (
	"slices"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/graph"
)

// NormalizeEvent maps a Graph event: a single instance or a series master
// (occurrences are reported as their master, see SyncItems). A master read
// by id carries its exceptions ($expand=exceptionOccurrences) and its
// cancelled occurrences ($select=cancelledOccurrences); a master from a
// delta page has neither (calendarView delta lists instances, not
// masters). Values outside Graph's enums are dropped.
func NormalizeEvent(e graph.Event, folderID string) domain.Item {
	out := domain.Item{
		ID: e.ID, ChangeKey: changeKey(e.ChangeKey, e.ETag), Kind: domain.KindCalendar, FolderID: folderID,
		Subject:   e.Subject,
		Start:     eventTime(e.Start),
		End:       eventTime(e.End),
		TimeZone:  windowsZone(e.OriginalStartTimeZone),
		Organizer: address(e.Organizer),
		// Present when the event was read with the marker (by id); the
		// delta pages' events are marked by markEvents.
		ClientEventID:     clientEventID(e),
		CalendarItemType:  calendarItemType(e.Type),
		SeriesMasterID:    e.SeriesMasterID,
		OriginalStart:     utc(e.OriginalStart),
		IsAllDay:          e.IsAllDay,
		IsCancelled:       e.IsCancelled,
		ShowAs:            oneOf(e.ShowAs, domain.ShowAsFree, domain.ShowAsTentative, domain.ShowAsBusy, domain.ShowAsOutOfOffice, domain.ShowAsWorkingElsewhere, domain.ShowAsUnknown),
		ResponseRequested: e.ResponseRequested,
		OnlineMeetingURL:  onlineMeetingURL(e),
	}
	out.Body, out.BodyType = itemBody(e.Body)
	if e.ResponseStatus != nil {
		out.MyResponse = response(e.ResponseStatus.Response)
	}
	if e.IsReminderOn != nil && *e.IsReminderOn {
		m := e.ReminderMinutesBeforeStart
		out.ReminderMinutes = &m
	}
	if e.Location != nil {
		out.Location = e.Location.DisplayName
	}
	// A series whose event zone is a custom one still names its zone in
	// the recurrence.
	if out.TimeZone == "" && e.Recurrence != nil {
		out.TimeZone = windowsZone(e.Recurrence.Range.RecurrenceTimeZone)
	}
	out.EndTimeZone = windowsZone(e.OriginalEndTimeZone)
	// EWS lists required attendees, then optional ones; resources are
	// neither.
	for _, typ := range []string{"required", "optional"} {
		for _, a := range e.Attendees {
			t := strings.ToLower(a.Type)
			if t == "" {
				t = "required"
			}
			if t != typ {
				continue
			}
			if addr := address(&graph.Recipient{EmailAddress: a.EmailAddress}); addr != nil {
				addr.Type = t
				if a.Status != nil {
					addr.Response = response(a.Status.Response)
				}
				out.Attendees = append(out.Attendees, *addr)
			}
		}
	}
	switch e.Type {
	case "seriesMaster", "occurrence", "exception":
		out.IsRecurring = true
	default:
		out.IsRecurring = e.Recurrence != nil
	}
	if e.Recurrence != nil {
		out.Recurrence = recurrence(*e.Recurrence)
	}
	for _, x := range e.ExceptionOccurrences {
		o := domain.Occurrence{ItemID: x.ID, OriginalStart: utc(x.OriginalStart), Start: eventTime(x.Start), End: eventTime(x.End),
			Subject: x.Subject, IsCancelled: x.IsCancelled}
		if x.Location != nil {
			o.Location = x.Location.DisplayName
		}
		out.ModifiedOccurrences = append(out.ModifiedOccurrences, o)
	}
	slices.SortStableFunc(out.ModifiedOccurrences, func(a, b domain.Occurrence) int { return a.OriginalStart.Compare(b.OriginalStart) })
	out.DeletedOccurrences = cancelledOccurrences(e, out.Start)
	out.Bound()
	nameEndZone(&out)
	return out
}

// calendarItemType maps Graph's eventType.
func calendarItemType(t string) string {
	switch t {
	case "singleInstance":
		return domain.CalendarSingle
	case "seriesMaster", "occurrence", "exception":
		return t
	}
	return ""
}

// response maps Graph's responseType; "" for another value.
func response(s string) string {
	return oneOf(s, domain.ResponseNone, domain.ResponseOrganizer, domain.ResponseTentativelyAccepted,
		domain.ResponseAccepted, domain.ResponseDeclined, domain.ResponseNotResponded)
}

// oneOf is the value among vs that s names (in any case), or "".
func oneOf(s string, vs ...string) string {
	for _, v := range vs {
		if strings.EqualFold(s, v) {
			return v
		}
	}
	return ""
}

// onlineMeetingURL is the join URL of the online meeting (Teams), or the
// older onlineMeetingUrl (Skype).
func onlineMeetingURL(e graph.Event) string {
	if e.OnlineMeeting != nil && strings.TrimSpace(e.OnlineMeeting.JoinURL) != "" {
		return strings.TrimSpace(e.OnlineMeeting.JoinURL)
	}
	return strings.TrimSpace(e.OnlineMeetingURL)
}

// recurrence maps a patternedRecurrence, keeping of the pattern only the
// members its type uses (Graph fills every member, e.g. index "first" on
// a daily pattern; EWS gives only the type's own), so both protocols give
// the same. nil for a pattern type Graph does not define.
func recurrence(r graph.PatternedRecurrence) *domain.Recurrence {
	p := r.Pattern
	typ := oneOf(p.Type, domain.PatternDaily, domain.PatternWeekly, domain.PatternAbsoluteMonthly,
		domain.PatternRelativeMonthly, domain.PatternAbsoluteYearly, domain.PatternRelativeYearly)
	if typ == "" {
		return nil
	}
	out := domain.RecurrencePattern{Type: typ, Interval: max(p.Interval, 1)}
	days := func() []string {
		var ds []string
		for _, d := range p.DaysOfWeek {
			if d = oneOf(d, weekdays...); d != "" {
				ds = append(ds, d)
			}
		}
		return ds
	}
	index := oneOf(p.Index, "first", "second", "third", "fourth", "last")
	switch typ {
	case domain.PatternWeekly:
		out.DaysOfWeek, out.FirstDayOfWeek = days(), oneOf(p.FirstDayOfWeek, weekdays...)
	case domain.PatternAbsoluteMonthly:
		out.DayOfMonth = p.DayOfMonth
	case domain.PatternRelativeMonthly:
		out.DaysOfWeek, out.Index = days(), index
	case domain.PatternAbsoluteYearly:
		out.Month, out.DayOfMonth = p.Month, p.DayOfMonth
	case domain.PatternRelativeYearly:
		out.Month, out.DaysOfWeek, out.Index = p.Month, days(), index
	}
	rg := domain.RecurrenceRange{Type: oneOf(r.Range.Type, domain.RangeEndDate, domain.RangeNoEnd, domain.RangeNumbered), StartDate: date(r.Range.StartDate)}
	switch rg.Type {
	case domain.RangeEndDate:
		rg.EndDate = date(r.Range.EndDate)
	case domain.RangeNumbered:
		rg.NumberOfOccurrences = r.Range.NumberOfOccurrences
	}
	return &domain.Recurrence{Pattern: out, Range: rg}
}

var weekdays = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// date is a yyyy-mm-dd date as given, "" when it is not one (Graph writes
// 0001-01-01 for "no end date").
func date(s string) string {
	t, err := time.Parse("2006-01-02", s)
	if err != nil || t.Year() < 1601 {
		return ""
	}
	return s
}

// cancelledOccurrences maps a master's cancelledOccurrences. Each is an
// occurrence id, "OID.{seriesMasterId}.{yyyy-mm-dd}": the day the
// occurrence had in the series' zone. Its original start is that day at
// the master's start time in that zone (occurrences of a series start at
// the same local time). Ids of another form are skipped.
func cancelledOccurrences(e graph.Event, start time.Time) []domain.DeletedOccurrence {
	if len(e.CancelledOccurrences) == 0 || start.IsZero() {
		return nil
	}
	zone := e.OriginalStartTimeZone
	if e.Recurrence != nil && e.Recurrence.Range.RecurrenceTimeZone != "" {
		zone = e.Recurrence.Range.RecurrenceTimeZone
	}
	loc, ok := zoneLocation(windowsZone(zone))
	if !ok {
		loc = time.UTC
	}
	local := start.In(loc)
	var out []domain.DeletedOccurrence
	for _, id := range e.CancelledOccurrences {
		i := strings.LastIndexByte(id, '.')
		if !strings.HasPrefix(id, "OID.") || i < 0 {
			continue
		}
		d, err := time.ParseInLocation("2006-01-02", id[i+1:], loc)
		if err != nil {
			continue
		}
		at := time.Date(d.Year(), d.Month(), d.Day(), local.Hour(), local.Minute(), local.Second(), 0, loc)
		out = append(out, domain.DeletedOccurrence{OriginalStart: at.UTC()})
	}
	slices.SortFunc(out, func(a, b domain.DeletedOccurrence) int { return a.OriginalStart.Compare(b.OriginalStart) })
	return slices.CompactFunc(out, func(a, b domain.DeletedOccurrence) bool { return a.OriginalStart.Equal(b.OriginalStart) })
}

// nameEndZone names the end's zone both ways, and leaves it out when it is
// the start's (Item.EndTimeZone is set only when the zones differ).
func nameEndZone(it *domain.Item) {
	end := it.EndTimeZone
	it.EndTimeZone, it.WindowsEndTimeZone = "", ""
	if end == "" {
		return
	}
	z, ok := domain.ResolveTimeZone(end)
	if !ok {
		if end != it.WindowsTimeZone {
			it.WindowsEndTimeZone = end
		}
		return
	}
	if z.Windows != it.WindowsTimeZone {
		it.EndTimeZone, it.WindowsEndTimeZone = z.IANA, z.Windows
	}
}
