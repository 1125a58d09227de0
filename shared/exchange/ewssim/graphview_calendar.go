package ewssim

import (
	"slices"
	"time"
)

// CalendarInstance is one entry of a calendar view as Graph's calendarView
// lists it: a single event, or an occurrence or exception of a series
// (expanded as FindItem's CalendarView expands it, recurrence.go).
type CalendarInstance struct {
	ItemView
	// Type is singleInstance, occurrence or exception (seriesMaster for a
	// master without a pattern, which has no instances to list).
	Type string
	// SeriesMasterID is the master's Graph id; OriginalStart the start the
	// pattern gives the instance.
	SeriesMasterID string
	OriginalStart  time.Time
}

// CalendarView lists the calendar folder's events overlapping [start,
// end) with every series expanded, in start order. An occurrence's ids
// are its EWS occurrence id (Graph form for ImmutableID).
func (s *Sim) CalendarView(address string, start, end time.Time) ([]CalendarInstance, error) {
	var out []CalendarInstance
	err := s.inFolder(address, "calendar", false, func(mb *mailbox, f *folder) error {
		for _, idx := range f.members {
			in := mb.items[idx]
			if in.Kind != KindCalendar {
				continue
			}
			if in.Recurrence == nil {
				if in.Start.Before(end) && in.End.After(start) {
					v := CalendarInstance{ItemView: mb.viewLocked(idx), Type: "singleInstance"}
					if in.IsRecurring {
						v.Type = "seriesMaster"
					}
					out = append(out, v)
				}
				continue
			}
			master := mb.viewLocked(idx)
			for _, o := range in.instances(start, end) {
				v := CalendarInstance{ItemView: master, Type: "occurrence", SeriesMasterID: master.ImmutableID, OriginalStart: o.original}
				v.Item = v.Item.clone()
				v.Start, v.End = o.start, o.end
				v.Recurrence, v.Exceptions, v.DeletedOccurrences, v.IsRecurring = nil, nil, nil, false
				v.ID = occurrenceID(mb.idx, idx, o.index)
				v.ChangeKey = occurrenceKey(in, o)
				v.ImmutableID = RestID(v.ID)
				if x := o.exception; x != nil {
					v.Type, v.Subject, v.Location = "exception", x.Subject, x.Location
				}
				out = append(out, v)
			}
		}
		return nil
	})
	slices.SortStableFunc(out, func(a, b CalendarInstance) int { return a.Start.Compare(b.Start) })
	return out, err
}
