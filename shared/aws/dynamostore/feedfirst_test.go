package dynamostore

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// A reader that found no feed head, racing the feed's first writer, must
// not hand out cursors of the generation it did not see: the next read
// would refuse them ("not one this feed returned"). The race is staged:
// the first entry lands (number taken) after the head was read as absent.
func TestReadFeedBeforeItsFirstWriteHandsOutNoForeignCursor(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{Clock: storetest.NewClock(storetest.Start), GapTimeout: time.Hour})
	const tenant = "acme"
	// The writer's entry, under number 1, as if its head ADD were not yet
	// visible to the reader's head read.
	entry, err := s.feedEntry(tenantPK(tenant), 1, "t1", domain.Change{TenantID: tenant, Mailbox: "ann@acme.example", Kind: domain.ChangeCreate, ItemID: "a1", At: storetest.Start})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.table, Item: entry}); err != nil {
		t.Fatal(err)
	}
	cs, next, err := s.ReadFeed(ctx, domain.FeedQuery{TenantID: tenant})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 0 || next != "" {
		t.Fatalf("read of a feed without a head: %d changes, cursor %q; want none and the start", len(cs), next)
	}
	// The writer's head ADD lands; the reader goes on from what it got.
	if _, err := s.allocate(ctx, tenantHead(tenant), 1); err != nil {
		t.Fatal(err)
	}
	cs, next, err = s.ReadFeed(ctx, domain.FeedQuery{TenantID: tenant, Cursor: next})
	if err != nil || len(cs) != 1 || cs[0].ItemID != "a1" {
		t.Fatalf("next read: %v, %v; want a1", cs, err)
	}
	if _, _, err := s.ReadFeed(ctx, domain.FeedQuery{TenantID: tenant, Cursor: next}); err != nil {
		t.Fatalf("its cursor is refused: %v", err)
	}
}
