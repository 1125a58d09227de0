package dynamostore

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
)

var _ domain.SyncSnapshotReader = (*Store)(nil)

// GetSyncSnapshots reads the mailbox records and checkpoints of addresses
// with one range Query each, between the first and the last address: a
// Query is billed for the bytes it reads (rounded up to 4 KB once), so ten
// consecutive mailboxes cost about what one GetItem does. Reads are
// eventually consistent with Options.EventuallyConsistentReads.
//
// When the addresses are scattered (a delegate job's every 25th mailbox),
// the range holds many items nobody asked for: each Query stops after
// 2×len(addresses)+10 items and the addresses it did not reach are read
// with BatchGetItem instead, so a job never pays for a tenant's whole
// mailbox list.
func (s *Store) GetSyncSnapshots(ctx context.Context, tenantID string, addresses []string) (map[string]domain.SyncSnapshot, error) {
	if err := checkTenantID(tenantID); err != nil {
		return nil, err
	}
	want, err := storeplan.SnapshotAddresses(addresses)
	if err != nil {
		return nil, err
	}
	snaps := make(map[string]domain.SyncSnapshot, len(want))
	for _, a := range want {
		snaps[a] = domain.SyncSnapshot{State: domain.SyncState{TenantID: tenantID, Mailbox: a}}
	}
	pk := tenantPK(tenantID)
	var rest []item // keys the range queries did not reach
	for _, prefix := range []string{mailboxPrefix, syncStatePrefix} {
		items, unreached, err := s.readRange(ctx, pk, prefix, want)
		if err != nil {
			return nil, fmt.Errorf("dynamostore: read sync snapshots: %w", err)
		}
		for _, it := range items {
			if err := addToSnapshot(snaps, tenantID, it); err != nil {
				return nil, err
			}
		}
		for _, a := range unreached {
			rest = append(rest, key(pk, prefix+a))
		}
	}
	items, err := s.batchGet(ctx, rest, s.strongWorkerReads, "", nil)
	if err != nil {
		return nil, fmt.Errorf("dynamostore: read sync snapshots: %w", err)
	}
	for _, it := range items {
		if err := addToSnapshot(snaps, tenantID, it); err != nil {
			return nil, err
		}
	}
	return snaps, nil
}

// addToSnapshot puts a mailbox record or checkpoint item into the snapshot
// of its address; items of addresses not asked for (read because they lie
// in the queried range) are skipped.
func addToSnapshot(snaps map[string]domain.SyncSnapshot, tenantID string, it item) error {
	sk := getS(it, "sk")
	if len(sk) < 2 {
		return nil
	}
	prefix, address := sk[:2], sk[2:]
	snap, ok := snaps[address]
	if !ok {
		return nil
	}
	switch prefix {
	// A record that does not decode damages its own snapshot only: the
	// worker skips that mailbox and syncs the others.
	case mailboxPrefix:
		m, err := decodeMailbox(it, tenantID)
		if err != nil {
			m, snap.Damaged = domain.DamagedMailbox(tenantID, address, "mailbox record"), err
		}
		snap.Mailbox, snap.Found = m, true
	case syncStatePrefix:
		st, err := decodeSyncState(it, tenantID, address)
		if err != nil && snap.Damaged == nil {
			snap.Damaged = err
		}
		snap.State = st
	}
	snaps[address] = snap
	return nil
}

// readRange queries the items prefix+want[0] .. prefix+want[last] of
// partition pk, stopping after 2×len(want)+10 of them. It returns the items
// read and the addresses of want beyond the last item read when it stopped
// early (none when it read the whole range).
func (s *Store) readRange(ctx context.Context, pk, prefix string, want []string) ([]item, []string, error) {
	budget := 2*len(want) + 10
	in := &dynamodb.QueryInput{
		TableName:              s.table,
		KeyConditionExpression: aws.String("pk = :pk AND sk BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: item{
			":pk": str(pk), ":lo": str(prefix + want[0]), ":hi": str(prefix + want[len(want)-1]),
		},
		ConsistentRead: aws.Bool(s.strongWorkerReads),
	}
	var items []item
	for {
		// Limit bounds the items read (and billed) per request; a page
		// also ends at 1 MB, hence the loop.
		in.Limit = aws.Int32(int32(budget - len(items)))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, nil, err
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil, nil
		}
		if len(items) >= budget {
			last := getS(out.LastEvaluatedKey, "sk")
			from := sort.Search(len(want), func(i int) bool { return prefix+want[i] > last })
			return items, want[from:], nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
