package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// inFolder is a create of item id (change key ck) in folder.
func inFolder(id, ck, folder string) domain.ItemChange {
	c := create(id, ck)
	c.Item.FolderID = folder
	return c
}

// listFolder pages through ListFolderItemIDs with the given page size.
func listFolder(t *testing.T, s domain.Store, tenantID, mbx, folder string, limit int) []string {
	t.Helper()
	return listAll(t, "ListFolderItemIDs", limit, func(cursor string) ([]string, string, error) {
		return s.ListFolderItemIDs(ctx, tenantID, mbx, folder, cursor, limit)
	})
}

func testRecovery(t *testing.T, setup setupFunc) {
	t.Run("ListFolderItemIDs lists the live items of one folder", func(t *testing.T) {
		s, _ := setup(t)
		apply(t, s, "acme", ann,
			inFolder("a1", "c1", "F-inbox"), inFolder("a2", "c1", "F-inbox"), inFolder("a3", "c1", "F-inbox"),
			inFolder("b1", "c1", "F-sent"), inFolder("m1", "c1", "F-inbox"))
		apply(t, s, "acme", bob, inFolder("a9", "c1", "F-inbox"))  // another mailbox
		apply(t, s, "other", ann, inFolder("a8", "c1", "F-inbox")) // another tenant
		apply(t, s, "acme", ann,
			del("a2"),                       // tombstone: not listed
			inFolder("m1", "c2", "F-sent"),  // moved away: listed in its new folder only
			inFolder("b2", "c1", "F-inbox"), // moved in
			inFolder("a3", "c2", "F-inbox"), // updated, same folder
		)
		tests := []struct {
			folder string
			limit  int
			want   []string
		}{
			{"F-inbox", 100, []string{"a1", "a3", "b2"}},
			{"F-inbox", 1, []string{"a1", "a3", "b2"}},
			{"F-inbox", 2, []string{"a1", "a3", "b2"}},
			{"F-sent", 100, []string{"b1", "m1"}},
			{"F-unknown", 100, nil},
		}
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s limit %d", tc.folder, tc.limit), func(t *testing.T) {
				if got := listFolder(t, s, "acme", ann, tc.folder, tc.limit); !slices.Equal(got, tc.want) {
					t.Fatalf("ids %v, want %v", got, tc.want)
				}
			})
		}
		if got := listFolder(t, s, "acme", "nobody@acme.example", "F-inbox", 10); len(got) != 0 {
			t.Fatalf("unknown mailbox lists %v", got)
		}
		// A re-created item is live again.
		apply(t, s, "acme", ann, inFolder("a2", "c9", "F-inbox"))
		if got, want := listFolder(t, s, "acme", ann, "F-inbox", 100), []string{"a1", "a2", "a3", "b2"}; !slices.Equal(got, want) {
			t.Fatalf("after re-create: %v, want %v", got, want)
		}
	})

	t.Run("bad input is refused", func(t *testing.T) {
		s, _ := setup(t)
		_, _, err := s.ListFolderItemIDs(ctx, "acme", ann, "", "", 10)
		wantCode(t, err, domain.CodeInvalid, "list without folder")
		_, _, err = s.ListFolderItemIDs(ctx, "acme", ann, "F", "%%%", 10)
		wantCode(t, err, domain.CodeInvalid, "list with a garbage cursor")
		wantCode(t, s.AddSeenIDs(ctx, "acme", ann, "F", "", []string{"x"}), domain.CodeInvalid, "add without resync")
		wantCode(t, s.AddSeenIDs(ctx, "acme", ann, "F", "r#1", []string{"x"}), domain.CodeInvalid, "add with '#' in the resync")
		wantCode(t, s.AddSeenIDs(ctx, "acme", "", "F", "r1", []string{"x"}), domain.CodeInvalid, "add without mailbox")
		_, err = s.SeenIDs(ctx, "acme", ann, "", "r1")
		wantCode(t, err, domain.CodeInvalid, "seen without folder")
		wantCode(t, s.DropSeenIDs(ctx, "", ann, "F"), domain.CodeInvalid, "drop without tenant")
	})

	t.Run("seen ids are a set per folder and resync until dropped", func(t *testing.T) {
		s, _ := setup(t)
		big := make([]string, 1234) // more than one adapter item's worth
		for i := range big {
			big[i] = fmt.Sprintf("AAMkAD%0140d", i)
		}
		must(t, s.AddSeenIDs(ctx, "acme", ann, "F1", "r1", []string{"x1", "x2"}))
		must(t, s.AddSeenIDs(ctx, "acme", ann, "F1", "r1", []string{"x1", "x2"})) // replayed page
		must(t, s.AddSeenIDs(ctx, "acme", ann, "F1", "r1", []string{"x3"}))
		must(t, s.AddSeenIDs(ctx, "acme", ann, "F1", "r1", nil))
		must(t, s.AddSeenIDs(ctx, "acme", ann, "F1", "r2", []string{"y1"}))  // another resync
		must(t, s.AddSeenIDs(ctx, "acme", ann, "F2", "r1", big))             // another folder
		must(t, s.AddSeenIDs(ctx, "acme", bob, "F1", "r1", []string{"z1"}))  // another mailbox
		must(t, s.AddSeenIDs(ctx, "other", ann, "F1", "r1", []string{"z2"})) // another tenant
		seen := func(tenantID, mbx, folder, resync string) []string {
			t.Helper()
			ids, err := s.SeenIDs(ctx, tenantID, mbx, folder, resync)
			must(t, err)
			slices.Sort(ids)
			return slices.Compact(ids)
		}
		if got, want := seen("acme", ann, "F1", "r1"), []string{"x1", "x2", "x3"}; !slices.Equal(got, want) {
			t.Fatalf("F1 r1: %v, want %v", got, want)
		}
		if got := seen("acme", ann, "F2", "r1"); !slices.Equal(got, big) {
			t.Fatalf("F2 r1: %d ids, want %d", len(got), len(big))
		}
		must(t, s.DropSeenIDs(ctx, "acme", ann, "F1"))
		for _, resync := range []string{"r1", "r2"} {
			if got := seen("acme", ann, "F1", resync); len(got) != 0 {
				t.Fatalf("F1 %s after drop: %v", resync, got)
			}
		}
		if got := seen("acme", ann, "F2", "r1"); len(got) != len(big) {
			t.Fatalf("dropping F1 dropped F2's ids: %d left", len(got))
		}
		if got := seen("acme", bob, "F1", "r1"); !slices.Equal(got, []string{"z1"}) {
			t.Fatalf("dropping ann's F1 touched bob's: %v", got)
		}
		if got := seen("other", ann, "F1", "r1"); !slices.Equal(got, []string{"z2"}) {
			t.Fatalf("dropping acme's F1 touched another tenant's: %v", got)
		}
		must(t, s.DropSeenIDs(ctx, "acme", ann, "F-never"))
	})

	t.Run("purging the tenant removes seen ids", func(t *testing.T) {
		s, _ := setup(t)
		for _, id := range []string{"acme", "acme2"} {
			must(t, s.CreateTenant(ctx, tenant(id)))
			must(t, s.AddMailbox(ctx, mailbox(id, ann, domain.MailboxOK)))
			must(t, s.AddSeenIDs(ctx, id, ann, "F1", "r1", []string{"x1"}))
		}
		must(t, s.PurgeTenant(ctx, "acme"))
		for id, want := range map[string]int{"acme": 0, "acme2": 1} {
			ids, err := s.SeenIDs(ctx, id, ann, "F1", "r1")
			must(t, err)
			if len(ids) != want {
				t.Errorf("%s after purging acme: %d seen ids, want %d", id, len(ids), want)
			}
		}
	})
}
