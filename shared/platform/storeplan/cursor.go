package storeplan

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Feed cursors. A position alone (a number) means something in every feed:
// read against another tenant's or mailbox's feed, against a feed that was
// emptied and started again, or past the head, it would silently skip or
// repeat changes (a cursor of 2^64-1 wrapped around to the first change).
// So a cursor carries its position plus a check over (tenant, which feed,
// the feed's generation, position), and is read only against the feed it
// came from. The generation is random, made when the feed starts and kept
// with its head; a feed started again (purged, emptied, a new store) has a
// new one, and since the generation is in no cursor, a cursor for another
// position cannot be made up from one seen.
//
// Format (opaque to clients): "<position>.<check>", the check 96 bits of
// SHA-256, base64url.

// NewFeedGeneration returns a fresh generation for a feed that starts.
func NewFeedGeneration() string { return rand.Text() }

// FeedName names a feed inside a tenant: the tenant feed, or a mailbox's.
func FeedName(mailbox string) string {
	if mailbox == "" {
		return "tenant"
	}
	return "mailbox:" + mailbox
}

func cursorCheck(tenantID, feed, gen string, pos uint64) string {
	sum := sha256.Sum256([]byte("mailbridge feed cursor\x00" + tenantID + "\x00" + feed + "\x00" + gen + "\x00" + strconv.FormatUint(pos, 10)))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// EncodeFeedCursor is the cursor of position pos of a feed.
func EncodeFeedCursor(tenantID, mailbox, gen string, pos uint64) string {
	return strconv.FormatUint(pos, 10) + "." + cursorCheck(tenantID, FeedName(mailbox), gen, pos)
}

// DecodeFeedCursor returns the position of cursor c in the feed (tenantID,
// mailbox) at generation gen, whose head (the last position taken) is head.
// "" is position 0 (the start). A cursor that is malformed, from another
// feed, tenant or generation, or past the head is refused as CodeInvalid
// (field "cursor"): reading from it would skip or repeat changes.
func DecodeFeedCursor(c, tenantID, mailbox, gen string, head uint64) (uint64, error) {
	if c == "" {
		return 0, nil
	}
	bad := domain.Invalid("cursor", "cursor is not one this feed returned (it may come from another feed, or from before the feed was emptied); read the feed again without a cursor")
	p, check, ok := strings.Cut(c, ".")
	if !ok || p == "" || (len(p) > 1 && p[0] == '0') {
		return 0, bad
	}
	pos, err := strconv.ParseUint(p, 10, 64)
	if err != nil || gen == "" || subtle.ConstantTimeCompare([]byte(check), []byte(cursorCheck(tenantID, FeedName(mailbox), gen, pos))) != 1 || pos > head {
		return 0, bad
	}
	return pos, nil
}
