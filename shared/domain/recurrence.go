package domain

import "time"

// Recurrence is a recurring series' pattern and range, in the shape both
// protocols give (EWS RecurrenceType, Graph patternedRecurrence), with the
// same series as an RFC 5545 RRULE a consumer can hand to a standard
// recurrence library.
type Recurrence struct {
	Pattern RecurrencePattern `json:"pattern"`
	Range   RecurrenceRange   `json:"range"`
	// RRule is the series as an RFC 5545 RRULE value (without DTSTART:
	// the series' start and time zone are the item's Start and TimeZone).
	RRule string `json:"rrule,omitempty"`
	// RRuleError says why a pattern has no RRULE (a value neither RFC
	// 5545 nor Exchange accepts); the pattern and range stay as given.
	RRuleError string `json:"rruleError,omitempty"`
}

// Recurrence pattern types (Graph's names; EWS's elements map onto them).
const (
	PatternDaily           = "daily"
	PatternWeekly          = "weekly"
	PatternAbsoluteMonthly = "absoluteMonthly"
	PatternRelativeMonthly = "relativeMonthly"
	PatternAbsoluteYearly  = "absoluteYearly"
	PatternRelativeYearly  = "relativeYearly"
)

// RecurrencePattern is how often a series repeats.
type RecurrencePattern struct {
	Type     string `json:"type"`
	Interval int    `json:"interval"`
	// Month is 1-12 for yearly patterns.
	Month int `json:"month,omitempty"`
	// DayOfMonth is 1-31 for absolute monthly and yearly patterns.
	DayOfMonth int `json:"dayOfMonth,omitempty"`
	// DaysOfWeek are lower-case English day names (sunday ... saturday).
	DaysOfWeek     []string `json:"daysOfWeek,omitempty"`
	FirstDayOfWeek string   `json:"firstDayOfWeek,omitempty"`
	// Index is first, second, third, fourth or last, for relative patterns.
	Index string `json:"index,omitempty"`
}

// Recurrence range types.
const (
	RangeEndDate  = "endDate"
	RangeNoEnd    = "noEnd"
	RangeNumbered = "numbered"
)

// RecurrenceRange is when a series starts and ends. Dates are YYYY-MM-DD
// in the series' time zone.
type RecurrenceRange struct {
	Type                string `json:"type"`
	StartDate           string `json:"startDate"`
	EndDate             string `json:"endDate,omitempty"`
	NumberOfOccurrences int    `json:"numberOfOccurrences,omitempty"`
}

// Calendar item types: what an event is within a series.
const (
	CalendarSingle       = "single"
	CalendarSeriesMaster = "seriesMaster"
	CalendarOccurrence   = "occurrence"
	CalendarException    = "exception"
)

// Occurrence is a modified occurrence of a series: its own times and the
// fields that differ, and the start it had before it was moved.
type Occurrence struct {
	ItemID        string    `json:"itemId,omitempty"`
	OriginalStart time.Time `json:"originalStart"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	Subject       string    `json:"subject,omitempty"`
	Location      string    `json:"location,omitempty"`
	IsCancelled   bool      `json:"isCancelled,omitempty"`
}

// DeletedOccurrence is an occurrence removed from a series, named by the
// start it would have had.
type DeletedOccurrence struct {
	OriginalStart time.Time `json:"originalStart"`
}

// Free/busy statuses of an event (Graph's showAs names).
const (
	ShowAsFree             = "free"
	ShowAsTentative        = "tentative"
	ShowAsBusy             = "busy"
	ShowAsOutOfOffice      = "oof"
	ShowAsWorkingElsewhere = "workingElsewhere"
	ShowAsUnknown          = "unknown"
)

// Attendee responses (Graph's responseType names).
const (
	ResponseNone                = "none"
	ResponseOrganizer           = "organizer"
	ResponseTentativelyAccepted = "tentativelyAccepted"
	ResponseAccepted            = "accepted"
	ResponseDeclined            = "declined"
	ResponseNotResponded        = "notResponded"
)
