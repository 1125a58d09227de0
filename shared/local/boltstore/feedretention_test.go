package boltstore

import (
	"context"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// The bolt store really drops expired changes, and a cursor from before a
// dropped change of its own feed is refused; another mailbox's dropped
// change does not touch a mailbox feed's reader.
func TestFeedRetentionDropsAndRefuses(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(storetest.Start)
	s := openTestStore(t, Options{Clock: clock, FeedRetention: 24 * time.Hour})
	const ann, bob = "ann@acme.example", "bob@acme.example"
	apply := func(mbx, id string) {
		t.Helper()
		if _, err := s.ApplyChanges(ctx, "acme", mbx, []domain.ItemChange{storetest.Create(id, "k1")}); err != nil {
			t.Fatal(err)
		}
	}
	read := func(q domain.FeedQuery) ([]domain.Change, error) {
		q.TenantID, q.Limit = "acme", 100
		got, _, err := s.ReadFeed(ctx, q)
		return got, err
	}
	apply(ann, "a1")
	apply(bob, "b1")
	tenantAfterA1 := cursorAt(t, s, "acme", "", 1)
	annAfterA1 := cursorAt(t, s, "acme", ann, 1)
	clock.Advance(25 * time.Hour)
	apply(ann, "a2") // drops a1 and b1

	all, err := read(domain.FeedQuery{})
	if err != nil || len(all) != 1 || all[0].ItemID != "a2" {
		t.Fatalf("from the start: %+v, %v: want only a2 kept", all, err)
	}
	// The tenant feed lost b1 after the cursor: gone.
	if _, err := read(domain.FeedQuery{Cursor: tenantAfterA1}); domain.ErrorCodeOf(err) != domain.CodeGone {
		t.Fatalf("tenant cursor before a dropped change: %v, want CodeGone", err)
	}
	// Ann's feed lost nothing after a1 (b1 is bob's): it reads on.
	got, err := read(domain.FeedQuery{Mailbox: ann, Cursor: annAfterA1})
	if err != nil || len(got) != 1 || got[0].ItemID != "a2" {
		t.Fatalf("ann's feed after a1: %+v, %v: want a2", got, err)
	}
	// Bob's feed from before b1 lost b1: gone; from after it, fine.
	if _, err := read(domain.FeedQuery{Mailbox: bob, Cursor: cursorAt(t, s, "acme", bob, 0)}); domain.ErrorCodeOf(err) != domain.CodeGone {
		t.Fatalf("bob's cursor before b1: %v, want CodeGone", err)
	}
	if got, err := read(domain.FeedQuery{Mailbox: bob, Cursor: cursorAt(t, s, "acme", bob, 2)}); err != nil || len(got) != 0 {
		t.Fatalf("bob's cursor after b1: %+v, %v: want nothing new", got, err)
	}
}

// cursorAt is the cursor of position pos of a feed, as ReadFeed would
// make it.
func cursorAt(t *testing.T, s *Store, tenantID, mailbox string, pos uint64) string {
	t.Helper()
	var gen string
	if err := s.db.View(func(tx *bolt.Tx) error {
		gen = string(tx.Bucket(tenantBucketName(tenantID)).Get(kFeedGen))
		return nil
	}); err != nil || gen == "" {
		t.Fatalf("no feed generation (%v)", err)
	}
	return storeplan.EncodeFeedCursor(tenantID, mailbox, gen, pos)
}
