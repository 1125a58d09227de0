package domain

import (
	"strings"
	"time"
)

// AuditQuery filters and pages ListAudit. Every filter is optional.
type AuditQuery struct {
	Mailbox string // entries about this mailbox (an address)
	// Operation is an operation's name: the entry's operation up to its
	// first space ("calendar.create" matches "calendar.create evt-1").
	Operation string
	Since     time.Time // entries at or after it
	Until     time.Time // entries before it
	Cursor    string    // the store's own cursor
	Limit     int
}

// OperationName is the name of an audit entry's operation: the text
// before its first space (the rest says what it acted on).
func OperationName(op string) string {
	name, _, _ := strings.Cut(op, " ")
	return name
}

// Matches reports whether entry e passes q's filters.
func (q AuditQuery) Matches(e AuditEntry) bool {
	return (q.Mailbox == "" || strings.EqualFold(e.Mailbox, q.Mailbox)) &&
		(q.Operation == "" || OperationName(e.Operation) == q.Operation) &&
		(q.Since.IsZero() || !e.At.Before(q.Since)) &&
		(q.Until.IsZero() || e.At.Before(q.Until))
}

// Audit listing cursors (GET /tenants/{id}/audit): the store's cursor,
// bound to the tenant and every filter.

func auditScope(tenantID string, q AuditQuery) CursorScope {
	t := func(x time.Time) string {
		if x.IsZero() {
			return ""
		}
		return x.UTC().Format(time.RFC3339Nano)
	}
	return CursorScope{tenantID, "", "audit\x00" + strings.ToLower(q.Mailbox) + "\x00" + q.Operation + "\x00" + t(q.Since) + "\x00" + t(q.Until)}
}

// EncodeAuditCursor wraps store cursor sc of the audit listing of
// tenantID filtered as q; "" stays "" (the last page).
func EncodeAuditCursor(tenantID string, q AuditQuery, sc string) string {
	if sc == "" {
		return ""
	}
	return EncodeCursor(auditScope(tenantID, q), storeCursor{Store: sc})
}

// DecodeAuditCursor returns the store cursor inside q.Cursor ("" for "").
func DecodeAuditCursor(tenantID string, q AuditQuery) (string, error) {
	if q.Cursor == "" {
		return "", nil
	}
	var sc storeCursor
	if !DecodeCursor(q.Cursor, auditScope(tenantID, q), &sc) || sc.Store == "" {
		return "", InvalidCursor("audit listing", "another tenant or other filters (mailbox, operation, since, until)")
	}
	return sc.Store, nil
}
