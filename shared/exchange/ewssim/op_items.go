package ewssim

import (
	"slices"
	"strings"
	"time"
)

// --- GetItem ---

type getItemReq struct {
	ItemShape shapeXML `xml:"ItemShape"`
	ItemIDs   itemRefs `xml:"ItemIds"`
}

func (r *getItemReq) validate() *ewsError {
	if len(r.ItemIDs.Refs) == 0 {
		return errSchema("ItemIds must hold at least one item id")
	}
	_, e := r.ItemShape.shape(true)
	return e
}

func (r *getItemReq) targetMailbox(s *Sim) string {
	if m, ok := itemMailbox(r.ItemIDs.Refs[0].id()); ok {
		return s.mailboxName(m)
	}
	return ""
}

func (r *getItemReq) run(c *call) {
	const op = "GetItem"
	w := c.w
	w.respStart(op)
	defer w.respEnd(op)
	sh, _ := r.ItemShape.shape(true)
	for _, ref := range r.ItemIDs.Refs {
		if ref.XMLName.Local != "ItemId" && ref.XMLName.Local != "OccurrenceItemId" {
			w.itemsError(op, errInvalidRequest(ref.XMLName.Local+" is not supported by the simulator"))
			continue
		}
		if mb, idx, index, e, ok := c.resolveOccurrence(ref.id()); ok {
			if e != nil {
				w.itemsError(op, e)
			} else {
				w.getOccurrence(op, mb, idx, index, sh)
			}
			continue
		}
		mb, idx, e := c.resolveItem(ref.ID)
		if e != nil {
			w.itemsError(op, e)
			continue
		}
		mb.mu.RLock()
		if _, ok := mb.item(idx); !ok {
			mb.mu.RUnlock()
			w.itemsError(op, errItemNotFound)
			continue
		}
		w.msgStart(op, nil)
		w.raw("<m:Items>")
		w.item(mb, idx, sh)
		w.raw("</m:Items>")
		mb.mu.RUnlock()
		w.msgEnd(op)
	}
}

// itemsError writes an error message of an ItemInfoResponseMessageType,
// whose Items element is required even when empty (as Exchange sends it).
func (w *xw) itemsError(op string, e *ewsError) {
	w.msgStart(op, e)
	w.raw("<m:Items/>")
	w.msgEnd(op)
}

// --- FindItem ---

type pageViewXML struct {
	MaxEntriesReturned int    `xml:"MaxEntriesReturned,attr"`
	Offset             int    `xml:"Offset,attr"`
	BasePoint          string `xml:"BasePoint,attr"`
}

type calendarViewXML struct {
	MaxEntriesReturned int    `xml:"MaxEntriesReturned,attr"`
	StartDate          string `xml:"StartDate,attr"`
	EndDate            string `xml:"EndDate,attr"`
}

type findItemReq struct {
	Traversal       string             `xml:"Traversal,attr"`
	ItemShape       shapeXML           `xml:"ItemShape"`
	PageView        *pageViewXML       `xml:"IndexedPageItemView"`
	CalendarView    *calendarViewXML   `xml:"CalendarView"`
	Fractional      *fractionalViewXML `xml:"FractionalPageItemView"`
	Restriction     *restrictionXML    `xml:"Restriction"`
	SortOrder       *sortOrderXML      `xml:"SortOrder"`
	ParentFolderIDs folderRefs         `xml:"ParentFolderIds"`

	start, end time.Time
	match      predicate // from Restriction (op_finditem_view.go)
	sortKeys   []sortKey // from SortOrder
	queryErr   *ewsError // a Restriction or SortOrder not evaluated
}

// maxFindItems is what FindItem returns without a paging view (Exchange's
// default EWSFindCountLimit).
const maxFindItems = 1000

func (r *findItemReq) validate() *ewsError {
	if r.Traversal != "Shallow" {
		return errSchema("Traversal must be Shallow (the simulator has no search folders), not " + quote(r.Traversal))
	}
	if len(r.ParentFolderIDs.Refs) == 0 {
		return errSchema("ParentFolderIds must hold at least one folder id")
	}
	if r.PageView != nil && r.CalendarView != nil {
		return errSchema("only one paging view is allowed")
	}
	if v := r.PageView; v != nil {
		if v.MaxEntriesReturned < 0 || v.Offset < 0 {
			return errSchema("IndexedPageItemView MaxEntriesReturned and Offset must not be negative")
		}
		if v.BasePoint != "Beginning" && v.BasePoint != "End" {
			return errSchema("IndexedPageItemView BasePoint must be Beginning or End")
		}
	}
	if v := r.CalendarView; v != nil {
		var err1, err2 error
		r.start, err1 = parseDateTime(v.StartDate)
		r.end, err2 = parseDateTime(v.EndDate)
		if err1 != nil || err2 != nil {
			return errSchema("CalendarView StartDate and EndDate must be xs:dateTime values")
		}
	}
	if e := r.compileQuery(); e != nil {
		if e.code == "ErrorSchemaValidation" {
			return e
		}
		r.queryErr = e // a valid request Exchange cannot evaluate: per message
	}
	_, e := r.ItemShape.shape(false)
	return e
}

func (r *findItemReq) targetMailbox(s *Sim) string { return r.ParentFolderIDs.targetMailbox(s) }

// parseDateTime reads an xs:dateTime; one without a zone is taken as UTC.
func parseDateTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02T15:04:05.999999999", s)
}

func (r *findItemReq) run(c *call) {
	const op = "FindItem"
	w := c.w
	w.respStart(op)
	defer w.respEnd(op)
	sh, _ := r.ItemShape.shape(false)
	for _, ref := range r.ParentFolderIDs.Refs {
		mb, f, e := c.resolveFolder(ref)
		if e != nil {
			w.errorMessage(op, e)
			continue
		}
		r.findIn(w, mb, f, sh)
	}
}

func (r *findItemReq) findIn(w *xw, mb *mailbox, f *folder, sh shape) {
	const op = "FindItem"
	if r.queryErr != nil {
		w.errorMessage(op, r.queryErr)
		return
	}
	if r.CalendarView == nil {
		r.findIndexed(w, mb, f, sh)
		return
	}
	r.findCalendarView(w, mb, f, sh)
}

// findCalendarView answers a CalendarView: the calendar items and series
// instances overlapping the window, in start order, never a master.
func (r *findItemReq) findCalendarView(w *xw, mb *mailbox, f *folder, sh shape) {
	const op = "FindItem"
	cv := r.CalendarView
	if !strings.HasPrefix(f.class, "IPF.Appointment") {
		w.errorMessage(op, ewsErr("ErrorCalendarFolderIsInvalidForCalendarView", "CalendarView is only valid for calendar folders."))
		return
	}
	if !r.end.After(r.start) {
		w.errorMessage(op, errEndBeforeStart)
		return
	}
	if r.end.Sub(r.start) > 2*366*24*time.Hour {
		w.errorMessage(op, errCalendarRange)
		return
	}
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	var occ []occEntry
	for _, idx := range f.members {
		in := mb.items[idx]
		if in.Kind != KindCalendar || !r.keep(in) {
			continue
		}
		if in.Recurrence != nil {
			for _, o := range in.instances(r.start, r.end) {
				occ = append(occ, occEntry{idx: idx, o: o})
			}
			continue
		}
		if in.Start.Before(r.end) && in.End.After(r.start) {
			occ = append(occ, occEntry{idx: idx, o: instance{start: in.Start}})
		}
	}
	slices.SortStableFunc(occ, func(a, b occEntry) int { return a.o.start.Compare(b.o.start) })
	limit := maxFindItems
	if cv.MaxEntriesReturned > 0 {
		limit = cv.MaxEntriesReturned
	}
	page := occ[:min(limit, len(occ))]

	w.msgStart(op, nil)
	w.raw("<m:RootFolder")
	w.attrInt("TotalItemsInView", len(occ))
	w.attrBool("IncludesLastItemInRange", len(page) == len(occ))
	w.raw(">")
	w.raw("<t:Items>")
	for _, e := range page {
		if e.o.index > 0 {
			w.occurrenceItem(mb, e.idx, e.o, sh)
		} else {
			w.item(mb, e.idx, sh)
		}
	}
	w.raw("</t:Items></m:RootFolder>")
	w.msgEnd(op)
}

// occEntry is one entry of a calendar view: an item, or (index > 0) an
// occurrence of the series at idx.
type occEntry struct {
	idx uint32
	o   instance
}

// keep applies the Restriction, if any.
func (r *findItemReq) keep(in *item) bool {
	return r.match == nil || r.match(in)
}
