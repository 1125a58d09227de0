package dynamostore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
)

// Listing for bootstrap and resync (domain.ItemLister).
//
// A writer takes its feed numbers (atomic ADD on the head) before its
// transaction commits, so a number at or before the head may belong to a
// change not yet stored: a listing that read the head and then the items
// could miss that change in both. FeedPosition therefore raises the
// mailbox's fence (B#<tenant>#<address> / G, attribute f) to the head it
// read, and every ApplyChanges transaction carries a ConditionCheck that
// its first mailbox number is above the fence. A writer holding numbers at
// or below the fence fails as a whole, closes its numbers and appends
// under new ones (the lost-race path), after the position the listing
// returned. Cost: the ConditionCheck is one more transactional action per
// chunk (billed like a 1 KB write, 2 WRU); the fence item is written only
// by listings.
//
// A listing of the whole tenant answers a tenant feed position instead,
// taken before its first page. The same item holds a second fence, tf, in
// tenant feed numbers: FenceMailbox raises it to that position before the
// listing reads the mailbox's items, and the writer's ConditionCheck also
// requires its first tenant number to be above it. A writer of that mailbox
// holding a tenant number at or before the position has either committed
// before the mailbox is listed (it is in the listing) or fails (and appends
// after the position). The fence is per mailbox, so writers of different
// mailboxes never touch a common item (transactions on one item conflict).

const fenceSK = "G"

func fenceKey(tenantID, mailbox string) item { return key(mailboxPK(tenantID, mailbox), fenceSK) }

// fenceCheck is the condition of a chunk whose first mailbox number is
// mfirst and first tenant number tfirst (0: a chunk of the initial sync,
// which takes none). It also holds the chunk to the mode it was planned
// under: in the initial sync or not (initialsync.go).
func (s *Store) fenceCheck(tenantID, mailbox string, mfirst, tfirst int64) *types.ConditionCheck {
	if tfirst == 0 {
		return &types.ConditionCheck{
			TableName:                 s.table,
			Key:                       fenceKey(tenantID, mailbox),
			ConditionExpression:       aws.String("(attribute_not_exists(#f) OR #f < :mfirst) AND attribute_exists(#ini)"),
			ExpressionAttributeNames:  map[string]string{"#f": "f", "#ini": initialAttr},
			ExpressionAttributeValues: item{":mfirst": num(mfirst)},
		}
	}
	return &types.ConditionCheck{
		TableName:                 s.table,
		Key:                       fenceKey(tenantID, mailbox),
		ConditionExpression:       aws.String("(attribute_not_exists(#f) OR #f < :mfirst) AND (attribute_not_exists(#tf) OR #tf < :tfirst) AND attribute_not_exists(#ini)"),
		ExpressionAttributeNames:  map[string]string{"#f": "f", "#tf": "tf", "#ini": initialAttr},
		ExpressionAttributeValues: item{":mfirst": num(mfirst), ":tfirst": num(tfirst)},
	}
}

// TenantFeedPosition reads the tenant feed's head.
func (s *Store) TenantFeedPosition(ctx context.Context, tenantID string) (string, error) {
	if err := checkTenantID(tenantID); err != nil {
		return "", err
	}
	gen, last, err := s.feedHead(ctx, tenantHead(tenantID))
	if err != nil || gen == "" || last <= 0 {
		return "", err
	}
	return storeplan.EncodeFeedCursor(tenantID, "", gen, uint64(last)), nil
}

// FenceMailbox raises the mailbox's tenant-number fence to the position of
// tenantCursor.
func (s *Store) FenceMailbox(ctx context.Context, tenantID, mailbox, tenantCursor string) error {
	if err := checkTenantID(tenantID); err != nil {
		return err
	}
	if tenantCursor == "" {
		return nil
	}
	gen, last, err := s.feedHead(ctx, tenantHead(tenantID))
	if err != nil {
		return err
	}
	pos, err := storeplan.DecodeFeedCursor(tenantCursor, tenantID, "", gen, uint64(max(last, 0)))
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 s.table,
		Key:                       fenceKey(tenantID, mailbox),
		UpdateExpression:          aws.String("SET #tf = :t"),
		ConditionExpression:       aws.String("attribute_not_exists(#tf) OR #tf < :t"),
		ExpressionAttributeNames:  map[string]string{"#tf": "tf"},
		ExpressionAttributeValues: item{":t": num(int64(pos))},
	})
	if err != nil && !isConditionFailed(err) { // failed: a higher fence stands
		return fmt.Errorf("dynamostore: raise the tenant feed fence: %w", err)
	}
	return nil
}

// FeedPosition reads the mailbox feed's head and raises the fence to it.
func (s *Store) FeedPosition(ctx context.Context, tenantID, mailbox string) (string, error) {
	if err := checkTenantID(tenantID); err != nil {
		return "", err
	}
	gen, last, err := s.feedHead(ctx, mailboxHead(tenantID, mailbox))
	if err != nil {
		return "", err
	}
	if gen == "" || last <= 0 {
		// No number taken yet: the feed's start misses nothing.
		return "", nil
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 s.table,
		Key:                       fenceKey(tenantID, mailbox),
		UpdateExpression:          aws.String("SET #f = :h"),
		ConditionExpression:       aws.String("attribute_not_exists(#f) OR #f < :h"),
		ExpressionAttributeNames:  map[string]string{"#f": "f"},
		ExpressionAttributeValues: item{":h": num(last)},
	})
	if err != nil && !isConditionFailed(err) { // failed: a higher fence stands
		return "", fmt.Errorf("dynamostore: raise the feed fence: %w", err)
	}
	return storeplan.EncodeFeedCursor(tenantID, mailbox, gen, uint64(last)), nil
}

// ListItems queries the mailbox partition's I# range (strongly consistent,
// so it sees every change before the fence) and keeps live items of the
// kind asked for; the kind test runs on the item JSON, so reads are billed
// for the items skipped too.
func (s *Store) ListItems(ctx context.Context, q domain.ItemQuery) ([]domain.Item, string, error) {
	if err := checkTenantID(q.TenantID); err != nil {
		return nil, "", err
	}
	mpk := mailboxPK(q.TenantID, q.Mailbox)
	limit := storeplan.Limit(q.Limit)
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :i)"),
		FilterExpression:          aws.String("attribute_exists(#d) AND (attribute_not_exists(#del) OR #del = :f)"),
		ProjectionExpression:      aws.String("sk, #d"),
		ExpressionAttributeNames:  map[string]string{"#del": "del", "#d": "d"},
		ExpressionAttributeValues: item{":pk": str(mpk), ":i": str("I#"), ":f": &types.AttributeValueMemberBOOL{Value: false}},
		Limit:                     aws.Int32(int32(min(limit+1, 1000))),
		ConsistentRead:            aws.Bool(true),
	}
	if q.After != "" {
		in.ExclusiveStartKey = key(mpk, "I#"+q.After)
	}
	var out []domain.Item
	next, last := "", ""
	var derr error
	err := s.queryAll(ctx, in, func(it item) bool {
		var x domain.Item
		if err := json.Unmarshal([]byte(getS(it, "d")), &x); err != nil {
			derr = &domain.CorruptRecordError{Record: "item", TenantID: q.TenantID, Key: getS(it, "sk"), Err: err}
			return false
		}
		if q.Kind != "" && x.Kind != q.Kind {
			return true
		}
		if len(out) == limit {
			next = last
			return false
		}
		out = append(out, x)
		last = getS(it, "sk")[len("I#"):]
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, "", fmt.Errorf("dynamostore: list items: %w", err)
	}
	return out, next, nil
}

// ForgetItems deletes the mailbox partition's items (I#), immutable-id
// index (X#) and recovery ids (R#); the feed entries and the fence stay.
// A writer racing it loses its item condition and re-plans against the
// emptied partition.
func (s *Store) ForgetItems(ctx context.Context, tenantID, mailbox string) error {
	if err := checkTenantID(tenantID); err != nil {
		return err
	}
	mpk := mailboxPK(tenantID, mailbox)
	for _, prefix := range []string{"I#", aliasPrefix, "R#"} {
		if err := s.deleteItems(ctx, mpk, prefix); err != nil {
			return fmt.Errorf("dynamostore: forget items: %w", err)
		}
	}
	return nil
}
