// sync_audit.go owns a sync's audit entry: one per job (a refused job
// included), saying what the sync came to, written at once or, with
// Syncer.DeferAudit, handed to the batch worker to write with its batch's
// other entries.

package app

import (
	"context"
	"fmt"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// audit writes one entry, or with DeferAudit hands it to the caller in
// res. A failure to write is logged, not returned: the access has happened
// and the job's result stands.
func (s *Syncer) audit(ctx context.Context, res *SyncResult, t domain.Tenant, mailbox string, mode domain.AccessMode, result string) {
	e := domain.AuditEntry{TenantID: t.ID, Mailbox: mailbox, Operation: "sync", AccessMode: mode, Result: result, At: s.now()}
	if s.DeferAudit {
		res.Audit = append(res.Audit, e)
		return
	}
	if err := s.Store.AppendAudit(ctx, e); err != nil {
		s.logger().Error("sync: audit append failed", "tenantId", t.ID, "mailbox", mailbox, "error", err.Error())
	}
}

// auditResult is the audit entry's result for a run's outcome o (before
// the checkpoint's fate changes its action): synced says the run ended
// without error, appended how many feed entries it appended, and
// checkpointFailed that the checkpoint could not be saved.
func auditResult(o outcome, synced bool, appended int, checkpointFailed bool) string {
	result := string(o.status)
	switch {
	case o.action == OutcomeRequeued:
		result = "retry later: " + o.reason
	case o.action == OutcomeFailed:
		result = "error: retried"
	case synced:
		result = fmt.Sprintf("%s: %d changes appended", o.status, appended)
	case o.lastError != "":
		result += ": " + o.lastError
	}
	if checkpointFailed {
		result += " (checkpoint not saved: retried)"
	}
	return result
}
