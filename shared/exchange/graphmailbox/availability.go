package graphmailbox

import (
	"context"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/graph"
)

// This file implements domain.AvailabilityConnector over Graph's
// getSchedule: free/busy of up to 20 mailboxes over up to 62 days a call,
// the caller splitting larger questions.

// MaxScheduleWindow is the longest span getSchedule answers.
const MaxScheduleWindow = 62 * 24 * time.Hour

var _ domain.AvailabilityConnector = (*Connector)(nil)

// ConnectAvailability returns the tenant's reader. It does no network I/O.
// Each call asks through its own first mailbox, so the calls of one
// request spread over Outlook's per-mailbox cap of 4 concurrent requests;
// when Graph refuses that mailbox as the asker (outside the app's scope,
// no such mailbox), the call is asked once more through actAs, so the
// mailbox fails alone instead of its whole batch.
func (c *Connector) ConnectAvailability(_ context.Context, t domain.Tenant, cred domain.Credential, actAs string) (domain.AvailabilityReader, error) {
	cl, err := c.client(t, cred)
	if err != nil {
		return nil, err
	}
	return &availability{client: cl, actAs: actAs}, nil
}

type availability struct {
	client *graph.Client
	actAs  string
}

func (a *availability) Limits() domain.AvailabilityLimits {
	return domain.AvailabilityLimits{MaxMailboxes: graph.MaxSchedules, MaxWindow: MaxScheduleWindow}
}

// Availability asks through the first mailbox's calendar (getSchedule
// needs a user to ask as; an app may ask through any mailbox in its
// scope).
func (a *availability) Availability(ctx context.Context, mailboxes []string, start, end time.Time) ([]domain.MailboxAvailability, error) {
	if len(mailboxes) == 0 {
		return nil, nil
	}
	req := graph.ScheduleRequest{
		Schedules: mailboxes,
		StartTime: graph.DateTimeTimeZone{DateTime: start.UTC().Format("2006-01-02T15:04:05"), TimeZone: "UTC"},
		EndTime:   graph.DateTimeTimeZone{DateTime: end.UTC().Format("2006-01-02T15:04:05"), TimeZone: "UTC"},
	}
	res, err := a.client.GetSchedule(ctx, mailboxes[0], req)
	if err != nil && a.actAs != "" && !strings.EqualFold(a.actAs, mailboxes[0]) {
		// The asker, not the schedules, was refused: ask through a
		// mailbox of the tenant (one other request, not a retry).
		if c := graph.Classify(err); c == graph.ClassAccessDenied || c == graph.ClassMailboxNotFound {
			res, err = a.client.GetSchedule(ctx, a.actAs, req)
		}
	}
	if err != nil {
		return nil, classify(err, useMailbox, "")
	}
	byID := make(map[string]graph.ScheduleInformation, len(res))
	for _, si := range res {
		byID[strings.ToLower(si.ScheduleID)] = si
	}
	out := make([]domain.MailboxAvailability, len(mailboxes))
	for i, m := range mailboxes {
		out[i].Mailbox = m
		si, ok := byID[strings.ToLower(m)]
		if !ok {
			out[i].Err = &domain.AccessError{Kind: domain.AccessTransient, Code: "NoAnswer"}
			continue
		}
		if err := graph.ScheduleErr(si); err != nil {
			out[i].Err = classify(err, useCheck, "")
			continue
		}
		out[i].Busy = []domain.BusyInterval{}
		for _, it := range si.ScheduleItems {
			s := scheduleStatus(it.Status)
			if s == domain.BusyFree {
				continue
			}
			st, en := it.Start, it.End
			out[i].Busy = append(out[i].Busy, domain.BusyInterval{Start: eventTime(&st), End: eventTime(&en), Status: s})
		}
	}
	return out, nil
}

// scheduleStatus maps Graph's freeBusyStatus.
func scheduleStatus(s string) domain.BusyStatus {
	switch strings.ToLower(s) {
	case "free":
		return domain.BusyFree
	case "tentative":
		return domain.BusyTentative
	case "busy":
		return domain.BusyBusy
	case "oof":
		return domain.BusyOutOfOffice
	case "workingelsewhere":
		return domain.BusyWorkingElsewhere
	}
	return domain.BusyUnknown
}
