package boltstore

import (
	"bytes"
	"context"
	"encoding/json"

	bolt "go.etcd.io/bbolt"

	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
)

// bSeen holds the ids a recovery resync has seen, one key per id:
// address 0x00 folderID 0x00 resync 0x00 itemID → nothing.
var bSeen = []byte("seen")

func checkRecovery(tenantID, mailbox, folderID string) error {
	if err := checkTenantID(tenantID); err != nil {
		return err
	}
	return storeplan.CheckFolderRef(mailbox, folderID)
}

// folderItem is the part of a stored item the listing reads.
type folderItem struct {
	Deleted bool `json:"deleted,omitempty"`
	Item    *struct {
		FolderID string `json:"folderId"`
	} `json:"item,omitempty"`
}

// ListFolderItemIDs walks the mailbox's items in id order and keeps those
// of folderID; a tombstone has no item, so it is never listed.
func (s *Store) ListFolderItemIDs(_ context.Context, tenantID, mailbox, folderID, cursor string, limit int) ([]string, string, error) {
	if err := checkRecovery(tenantID, mailbox, folderID); err != nil {
		return nil, "", err
	}
	after := ""
	if cursor != "" {
		var err error
		if after, err = decodeKeyCursor(cursor); err != nil {
			return nil, "", err
		}
	}
	limit = storeplan.Limit(limit)
	var ids []string
	next := ""
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tenantBucket(tx, tenantID, bItems)
		if b == nil {
			return nil
		}
		prefix := join(mailbox, nil)
		c := b.Cursor()
		from := join(mailbox, []byte(after))
		k, v := c.Seek(from)
		if after != "" && bytes.Equal(k, from) {
			k, v = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(ids) == limit {
				next = encodeKeyCursor(ids[len(ids)-1])
				return nil
			}
			var it folderItem
			if err := json.Unmarshal(v, &it); err != nil {
				return err
			}
			if !it.Deleted && it.Item != nil && it.Item.FolderID == folderID {
				ids = append(ids, string(k[len(prefix):]))
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return ids, next, nil
}

func seenPrefix(mailbox, folderID, resync string) []byte {
	p := join(mailbox, []byte(folderID))
	if resync == "" {
		return append(p, 0)
	}
	return append(join(string(p), []byte(resync)), 0)
}

// AddSeenIDs stores one key per id, so adding an id again is a no-op.
func (s *Store) AddSeenIDs(_ context.Context, tenantID, mailbox, folderID, resync string, ids []string) error {
	if err := checkRecovery(tenantID, mailbox, folderID); err != nil {
		return err
	}
	if err := storeplan.CheckResync(resync); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	prefix := seenPrefix(mailbox, folderID, resync)
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tenantBucketRW(tx, tenantID, bSeen)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := b.Put(append(bytes.Clone(prefix), id...), nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// SeenIDs returns the ids added under (folderID, resync).
func (s *Store) SeenIDs(_ context.Context, tenantID, mailbox, folderID, resync string) ([]string, error) {
	if err := checkRecovery(tenantID, mailbox, folderID); err != nil {
		return nil, err
	}
	if err := storeplan.CheckResync(resync); err != nil {
		return nil, err
	}
	prefix := seenPrefix(mailbox, folderID, resync)
	var ids []string
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tenantBucket(tx, tenantID, bSeen)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			ids = append(ids, string(k[len(prefix):]))
		}
		return nil
	})
	return ids, err
}

// DropSeenIDs deletes the seen ids of every resync of folderID.
func (s *Store) DropSeenIDs(_ context.Context, tenantID, mailbox, folderID string) error {
	if err := checkRecovery(tenantID, mailbox, folderID); err != nil {
		return err
	}
	prefix := seenPrefix(mailbox, folderID, "")
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tenantBucket(tx, tenantID, bSeen)
		if b == nil {
			return nil
		}
		var keys [][]byte
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}
