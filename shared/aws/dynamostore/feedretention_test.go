package dynamostore

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// What DynamoDB's TTL deletion leaves behind, done by hand (DynamoDB Local
// deletes by the real clock): a cursor before a deleted change is refused,
// a read from the start begins at the oldest change still stored without
// writing gap markers for the deleted numbers, and entries carry the TTL.
func TestFeedRetentionAfterTTLDeletion(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(storetest.Start)
	s := newTestStore(t, Options{Clock: clock, FeedRetention: 24 * time.Hour})
	const ann = "ann@acme.example"
	apply := func(id string) {
		t.Helper()
		if _, err := s.ApplyChanges(ctx, "acme", ann, []domain.ItemChange{storetest.Create(id, "k1")}); err != nil {
			t.Fatal(err)
		}
	}
	deleteSeqs := func(ns ...int64) {
		t.Helper()
		for _, pk := range []string{tenantPK("acme"), mailboxPK("acme", ann)} {
			for _, n := range ns {
				if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.table, Key: key(pk, seqSK(n))}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	apply("a1")
	apply("a2")
	apply("a3")
	first, _, err := s.ReadFeed(ctx, domain.FeedQuery{TenantID: "acme", Limit: 1})
	if err != nil || len(first) != 1 {
		t.Fatalf("first read: %v %v", first, err)
	}
	got, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.table, Key: key(tenantPK("acme"), seqSK(1))})
	if err != nil {
		t.Fatal(err)
	}
	if want := storetest.Start.Add(24*time.Hour).Unix() + 1; getN(got.Item, "ttl") != want {
		t.Fatalf("feed entry ttl %d, want %d", getN(got.Item, "ttl"), want)
	}

	clock.Advance(25 * time.Hour)
	apply("a4")
	// TTL deletes a2 and a3 of both feeds; a1, the reader's cursor, stays
	// for now (deletion is not in order).
	deleteSeqs(2, 3)
	// A later entry younger than the gap timeout may have a writer in
	// flight before it: the read waits rather than judge.
	q := domain.FeedQuery{TenantID: "acme", Cursor: first[0].Seq, Limit: 10}
	if got, next, err := s.ReadFeed(ctx, q); err != nil || len(got) != 0 || next != q.Cursor {
		t.Fatalf("right after a4: %v %q %v, want nothing yet", got, next, err)
	}
	clock.Advance(time.Minute)
	for _, q := range []domain.FeedQuery{{TenantID: "acme", Cursor: first[0].Seq}, {TenantID: "acme", Mailbox: ann, Cursor: cursorAt(t, s, "acme", ann, 1)}} {
		q.Limit = 10
		if _, _, err := s.ReadFeed(ctx, q); domain.ErrorCodeOf(err) != domain.CodeGone {
			t.Fatalf("%+v: %v, want CodeGone: changes after the cursor were deleted", q, err)
		}
	}

	// From the start, once a1 is deleted too: the read begins at a4, the
	// oldest change still stored.
	deleteSeqs(1)
	for _, q := range []domain.FeedQuery{{TenantID: "acme"}, {TenantID: "acme", Mailbox: ann}} {
		q.Limit = 10
		got, _, err := s.ReadFeed(ctx, q)
		if err != nil || len(got) != 1 || got[0].ItemID != "a4" {
			t.Fatalf("%+v from the start: %+v %v, want a4", q, got, err)
		}
	}
	// Were the oldest stored entry younger than the gap timeout, numbers
	// before it might still be in flight: the read waits.
	clock.Advance(25 * time.Hour)
	apply("a5")
	deleteSeqs(4)
	if got, next, err := s.ReadFeed(ctx, domain.FeedQuery{TenantID: "acme", Limit: 10}); err != nil || len(got) != 0 || next != "" {
		t.Fatalf("from the start right after a5: %v %q %v, want nothing yet", got, next, err)
	}
	clock.Advance(time.Minute)
	if got, _, err := s.ReadFeed(ctx, domain.FeedQuery{TenantID: "acme", Limit: 10}); err != nil || len(got) != 1 || got[0].ItemID != "a5" {
		t.Fatalf("from the start a minute later: %+v %v, want a5", got, err)
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{TableName: s.table,
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :f)"),
		ExpressionAttributeValues: item{":pk": str(tenantPK("acme")), ":f": str("F#")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 1 {
		t.Fatalf("%d feed items in the tenant partition, want only a5: deleted numbers must not get gap markers", len(out.Items))
	}
}

// TTL deletion runs in no particular order: a change may be deleted while
// an older one is still there. A reader whose cursor is old reads the older
// one, but must not close the deleted number behind it as an abandoned gap.
func TestFeedRetentionOutOfOrderDeletion(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(storetest.Start)
	s := newTestStore(t, Options{Clock: clock, FeedRetention: 24 * time.Hour})
	const ann = "ann@acme.example"
	for _, id := range []string{"a1", "a2", "a3"} {
		if _, err := s.ApplyChanges(ctx, "acme", ann, []domain.ItemChange{storetest.Create(id, "k1")}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(25 * time.Hour)
	if _, err := s.ApplyChanges(ctx, "acme", ann, []domain.ItemChange{storetest.Create("a4", "k1")}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	for _, pk := range []string{tenantPK("acme"), mailboxPK("acme", ann)} {
		if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.table, Key: key(pk, seqSK(3))}); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []domain.FeedQuery{{TenantID: "acme", Cursor: cursorAt(t, s, "acme", "", 1)}, {TenantID: "acme", Mailbox: ann, Cursor: cursorAt(t, s, "acme", ann, 1)}} {
		var got []string
		gone := false
		for range 10 {
			q.Limit = 10
			page, next, err := s.ReadFeed(ctx, q)
			if domain.ErrorCodeOf(err) == domain.CodeGone {
				gone = true
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page {
				got = append(got, c.ItemID)
			}
			if len(page) == 0 {
				break
			}
			q.Cursor = next
		}
		if slices.Contains(got, "a4") {
			t.Fatalf("%+v: read %v: walked past the deleted a3, want Gone before a4", q, got)
		}
		if !gone {
			t.Fatalf("%+v: read %v and then nothing, want Gone: a3 was deleted", q, got)
		}
	}
}

// cursorAt is the cursor of position pos of a feed, as ReadFeed would
// make it.
func cursorAt(t *testing.T, s *Store, tenantID, mailbox string, pos uint64) string {
	t.Helper()
	head := tenantHead(tenantID)
	if mailbox != "" {
		head = mailboxHead(tenantID, mailbox)
	}
	gen, _, err := s.feedHead(context.Background(), head)
	if err != nil || gen == "" {
		t.Fatalf("no feed generation (%v)", err)
	}
	return storeplan.EncodeFeedCursor(tenantID, mailbox, gen, pos)
}
