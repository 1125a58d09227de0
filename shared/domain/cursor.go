package domain

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// API cursors: the one format of every cursor the API hands out (feeds,
// item listings, tenant, mailbox and audit listings):
//
//	"<base64url JSON payload>.<check>"
//
// The check is 96 bits of SHA-256 over the listing's scope (the tenant,
// mailbox, filters and, for a feed, its generation: whatever makes two
// listings different) and the payload, so a cursor is read only by the
// listing it came from: one from another tenant, filter or feed, or
// edited, is refused instead of skipping or repeating entries. The payload
// is not secret and the check has no key: it binds, it does not hide
// (docs/security.md). Each listing owns its payload type and scope; this
// file owns the format.

// CursorScope names one listing: every part binds a cursor to it. The
// first three parts of the item listings' scopes are (tenant, mailbox,
// filter); the others keep that shape with an empty mailbox and a label
// first in the filter, so no two listings' scopes are equal.
type CursorScope []string

func cursorCheck(scope CursorScope, payload string) string {
	sum := sha256.Sum256([]byte("mailbridge item listing\x00" + strings.Join(scope, "\x00") + "\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// EncodeCursor is the cursor of payload (a JSON-marshalable value) in the
// listing scope names.
func EncodeCursor(scope CursorScope, payload any) string {
	b, err := json.Marshal(payload)
	if err != nil {
		panic("domain: cursor payload does not marshal: " + err.Error())
	}
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + cursorCheck(scope, p)
}

// DecodeCursor reads cursor c of the listing scope names into payload (a
// pointer) and reports whether c is one that listing returned: well
// formed, its check matching and its payload decoding. The caller checks
// the payload's own fields and answers its listing's error.
func DecodeCursor(c string, scope CursorScope, payload any) bool {
	p, check, ok := strings.Cut(c, ".")
	if !ok || p == "" || subtle.ConstantTimeCompare([]byte(check), []byte(cursorCheck(scope, p))) != 1 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	return err == nil && json.Unmarshal(b, payload) == nil
}

// InvalidCursor is the error of a cursor its listing did not return: what
// says which listing ("mailbox listing"), from names where such a cursor
// may come from. The remedy is always to start again without a cursor.
func InvalidCursor(what, from string) *Error {
	return Invalid("cursor", "cursor is not one this %s returned (it may come from %s, or have been edited); %s again without a cursor", what, from, startVerb(what))
}

func startVerb(what string) string {
	if strings.HasSuffix(what, "feed") {
		return "read the feed"
	}
	return "list"
}
