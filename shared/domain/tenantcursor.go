package domain

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"strings"
)

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

func tenantsCheck(scope, payload string) string {
	// An empty tenant id cannot collide with an item listing's check.
	return listCheck("", "", "tenants\x00"+scope, payload)
}

// EncodeTenantsCursor is the cursor of a tenant listing in scope that goes
// on at store cursor storeCursor or after tenant id after.
func EncodeTenantsCursor(scope, storeCursor, after string) string {
	b, _ := json.Marshal(tenantsCursor{Store: storeCursor, After: after})
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + tenantsCheck(scope, p)
}

// DecodeTenantsCursor reads a tenant listing cursor of scope; a malformed
// one or one from another scope is CodeInvalid.
func DecodeTenantsCursor(c, scope string) (storeCursor, after string, err error) {
	bad := Invalid("cursor", "cursor is not one this tenant listing returned (it may come from another caller or from before the caller's grants changed); list again without a cursor")
	p, check, ok := strings.Cut(c, ".")
	if !ok || subtle.ConstantTimeCompare([]byte(check), []byte(tenantsCheck(scope, p))) != 1 {
		return "", "", bad
	}
	b, derr := base64.RawURLEncoding.DecodeString(p)
	var tc tenantsCursor
	if derr != nil || json.Unmarshal(b, &tc) != nil || (tc.Store == "") == (tc.After == "") {
		return "", "", bad
	}
	return tc.Store, tc.After, nil
}
