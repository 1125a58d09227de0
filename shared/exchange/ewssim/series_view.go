package ewssim

import (
	"errors"
	"slices"
	"time"
)

// series_view.go gives other views of the mailbox model (graphsim, tests)
// what a series master holds in the terms EWS serves it: each modified
// occurrence with its id and original start, and the original starts of
// the deleted ones. One model serves both protocols, so a series written
// over one reads the same over the other.

// FreeBusyStatuses are the LegacyFreeBusyType values.
var FreeBusyStatuses = []string{"Free", "Tentative", "Busy", "OOF", "WorkingElsewhere", "NoData"}

// freeBusy is the item's LegacyFreeBusyStatus (Busy by default).
func (it Item) freeBusy() string {
	if it.FreeBusy == "" {
		return "Busy"
	}
	return it.FreeBusy
}

// FreeBusyStatus is the item's LegacyFreeBusyStatus, Busy when unset.
func (it Item) FreeBusyStatus() string { return it.freeBusy() }

// SeriesOccurrence is a modified occurrence of a series as its master
// lists it.
type SeriesOccurrence struct {
	// ID is the occurrence's EWS id (RestID gives Graph's); Index its
	// instance index (1 = the pattern's first).
	ID, ChangeKey     string
	Index             int
	OriginalStart     time.Time
	Start, End        time.Time
	Subject, Location string
}

// SeriesExceptions are a series master's modified occurrences in original
// start order (nil for any other item).
func (v ItemView) SeriesExceptions() []SeriesOccurrence {
	m, idx, ok := decodeID(tagItem, v.ID)
	if !ok || v.Recurrence == nil {
		return nil
	}
	in := newItem(v.Item)
	var out []SeriesOccurrence
	for _, x := range v.Exceptions {
		o, ok := in.occurrence(x.Index)
		if !ok {
			continue
		}
		out = append(out, SeriesOccurrence{ID: occurrenceID(m, idx, x.Index), ChangeKey: occurrenceKey(in, o), Index: x.Index,
			OriginalStart: o.original, Start: x.Start, End: x.End, Subject: x.Subject, Location: x.Location})
	}
	slices.SortFunc(out, func(a, b SeriesOccurrence) int { return a.OriginalStart.Compare(b.OriginalStart) })
	return out
}

// SeriesDeleted are the original starts of a series master's deleted
// occurrences, in order (nil for any other item).
func (v ItemView) SeriesDeleted() []time.Time {
	if v.Recurrence == nil {
		return nil
	}
	in := newItem(v.Item)
	var out []time.Time
	for _, i := range slices.Sorted(slices.Values(v.DeletedOccurrences)) {
		if t, ok := in.originalOf(i); ok {
			out = append(out, t)
		}
	}
	return out
}

// FirstOccurrence is the series' first instance's start and end as the
// pattern places it (the master's own times otherwise).
func (it Item) FirstOccurrence() (start, end time.Time) {
	if it.Recurrence == nil {
		return it.Start, it.End
	}
	if o, ok := newItem(it).occurrenceAt(1, true); ok {
		return o.original, o.original.Add(it.End.Sub(it.Start))
	}
	return it.Start, it.End
}

// OccurrenceIndex is the instance index of the occurrence with this EWS
// or Graph id, and the EWS id of its master; ok is false for any other id.
func OccurrenceIndex(id string) (masterID string, index int, ok bool) {
	m, idx, index, ok := decodeOccurrenceID(EWSFromRestID(id))
	if !ok {
		return "", 0, false
	}
	return itemID(m, idx), index, true
}

// IndexOfOriginalStart is the instance index of the occurrence the
// pattern places at t (deleted or not); 0 when none does.
func (it Item) IndexOfOriginalStart(t time.Time) int {
	if it.Recurrence == nil {
		return 0
	}
	loc := it.location()
	ls := it.Start.In(loc)
	n, found := 0, 0
	it.Recurrence.dates(func(d time.Time) bool {
		n++
		start := time.Date(d.Year(), d.Month(), d.Day(), ls.Hour(), ls.Minute(), ls.Second(), 0, loc)
		if start.Equal(t) {
			found = n
			return false
		}
		return start.Before(t)
	})
	return found
}

// ErrNotOccurrence: no occurrence of a series master starts there.
var ErrNotOccurrence = errors.New("ewssim: no occurrence of a series starts there")

// SetOccurrence makes the occurrence the pattern of the series master
// with the EWS id places at original an exception with x's times, subject
// and location (x.Index is ignored), as UpdateItem on an occurrence does:
// the master gets a new ChangeKey and sync reports it.
func (s *Sim) SetOccurrence(masterID string, original time.Time, x Exception) error {
	return s.changeOccurrence(masterID, original, func(series *Item, i int) {
		x.Index = i
		if k := slices.IndexFunc(series.Exceptions, func(e Exception) bool { return e.Index == i }); k >= 0 {
			x.version = series.Exceptions[k].version + 1
			series.Exceptions[k] = x
		} else {
			series.Exceptions = append(series.Exceptions, x)
		}
	})
}

// DeleteOccurrence removes the occurrence at original from the series
// master with the EWS id, as DeleteItem on an occurrence does.
func (s *Sim) DeleteOccurrence(masterID string, original time.Time) error {
	return s.changeOccurrence(masterID, original, func(series *Item, i int) {
		series.Exceptions = slices.DeleteFunc(series.Exceptions, func(x Exception) bool { return x.Index == i })
		series.DeletedOccurrences = append(series.DeletedOccurrences, i)
	})
}

func (s *Sim) changeOccurrence(masterID string, original time.Time, fn func(*Item, int)) error {
	mb, idx, err := s.lockItem(masterID)
	if err != nil {
		return err
	}
	defer mb.mu.Unlock()
	in := mb.items[idx]
	series := in.content().clone()
	i := series.IndexOfOriginalStart(original)
	if i == 0 || slices.Contains(series.DeletedOccurrences, i) {
		return ErrNotOccurrence
	}
	fn(&series, i)
	in.setContent(series)
	mb.touchLocked(idx, false, s.clock.Now())
	return nil
}

// OccurrenceOf resolves an occurrence id (EWS or Graph form) to its
// series master and the instance as it stands (an exception's own times,
// subject and location; the pattern's times and the master's subject and
// location otherwise). ErrNotFound when the id names no instance, or a
// deleted one.
func (s *Sim) OccurrenceOf(id string) (ItemView, SeriesOccurrence, error) {
	m, idx, index, ok := decodeOccurrenceID(EWSFromRestID(id))
	if !ok {
		return ItemView{}, SeriesOccurrence{}, ErrNotFound
	}
	mb, ok := s.mailboxByIdx(m)
	if !ok {
		return ItemView{}, SeriesOccurrence{}, ErrNotFound
	}
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	in, ok := mb.item(idx)
	if !ok || in.Recurrence == nil {
		return ItemView{}, SeriesOccurrence{}, ErrNotFound
	}
	o, ok := in.occurrence(index)
	if !ok {
		return ItemView{}, SeriesOccurrence{}, ErrNotFound
	}
	x := SeriesOccurrence{ID: occurrenceID(m, idx, index), ChangeKey: occurrenceKey(in, o), Index: index,
		OriginalStart: o.original, Start: o.start, End: o.end, Subject: in.Subject, Location: in.Location}
	if o.exception != nil {
		x.Subject, x.Location = o.exception.Subject, o.exception.Location
	}
	return mb.viewLocked(idx), x, nil
}
