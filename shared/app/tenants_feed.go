package app

import (
	"context"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// ReadFeed pages through a tenant's change feed, or one mailbox's if
// mailbox is set (it must be registered to the tenant).
func (s *Tenants) ReadFeed(ctx context.Context, tenantID, mailbox, cursor string, limit int) ([]domain.Change, string, error) {
	if err := ValidateTenantID(tenantID); err != nil {
		return nil, "", err
	}
	if err := ValidateCursor(cursor); err != nil {
		return nil, "", err
	}
	limit, verr := ValidateLimit(limit)
	if verr != nil {
		return nil, "", verr
	}
	if mailbox != "" {
		addr, verr := NormalizeAddress("address", mailbox)
		if verr != nil {
			return nil, "", verr
		}
		mailbox = addr
	}
	if _, err := s.Get(ctx, tenantID); err != nil {
		return nil, "", err
	}
	if mailbox != "" {
		// A damaged record still names a registered mailbox, whose feed
		// is intact.
		if _, err := s.Store.GetMailbox(ctx, tenantID, mailbox); err != nil && !domain.IsCorrupt(err) {
			if domain.IsNotFound(err) {
				return nil, "", domain.NotFound("mailbox %s is not registered to tenant %q", mailbox, tenantID)
			}
			return nil, "", internal(err, "reading the mailbox")
		}
	}
	cs, next, err := s.Store.ReadFeed(ctx, domain.FeedQuery{TenantID: tenantID, Mailbox: mailbox, Cursor: cursor, Limit: limit})
	if err != nil {
		return nil, "", pageErr(err, "reading the change feed")
	}
	out := cs[:0]
	for _, c := range cs {
		if c.TenantID == tenantID && (mailbox == "" || c.Mailbox == mailbox) {
			out = append(out, c)
		}
	}
	return out, next, nil
}
