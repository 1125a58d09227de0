package domain

// Item listing cursors (GET …/items). A listing is read page by page while
// syncs write, and all its pages answer one feed position, the one taken
// before its first page; so the cursor carries the last item id listed and
// that position, bound to (tenant, mailbox, kind filter), and is read only
// by the listing it came from. The format is the API's one (cursor.go).

type listCursor struct {
	After string `json:"a"`
	Feed  string `json:"f,omitempty"`
}

func itemListScope(tenantID, mailbox, kind string) CursorScope {
	return CursorScope{tenantID, mailbox, kind}
}

// EncodeListCursor is the cursor of a listing of (tenantID, mailbox, kind)
// that continues after item id after and answers feed position feed.
func EncodeListCursor(tenantID, mailbox, kind, after, feed string) string {
	return EncodeCursor(itemListScope(tenantID, mailbox, kind), listCursor{After: after, Feed: feed})
}

// DecodeListCursor returns the item id to continue after and the feed
// position of listing cursor c. A cursor that is malformed or from
// another listing (tenant, mailbox or kind filter) is CodeInvalid.
func DecodeListCursor(c, tenantID, mailbox, kind string) (after, feed string, err error) {
	var lc listCursor
	if !DecodeCursor(c, itemListScope(tenantID, mailbox, kind), &lc) || lc.After == "" {
		return "", "", InvalidCursor("item listing", "another mailbox, tenant or kind filter")
	}
	return lc.After, lc.Feed, nil
}

// TenantListPosition is where a listing of a whole tenant's items stands:
// the mailbox it is in (empty: move to the next one), the store's mailbox
// listing cursor after that mailbox ("" with a mailbox: it is the last),
// the last item id listed in it, and the tenant feed position the listing
// answers.
type TenantListPosition struct {
	MailboxCursor string `json:"c,omitempty"`
	Mailbox       string `json:"m,omitempty"`
	After         string `json:"a,omitempty"`
	Feed          string `json:"f,omitempty"`
}

// tenantItemScope: "every mailbox" (no address is empty).
func tenantItemScope(tenantID, kind string) CursorScope {
	return CursorScope{tenantID, "", "tenant\x00" + kind}
}

// EncodeTenantListCursor is the cursor of a tenant listing at p.
func EncodeTenantListCursor(tenantID, kind string, p TenantListPosition) string {
	return EncodeCursor(tenantItemScope(tenantID, kind), p)
}

// DecodeTenantListCursor reads a tenant listing's cursor; one from another
// listing (another tenant, a mailbox's, another kind filter) is
// CodeInvalid.
func DecodeTenantListCursor(c, tenantID, kind string) (TenantListPosition, error) {
	var p TenantListPosition
	if !DecodeCursor(c, tenantItemScope(tenantID, kind), &p) || (p.Mailbox == "" && p.MailboxCursor == "") {
		return TenantListPosition{}, InvalidCursor("item listing", "another tenant, a mailbox's listing or another kind filter")
	}
	return p, nil
}
