package ews

import (
	"context"
	"encoding/xml"
	"time"
)

type xCalendarView struct {
	MaxEntriesReturned int    `xml:"MaxEntriesReturned,attr,omitempty"`
	StartDate          string `xml:"StartDate,attr"`
	EndDate            string `xml:"EndDate,attr"`
}

type xFindItem struct {
	XMLName         xml.Name          `xml:"m:FindItem"`
	Traversal       string            `xml:"Traversal,attr"`
	ItemShape       xItemShape        `xml:"m:ItemShape"`
	IndexedPageView *xIndexedPageView `xml:"m:IndexedPageItemView,omitempty"`
	CalendarView    *xCalendarView    `xml:"m:CalendarView,omitempty"`
	Restriction     *xRestriction     `xml:"m:Restriction,omitempty"`
	ParentFolderIDs xFolderIDs        `xml:"m:ParentFolderIds"`
}

// PageView is an IndexedPageItemView: Offset from the start, up to
// MaxEntries (1..1000) items.
type PageView struct {
	Offset     int
	MaxEntries int
}

// CalendarView expands recurring meetings into occurrences between Start
// and End, at most two years apart (Exchange's limit).
type CalendarView struct {
	Start, End time.Time
	MaxEntries int // 0 = server default
}

// FindItemOptions selects the view (exactly one of Page and Calendar; a
// first page of 100 when neither) and the shape (ids, class, subject and,
// for calendar views, start and end when empty).
type FindItemOptions struct {
	Shape    Shape
	Page     *PageView
	Calendar *CalendarView
	// Restriction, when set, returns only the items it matches.
	Restriction *Restriction
}

// FindItemResult is one page of items.
type FindItemResult struct {
	Items                   []Item
	IncludesLastItemInRange bool
	NextOffset              int // IndexedPagingOffset (page views)
	TotalItemsInView        int
}

// FindItem lists items of a folder, one page per call.
func (c *Client) FindItem(ctx context.Context, t Target, folder FolderRef, opt FindItemOptions) (*FindItemResult, error) {
	const op = "FindItem"
	if err := t.validate(op); err != nil {
		return nil, err
	}
	req := xFindItem{Traversal: "Shallow"}
	switch {
	case opt.Page != nil && opt.Calendar != nil:
		return nil, invalidArg(op, "set either Page or Calendar, not both")
	case opt.Calendar != nil:
		v := opt.Calendar
		if !v.End.After(v.Start) {
			return nil, invalidArg(op, "calendar view end must be after start")
		}
		if v.End.After(v.Start.AddDate(2, 0, 0)) {
			return nil, invalidArg(op, "calendar view from %s to %s spans more than two years, Exchange's limit", formatTime(v.Start), formatTime(v.End))
		}
		if v.MaxEntries < 0 {
			return nil, invalidArg(op, "calendar view MaxEntries must not be negative")
		}
		req.CalendarView = &xCalendarView{MaxEntriesReturned: v.MaxEntries, StartDate: formatTime(v.Start), EndDate: formatTime(v.End)}
	default:
		p := PageView{MaxEntries: 100}
		if opt.Page != nil {
			p = *opt.Page
		}
		if p.Offset < 0 || p.MaxEntries < 1 || p.MaxEntries > 1000 {
			return nil, invalidArg(op, "page must have 0 <= Offset and 1 <= MaxEntries <= 1000")
		}
		req.IndexedPageView = &xIndexedPageView{MaxEntriesReturned: p.MaxEntries, Offset: p.Offset, BasePoint: "Beginning"}
	}
	shape := opt.Shape
	if shape.Base == "" && len(shape.Fields) == 0 && len(shape.Extended) == 0 {
		shape = Shape{Base: "IdOnly", Fields: []string{"item:ItemClass", "item:Subject"}}
		if opt.Calendar != nil {
			shape.Fields = append(shape.Fields, "calendar:Start", "calendar:End")
		}
	}
	if err := shape.validate(op); err != nil {
		return nil, err
	}
	req.ItemShape = shape.xml()
	if r := opt.Restriction; r != nil {
		if err := r.validate(op); err != nil {
			return nil, err
		}
		req.Restriction = r.xml()
	}
	ids, err := folderIDs(op, t, folder)
	if err != nil {
		return nil, err
	}
	req.ParentFolderIDs = ids
	resp, err := c.call(ctx, op, t, req)
	if err != nil {
		return nil, err
	}
	r, err := decodeFindItem(resp)
	return r, wrapDecode(op, err)
}

func decodeFindItem(resp elem) (*FindItemResult, error) {
	m, err := singleMessage("FindItem", resp)
	if err != nil {
		return nil, err
	}
	root := m.el.child("RootFolder")
	items := root.child("Items")
	r := &FindItemResult{
		IncludesLastItemInRange: parseBool(root.attr("IncludesLastItemInRange")),
		NextOffset:              parseInt(root.attr("IndexedPagingOffset")),
		TotalItemsInView:        parseInt(root.attr("TotalItemsInView")),
		Items:                   make([]Item, 0, items.countChildren()),
	}
	for it := range items.children() {
		r.Items = append(r.Items, decodeItem(it))
	}
	return r, nil
}
