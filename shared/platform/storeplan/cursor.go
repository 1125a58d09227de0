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
// Format: the API's one (domain.EncodeCursor), the payload the position
// ({"p":N}), the scope (tenant, feed, generation). Cursors of the earlier
// "<position>.<check>" form are still read (readers keep cursors across
// an upgrade), never made.

// NewFeedGeneration returns a fresh generation for a feed that starts.
func NewFeedGeneration() string { return rand.Text() }

// FeedName names a feed inside a tenant: the tenant feed, or a mailbox's.
func FeedName(mailbox string) string {
	if mailbox == "" {
		return "tenant"
	}
	return "mailbox:" + mailbox
}

type feedCursor struct {
	Pos *uint64 `json:"p"`
}

func feedScope(tenantID, mailbox, gen string) domain.CursorScope {
	return domain.CursorScope{tenantID, "", "feed\x00" + FeedName(mailbox) + "\x00" + gen}
}

// legacyCheck is the check of the earlier "<position>.<check>" form.
func legacyCheck(tenantID, feed, gen string, pos uint64) string {
	sum := sha256.Sum256([]byte("mailbridge feed cursor\x00" + tenantID + "\x00" + feed + "\x00" + gen + "\x00" + strconv.FormatUint(pos, 10)))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// EncodeFeedCursor is the cursor of position pos of a feed.
func EncodeFeedCursor(tenantID, mailbox, gen string, pos uint64) string {
	return domain.EncodeCursor(feedScope(tenantID, mailbox, gen), feedCursor{Pos: &pos})
}

// DecodeFeedCursor returns the position of cursor c in the feed (tenantID,
// mailbox) at generation gen, whose head (the last position taken) is head.
// "" is position 0 (the start). A cursor that is malformed, from another
// feed, tenant or generation, or past the head is refused as CodeInvalid
// (field "cursor"): reading from it would skip or repeat changes. Whether
// the changes after it are still kept (410) is the store's to say.
func DecodeFeedCursor(c, tenantID, mailbox, gen string, head uint64) (uint64, error) {
	if c == "" {
		return 0, nil
	}
	bad := domain.InvalidCursor("feed", "another feed or tenant, or from before the feed was emptied")
	if gen == "" {
		return 0, bad
	}
	pos, ok := decodeLegacy(c, tenantID, mailbox, gen)
	if !ok {
		var fc feedCursor
		if !domain.DecodeCursor(c, feedScope(tenantID, mailbox, gen), &fc) || fc.Pos == nil {
			return 0, bad
		}
		pos = *fc.Pos
	}
	if pos > head {
		return 0, bad
	}
	return pos, nil
}

// decodeLegacy reads a cursor of the "<position>.<check>" form (a JSON
// payload's base64 starts with "ey", never a digit).
func decodeLegacy(c, tenantID, mailbox, gen string) (uint64, bool) {
	p, check, ok := strings.Cut(c, ".")
	if !ok || p == "" || p[0] < '0' || p[0] > '9' || (len(p) > 1 && p[0] == '0') {
		return 0, false
	}
	pos, err := strconv.ParseUint(p, 10, 64)
	if err != nil || subtle.ConstantTimeCompare([]byte(check), []byte(legacyCheck(tenantID, FeedName(mailbox), gen, pos))) != 1 {
		return 0, false
	}
	return pos, true
}
