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

func itemIDs(cs []domain.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ItemID
	}
	return out
}

func msg(id string) domain.ItemChange {
	return domain.ItemChange{Kind: domain.ChangeCreate, ItemID: id, ChangeKey: "k1", Item: &domain.Item{ID: id, Kind: domain.KindMessage, Subject: id}}
}

// A writer that took feed numbers and then stalled or crashed leaves a gap.
// Readers must not jump it while it is young, must close it once it is old,
// and the stalled writer, should it wake up, must not land in the past: its
// transaction fails and it re-plans under new numbers.
func TestFeedGap(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(storetest.Start)
	s := newTestStore(t, Options{Clock: clock, GapTimeout: 10 * time.Second})
	const tenant, mbx = "acme", "ann@acme.example"
	apply := func(id string) {
		t.Helper()
		n, err := s.ApplyChanges(ctx, tenant, mbx, []domain.ItemChange{msg(id)})
		if err != nil || n != 1 {
			t.Fatalf("apply %s: appended %d, %v", id, n, err)
		}
	}
	read := func(q domain.FeedQuery) ([]string, string) {
		t.Helper()
		cs, next, err := s.ReadFeed(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return itemIDs(cs), next
	}
	queries := map[string]domain.FeedQuery{
		"tenant feed":  {TenantID: tenant},
		"mailbox feed": {TenantID: tenant, Mailbox: mbx},
	}

	apply("a1")
	// The stalled writer takes two numbers in each feed.
	tStale, err := s.allocate(ctx, tenantHead(tenant), 2)
	if err != nil {
		t.Fatal(err)
	}
	mStale, err := s.allocate(ctx, mailboxHead(tenant, mbx), 2)
	if err != nil {
		t.Fatal(err)
	}
	apply("a2")

	cursors := map[string]string{}
	for name, q := range queries {
		got, next := read(q)
		if !slices.Equal(got, []string{"a1"}) {
			t.Fatalf("%s with a young gap: %v, want [a1] (the reader must wait before the gap)", name, got)
		}
		cursors[name] = next
	}

	clock.Advance(11 * time.Second)
	for name, q := range queries {
		got, _ := read(q)
		if !slices.Equal(got, []string{"a1", "a2"}) {
			t.Fatalf("%s after the gap timed out: %v, want [a1 a2]", name, got)
		}
	}

	// The stalled writer wakes up and tries to commit under its old numbers.
	entries, _ := storeplan.Plan([]domain.ItemChange{msg("a3")}, nil)
	_, err = s.writeChunk(ctx, tenant, mbx, map[string]itemRec{}, map[string]string{}, entries, tStale, mStale)
	if !errors.Is(err, errLostRace) {
		t.Fatalf("late commit under closed numbers: %v, want errLostRace", err)
	}
	// Its job is redelivered and applies the change under new numbers.
	apply("a3")

	for name, q := range queries {
		got, _ := read(q)
		if !slices.Equal(got, []string{"a1", "a2", "a3"}) {
			t.Fatalf("%s at the end: %v, want [a1 a2 a3]", name, got)
		}
		q.Cursor = cursors[name]
		got, _ = read(q)
		if !slices.Equal(got, []string{"a2", "a3"}) {
			t.Fatalf("%s from the cursor taken before the gap: %v, want [a2 a3]", name, got)
		}
	}
}

// A transaction that loses (here: the item changed under it) writes
// nothing and closes its numbers at once, so readers do not wait.
func TestLostRaceClosesItsNumbers(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(storetest.Start)
	s := newTestStore(t, Options{Clock: clock, GapTimeout: time.Hour})
	const tenant, mbx = "acme", "ann@acme.example"
	if _, err := s.ApplyChanges(ctx, tenant, mbx, []domain.ItemChange{msg("a1")}); err != nil {
		t.Fatal(err)
	}
	// Plan against a stale view in which a1 does not exist yet.
	entries, _ := storeplan.Plan([]domain.ItemChange{msg("a1")}, nil)
	if _, err := s.commitChunk(ctx, tenant, mbx, false, map[string]itemRec{}, map[string]string{}, entries); !errors.Is(err, errLostRace) {
		t.Fatalf("stale commit: %v, want errLostRace", err)
	}
	if _, err := s.ApplyChanges(ctx, tenant, mbx, []domain.ItemChange{msg("a2")}); err != nil {
		t.Fatal(err)
	}
	cs, _, err := s.ReadFeed(ctx, domain.FeedQuery{TenantID: tenant})
	if err != nil {
		t.Fatal(err)
	}
	if got := itemIDs(cs); !slices.Equal(got, []string{"a1", "a2"}) {
		t.Fatalf("feed %v, want [a1 a2] without waiting an hour", got)
	}
}
