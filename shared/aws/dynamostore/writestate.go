package dynamostore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Write states (domain.WriteStateStore) live in the mailbox partition:
//
//	B#<tenantID>#<address>  W#<clientEventID>  v, d   (v = version, d = JSON)
//	T#<tenantID>            W#<address>        -      the mailbox has write states
//
// The pointer in the tenant partition lets PurgeTenant find the mailbox
// partition even when the mailbox was deleted before it was ever synced
// (no feed head). An update is a compare-and-swap on v: read (strongly
// consistent), apply, put on the condition that v is unchanged; a lost
// race re-reads and re-applies. The first write of a state also puts the
// pointer, in the same transaction.

// writesPointerSK is the tenant-partition pointer to a mailbox with write
// states (PurgeTenant reads the address after the prefix).
func writesPointerSK(mailbox string) string { return "W#" + mailbox }

func writeStateKey(tenantID, mailbox, clientEventID string) item {
	return key(mailboxPK(tenantID, mailbox), "W#"+clientEventID)
}

// writeStateRounds bounds the compare-and-swap rounds of one update: the
// writers of one event are few (the API accepting, one writer holding the
// lease), so losing this often means something is wrong.
const writeStateRounds = 10

func (s *Store) readWriteState(ctx context.Context, tenantID, mailbox, clientEventID string) (domain.WriteState, int64, bool, error) {
	var st domain.WriteState
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.table, Key: writeStateKey(tenantID, mailbox, clientEventID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return st, 0, false, fmt.Errorf("dynamostore: read write state: %w", err)
	}
	if out.Item == nil {
		return st, 0, false, nil
	}
	if err := json.Unmarshal(getB(out.Item, "d"), &st); err != nil {
		return st, 0, true, &domain.CorruptRecordError{Record: "write state", TenantID: tenantID, Key: mailbox + "/" + clientEventID, Err: err}
	}
	return st, getN(out.Item, "v"), true, nil
}

// GetWriteState implements domain.WriteStateStore.
func (s *Store) GetWriteState(ctx context.Context, tenantID, mailbox, clientEventID string) (domain.WriteState, error) {
	if err := checkTenantID(tenantID); err != nil {
		return domain.WriteState{}, err
	}
	st, _, found, err := s.readWriteState(ctx, tenantID, mailbox, clientEventID)
	if err != nil {
		return st, err
	}
	if !found {
		return st, domain.ErrNotFound
	}
	return st, nil
}

// UpdateWriteState implements domain.WriteStateStore.
func (s *Store) UpdateWriteState(ctx context.Context, tenantID, mailbox, clientEventID string, fn func(*domain.WriteState) error) (domain.WriteState, error) {
	if err := checkTenantID(tenantID); err != nil {
		return domain.WriteState{}, err
	}
	for round := 1; ; round++ {
		st, v, found, err := s.readWriteState(ctx, tenantID, mailbox, clientEventID)
		if err != nil {
			return st, err
		}
		st.TenantID, st.Mailbox, st.ClientEventID = tenantID, mailbox, clientEventID
		if err := fn(&st); err != nil {
			return st, err
		}
		d, err := json.Marshal(st)
		if err != nil {
			return st, fmt.Errorf("dynamostore: encode write state: %w", err)
		}
		it := writeStateKey(tenantID, mailbox, clientEventID)
		it["v"], it["d"] = num(v+1), bin(d)
		if found {
			_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.table, Item: it,
				ConditionExpression:       aws.String("#v = :v"),
				ExpressionAttributeNames:  map[string]string{"#v": "v"},
				ExpressionAttributeValues: item{":v": num(v)}})
		} else {
			_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{TableName: s.table, Item: it, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
				{Put: &types.Put{TableName: s.table, Item: key(tenantPK(tenantID), writesPointerSK(mailbox))}},
			}})
		}
		if err == nil {
			return st, nil
		}
		var tce *types.TransactionCanceledException
		lost := isConditionFailed(err) ||
			(errors.As(err, &tce) && len(tce.CancellationReasons) > 0 && aws.ToString(tce.CancellationReasons[0].Code) == "ConditionalCheckFailed")
		if !lost {
			return st, fmt.Errorf("dynamostore: write write state: %w", err)
		}
		if round == writeStateRounds {
			return st, &domain.Error{Code: domain.CodeUnavailable, Message: "the event's write state is contended; try again", Err: errors.New("write state compare-and-swap lost too often")}
		}
		if err := pause(ctx, min(round, 4)); err != nil {
			return st, err
		}
	}
}
