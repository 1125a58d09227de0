package app

import (
	"context"
	"fmt"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// This file owns the choice of protocol adapter for a tenant, and the
// Exchange Online EWS cutoff: the use cases talk to domain ports only, and
// Protocols hands each call to the EWS or the Graph adapter by the
// tenant's protocol, so a consumer of the API and the feed never sees
// which one served it.

// ProtocolAdapters are one protocol's implementations of the mailbox ports.
type ProtocolAdapters struct {
	Connector domain.Connector         // sync reads
	Calendar  domain.CalendarConnector // calendar writes
	Checker   domain.AccessChecker     // access checks
	// Availability reads free/busy (the scheduling API).
	Availability domain.AvailabilityConnector
	// Rooms reads room lists and rooms (the scheduling API).
	Rooms domain.RoomConnector
	// People looks people up (the scheduling API's invitee picker).
	People domain.PeopleConnector
	// CalendarView reads calendar views (series expanded).
	CalendarView domain.CalendarViewConnector
	// RoomCalendar acts on room meetings under the room policy.
	RoomCalendar domain.RoomCalendarConnector
	// Content reads items' bodies, MIME and attachments on demand.
	Content domain.ContentConnector
}

// Protocols routes each port to the tenant's protocol. It implements
// domain.Connector, domain.CalendarConnector, domain.AccessChecker,
// domain.AvailabilityConnector, domain.RoomConnector and
// domain.PeopleConnector.
type Protocols struct {
	EWS   ProtocolAdapters
	Graph ProtocolAdapters
	Clock domain.Clock // for the EWS cutoff; nil: the system clock
}

func (p Protocols) adapters(t domain.Tenant) (ProtocolAdapters, error) {
	if err := p.ewsRetired(t); err != nil {
		return ProtocolAdapters{}, err
	}
	switch t.ProtocolOf() {
	case domain.ProtocolGraph:
		return p.Graph, nil
	case domain.ProtocolEWS:
		return p.EWS, nil
	}
	return ProtocolAdapters{}, &domain.AccessError{Kind: domain.AccessPermanent, Code: "UnknownProtocol",
		Err: fmt.Errorf("tenant %s names protocol %q, which this deployment does not know", t.ID, t.Protocol)}
}

func noAdapter(t domain.Tenant, port string) error {
	return &domain.AccessError{Kind: domain.AccessPermanent, Code: "ProtocolNotConfigured",
		Err: fmt.Errorf("this deployment has no %s adapter for protocol %s (tenant %s)", port, t.ProtocolOf(), t.ID)}
}

// Connect opens the tenant's mailbox reader.
func (p Protocols) Connect(ctx context.Context, t domain.Tenant, c domain.Credential) (domain.MailboxAccess, error) {
	a, err := p.adapters(t)
	if err != nil {
		return nil, err
	}
	if a.Connector == nil {
		return nil, noAdapter(t, "sync")
	}
	return a.Connector.Connect(ctx, t, c)
}

// ConnectCalendar opens the tenant's calendar writer.
func (p Protocols) ConnectCalendar(ctx context.Context, t domain.Tenant, c domain.Credential) (domain.CalendarWriter, error) {
	a, err := p.adapters(t)
	if err != nil {
		return nil, err
	}
	if a.Calendar == nil {
		return nil, noAdapter(t, "calendar")
	}
	return a.Calendar.ConnectCalendar(ctx, t, c)
}

// ConnectAvailability opens the tenant's free/busy reader.
func (p Protocols) ConnectAvailability(ctx context.Context, t domain.Tenant, c domain.Credential, actAs string) (domain.AvailabilityReader, error) {
	a, err := p.adapters(t)
	if err != nil {
		return nil, err
	}
	if a.Availability == nil {
		return nil, noAdapter(t, "availability")
	}
	return a.Availability.ConnectAvailability(ctx, t, c, actAs)
}

// ConnectRooms opens the tenant's room directory.
func (p Protocols) ConnectRooms(ctx context.Context, t domain.Tenant, c domain.Credential, actAs string) (domain.RoomDirectory, error) {
	a, err := p.adapters(t)
	if err != nil {
		return nil, err
	}
	if a.Rooms == nil {
		return nil, noAdapter(t, "rooms")
	}
	return a.Rooms.ConnectRooms(ctx, t, c, actAs)
}

// ConnectRoomCalendar opens the tenant's room calendars.
func (p Protocols) ConnectRoomCalendar(ctx context.Context, t domain.Tenant, c domain.Credential) (domain.RoomCalendar, error) {
	a, err := p.adapters(t)
	if err != nil {
		return nil, err
	}
	if a.RoomCalendar == nil {
		return nil, noAdapter(t, "room calendar")
	}
	return a.RoomCalendar.ConnectRoomCalendar(ctx, t, c)
}

// ConnectPeople opens the tenant's people lookup.
func (p Protocols) ConnectPeople(ctx context.Context, t domain.Tenant, c domain.Credential) (domain.PeopleDirectory, error) {
	a, err := p.adapters(t)
	if err != nil {
		return nil, err
	}
	if a.People == nil {
		return nil, noAdapter(t, "people")
	}
	return a.People.ConnectPeople(ctx, t, c)
}

// ConnectCalendarView opens the tenant's calendar view reader.
func (p Protocols) ConnectCalendarView(ctx context.Context, t domain.Tenant, c domain.Credential) (domain.CalendarViewer, error) {
	a, err := p.adapters(t)
	if err != nil {
		return nil, err
	}
	if a.CalendarView == nil {
		return nil, noAdapter(t, "calendar view")
	}
	return a.CalendarView.ConnectCalendarView(ctx, t, c)
}

// CheckAccess checks one mailbox over the tenant's protocol. After the EWS
// cutoff an EWS tenant on Exchange Online gets a report saying so, not a
// failed call.
func (p Protocols) CheckAccess(ctx context.Context, t domain.Tenant, m domain.Mailbox, c domain.Credential) (domain.AccessReport, error) {
	a, err := p.adapters(t)
	if err != nil {
		if ae, ok := err.(*domain.AccessError); ok && ae.Code == CodeEWSRetired {
			return domain.AccessReport{Mailbox: m.Address, Status: domain.MailboxError, Detail: ae.Err.Error()}, nil
		}
		return domain.AccessReport{}, err
	}
	if a.Checker == nil {
		return domain.AccessReport{}, noAdapter(t, "access check")
	}
	return a.Checker.CheckAccess(ctx, t, m, c)
}

// CodeEWSRetired is the AccessError code of an EWS tenant on Exchange
// Online after domain.EWSCutoff.
const CodeEWSRetired = "EWSRetiredInExchangeOnline"

// EWSWarningWindow is how long before domain.EWSCutoff a tenant still on
// EWS against Exchange Online is warned.
const EWSWarningWindow = 365 * 24 * time.Hour

func (p Protocols) now() time.Time {
	if p.Clock == nil {
		return time.Now()
	}
	return p.Clock.Now()
}

// ewsRetired refuses EWS calls to Exchange Online after the cutoff, with an
// error that names the fix (the Graph switch) instead of whatever the
// retired endpoint answers.
func (p Protocols) ewsRetired(t domain.Tenant) error {
	// The clock first: until the cutoff, no call parses the tenant's URL.
	if p.now().Before(domain.EWSCutoff) || !ewsOnExchangeOnline(t) {
		return nil
	}
	return &domain.AccessError{Kind: domain.AccessPermanent, Code: CodeEWSRetired,
		Err: fmt.Errorf("this tenant's EWS endpoint is Exchange Online, which turned EWS off on %s; switch the tenant to Microsoft Graph: PATCH /tenants/%s {\"protocol\": \"graph\"}",
			domain.EWSCutoff.Format(time.DateOnly), t.ID)}
}

// ewsOnExchangeOnline reports whether t is an EWS tenant on Exchange
// Online, which the EWS cutoff concerns.
func ewsOnExchangeOnline(t domain.Tenant) bool {
	return t.ProtocolOf() == domain.ProtocolEWS && IsExchangeOnline(t.EWSURL)
}

// TenantWarning is something an operator should act on before it breaks.
type TenantWarning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// TenantWarnings lists what the operator should act on for t at now: an
// EWS tenant on Exchange Online is warned in the year before the cutoff and
// told it is failing after it.
func TenantWarnings(t domain.Tenant, now time.Time) []TenantWarning {
	if !ewsOnExchangeOnline(t) {
		return nil
	}
	cutoff := domain.EWSCutoff.Format(time.DateOnly)
	switch {
	case !now.Before(domain.EWSCutoff):
		return []TenantWarning{{Code: "ews_retired", Message: "Exchange Online turned EWS off on " + cutoff +
			"; this tenant's syncs and writes fail until it is switched to Microsoft Graph: PATCH {\"protocol\": \"graph\"} (see docs/graph.md)"}}
	case now.After(domain.EWSCutoff.Add(-EWSWarningWindow)):
		return []TenantWarning{{Code: "ews_retiring", Message: "Exchange Online turns EWS off for good on " + cutoff +
			" and blocks it unless the app is allow-listed (EWSAllowedAppIDs); switch this tenant to Microsoft Graph: grant the Graph application permissions, then PATCH {\"protocol\": \"graph\"} (see docs/graph.md)"}}
	}
	return nil
}
