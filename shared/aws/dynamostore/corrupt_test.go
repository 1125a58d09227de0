package dynamostore

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// damager rewrites an item with an attribute of the wrong type, as a hand
// edit in the console or another tool writing the table could.
type damager struct{ s *Store }

func (d damager) update(t *testing.T, pk, sk, attr string, v types.AttributeValue) {
	t.Helper()
	out, err := d.s.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: d.s.table, Key: key(pk, sk), ConsistentRead: new(true)})
	if err != nil || out.Item == nil {
		t.Fatalf("reading %s %s to damage it: %v", pk, sk, err)
	}
	out.Item[attr] = v
	if _, err := d.s.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: d.s.table, Item: out.Item}); err != nil {
		t.Fatal(err)
	}
}

// DamageTenant makes the record's JSON attribute a list.
func (d damager) DamageTenant(t *testing.T, tenantID string) {
	d.update(t, tenantsPK, tenantID, "d", &types.AttributeValueMemberL{Value: []types.AttributeValue{}})
}

// DamageMailbox makes the record's JSON attribute a number.
func (d damager) DamageMailbox(t *testing.T, tenantID, address string) {
	d.update(t, tenantPK(tenantID), mailboxSK(address), "d", &types.AttributeValueMemberN{Value: "12"})
}

// DamageSyncState makes the compressed checkpoint a string.
func (d damager) DamageSyncState(t *testing.T, tenantID, address string) {
	d.update(t, tenantPK(tenantID), syncStateSK(address), "z", &types.AttributeValueMemberS{Value: "not gzip"})
}

func TestContractCorruptRecords(t *testing.T) {
	storetest.RunCorruptRecords(t, func(t *testing.T) (domain.Store, storetest.Damager) {
		s := newTestStore(t, Options{})
		return s, damager{s}
	})
}
