package graphsim

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// instances.go serves PATCH and DELETE on one instance of a series (an
// occurrence or exception id, as calendarView and exceptionOccurrences
// give them), in the shared model as EWS's UpdateItem and DeleteItem on an
// occurrence act: a PATCH of subject, location, start or end makes the
// instance an exception; a DELETE adds it to the master's deleted
// occurrences (cancelledOccurrences). Either gives the master a new
// change key, so delta reports the master, as Exchange does.

// instance resolves the request's id as an instance of a series of the
// request's mailbox; ok is false when the id is no occurrence id.
func (c *call) instance() (ewssim.ItemView, ewssim.SeriesOccurrence, bool) {
	id := c.r.PathValue("id")
	if _, _, isOcc := ewssim.OccurrenceIndex(id); !isOcc {
		return ewssim.ItemView{}, ewssim.SeriesOccurrence{}, false
	}
	master, x, err := c.s.sim.OccurrenceOf(id)
	if err != nil || master.Mailbox != c.mb.Address {
		return ewssim.ItemView{}, ewssim.SeriesOccurrence{}, true
	}
	return master, x, true
}

// deleteInstance deletes one instance; 404 for an unknown or deleted one.
func (s *Server) deleteInstance(c *call, master ewssim.ItemView, x ewssim.SeriesOccurrence) {
	if master.ID == "" {
		c.failWith(errItemNotFound)
		return
	}
	if err := s.sim.DeleteOccurrence(master.ID, x.OriginalStart); err != nil {
		c.failWith(errItemNotFound)
		return
	}
	c.w.WriteHeader(http.StatusNoContent)
}

// updateInstance makes one instance an exception with the request's
// subject, location, start and end; another property is refused (the
// shared model keeps only these per instance), changing nothing.
func (s *Server) updateInstance(c *call, master ewssim.ItemView, x ewssim.SeriesOccurrence) {
	if master.ID == "" {
		c.failWith(errItemNotFound)
		return
	}
	in, ok := c.readEvent()
	if !ok {
		return
	}
	loc, zone, ok := c.outputZone()
	if !ok {
		return
	}
	if in.Body != nil || in.IsAllDay != nil || in.Attendees != nil || in.Recurrence != nil || in.ShowAs != nil || in.TransactionID != nil ||
		in.IsReminderOn != nil || in.ReminderMinutes != nil || in.ResponseRequested != nil || len(in.Extended) > 0 {
		c.fail(http.StatusBadRequest, "ErrorInvalidRequest", "The simulator changes only subject, location, start and end of an instance of a series.")
		return
	}
	it := ewssim.Item{Kind: ewssim.KindCalendar, Subject: x.Subject, Location: x.Location, Start: x.Start, End: x.End, TimeZone: master.TimeZone}
	if e := in.apply(&it); e != nil {
		c.failWith(e)
		return
	}
	err := s.sim.SetOccurrence(master.ID, x.OriginalStart, ewssim.Exception{Start: it.Start, End: it.End, Subject: it.Subject, Location: it.Location})
	if errors.Is(err, ewssim.ErrNotOccurrence) || errors.Is(err, ewssim.ErrNotFound) {
		c.failWith(errItemNotFound)
		return
	}
	// The instance as calendarView lists it now.
	hits, err := s.sim.CalendarView(master.Mailbox, it.Start, it.End.Add(time.Second))
	if err == nil {
		for _, h := range hits {
			if h.ID == x.ID {
				c.json(http.StatusOK, append(obj{{"@odata.context", c.base + "/$metadata#users('" + url.PathEscape(c.userParam) + "')/events/$entity"}},
					instanceJSON(s.eventJSONFor(h.ItemView, loc, zone), h)...))
				return
			}
		}
	}
	c.failWith(errItemNotFound)
}
