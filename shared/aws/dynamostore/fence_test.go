package dynamostore

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// A writer that took its feed numbers before a listing read the head, and
// commits after the listing read the items, would be in neither the listing
// nor the feed after the listing's position. The fence FeedPosition raises
// makes that commit fail; the writer's retry lands after the position.
func TestFeedPositionFencesWritersInFlight(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(storetest.Start)
	s := newTestStore(t, Options{Clock: clock, GapTimeout: time.Hour})
	const tenant, mbx = "acme", "ann@acme.example"
	if _, err := s.ApplyChanges(ctx, tenant, mbx, []domain.ItemChange{msg("a1")}); err != nil {
		t.Fatal(err)
	}
	// The writer in flight: numbers taken, nothing written yet.
	tFirst, err := s.allocate(ctx, tenantHead(tenant), 1)
	if err != nil {
		t.Fatal(err)
	}
	mFirst, err := s.allocate(ctx, mailboxHead(tenant, mbx), 1)
	if err != nil {
		t.Fatal(err)
	}
	pos, err := s.FeedPosition(ctx, tenant, mbx)
	if err != nil {
		t.Fatal(err)
	}
	listed, _, err := s.ListItems(ctx, domain.ItemQuery{TenantID: tenant, Mailbox: mbx})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0].ID != "a1" {
		t.Fatalf("listing %v, want [a1]", listed)
	}
	entries, _ := storeplan.Plan([]domain.ItemChange{msg("a2")}, nil)
	_, err = s.writeChunk(ctx, tenant, mbx, map[string]itemRec{}, map[string]string{}, entries, tFirst, mFirst)
	if !errors.Is(err, errLostRace) {
		t.Fatalf("commit under numbers at or before the listing's position: %v, want errLostRace", err)
	}
	// The writer re-plans (ApplyChanges does) and lands after the position.
	if _, err := s.ApplyChanges(ctx, tenant, mbx, []domain.ItemChange{msg("a2")}); err != nil {
		t.Fatal(err)
	}
	cs, _, err := s.ReadFeed(ctx, domain.FeedQuery{TenantID: tenant, Mailbox: mbx, Cursor: pos})
	if err != nil {
		t.Fatal(err)
	}
	if got := itemIDs(cs); !slices.Equal(got, []string{"a2"}) {
		t.Fatalf("feed after the listing's position %v, want [a2]", got)
	}
	// Writers after the fence are not held up.
	if n, err := s.ApplyChanges(ctx, tenant, mbx, []domain.ItemChange{msg("a3")}); err != nil || n != 1 {
		t.Fatalf("a later write: appended %d, %v", n, err)
	}
}

// The same for a listing of the whole tenant: a writer that took its tenant
// feed number before the listing's tenant position (its mailbox number may
// come later) cannot commit once the listing fenced its mailbox, and its
// retry lands in the tenant feed after the position.
func TestFenceMailboxFencesTenantNumbers(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(storetest.Start)
	s := newTestStore(t, Options{Clock: clock, GapTimeout: time.Hour})
	const tenant, mbx = "acme", "ann@acme.example"
	if _, err := s.ApplyChanges(ctx, tenant, mbx, []domain.ItemChange{msg("a1")}); err != nil {
		t.Fatal(err)
	}
	tFirst, err := s.allocate(ctx, tenantHead(tenant), 1)
	if err != nil {
		t.Fatal(err)
	}
	pos, err := s.TenantFeedPosition(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	mFirst, err := s.allocate(ctx, mailboxHead(tenant, mbx), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FenceMailbox(ctx, tenant, mbx, pos); err != nil {
		t.Fatal(err)
	}
	entries, _ := storeplan.Plan([]domain.ItemChange{msg("a2")}, nil)
	_, err = s.writeChunk(ctx, tenant, mbx, map[string]itemRec{}, map[string]string{}, entries, tFirst, mFirst)
	if !errors.Is(err, errLostRace) {
		t.Fatalf("commit under a tenant number at or before the listing's position: %v, want errLostRace", err)
	}
	if _, err := s.ApplyChanges(ctx, tenant, mbx, []domain.ItemChange{msg("a2")}); err != nil {
		t.Fatal(err)
	}
	cs, _, err := s.ReadFeed(ctx, domain.FeedQuery{TenantID: tenant, Cursor: pos})
	if err != nil {
		t.Fatal(err)
	}
	if got := itemIDs(cs); !slices.Equal(got, []string{"a2"}) {
		t.Fatalf("tenant feed after the listing's position %v, want [a2]", got)
	}
	// Another mailbox of the tenant is not fenced.
	if n, err := s.ApplyChanges(ctx, tenant, "bob@acme.example", []domain.ItemChange{msg("b1")}); err != nil || n != 1 {
		t.Fatalf("another mailbox's write: appended %d, %v", n, err)
	}
}
