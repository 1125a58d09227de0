package domain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Archive export: for a tenant with Archive on, the MIME of every new
// message the sync stores is written once to object storage (ArchiveStore:
// S3 in AWS, a directory in the local run) and the item in the feed names
// it (Item.ArchiveKey). docs/items.md "Archive export".

// ArchiveSettings is a tenant's archive export setting; zero: off.
type ArchiveSettings struct {
	Enabled bool `json:"enabled,omitempty"`
	// Since is when archiving starts (a tenant-cache period after it was
	// last turned on): messages received from then on are archived, older
	// ones are not (they are not new). Set by the tenant use case, never
	// by a caller.
	Since time.Time `json:"since,omitzero"`
}

// Archives reports whether the tenant archives the message it: archive
// on, a message, received at or after the archive was turned on.
func (t Tenant) Archives(it *Item) bool {
	return t.Archive.Enabled && it != nil && it.Kind == KindMessage &&
		!it.Received.IsZero() && !it.Received.Before(t.Archive.Since)
}

// MaxArchiveBytes is the largest MIME archived (150 MB, Exchange Online's
// largest message); a larger message is skipped and marked
// (Item.ArchiveSkipped = ArchiveSkippedTooLarge).
const MaxArchiveBytes int64 = 150 << 20

// Item.ArchiveSkipped reasons.
const (
	// ArchiveSkippedTooLarge: the MIME is over the archive's size limit.
	ArchiveSkippedTooLarge = "tooLarge"
	// ArchiveSkippedGone: Exchange no longer had the message when its MIME
	// was read (deleted or moved since the sync saw it; its delete, or its
	// create under the new id, follows).
	ArchiveSkippedGone = "gone"
)

// ArchiveKey is the object key of an item's MIME: the tenant, the mailbox
// (lower-cased) and the SHA-256 of the item id in hex (Exchange ids hold
// '/' and '+', and run to hundreds of characters), so the key is the same
// on every delivery and every adapter. The tenant id and the address are
// what the API accepts (no '/' in either).
func ArchiveKey(tenantID, mailbox, itemID string) string {
	h := sha256.Sum256([]byte(itemID))
	return tenantID + "/" + lowerASCII(mailbox) + "/" + hex.EncodeToString(h[:]) + ".eml"
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// ArchiveStore keeps archived MIME, write-once per key.
type ArchiveStore interface {
	// Exists reports whether key is stored (a whole object: writes are
	// atomic).
	Exists(ctx context.Context, key string) (bool, error)
	// Put stores mime under key. A key already stored is left as it is
	// (the first write wins; the same item's MIME is the same message), so
	// a redelivered job may put again.
	Put(ctx context.Context, key string, mime []byte) error
	// DeleteTenant deletes every object of the tenant (every key under
	// "<tenantID>/", ArchiveKey's), for offboarding. Idempotent: a tenant
	// with nothing archived, or already deleted, is done.
	DeleteTenant(ctx context.Context, tenantID string) error
}
