package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
)

// The initial sync (domain.ItemStore.StartInitialSync).
//
// A mailbox in its initial sync carries attribute ini on its fence item
// (B#<tenant>#<address> / G, items.go). ApplyChanges reads the fence item
// in the BatchGetItem it makes anyway (one more key, 1 RRU) and, while ini
// is there, takes no tenant numbers and writes no tenant feed entries: the
// transaction touches the mailbox partition only, plus the mailbox head's
// ADD (in the tenant partition, one per chunk). Every transaction's
// ConditionCheck on the fence item also requires the mode it was planned
// under (ini present, or absent), so a chunk planned before the mode
// changed fails and is re-planned (the lost-race path).
//
// MarkMailboxSynced removes ini and puts the mailboxSynced entry under a
// fresh tenant number in one transaction, conditioned on ini being there
// (so a second call, a redelivered job's, appends nothing) and on the
// tenant fence (tf) being below the number: a tenant listing that found
// the mailbox in its initial sync skipped it, and the announcement must
// come after that listing's position.

const initialAttr = "ini"

// StartInitialSync sets ini unless the mailbox is registered: a transaction
// of a ConditionCheck on the mailbox record (absent) and the fence item's
// update, so no add that lost a race re-opens an announced mailbox. The
// same transaction makes the mailbox feed head (its generation, if absent),
// the record PurgeTenant finds a mailbox partition by: an add that fails
// after this, and is never retried, leaves nothing a purge cannot find.
func (s *Store) StartInitialSync(ctx context.Context, tenantID, mailbox string) error {
	if err := checkTenantID(tenantID); err != nil {
		return err
	}
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{ConditionCheck: &types.ConditionCheck{TableName: s.table, Key: key(tenantPK(tenantID), mailboxPrefix+mailbox),
			ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Update: &types.Update{TableName: s.table, Key: fenceKey(tenantID, mailbox),
			UpdateExpression:          aws.String("SET #ini = :t"),
			ExpressionAttributeNames:  map[string]string{"#ini": initialAttr},
			ExpressionAttributeValues: item{":t": &types.AttributeValueMemberBOOL{Value: true}}}},
		{Update: &types.Update{TableName: s.table, Key: mailboxHead(tenantID, mailbox),
			UpdateExpression:          aws.String("SET #g = if_not_exists(#g, :g)"),
			ExpressionAttributeNames:  map[string]string{"#g": "gen"},
			ExpressionAttributeValues: item{":g": str(storeplan.NewFeedGeneration())}}},
	}})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) && len(tce.CancellationReasons) > 0 && aws.ToString(tce.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
		return nil // registered
	}
	if err != nil {
		return fmt.Errorf("dynamostore: start the initial sync: %w", err)
	}
	return nil
}

// InInitialSync reads the fence item (strongly consistent).
func (s *Store) InInitialSync(ctx context.Context, tenantID, mailbox string) (bool, error) {
	if err := checkTenantID(tenantID); err != nil {
		return false, err
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.table, Key: fenceKey(tenantID, mailbox),
		ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("#ini"), ExpressionAttributeNames: map[string]string{"#ini": initialAttr}})
	if err != nil {
		return false, fmt.Errorf("dynamostore: read the initial sync mark: %w", err)
	}
	_, ok := out.Item[initialAttr]
	return ok, nil
}

// MarkMailboxSynced appends the announcement and ends the initial sync.
func (s *Store) MarkMailboxSynced(ctx context.Context, tenantID, mailbox string) (bool, error) {
	if err := checkTenantID(tenantID); err != nil {
		return false, err
	}
	tpk := tenantPK(tenantID)
	for attempt := 1; attempt <= casAttempts; attempt++ {
		// Read first: the common call (a redelivered job, a mailbox
		// stored before initial syncs existed) takes no number.
		initial, err := s.InInitialSync(ctx, tenantID, mailbox)
		if err != nil || !initial {
			return false, err
		}
		seq, err := s.allocate(ctx, tenantHead(tenantID), 1)
		if err != nil {
			return false, err
		}
		now := s.clock.Now().UTC()
		ch := domain.Change{TenantID: tenantID, Mailbox: mailbox, Kind: domain.ChangeMailboxSynced, At: now}
		entry, err := s.feedEntry(tpk, seq, "t"+strconv.FormatInt(seq, 10), ch)
		if err != nil {
			return false, err
		}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: s.table, Item: entry, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
			{Update: &types.Update{TableName: s.table, Key: fenceKey(tenantID, mailbox),
				UpdateExpression:          aws.String("REMOVE #ini"),
				ConditionExpression:       aws.String("attribute_exists(#ini) AND (attribute_not_exists(#tf) OR #tf < :t)"),
				ExpressionAttributeNames:  map[string]string{"#ini": initialAttr, "#tf": "tf"},
				ExpressionAttributeValues: item{":t": num(seq)}}},
		}})
		if err == nil {
			return true, nil
		}
		var tce *types.TransactionCanceledException
		var tconf *types.TransactionConflictException
		if !errors.As(err, &tce) && !errors.As(err, &tconf) {
			return false, fmt.Errorf("dynamostore: announce the mailbox: %w", err)
		}
		// Announced meanwhile, a fence above the number, or a reader
		// closed it as a gap: close it and look again.
		s.closeGaps(ctx, tpk, seq, 1)
	}
	return false, &domain.Error{Code: domain.CodeUnavailable,
		Message: fmt.Sprintf("mailbox %s is being changed concurrently; try again", mailbox), Err: errLostRace}
}
