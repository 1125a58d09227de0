package domain

import (
	"context"
	"time"
)

// Write tracking and per-event ordering. Each accepted calendar write gets
// a sequence number per (tenant, mailbox, client event id), taken from the
// event's WriteState when the API accepts it. The writer applies a request
// only if no later request for the event has been applied; an earlier one
// that arrives afterwards (a reordered queue, a late retry) is superseded.
// The same record answers GET .../events/{clientEventId}.

// WriteStatus is where one accepted write request stands.
type WriteStatus string

const (
	WritePending    WriteStatus = "pending"    // accepted, not yet attempted (or coming back from the queue)
	WriteWritten    WriteStatus = "written"    // applied to the calendar
	WriteRetrying   WriteStatus = "retrying"   // failed for a reason that may pass; a retry is scheduled
	WriteFailed     WriteStatus = "failed"     // failed for good (ReasonCode says why)
	WriteSuperseded WriteStatus = "superseded" // a later request for the event was applied first; this one changed nothing
)

// MaxWriteHistory bounds the requests a WriteState remembers (the oldest
// are dropped): the record stays one small item however often an event is
// rewritten (about 300 bytes a request, so at most ~6 KB: each of the three
// updates a write makes costs DynamoDB at most ~6 write units).
const MaxWriteHistory = 20

// WriteRecord is one accepted request in an event's history.
type WriteRecord struct {
	RequestID     string           `json:"requestId"`
	Seq           int64            `json:"seq"`
	Op            WriteOp          `json:"operation"`
	AcceptedAt    time.Time        `json:"acceptedAt"`
	Status        WriteStatus      `json:"state"`
	Result        EventWriteResult `json:"result,omitempty"`
	Attempts      int              `json:"attempts"`
	NextAttemptAt time.Time        `json:"nextAttemptAt,omitzero"`
	ReasonCode    string           `json:"reasonCode,omitempty"`
	Reason        string           `json:"reason,omitempty"`
	UpdatedAt     time.Time        `json:"updatedAt"`
}

// Final: the request will not be attempted again.
func (r WriteRecord) Final() bool {
	return r.Status == WriteWritten || r.Status == WriteFailed || r.Status == WriteSuperseded
}

// WriteState is what Mailbridge knows of the writes of one client event.
type WriteState struct {
	TenantID      string `json:"tenantId"`
	Mailbox       string `json:"mailbox"`
	ClientEventID string `json:"clientEventId"`
	// LastSeq is the sequence number of the last accepted request.
	LastSeq int64 `json:"lastSeq"`
	// AppliedSeq is the sequence number of the latest request applied to
	// the calendar (0: none yet).
	AppliedSeq int64 `json:"appliedSeq"`
	// The lease serializes the writers of one event: a writer holds it
	// from just before it calls Exchange until it has recorded the
	// outcome. A lease past LeaseUntil is free (its writer died).
	LeaseSeq   int64     `json:"leaseSeq,omitempty"`
	LeaseUntil time.Time `json:"leaseUntil,omitzero"`
	// ItemID and ChangeKey name the Exchange item as last written (empty
	// after a delete).
	ItemID    string `json:"itemId,omitempty"`
	ChangeKey string `json:"changeKey,omitempty"`
	// Start and End are the event's times as the accepted requests leave
	// it (set when an upsert or an end is accepted, cleared by a delete;
	// zero when unknown, e.g. state recorded before they were kept). An
	// end request is checked against them when it is accepted.
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// Requests, oldest first, at most MaxWriteHistory.
	Requests []WriteRecord `json:"requests"`
}

// Request returns the record of the request with sequence number seq.
func (s *WriteState) Request(seq int64) *WriteRecord {
	for i := range s.Requests {
		if s.Requests[i].Seq == seq {
			return &s.Requests[i]
		}
	}
	return nil
}

// WriteStateStore keeps one WriteState per (tenant, mailbox, client event
// id). Offboarding the tenant removes them.
type WriteStateStore interface {
	// GetWriteState returns ErrNotFound when no write was accepted for the event.
	GetWriteState(ctx context.Context, tenantID, mailbox, clientEventID string) (WriteState, error)
	// UpdateWriteState applies fn to the stored state (a zero one with its
	// key set when none is stored) and stores the result, atomically:
	// concurrent updates of one event are serialized, and fn may be
	// called again with a fresher state. When fn returns an error nothing
	// is stored and that error is returned.
	UpdateWriteState(ctx context.Context, tenantID, mailbox, clientEventID string, fn func(*WriteState) error) (WriteState, error)
}
