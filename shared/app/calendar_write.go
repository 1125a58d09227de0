package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Outcome is what one calendar write attempt leaves to do; the retry state
// machine branches on it.
type Outcome string

const (
	OutcomeWritten Outcome = "written"
	OutcomeRetry   Outcome = "retry"
	OutcomeGaveUp  Outcome = "gave_up"
)

// AttemptResult is the answer of one attempt. For the retry state machine
// it is also the next state: it carries the request on, and on
// OutcomeRetry the time of the next attempt (RetryAt, whole seconds in UTC
// as the Wait state's TimestampPath needs) and its number (RetriesDone).
type AttemptResult struct {
	Outcome     Outcome                 `json:"outcome"`
	Request     domain.WriteRequest     `json:"request"`
	RetriesDone int                     `json:"retriesDone"`
	RetryAt     time.Time               `json:"retryAt,omitzero"`
	Result      domain.EventWriteResult `json:"result,omitempty"` // on OutcomeWritten
	Reason      string                  `json:"reason,omitempty"` // on OutcomeGaveUp
}

// deleteHorizon stands in for the start of an event being deleted: a
// delete request does not carry it, and removing a stale event stays
// useful until it is gone, so a failed delete is retried on the calendar
// retry rule's far-event spacing (24 h, three times).
const deleteHorizon = 30 * 24 * time.Hour

// CalendarWrites makes calendar writes. It owns no retry loop: a retryable
// failure is handed to the RetryScheduler (first attempt, from the queue)
// or answered as OutcomeRetry (later attempts, from the state machine),
// with the time the calendar retry rule gives (NextCalendarRetry).
type CalendarWrites struct {
	Store     domain.Store
	Secrets   domain.SecretStore
	Calendars domain.CalendarConnector
	Retries   domain.RetryScheduler
	Clock     domain.Clock
	Log       *slog.Logger
	// Pause waits d (or until ctx ends) while another request of the same
	// event holds its lease; nil: a real timer. Tests pass a fake.
	Pause func(ctx context.Context, d time.Duration) error
}

// failure is a classified failed attempt.
type failure struct {
	retryable bool
	// infra: Mailbridge's own storage failed, not Exchange. A queued
	// request then goes back to its queue (redelivered within minutes)
	// instead of waiting a calendar-retry interval meant for Exchange.
	infra   bool
	backOff time.Duration
	code    string // machine-readable reason (write tracking's reasonCode); empty: derived from reason
	reason  string // for the audit trail, the log and the execution output: no secrets
	err     error  // cause, for the log only
}

// HandleQueued makes the first attempt of a request from the
// calendar-writes queue. A retryable failure starts a retry execution; the
// message is then done. It returns an error only when that hand-over
// failed, so the queue delivers the message again (the execution's name is
// derived from the request, so a second delivery cannot start two).
func (w *CalendarWrites) HandleQueued(ctx context.Context, req domain.WriteRequest) (AttemptResult, error) {
	res, f := w.attempt(ctx, req, 0, true)
	if f != nil && f.infra {
		return res, fmt.Errorf("calendar write %s: %s: %w", req.ID, f.reason, f.err)
	}
	if res.Outcome != OutcomeRetry {
		return res, nil
	}
	if err := w.Retries.ScheduleRetry(ctx, domain.CalendarRetry{Request: req, RetriesDone: res.RetriesDone, RetryAt: res.RetryAt}); err != nil {
		w.logger(req).Error("calendar write: scheduling the retry failed", "retryAt", res.RetryAt, "error", err.Error())
		return res, fmt.Errorf("scheduling retry %d of calendar write %s: %w", res.RetriesDone, req.ID, err)
	}
	return res, nil
}

// HandleRetry makes retry number in.RetriesDone (1..MaxCalendarRetries),
// invoked by the retry state machine after its wait.
func (w *CalendarWrites) HandleRetry(ctx context.Context, in domain.CalendarRetry) AttemptResult {
	if in.RetriesDone < 1 || in.RetriesDone > MaxCalendarRetries {
		return AttemptResult{Outcome: OutcomeGaveUp, Request: in.Request, RetriesDone: in.RetriesDone,
			Reason: fmt.Sprintf("invalid retry input: retriesDone must be 1-%d", MaxCalendarRetries)}
	}
	res, _ := w.attempt(ctx, in.Request, in.RetriesDone, false)
	return res
}

// attempt makes one write and decides what follows. retriesDone counts the
// retries made so far, this attempt included (0 for the first attempt).
// From the queue, an infrastructure failure is returned undecided for the
// queue to redeliver.
func (w *CalendarWrites) attempt(ctx context.Context, req domain.WriteRequest, retriesDone int, queued bool) (AttemptResult, *failure) {
	res := AttemptResult{Request: req, RetriesDone: retriesDone}
	log := w.logger(req).With("retriesDone", retriesDone)
	if err := validateWriteRequest(req); err != nil {
		res.Outcome, res.Reason = OutcomeGaveUp, "invalid request: "+err.Error()
		log.Error("calendar write: invalid request", "reason", res.Reason)
		return res, nil
	}
	t, mode, written, f := w.write(ctx, req)
	if f != nil && f.infra && queued {
		log.Warn("calendar write: storage unavailable; the queue redelivers", "reason", f.reason, "error", errText(f.err))
		if t.ID != "" && req.Seq > 0 {
			w.record(ctx, req, res, written, f)
		}
		return res, f
	}
	now := w.Clock.Now().UTC()
	switch {
	case f == nil:
		res.Outcome, res.Result = OutcomeWritten, written.Result
		log.Info("calendar write done", "result", written.Result)
	case !f.retryable:
		res.Outcome, res.Reason = OutcomeGaveUp, f.reason
		log.Warn("calendar write failed for good", "reason", f.reason, "error", errText(f.err))
	default:
		d := NextCalendarRetry(now, retryHorizon(req, now), retriesDone, f.backOff)
		if d.Retry {
			res.Outcome, res.RetriesDone, res.RetryAt = OutcomeRetry, retriesDone+1, ceilSecond(d.At)
			log.Warn("calendar write failed; retry scheduled", "reason", f.reason, "retryAt", res.RetryAt, "error", errText(f.err))
		} else {
			res.Outcome, res.Reason = OutcomeGaveUp, f.reason+"; no retry: "+d.Reason
			log.Warn("calendar write failed; no retry left", "reason", res.Reason, "error", errText(f.err))
		}
	}
	if t.ID != "" {
		if req.Seq > 0 {
			w.record(ctx, req, res, written, f)
		}
		w.audit(ctx, req, mode, res, now)
	}
	return res, f
}

// write loads what the request needs and makes the write. The tenant is
// returned (zero when unknown) so the attempt is audited under it.
func (w *CalendarWrites) write(ctx context.Context, req domain.WriteRequest) (domain.Tenant, domain.AccessMode, domain.EventWrite, *failure) {
	t, err := w.Store.GetTenant(ctx, req.TenantID)
	switch {
	case domain.IsNotFound(err):
		return domain.Tenant{}, "", domain.EventWrite{}, &failure{reason: "tenant not found"}
	case err != nil:
		return domain.Tenant{}, "", domain.EventWrite{}, &failure{retryable: true, infra: true, reason: "store unavailable", err: err}
	case t.Status == domain.TenantOffboarded:
		return t, t.AccessMode, domain.EventWrite{}, &failure{reason: "tenant is offboarded"}
	}
	// Tenant isolation: the mailbox must be registered to this tenant.
	mb, err := w.Store.GetMailbox(ctx, t.ID, req.Mailbox)
	switch {
	case domain.IsNotFound(err):
		return t, t.AccessMode, domain.EventWrite{}, &failure{reason: "mailbox is not registered to the tenant"}
	case domain.IsCorrupt(err):
		// Redelivery cannot mend it; re-adding the mailbox does.
		return t, t.AccessMode, domain.EventWrite{}, &failure{reason: "the stored mailbox record is damaged", err: err}
	case err != nil:
		return t, t.AccessMode, domain.EventWrite{}, &failure{retryable: true, infra: true, reason: "store unavailable", err: err}
	}
	mode := mailboxMode(t, mb)
	var c claimed
	if req.Seq > 0 {
		var f *failure
		if c, f = w.claim(ctx, req); f != nil {
			return t, mode, domain.EventWrite{}, f
		}
		if c.superseded {
			return t, mode, domain.EventWrite{Result: domain.EventSuperseded}, nil
		}
	}
	cred, err := w.Secrets.GetCredential(ctx, t.ID)
	switch {
	case domain.IsNotFound(err):
		return t, mode, domain.EventWrite{}, &failure{reason: "tenant has no stored credential"}
	case err != nil:
		return t, mode, domain.EventWrite{}, &failure{retryable: true, infra: true, reason: "secret store unavailable", err: err}
	}
	cw, err := w.Calendars.ConnectCalendar(ctx, t, cred)
	if err != nil {
		return t, mode, domain.EventWrite{}, classifyWriteError(err)
	}
	ref := domain.MailboxRef{Address: mb.Address, Mode: mode, EWSURL: mb.EWSURL}
	var res domain.EventWrite
	if req.Op == domain.WriteDelete {
		res, err = cw.DeleteEvent(ctx, ref, req.ClientEventID, req.Notify, req.RequestedAt)
		if c.nothingApplied && (errors.Is(err, domain.ErrEventNotFound) || domain.IsNotFound(err)) {
			// The earlier requests for the event were never applied (and
			// now never will be): there is nothing to delete, as asked.
			res, err = domain.EventWrite{Result: domain.EventDeleted}, nil
		}
	} else if req.Op == domain.WriteEnd {
		res, err = cw.EndEvent(ctx, ref, req.ClientEventID, req.EndAt, req.RequestedAt)
	} else {
		res, err = cw.PutEvent(ctx, ref, req.ClientEventID, *req.Event, req.Notify, req.RequestedAt)
	}
	if err != nil {
		return t, mode, domain.EventWrite{}, classifyWriteError(err)
	}
	return t, mode, res, nil
}

// mailboxMode is the access mode a write uses: what worked last for the
// mailbox (after a fallback), else its override, else the tenant's.
func mailboxMode(t domain.Tenant, mb domain.Mailbox) domain.AccessMode {
	switch {
	case mb.EffectiveMode != "":
		return mb.EffectiveMode
	case mb.AccessMode != "":
		return mb.AccessMode
	}
	return t.AccessMode
}

// classifyWriteError decides who, if anyone, retries: throttling and
// transient failures are retried on the calendar retry rule's schedule;
// everything an admin or the client must fix is not.
func classifyWriteError(err error) *failure {
	switch {
	case errors.Is(err, domain.ErrEventNotStarted):
		return &failure{code: "not_started", reason: "not_started: " + domain.ErrEventNotStarted.Message, err: err}
	case errors.Is(err, domain.ErrEventAlreadyEnded):
		return &failure{code: "already_ended", reason: "already_ended: " + domain.ErrEventAlreadyEnded.Message, err: err}
	}
	if errors.Is(err, domain.ErrEventNotFound) || domain.IsNotFound(err) {
		return &failure{code: "not_found", reason: "not_found: " + domain.ErrEventNotFound.Message, err: err}
	}
	ae := domain.AccessErrorOf(err)
	reason := string(ae.Kind)
	if ae.Code != "" {
		reason += " (" + ae.Code + ")"
	}
	switch ae.Kind {
	case domain.AccessThrottled, domain.AccessTransient:
		return &failure{retryable: true, backOff: ae.RetryAfter, code: string(ae.Kind), reason: reason, err: err}
	}
	return &failure{code: string(ae.Kind), reason: reason, err: err}
}

// endHorizon stands in for the start of an end request: ending a
// meeting early is worth retrying only for a few hours after the minute
// it was asked for (retries then come after 2 h, 1 h and 30 min at most).
const endHorizon = 4 * time.Hour

// retryHorizon is the start the retry rule races against.
func retryHorizon(req domain.WriteRequest, now time.Time) time.Time {
	if req.Op == domain.WriteUpsert && req.Event != nil {
		return req.Event.Start
	}
	if req.Op == domain.WriteEnd {
		return req.EndAt.Add(endHorizon)
	}
	return now.Add(deleteHorizon)
}

// ceilSecond rounds up to a whole second in UTC: the Wait state reads an
// RFC 3339 time, and a retry must not come earlier than the rule says.
func ceilSecond(t time.Time) time.Time {
	r := t.Truncate(time.Second)
	if r.Before(t) {
		r = r.Add(time.Second)
	}
	return r.UTC()
}

// validateWriteRequest checks a request read from the queue or an
// execution input: both cross a trust boundary as JSON.
func validateWriteRequest(req domain.WriteRequest) error {
	if req.ID == "" {
		return errors.New("id is empty")
	}
	if err := ValidateTenantID(req.TenantID); err != nil {
		return err
	}
	if _, err := NormalizeAddress("mailbox", req.Mailbox); err != nil {
		return err
	}
	if err := ValidateClientEventID(req.ClientEventID); err != nil {
		return err
	}
	switch req.Op {
	case domain.WriteUpsert:
		if req.Event == nil {
			return errors.New("an upsert needs an event")
		}
		in := EventInput{ClientEventID: req.ClientEventID, Subject: req.Event.Subject, Start: req.Event.Start, End: req.Event.End,
			TimeZone: req.Event.TimeZone, Location: req.Event.Location, Body: req.Event.Body, Attendees: req.Event.Attendees}
		if _, err := validateEventInput(&in); err != nil {
			return err
		}
	case domain.WriteDelete:
	case domain.WriteEnd:
		if req.EndAt.IsZero() || !req.EndAt.Equal(req.EndAt.Truncate(time.Minute)) || req.Event != nil {
			return errors.New("an end needs endAt, a whole minute, and no event")
		}
	default:
		return fmt.Errorf("unknown op %q", req.Op)
	}
	if req.RequestedAt.IsZero() {
		return errors.New("requestedAt is missing")
	}
	return nil
}

// audit records the attempt (the audit trail: every access on a tenant's
// behalf is traceable). A failed audit write is logged, not returned: the write
// has happened either way.
func (w *CalendarWrites) audit(ctx context.Context, req domain.WriteRequest, mode domain.AccessMode, res AttemptResult, at time.Time) {
	result := string(res.Result)
	switch res.Outcome {
	case OutcomeRetry:
		result = "retry_scheduled: " + res.RetryAt.Format(time.RFC3339)
	case OutcomeGaveUp:
		result = "gave_up: " + res.Reason
	}
	e := domain.AuditEntry{
		TenantID:   req.TenantID,
		Mailbox:    req.Mailbox,
		Operation:  "calendar." + string(req.Op) + " " + req.ClientEventID,
		AccessMode: mode,
		Result:     result,
		At:         at,
		RequestID:  req.ID,
	}
	if err := w.Store.AppendAudit(ctx, e); err != nil {
		w.logger(req).Error("calendar write: audit append failed", "error", err.Error())
	}
}

func (w *CalendarWrites) logger(req domain.WriteRequest) *slog.Logger {
	l := w.Log
	if l == nil {
		l = slog.Default()
	}
	return l.With("requestId", req.ID, "tenantId", req.TenantID, "mailbox", req.Mailbox,
		"clientEventId", req.ClientEventID, "op", string(req.Op))
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
