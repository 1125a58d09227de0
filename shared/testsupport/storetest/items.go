package storetest

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// The listing a consumer bootstraps a mirror from (domain.ItemLister).

func itemIDs(items []domain.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID + " " + it.ChangeKey
	}
	return out
}

func listItems(t *testing.T, s domain.Store, q domain.ItemQuery, limit int) []domain.Item {
	t.Helper()
	q.Limit = limit
	return listAll(t, "ListItems", limit, func(after string) ([]domain.Item, string, error) {
		q.After = after
		return s.ListItems(ctx, q)
	})
}

func calendarCreate(id, ck string) domain.ItemChange {
	return domain.ItemChange{Kind: domain.ChangeCreate, ItemID: id, ChangeKey: ck, Item: &domain.Item{
		ID: id, ChangeKey: ck, Kind: domain.KindCalendar, FolderID: "calendar-id", Subject: "Meeting " + id,
		Start: Start, End: Start.Add(30 * 60e9),
	}}
}

func testItems(t *testing.T, setup setupFunc) {
	t.Run("deletes say the item's kind", func(t *testing.T) { testDeleteKinds(t, setup) })
	t.Run("the tenant feed from the tenant position holds exactly the later changes", func(t *testing.T) { testTenantPosition(t, setup) })
	t.Run("a listing taken during writes plus the feed from its position is the final state", func(t *testing.T) { testListingUnderWrites(t, setup) })
	t.Run("lists the current version of live items in id order, by kind, this mailbox only", func(t *testing.T) {
		s, _ := setup(t)
		apply(t, s, "acme", ann, create("i3", "c1"), create("i1", "c1"), create("i2", "c1"), create("i5", "c1"), calendarCreate("e1", "k1"))
		apply(t, s, "acme", ann, update("i2", "c2"), del("i5"))
		apply(t, s, "acme", bob, create("b1", "c1"))
		apply(t, s, "other", ann, create("o1", "c1"))
		for _, limit := range []int{1, 2, 100} {
			got := itemIDs(listItems(t, s, domain.ItemQuery{TenantID: "acme", Mailbox: ann}, limit))
			want := []string{"e1 k1", "i1 c1", "i2 c2", "i3 c1"}
			if !slices.Equal(got, want) {
				t.Fatalf("limit %d: listed %v, want %v", limit, got, want)
			}
		}
		if got := itemIDs(listItems(t, s, domain.ItemQuery{TenantID: "acme", Mailbox: ann, Kind: domain.KindMessage}, 2)); !slices.Equal(got, []string{"i1 c1", "i2 c2", "i3 c1"}) {
			t.Fatalf("messages: %v", got)
		}
		if got := itemIDs(listItems(t, s, domain.ItemQuery{TenantID: "acme", Mailbox: ann, Kind: domain.KindCalendar}, 2)); !slices.Equal(got, []string{"e1 k1"}) {
			t.Fatalf("calendar items: %v", got)
		}
		if got := listItems(t, s, domain.ItemQuery{TenantID: "acme", Mailbox: "nobody@acme.example"}, 10); len(got) != 0 {
			t.Fatalf("a mailbox without items lists %v", itemIDs(got))
		}
		full := listItems(t, s, domain.ItemQuery{TenantID: "acme", Mailbox: ann}, 10)
		if it := full[2]; it.Subject != message("i2", "c2").Subject || it.From == nil || it.From.Email != "ann@example.com" {
			t.Fatalf("listed item lost its fields: %+v", it)
		}
	})

	t.Run("the feed from the position taken before a listing holds exactly the later changes", func(t *testing.T) {
		s, _ := setup(t)
		pos, err := s.FeedPosition(ctx, "acme", ann)
		must(t, err)
		if pos != "" {
			t.Fatalf("position of an empty feed %q, want the start", pos)
		}
		apply(t, s, "acme", ann, create("i1", "c1"), create("i2", "c1"))
		apply(t, s, "acme", bob, create("b1", "c1"))
		pos, err = s.FeedPosition(ctx, "acme", ann)
		must(t, err)
		if rest, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme", Mailbox: ann, Cursor: pos}, 10); len(rest) != 0 {
			t.Fatalf("feed after the position holds %v before anything changed", summary(rest))
		}
		apply(t, s, "acme", ann, update("i1", "c2"), del("i2"), create("i3", "c1"))
		apply(t, s, "acme", bob, create("b2", "c1"))
		rest, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme", Mailbox: ann, Cursor: pos}, 2)
		want := []string{ann + " update i1 c2", ann + " delete i2", ann + " create i3 c1"}
		if got := summary(rest); !slices.Equal(got, want) {
			t.Fatalf("feed after the position:\n%v\nwant\n%v", got, want)
		}
		// The position is a mailbox feed cursor: the tenant feed, or
		// another mailbox's, refuses it.
		_, _, err = s.ReadFeed(ctx, domain.FeedQuery{TenantID: "acme", Cursor: pos})
		wantCode(t, err, domain.CodeInvalid, "tenant feed read with a mailbox position")
		_, _, err = s.ReadFeed(ctx, domain.FeedQuery{TenantID: "acme", Mailbox: bob, Cursor: pos})
		wantCode(t, err, domain.CodeInvalid, "another mailbox's feed read with the position")
	})

	t.Run("forgotten items are news again; feeds and other mailboxes keep theirs", func(t *testing.T) {
		s, _ := setup(t)
		apply(t, s, "acme", ann, create("i1", "c1"), create("i2", "c1"))
		apply(t, s, "acme", ann, del("i2"))
		apply(t, s, "acme", bob, create("b1", "c1"))
		before, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme"}, 100)
		must(t, s.ForgetItems(ctx, "acme", ann))
		must(t, s.ForgetItems(ctx, "acme", ann)) // again: nothing left, no error
		if got := listItems(t, s, domain.ItemQuery{TenantID: "acme", Mailbox: ann}, 10); len(got) != 0 {
			t.Fatalf("after ForgetItems: %v", itemIDs(got))
		}
		if got := itemIDs(listItems(t, s, domain.ItemQuery{TenantID: "acme", Mailbox: bob}, 10)); !slices.Equal(got, []string{"b1 c1"}) {
			t.Fatalf("bob's items after forgetting ann's: %v", got)
		}
		after, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme"}, 100)
		if !slices.Equal(summary(after), summary(before)) {
			t.Fatalf("ForgetItems changed the feed:\n%v\nwant\n%v", summary(after), summary(before))
		}
		// The same versions again, including the deleted one's: creates,
		// not replays (a re-added mailbox's full sync is announced).
		if n := apply(t, s, "acme", ann, create("i1", "c1"), create("i2", "c1")); n != 2 {
			t.Fatalf("re-created forgotten items appended %d changes, want 2", n)
		}
	})
}

// A delete says what kind of item went away, whether the item was stored
// in the same batch or read back from storage.
func testDeleteKinds(t *testing.T, setup setupFunc) {
	s, _ := setup(t)
	apply(t, s, "acme", ann, create("m1", "c1"), calendarCreate("e1", "k1"))
	apply(t, s, "acme", ann, del("m1"), del("e1"))
	apply(t, s, "acme", ann, calendarCreate("e2", "k1"), del("e2"))
	feed, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme", Mailbox: ann}, 100)
	var got []string
	for _, c := range feed {
		got = append(got, string(c.Kind)+" "+c.ItemID+" "+string(c.ItemKind))
	}
	want := []string{"create m1 message", "create e1 calendar", "delete m1 message", "delete e1 calendar", "create e2 calendar", "delete e2 calendar"}
	if !slices.Equal(got, want) {
		t.Fatalf("feed:\n%v\nwant\n%v", got, want)
	}
}

// A mirror made from a listing taken while a writer applies changes, then
// caught up from the listing's feed position (upserts and deletes by id),
// equals the stored items at the end: whatever the interleaving, nothing
// is missed and nothing left over.
func testListingUnderWrites(t *testing.T, setup setupFunc) {
	s, _ := setup(t)
	apply(t, s, "acme", ann, create("i00", "c0"), create("i01", "c0"), create("i02", "c0"))
	done := make(chan error, 1)
	go func() {
		var err error
		for r := range 40 {
			id := fmt.Sprintf("i%02d", r%12)
			ck := fmt.Sprintf("c%d", r+1)
			var ch domain.ItemChange
			switch r % 3 {
			case 0, 1:
				ch = update(id, ck)
			default:
				ch = del(fmt.Sprintf("i%02d", (r+5)%12))
			}
			if _, err = s.ApplyChanges(ctx, "acme", ann, []domain.ItemChange{ch, create(fmt.Sprintf("n%02d", r), "c1")}); err != nil {
				break
			}
		}
		done <- err
	}()
	type mirror struct {
		items map[string]string
		pos   string
	}
	var mirrors []mirror
	for writing := true; writing; {
		select {
		case err := <-done:
			must(t, err)
			writing = false
		default:
		}
		pos, err := s.FeedPosition(ctx, "acme", ann)
		must(t, err)
		m := mirror{items: map[string]string{}, pos: pos}
		for _, it := range listItems(t, s, domain.ItemQuery{TenantID: "acme", Mailbox: ann}, 3) {
			m.items[it.ID] = it.ChangeKey
		}
		mirrors = append(mirrors, m)
	}
	var want []string
	for _, it := range listItems(t, s, domain.ItemQuery{TenantID: "acme", Mailbox: ann}, 100) {
		want = append(want, it.ID+" "+it.ChangeKey)
	}
	for i, m := range mirrors {
		rest, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme", Mailbox: ann, Cursor: m.pos}, 7)
		for _, c := range rest {
			if c.Kind == domain.ChangeDelete {
				delete(m.items, c.ItemID)
			} else {
				m.items[c.ItemID] = c.Item.ChangeKey
			}
		}
		var got []string
		for _, id := range slices.Sorted(maps.Keys(m.items)) {
			got = append(got, id+" "+m.items[id])
		}
		if !slices.Equal(got, want) {
			t.Fatalf("mirror %d of %d (listing taken while writing) ends as\n%v\nthe store holds\n%v", i+1, len(mirrors), got, want)
		}
	}
	t.Logf("%d listings taken while writing, each caught up to the stored items", len(mirrors))
}

// The tenant feed from TenantFeedPosition holds exactly the later changes,
// and fencing a mailbox at it changes nothing a reader sees.
func testTenantPosition(t *testing.T, setup setupFunc) {
	s, _ := setup(t)
	pos, err := s.TenantFeedPosition(ctx, "acme")
	must(t, err)
	if pos != "" {
		t.Fatalf("position of an empty tenant feed %q, want the start", pos)
	}
	must(t, s.FenceMailbox(ctx, "acme", ann, ""))
	apply(t, s, "acme", ann, create("i1", "c1"))
	apply(t, s, "acme", bob, create("b1", "c1"))
	pos, err = s.TenantFeedPosition(ctx, "acme")
	must(t, err)
	must(t, s.FenceMailbox(ctx, "acme", ann, pos))
	must(t, s.FenceMailbox(ctx, "acme", bob, pos))
	apply(t, s, "acme", ann, update("i1", "c2"))
	apply(t, s, "acme", bob, del("b1"))
	rest, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme", Cursor: pos}, 1)
	if got, want := summary(rest), []string{ann + " update i1 c2", bob + " delete b1"}; !slices.Equal(got, want) {
		t.Fatalf("tenant feed after the position:\n%v\nwant\n%v", got, want)
	}
	_, _, err = s.ReadFeed(ctx, domain.FeedQuery{TenantID: "acme", Mailbox: ann, Cursor: pos})
	wantCode(t, err, domain.CodeInvalid, "a mailbox feed read with the tenant position")
}
