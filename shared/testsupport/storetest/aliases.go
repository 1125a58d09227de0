package storetest

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// ewsOverGraph is an upsert of EWS id id (change key ck) in folder, as a
// tenant that keeps EWS ids reports it over Graph: with its immutable id.
func ewsOverGraph(id, ck, folder, immutable string) domain.ItemChange {
	c := inFolder(id, ck, folder)
	c.ImmutableID = immutable
	return c
}

// removed is a removal Graph reports by immutable id from folder.
func removed(immutable, folder string) domain.ItemChange {
	return domain.ItemChange{Kind: domain.ChangeDelete, ImmutableID: immutable, FolderID: folder}
}

// mirror replays a feed as a consumer keyed on item ids does: the live
// items' folders by id.
func mirror(cs []domain.Change) map[string]string {
	live := map[string]string{}
	for _, c := range cs {
		if c.Kind == domain.ChangeDelete {
			delete(live, c.ItemID)
			continue
		}
		live[c.ItemID] = c.Item.FolderID
	}
	return live
}

type aliasStep struct {
	name    string
	changes []domain.ItemChange
	want    int
}

func runAliasSteps(t *testing.T, s domain.Store, steps []aliasStep) []domain.Change {
	t.Helper()
	for _, st := range steps {
		if got := apply(t, s, "acme", ann, st.changes...); got != st.want {
			t.Fatalf("%s: appended %d, want %d", st.name, got, st.want)
		}
	}
	feed, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme", Mailbox: ann}, 100)
	return feed
}

// testImmutableIndex: a tenant whose feed carries ids that change on a
// move (EWS ids) but whose removals come by an id that does not (Graph's
// immutable id) ends up with the consumer's copy equal to the mailbox.
func testImmutableIndex(t *testing.T, setup setupFunc) {
	t.Run("a removal by immutable id deletes the item the index names", func(t *testing.T) {
		s, _ := setup(t)
		feed := runAliasSteps(t, s, []aliasStep{
			{"created", []domain.ItemChange{ewsOverGraph("e1", "c1", "A", "X1"), ewsOverGraph("e2", "c1", "A", "X2")}, 2},
			{"X1 removed", []domain.ItemChange{removed("X1", "A")}, 1},
			{"replayed", []domain.ItemChange{removed("X1", "A")}, 0},
			{"an immutable id never indexed", []domain.ItemChange{removed("X9", "A")}, 0},
			{"X2 removed from a folder it is not in", []domain.ItemChange{removed("X2", "B")}, 0},
		})
		want := []string{ann + " create e1 c1", ann + " create e2 c1", ann + " delete e1"}
		if got := summary(feed); !slices.Equal(got, want) {
			t.Fatalf("feed:\n%v\nwant\n%v", got, want)
		}
	})
	t.Run("items stored without immutable id are indexed when seen unchanged", func(t *testing.T) {
		// Synced over EWS, then the first Graph sync reads them unchanged.
		s, _ := setup(t)
		runAliasSteps(t, s, []aliasStep{
			{"synced over EWS", []domain.ItemChange{inFolder("e1", "c1", "A"), inFolder("e2", "c1", "A")}, 2},
			{"seen over Graph, unchanged", []domain.ItemChange{ewsOverGraph("e1", "c1", "A", "X1"), ewsOverGraph("e2", "c1", "A", "X2")}, 0},
			{"and again", []domain.ItemChange{ewsOverGraph("e1", "c1", "A", "X1"), ewsOverGraph("e2", "c1", "A", "X2")}, 0},
			{"X2 hard-deleted", []domain.ItemChange{removed("X2", "A")}, 1},
		})
	})
	for _, order := range []string{"new folder first", "old folder first"} {
		t.Run("a move that changes the item's id, read "+order, func(t *testing.T) {
			s, _ := setup(t)
			moveIn := []domain.ItemChange{ewsOverGraph("e1b", "c2", "B", "X1")}
			moveOut := []domain.ItemChange{removed("X1", "A")}
			first, second := moveIn, moveOut
			wantFirst, wantSecond := 2, 0 // the old id's delete comes with the create
			if order == "old folder first" {
				first, second = moveOut, moveIn
				wantFirst, wantSecond = 1, 1
			}
			feed := runAliasSteps(t, s, []aliasStep{
				{"created", []domain.ItemChange{ewsOverGraph("e1", "c1", "A", "X1"), ewsOverGraph("e2", "c1", "A", "X2")}, 2},
				{"first folder", first, wantFirst},
				{"second folder", second, wantSecond},
				{"both replayed", append(slices.Clone(first), second...), 0},
				{"both replayed the other way", append(slices.Clone(second), first...), 0},
				{"the moved item updated", []domain.ItemChange{ewsOverGraph("e1b", "c3", "B", "X1")}, 1},
				{"then hard-deleted", []domain.ItemChange{removed("X1", "B")}, 1},
			})
			want := []string{ann + " create e1 c1", ann + " create e2 c1", ann + " delete e1", ann + " create e1b c2",
				ann + " update e1b c3", ann + " delete e1b"}
			if got := summary(feed); !slices.Equal(got, want) {
				t.Fatalf("feed:\n%v\nwant\n%v", got, want)
			}
		})
	}
	t.Run("a page replayed after a later move changes nothing", func(t *testing.T) {
		s, _ := setup(t)
		feed := runAliasSteps(t, s, []aliasStep{
			{"created in A", []domain.ItemChange{ewsOverGraph("e1", "c1", "A", "X1")}, 1},
			{"moved to B", []domain.ItemChange{ewsOverGraph("e2", "c2", "B", "X1"), removed("X1", "A")}, 2},
			{"moved to C", []domain.ItemChange{removed("X1", "B"), ewsOverGraph("e3", "c3", "C", "X1")}, 2},
			{"B's page replayed", []domain.ItemChange{ewsOverGraph("e2", "c2", "B", "X1")}, 0},
			{"A's page replayed", []domain.ItemChange{ewsOverGraph("e1", "c1", "A", "X1"), removed("X1", "A")}, 0},
		})
		if got := mirror(feed); !maps.Equal(got, map[string]string{"e3": "C"}) {
			t.Fatalf("the consumer holds %v, want e3 in C", got)
		}
	})
	t.Run("many moves in one batch are stored whole", func(t *testing.T) {
		// More entries and index writes than one DynamoDB transaction takes.
		s, _ := setup(t)
		var create, move []domain.ItemChange
		want := map[string]string{}
		for i := range 60 {
			x := fmt.Sprintf("X%03d", i)
			create = append(create, ewsOverGraph(fmt.Sprintf("a%03d", i), "c1", "A", x))
			move = append(move, ewsOverGraph(fmt.Sprintf("b%03d", i), "c2", "B", x), removed(x, "A"))
			want[fmt.Sprintf("b%03d", i)] = "B"
		}
		feed := runAliasSteps(t, s, []aliasStep{
			{"created", create, 60},
			{"moved", move, 120},
			{"replayed", move, 0},
		})
		if got := mirror(feed); !maps.Equal(got, want) {
			t.Fatalf("the consumer holds %d items, want the 60 moved ones: %v", len(got), got)
		}
	})
	t.Run("the index is per mailbox and per tenant", func(t *testing.T) {
		s, _ := setup(t)
		apply(t, s, "acme", ann, ewsOverGraph("e1", "c1", "A", "X1"))
		apply(t, s, "other", ann, ewsOverGraph("e1", "c1", "A", "X1"))
		if n := apply(t, s, "acme", bob, removed("X1", "A")); n != 0 {
			t.Fatalf("bob's removal appended %d", n)
		}
		if n := apply(t, s, "other", ann, removed("X1", "A")); n != 1 {
			t.Fatalf("other's removal appended %d, want 1", n)
		}
		if n := apply(t, s, "acme", ann, removed("X1", "A")); n != 1 {
			t.Fatalf("acme's removal appended %d, want 1", n)
		}
	})
	t.Run("DeleteMailbox keeps the index with the items", func(t *testing.T) {
		// Re-added, the mailbox syncs from scratch: items moved meanwhile
		// must still replace the copies the consumer holds.
		s, _ := setup(t)
		must(t, s.CreateTenant(ctx, tenant("acme")))
		must(t, s.AddMailbox(ctx, mailbox("acme", ann, domain.MailboxOK)))
		apply(t, s, "acme", ann, ewsOverGraph("e1", "c1", "A", "X1"))
		must(t, s.DeleteMailbox(ctx, "acme", ann))
		must(t, s.AddMailbox(ctx, mailbox("acme", ann, domain.MailboxOK)))
		if n := apply(t, s, "acme", ann, ewsOverGraph("e2", "c2", "B", "X1")); n != 2 {
			t.Fatalf("the move appended %d, want the old id's delete and the create", n)
		}
	})
	t.Run("purging the tenant removes the index", func(t *testing.T) {
		s, _ := setup(t)
		for _, id := range []string{"acme", "acme2"} {
			must(t, s.CreateTenant(ctx, tenant(id)))
			must(t, s.AddMailbox(ctx, mailbox(id, ann, domain.MailboxOK)))
			apply(t, s, id, ann, ewsOverGraph("e1", "c1", "A", "X1"))
		}
		must(t, s.PurgeTenant(ctx, "acme"))
		must(t, s.CreateTenant(ctx, tenant("acme")))
		// The same item stored again without its immutable id: a removal
		// by that id finds no index entry.
		apply(t, s, "acme", ann, inFolder("e1", "c1", "A"))
		if n := apply(t, s, "acme", ann, removed("X1", "A")); n != 0 {
			t.Fatalf("after the purge, a removal by immutable id appended %d", n)
		}
		if n := apply(t, s, "acme2", ann, removed("X1", "A")); n != 1 {
			t.Fatalf("acme2's index went with acme's: appended %d, want 1", n)
		}
	})
	t.Run("a delete by immutable id naming an item id is refused", func(t *testing.T) {
		s, _ := setup(t)
		c := removed("X1", "A")
		c.ItemID = "e1"
		_, err := s.ApplyChanges(ctx, "acme", ann, []domain.ItemChange{c})
		wantCode(t, err, domain.CodeInvalid, "ApplyChanges")
	})
}
