package dynamostore

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// A mailbox add that marks the initial sync and then fails for good (never
// retried) must not leave its fence item behind when the tenant is purged:
// offboarding deletes everything of the tenant.
func TestPurgeFindsAnInitialSyncMarkWithoutAMailbox(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	if err := s.StartInitialSync(ctx, "acme", "ann@acme.example"); err != nil {
		t.Fatal(err)
	}
	if err := s.PurgeTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	out, err := s.db.Scan(ctx, &dynamodb.ScanInput{TableName: s.table, ConsistentRead: new(true)})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range out.Items {
		t.Errorf("left after the purge: %s / %s", getS(it, "pk"), getS(it, "sk"))
	}
}
