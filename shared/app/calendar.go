package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Calendar write requests: the API validates them here and queues them on
// the calendar-writes queue; CalendarWrites makes the writes.

// Limits on a calendar write request. They keep one request well inside
// an SQS message and a Step Functions input (256 KiB each) and inside what
// Exchange accepts (a subject or location of at most 255 characters).
const (
	MaxEventSubjectLen  = 255
	MaxEventLocationLen = 255
	MaxEventBodyBytes   = 64 * 1024
	MaxEventAttendees   = 100
	MaxEventSpan        = 2 * 365 * 24 * time.Hour // Exchange's CalendarView limit: a longer event could never be listed whole
	MaxTimeZoneLen      = domain.MaxTimeZoneLen
)

var (
	clientEventIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
)

// ValidateClientEventID checks a client's event id: it is stored in the
// calendar item and names the event in URLs.
func ValidateClientEventID(id string) *domain.Error {
	if !clientEventIDPattern.MatchString(id) {
		return domain.Invalid("clientEventId", "clientEventId must be 1-128 characters of A-Z, a-z, 0-9 and . _ : -, starting with a letter or digit")
	}
	return nil
}

// EventInput is a requested create-or-update of one event.
type EventInput struct {
	ClientEventID   string
	Subject         string
	Start, End      time.Time
	TimeZone        string
	Location        string
	Body            string
	Attendees       []domain.Address
	SendInvitations bool
	// RequestID, when set, names the request instead of a random id: the
	// API derives it from an Idempotency-Key, so the same request sent
	// twice is accepted once (see acceptWrite).
	RequestID string
}

// CalendarRequests validates calendar writes and queues them.
type CalendarRequests struct {
	Store domain.Store
	Queue domain.Queue // the calendar-writes queue
	Clock domain.Clock
}

// RequestPut queues a create-or-update of an event in a registered
// mailbox's calendar and returns the queued request.
func (c *CalendarRequests) RequestPut(ctx context.Context, tenantID, address string, in EventInput) (domain.WriteRequest, error) {
	ev, verr := validateEventInput(&in)
	if verr != nil {
		return domain.WriteRequest{}, verr
	}
	return c.enqueue(ctx, tenantID, address, domain.WriteRequest{
		ID: in.RequestID, ClientEventID: in.ClientEventID, Op: domain.WriteUpsert, Event: &ev, Notify: in.SendInvitations,
	}, nil)
}

// RequestDelete queues the deletion of an event Mailbridge wrote earlier.
func (c *CalendarRequests) RequestDelete(ctx context.Context, tenantID, address, clientEventID string, sendCancellations bool) (domain.WriteRequest, error) {
	return c.RequestDeleteAs(ctx, "", tenantID, address, clientEventID, sendCancellations)
}

// RequestDeleteAs is RequestDelete under a request id the caller chose
// (EventInput.RequestID); "" draws one.
func (c *CalendarRequests) RequestDeleteAs(ctx context.Context, requestID, tenantID, address, clientEventID string, sendCancellations bool) (domain.WriteRequest, error) {
	if verr := ValidateClientEventID(clientEventID); verr != nil {
		return domain.WriteRequest{}, verr
	}
	return c.enqueue(ctx, tenantID, address, domain.WriteRequest{
		ID: requestID, ClientEventID: clientEventID, Op: domain.WriteDelete, Notify: sendCancellations,
	}, nil)
}

// RequestEnd queues ending an event Mailbridge wrote now: its end moves to
// the current minute (rounded down). It is refused (409) when, as the
// requests accepted for the event leave it, the event does not start
// before that minute or ends by it, and (404) when no write of the event
// was accepted. The writer checks again against the item in Exchange
// (the user may have moved it), so an event is never extended. requestID
// as in RequestDeleteAs.
func (c *CalendarRequests) RequestEnd(ctx context.Context, requestID, tenantID, address, clientEventID string) (domain.WriteRequest, error) {
	if verr := ValidateClientEventID(clientEventID); verr != nil {
		return domain.WriteRequest{}, verr
	}
	return c.enqueue(ctx, tenantID, address, domain.WriteRequest{
		ID: requestID, ClientEventID: clientEventID, Op: domain.WriteEnd,
	}, checkEndable)
}

// checkEndable decides at accept time whether req (an end) can apply to
// the event as its accepted requests leave it.
func checkEndable(st *domain.WriteState, req domain.WriteRequest) error {
	if st.LastSeq == 0 {
		return domain.NotFound("no calendar write for client event id %q was accepted for mailbox %q", req.ClientEventID, req.Mailbox)
	}
	if last := st.Requests; len(last) > 0 && last[len(last)-1].Op == domain.WriteDelete {
		return domain.Conflict("the event was deleted (its latest accepted request is a delete); there is nothing to end")
	}
	switch {
	case !st.Start.IsZero() && !st.Start.Before(req.EndAt):
		return &domain.Error{Code: domain.CodeConflict, Field: "clientEventId", Message: fmt.Sprintf(
			"the event has not started yet (it starts at %s); it can be ended from one minute after its start", st.Start.UTC().Format(time.RFC3339))}
	case !st.End.IsZero() && !st.End.After(req.EndAt):
		return &domain.Error{Code: domain.CodeConflict, Field: "clientEventId", Message: fmt.Sprintf(
			"the event has already ended (at %s)", st.End.UTC().Format(time.RFC3339))}
	}
	return nil
}

// enqueue accepts req (numbering it in the event's write state) and
// queues it. check, when set, may refuse the request against the event's
// write state as accepted so far; its *domain.Error is answered as is and
// nothing is recorded.
func (c *CalendarRequests) enqueue(ctx context.Context, tenantID, address string, req domain.WriteRequest, check func(*domain.WriteState, domain.WriteRequest) error) (domain.WriteRequest, error) {
	if verr := ValidateTenantID(tenantID); verr != nil {
		return req, verr
	}
	addr, verr := NormalizeAddress("address", address)
	if verr != nil {
		return req, verr
	}
	t, err := c.Store.GetTenant(ctx, tenantID)
	if domain.IsNotFound(err) {
		return req, domain.NotFound("tenant %q not found", tenantID)
	}
	if err != nil {
		return req, internal(err, "reading the tenant")
	}
	if t.Status == domain.TenantOffboarded {
		return req, domain.Conflict("tenant %q is being offboarded", tenantID)
	}
	if _, err := c.Store.GetMailbox(ctx, tenantID, addr); domain.IsNotFound(err) {
		return req, domain.NotFound("mailbox %q is not registered to tenant %q", addr, tenantID)
	} else if err != nil {
		return req, internal(err, "reading the mailbox")
	}
	if req.ID == "" {
		req.ID = newWriteRequestID()
	}
	req.TenantID = tenantID
	req.Mailbox = addr
	req.RequestedAt = c.Clock.Now().UTC()
	if req.Op == domain.WriteEnd {
		req.EndAt = endMinute(req.RequestedAt)
	}
	// Numbered before it is queued, so the writer can tell which of two
	// requests for the event came later however the queue delivers them.
	if err := acceptWrite(ctx, c.Store, &req, check); err != nil {
		var refused *domain.Error
		if errors.As(err, &refused) && (refused.Code == domain.CodeConflict || refused.Code == domain.CodeNotFound) {
			return req, refused
		}
		return req, &domain.Error{Code: domain.CodeUnavailable, Message: "the calendar write could not be recorded; try again", Err: err}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return req, internal(err, "encoding the write request")
	}
	if err := c.Queue.SendBatch(ctx, []domain.QueueMessage{{Body: body}}); err != nil {
		_ = notQueued(ctx, c.Store, req, c.Clock.Now().UTC())
		return req, &domain.Error{Code: domain.CodeUnavailable, Message: "the calendar write could not be queued; try again", Err: err}
	}
	return req, nil
}

// endMinute is the end an end request accepted at t sets: the current
// minute, rounded down.
func endMinute(t time.Time) time.Time { return t.UTC().Truncate(time.Minute) }

// newWriteRequestID is random: it names Step Functions executions, which
// must be unique per state machine for 90 days.
func newWriteRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func validateEventInput(in *EventInput) (domain.EventSpec, *domain.Error) {
	if err := ValidateClientEventID(in.ClientEventID); err != nil {
		return domain.EventSpec{}, err
	}
	if strings.TrimSpace(in.Subject) == "" {
		return domain.EventSpec{}, domain.Invalid("subject", "subject is required")
	}
	if err := eventText("subject", in.Subject, MaxEventSubjectLen, false); err != nil {
		return domain.EventSpec{}, err
	}
	if err := eventText("location", in.Location, MaxEventLocationLen, false); err != nil {
		return domain.EventSpec{}, err
	}
	if len(in.Body) > MaxEventBodyBytes {
		return domain.EventSpec{}, domain.Invalid("body", "body must be at most %d bytes", MaxEventBodyBytes)
	}
	if err := eventText("body", in.Body, MaxEventBodyBytes, true); err != nil {
		return domain.EventSpec{}, err
	}
	switch {
	case in.Start.IsZero():
		return domain.EventSpec{}, domain.Invalid("start", "start is required (RFC 3339, e.g. 2026-12-01T09:00:00Z)")
	case in.End.IsZero():
		return domain.EventSpec{}, domain.Invalid("end", "end is required (RFC 3339, e.g. 2026-12-01T10:00:00Z)")
	case !in.Start.Before(in.End):
		return domain.EventSpec{}, domain.Invalid("end", "end must be after start")
	case in.End.Sub(in.Start) > MaxEventSpan:
		return domain.EventSpec{}, domain.Invalid("end", "an event may last at most two years")
	case in.Start.Year() < 1900 || in.End.Year() > 9999:
		return domain.EventSpec{}, domain.Invalid("start", "start and end must lie between the years 1900 and 9999")
	}
	if in.TimeZone != "" {
		// Exchange speaks Windows ids; the caller may use either name.
		z, ok := domain.ResolveTimeZone(in.TimeZone)
		if !ok {
			return domain.EventSpec{}, domain.Invalid("timeZone", "timeZone must be an IANA time zone such as \"Europe/Berlin\" or a Windows time zone id such as \"W. Europe Standard Time\" (at most %d characters)", MaxTimeZoneLen)
		}
		in.TimeZone = z.Windows
	}
	if len(in.Attendees) > MaxEventAttendees {
		return domain.EventSpec{}, domain.Invalid("attendees", "at most %d attendees", MaxEventAttendees)
	}
	attendees := make([]domain.Address, 0, len(in.Attendees))
	seen := map[string]bool{}
	for _, a := range in.Attendees {
		email, err := NormalizeAddress("attendees.email", a.Email)
		if err != nil {
			return domain.EventSpec{}, err
		}
		if seen[email] {
			return domain.EventSpec{}, domain.Invalid("attendees.email", "attendee %q is listed twice", email)
		}
		seen[email] = true
		if err := eventText("attendees.name", a.Name, MaxDisplayNameLen, false); err != nil {
			return domain.EventSpec{}, err
		}
		attendees = append(attendees, domain.Address{Name: a.Name, Email: email})
	}
	return domain.EventSpec{
		Subject: in.Subject, Start: in.Start.UTC(), End: in.End.UTC(), TimeZone: in.TimeZone,
		Location: in.Location, Body: in.Body, Attendees: attendees,
	}, nil
}

// eventText checks text that goes into a calendar item: valid UTF-8,
// bounded, and free of control characters XML cannot carry (line breaks
// and tabs are allowed where multiline).
func eventText(field, s string, max int, multiline bool) *domain.Error {
	if !utf8.ValidString(s) {
		return domain.Invalid(field, "must be valid UTF-8")
	}
	if utf8.RuneCountInString(s) > max {
		return domain.Invalid(field, "must be at most %d characters", max)
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || r == '\uFFFE' || r == '\uFFFF' {
			return domain.Invalid(field, "must not contain control characters")
		}
	}
	return nil
}
