package boltstore

import (
	"context"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// A cursor past a mailbox's last item, followed in the file by a mailbox
// with shorter keys, ends the listing (it used to slice the other
// mailbox's key out of range and panic).
func TestListFolderItemIDsCursorPastTheEnd(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, Options{})
	for _, c := range []struct{ mailbox, id string }{{"ann@acme.example", "a1"}, {"b@x", "1"}} {
		if _, err := s.ApplyChanges(ctx, "acme", c.mailbox, []domain.ItemChange{storetest.Create(c.id, "k1")}); err != nil {
			t.Fatal(err)
		}
	}
	ids, next, err := s.ListFolderItemIDs(ctx, "acme", "ann@acme.example", "inbox-id", encodeKeyCursor("zz"), 10)
	if err != nil || len(ids) != 0 || next != "" {
		t.Fatalf("ListFolderItemIDs after the last item = %q, %q, %v; want nothing", ids, next, err)
	}
}
