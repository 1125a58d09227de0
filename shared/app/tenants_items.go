package app

import (
	"context"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// ItemPage is one page of a mailbox's current items and the mailbox feed
// position the listing reflects: every page of one listing answers the
// same FeedCursor, taken before its first page. A consumer that applies
// the listing and then the feed from FeedCursor as upserts and deletes by
// item id misses nothing and doubles nothing (docs/architecture.md,
// "Bootstrap and resync").
type ItemPage struct {
	Items      []domain.Item
	NextCursor string // "" at the end of the listing
	FeedCursor string // "" reads the feed from its start
	// InitialSync: the mailbox is in its initial sync, read after the
	// feed position (so a mailboxSynced, if any, comes after it).
	InitialSync bool
}

// ValidateItemKind checks a kind filter ("" is every kind).
func ValidateItemKind(k domain.ItemKind) *domain.Error {
	switch k {
	case "", domain.KindMessage, domain.KindCalendar, domain.KindContact:
		return nil
	}
	return domain.Invalid("itemKind", "itemKind must be message, calendar or contact")
}

// ListItems pages through the current items of a mailbox registered to
// the tenant.
func (s *Tenants) ListItems(ctx context.Context, tenantID, mailbox, cursor string, limit int, kind domain.ItemKind) (ItemPage, error) {
	if err := ValidateTenantID(tenantID); err != nil {
		return ItemPage{}, err
	}
	addr, verr := NormalizeAddress("address", mailbox)
	if verr != nil {
		return ItemPage{}, verr
	}
	if err := ValidateCursor(cursor); err != nil {
		return ItemPage{}, err
	}
	limit, verr = ValidateLimit(limit)
	if verr != nil {
		return ItemPage{}, verr
	}
	if err := ValidateItemKind(kind); err != nil {
		return ItemPage{}, err
	}
	after, feed := "", ""
	if cursor != "" {
		var err error
		if after, feed, err = domain.DecodeListCursor(cursor, tenantID, addr, string(kind)); err != nil {
			return ItemPage{}, err
		}
	}
	if _, err := s.Get(ctx, tenantID); err != nil {
		return ItemPage{}, err
	}
	// A damaged record still names a registered mailbox, whose items are
	// intact.
	if _, err := s.Store.GetMailbox(ctx, tenantID, addr); err != nil && !domain.IsCorrupt(err) {
		if domain.IsNotFound(err) {
			return ItemPage{}, domain.NotFound("mailbox %s is not registered to tenant %q", addr, tenantID)
		}
		return ItemPage{}, internal(err, "reading the mailbox")
	}
	if cursor == "" {
		// Before the first page: a change after this position may or may
		// not be in the listing, and is in the feed after it.
		var err error
		if feed, err = s.Store.FeedPosition(ctx, tenantID, addr); err != nil {
			return ItemPage{}, internal(err, "reading the feed position")
		}
	}
	items, next, err := s.Store.ListItems(ctx, domain.ItemQuery{TenantID: tenantID, Mailbox: addr, Kind: kind, After: after, Limit: limit})
	if err != nil {
		return ItemPage{}, internal(err, "listing items")
	}
	page := ItemPage{Items: items, FeedCursor: feed}
	if page.InitialSync, err = s.Store.InInitialSync(ctx, tenantID, addr); err != nil {
		return ItemPage{}, internal(err, "reading the mailbox's sync mode")
	}
	if next != "" {
		page.NextCursor = domain.EncodeListCursor(tenantID, addr, string(kind), next, feed)
	}
	return page, nil
}

// retireItems appends a delete to the feed for every current item of the
// mailbox, then forgets its items (tombstones included), so a mirror drops
// what the mailbox held and adding the mailbox again announces every item
// as a create. Safe to repeat: deleted items are no longer listed.
func (s *Tenants) retireItems(ctx context.Context, tenantID, addr string) error {
	after := ""
	for {
		items, next, err := s.Store.ListItems(ctx, domain.ItemQuery{TenantID: tenantID, Mailbox: addr, After: after, Limit: MaxPageLimit})
		if err != nil {
			return internal(err, "listing the mailbox's items")
		}
		if len(items) > 0 {
			dels := make([]domain.ItemChange, len(items))
			for i, it := range items {
				dels[i] = domain.ItemChange{Kind: domain.ChangeDelete, ItemID: it.ID}
			}
			if _, err := s.Store.ApplyChanges(ctx, tenantID, addr, dels); err != nil {
				return internal(err, "announcing the mailbox's deletes")
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	if err := s.Store.ForgetItems(ctx, tenantID, addr); err != nil {
		return internal(err, "forgetting the mailbox's items")
	}
	return nil
}

// freshStart retires the items an earlier registration of a mailbox that
// is not registered now left behind (a removal that raced a sync, or one
// made before removals retired items): kept, they would make the first
// sync's creates look like replays, and the feed would never announce
// them. Then it puts the mailbox in its initial sync: its items go to its
// own feed only, and the tenant feed gets one mailboxSynced when the sync
// is complete (domain.ItemStore.StartInitialSync). Before the mailbox is
// added, so no sync of it is running.
func (s *Tenants) freshStart(ctx context.Context, tenantID, addr string) error {
	_, err := s.Store.GetMailbox(ctx, tenantID, addr)
	if err == nil || domain.IsCorrupt(err) {
		return nil // registered: AddMailbox reports it as existing
	}
	if !domain.IsNotFound(err) {
		return internal(err, "reading the mailbox")
	}
	// A mailbox feed with no change yet means nothing was ever stored for
	// the address: one read instead of a listing and a forget (a bulk add
	// of 1,000 new mailboxes pays it 1,000 times).
	pos, err := s.Store.FeedPosition(ctx, tenantID, addr)
	if err != nil {
		return internal(err, "reading the feed position")
	}
	if pos != "" {
		if err := s.retireItems(ctx, tenantID, addr); err != nil {
			return err
		}
	}
	// After the retirement: its deletes go where the earlier registration's
	// changes went.
	if err := s.Store.StartInitialSync(ctx, tenantID, addr); err != nil {
		return internal(err, "starting the initial sync")
	}
	return nil
}

// tenantListMailboxesPerPage bounds how many mailboxes one page of the
// tenant listing walks (three store calls each): a tenant whose mailboxes
// are mostly empty or in their initial sync would otherwise walk them all
// in one request. A page may then hold fewer items than asked, even none,
// with a nextCursor.
var tenantListMailboxesPerPage = 100

// TenantItem is an item of a tenant listing, with its mailbox.
type TenantItem struct {
	Mailbox string
	Item    domain.Item
}

// TenantItemPage is one page of a whole tenant's current items, mailbox by
// mailbox in address order, and the tenant feed position the listing
// reflects (the same on every page; see ItemPage).
type TenantItemPage struct {
	Items      []TenantItem
	NextCursor string
	FeedCursor string
}

// ListTenantItems pages through the current items of every mailbox
// registered to the tenant. Each mailbox is fenced at the listing's tenant
// feed position before its items are read (domain.ItemLister).
func (s *Tenants) ListTenantItems(ctx context.Context, tenantID, cursor string, limit int, kind domain.ItemKind) (TenantItemPage, error) {
	if err := ValidateTenantID(tenantID); err != nil {
		return TenantItemPage{}, err
	}
	if err := ValidateCursor(cursor); err != nil {
		return TenantItemPage{}, err
	}
	limit, verr := ValidateLimit(limit)
	if verr != nil {
		return TenantItemPage{}, verr
	}
	if err := ValidateItemKind(kind); err != nil {
		return TenantItemPage{}, err
	}
	var p domain.TenantListPosition
	if cursor != "" {
		var err error
		if p, err = domain.DecodeTenantListCursor(cursor, tenantID, string(kind)); err != nil {
			return TenantItemPage{}, err
		}
	}
	if _, err := s.Get(ctx, tenantID); err != nil {
		return TenantItemPage{}, err
	}
	if cursor == "" {
		var err error
		if p.Feed, err = s.Store.TenantFeedPosition(ctx, tenantID); err != nil {
			return TenantItemPage{}, internal(err, "reading the feed position")
		}
	}
	var out []TenantItem
	done, visited := false, 0
	for !done && len(out) < limit {
		if p.Mailbox == "" {
			if visited == tenantListMailboxesPerPage {
				break
			}
			visited++
			// The next mailbox (the first: MailboxCursor is empty only
			// at the start).
			ms, next, err := s.Store.ListMailboxes(ctx, tenantID, domain.MailboxQuery{Cursor: p.MailboxCursor, Limit: 1})
			if err != nil {
				return TenantItemPage{}, pageErr(err, "listing mailboxes")
			}
			if len(ms) == 0 || ms[0].TenantID != tenantID {
				done = true
				break
			}
			p = domain.TenantListPosition{MailboxCursor: next, Mailbox: ms[0].Address, Feed: p.Feed}
			if err := s.Store.FenceMailbox(ctx, tenantID, p.Mailbox, p.Feed); err != nil {
				return TenantItemPage{}, internal(err, "fencing the mailbox")
			}
			// A mailbox in its initial sync is not listed: its items are
			// not in the tenant feed, and its mailboxSynced, after the
			// fence and so after FeedCursor, tells the consumer to list it.
			initial, err := s.Store.InInitialSync(ctx, tenantID, p.Mailbox)
			if err != nil {
				return TenantItemPage{}, internal(err, "reading the mailbox's sync mode")
			}
			if initial {
				if p.MailboxCursor == "" {
					done = true
					break
				}
				p.Mailbox = ""
				continue
			}
		}
		items, next, err := s.Store.ListItems(ctx, domain.ItemQuery{TenantID: tenantID, Mailbox: p.Mailbox, Kind: kind, After: p.After, Limit: limit - len(out)})
		if err != nil {
			return TenantItemPage{}, internal(err, "listing items")
		}
		for _, it := range items {
			out = append(out, TenantItem{Mailbox: p.Mailbox, Item: it})
		}
		if next != "" {
			p.After = next
			continue
		}
		// The mailbox is finished.
		if p.MailboxCursor == "" {
			done = true
			break
		}
		p.Mailbox, p.After = "", ""
	}
	page := TenantItemPage{Items: out, FeedCursor: p.Feed}
	if !done {
		page.NextCursor = domain.EncodeTenantListCursor(tenantID, string(kind), p)
	}
	return page, nil
}
