package domain

import "context"

// ItemQuery pages a mailbox's current items.
type ItemQuery struct {
	TenantID string
	Mailbox  string
	Kind     ItemKind // empty: every kind
	// After is the id of the last item of the previous page ("" = first
	// page); items come in id order.
	After string
	Limit int
}

// ItemLister lists what a mailbox holds now, for consumers that bootstrap
// or resync a mirror: list the items, then read the mailbox feed from the
// position taken before the listing (docs/architecture.md, "Bootstrap and
// resync").
type ItemLister interface {
	// FeedPosition returns the cursor of the mailbox feed's head ("" when
	// the feed has no change yet) and makes it a fence: every change at or
	// before it is in the stored items by the time it returns (a writer
	// that took a number at or before it and had not committed fails and
	// appends under later numbers). So a listing that starts after it sees
	// every change up to it, and reading the feed from it gives every
	// change after it.
	FeedPosition(ctx context.Context, tenantID, mailbox string) (string, error)
	// TenantFeedPosition returns the cursor of the tenant feed's head (""
	// when the feed has no change yet). It fences nothing by itself: a
	// listing of the whole tenant calls FenceMailbox with it for each
	// mailbox before it lists that mailbox's items.
	TenantFeedPosition(ctx context.Context, tenantID string) (string, error)
	// FenceMailbox makes every change of the mailbox at or before tenant
	// feed position tenantCursor be in the stored items by the time it
	// returns (a writer that took such a number and had not committed
	// fails and appends under later numbers). "" fences nothing.
	FenceMailbox(ctx context.Context, tenantID, mailbox, tenantCursor string) error
	// ListItems pages through the mailbox's current items (deleted ones
	// are not listed) in id order, reading what is committed (strongly
	// consistent). next is the id to continue after, "" at the end.
	ListItems(ctx context.Context, q ItemQuery) (items []Item, next string, err error)
	// ForgetItems removes every stored item of the mailbox, deleted ones'
	// tombstones included, with its immutable-id index and recovery state:
	// once the mailbox's deletes are in the feed (mailbox removal), so that
	// adding it again syncs and announces every item afresh. Its feed
	// entries stay.
	ForgetItems(ctx context.Context, tenantID, mailbox string) error
}
