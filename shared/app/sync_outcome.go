// sync_outcome.go owns the outcome.

package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// finish saves progress, records the outcome on the mailbox and in the
// audit trail, and decides what the runtime does with the job.
func (r *syncRun) finish(ctx context.Context, runErr error) error {
	res := r.res
	ae := asAccess(runErr)
	var rl *RetryLater
	switch {
	case runErr == nil:
		r.st.Resume = nil
	case ae != nil && ae.Kind == domain.AccessThrottled:
		rl = &RetryLater{After: throttleDelay(ae.RetryAfter), Reason: "throttled by Exchange (" + ae.Code + ")"}
	default:
		errors.As(runErr, &rl)
	}
	comesBack := rl != nil || (runErr != nil && (ae == nil || ae.Kind == domain.AccessTransient))
	if comesBack {
		// The same job comes back: keep what this tick has done.
		r.st.Resume = &domain.SyncResume{Tick: r.job.Tick, HierarchyDone: r.hierDone, DoneFolders: r.done}
		if r.cur != nil {
			r.st.Resume.Folder, r.st.Resume.PageState, r.st.Resume.PageDone, r.st.Resume.Pending =
				r.cur.Folder, r.cur.PageState, r.cur.PageDone, r.cur.Pending
		}
		if !r.hierDone && len(r.done) == 0 && r.cur == nil {
			r.st.Resume = r.saved.Resume
		}
	} else if runErr != nil {
		r.st.Resume = nil // access problems: the next tick starts afresh
	}
	var ckptErr error
	if r.access != nil {
		ckptErr = r.checkpoint(ctx)
	}
	if ckptErr == nil {
		r.dropSeenIDs(ctx)
	}

	status, hint, detail := r.outcome(runErr)
	res.Status = status
	r.synced = runErr == nil
	switch {
	case comesBack:
		// Unfinished: what this run saw says nothing new about the mailbox.
		res.Unreadable = r.mbox.UnreadableFolders
	case runErr == nil:
		res.Unreadable = r.unreadableNames()
		r.recordMailbox(ctx, status, hint, detail, res.Unreadable)
	default:
		res.Unreadable = r.mbox.UnreadableFolders
		r.recordMailbox(ctx, status, hint, detail, res.Unreadable)
	}

	result := string(status)
	switch {
	case rl != nil:
		result = "retry later: " + rl.Reason
	case runErr != nil && (ae == nil || ae.Kind == domain.AccessTransient):
		result = "error: retried"
	default:
		if detail != "" {
			result += ": " + detail
		}
		if runErr == nil {
			result = fmt.Sprintf("%s: %d changes appended", status, res.Appended)
		}
	}
	if ckptErr != nil {
		result += " (checkpoint not saved: retried)"
	}
	r.s.audit(ctx, res, r.tenant, r.mbox.Address, r.ref.Mode, result)

	switch {
	case ckptErr != nil && domain.IsConflict(ckptErr):
		// The checkpoint moved since this job read it: a concurrent run, or
		// an eventually consistent read that was stale. What this job
		// stored is idempotent; run it again on a fresh read.
		return &RetryLater{After: ConflictRetryDelay, Reason: "checkpoint changed since it was read"}
	case ckptErr != nil:
		return ckptErr
	case rl != nil:
		return rl
	case runErr == nil:
		return nil
	case ae != nil && ae.Kind != domain.AccessTransient:
		// Recorded on the mailbox with a hint: no hot retries.
		return nil
	}
	return runErr
}

// outcome maps a job's error to the mailbox status, a fix hint and what
// Exchange said.
func (r *syncRun) outcome(err error) (domain.MailboxStatus, string, string) {
	if err == nil {
		if names := r.unreadableNames(); len(names) > 0 && !r.anyReadable() {
			return domain.MailboxAccessDenied, "grant the service account FullAccess on the mailbox, or share the folders " + strings.Join(names, ", ") + " with it", "ErrorAccessDenied"
		}
		if names := r.unreadableNames(); len(names) > 0 {
			return domain.MailboxOK, fmt.Sprintf("share the folders %s with the service account (folder permission Reviewer or higher); they are synced from scratch once readable", strings.Join(names, ", ")), ""
		}
		return domain.MailboxOK, "", ""
	}
	ae := asAccess(err)
	if ae == nil || ae.Kind == domain.AccessThrottled || ae.Kind == domain.AccessTransient {
		// Throttled, out of time, or trouble on our side: the job comes
		// back, and the mailbox is as it was as far as we know.
		return r.mbox.Status, r.mbox.Hint, r.mbox.LastError
	}
	detail := ae.Code
	switch ae.Kind {
	case domain.AccessAuth:
		return domain.MailboxAuthFailed, fmt.Sprintf("Exchange rejected the service account's credentials: rotate them with PUT /tenants/%s/credentials", r.tenant.ID), detail
	case domain.AccessOutOfScope:
		hint := "the mailbox is outside the service account's impersonation scope: add it to the management scope (on-premises) or the application access policy's scope group (Exchange Online)"
		if !r.tenant.AllowFallback {
			hint += ", or allow fallback to delegate access and grant the service account permission on the mailbox"
		}
		return domain.MailboxOutOfScope, hint, detail
	case domain.AccessDenied:
		return domain.MailboxAccessDenied, "grant the service account FullAccess on the mailbox, or share the folders to sync with it", detail
	case domain.AccessMailboxNotFound:
		return domain.MailboxNotFound, fmt.Sprintf("Exchange has no mailbox %s: check the address, or remove it with DELETE /tenants/%s/mailboxes/%s", r.mbox.Address, r.tenant.ID, r.mbox.Address), detail
	}
	return domain.MailboxError, "Exchange refused the request; see lastError and run POST /tenants/" + r.tenant.ID + "/verify?mailbox=" + r.mbox.Address, detail
}

func throttleDelay(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultThrottleDelay
	}
	return min(max(d, time.Second), MaxThrottleDelay)
}

// recordMailbox writes the mailbox record only when what an admin sees of
// it changed: a steady mailbox costs no write per job.
func (r *syncRun) recordMailbox(ctx context.Context, status domain.MailboxStatus, hint, detail string, unreadable []string) {
	m := r.mbox
	m.Status, m.Hint, m.LastError = status, hint, detail
	m.UnreadableFolders = unreadable
	if r.res.FellBack || (status == domain.MailboxOK && m.EffectiveMode != r.ref.Mode) {
		m.EffectiveMode = r.ref.Mode
	}
	now := r.s.now()
	synced := status == domain.MailboxOK && r.synced
	if mailboxSame(m, r.mbox) && !(synced && now.Sub(r.mbox.LastSync) >= r.s.lastSyncRefresh()) {
		return
	}
	if synced {
		m.LastSync = now
	}
	m.UpdatedAt = now
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
