package ews

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// calendar.go owns the calendar item's series and meeting properties:
// calendar:Recurrence with its modified and deleted occurrences, and the
// free/busy, response, reminder and zone properties, decoded as Exchange
// gives them and encoded for CreateItem.

// Recurrence is a series' calendar:Recurrence as Exchange gives it: one
// pattern element and one range element.
type Recurrence struct {
	// Pattern is the pattern element's name: RelativeYearlyRecurrence,
	// AbsoluteYearlyRecurrence, RelativeMonthlyRecurrence,
	// AbsoluteMonthlyRecurrence, WeeklyRecurrence or DailyRecurrence.
	Pattern        string
	Interval       int      // not in the yearly patterns (1)
	DaysOfWeek     []string // Monday ... Sunday, or Day, Weekday, WeekendDay (relative patterns)
	FirstDayOfWeek string   // weekly, optional
	DayOfWeekIndex string   // First, Second, Third, Fourth, Last
	DayOfMonth     int
	Month          string // January ... December
	// Range is NoEndRecurrence, EndDateRecurrence or NumberedRecurrence.
	// StartDate and EndDate are xs:date values (YYYY-MM-DD, which
	// Exchange may follow with a zone offset: kept as given).
	Range               string
	StartDate, EndDate  string
	NumberOfOccurrences int
}

// Occurrence is one entry of ModifiedOccurrences (or FirstOccurrence,
// LastOccurrence): an exception's id, times and its start in the pattern.
type Occurrence struct {
	ItemID, ChangeKey string
	Start, End        time.Time
	OriginalStart     time.Time
}

// Pattern and range element names.
const (
	RelativeYearlyRecurrence  = "RelativeYearlyRecurrence"
	AbsoluteYearlyRecurrence  = "AbsoluteYearlyRecurrence"
	RelativeMonthlyRecurrence = "RelativeMonthlyRecurrence"
	AbsoluteMonthlyRecurrence = "AbsoluteMonthlyRecurrence"
	WeeklyRecurrence          = "WeeklyRecurrence"
	DailyRecurrence           = "DailyRecurrence"
	NoEndRecurrence           = "NoEndRecurrence"
	EndDateRecurrence         = "EndDateRecurrence"
	NumberedRecurrence        = "NumberedRecurrence"
)

// calendarFields are what every calendar read asks for: the fields of
// ShapeCalendar before this file, then the series and meeting properties.
// StartTimeZone/EndTimeZone come from Exchange 2010 on; JoinOnlineMeetingUrl
// from Exchange 2013 on (ShapeCalendarFor).
var calendarSeriesFields = []string{
	"calendar:Recurrence", "calendar:ModifiedOccurrences", "calendar:DeletedOccurrences",
	"calendar:OriginalStart", "calendar:LegacyFreeBusyStatus", "calendar:IsCancelled",
	"calendar:MyResponseType", "calendar:IsResponseRequested", "calendar:Resources",
	"item:ReminderIsSet", "item:ReminderMinutesBeforeStart",
}

// ShapeCalendarFor is ShapeCalendar with the fields the tenant's Exchange
// version knows: Exchange 2007 has no StartTimeZone/EndTimeZone (its zone
// is MeetingTimeZone) and no StartTimeZoneId; JoinOnlineMeetingUrl needs
// Exchange 2013. An empty version is the newest.
func ShapeCalendarFor(version string) Shape {
	fields := slices.Clone(ShapeCalendar.Fields)
	fields = append(fields, calendarSeriesFields...)
	if AtLeast(version, "Exchange2010") {
		fields = append(fields, "calendar:StartTimeZone", "calendar:EndTimeZone")
	} else {
		fields = slices.DeleteFunc(fields, func(f string) bool { return f == "calendar:StartTimeZoneId" })
		fields = append(fields, "calendar:MeetingTimeZone")
	}
	if AtLeast(version, "Exchange2013") {
		fields = append(fields, "calendar:JoinOnlineMeetingUrl")
	}
	return Shape{Base: ShapeCalendar.Base, Fields: fields, BodyType: ShapeCalendar.BodyType}
}

// ShapeOccurrence is what a modified occurrence is read with: its own
// subject, location and cancelled flag (ModifiedOccurrences gives only
// its id and times).
var ShapeOccurrence = Shape{Base: "IdOnly", Fields: []string{
	"item:Subject", "calendar:Start", "calendar:End", "calendar:OriginalStart",
	"calendar:Location", "calendar:IsCancelled", "calendar:CalendarItemType",
}}

// decodeCalendarProp reads one of this file's properties into it; false
// when c is none of them.
func decodeCalendarProp(c elem, it *Item) bool {
	switch c.name() {
	case "Recurrence":
		it.Recurrence = decodeRecurrence(c)
	case "ModifiedOccurrences":
		for o := range c.children() {
			it.ModifiedOccurrences = append(it.ModifiedOccurrences, decodeOccurrence(o))
		}
	case "DeletedOccurrences":
		for o := range c.children() {
			it.DeletedOccurrences = append(it.DeletedOccurrences, parseTime(o.child("Start").text()))
		}
	case "OriginalStart":
		it.OriginalStart = parseTime(c.text())
	case "LegacyFreeBusyStatus":
		it.LegacyFreeBusyStatus = c.text()
	case "IsCancelled":
		it.IsCancelled = parseBool(c.text())
	case "MyResponseType":
		it.MyResponseType = c.text()
	case "IsResponseRequested":
		b := parseBool(c.text())
		it.IsResponseRequested = &b
	case "Resources":
		it.Resources = decodeAttendees(c)
	case "ReminderIsSet":
		it.ReminderIsSet = parseBool(c.text())
	case "ReminderMinutesBeforeStart":
		n := parseInt(c.text())
		it.ReminderMinutesBeforeStart = &n
	case "JoinOnlineMeetingUrl":
		it.JoinOnlineMeetingURL = c.text()
	case "EndTimeZone":
		it.EndTimeZone = c.attr("Id")
	case "EndTimeZoneId":
		if it.EndTimeZone == "" {
			it.EndTimeZone = c.text()
		}
	case "MeetingTimeZone":
		// Exchange 2007: the zone's name is its TimeZoneName attribute.
		if it.StartTimeZone == "" {
			it.StartTimeZone = c.attr("TimeZoneName")
		}
	case "TimeZone":
		// Exchange 2007's display name of the zone ("(GMT-08:00) Pacific
		// Time") or, in Microsoft's samples, its id: a last resort.
		if it.StartTimeZone == "" {
			it.StartTimeZone = c.text()
		}
	default:
		return false
	}
	return true
}

func decodeOccurrence(o elem) Occurrence {
	id := o.child("ItemId")
	return Occurrence{
		ItemID: id.attr("Id"), ChangeKey: id.attr("ChangeKey"),
		Start: parseTime(o.child("Start").text()), End: parseTime(o.child("End").text()),
		OriginalStart: parseTime(o.child("OriginalStart").text()),
	}
}

func decodeRecurrence(e elem) *Recurrence {
	r := &Recurrence{}
	for c := range e.children() {
		switch c.name() {
		case RelativeYearlyRecurrence, AbsoluteYearlyRecurrence, RelativeMonthlyRecurrence,
			AbsoluteMonthlyRecurrence, WeeklyRecurrence, DailyRecurrence:
			r.Pattern = c.name()
			r.Interval = 1
			for p := range c.children() {
				switch p.name() {
				case "Interval":
					r.Interval = parseInt(p.text())
				case "DaysOfWeek":
					r.DaysOfWeek = strings.Fields(p.text())
				case "FirstDayOfWeek":
					r.FirstDayOfWeek = strings.TrimSpace(p.text())
				case "DayOfWeekIndex":
					r.DayOfWeekIndex = strings.TrimSpace(p.text())
				case "DayOfMonth":
					r.DayOfMonth = parseInt(p.text())
				case "Month":
					r.Month = strings.TrimSpace(p.text())
				}
			}
		case NoEndRecurrence, EndDateRecurrence, NumberedRecurrence:
			r.Range = c.name()
			r.StartDate = strings.TrimSpace(c.child("StartDate").text())
			r.EndDate = strings.TrimSpace(c.child("EndDate").text())
			r.NumberOfOccurrences = parseInt(c.child("NumberOfOccurrences").text())
		}
	}
	if r.Pattern == "" && r.Range == "" {
		return nil
	}
	return r
}

// --- encoding (CreateItem) ---

// The pattern structs follow each pattern type's sequence in types.xsd.
type xRange struct {
	StartDate           string `xml:"t:StartDate"`
	EndDate             string `xml:"t:EndDate,omitempty"`
	NumberOfOccurrences string `xml:"t:NumberOfOccurrences,omitempty"`
}

type xRelativePattern struct {
	Interval       string `xml:"t:Interval,omitempty"`
	DaysOfWeek     string `xml:"t:DaysOfWeek"`
	DayOfWeekIndex string `xml:"t:DayOfWeekIndex"`
	Month          string `xml:"t:Month,omitempty"`
}

type xAbsolutePattern struct {
	Interval   string `xml:"t:Interval,omitempty"`
	DayOfMonth string `xml:"t:DayOfMonth"`
	Month      string `xml:"t:Month,omitempty"`
}

type xWeeklyPattern struct {
	Interval       string `xml:"t:Interval"`
	DaysOfWeek     string `xml:"t:DaysOfWeek"`
	FirstDayOfWeek string `xml:"t:FirstDayOfWeek,omitempty"`
}

type xDailyPattern struct {
	Interval string `xml:"t:Interval"`
}

type xRecurrence struct {
	RelativeYearly  *xRelativePattern `xml:"t:RelativeYearlyRecurrence,omitempty"`
	AbsoluteYearly  *xAbsolutePattern `xml:"t:AbsoluteYearlyRecurrence,omitempty"`
	RelativeMonthly *xRelativePattern `xml:"t:RelativeMonthlyRecurrence,omitempty"`
	AbsoluteMonthly *xAbsolutePattern `xml:"t:AbsoluteMonthlyRecurrence,omitempty"`
	Weekly          *xWeeklyPattern   `xml:"t:WeeklyRecurrence,omitempty"`
	Daily           *xDailyPattern    `xml:"t:DailyRecurrence,omitempty"`
	NoEnd           *xRange           `xml:"t:NoEndRecurrence,omitempty"`
	EndDate         *xRange           `xml:"t:EndDateRecurrence,omitempty"`
	Numbered        *xRange           `xml:"t:NumberedRecurrence,omitempty"`
}

var ewsDays = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Day", "Weekday", "WeekendDay"}
var ewsIndexes = []string{"First", "Second", "Third", "Fourth", "Last"}

// MonthNames are EWS's month names, January first.
var MonthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}

// validate checks r before it is sent (the schema's types, and what
// Exchange answers ErrorCalendarInvalidRecurrence for).
func (r *Recurrence) validate(op string) error {
	in := func(v string, set []string) bool { return slices.Contains(set, v) }
	yearly := r.Pattern == RelativeYearlyRecurrence || r.Pattern == AbsoluteYearlyRecurrence
	if !yearly && (r.Interval < 1 || r.Interval > 999) {
		return invalidArg(op, "recurrence interval %d is not 1 to 999", r.Interval)
	}
	relative := r.Pattern == RelativeYearlyRecurrence || r.Pattern == RelativeMonthlyRecurrence
	switch r.Pattern {
	case DailyRecurrence:
	case WeeklyRecurrence:
		if len(r.DaysOfWeek) == 0 {
			return invalidArg(op, "a weekly recurrence needs days of the week")
		}
		for _, d := range r.DaysOfWeek {
			if !in(d, ewsDays[:7]) {
				return invalidArg(op, "day of week %q is not Sunday to Saturday", d)
			}
		}
		if r.FirstDayOfWeek != "" && !in(r.FirstDayOfWeek, ewsDays[:7]) {
			return invalidArg(op, "first day of week %q is not Sunday to Saturday", r.FirstDayOfWeek)
		}
	case RelativeMonthlyRecurrence, RelativeYearlyRecurrence, AbsoluteMonthlyRecurrence, AbsoluteYearlyRecurrence:
	default:
		return invalidArg(op, "recurrence pattern %q is not one of EWS's six", r.Pattern)
	}
	if relative && (len(r.DaysOfWeek) != 1 || !in(r.DaysOfWeek[0], ewsDays) || !in(r.DayOfWeekIndex, ewsIndexes)) {
		return invalidArg(op, "a relative recurrence needs one day (Sunday to Saturday, Day, Weekday, WeekendDay) and an index (First to Fourth, Last)")
	}
	if (r.Pattern == AbsoluteMonthlyRecurrence || r.Pattern == AbsoluteYearlyRecurrence) && (r.DayOfMonth < 1 || r.DayOfMonth > 31) {
		return invalidArg(op, "day of month %d is not 1 to 31", r.DayOfMonth)
	}
	if yearly && !in(r.Month, MonthNames) {
		return invalidArg(op, "month %q is not January to December", r.Month)
	}
	if _, err := time.Parse(time.DateOnly, r.StartDate); err != nil {
		return invalidArg(op, "recurrence start date %q is not YYYY-MM-DD", r.StartDate)
	}
	switch r.Range {
	case NoEndRecurrence:
	case EndDateRecurrence:
		if _, err := time.Parse(time.DateOnly, r.EndDate); err != nil || r.EndDate < r.StartDate {
			return invalidArg(op, "recurrence end date %q is not a YYYY-MM-DD date on or after the start date", r.EndDate)
		}
	case NumberedRecurrence:
		if r.NumberOfOccurrences < 1 || r.NumberOfOccurrences > 999 {
			return invalidArg(op, "number of occurrences %d is not 1 to 999", r.NumberOfOccurrences)
		}
	default:
		return invalidArg(op, "recurrence range %q is not NoEndRecurrence, EndDateRecurrence or NumberedRecurrence", r.Range)
	}
	return nil
}

func (r *Recurrence) xml() *xRecurrence {
	x := &xRecurrence{}
	iv := strconv.Itoa(r.Interval)
	day := ""
	if len(r.DaysOfWeek) > 0 {
		day = r.DaysOfWeek[0]
	}
	dom := strconv.Itoa(r.DayOfMonth)
	switch r.Pattern {
	case RelativeYearlyRecurrence:
		x.RelativeYearly = &xRelativePattern{DaysOfWeek: day, DayOfWeekIndex: r.DayOfWeekIndex, Month: r.Month}
	case AbsoluteYearlyRecurrence:
		x.AbsoluteYearly = &xAbsolutePattern{DayOfMonth: dom, Month: r.Month}
	case RelativeMonthlyRecurrence:
		x.RelativeMonthly = &xRelativePattern{Interval: iv, DaysOfWeek: day, DayOfWeekIndex: r.DayOfWeekIndex}
	case AbsoluteMonthlyRecurrence:
		x.AbsoluteMonthly = &xAbsolutePattern{Interval: iv, DayOfMonth: dom}
	case WeeklyRecurrence:
		x.Weekly = &xWeeklyPattern{Interval: iv, DaysOfWeek: strings.Join(r.DaysOfWeek, " "), FirstDayOfWeek: r.FirstDayOfWeek}
	case DailyRecurrence:
		x.Daily = &xDailyPattern{Interval: iv}
	}
	rg := &xRange{StartDate: r.StartDate}
	switch r.Range {
	case NoEndRecurrence:
		x.NoEnd = rg
	case EndDateRecurrence:
		rg.EndDate = r.EndDate
		x.EndDate = rg
	case NumberedRecurrence:
		rg.NumberOfOccurrences = strconv.Itoa(r.NumberOfOccurrences)
		x.Numbered = rg
	}
	return x
}
