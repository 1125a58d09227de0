package graphmailbox

import (
	"context"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/graph"
)

// calendarview.go is domain.CalendarViewConnector over Graph's
// calendarView (Calendars.Read): the window's events with series expanded
// by Exchange, as the EWS adapter's CalendarView gives them. The ids are
// Graph's, also for a tenant whose feed carries EWS ids (itemIdFormat:
// ews): an instance has no EWS id of its own to translate to.

var _ domain.CalendarViewConnector = (*Connector)(nil)

// ConnectCalendarView returns the tenant's viewer. It does no network I/O.
func (c *Connector) ConnectCalendarView(_ context.Context, t domain.Tenant, cred domain.Credential) (domain.CalendarViewer, error) {
	cl, err := c.client(t, cred)
	if err != nil {
		return nil, err
	}
	return calendarViewer{client: cl}, nil
}

type calendarViewer struct{ client *graph.Client }

var viewTypes = map[string]string{
	"singleInstance": domain.CalendarSingle, "occurrence": domain.CalendarOccurrence,
	"exception": domain.CalendarException, "seriesMaster": domain.CalendarSeriesMaster,
}

// CalendarView implements domain.CalendarViewer.
func (v calendarViewer) CalendarView(ctx context.Context, m domain.MailboxRef, start, end time.Time, max int) (domain.CalendarViewPage, error) {
	events, more, err := v.client.CalendarInstances(ctx, m.Address, start, end, max)
	if err != nil {
		return domain.CalendarViewPage{}, classify(err, useMailbox, "calendar")
	}
	page := domain.CalendarViewPage{Items: make([]domain.Item, 0, len(events)), Truncated: more}
	for _, e := range events {
		it := NormalizeEvent(e.Event, "")
		if it.CalendarItemType == "" {
			it.CalendarItemType = viewTypes[e.Type]
		}
		if it.OriginalStart.IsZero() && !e.OriginalStart.IsZero() {
			it.OriginalStart = e.OriginalStart.UTC()
		}
		if it.SeriesMasterID == "" {
			it.SeriesMasterID = e.SeriesMasterID
		}
		page.Items = append(page.Items, it)
	}
	return page, nil
}
