package dynamostore

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// A chunk planned while the mailbox was in its initial sync (mailbox feed
// only) that commits after MarkMailboxSynced would be a change missing
// from the tenant feed after the announcement: its ConditionCheck makes it
// fail, and the re-planned write lands in both feeds. And the other way: a
// chunk planned for both feeds fails once the mailbox is (again) in its
// initial sync.
func TestInitialSyncModeChangeFailsAStalePlan(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{Clock: storetest.NewClock(storetest.Start), GapTimeout: time.Hour})
	const tenant, mbx = "acme", "ann@acme.example"
	if err := s.StartInitialSync(ctx, tenant, mbx); err != nil {
		t.Fatal(err)
	}
	_, _, initial, err := s.readItems(ctx, tenant, mbx, []domain.ItemChange{msg("a1")})
	if err != nil || !initial {
		t.Fatalf("readItems: initial %v, %v; want the initial sync", initial, err)
	}
	if _, err := s.MarkMailboxSynced(ctx, tenant, mbx); err != nil {
		t.Fatal(err)
	}
	entries, _ := storeplan.Plan([]domain.ItemChange{msg("a1")}, nil)
	if _, err := s.commitChunk(ctx, tenant, mbx, true, map[string]itemRec{}, map[string]string{}, entries); !errors.Is(err, errLostRace) {
		t.Fatalf("a chunk of the initial sync committed after the announcement: %v, want errLostRace", err)
	}
	if n, err := s.ApplyChanges(ctx, tenant, mbx, []domain.ItemChange{msg("a1")}); err != nil || n != 1 {
		t.Fatalf("re-planned: appended %d, %v", n, err)
	}
	cs, _, err := s.ReadFeed(ctx, domain.FeedQuery{TenantID: tenant})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Kind != domain.ChangeMailboxSynced || cs[1].ItemID != "a1" {
		t.Fatalf("tenant feed %+v, want the announcement, then a1", cs)
	}

	// Removed and added again: a chunk planned for both feeds fails.
	if err := s.StartInitialSync(ctx, tenant, mbx); err != nil {
		t.Fatal(err)
	}
	entries, _ = storeplan.Plan([]domain.ItemChange{msg("a2")}, nil)
	if _, err := s.commitChunk(ctx, tenant, mbx, false, map[string]itemRec{}, map[string]string{}, entries); !errors.Is(err, errLostRace) {
		t.Fatalf("a chunk for both feeds committed in the initial sync: %v, want errLostRace", err)
	}
}

// A tenant listing that found the mailbox in its initial sync skipped it,
// having raised the mailbox's tenant fence to its position. An
// announcement holding a tenant number at or before that position must not
// commit (the listing's reader would never see it): it closes its number
// and takes a later one.
func TestAnnouncementLandsAfterTheTenantFence(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{Clock: storetest.NewClock(storetest.Start), GapTimeout: time.Hour})
	const tenant, mbx = "acme", "ann@acme.example"
	if _, err := s.ApplyChanges(ctx, tenant, "bob@acme.example", []domain.ItemChange{msg("b1")}); err != nil {
		t.Fatal(err)
	}
	if err := s.StartInitialSync(ctx, tenant, mbx); err != nil {
		t.Fatal(err)
	}
	// Two numbers taken by writers of other mailboxes that have not
	// committed; the listing's position is the head, past them.
	if _, err := s.allocate(ctx, tenantHead(tenant), 2); err != nil {
		t.Fatal(err)
	}
	pos, err := s.TenantFeedPosition(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FenceMailbox(ctx, tenant, mbx, pos); err != nil {
		t.Fatal(err)
	}
	// The fence stands two numbers further than the head: as if the
	// listing's position were read after two more numbers were taken
	// that the announcement's first tries now get.
	if _, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: s.table, Key: fenceKey(tenant, mbx),
		UpdateExpression: aws.String("ADD tf :two"), ExpressionAttributeValues: item{":two": num(2)}}); err != nil {
		t.Fatal(err)
	}
	ok, err := s.MarkMailboxSynced(ctx, tenant, mbx)
	if err != nil || !ok {
		t.Fatalf("MarkMailboxSynced: %v, %v", ok, err)
	}
	_, head, err := s.feedHead(ctx, tenantHead(tenant))
	if err != nil {
		t.Fatal(err)
	}
	if head != 6 { // b1, two in flight, two closed tries, the announcement
		t.Fatalf("tenant head %d, want 6: the announcement took a number past the fence", head)
	}
	cs, _, err := s.ReadFeed(ctx, domain.FeedQuery{TenantID: tenant, Cursor: pos})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		got = append(got, string(c.Kind)+" "+c.Mailbox)
	}
	if want := []string{"mailboxSynced " + mbx}; !slices.Equal(got, want) {
		t.Fatalf("tenant feed after the listing's position %v, want %v", got, want)
	}
}
