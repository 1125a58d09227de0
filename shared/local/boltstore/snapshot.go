package boltstore

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
)

var _ domain.SyncSnapshotReader = (*Store)(nil)

// GetSyncSnapshots reads the mailbox records and checkpoints of addresses
// in one read transaction, so the snapshots are of one moment (a file read
// costs nothing per request here; the port exists for DynamoDB's bill).
func (s *Store) GetSyncSnapshots(_ context.Context, tenantID string, addresses []string) (map[string]domain.SyncSnapshot, error) {
	if err := checkTenantID(tenantID); err != nil {
		return nil, err
	}
	want, err := storeplan.SnapshotAddresses(addresses)
	if err != nil {
		return nil, err
	}
	snaps := make(map[string]domain.SyncSnapshot, len(want))
	err = s.db.View(func(tx *bolt.Tx) error {
		mailboxes, states := tenantBucket(tx, tenantID, bMailboxes), tenantBucket(tx, tenantID, bSync)
		for _, a := range want {
			// A record that does not decode damages its own snapshot
			// only: the worker skips that mailbox and syncs the others.
			var snap domain.SyncSnapshot
			found, err := getRecord(mailboxes, []byte(a), &snap.Mailbox, "mailbox", tenantID)
			if err != nil {
				snap.Mailbox, snap.Damaged = domain.DamagedMailbox(tenantID, a, "mailbox record"), err
			}
			snap.Found = found
			stored, err := getRecord(states, []byte(a), &snap.State, "sync state", tenantID)
			if err != nil && snap.Damaged == nil {
				snap.Damaged = err
			}
			if !stored || err != nil {
				snap.State = domain.SyncState{TenantID: tenantID, Mailbox: a}
			}
			snaps[a] = snap
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return snaps, nil
}
