package graphsim

import (
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// Recurring series. A series is the shared mailbox model's (ewssim's):
// one master holding its pattern, exceptions and deleted occurrences,
// the same whether it was written over EWS or over Graph. A POST or
// PATCH with a recurrence sets the master's pattern (in EWS's terms);
// the master serves it as Graph renders a patternedRecurrence (every
// member filled: month 0, index "first" on a daily pattern), its deleted
// occurrences as cancelledOccurrences on $select and its modified ones
// as exceptionOccurrences on $expand. calendarView expands series
// (calendarview.go).

// recurrenceIn is a patternedRecurrence in a request body.
type recurrenceIn struct {
	Pattern struct {
		Type           string   `json:"type"`
		Interval       int      `json:"interval"`
		Month          int      `json:"month"`
		DayOfMonth     int      `json:"dayOfMonth"`
		DaysOfWeek     []string `json:"daysOfWeek"`
		FirstDayOfWeek string   `json:"firstDayOfWeek"`
		Index          string   `json:"index"`
	} `json:"pattern"`
	Range struct {
		Type                string `json:"type"`
		StartDate           string `json:"startDate"`
		EndDate             string `json:"endDate"`
		RecurrenceTimeZone  string `json:"recurrenceTimeZone"`
		NumberOfOccurrences int    `json:"numberOfOccurrences"`
	} `json:"range"`
}

var (
	patternTypes = []string{"daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly"}
	rangeTypes   = []string{"endDate", "noEnd", "numbered"}
	dayNames     = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
	indexNames   = []string{"first", "second", "third", "fourth", "last"}
	dateOnly     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

func enumValue(s string, vs []string) (string, bool) {
	for _, v := range vs {
		if strings.EqualFold(s, v) {
			return v, true
		}
	}
	return "", false
}

// check validates a recurrence as Graph does and puts its enums in
// Graph's spelling, filling what Graph fills.
func (r *recurrenceIn) check(zone string) *apiError {
	bad := func(msg string) *apiError { return &apiError{http.StatusBadRequest, "ErrorInvalidRequest", msg} }
	p := &r.Pattern
	var ok bool
	if p.Type, ok = enumValue(p.Type, patternTypes); !ok {
		return bad("The recurrence pattern type is not valid.")
	}
	if p.Interval < 1 {
		return bad("The recurrence interval must be at least 1.")
	}
	for i, d := range p.DaysOfWeek {
		if p.DaysOfWeek[i], ok = enumValue(d, dayNames); !ok {
			return bad("'" + d + "' is not a day of the week.")
		}
	}
	if p.FirstDayOfWeek == "" {
		p.FirstDayOfWeek = "sunday"
	} else if p.FirstDayOfWeek, ok = enumValue(p.FirstDayOfWeek, dayNames); !ok {
		return bad("firstDayOfWeek is not a day of the week.")
	}
	if p.Index == "" {
		p.Index = "first"
	} else if p.Index, ok = enumValue(p.Index, indexNames); !ok {
		return bad("The recurrence index is not valid.")
	}
	switch p.Type {
	case "weekly", "relativeMonthly", "relativeYearly":
		if len(p.DaysOfWeek) == 0 {
			return bad("daysOfWeek is required for a " + p.Type + " pattern.")
		}
	}
	if p.Month < 0 || p.Month > 12 || p.DayOfMonth < 0 || p.DayOfMonth > 31 {
		return bad("month or dayOfMonth is out of range.")
	}
	g := &r.Range
	if g.Type, ok = enumValue(g.Type, rangeTypes); !ok {
		return bad("The recurrence range type is not valid.")
	}
	if !dateOnly.MatchString(g.StartDate) {
		return bad("The recurrence range needs a startDate.")
	}
	switch g.Type {
	case "endDate":
		if !dateOnly.MatchString(g.EndDate) || g.EndDate < g.StartDate {
			return bad("The recurrence range's endDate must be a date after its startDate.")
		}
		g.NumberOfOccurrences = 0
	case "numbered":
		if g.NumberOfOccurrences < 1 {
			return bad("numberOfOccurrences must be at least 1.")
		}
		g.EndDate = "0001-01-01"
	default:
		g.EndDate, g.NumberOfOccurrences = "0001-01-01", 0
	}
	if g.RecurrenceTimeZone == "" {
		g.RecurrenceTimeZone = zone
	}
	return nil
}

// ewsPatterns and ewsRanges are EWS's names of Graph's pattern and range
// types.
var (
	ewsPatterns = map[string]string{"daily": "DailyRecurrence", "weekly": "WeeklyRecurrence",
		"absoluteMonthly": "AbsoluteMonthlyRecurrence", "relativeMonthly": "RelativeMonthlyRecurrence",
		"absoluteYearly": "AbsoluteYearlyRecurrence", "relativeYearly": "RelativeYearlyRecurrence"}
	ewsRanges = map[string]string{"endDate": "EndDateRecurrence", "noEnd": "NoEndRecurrence", "numbered": "NumberedRecurrence"}
	// dayGroups are the day sets EWS names in a relative pattern.
	dayGroups = map[string][]string{
		"Day":        dayNames,
		"Weekday":    {"monday", "tuesday", "wednesday", "thursday", "friday"},
		"WeekendDay": {"sunday", "saturday"},
	}
)

func title(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// ews is the checked recurrence in the shared model's (EWS's) terms; an
// error for a relative pattern whose days EWS cannot name (one day, every
// day, weekdays or the weekend).
func (r recurrenceIn) ews() (*ewssim.Recurrence, *apiError) {
	p, g := r.Pattern, r.Range
	out := &ewssim.Recurrence{Pattern: ewsPatterns[p.Type], Interval: p.Interval, Range: ewsRanges[g.Type],
		StartDate: g.StartDate, DayOfMonth: p.DayOfMonth, Month: p.Month}
	switch p.Type {
	case "weekly":
		for _, d := range dayNames { // in the week's order, as EWS lists them
			if slices.Contains(p.DaysOfWeek, d) {
				out.DaysOfWeek = append(out.DaysOfWeek, title(d))
			}
		}
		out.FirstDayOfWeek = title(p.FirstDayOfWeek)
	case "relativeMonthly", "relativeYearly":
		out.Index = title(p.Index)
		days := slices.Compact(slices.Sorted(slices.Values(p.DaysOfWeek)))
		if len(days) == 1 {
			out.DaysOfWeek = []string{title(days[0])}
		}
		for name, group := range dayGroups {
			if slices.Equal(days, slices.Sorted(slices.Values(group))) {
				out.DaysOfWeek = []string{name}
			}
		}
		if out.DaysOfWeek == nil {
			return nil, &apiError{http.StatusBadRequest, "ErrorInvalidRequest", "A relative pattern takes one day, every day, the weekdays or the weekend."}
		}
	}
	switch p.Type {
	case "absoluteMonthly", "absoluteYearly":
		if p.DayOfMonth < 1 {
			return nil, &apiError{http.StatusBadRequest, "ErrorInvalidRequest", "dayOfMonth is required for a " + p.Type + " pattern."}
		}
	}
	if strings.HasSuffix(p.Type, "Yearly") && p.Month < 1 {
		return nil, &apiError{http.StatusBadRequest, "ErrorInvalidRequest", "month is required for a " + p.Type + " pattern."}
	}
	switch g.Type {
	case "endDate":
		out.EndDate = g.EndDate
	case "numbered":
		out.Count = g.NumberOfOccurrences
	}
	return out, nil
}

// recurrenceJSON is a master's recurrence as Graph renders it (every
// member filled), in the series' zone.
func recurrenceJSON(it ewssim.Item) any {
	r := it.Recurrence
	if r == nil {
		return nil
	}
	var typ string
	for g, e := range ewsPatterns {
		if e == r.Pattern {
			typ = g
		}
	}
	days := []string{}
	for _, d := range r.DaysOfWeek {
		if group, ok := dayGroups[d]; ok {
			days = append(days, group...)
		} else {
			days = append(days, strings.ToLower(d))
		}
	}
	first, index := "sunday", "first"
	if r.FirstDayOfWeek != "" {
		first = strings.ToLower(r.FirstDayOfWeek)
	}
	if r.Index != "" {
		index = strings.ToLower(r.Index)
	}
	month, dom := 0, 0
	if strings.HasSuffix(r.Pattern, "YearlyRecurrence") {
		month = r.Month
	}
	if strings.HasPrefix(r.Pattern, "Absolute") {
		dom = r.DayOfMonth
	}
	rng, end, count := "noEnd", "0001-01-01", 0
	switch r.Range {
	case "EndDateRecurrence":
		rng, end = "endDate", r.EndDate
	case "NumberedRecurrence":
		rng, count = "numbered", r.Count
	}
	zone := it.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	return obj{
		{"pattern", obj{{"type", typ}, {"interval", max(r.Interval, 1)}, {"month", month}, {"dayOfMonth", dom},
			{"daysOfWeek", days}, {"firstDayOfWeek", first}, {"index", index}}},
		{"range", obj{{"type", rng}, {"startDate", r.StartDate}, {"endDate", end},
			{"recurrenceTimeZone", zone}, {"numberOfOccurrences", count}}},
	}
}

// cancelledJSON is a master's cancelledOccurrences: occurrence ids,
// "OID.{masterId}.{yyyy-mm-dd}" with the day in the series' zone.
func cancelledJSON(v ewssim.ItemView) []string {
	loc, ok := zoneLocation(v.TimeZone)
	if !ok || v.TimeZone == "" {
		loc = time.UTC
	}
	out := []string{}
	for _, t := range v.SeriesDeleted() {
		out = append(out, "OID."+v.ImmutableID+"."+t.In(loc).Format("2006-01-02"))
	}
	return out
}

// exceptionsJSON renders a master's exceptions as events, with sel's
// properties only when sel is set.
func exceptionsJSON(v ewssim.ItemView, loc *time.Location, zone string, sel selection) []obj {
	out := []obj{}
	for _, x := range v.SeriesExceptions() {
		out = append(out, sel.apply(exceptionJSON(v.ImmutableID, x, loc, zone)))
	}
	return out
}

func exceptionJSON(masterID string, x ewssim.SeriesOccurrence, loc *time.Location, zone string) obj {
	return obj{
		{"id", ewssim.RestID(x.ID)}, {"subject", x.Subject}, {"type", "exception"}, {"seriesMasterId", masterID},
		{"originalStart", dto(x.OriginalStart)}, {"isCancelled", false},
		{"start", dateTimeTZ(x.Start, loc, zone)}, {"end", dateTimeTZ(x.End, loc, zone)},
		{"location", obj{{"displayName", x.Location}, {"locationType", "default"}, {"uniqueIdType", "unknown"}}},
	}
}

// eventProps are an event's Outlook properties the shared mailbox model
// does not hold, kept as POST or PATCH set them (nil: Graph's default).
// showAs is the model's (its LegacyFreeBusyStatus); it is here only to be
// checked with the others.
type eventProps struct {
	showAs            *string
	isReminderOn      *bool
	reminderMinutes   *int
	responseRequested *bool
}

var showAsValues = []string{"free", "tentative", "busy", "oof", "workingElsewhere", "unknown"}

// showAsOf is Graph's showAs of an item's LegacyFreeBusyStatus, and
// freeBusyOf the reverse (showAs names the same Outlook property).
func showAsOf(it ewssim.Item) string {
	switch fb := it.FreeBusyStatus(); fb {
	case "OOF":
		return "oof"
	case "NoData":
		return "unknown"
	case "WorkingElsewhere":
		return "workingElsewhere"
	default:
		return strings.ToLower(fb)
	}
}

func freeBusyOf(showAs string) string {
	v, _ := enumValue(showAs, showAsValues)
	switch v {
	case "oof":
		return "OOF"
	case "unknown":
		return "NoData"
	case "workingElsewhere":
		return "WorkingElsewhere"
	}
	return title(v)
}

// check validates the properties a request body sets.
func (p eventProps) check() *apiError {
	if p.showAs != nil {
		if _, ok := enumValue(*p.showAs, showAsValues); !ok {
			return &apiError{http.StatusBadRequest, "UnableToDeserializePostBody", "'" + *p.showAs + "' is not a valid freeBusyStatus."}
		}
	}
	if p.reminderMinutes != nil && (*p.reminderMinutes < 0 || *p.reminderMinutes > 40320) {
		return &apiError{http.StatusBadRequest, "ErrorInvalidRequest", "reminderMinutesBeforeStart is out of range."}
	}
	return nil
}

// setProps merges the properties a request set into the event's.
func (s *Server) setProps(id string, p eventProps) {
	s.propsMu.Lock()
	defer s.propsMu.Unlock()
	cur := s.props[id]
	if p.isReminderOn != nil {
		cur.isReminderOn = p.isReminderOn
	}
	if p.reminderMinutes != nil {
		cur.reminderMinutes = p.reminderMinutes
	}
	if p.responseRequested != nil {
		cur.responseRequested = p.responseRequested
	}
	s.props[id] = cur
}

// withProps puts the event's own properties into its rendering.
func (s *Server) withProps(id string, o obj) obj {
	s.propsMu.Lock()
	p, ok := s.props[id]
	s.propsMu.Unlock()
	if !ok {
		return o
	}
	for i := range o {
		switch o[i].k {
		case "isReminderOn":
			if p.isReminderOn != nil {
				o[i].v = *p.isReminderOn
			}
		case "reminderMinutesBeforeStart":
			if p.reminderMinutes != nil {
				o[i].v = *p.reminderMinutes
			}
		case "responseRequested":
			if p.responseRequested != nil {
				o[i].v = *p.responseRequested
			}
		}
	}
	return o
}

// setRecurrence makes it a series master with the request's recurrence,
// in the event's zone (the recurrence's when the event names none). A new
// pattern drops the series' exceptions and deleted occurrences, as
// Exchange does; the start moves to the first occurrence when the one
// given does not fit the pattern (as EWS CreateItem does).
func (e *eventIn) setRecurrence(it *ewssim.Item) *apiError {
	if it.TimeZone == "" {
		it.TimeZone = e.Recurrence.Range.RecurrenceTimeZone
	}
	zone := it.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	if err := e.Recurrence.check(zone); err != nil {
		return err
	}
	r, err := e.Recurrence.ews()
	if err != nil {
		return err
	}
	if it.Recurrence == nil || !reflect.DeepEqual(*it.Recurrence, *r) {
		it.Exceptions, it.DeletedOccurrences = nil, nil
	}
	it.Recurrence, it.IsRecurring = r, true
	start, end := it.FirstOccurrence()
	if start.IsZero() {
		return &apiError{http.StatusBadRequest, "ErrorInvalidRequest", "The recurrence has no occurrence."}
	}
	it.Start, it.End = start, end
	return nil
}

func (s *Server) dropProps(id string) {
	s.propsMu.Lock()
	defer s.propsMu.Unlock()
	delete(s.props, id)
}
