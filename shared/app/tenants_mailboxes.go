package app

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// NewMailbox is one entry of a bulk add.
type NewMailbox struct {
	Address    string
	AccessMode domain.AccessMode // optional override
	EWSURL     string            // optional override (a mailbox on another Exchange server)
}

// bulkAddConcurrency bounds parallel store writes of one bulk add.
const bulkAddConcurrency = 16

// Outcomes of one bulk-add entry.
const (
	MailboxAdded   = "added"
	MailboxExists  = "exists"
	MailboxInvalid = "invalid"
)

// MailboxResult is what happened to one entry of a bulk add.
type MailboxResult struct {
	Address string
	Outcome string
	Error   *domain.Error // for MailboxInvalid
}

// AddMailboxes registers up to domain.MaxMailboxesPerBulkRequest mailboxes.
// Each entry succeeds or fails on its own; the results keep input order.
// A store failure fails the call: re-sending it is safe, as entries already
// added come back as "exists".
func (s *Tenants) AddMailboxes(ctx context.Context, tenantID string, in []NewMailbox) ([]MailboxResult, error) {
	if err := ValidateTenantID(tenantID); err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, domain.Invalid("mailboxes", "name at least one mailbox")
	}
	if len(in) > domain.MaxMailboxesPerBulkRequest {
		return nil, domain.Invalid("mailboxes", "at most %d mailboxes per call, got %d; split the list", domain.MaxMailboxesPerBulkRequest, len(in))
	}
	t, err := s.active(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	results := make([]MailboxResult, len(in))
	toAdd := make(map[int]domain.Mailbox, len(in))
	seen := make(map[string]bool, len(in))
	for i, nm := range in {
		res := &results[i]
		res.Address = nm.Address
		m, verr := s.newMailbox(ctx, t, nm)
		if verr == nil && seen[m.Address] {
			verr = domain.Invalid("address", "listed more than once in this request")
		}
		if verr != nil {
			res.Outcome, res.Error = MailboxInvalid, verr
			continue
		}
		seen[m.Address] = true
		res.Address = m.Address
		m.UpdatedAt = now
		toAdd[i] = m
	}

	// Writes are independent conditional puts; a few at a time keeps a
	// 1,000-mailbox call well inside API Gateway's 29 s on DynamoDB.
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		sem      = make(chan struct{}, bulkAddConcurrency)
	)
	for i, m := range toAdd {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := s.freshStart(ctx, tenantID, m.Address)
			if err == nil {
				err = s.Store.AddMailbox(ctx, m)
			}
			switch {
			case err == nil:
				results[i].Outcome = MailboxAdded
			case domain.IsConflict(err):
				results[i].Outcome = MailboxExists
			default:
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, internal(firstErr, "adding mailboxes")
	}
	return results, nil
}

func (s *Tenants) newMailbox(ctx context.Context, t domain.Tenant, nm NewMailbox) (domain.Mailbox, *domain.Error) {
	addr, err := NormalizeAddress("address", nm.Address)
	if err != nil {
		return domain.Mailbox{}, err
	}
	if err := validateMailboxMode(t, nm.AccessMode); err != nil {
		return domain.Mailbox{}, err
	}
	if nm.EWSURL != "" {
		if err := s.checkURL(ctx, "ewsUrl", nm.EWSURL); err != nil {
			return domain.Mailbox{}, err
		}
	}
	return domain.Mailbox{
		TenantID:   t.ID,
		Address:    addr,
		AccessMode: nm.AccessMode,
		EWSURL:     nm.EWSURL,
		Status:     domain.MailboxPending,
	}, nil
}

// RemoveMailbox unregisters a mailbox and appends a delete to the feed for
// each of its current items (a mirror drops them), then forgets its items
// so adding it again syncs it from scratch with creates. Its feed entries
// expire or go with the tenant's purge.
func (s *Tenants) RemoveMailbox(ctx context.Context, tenantID, address string) error {
	if err := ValidateTenantID(tenantID); err != nil {
		return err
	}
	addr, verr := NormalizeAddress("address", address)
	if verr != nil {
		return verr
	}
	if _, err := s.active(ctx, tenantID); err != nil {
		return err
	}
	if _, err := s.Store.GetMailbox(ctx, tenantID, addr); err != nil && !domain.IsCorrupt(err) {
		if domain.IsNotFound(err) {
			return domain.NotFound("mailbox %s is not registered to tenant %q", addr, tenantID)
		}
		return internal(err, "reading the mailbox")
	}
	// Deletes first, while the mailbox is registered: a call that fails
	// here can be repeated. Once more after the record is gone, for what a
	// sync already running wrote meanwhile (adding the mailbox again also
	// retires leftovers).
	if err := s.retireItems(ctx, tenantID, addr); err != nil {
		return err
	}
	if err := s.Store.DeleteMailbox(ctx, tenantID, addr); err != nil {
		if domain.IsNotFound(err) {
			return domain.NotFound("mailbox %s is not registered to tenant %q", addr, tenantID)
		}
		return internal(err, "removing the mailbox")
	}
	return s.retireItems(ctx, tenantID, addr)
}

// ListMailboxes pages through a tenant's mailboxes, optionally by status.
func (s *Tenants) ListMailboxes(ctx context.Context, tenantID string, q domain.MailboxQuery) ([]domain.Mailbox, string, error) {
	if err := ValidateTenantID(tenantID); err != nil {
		return nil, "", err
	}
	if q.Status != "" {
		if err := ValidateMailboxStatus(q.Status); err != nil {
			return nil, "", err
		}
	}
	if err := ValidateCursor(q.Cursor); err != nil {
		return nil, "", err
	}
	limit, verr := ValidateLimit(q.Limit)
	if verr != nil {
		return nil, "", verr
	}
	q.Limit = limit
	if _, err := s.Get(ctx, tenantID); err != nil {
		return nil, "", err
	}
	var err error
	if q.Cursor, err = domain.DecodeMailboxesCursor(q.Cursor, tenantID, q.Status); err != nil {
		return nil, "", err
	}
	ms, next, err := s.Store.ListMailboxes(ctx, tenantID, q)
	if err != nil {
		return nil, "", pageErr(err, "listing mailboxes")
	}
	// Defence in depth: a crafted cursor must never surface another
	// tenant's rows, whatever the store does with it.
	out := ms[:0]
	for _, m := range ms {
		if m.TenantID == tenantID {
			out = append(out, m)
		}
	}
	return out, domain.EncodeMailboxesCursor(tenantID, q.Status, next), nil
}

// pageErr turns a store's rejection of a cursor into a 400.
// A cursor error of the API's own (domain.InvalidCursor) says what to do
// and is kept.
func pageErr(err error, what string) error {
	if domain.ErrorCodeOf(err) == domain.CodeInvalid {
		var de *domain.Error
		if errors.As(err, &de) && de.Field == "cursor" && strings.Contains(de.Message, "without a cursor") {
			return de
		}
		return domain.Invalid("cursor", "cursor must be the opaque value a previous page returned; start again without a cursor")
	}
	return internal(err, what)
}
