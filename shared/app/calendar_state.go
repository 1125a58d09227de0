package app

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Per-event ordering and write tracking (docs/calendar-writes.md,
// "Ordering"). The API numbers each accepted request per client event
// (acceptWrite); the writer applies a request only if no later request for
// the event has been applied (claim), holding the event's lease while it
// calls Exchange, and records every attempt's outcome (record).

// writeLease is how long a writer holds an event's lease: longer than one
// attempt can last (the calendarwriter Lambda's timeout is 150 s), so a
// lease is only ever taken over from a writer that died.
const writeLease = 5 * time.Minute

// errWriteBusy: another request for the event holds its lease.
var errWriteBusy = errors.New("another request for this event is being written")

// leaseWait bounds how long a writer waits for another writer of the same
// event to finish (an attempt usually takes a second or two) before it
// hands its request back to the queue, whose redelivery comes much later
// (the SQS visibility timeout). It is waiting for a lock, not retrying a
// failure. The first pause is leasePause, doubling up to 2 s.
const (
	leaseWait  = 10 * time.Second
	leasePause = 100 * time.Millisecond
)

func (w *CalendarWrites) pause(ctx context.Context, d time.Duration) error {
	if w.Pause != nil {
		return w.Pause(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// acceptWrite numbers req among its event's requests and records it as
// pending, before it is queued.
// check (may be nil) refuses a new request against the state; a refusal
// stores nothing and is returned.
func acceptWrite(ctx context.Context, store domain.WriteStateStore, req *domain.WriteRequest, check func(*domain.WriteState, domain.WriteRequest) error) error {
	_, err := store.UpdateWriteState(ctx, req.TenantID, req.Mailbox, req.ClientEventID, func(st *domain.WriteState) error {
		for i := range st.Requests {
			if r := &st.Requests[i]; r.RequestID == req.ID {
				// The same request again (an Idempotency-Key replay that
				// found no stored answer): keep its number and queue it
				// again; the writer applies one number once.
				req.Seq, req.RequestedAt = r.Seq, r.AcceptedAt
				if req.Op == domain.WriteEnd {
					req.EndAt = endMinute(r.AcceptedAt)
				}
				if r.Status == domain.WriteFailed && r.ReasonCode == "not_queued" {
					r.Status, r.ReasonCode, r.Reason = domain.WritePending, "", ""
				}
				return nil
			}
		}
		if check != nil {
			if err := check(st, *req); err != nil {
				return err
			}
		}
		// The event's times as the accepted requests leave it (what the
		// next end request is checked against).
		switch req.Op {
		case domain.WriteUpsert:
			if req.Event != nil {
				st.Start, st.End = req.Event.Start, req.Event.End
			}
		case domain.WriteEnd:
			st.End = req.EndAt
		case domain.WriteDelete:
			st.Start, st.End = time.Time{}, time.Time{}
		}
		st.LastSeq++
		req.Seq = st.LastSeq
		st.Requests = append(st.Requests, domain.WriteRecord{
			RequestID: req.ID, Seq: req.Seq, Op: req.Op, AcceptedAt: req.RequestedAt,
			Status: domain.WritePending, UpdatedAt: req.RequestedAt,
		})
		if n := len(st.Requests); n > domain.MaxWriteHistory {
			st.Requests = append([]domain.WriteRecord(nil), st.Requests[n-domain.MaxWriteHistory:]...)
		}
		return nil
	})
	return err
}

// notQueued records that an accepted request never reached the queue (the
// caller got an error and may send it again).
func notQueued(ctx context.Context, store domain.WriteStateStore, req domain.WriteRequest, at time.Time) error {
	_, err := store.UpdateWriteState(ctx, req.TenantID, req.Mailbox, req.ClientEventID, func(st *domain.WriteState) error {
		if r := st.Request(req.Seq); r != nil {
			r.Status, r.ReasonCode, r.Reason, r.UpdatedAt = domain.WriteFailed, "not_queued", "the request could not be queued; the caller was answered 503", at
		}
		return nil
	})
	return err
}

// claimed is what claim found.
type claimed struct {
	superseded bool // a later request for the event has been applied: change nothing
	// nothingApplied: no request for the event has been applied, yet
	// earlier ones were accepted (they will be superseded by this one).
	// A delete then finds nothing to delete and that is its goal reached.
	nothingApplied bool
}

// claim takes the event's lease for req unless a later request was
// applied (superseded) or another request holds it (errWriteBusy, an
// infrastructure failure: the queue or the retry brings req back).
func (w *CalendarWrites) claim(ctx context.Context, req domain.WriteRequest) (claimed, *failure) {
	c, err := w.tryClaim(ctx, req)
	for waited, d := time.Duration(0), leasePause; errors.Is(err, errWriteBusy) && waited+d <= leaseWait; waited, d = waited+d, min(2*d, 2*time.Second) {
		if w.pause(ctx, d) != nil {
			break
		}
		c, err = w.tryClaim(ctx, req)
	}
	switch {
	case errors.Is(err, errWriteBusy):
		return c, &failure{retryable: true, infra: true, code: "busy", reason: "busy: " + errWriteBusy.Error(), err: err}
	case domain.IsCorrupt(err):
		return c, &failure{code: "damaged_state", reason: "the stored write state of the event is damaged", err: err}
	case err != nil:
		return c, &failure{retryable: true, infra: true, code: "store_unavailable", reason: "store unavailable", err: err}
	}
	return c, nil
}

// tryClaim is one claim: errWriteBusy while another request holds the lease.
func (w *CalendarWrites) tryClaim(ctx context.Context, req domain.WriteRequest) (claimed, error) {
	var c claimed
	now := w.Clock.Now().UTC()
	_, err := w.Store.UpdateWriteState(ctx, req.TenantID, req.Mailbox, req.ClientEventID, func(st *domain.WriteState) error {
		c = claimed{}
		if st.AppliedSeq >= req.Seq {
			c.superseded = true
			return nil
		}
		if st.LeaseSeq != 0 && st.LeaseSeq != req.Seq && now.Before(st.LeaseUntil) {
			return errWriteBusy
		}
		st.LeaseSeq, st.LeaseUntil = req.Seq, now.Add(writeLease)
		c.nothingApplied = st.AppliedSeq == 0 && req.Seq > 1
		return nil
	})
	return c, err
}

// record stores the outcome of an attempt of req and gives up its lease.
// A failure to record is logged: the lease then runs out by itself, and
// the stamp on the Exchange item still keeps an older request from
// overwriting what this one wrote.
func (w *CalendarWrites) record(ctx context.Context, req domain.WriteRequest, res AttemptResult, written domain.EventWrite, f *failure) {
	now := w.Clock.Now().UTC()
	_, err := w.Store.UpdateWriteState(ctx, req.TenantID, req.Mailbox, req.ClientEventID, func(st *domain.WriteState) error {
		if st.LeaseSeq == req.Seq {
			st.LeaseSeq, st.LeaseUntil = 0, time.Time{}
		}
		r := st.Request(req.Seq)
		if r == nil {
			r = &domain.WriteRecord{} // dropped from the history: update nothing but the event
		}
		r.UpdatedAt = now
		switch {
		case f != nil && f.infra && res.Outcome == "":
			// Back to the queue: still pending.
			r.Status, r.ReasonCode, r.Reason = domain.WritePending, f.code, f.reason
			return nil
		case res.Outcome == OutcomeRetry:
			r.Attempts = res.RetriesDone
			r.Status, r.NextAttemptAt, r.ReasonCode, r.Reason = domain.WriteRetrying, res.RetryAt, f.code, f.reason
			return nil
		case res.Outcome == OutcomeGaveUp:
			r.Attempts = res.RetriesDone + 1
			r.Status, r.NextAttemptAt, r.ReasonCode, r.Reason = domain.WriteFailed, time.Time{}, reasonCode(f, res.Reason), res.Reason
			if req.Op == domain.WriteEnd && (r.ReasonCode == "not_started" || r.ReasonCode == "already_ended") {
				// Exchange's item has other times than the accepted
				// requests said (the user moved it): they are unknown
				// now, and the next end is checked by the writer alone.
				st.Start, st.End = time.Time{}, time.Time{}
			}
			return nil
		}
		if st.AppliedSeq >= req.Seq && r.Status == domain.WriteWritten {
			return nil // a second delivery of a request already applied
		}
		r.Attempts = res.RetriesDone + 1
		r.NextAttemptAt, r.ReasonCode, r.Reason, r.Result = time.Time{}, "", "", res.Result
		if res.Result == domain.EventSuperseded || st.AppliedSeq >= req.Seq {
			r.Status, r.Result = domain.WriteSuperseded, domain.EventSuperseded
			return nil
		}
		r.Status = domain.WriteWritten
		st.AppliedSeq = req.Seq
		st.ItemID, st.ChangeKey = written.ItemID, written.ChangeKey
		if req.Op == domain.WriteDelete {
			st.ItemID, st.ChangeKey = "", ""
		}
		// Earlier requests still on their way will find themselves
		// superseded; say so now.
		for i := range st.Requests {
			if e := &st.Requests[i]; e.Seq < req.Seq && !e.Final() {
				e.Status, e.Result, e.NextAttemptAt, e.UpdatedAt = domain.WriteSuperseded, domain.EventSuperseded, time.Time{}, now
			}
		}
		return nil
	})
	if err != nil {
		w.logger(req).Error("calendar write: recording the outcome failed", "error", err.Error())
	}
}

// reasonCode is the machine-readable part of a failure: the failure's
// code, else the reason up to its first space, colon or parenthesis.
func reasonCode(f *failure, reason string) string {
	if f != nil && f.code != "" {
		return f.code
	}
	if i := strings.IndexAny(reason, " :("); i > 0 {
		return reason[:i]
	}
	return reason
}

// WriteState answers where the writes of one client event stand (GET
// .../events/{clientEventId}): ErrNotFound-coded when the tenant, the
// mailbox or any accepted write is unknown.
func (c *CalendarRequests) WriteState(ctx context.Context, tenantID, address, clientEventID string) (domain.WriteState, error) {
	if verr := ValidateTenantID(tenantID); verr != nil {
		return domain.WriteState{}, verr
	}
	addr, verr := NormalizeAddress("address", address)
	if verr != nil {
		return domain.WriteState{}, verr
	}
	if verr := ValidateClientEventID(clientEventID); verr != nil {
		return domain.WriteState{}, verr
	}
	if _, err := c.Store.GetTenant(ctx, tenantID); domain.IsNotFound(err) {
		return domain.WriteState{}, domain.NotFound("tenant %q not found", tenantID)
	} else if err != nil {
		return domain.WriteState{}, internal(err, "reading the tenant")
	}
	st, err := c.Store.GetWriteState(ctx, tenantID, addr, clientEventID)
	switch {
	case domain.IsNotFound(err):
		return st, domain.NotFound("no calendar write for client event id %q was accepted for mailbox %q", clientEventID, addr)
	case err != nil:
		return st, internal(err, "reading the write state")
	}
	return st, nil
}
