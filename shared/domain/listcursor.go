package domain

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// Item listing cursors (GET …/items). A listing is read page by page while
// syncs write, and all its pages answer one feed position, the one taken
// before its first page; so the cursor carries the last item id listed and
// that position, with a check over (tenant, mailbox, kind filter, both),
// and is read only by the listing it came from. Like feed cursors they are
// opaque to clients: "<base64url JSON>.<check>".

type listCursor struct {
	After string `json:"a"`
	Feed  string `json:"f,omitempty"`
}

func listCheck(tenantID, mailbox, kind, payload string) string {
	sum := sha256.Sum256([]byte("mailbridge item listing\x00" + tenantID + "\x00" + mailbox + "\x00" + kind + "\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// EncodeListCursor is the cursor of a listing of (tenantID, mailbox, kind)
// that continues after item id after and answers feed position feed.
func EncodeListCursor(tenantID, mailbox, kind, after, feed string) string {
	b, _ := json.Marshal(listCursor{After: after, Feed: feed})
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + listCheck(tenantID, mailbox, kind, p)
}

// DecodeListCursor returns the item id to continue after and the feed
// position of listing cursor c. A cursor that is malformed or from
// another listing (tenant, mailbox or kind filter) is CodeInvalid.
func DecodeListCursor(c, tenantID, mailbox, kind string) (after, feed string, err error) {
	bad := Invalid("cursor", "cursor is not one this listing returned (it may come from another mailbox, tenant or kind filter); list again without a cursor")
	p, check, ok := strings.Cut(c, ".")
	if !ok || subtle.ConstantTimeCompare([]byte(check), []byte(listCheck(tenantID, mailbox, kind, p))) != 1 {
		return "", "", bad
	}
	b, derr := base64.RawURLEncoding.DecodeString(p)
	var lc listCursor
	if derr != nil || json.Unmarshal(b, &lc) != nil || lc.After == "" {
		return "", "", bad
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

// tenantScope stands for "every mailbox" in a tenant listing's check (no
// address is empty).
const tenantScope = ""

// EncodeTenantListCursor is the cursor of a tenant listing at p.
func EncodeTenantListCursor(tenantID, kind string, p TenantListPosition) string {
	b, _ := json.Marshal(p)
	s := base64.RawURLEncoding.EncodeToString(b)
	return s + "." + listCheck(tenantID, tenantScope, "tenant\x00"+kind, s)
}

// DecodeTenantListCursor reads a tenant listing's cursor; one from another
// listing (another tenant, a mailbox's, another kind filter) is
// CodeInvalid.
func DecodeTenantListCursor(c, tenantID, kind string) (TenantListPosition, error) {
	bad := Invalid("cursor", "cursor is not one this listing returned (it may come from another tenant, a mailbox's listing or another kind filter); list again without a cursor")
	s, check, ok := strings.Cut(c, ".")
	if !ok || subtle.ConstantTimeCompare([]byte(check), []byte(listCheck(tenantID, tenantScope, "tenant\x00"+kind, s))) != 1 {
		return TenantListPosition{}, bad
	}
	b, derr := base64.RawURLEncoding.DecodeString(s)
	var p TenantListPosition
	if derr != nil || json.Unmarshal(b, &p) != nil || (p.Mailbox == "" && p.MailboxCursor == "") {
		return TenantListPosition{}, bad
	}
	return p, nil
}
