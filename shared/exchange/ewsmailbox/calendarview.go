package ewsmailbox

import (
	"context"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
)

// CalendarViewConnector is domain.CalendarViewConnector over EWS FindItem
// with a CalendarView on the mailbox's calendar folder: one call, Exchange
// expands the series.
type CalendarViewConnector struct {
	clients *ClientCache
}

// NewCalendarViewConnector returns a CalendarViewConnector building
// clients with opts.
func NewCalendarViewConnector(opts Options) *CalendarViewConnector {
	return &CalendarViewConnector{clients: NewClientCache(opts, maxCachedClients)}
}

var _ domain.CalendarViewConnector = (*CalendarViewConnector)(nil)

// ConnectCalendarView returns the tenant's viewer. It does no network I/O.
func (c *CalendarViewConnector) ConnectCalendarView(_ context.Context, t domain.Tenant, cred domain.Credential) (domain.CalendarViewer, error) {
	tc := c.clients.For(t, cred)
	if _, err := tc.Client(t.EWSURL); err != nil {
		return nil, clientConfigError(err)
	}
	return calendarViewer{clients: tc, version: t.ExchangeVersion}, nil
}

type calendarViewer struct {
	clients TenantClients
	version string
}

// CalendarView implements domain.CalendarViewer.
func (v calendarViewer) CalendarView(ctx context.Context, m domain.MailboxRef, start, end time.Time, max int) (domain.CalendarViewPage, error) {
	cl, t, err := v.clients.Target(m)
	if err != nil {
		return domain.CalendarViewPage{}, err
	}
	folder := ews.FolderRef{Distinguished: "calendar"}
	r, err := cl.CalendarView(ctx, t, folder, start, end, max, ews.ShapeCalendarViewFor(v.version))
	if err != nil {
		return domain.CalendarViewPage{}, classify(useRead, err, "calendar")
	}
	page := domain.CalendarViewPage{Items: make([]domain.Item, 0, len(r.Items)), Truncated: r.More}
	for _, it := range r.Items {
		page.Items = append(page.Items, Normalize(it))
	}
	return page, nil
}
