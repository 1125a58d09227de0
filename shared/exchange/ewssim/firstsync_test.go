package ewssim_test

import (
	"testing"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// TestFirstSyncHasNoDeleteForItemsDeletedBefore: a SyncFolderItems
// without SyncState reports what the folder holds, never a Delete for an
// item deleted (or moved away) before the sync began, whatever the page
// size; the moved item appears as a Create where it now is.
func TestFirstSyncHasNoDeleteForItemsDeletedBefore(t *testing.T) {
	const alice = "alice@contoso.com"
	env := newEnv(t, ewssim.Options{}, alice)
	hdr := impersonate(alice)
	keep, err := env.sim.AddItem(alice, "inbox", ewssim.Item{Subject: "keep"})
	must(t, err)
	gone, err := env.sim.AddItem(alice, "inbox", ewssim.Item{Subject: "hard deleted"})
	must(t, err)
	moved, err := env.sim.AddItem(alice, "inbox", ewssim.Item{Subject: "moved to Deleted Items"})
	must(t, err)
	_, err = env.sim.UpdateItem(gone.ID, func(it *ewssim.Item) { it.Subject += " (edited first)" })
	must(t, err)
	must(t, env.sim.DeleteItem(gone.ID))
	m := env.one(t, hdr, `<m:DeleteItem DeleteType="MoveToDeletedItems"><m:ItemIds><t:ItemId Id="`+moved.ID+`"/></m:ItemIds></m:DeleteItem>`)
	must(t, errIf(m.Code != "NoError", "DeleteItem answered "+m.Code))
	for _, max := range []int{1, 2, 512} {
		changes, _, _ := env.syncAll(t, hdr, dist("inbox", ""), "", max)
		if len(changes) != 1 || changes[0].Kind != "Create" || changes[0].ID != keep.ID {
			t.Errorf("inbox, %d a page: %+v, want one Create of the kept item", max, changes)
		}
		trash, _, _ := env.syncAll(t, hdr, dist("deleteditems", ""), "", max)
		if len(trash) != 1 || trash[0].Kind != "Create" {
			t.Errorf("deleted items, %d a page: %+v, want one Create", max, trash)
		}
	}
}

func errIf(bad bool, msg string) error {
	if bad {
		return &testError{msg}
	}
	return nil
}

type testError struct{ s string }

func (e *testError) Error() string { return e.s }
