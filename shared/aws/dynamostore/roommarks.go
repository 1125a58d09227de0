package dynamostore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Room marks (a room meeting's check-in or release) live in the tenant
// partition, so PurgeTenant deletes them:
//
//	T#<tenantID>  C#<room>#<itemID>  d, ttl   the mark (d = JSON), expiring after the meeting's end plus a week
//
// ttl is the expiry in epoch seconds and also the live test (TTL deletion
// runs days late). The first mark of a meeting stands: a check-in and a
// release race on one conditional PutItem.

var _ domain.RoomMarkStore = (*Store)(nil)

func roomMarkSK(room, itemID string) string { return "C#" + room + "#" + itemID }

func checkRoomMark(tenantID, room, itemID string) error {
	if err := checkTenantID(tenantID); err != nil {
		return err
	}
	if room == "" || itemID == "" {
		return errors.New("dynamostore: a room mark needs a room and an item id")
	}
	return nil
}

// PutRoomMark stores m with one PutItem conditioned on no live mark; when
// one stands, a strongly consistent GetItem reads it.
func (s *Store) PutRoomMark(ctx context.Context, m domain.RoomMark) (domain.RoomMark, bool, error) {
	if err := checkRoomMark(m.TenantID, m.Room, m.ItemID); err != nil {
		return m, false, err
	}
	d, err := json.Marshal(m)
	if err != nil {
		return m, false, err
	}
	it := key(tenantPK(m.TenantID), roomMarkSK(m.Room, m.ItemID))
	it["d"] = str(string(d))
	it["ttl"] = num(jobTTL(m.Expires, 0))
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 s.table,
		Item:                      it,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #ttl <= :now"),
		ExpressionAttributeNames:  map[string]string{"#ttl": "ttl"},
		ExpressionAttributeValues: item{":now": num(s.clock.Now().Unix())},
	})
	if err == nil {
		return m, false, nil
	}
	if !isConditionFailed(err) {
		return m, false, fmt.Errorf("dynamostore: put room mark: %w", err)
	}
	old, found, err := s.GetRoomMark(ctx, m.TenantID, m.Room, m.ItemID)
	if err != nil {
		return m, false, err
	}
	if !found {
		return m, false, fmt.Errorf("dynamostore: put room mark: the mark standing in the way expired meanwhile; try again")
	}
	return old, true, nil
}

// GetRoomMark reads a meeting's mark with one strongly consistent GetItem.
func (s *Store) GetRoomMark(ctx context.Context, tenantID, room, itemID string) (domain.RoomMark, bool, error) {
	if err := checkRoomMark(tenantID, room, itemID); err != nil {
		return domain.RoomMark{}, false, err
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: s.table, Key: key(tenantPK(tenantID), roomMarkSK(room, itemID)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return domain.RoomMark{}, false, fmt.Errorf("dynamostore: read room mark: %w", err)
	}
	if out.Item == nil || getN(out.Item, "ttl") <= s.clock.Now().Unix() {
		return domain.RoomMark{}, false, nil
	}
	var m domain.RoomMark
	if err := json.Unmarshal([]byte(getS(out.Item, "d")), &m); err != nil {
		return domain.RoomMark{}, false, &domain.CorruptRecordError{Record: "room mark", TenantID: tenantID, Key: room, Err: err}
	}
	return m, true, nil
}
