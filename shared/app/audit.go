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

// ListAudit pages through a tenant's audit trail, filtered by q (its
// Cursor is the one a previous page returned, bound to the tenant and the
// filters). A page may be short, even empty, with a next cursor when the
// filters left out what the store read.
func (s *Tenants) ListAudit(ctx context.Context, tenantID string, q domain.AuditQuery) ([]domain.AuditEntry, string, error) {
	if err := ValidateTenantID(tenantID); err != nil {
		return nil, "", err
	}
	if err := validateAuditQuery(&q); err != nil {
		return nil, "", err
	}
	if err := ValidateCursor(q.Cursor); err != nil {
		return nil, "", err
	}
	limit, verr := ValidateLimit(q.Limit)
	if verr != nil {
		return nil, "", verr
	}
	if _, err := s.Get(ctx, tenantID); err != nil {
		return nil, "", err
	}
	sq := q
	sq.Limit = limit
	var err error
	if sq.Cursor, err = domain.DecodeAuditCursor(tenantID, q); err != nil {
		return nil, "", err
	}
	es, next, err := s.Store.ListAudit(ctx, tenantID, sq)
	if err != nil {
		return nil, "", pageErr(err, "reading the audit trail")
	}
	out := es[:0]
	for _, e := range es {
		if e.TenantID == tenantID {
			out = append(out, e)
		}
	}
	return out, domain.EncodeAuditCursor(tenantID, q, next), nil
}

// validateAuditQuery checks the audit listing's filters and normalises the
// mailbox.
func validateAuditQuery(q *domain.AuditQuery) *domain.Error {
	if q.Mailbox != "" {
		addr, err := NormalizeAddress("mailbox", q.Mailbox)
		if err != nil {
			return err
		}
		q.Mailbox = addr
	}
	if q.Operation != "" && !validOperationName(q.Operation) {
		return domain.Invalid("operation", "operation must be an operation's name, like sync, verify or calendar.create (letters, digits, '.', '_' and '-', at most %d)", maxOperationNameLen)
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return domain.Invalid("until", "until must be later than since")
	}
	return nil
}

const maxOperationNameLen = 64

func validOperationName(s string) bool {
	if len(s) > maxOperationNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
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
