package ewssim

import (
	"slices"
	"time"
)

// recurrence_ops.go serves occurrences in GetItem, UpdateItem and
// DeleteItem: an occurrence id (from ModifiedOccurrences, FirstOccurrence,
// a CalendarView) or an OccurrenceItemId names one instance of a series.
// Updating one makes (or changes) an exception; deleting one adds it to
// the master's deleted occurrences. Either changes the master's ChangeKey
// and SyncFolderItems reports the master as updated, as Exchange does
// (occurrences and exceptions are not items of the folder).

var (
	errOccurrenceDeleted = ewsErr("ErrorCalendarOccurrenceIsDeletedFromRecurrence", "Occurrence with this index was previously deleted from the recurrence.")
	errOccurrenceRange   = ewsErr("ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange", "Occurrence index is out of recurrence range.")
)

// resolveOccurrence finds the series and instance an occurrence id names,
// checking access like resolveItem; ok is false when id is no occurrence id.
func (c *call) resolveOccurrence(id string) (mb *mailbox, idx uint32, index int, e *ewsError, ok bool) {
	m, idx, index, ok := decodeOccurrenceID(id)
	if !ok {
		return nil, 0, 0, nil, false
	}
	mb, _, e = c.resolveItem(itemID(m, idx))
	return mb, idx, index, e, true
}

// occurrenceLocked returns instance index of the series at idx, or the
// error Exchange gives. The caller holds mb's lock.
func (mb *mailbox) occurrenceLocked(idx uint32, index int) (*item, instance, *ewsError) {
	in, ok := mb.item(idx)
	if !ok || in.Recurrence == nil {
		return nil, instance{}, errItemNotFound
	}
	if slices.Contains(in.DeletedOccurrences, index) {
		return nil, instance{}, errOccurrenceDeleted
	}
	o, ok := in.occurrence(index)
	if !ok {
		return nil, instance{}, errOccurrenceRange
	}
	return in, o, nil
}

// getOccurrence writes GetItem's message for an occurrence.
func (w *xw) getOccurrence(op string, mb *mailbox, idx uint32, index int, sh shape) {
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	_, o, e := mb.occurrenceLocked(idx, index)
	if e != nil {
		w.itemsError(op, e)
		return
	}
	w.msgStart(op, nil)
	w.raw("<m:Items>")
	w.occurrenceItem(mb, idx, o, sh)
	w.raw("</m:Items>")
	w.msgEnd(op)
}

// changeOccurrence applies an ItemChange to one occurrence: subject,
// location, start and end make it an exception.
func (r *updateItemReq) changeOccurrence(c *call, mb *mailbox, idx uint32, index int, ch itemChangeXML) (string, string, *ewsError) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	in, o, e := mb.occurrenceLocked(idx, index)
	if e != nil {
		return "", "", e
	}
	x := Exception{Index: index, Start: o.start, End: o.end, Subject: in.Subject, Location: in.Location}
	if o.exception != nil {
		x = *o.exception
	}
	it := Item{Kind: KindCalendar, Subject: x.Subject, Location: x.Location, Start: x.Start, End: x.End}
	for _, u := range ch.Updates.Updates {
		if u.FieldURI == nil || u.CalendarItem == nil || u.XMLName.Local != "SetItemField" {
			return "", "", errInvalidProperty("an occurrence takes SetItemField on item:Subject, calendar:Location, calendar:Start or calendar:End")
		}
		switch u.FieldURI.FieldURI {
		case "item:Subject", "calendar:Location", "calendar:Start", "calendar:End":
		default:
			return "", "", errInvalidProperty(u.FieldURI.FieldURI + " is not supported on an occurrence by the simulator")
		}
		if e := u.CalendarItem.apply(&it); e != nil {
			return "", "", e
		}
	}
	if e := checkTimes(&it); e != nil {
		return "", "", e
	}
	x.Subject, x.Location, x.Start, x.End = it.Subject, it.Location, it.Start, it.End
	x.version++
	series := in.content().clone()
	if k := slices.IndexFunc(series.Exceptions, func(e Exception) bool { return e.Index == index }); k >= 0 {
		series.Exceptions[k] = x
	} else {
		series.Exceptions = append(series.Exceptions, x)
	}
	in.setContent(series)
	mb.touchLocked(idx, false, c.now)
	o.start, o.end, o.exception = x.Start, x.End, &x
	return occurrenceID(mb.idx, idx, index), occurrenceKey(in, o), nil
}

// deleteOccurrence removes one occurrence from its series.
func (mb *mailbox) deleteOccurrence(idx uint32, index int, now time.Time) *ewsError {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	in, _, e := mb.occurrenceLocked(idx, index)
	if e != nil {
		return e
	}
	series := in.content().clone()
	series.Exceptions = slices.DeleteFunc(series.Exceptions, func(x Exception) bool { return x.Index == index })
	series.DeletedOccurrences = append(series.DeletedOccurrences, index)
	in.setContent(series)
	mb.touchLocked(idx, false, now)
	return nil
}
