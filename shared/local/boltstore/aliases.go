package boltstore

import (
	bolt "go.etcd.io/bbolt"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
)

// bAliases is the immutable-id index (domain.ItemChange.ImmutableID):
// address 0x00 immutableID → the stored item's id. It sits in the tenant
// bucket, so PurgeTenant drops it with the items; DeleteMailbox keeps it,
// as it keeps the items it points at.
var bAliases = []byte("aliases")

// readForPlan reads what storeplan.PlanIndexed needs: the index entries of
// the batch's immutable ids, then the items of the batch and those the
// index names.
func readForPlan(tx *bolt.Tx, tenantID, mailbox string, items *bolt.Bucket, changes []domain.ItemChange) (map[string]storeplan.ItemState, map[string]string, error) {
	index := map[string]string{}
	// A batch without immutable ids (EWS) does not look for the index.
	if xs := storeplan.ImmutableIDs(changes); len(xs) > 0 {
		ab := tenantBucket(tx, tenantID, bAliases)
		for _, x := range xs {
			if ab == nil {
				break // no index yet
			}
			if v := ab.Get(join(mailbox, []byte(x))); v != nil {
				index[x] = string(v)
			}
		}
	}
	stored := map[string]storeplan.ItemState{}
	for _, id := range storeplan.ItemIDs(changes, index) {
		var si storedItem
		ok, err := get(items, join(mailbox, []byte(id)), &si)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			stored[id] = storeplan.ItemState{Keys: si.Keys, Deleted: si.Deleted, Folder: si.folder(), Kind: si.kind()}
		}
	}
	return stored, index, nil
}

// putAliases writes the index entries the plan made: those its entries
// carry and the others.
func putAliases(tx *bolt.Tx, tenantID, mailbox string, entries []storeplan.Entry, others map[string]string) error {
	aliases := storeplan.EntryAliases(entries)
	if len(others) == 0 && len(aliases) == 0 {
		return nil
	}
	ab, err := tenantBucketRW(tx, tenantID, bAliases)
	if err != nil {
		return err
	}
	for _, m := range []map[string]string{aliases, others} {
		for x, id := range m {
			if err := ab.Put(join(mailbox, []byte(x)), []byte(id)); err != nil {
				return err
			}
		}
	}
	return nil
}
