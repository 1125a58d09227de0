package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// The initial sync (domain.ItemStore.StartInitialSync): a mailbox's first
// full sync goes to its own feed only, and one mailboxSynced in the tenant
// feed ends it, exactly once.

func feedSummary(t *testing.T, s domain.Store, mailbox, cursor string) []string {
	t.Helper()
	cs, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme", Mailbox: mailbox, Cursor: cursor}, 3)
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%s %s %s", c.Mailbox, c.Kind, c.ItemID)
	}
	return out
}

func wantFeed(t *testing.T, s domain.Store, mailbox, cursor string, want ...string) {
	t.Helper()
	if got := feedSummary(t, s, mailbox, cursor); !slices.Equal(got, want) {
		t.Fatalf("feed %q after %q = %q, want %q", mailbox, cursor, got, want)
	}
}

func inInitial(t *testing.T, s domain.Store, mailbox string) bool {
	t.Helper()
	in, err := s.InInitialSync(ctx, "acme", mailbox)
	must(t, err)
	return in
}

func markSynced(t *testing.T, s domain.Store, mailbox string) bool {
	t.Helper()
	ok, err := s.MarkMailboxSynced(ctx, "acme", mailbox)
	must(t, err)
	return ok
}

func testInitialSync(t *testing.T, setup setupFunc) {
	t.Run("its changes are in the mailbox feed only, one mailboxSynced ends it, then both feeds", func(t *testing.T) {
		s, _ := setup(t)
		must(t, s.StartInitialSync(ctx, "acme", ann))
		if !inInitial(t, s, ann) || inInitial(t, s, bob) {
			t.Fatal("StartInitialSync marked the wrong mailbox")
		}
		if n := apply(t, s, "acme", ann, create("a", "k1"), create("b", "k1"), update("a", "k2")); n != 3 {
			t.Fatalf("appended %d, want 3", n)
		}
		apply(t, s, "acme", bob, create("x", "k1")) // never in an initial sync: both feeds
		wantFeed(t, s, "", "", bob+" create x")
		wantFeed(t, s, ann, "", ann+" create a", ann+" create b", ann+" update a")
		// A replayed batch of the initial sync is no news.
		if n := apply(t, s, "acme", ann, create("a", "k1"), create("b", "k1")); n != 0 {
			t.Fatalf("replay appended %d", n)
		}

		if !markSynced(t, s, ann) {
			t.Fatal("MarkMailboxSynced of a mailbox in its initial sync announced nothing")
		}
		// A redelivered job calls again: nothing more.
		if markSynced(t, s, ann) || markSynced(t, s, bob) {
			t.Fatal("MarkMailboxSynced announced a mailbox not in its initial sync")
		}
		if inInitial(t, s, ann) {
			t.Fatal("the mailbox is still in its initial sync after MarkMailboxSynced")
		}
		tenant, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme"}, 10)
		if len(tenant) != 2 || tenant[1].Kind != domain.ChangeMailboxSynced || tenant[1].Mailbox != ann ||
			tenant[1].ItemID != "" || tenant[1].ItemKind != "" || tenant[1].Item != nil || tenant[1].At.IsZero() {
			t.Fatalf("tenant feed = %+v, want bob's create, then one mailboxSynced of ann (no item, a time)", tenant)
		}
		apply(t, s, "acme", ann, update("b", "k2"), del("a"))
		wantFeed(t, s, "", "", bob+" create x", ann+" mailboxSynced ", ann+" update b", ann+" delete a")
		// The mailbox feed keeps everything and has no announcement.
		wantFeed(t, s, ann, "", ann+" create a", ann+" create b", ann+" update a", ann+" update b", ann+" delete a")
	})

	t.Run("a registered mailbox is not put back in its initial sync", func(t *testing.T) {
		s, _ := setup(t)
		must(t, s.AddMailbox(ctx, mailbox("acme", ann, domain.MailboxOK)))
		must(t, s.StartInitialSync(ctx, "acme", ann))
		if inInitial(t, s, ann) {
			t.Fatal("StartInitialSync marked a registered mailbox")
		}
		apply(t, s, "acme", ann, create("a", "k1"))
		wantFeed(t, s, "", "", ann+" create a")
	})

	t.Run("concurrent MarkMailboxSynced calls announce once", func(t *testing.T) {
		s, _ := setup(t)
		must(t, s.StartInitialSync(ctx, "acme", ann))
		apply(t, s, "acme", ann, create("a", "k1"))
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.MarkMailboxSynced(ctx, "acme", ann)
				if err != nil && domain.ErrorCodeOf(err) != domain.CodeUnavailable {
					t.Error(err)
				}
				mu.Lock()
				defer mu.Unlock()
				if ok {
					wins++
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d calls reported the announcement, want 1", wins)
		}
		wantFeed(t, s, "", "", ann+" mailboxSynced ")
	})

	t.Run("removal and re-add: deletes in the tenant feed, then a second initial sync and mailboxSynced", func(t *testing.T) {
		s, _ := setup(t)
		must(t, s.StartInitialSync(ctx, "acme", ann))
		apply(t, s, "acme", ann, create("a", "k1"), create("b", "k1"))
		markSynced(t, s, ann)
		// Removal (app.Tenants.retireItems): a delete per item, then forget.
		apply(t, s, "acme", ann, del("a"), del("b"))
		must(t, s.ForgetItems(ctx, "acme", ann))
		// Added again: a full sync whose creates are news.
		must(t, s.StartInitialSync(ctx, "acme", ann))
		if n := apply(t, s, "acme", ann, create("a", "k1"), create("b", "k1")); n != 2 {
			t.Fatalf("the full sync after the re-add appended %d, want 2", n)
		}
		wantFeed(t, s, "", "", ann+" mailboxSynced ", ann+" delete a", ann+" delete b")
		markSynced(t, s, ann)
		wantFeed(t, s, "", "", ann+" mailboxSynced ", ann+" delete a", ann+" delete b", ann+" mailboxSynced ")
		items := listItems(t, s, domain.ItemQuery{TenantID: "acme", Mailbox: ann}, 10)
		if got := itemIDs(items); !slices.Equal(got, []string{"a k1", "b k1"}) {
			t.Fatalf("listing after the re-add = %v", got)
		}
	})

	t.Run("the announcement comes after a tenant listing's position that skipped the mailbox", func(t *testing.T) {
		s, _ := setup(t)
		apply(t, s, "acme", bob, create("x", "k1"))
		must(t, s.StartInitialSync(ctx, "acme", ann))
		apply(t, s, "acme", ann, create("a", "k1"))
		pos, err := s.TenantFeedPosition(ctx, "acme")
		must(t, err)
		must(t, s.FenceMailbox(ctx, "acme", ann, pos))
		if !inInitial(t, s, ann) {
			t.Fatal("the mailbox left its initial sync")
		}
		markSynced(t, s, ann)
		wantFeed(t, s, "", pos, ann+" mailboxSynced ")
	})
}
