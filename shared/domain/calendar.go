package domain

import (
	"context"
	"errors"
	"time"
)

// Calendar writes (room booking, travel): a client asks Mailbridge to put an
// event into, or take it out of, a registered mailbox's calendar. The client
// names the event with its own id; Mailbridge marks the calendar item it
// creates with that id (an extended property) and only ever changes items
// carrying its mark: the author-only rule.

// WriteOp is what a calendar write does.
type WriteOp string

const (
	WriteUpsert WriteOp = "upsert" // create the event, or update the one written earlier
	WriteDelete WriteOp = "delete" // delete the event written earlier
	// WriteEnd moves the end of an event written earlier to
	// WriteRequest.EndAt (ending a meeting early, "now"), only if the
	// event has started by then and not yet ended.
	WriteEnd WriteOp = "end"
)

// EventSpec is the event a client wants in a calendar.
type EventSpec struct {
	Subject  string    `json:"subject"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	TimeZone string    `json:"timeZone,omitempty"` // Windows time zone id; empty = UTC
	Location string    `json:"location,omitempty"`
	Body     string    `json:"body,omitempty"` // plain text
	// Attendees make the event a meeting; they are invited only when the
	// request says so (WriteRequest.Notify).
	Attendees []Address `json:"attendees,omitempty"`
}

// WriteRequest is one requested calendar write: the body of a message on
// the calendar-writes queue and the request inside a retry execution.
type WriteRequest struct {
	ID            string     `json:"id"` // unique per API call; names retry executions
	TenantID      string     `json:"tenantId"`
	Mailbox       string     `json:"mailbox"`
	ClientEventID string     `json:"clientEventId"`
	Op            WriteOp    `json:"op"`
	Event         *EventSpec `json:"event,omitempty"` // nil for deletes and ends
	// EndAt is the new end of an end request (a whole minute, UTC).
	EndAt time.Time `json:"endAt,omitzero"`
	// Notify sends meeting invitations (upsert) or cancellations (delete)
	// to the attendees.
	Notify bool `json:"notify,omitempty"`
	// RequestedAt orders requests for one event: a write never replaces
	// what a later request wrote (a late retry must not undo a newer edit).
	RequestedAt time.Time `json:"requestedAt"`
	// Seq is the request's number among the requests for its client
	// event (WriteState.LastSeq when it was accepted); 0 on requests
	// queued before sequence numbers existed, which skip the check.
	Seq int64 `json:"seq,omitempty"`
}

// EventWriteResult is what a calendar write did.
type EventWriteResult string

const (
	EventCreated EventWriteResult = "created"
	EventUpdated EventWriteResult = "updated"
	EventDeleted EventWriteResult = "deleted"
	EventEnded   EventWriteResult = "ended" // its end moved earlier (WriteEnd)
	// EventSuperseded: the item was last written for a later request, so
	// this one changed nothing.
	EventSuperseded EventWriteResult = "superseded"
)

// EventWrite reports one successful calendar write.
type EventWrite struct {
	Result    EventWriteResult
	ItemID    string // the Exchange item id (empty after a delete)
	ChangeKey string // the item's change key after the write, when Exchange answered it
}

// ErrEventNotFound: the mailbox holds no item carrying Mailbridge's mark
// for the client event id. Items Mailbridge did not create are never
// found, so they can never be changed or deleted.
var ErrEventNotFound = &Error{Code: CodeNotFound, Message: "the mailbox holds no event written by Mailbridge with this client event id"}

// An end request (WriteEnd) is refused when the event has not started by
// the requested end, or has already ended by then: ending it would make
// it empty, or extend it.
var (
	ErrEventNotStarted   = &Error{Code: CodeConflict, Message: "the event has not started yet: it can be ended from one minute after its start"}
	ErrEventAlreadyEnded = &Error{Code: CodeConflict, Message: "the event has already ended"}
)

// CheckEndable checks ending at end an item Exchange holds from start to
// itemEnd: ErrEventNotStarted, ErrEventAlreadyEnded, or a permanent
// AccessError when the server did not answer the item's times (the check
// cannot be made, so nothing is changed).
func CheckEndable(start, itemEnd, end time.Time) error {
	switch {
	case start.IsZero() || itemEnd.IsZero():
		return &AccessError{Kind: AccessPermanent, Code: "MissingTimes", Err: errors.New("the server did not answer the event's start and end")}
	case !start.Before(end):
		return ErrEventNotStarted
	case !itemEnd.After(end):
		return ErrEventAlreadyEnded
	}
	return nil
}

// CalendarWriter writes one tenant's calendars. Its methods name events by
// the client's event id, never by an Exchange item id, so nothing outside
// the implementation can point it at an item Mailbridge did not create.
// Failures are *AccessError (classified, never retried here) or
// ErrEventNotFound.
type CalendarWriter interface {
	// PutEvent creates the event marked with clientEventID or updates the
	// item already marked with it, unless that item was written for a
	// request later than requestedAt (EventSuperseded).
	PutEvent(ctx context.Context, m MailboxRef, clientEventID string, ev EventSpec, notify bool, requestedAt time.Time) (EventWrite, error)
	// DeleteEvent deletes the item marked with clientEventID, unless it was
	// written for a request later than requestedAt (EventSuperseded).
	DeleteEvent(ctx context.Context, m MailboxRef, clientEventID string, notify bool, requestedAt time.Time) (EventWrite, error)
	// EndEvent moves the end of the item marked with clientEventID to end,
	// checked against the item as Exchange holds it: ErrEventNotStarted
	// when its start is not before end, ErrEventAlreadyEnded when its end
	// is not after end (an event is never extended); EventSuperseded as
	// PutEvent. Attendees are not notified (the meeting is over for them
	// too; an update would send each a message).
	EndEvent(ctx context.Context, m MailboxRef, clientEventID string, end, requestedAt time.Time) (EventWrite, error)
}

// CalendarConnector opens a tenant's CalendarWriter with its credential.
type CalendarConnector interface {
	ConnectCalendar(ctx context.Context, t Tenant, c Credential) (CalendarWriter, error)
}

// CalendarRetry is the input of a retry execution: wait until RetryAt,
// then make retry number RetriesDone (1..3) of Request.
type CalendarRetry struct {
	Request     WriteRequest `json:"request"`
	RetriesDone int          `json:"retriesDone"`
	RetryAt     time.Time    `json:"retryAt"`
}

// RetryScheduler hands a failed calendar write to the retry owner (Step
// Functions in AWS, a timer in the local run). Scheduling the same request
// and retry number twice starts one retry.
type RetryScheduler interface {
	ScheduleRetry(ctx context.Context, r CalendarRetry) error
}
