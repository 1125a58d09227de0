package domain

import (
	"context"
	"time"
)

// Free/busy: which times mailboxes (people and rooms) are taken. EWS answers
// it with GetUserAvailability (100 mailboxes, 42 days a call), Graph with
// getSchedule (20 mailboxes, 62 days a call); an AvailabilityReader says
// its limits and the caller splits larger questions into batches.

// BusyStatus is how a mailbox's owner is taken in an interval.
type BusyStatus string

const (
	BusyFree             BusyStatus = "free"
	BusyTentative        BusyStatus = "tentative"
	BusyBusy             BusyStatus = "busy"
	BusyOutOfOffice      BusyStatus = "oof"
	BusyWorkingElsewhere BusyStatus = "workingElsewhere"
	BusyUnknown          BusyStatus = "unknown"
)

// BusyInterval is one taken interval (UTC).
type BusyInterval struct {
	Start  time.Time  `json:"start"`
	End    time.Time  `json:"end"`
	Status BusyStatus `json:"status"`
}

// MailboxAvailability is one mailbox's answer: its busy intervals, or the
// reason it could not be read (Err; the others still answer).
type MailboxAvailability struct {
	Mailbox string         `json:"mailbox"`
	Busy    []BusyInterval `json:"busy"`
	Err     *AccessError   `json:"-"`
}

// AvailabilityLimits are what one call of a protocol takes.
type AvailabilityLimits struct {
	MaxMailboxes int           // mailboxes per call
	MaxWindow    time.Duration // end - start
}

// AvailabilityReader reads free/busy of one tenant's mailboxes.
type AvailabilityReader interface {
	Limits() AvailabilityLimits
	// Availability answers for at most Limits().MaxMailboxes mailboxes
	// over [start, end) in one request to the server, one result per
	// mailbox in order. A mailbox that fails carries Err; the call fails
	// only when the server answered none (then *AccessError).
	Availability(ctx context.Context, mailboxes []string, start, end time.Time) ([]MailboxAvailability, error)
}

// AvailabilityConnector opens a tenant's AvailabilityReader. actAs is a
// mailbox of the tenant the calls may act as where the protocol needs one
// (EWS under impersonation: a mailbox known to be in the scope, so a room
// outside it fails alone); "" when the tenant has none.
type AvailabilityConnector interface {
	ConnectAvailability(ctx context.Context, t Tenant, c Credential, actAs string) (AvailabilityReader, error)
}
