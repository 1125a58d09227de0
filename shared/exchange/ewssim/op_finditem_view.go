package ewssim

import (
	"slices"
	"strings"
)

// FindItem outside CalendarView: the Restriction, the SortOrder and the
// IndexedPageItemView or FractionalPageItemView, as Exchange pages them.

type sortOrderXML struct {
	FieldOrders []struct {
		Order string            `xml:"Order,attr"`
		Paths []restrictionNode `xml:",any"`
	} `xml:"FieldOrder"`
}

type fractionalViewXML struct {
	MaxEntriesReturned int `xml:"MaxEntriesReturned,attr"`
	Numerator          int `xml:"Numerator,attr"`
	Denominator        int `xml:"Denominator,attr"`
}

// sortKey is one compiled FieldOrder.
type sortKey struct {
	get  func(*item) propValue
	kind valueKind
	desc bool
}

// compileQuery checks and compiles the Restriction, SortOrder and
// FractionalPageItemView of a FindItem request. A malformed one is
// ErrorSchemaValidation (a fault); one the simulator cannot evaluate
// (ErrorUnsupportedQueryFilter, ErrorUnsupportedPathForQuery,
// ErrorInvalidValueForProperty, ...) is answered in each folder's response
// message, as Exchange answers a valid query it cannot run.
func (r *findItemReq) compileQuery() *ewsError {
	if r.Restriction != nil {
		p, e := r.Restriction.compile()
		if e != nil {
			return e
		}
		r.match = p
	}
	if r.SortOrder != nil {
		if len(r.SortOrder.FieldOrders) == 0 {
			return errSchema("SortOrder must hold at least one FieldOrder")
		}
		for _, fo := range r.SortOrder.FieldOrders {
			if fo.Order != "Ascending" && fo.Order != "Descending" {
				return errSchema("FieldOrder Order must be Ascending or Descending")
			}
			if len(fo.Paths) != 1 {
				return errSchema("FieldOrder must hold one property path")
			}
			get, kind, e := propertyOf(fo.Paths[0])
			if e != nil {
				if e.code == "ErrorUnsupportedPathForQuery" {
					e = ewsErr("ErrorUnsupportedPathForSortGroup", "The property cannot be used for sorting by the simulator.")
				}
				return e
			}
			r.sortKeys = append(r.sortKeys, sortKey{get: get, kind: kind, desc: fo.Order == "Descending"})
		}
	}
	if v := r.Fractional; v != nil {
		if r.PageView != nil || r.CalendarView != nil {
			return errSchema("only one paging view is allowed")
		}
		if v.MaxEntriesReturned < 0 || v.Numerator < 0 || v.Denominator <= 0 || v.Numerator > v.Denominator {
			return errSchema("FractionalPageItemView needs 0 <= Numerator <= Denominator and Denominator > 0")
		}
	}
	return nil
}

// compareBy orders two items by the sort keys; items without a property
// sort before those with it (ascending), as MAPI sorts missing values.
func compareBy(keys []sortKey, a, b *item) int {
	for _, k := range keys {
		va, vb := k.get(a), k.get(b)
		c := 0
		switch {
		case !va.ok || !vb.ok:
			c = cmpBool(va.ok, vb.ok)
		case k.kind == kindNumber:
			c = cmpInt(va.n, vb.n)
		default:
			c = strings.Compare(strings.ToLower(first(va.strs)), strings.ToLower(first(vb.strs)))
		}
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// findIndexed answers FindItem for one folder without a CalendarView.
func (r *findItemReq) findIndexed(w *xw, mb *mailbox, f *folder, sh shape) {
	const op = "FindItem"
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	// Without a SortOrder: newest first, like Outlook's default
	// DateTimeReceived descending; a SortOrder breaks ties the same way.
	view := make([]uint32, 0, len(f.members))
	for _, idx := range slices.Backward(f.members) {
		if r.keep(mb.items[idx]) {
			view = append(view, idx)
		}
	}
	if len(r.sortKeys) > 0 {
		slices.SortStableFunc(view, func(a, b uint32) int { return compareBy(r.sortKeys, mb.items[a], mb.items[b]) })
	}
	total := len(view)
	limit := maxFindItems
	var lo, hi int
	switch {
	case r.Fractional != nil:
		v := r.Fractional
		if v.MaxEntriesReturned > 0 {
			limit = v.MaxEntriesReturned
		}
		lo = total * v.Numerator / v.Denominator
		hi = min(lo+limit, total)
	case r.PageView != nil:
		v := r.PageView
		if v.MaxEntriesReturned > 0 {
			limit = v.MaxEntriesReturned
		}
		if v.BasePoint == "End" {
			// Offset counts back from the end; the page still reads
			// forward, as Exchange returns it.
			hi = max(0, total-v.Offset)
			lo = max(0, hi-limit)
		} else {
			lo = min(v.Offset, total)
			hi = min(lo+limit, total)
		}
	default:
		hi = min(limit, total)
	}
	page := view[lo:hi]

	w.msgStart(op, nil)
	w.raw("<m:RootFolder")
	switch {
	case r.Fractional != nil:
		// The next page starts at NumeratorOffset / AbsoluteDenominator.
		w.attrInt("NumeratorOffset", hi)
		w.attrInt("AbsoluteDenominator", total)
	case r.PageView != nil && r.PageView.BasePoint == "End":
		w.attrInt("IndexedPagingOffset", r.PageView.Offset+len(page))
	case r.PageView != nil:
		w.attrInt("IndexedPagingOffset", lo+len(page))
	default:
		w.attrInt("IndexedPagingOffset", len(page))
	}
	w.attrInt("TotalItemsInView", total)
	// Whether the page reaches the end of the view in the paging
	// direction: the next page (from IndexedPagingOffset) would be empty.
	last := hi == total
	if r.PageView != nil && r.PageView.BasePoint == "End" {
		last = lo == 0
	}
	w.attrBool("IncludesLastItemInRange", last)
	w.raw(">")
	w.raw("<t:Items>")
	for _, idx := range page {
		w.item(mb, idx, sh)
	}
	w.raw("</t:Items></m:RootFolder>")
	w.msgEnd(op)
}
