package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// This file is the calendar view use case (GET /tenants/{id}/mailboxes/
// {address}/calendar?start=&end=): a registered mailbox's events in a
// window, recurring series expanded by Exchange (EWS CalendarView, Graph
// calendarView), read live on each call. Nothing is stored but an audit entry.

// CalendarView answers calendar views.
type CalendarView struct {
	Store     domain.Store
	Secrets   domain.SecretStore
	Connector domain.CalendarViewConnector
	Clock     domain.Clock
	Log       *slog.Logger
}

// ValidateCalendarWindow checks a view's window as the API gave it
// (RFC 3339 times): both given, end after start, at most
// domain.MaxCalendarViewDays apart.
func ValidateCalendarWindow(start, end string) (time.Time, time.Time, *domain.Error) {
	var ts [2]time.Time
	for i, f := range []struct{ name, v string }{{"start", start}, {"end", end}} {
		if f.v == "" {
			return time.Time{}, time.Time{}, domain.Invalid(f.name, "%s is required: an RFC 3339 time such as 2026-03-01T00:00:00Z", f.name)
		}
		t, err := time.Parse(time.RFC3339, f.v)
		if err != nil || t.Year() < 1900 || t.Year() > 9999 {
			return time.Time{}, time.Time{}, domain.Invalid(f.name, "%s must be an RFC 3339 time such as 2026-03-01T00:00:00Z", f.name)
		}
		ts[i] = t.UTC()
	}
	if !ts[1].After(ts[0]) {
		return time.Time{}, time.Time{}, domain.Invalid("end", "end must be after start")
	}
	if ts[1].Sub(ts[0]) > domain.MaxCalendarViewDays*24*time.Hour {
		return time.Time{}, time.Time{}, domain.Invalid("end", "the window must be at most %d days", domain.MaxCalendarViewDays)
	}
	return ts[0], ts[1], nil
}

// View reads mailbox's calendar between start and end. caller is who
// asked, for the audit trail.
func (v *CalendarView) View(ctx context.Context, tenantID, address, start, end, caller string) (time.Time, time.Time, domain.CalendarViewPage, error) {
	from, to, verr := ValidateCalendarWindow(start, end)
	if verr != nil {
		return from, to, domain.CalendarViewPage{}, verr
	}
	addr, verr := NormalizeAddress("address", address)
	if verr != nil {
		return from, to, domain.CalendarViewPage{}, verr
	}
	t, err := (&Tenants{Store: v.Store}).active(ctx, tenantID)
	if err != nil {
		return from, to, domain.CalendarViewPage{}, err
	}
	mb, err := v.Store.GetMailbox(ctx, tenantID, addr)
	switch {
	case domain.IsNotFound(err):
		return from, to, domain.CalendarViewPage{}, domain.NotFound("mailbox %q is not registered to tenant %q", addr, tenantID)
	case err != nil:
		return from, to, domain.CalendarViewPage{}, internal(err, "reading the mailbox")
	}
	cred, err := v.Secrets.GetCredential(ctx, tenantID)
	if err != nil {
		if domain.IsNotFound(err) {
			return from, to, domain.CalendarViewPage{}, domain.Conflict("tenant %q has no stored credentials; PUT /tenants/%s/credentials first", tenantID, tenantID)
		}
		return from, to, domain.CalendarViewPage{}, internal(err, "reading the credentials")
	}
	mode := mailboxMode(t, mb)
	page, err := v.read(ctx, t, cred, domain.MailboxRef{Address: mb.Address, Mode: mode, EWSURL: mb.EWSURL}, from, to)
	result := fmt.Sprintf("%d entries", len(page.Items))
	if page.Truncated {
		result += " (truncated)"
	}
	if err != nil {
		result = "failed: " + string(domain.AccessErrorOf(err).Kind)
	}
	if e := v.Store.AppendAudit(ctx, domain.AuditEntry{TenantID: tenantID, Mailbox: mb.Address, AccessMode: mode,
		Operation: fmt.Sprintf("calendar.view %s/%s by %s", from.Format(time.RFC3339), to.Format(time.RFC3339), callerName(caller)),
		Result:    result, At: v.Clock.Now().UTC(), RequestID: RequestID(ctx)}); e != nil {
		v.logger(ctx).Error("calendar view: audit append failed", "tenantId", tenantID, "error", e.Error())
	}
	if err != nil {
		return from, to, domain.CalendarViewPage{}, v.exchangeError(ctx, t, cred, err)
	}
	return from, to, page, nil
}

func (v *CalendarView) read(ctx context.Context, t domain.Tenant, cred domain.Credential, m domain.MailboxRef, from, to time.Time) (domain.CalendarViewPage, error) {
	viewer, err := v.Connector.ConnectCalendarView(ctx, t, cred)
	if err != nil {
		return domain.CalendarViewPage{}, err
	}
	page, err := viewer.CalendarView(ctx, m, from, to, domain.MaxCalendarViewEntries)
	if err != nil {
		return domain.CalendarViewPage{}, err
	}
	if len(page.Items) > domain.MaxCalendarViewEntries {
		page.Items, page.Truncated = page.Items[:domain.MaxCalendarViewEntries], true
	}
	if page.Items == nil {
		page.Items = []domain.Item{}
	}
	return page, nil
}

func (v *CalendarView) logger(ctx context.Context) *slog.Logger { return requestLogger(ctx, v.Log) }

// calendarViewFailure words a failed calendar view read (liveFailure).
var calendarViewFailure = liveFailure{subject: "calendar view", denied: "Exchange refused to read the mailbox's calendar",
	failed: "Exchange could not read the calendar view"}

// exchangeError: a tenant whose protocol this deployment has no calendar
// view adapter for is a 501; the rest as liveFailure says.
func (v *CalendarView) exchangeError(ctx context.Context, t domain.Tenant, cred domain.Credential, err error) error {
	if ae := domain.AccessErrorOf(err); ae.Code == "ProtocolNotConfigured" && t.ProtocolOf() == domain.ProtocolGraph {
		return &domain.Error{Code: domain.CodeNotImplemented, Message: "this deployment serves the calendar view for EWS tenants only; expand series from the feed's RRULE", Err: err}
	}
	return calendarViewFailure.answer(ctx, v.Log, t.ID, cred, err)
}
