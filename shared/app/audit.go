package app

import (
	"context"
	"log/slog"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// audit records accesses made on a tenant's behalf. A failure to write the
// trail is logged, not returned: the access has already happened and the
// caller's result is still true.
func (s *Tenants) audit(ctx context.Context, t domain.Tenant, operation string, reps ...domain.AccessReport) {
	if len(reps) == 0 {
		return
	}
	now := s.now()
	reqID := RequestID(ctx)
	entries := make([]domain.AuditEntry, 0, len(reps))
	for _, r := range reps {
		mode := r.Mode
		if mode == "" {
			mode = t.AccessMode
		}
		entries = append(entries, domain.AuditEntry{
			TenantID:   t.ID,
			Mailbox:    r.Mailbox,
			Operation:  operation,
			AccessMode: mode,
			Result:     string(r.Status),
			At:         now,
			RequestID:  reqID,
		})
	}
	const batch = 100
	for len(entries) > 0 {
		n := min(batch, len(entries))
		if err := s.Store.AppendAudit(ctx, entries[:n]...); err != nil {
			s.logger(ctx).Error("audit: append failed", "tenantId", t.ID, "operation", operation, "entries", n, "error", err.Error())
		}
		entries = entries[n:]
	}
}

// ListAudit pages through a tenant's audit trail.
func (s *Tenants) ListAudit(ctx context.Context, tenantID, cursor string, limit int) ([]domain.AuditEntry, string, error) {
	if err := ValidateTenantID(tenantID); err != nil {
		return nil, "", err
	}
	if err := ValidateCursor(cursor); err != nil {
		return nil, "", err
	}
	limit, verr := ValidateLimit(limit)
	if verr != nil {
		return nil, "", verr
	}
	if _, err := s.Get(ctx, tenantID); err != nil {
		return nil, "", err
	}
	es, next, err := s.Store.ListAudit(ctx, tenantID, cursor, limit)
	if err != nil {
		return nil, "", pageErr(err, "reading the audit trail")
	}
	out := es[:0]
	for _, e := range es {
		if e.TenantID == tenantID {
			out = append(out, e)
		}
	}
	return out, next, nil
}

// auditRead records one scheduling read (availability, rooms); a failure
// to write it is logged, not returned (the read has happened).
func auditRead(ctx context.Context, st domain.AuditStore, clock domain.Clock, log *slog.Logger, e domain.AuditEntry) {
	if clock == nil {
		clock = domain.SystemClock{}
	}
	e.At, e.RequestID = clock.Now().UTC(), RequestID(ctx)
	if err := st.AppendAudit(ctx, e); err != nil {
		log.Error("audit: append failed", "tenantId", e.TenantID, "operation", e.Operation, "error", err.Error())
	}
}
