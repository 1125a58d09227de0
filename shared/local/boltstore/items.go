package boltstore

import (
	"bytes"
	"context"
	"encoding/json"

	bolt "go.etcd.io/bbolt"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
)

// Listing for bootstrap and resync (domain.ItemLister). Write transactions
// are serialized and the feed's numbers are taken inside them, so every
// change numbered at or before the head a read transaction sees is
// committed: the head needs no fence here.

// FeedPosition returns the cursor of the mailbox feed's head. The mailbox
// feeds share the tenant feed's numbering, so that is the tenant's last
// number.
func (s *Store) FeedPosition(_ context.Context, tenantID, mailbox string) (string, error) {
	if err := checkTenantID(tenantID); err != nil {
		return "", err
	}
	cursor := ""
	err := s.db.View(func(tx *bolt.Tx) error {
		feed := tenantBucket(tx, tenantID, bFeed)
		if feed == nil || feed.Sequence() == 0 {
			return nil
		}
		gen := string(tx.Bucket(tenantBucketName(tenantID)).Get(kFeedGen))
		if gen == "" {
			return nil
		}
		cursor = storeplan.EncodeFeedCursor(tenantID, mailbox, gen, feed.Sequence())
		return nil
	})
	return cursor, err
}

// ListItems walks the mailbox's items in id order and returns the live
// ones of the kind asked for.
func (s *Store) ListItems(_ context.Context, q domain.ItemQuery) ([]domain.Item, string, error) {
	if err := checkTenantID(q.TenantID); err != nil {
		return nil, "", err
	}
	limit := storeplan.Limit(q.Limit)
	var out []domain.Item
	next, last := "", ""
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tenantBucket(tx, q.TenantID, bItems)
		if b == nil {
			return nil
		}
		prefix := join(q.Mailbox, nil)
		from := join(q.Mailbox, []byte(q.After))
		c := b.Cursor()
		k, v := c.Seek(from)
		if q.After != "" && bytes.Equal(k, from) {
			k, v = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(out) == limit {
				next = last
				return nil
			}
			var si storedItem
			if err := json.Unmarshal(v, &si); err != nil {
				return &domain.CorruptRecordError{Record: "item", TenantID: q.TenantID, Key: string(k), Err: err}
			}
			if si.Deleted || si.Item == nil || (q.Kind != "" && si.Item.Kind != q.Kind) {
				continue
			}
			out = append(out, *si.Item)
			last = string(k[len(prefix):])
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// ForgetItems deletes the mailbox's items, immutable-id index entries and
// recovery ids in one transaction.
func (s *Store) ForgetItems(_ context.Context, tenantID, mailbox string) error {
	if err := checkTenantID(tenantID); err != nil {
		return err
	}
	prefix := join(mailbox, nil)
	names := [][]byte{bItems, bAliases, bSeen}
	// keys collects what to delete (a bolt cursor must not delete under
	// itself).
	keys := func(tx *bolt.Tx, name []byte) [][]byte {
		b := tenantBucket(tx, tenantID, name)
		if b == nil {
			return nil
		}
		var out [][]byte
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			out = append(out, append([]byte(nil), k...))
		}
		return out
	}
	// Nothing stored (the common case when a mailbox is added): no write
	// transaction, so no fsync.
	empty := true
	if err := s.db.View(func(tx *bolt.Tx) error {
		for _, name := range names {
			if len(keys(tx, name)) > 0 {
				empty = false
			}
		}
		return nil
	}); err != nil || empty {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range names {
			for _, k := range keys(tx, name) {
				if err := tenantBucket(tx, tenantID, name).Delete(k); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// TenantFeedPosition returns the cursor of the tenant feed's head.
func (s *Store) TenantFeedPosition(ctx context.Context, tenantID string) (string, error) {
	return s.FeedPosition(ctx, tenantID, "")
}

// FenceMailbox has nothing to do: every number at or before a head a read
// transaction saw is committed (see above).
func (s *Store) FenceMailbox(_ context.Context, tenantID, _, _ string) error {
	return checkTenantID(tenantID)
}
