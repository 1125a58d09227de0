package graphsim

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// Recurring series. The simulator keeps a series' recurrence and its
// exceptions and cancelled occurrences beside the item (the shared
// mailbox model holds no recurrence), serves the recurrence on the
// master as Graph renders a patternedRecurrence (every member filled:
// month 0, index "first" on a daily pattern), cancelledOccurrences on
// $select and exceptionOccurrences on $expand. It does not expand a
// series into instances: exceptions and cancellations are set with
// SetSeriesExceptions (Graph makes them by PATCH or DELETE of an
// instance).

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

// Exception is a modified occurrence of a series.
type Exception struct {
	ID                string
	OriginalStart     time.Time
	Start, End        time.Time
	Subject, Location string
	IsCancelled       bool
}

type series struct {
	rec        recurrenceIn
	exceptions []Exception
	cancelled  []time.Time // original starts
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

func (r recurrenceIn) json() obj {
	days := r.Pattern.DaysOfWeek
	if days == nil {
		days = []string{}
	}
	return obj{
		{"pattern", obj{{"type", r.Pattern.Type}, {"interval", r.Pattern.Interval}, {"month", r.Pattern.Month}, {"dayOfMonth", r.Pattern.DayOfMonth},
			{"daysOfWeek", days}, {"firstDayOfWeek", r.Pattern.FirstDayOfWeek}, {"index", r.Pattern.Index}}},
		{"range", obj{{"type", r.Range.Type}, {"startDate", r.Range.StartDate}, {"endDate", r.Range.EndDate},
			{"recurrenceTimeZone", r.Range.RecurrenceTimeZone}, {"numberOfOccurrences", r.Range.NumberOfOccurrences}}},
	}
}

// ErrNotSeries: SetSeriesExceptions was given an id that is no series
// master.
var ErrNotSeries = errors.New("graphsim: no series master with this id")

// SetSeriesExceptions sets the exceptions and cancelled occurrences (by
// original start) of the series master with the Graph id, as Outlook
// leaves them after instances were changed or deleted.
// The master changes (a new change key), so delta reports it, as
// Exchange does when an instance changes.
func (s *Server) SetSeriesExceptions(id string, exceptions []Exception, cancelled []time.Time) error {
	s.seriesMu.Lock()
	sr, ok := s.series[id]
	if ok {
		sr.exceptions = slices.Clone(exceptions)
		sr.cancelled = slices.Clone(cancelled)
	}
	s.seriesMu.Unlock()
	if !ok {
		return ErrNotSeries
	}
	v, err := s.sim.ItemByImmutableID(id)
	if err != nil {
		return err
	}
	_, err = s.sim.UpdateItem(v.ID, func(*ewssim.Item) {})
	return err
}

func (s *Server) seriesOf(id string) (series, bool) {
	s.seriesMu.Lock()
	defer s.seriesMu.Unlock()
	sr, ok := s.series[id]
	if !ok {
		return series{}, false
	}
	return *sr, true
}

func (s *Server) setRecurrence(id string, r recurrenceIn) {
	s.seriesMu.Lock()
	defer s.seriesMu.Unlock()
	if sr, ok := s.series[id]; ok {
		sr.rec = r
		return
	}
	s.series[id] = &series{rec: r}
}

func (s *Server) dropSeries(id string) {
	s.seriesMu.Lock()
	defer s.seriesMu.Unlock()
	delete(s.series, id)
	delete(s.props, id)
}

// cancelledJSON is a master's cancelledOccurrences: occurrence ids,
// "OID.{masterId}.{yyyy-mm-dd}" with the day in the series' zone.
func (sr series) cancelledJSON(id string) []string {
	loc, ok := zoneLocation(sr.rec.Range.RecurrenceTimeZone)
	if !ok {
		loc = time.UTC
	}
	out := []string{}
	for _, t := range sr.cancelled {
		out = append(out, "OID."+id+"."+t.In(loc).Format("2006-01-02"))
	}
	return out
}

// exceptionsJSON renders a master's exceptions as events, with sel's
// properties only when sel is set.
func (sr series) exceptionsJSON(masterID string, loc *time.Location, zone string, sel selection) []obj {
	out := []obj{}
	for _, x := range sr.exceptions {
		e := obj{
			{"id", x.ID}, {"subject", x.Subject}, {"type", "exception"}, {"seriesMasterId", masterID},
			{"originalStart", dto(x.OriginalStart)}, {"isCancelled", x.IsCancelled},
			{"start", dateTimeTZ(x.Start, loc, zone)}, {"end", dateTimeTZ(x.End, loc, zone)},
			{"location", obj{{"displayName", x.Location}, {"locationType", "default"}, {"uniqueIdType", "unknown"}}},
		}
		out = append(out, sel.apply(e))
	}
	return out
}

// SetSeriesRecurrence makes the event with the Graph id a series master
// with the recurrence (a patternedRecurrence as JSON), validated as POST
// /events validates it: a seeding hook for tests, like ewssim's AddItem.
func (s *Server) SetSeriesRecurrence(id string, recurrenceJSON []byte) error {
	v, err := s.sim.ItemByImmutableID(id)
	if err != nil {
		return err
	}
	var r recurrenceIn
	if err := json.Unmarshal(recurrenceJSON, &r); err != nil {
		return err
	}
	zone := v.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	if e := r.check(zone); e != nil {
		return errors.New(e.message)
	}
	s.setRecurrence(id, r)
	_, err = s.sim.UpdateItem(v.ID, func(it *ewssim.Item) { it.IsRecurring = true })
	return err
}

// eventProps are an event's Outlook properties the shared mailbox model
// does not hold, kept as POST or PATCH set them (nil: Graph's default).
type eventProps struct {
	showAs            *string
	isReminderOn      *bool
	reminderMinutes   *int
	responseRequested *bool
}

var showAsValues = []string{"free", "tentative", "busy", "oof", "workingElsewhere", "unknown"}

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
	s.seriesMu.Lock()
	defer s.seriesMu.Unlock()
	cur := s.props[id]
	if p.showAs != nil {
		v, _ := enumValue(*p.showAs, showAsValues)
		cur.showAs = &v
	}
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
	s.seriesMu.Lock()
	p, ok := s.props[id]
	s.seriesMu.Unlock()
	if !ok {
		return o
	}
	for i := range o {
		switch o[i].k {
		case "showAs":
			if p.showAs != nil {
				o[i].v = *p.showAs
			}
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
