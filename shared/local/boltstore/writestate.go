package boltstore

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// bWrites, inside a tenant's bucket, holds the write state of each client
// event: mailbox 0x00 clientEventID → domain.WriteState. It goes with the
// tenant's bucket when the tenant is purged.
var bWrites = []byte("writes")

func writeStateKey(mailbox, clientEventID string) []byte {
	return join(mailbox, []byte(clientEventID))
}

// GetWriteState implements domain.WriteStateStore.
func (s *Store) GetWriteState(_ context.Context, tenantID, mailbox, clientEventID string) (domain.WriteState, error) {
	var st domain.WriteState
	err := s.db.View(func(tx *bolt.Tx) error {
		found, err := getRecord(tenantBucket(tx, tenantID, bWrites), writeStateKey(mailbox, clientEventID), &st, "write state", tenantID)
		if err != nil {
			return err
		}
		if !found {
			return domain.ErrNotFound
		}
		return nil
	})
	return st, err
}

// UpdateWriteState implements domain.WriteStateStore: one bolt write
// transaction, so updates of one event never interleave.
func (s *Store) UpdateWriteState(_ context.Context, tenantID, mailbox, clientEventID string, fn func(*domain.WriteState) error) (domain.WriteState, error) {
	var st domain.WriteState
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tenantBucketRW(tx, tenantID, bWrites)
		if err != nil {
			return err
		}
		k := writeStateKey(mailbox, clientEventID)
		if _, err := getRecord(b, k, &st, "write state", tenantID); err != nil {
			return err
		}
		st.TenantID, st.Mailbox, st.ClientEventID = tenantID, mailbox, clientEventID
		if err := fn(&st); err != nil {
			return err
		}
		return put(b, k, st)
	})
	return st, err
}
