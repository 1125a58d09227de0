package ews

import (
	"context"
	"slices"
	"time"
)

// calendarview.go is FindItem with a CalendarView: a calendar folder's
// items in a window, recurring series expanded by Exchange into their
// occurrences and exceptions (the master is not listed). Exchange lists
// at most MaxEntriesReturned entries and then sets IncludesLastItemInRange
// false; a window over two years is ErrorCalendarViewRangeTooBig.

// CalendarViewResult is one calendar view.
type CalendarViewResult struct {
	Items []Item
	// More says the window held more than MaxEntries entries.
	More bool
}

// ShapeCalendarViewFor is what a calendar view reads of each entry:
// FindItem takes no attendee lists and no series properties (Exchange
// answers ErrorInvalidPropertyRequest), so only the entry's own fields.
func ShapeCalendarViewFor(version string) Shape {
	fields := []string{
		"item:ItemClass", "item:Subject", "item:ParentFolderId", "calendar:Start", "calendar:End",
		"calendar:OriginalStart", "calendar:IsAllDayEvent", "calendar:LegacyFreeBusyStatus",
		"calendar:Location", "calendar:IsCancelled", "calendar:IsRecurring", "calendar:CalendarItemType",
		"calendar:MyResponseType", "calendar:Organizer", "calendar:UID",
	}
	if AtLeast(version, "Exchange2010") {
		fields = append(fields, "calendar:StartTimeZoneId")
	}
	return Shape{Base: "IdOnly", Fields: slices.Clip(fields)}
}

// CalendarView lists folder's entries between start and end (at most two
// years apart), at most max (1 to 1000).
func (c *Client) CalendarView(ctx context.Context, t Target, folder FolderRef, start, end time.Time, max int, shape Shape) (*CalendarViewResult, error) {
	if max < 1 || max > 1000 {
		return nil, invalidArg("FindItem", "calendar view needs 1 to 1000 entries, got %d", max)
	}
	r, err := c.FindItem(ctx, t, folder, FindItemOptions{Shape: shape, Calendar: &CalendarView{Start: start, End: end, MaxEntries: max}})
	if err != nil {
		return nil, err
	}
	return &CalendarViewResult{Items: r.Items, More: !r.IncludesLastItemInRange}, nil
}
