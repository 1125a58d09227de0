package graphsim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// Room-display support, as Graph serves it:
//
//   - GET /users/{id}/calendarView?startDateTime=&endDateTime= lists the
//     calendar's events overlapping the window, earliest first ($top,
//     $skip, $select; paged by @odata.nextLink);
//   - POST /users/{id}/events/{id}/decline {comment, sendResponse}: an
//     attendee declines; 202, the event leaves the calendar and the
//     organizer gets the response unless sendResponse is false;
//   - POST /users/{id}/events/{id}/cancel {comment}: the organizer
//     cancels; 202, the attendees get the cancellation.
//
// Declining a meeting the user organizes, or cancelling one it attends,
// is refused with 400 ErrorInvalidRequest. The simulator's model (shared
// with ewssim, ewssim.Sim.RespondToMeeting) delivers the responses.

func (s *Server) calendarView(c *call) {
	loc, zone, ok := c.outputZone()
	if !ok {
		return
	}
	q := c.r.URL.Query()
	parse := func(name string) (time.Time, bool) {
		v := q.Get(name)
		if v == "" {
			c.fail(http.StatusBadRequest, "ErrorInvalidParameter", "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.")
			return time.Time{}, false
		}
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t, true
		}
		t, err := time.ParseInLocation("2006-01-02T15:04:05.9999999", v, time.UTC)
		if err != nil {
			c.fail(http.StatusBadRequest, "ErrorInvalidParameter", "The parameter '"+name+"' is not a valid date and time.")
			return time.Time{}, false
		}
		return t, true
	}
	start, ok := parse("startDateTime")
	if !ok {
		return
	}
	end, ok := parse("endDateTime")
	if !ok {
		return
	}
	if !end.After(start) {
		c.fail(http.StatusBadRequest, "ErrorInvalidParameter", "The parameter 'EndDateTime' must be after 'StartDateTime'.")
		return
	}
	page, ok := c.readEventPage(q)
	if !ok {
		return
	}
	// Series expanded as Exchange expands them (calendarview.go).
	hits, err := s.sim.CalendarView(c.mb.Address, start, end)
	if err != nil {
		c.failWith(errFolderNotFound)
		return
	}
	page.answer(c, q, "calendarView", len(hits), func(i int) obj { return instanceJSON(s.eventJSONFor(hits[i].ItemView, loc, zone), hits[i]) })
}

func (s *Server) declineEvent(c *call) { s.respond(c, "DeclineItem") }
func (s *Server) cancelEvent(c *call)  { s.respond(c, "CancelCalendarItem") }

func (s *Server) respond(c *call, kind string) {
	v, ok := c.item(ewssim.KindCalendar)
	if !ok {
		return
	}
	var in struct {
		Comment      string `json:"comment"`
		SendResponse *bool  `json:"sendResponse"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, c.s.opts.MaxRequestBytes))
	if err != nil {
		c.fail(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request body is too large.")
		return
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			c.fail(http.StatusBadRequest, "UnableToDeserializePostBody", "Unable to deserialize the request body: "+err.Error())
			return
		}
	}
	send := in.SendResponse == nil || *in.SendResponse || kind == "CancelCalendarItem"
	err = s.sim.RespondToMeeting(v.ID, kind, in.Comment, send, send)
	switch {
	case err == nil:
		c.w.WriteHeader(http.StatusAccepted)
	case errors.Is(err, ewssim.ErrNotFound):
		c.failWith(errItemNotFound)
	case kind == "DeclineItem":
		c.fail(http.StatusBadRequest, "ErrorInvalidRequest", "Your request can't be completed. You can't respond to a meeting you organized.")
	default:
		c.fail(http.StatusBadRequest, "ErrorInvalidRequest", "Your request can't be completed. Only the organizer can cancel a meeting.")
	}
}
