package ewsmailbox

import (
	"context"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
)

// This file implements domain.AvailabilityConnector over EWS
// GetUserAvailability: free/busy of up to 100 mailboxes over up to 42 days
// a call, the caller splitting larger questions.

// AvailabilityConnector builds each tenant's AvailabilityReader over a
// shared client cache.
type AvailabilityConnector struct {
	clients *ClientCache
}

// NewAvailabilityConnector returns an AvailabilityConnector building
// clients with opts.
func NewAvailabilityConnector(opts Options) *AvailabilityConnector {
	return &AvailabilityConnector{clients: NewClientCache(opts, maxCachedClients)}
}

var _ domain.AvailabilityConnector = (*AvailabilityConnector)(nil)

// ConnectAvailability returns the tenant's reader. It does no network I/O.
// Every call acts as actAs (a mailbox of the tenant) when given, else as
// its first mailbox.
func (c *AvailabilityConnector) ConnectAvailability(_ context.Context, t domain.Tenant, cred domain.Credential, actAs string) (domain.AvailabilityReader, error) {
	r := &availability{clients: c.clients.For(t, cred), tenant: t, actAs: actAs}
	if _, err := r.clients.Client(t.EWSURL); err != nil {
		return nil, clientConfigError(err)
	}
	return r, nil
}

type availability struct {
	clients TenantClients
	tenant  domain.Tenant
	actAs   string
}

func (a *availability) Limits() domain.AvailabilityLimits {
	return domain.AvailabilityLimits{MaxMailboxes: ews.MaxAvailabilityMailboxes, MaxWindow: ews.MaxAvailabilitySpan}
}

// Availability asks as the tenant's access mode addressing actAs, else the
// first mailbox: under impersonation (app-only tokens always) the call
// needs a mailbox to act as; free/busy of the others is what any mailbox
// of the organisation may read. With actAs a mailbox in the scope, a room
// outside the impersonation scope is read like any other, instead of
// failing its whole batch as the mailbox acted as.
func (a *availability) Availability(ctx context.Context, mailboxes []string, start, end time.Time) ([]domain.MailboxAvailability, error) {
	if len(mailboxes) == 0 {
		return nil, nil
	}
	as := mailboxes[0]
	if a.actAs != "" {
		as = a.actAs
	}
	cl, t, err := a.clients.Target(domain.MailboxRef{Address: as, Mode: a.tenant.AccessMode})
	if err != nil {
		return nil, err
	}
	res, err := cl.GetUserAvailability(ctx, t, ews.AvailabilityRequest{Mailboxes: mailboxes, Start: start, End: end})
	if err != nil {
		return nil, classify(useRead, err, "")
	}
	out := make([]domain.MailboxAvailability, len(mailboxes))
	for i, m := range mailboxes {
		out[i].Mailbox = m
		if i >= len(res) {
			out[i].Err = &domain.AccessError{Kind: domain.AccessTransient, Code: "NoAnswer"}
			continue
		}
		r := res[i]
		if r.Err != nil {
			out[i].Err = classify(useCheck, r.Err, "")
			continue
		}
		out[i].Busy = []domain.BusyInterval{}
		for _, ev := range r.Events {
			s := busyStatus(ev.BusyType)
			if s == domain.BusyFree {
				continue
			}
			out[i].Busy = append(out[i].Busy, domain.BusyInterval{Start: ev.Start.UTC(), End: ev.End.UTC(), Status: s})
		}
	}
	return out, nil
}

// busyStatus maps EWS LegacyFreeBusyType.
func busyStatus(t string) domain.BusyStatus {
	switch t {
	case "Free":
		return domain.BusyFree
	case "Tentative":
		return domain.BusyTentative
	case "Busy":
		return domain.BusyBusy
	case "OOF":
		return domain.BusyOutOfOffice
	case "WorkingElsewhere":
		return domain.BusyWorkingElsewhere
	}
	return domain.BusyUnknown
}
