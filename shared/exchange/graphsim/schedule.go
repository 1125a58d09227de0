package graphsim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// Limits Graph enforces on getSchedule.
const (
	maxScheduleWindow = 62 * 24 * time.Hour
	defaultInterval   = 30
)

// viewDigits are availabilityView's digits per showAs, and viewRank which
// of two overlapping statuses an interval shows (the busier, as EWS's
// MergedFreeBusy).
var (
	viewDigits = map[string]byte{"free": '0', "tentative": '1', "busy": '2', "oof": '3', "workingElsewhere": '4', "unknown": '0'}
	viewRank   = map[byte]int{'0': 0, '4': 1, '1': 2, '2': 3, '3': 4}
)

// getSchedule answers calendar/getSchedule: per schedule the calendar
// items in the window (series expanded), an availabilityView digit per
// interval (0 free, 1 tentative, 2 busy, 3 out of office, 4 working
// elsewhere: the busiest item's) and working hours (Monday to
// Friday, 08:00 to 17:00 in the request's zone). An unknown mailbox or
// one outside the app's scope gets an error entry, not a failed request.
func (s *Server) getSchedule(c *call) {
	var in struct {
		Schedules []string           `json:"schedules"`
		StartTime dateTimeTimeZoneIn `json:"startTime"`
		EndTime   dateTimeTimeZoneIn `json:"endTime"`
		Interval  *int               `json:"availabilityViewInterval"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, s.opts.MaxRequestBytes))
	if err == nil {
		err = json.Unmarshal(body, &in)
	}
	if err != nil {
		c.fail(http.StatusBadRequest, "UnableToDeserializePostBody", "Unable to deserialize the request body.")
		return
	}
	switch {
	case len(in.Schedules) == 0:
		c.fail(http.StatusBadRequest, "ErrorInvalidParameter", "The parameter 'Schedules' must hold at least one SMTP address.")
		return
	case len(in.Schedules) > maxSchedules:
		c.fail(http.StatusBadRequest, "ErrorInvalidParameter", "The number of schedules must not exceed 20.")
		return
	}
	start, e := in.StartTime.parse()
	if e != nil {
		c.failWith(e)
		return
	}
	end, e := in.EndTime.parse()
	if e != nil {
		c.failWith(e)
		return
	}
	if !end.After(start) {
		c.fail(http.StatusBadRequest, "ErrorInvalidParameter", "The end time must be later than the start time.")
		return
	}
	if end.Sub(start) > maxScheduleWindow {
		c.fail(http.StatusBadRequest, "ErrorInvalidParameter", "The requested time duration exceeds the maximum of 62 days.")
		return
	}
	interval := defaultInterval
	if in.Interval != nil {
		interval = *in.Interval
	}
	if interval < 5 || interval > 1440 {
		c.fail(http.StatusBadRequest, "ErrorInvalidParameter", "The availabilityViewInterval must be between 5 and 1440 minutes.")
		return
	}
	zone := in.StartTime.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	loc, _ := zoneLocation(zone)
	value := make([]obj, 0, len(in.Schedules))
	for _, id := range in.Schedules {
		value = append(value, s.schedule(c, id, start, end, interval, loc, zone))
	}
	c.json(http.StatusOK, obj{{"@odata.context", c.base + "/$metadata#Collection(microsoft.graph.scheduleInformation)"}, {"value", value}})
}

func (s *Server) schedule(c *call, id string, start, end time.Time, interval int, loc *time.Location, zone string) obj {
	failed := func(code, msg string) obj {
		return obj{{"scheduleId", id}, {"availabilityView", ""}, {"scheduleItems", []obj{}}, {"error", obj{{"message", msg}, {"responseCode", code}}}}
	}
	m, ok := s.sim.Mailbox(id)
	if !ok {
		return failed("ErrorMailRecipientNotFound", "The SMTP address has no mailbox associated with it.")
	}
	if !s.sim.AppScoped(c.app.ClientID, m.Address) {
		return failed("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
	}
	// Series expanded into their occurrences and exceptions (deleted ones
	// left out), as calendarView and EWS's availability expand them.
	busy, err := s.sim.CalendarView(m.Address, start, end)
	if err != nil {
		return failed("ErrorMailRecipientNotFound", "The SMTP address has no mailbox associated with it.")
	}
	step := time.Duration(interval) * time.Minute
	var view strings.Builder
	for t := start; t.Before(end); t = t.Add(step) {
		digit := byte('0')
		for _, v := range busy {
			if d := viewDigits[showAsOf(v.Item)]; v.Start.Before(t.Add(step)) && v.End.After(t) && viewRank[d] > viewRank[digit] {
				digit = d
			}
		}
		view.WriteByte(digit)
	}
	scheduleItems := make([]obj, 0, len(busy))
	for _, v := range busy {
		scheduleItems = append(scheduleItems, obj{
			{"isPrivate", false},
			{"status", showAsOf(v.Item)},
			{"subject", v.Subject},
			{"location", v.Location},
			{"start", dateTimeTZ(v.Start, loc, zone)},
			{"end", dateTimeTZ(v.End, loc, zone)},
		})
	}
	return obj{
		{"scheduleId", id},
		{"availabilityView", view.String()},
		{"scheduleItems", scheduleItems},
		{"workingHours", obj{
			{"daysOfWeek", []string{"monday", "tuesday", "wednesday", "thursday", "friday"}},
			{"startTime", "08:00:00.0000000"},
			{"endTime", "17:00:00.0000000"},
			{"timeZone", obj{{"name", zone}}},
		}},
	}
}
