// sync_outcome.go owns a sync's outcome: decideOutcome is the one
// decision, from what happened, of everything that follows a sync: whether
// the job comes back and after what delay, the mailbox's status, fix hint
// and lastError, and whether the mailbox record is written. finish (in
// sync.go) carries it out, and the batch worker reads it back from the
// error a sync returns (outcomeOf).
//
// One retry owner per failure: throttling (and a used-up time budget)
// returns *RetryLater for the runtime to requeue with the server's delay,
// capped (the Lambda never sleeps), after the job stored its progress
// (Resume). Access problems are recorded on the mailbox with a fix hint
// and the job succeeds (the scheduler retries mailboxes that need an
// admin slowly). Anything else is returned for the queue to redeliver.

package app

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/redact"
)

// syncFacts is what happened in a sync: all decideOutcome needs.
type syncFacts struct {
	// runErr is how the run ended: nil, a *domain.AccessError, a
	// *RetryLater (time budget), or any other error.
	runErr error
	// checkpointErr is the error saving the checkpoint at the end (nil:
	// saved, unchanged, or not reached).
	checkpointErr error
	mailbox       domain.Mailbox // the record as the job read it
	tenantID      string
	allowFallback bool              // the tenant allows the fallback to delegate access
	mode          domain.AccessMode // the mode the sync ended in
	fellBack      bool
	unreadable    []string // selected folders the account may not read, by name
	anyReadable   bool     // at least one selected folder was readable
	appended      int      // change-feed entries appended
	protocol      domain.Protocol
	url           string  // the EWS endpoint used (names Exchange Online in hints)
	account       Account // who the sync ran as, for hints; never a secret
	now           time.Time
	refresh       time.Duration // how stale LastSync may get (Syncer.LastSyncRefresh)
}

// outcome is everything that follows a sync.
type outcome struct {
	// action is what the runtime does with the job: OutcomeOK (nothing
	// more), OutcomeRequeued (run again after `after`) or OutcomeFailed
	// (the queue redelivers it). err says the same to SyncMailbox's
	// caller: nil, a *RetryLater, or the error.
	action SyncOutcome
	after  time.Duration
	reason string
	err    error
	// unfinished: the run stopped early and comes back, so the
	// checkpoint keeps this tick's progress and the mailbox record is
	// left as it was. It does not depend on the checkpoint's fate.
	unfinished bool

	status     domain.MailboxStatus
	hint       string
	lastError  string
	unreadable []string
	// writeMailbox: the record changed (or its LastSync is stale), and
	// mailbox is what to write.
	writeMailbox bool
	mailbox      domain.Mailbox
	audit        string // the audit entry's result
}

// decideOutcome decides what follows a sync, from what happened.
func decideOutcome(f syncFacts) outcome {
	o := runAction(f.runErr)
	o.unfinished = o.action != OutcomeOK
	ae := asAccess(f.runErr)
	switch {
	case o.unfinished && reportable(ae, f.mailbox.Status):
		// Exchange throttled or failed to answer (503, a timeout, a login
		// page, an empty body): the job comes back, and the mailbox says
		// so now, in words an admin can act on, rather than showing ok
		// for as long as the trouble lasts. A problem only an admin can
		// fix (auth, scope) stays shown: this answer does not disprove it.
		o.status = domain.MailboxError
		if ae.Kind == domain.AccessThrottled {
			o.status = domain.MailboxThrottled
		}
		o.hint, o.lastError = outcomeHint(f, o.status, ae, nil), problem(f, o.status, ae)
		o.unreadable = f.mailbox.UnreadableFolders
	case o.unfinished:
		// Out of time, or trouble on our side: the mailbox is as it was
		// as far as we know.
		o.status, o.hint, o.lastError = f.mailbox.Status, f.mailbox.Hint, f.mailbox.LastError
		o.unreadable = f.mailbox.UnreadableFolders
	case f.runErr == nil:
		o.status, o.unreadable = domain.MailboxOK, f.unreadable
		if len(f.unreadable) > 0 && !f.anyReadable {
			o.status, o.lastError = domain.MailboxAccessDenied, "ErrorAccessDenied"
		}
		var denied *domain.AccessError
		if o.status == domain.MailboxAccessDenied {
			denied = &domain.AccessError{Kind: domain.AccessDenied, Code: "ErrorAccessDenied"}
		}
		o.hint = outcomeHint(f, o.status, denied, f.unreadable)
	default:
		// An access problem: recorded on the mailbox with a hint, no hot
		// retries.
		// The code may come from the server: stored bounded and scrubbed.
		o.status = accessStatus(ae.Kind)
		o.hint, o.lastError = outcomeHint(f, o.status, ae, nil), problem(f, o.status, ae)
		o.unreadable = f.mailbox.UnreadableFolders
	}
	if !o.unfinished || reportable(ae, f.mailbox.Status) {
		o.mailbox, o.writeMailbox = mailboxAfter(f, o)
	}
	o.audit = auditResult(o, f.runErr == nil, f.appended, f.checkpointErr != nil)
	switch {
	case f.checkpointErr != nil && domain.IsConflict(f.checkpointErr):
		// The checkpoint moved since this job read it: a concurrent run, or
		// an eventually consistent read that was stale. What this job
		// stored is idempotent; run it again on a fresh read.
		rl := &RetryLater{After: ConflictRetryDelay, Reason: "checkpoint changed since it was read"}
		o.action, o.after, o.reason, o.err = OutcomeRequeued, rl.After, rl.Reason, rl
	case f.checkpointErr != nil:
		o.action, o.after, o.reason, o.err = OutcomeFailed, 0, "", f.checkpointErr
	}
	return o
}

// runAction is what the runtime does after a run that ended with err,
// before the checkpoint's fate is known.
func runAction(err error) outcome {
	ae := asAccess(err)
	var rl *RetryLater
	switch {
	case err == nil:
		return outcome{action: OutcomeOK}
	case ae != nil && ae.Kind == domain.AccessThrottled:
		rl = &RetryLater{After: throttleDelay(ae.RetryAfter), Reason: "throttled by Exchange (" + ae.Code + ")"}
	case errors.As(err, &rl):
		// Out of time: continued in a new job.
	case ae == nil || ae.Kind == domain.AccessTransient:
		return outcome{action: OutcomeFailed, err: err}
	default:
		return outcome{action: OutcomeOK} // recorded on the mailbox
	}
	return outcome{action: OutcomeRequeued, after: rl.After, reason: rl.Reason, err: rl}
}

// throttleDelay is the requeue delay for a server's back-off d: at least
// a second (SQS delays are whole seconds), at most MaxThrottleDelay, and
// DefaultThrottleDelay when the server did not say.
func throttleDelay(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultThrottleDelay
	}
	return min(max(d, time.Second), MaxThrottleDelay)
}

// accessStatus is the mailbox status an access problem leaves.
func accessStatus(k domain.AccessErrorKind) domain.MailboxStatus {
	switch k {
	case domain.AccessAuth:
		return domain.MailboxAuthFailed
	case domain.AccessOutOfScope:
		return domain.MailboxOutOfScope
	case domain.AccessDenied:
		return domain.MailboxAccessDenied
	case domain.AccessMailboxNotFound:
		return domain.MailboxNotFound
	}
	return domain.MailboxError
}

// mailboxAfter is the mailbox record as a finished sync leaves it, and
// whether it must be written: when what an admin sees of it changed, when
// a successful sync delivered changes (a consumer reading the feed must
// find lastSync at that sync: the sync wrote at least one change, so one
// more write is cheap), or when a successful sync finds its LastSync older
// than f.refresh (a mailbox with nothing new costs no write per job).
func mailboxAfter(f syncFacts, o outcome) (domain.Mailbox, bool) {
	m := f.mailbox
	m.Status, m.Hint, m.LastError, m.UnreadableFolders = o.status, o.hint, o.lastError, o.unreadable
	m.EffectiveMode = recordedMode(m.EffectiveMode, f.mode, f.fellBack, o.status)
	synced := o.status == domain.MailboxOK && f.runErr == nil
	// Changes count once their checkpoint is saved: a job whose checkpoint
	// was not saved runs again and delivers them (again) then.
	delivered := f.appended > 0 && f.checkpointErr == nil
	if mailboxSame(m, f.mailbox) && !(synced && (delivered || f.now.Sub(f.mailbox.LastSync) >= f.refresh)) {
		return m, false
	}
	if synced {
		m.LastSync = f.now
	}
	m.UpdatedAt = f.now
	return m, true
}

// reportable: an unfinished sync's failure that the mailbox record shows
// at once: Exchange throttled or answered with a transient failure, and
// the record shows no problem that only an admin can fix.
func reportable(ae *domain.AccessError, current domain.MailboxStatus) bool {
	if ae == nil || (ae.Kind != domain.AccessThrottled && ae.Kind != domain.AccessTransient) {
		return false
	}
	return !current.NeedsAdmin()
}

// outcomeHint is the fix hint a sync writes on a mailbox: the text is
// owned by Hint (hints.go), which the access check uses too, so an admin
// reads the same words whichever ran last. unreadable lists the selected
// folders the account may not read (only after a sync that ran to its end).
func outcomeHint(f syncFacts, status domain.MailboxStatus, ae *domain.AccessError, unreadable []string) string {
	return Hint(hintFacts(f, status, ae, unreadable))
}

// problem is a failed sync's lastError (Problem, in hints.go): what went
// wrong, from text that may quote the server, so stored bounded and
// scrubbed.
func problem(f syncFacts, status domain.MailboxStatus, ae *domain.AccessError) string {
	return redact.Text(Problem(hintFacts(f, status, ae, nil)), redact.MaxDetail)
}

func hintFacts(f syncFacts, status domain.MailboxStatus, ae *domain.AccessError, unreadable []string) HintFacts {
	h := HintFacts{
		Status: status, Mode: f.mode, FellBack: f.fellBack, AllowFallback: f.allowFallback,
		Unreadable: unreadable, Mailbox: f.mailbox.Address, URL: f.url, Account: f.account,
		TenantID: f.tenantID, Protocol: f.protocol,
	}
	if ae != nil {
		h.Kind, h.Code, h.RetryAfter, h.Folder, h.Detail = ae.Kind, ae.Code, ae.RetryAfter, ae.Folder, ae.Detail
	}
	return h
}

// outcomeOf reads back, from the error SyncMailbox returned, what the
// runtime does with the job: nil is done, a *RetryLater comes back after
// its delay, a rejected job (IsRejectedJob) is dropped, any other error
// comes back when the queue redelivers it. reason says why it comes back.
func outcomeOf(err error) (o SyncOutcome, after time.Duration, reason string) {
	var rl *RetryLater
	switch {
	case err == nil:
		return OutcomeOK, 0, ""
	case errors.As(err, &rl):
		return OutcomeRequeued, rl.After, rl.Reason
	case IsRejectedJob(err):
		return OutcomeRejected, 0, ""
	}
	return OutcomeFailed, 0, "failed: " + err.Error()
}

// facts gathers what happened in the run for decideOutcome.
func (r *syncRun) facts(runErr error) syncFacts {
	return syncFacts{
		runErr: runErr, mailbox: r.mbox, tenantID: r.tenant.ID, allowFallback: r.tenant.AllowFallback,
		mode: r.ref.Mode, fellBack: r.res.FellBack, unreadable: r.unreadableNames(), anyReadable: r.anyReadable(),
		appended: r.res.Appended, now: r.s.now(), refresh: r.s.lastSyncRefresh(),
		protocol: r.tenant.ProtocolOf(), url: cmp.Or(r.ref.EWSURL, r.tenant.EWSURL), account: r.account,
	}
}

// recordMailbox writes the sync's fields of m (decided by decideOutcome)
// onto the mailbox record.
func (r *syncRun) recordMailbox(ctx context.Context, m domain.Mailbox) {
	// The job's copy of the record may be seconds old (a snapshot read for
	// a whole job): write the sync's fields onto the record as it is now,
	// so an admin's change made meanwhile (an access mode or URL override)
	// is kept, and a mailbox deleted meanwhile is not brought back.
	fresh, err := r.s.Store.GetMailbox(ctx, r.tenant.ID, m.Address)
	if domain.IsNotFound(err) {
		r.s.logger().Info("sync: mailbox deleted during its sync; status not recorded", "tenantId", r.tenant.ID, "mailbox", m.Address)
		return
	}
	if err != nil {
		r.s.logger().Error("sync: recording mailbox status", "tenantId", r.tenant.ID, "mailbox", m.Address, "error", err.Error())
		return
	}
	fresh.Status, fresh.Hint, fresh.LastError, fresh.UnreadableFolders = m.Status, m.Hint, m.LastError, m.UnreadableFolders
	fresh.EffectiveMode, fresh.UpdatedAt = m.EffectiveMode, m.UpdatedAt
	if m.LastSync.After(fresh.LastSync) {
		fresh.LastSync = m.LastSync
	}
	if err := r.s.Store.PutMailbox(ctx, fresh); err != nil {
		r.s.logger().Error("sync: recording mailbox status", "tenantId", r.tenant.ID, "mailbox", m.Address, "error", err.Error())
	}
}

func mailboxSame(a, b domain.Mailbox) bool {
	return a.Status == b.Status && a.Hint == b.Hint && a.LastError == b.LastError &&
		a.EffectiveMode == b.EffectiveMode && slices.Equal(a.UnreadableFolders, b.UnreadableFolders)
}
