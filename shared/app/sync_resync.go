// sync_resync.go owns recovery: after an invalid sync state and after a
// folder vanished.
//
// An invalid sync state (AccessSyncStateInvalid, EWS's
// ErrorInvalidSyncStateData): the folder is resynced from an empty state;
// unchanged items come back with the ChangeKey already stored, so the feed
// does not repeat them. A from-scratch sync reports no deletes, so the
// resync is named (FolderState.Resync) and each page's item ids are stored
// as seen (ItemStore.AddSeenIDs) before the page is applied: the set
// survives the several jobs a throttled resync may take, and a replayed
// page only adds ids again. Its last page then lists the folder's stored
// items (ListFolderItemIDs) and applies a delete for each one not seen,
// before the checkpoint moves: a crash runs the pass again, and a delete of
// a deleted item appends nothing. The seen ids are dropped once the
// checkpoint without the resync is stored. A folder that vanishes from the
// hierarchy gets a delete for each of its stored items the same way, before
// its checkpoint is dropped. (Rejected: marking a generation on every item,
// which costs a write per unchanged item; keeping the set only in memory,
// which a throttled resync of a large folder would never complete.) The
// listing reads every stored item of the mailbox, once per recovery.

package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"slices"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// startResync restarts a folder from scratch after its SyncState became
// invalid. Unchanged items come back with the ChangeKey already stored, so
// the feed does not repeat them. A from-scratch sync reports no deletes:
// the ids it sees are kept under a new name (one of an earlier, restarted
// resync may hold ids deleted since), and its last page deletes the rest
// (endResync).
func (r *syncRun) startResync(id string, fs domain.FolderState) {
	fs.SyncState, fs.Resync = "", rand.Text()
	r.st.Folders[id] = fs
	r.res.Resyncs++
}

// endResync ends a resync on its last page, once the page is stored and
// before the folder's checkpoint moves: the items it did not see get
// deletes, and its seen ids are dropped after the checkpoint.
func (r *syncRun) endResync(ctx context.Context, folderID, resync string) error {
	if err := r.deleteUnseen(ctx, folderID, resync); err != nil {
		return err
	}
	r.dropSeen = append(r.dropSeen, folderID)
	return nil
}

// dropVanished drops the folders that vanished from the hierarchy. A
// vanished folder's items get deletes before its checkpoint goes: if
// storing them fails, the folder is still known, and the hierarchy state
// has not moved, so the next job reports it gone again.
func (r *syncRun) dropVanished(ctx context.Context, gone map[string]bool) error {
	for _, id := range slices.Sorted(maps.Keys(gone)) {
		fs, ok := r.st.Folders[id]
		if !ok {
			continue
		}
		if fs.SyncState != "" || fs.Resync != "" || (r.cur != nil && r.cur.Folder == id) {
			// Only a folder that was (being) synced has stored items.
			if err := r.deleteFolderItems(ctx, id, nil); err != nil {
				return err
			}
		}
		if fs.Resync != "" {
			r.dropSeen = append(r.dropSeen, id)
		}
		delete(r.st.Folders, id)
	}
	return nil
}

// addSeen records the ids a recovery resync's page reports.
func (r *syncRun) addSeen(ctx context.Context, folderID, resync string, refs []domain.ItemChangeRef) error {
	ids := make([]string, 0, len(refs))
	for _, c := range refs {
		if c.Kind != domain.ChangeDelete {
			ids = append(ids, c.ItemID)
		}
	}
	if err := r.s.Store.AddSeenIDs(ctx, r.tenant.ID, r.mbox.Address, folderID, resync, ids); err != nil {
		return fmt.Errorf("sync: recording resync progress: %w", err)
	}
	return nil
}

// deleteUnseen ends a recovery resync: the stored items of the folder it
// did not see were deleted in Exchange while the SyncState was invalid.
// The seen ids are held in a map for the pass (some 200 bytes per id: 10
// MB for a 50,000-item folder).
func (r *syncRun) deleteUnseen(ctx context.Context, folderID, resync string) error {
	ids, err := r.s.Store.SeenIDs(ctx, r.tenant.ID, r.mbox.Address, folderID, resync)
	if err != nil {
		return fmt.Errorf("sync: reading resync progress: %w", err)
	}
	seen := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		seen[id] = struct{}{}
	}
	return r.deleteFolderItems(ctx, folderID, seen)
}

// deleteFolderItems applies a delete for each stored item of the folder
// not in keep, through ApplyChanges like any change: a delete of an item
// already deleted appends nothing, so a crashed pass simply runs again.
func (r *syncRun) deleteFolderItems(ctx context.Context, folderID string, keep map[string]struct{}) error {
	cursor := ""
	for {
		ids, next, err := r.s.Store.ListFolderItemIDs(ctx, r.tenant.ID, r.mbox.Address, folderID, cursor, 1000)
		if err != nil {
			return fmt.Errorf("sync: listing stored items of a folder: %w", err)
		}
		var dels []domain.ItemChange
		for _, id := range ids {
			if _, ok := keep[id]; !ok {
				dels = append(dels, domain.ItemChange{Kind: domain.ChangeDelete, ItemID: id})
			}
		}
		if len(dels) > 0 {
			appended, err := r.s.Store.ApplyChanges(ctx, r.tenant.ID, r.mbox.Address, dels)
			if err != nil {
				return fmt.Errorf("sync: storing deletes: %w", err)
			}
			r.res.Changes += len(dels)
			r.res.Appended += appended
		}
		if next == "" || next == cursor {
			return nil
		}
		cursor = next
	}
}

// dropSeenIDs forgets the seen ids of resyncs the stored checkpoint no
// longer names. Best effort: ids left behind only take space (the
// DynamoDB adapter expires them).
func (r *syncRun) dropSeenIDs(ctx context.Context) {
	for _, id := range r.dropSeen {
		if fs, ok := r.saved.Folders[id]; ok && fs.Resync != "" {
			continue // a new resync of the folder started since
		}
		if err := r.s.Store.DropSeenIDs(ctx, r.tenant.ID, r.mbox.Address, id); err != nil {
			r.s.logger().Warn("sync: dropping resync progress", "tenantId", r.tenant.ID, "mailbox", r.mbox.Address, "error", err.Error())
		}
	}
	r.dropSeen = nil
}
