// sync_audit.go owns the audit entry.

package app

import (
	"context"

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
