package storeplan

import (
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// CheckFolderRef validates the mailbox and folder of a recovery call
// (ListFolderItemIDs, AddSeenIDs, SeenIDs, DropSeenIDs); the adapter checks
// the tenant id its own way.
func CheckFolderRef(mailbox, folderID string) error {
	if mailbox == "" {
		return domain.Invalid("mailbox", "mailbox is required")
	}
	if folderID == "" {
		return domain.Invalid("folderId", "folder id is required")
	}
	return nil
}

// CheckResync validates a resync name. '#' is refused because a store may
// key seen ids by "<resync>#", where it would let one resync's prefix
// cover another's; the sync worker's names never hold one.
func CheckResync(resync string) error {
	if resync == "" || strings.Contains(resync, "#") {
		return domain.Invalid("resync", "resync name is required and may not contain '#'")
	}
	return nil
}
