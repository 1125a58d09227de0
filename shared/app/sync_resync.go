// sync_resync.go owns recovery resyncs.

package app

import (
	"context"
	"fmt"

	"github.com/mailbridge/mailbridge/shared/domain"
)

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
