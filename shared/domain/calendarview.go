package domain

import (
	"context"
	"time"
)

// Calendar view: a mailbox's events in a window with recurring series
// expanded into their occurrences (EWS FindItem with CalendarView, Graph
// calendarView), read live for consumers that do not expand series
// themselves.

// Calendar view bounds. Exchange's CalendarView returns at most 1,000
// entries by default (EWSFindCountLimit); a window of 62 days (two
// months, Graph's practical calendarView span) keeps a busy calendar's
// answer inside it and well inside a Lambda answer.
const (
	MaxCalendarViewDays    = 62
	MaxCalendarViewEntries = 1000
)

// CalendarViewPage is a window's events, in start order: single events,
// occurrences and exceptions (never a series master). Truncated says the
// window held more than MaxCalendarViewEntries.
type CalendarViewPage struct {
	Items     []Item
	Truncated bool
}

// CalendarViewer reads one tenant's calendar views.
type CalendarViewer interface {
	// CalendarView reads m's calendar folder between start and end (UTC):
	// the events overlapping the window, at most max.
	CalendarView(ctx context.Context, m MailboxRef, start, end time.Time, max int) (CalendarViewPage, error)
}

// CalendarViewConnector opens a tenant's CalendarViewer.
type CalendarViewConnector interface {
	ConnectCalendarView(ctx context.Context, t Tenant, cred Credential) (CalendarViewer, error)
}
