package domain

// Tenant listing cursors (GET /tenants). The listing a caller sees depends
// on its grants (all tenants, or only the ids it may act on), so the
// cursor is bound to that scope: one from another caller's listing, or
// from before the caller's grants changed, is refused instead of skipping
// or repeating tenants. The payload is the store's own cursor (all
// tenants) or the last id listed (a granted set).

type tenantsCursor struct {
	Store string `json:"s,omitempty"`
	After string `json:"a,omitempty"`
}

// tenantsScope: an empty tenant id cannot collide with a tenant's listings.
func tenantsScope(scope string) CursorScope { return CursorScope{"", "", "tenants\x00" + scope} }

// EncodeTenantsCursor is the cursor of a tenant listing in scope that goes
// on at store cursor storeCursor or after tenant id after.
func EncodeTenantsCursor(scope, storeCursor, after string) string {
	return EncodeCursor(tenantsScope(scope), tenantsCursor{Store: storeCursor, After: after})
}

// DecodeTenantsCursor reads a tenant listing cursor of scope; a malformed
// one or one from another scope is CodeInvalid.
func DecodeTenantsCursor(c, scope string) (storeCursor, after string, err error) {
	var tc tenantsCursor
	if !DecodeCursor(c, tenantsScope(scope), &tc) || (tc.Store == "") == (tc.After == "") {
		return "", "", InvalidCursor("tenant listing", "another caller or from before the caller's grants changed")
	}
	return tc.Store, tc.After, nil
}

// Mailbox listing cursors (GET /tenants/{id}/mailboxes): the store's
// cursor, bound to the tenant and the status filter.

type storeCursor struct {
	Store string `json:"s"`
}

func mailboxesScope(tenantID string, status MailboxStatus) CursorScope {
	return CursorScope{tenantID, "", "mailboxes\x00" + string(status)}
}

// EncodeMailboxesCursor wraps store cursor sc of tenantID's mailbox
// listing filtered by status ("" for none); "" stays "" (the last page).
func EncodeMailboxesCursor(tenantID string, status MailboxStatus, sc string) string {
	if sc == "" {
		return ""
	}
	return EncodeCursor(mailboxesScope(tenantID, status), storeCursor{Store: sc})
}

// DecodeMailboxesCursor returns the store cursor inside c ("" for "").
func DecodeMailboxesCursor(c, tenantID string, status MailboxStatus) (string, error) {
	if c == "" {
		return "", nil
	}
	var sc storeCursor
	if !DecodeCursor(c, mailboxesScope(tenantID, status), &sc) || sc.Store == "" {
		return "", InvalidCursor("mailbox listing", "another tenant or another status filter")
	}
	return sc.Store, nil
}
