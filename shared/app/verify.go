package app

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/redact"
)

// VerifyReport is the answer to "which mailboxes work, and why not the others".
type VerifyReport struct {
	TenantID  string
	CheckedAt time.Time
	Summary   map[domain.MailboxStatus]int
	Mailboxes []domain.AccessReport // in address order
	// NotChecked lists mailboxes left unchecked because ctx ended (the
	// API's time limit); their recorded status is unchanged.
	NotChecked []string
}

const defaultVerifyConcurrency = 8

// Verify checks access to every mailbox of a tenant, or to one registered
// mailbox when address is set, with the tenant's stored credential. Each
// mailbox's status, unreadable folders and hint are recorded, and each check
// is written to the audit trail.
func (s *Tenants) Verify(ctx context.Context, tenantID, address string) (VerifyReport, error) {
	if err := ValidateTenantID(tenantID); err != nil {
		return VerifyReport{}, err
	}
	if address != "" {
		addr, verr := NormalizeAddress("mailbox", address)
		if verr != nil {
			return VerifyReport{}, verr
		}
		address = addr
	}
	t, err := s.active(ctx, tenantID)
	if err != nil {
		return VerifyReport{}, err
	}
	mailboxes, err := s.mailboxesToVerify(ctx, tenantID, address)
	if err != nil {
		return VerifyReport{}, err
	}
	cred, err := s.Secrets.GetCredential(ctx, tenantID)
	if err != nil {
		if domain.IsNotFound(err) {
			return VerifyReport{}, domain.Conflict("tenant %q has no stored credentials; PUT /tenants/%s/credentials first", tenantID, tenantID)
		}
		return VerifyReport{}, internal(err, "reading the credentials")
	}

	reports, notChecked := s.checkAll(ctx, t, mailboxes, cred)
	// Record what was checked even if ctx ran out meanwhile.
	rctx := context.WithoutCancel(ctx)
	s.record(rctx, tenantID, reports)
	s.audit(rctx, t, "verify", reports...)

	rep := VerifyReport{TenantID: tenantID, CheckedAt: s.now(), Summary: map[domain.MailboxStatus]int{}, Mailboxes: reports, NotChecked: notChecked}
	for _, r := range reports {
		rep.Summary[r.Status]++
	}
	return rep, nil
}

func (s *Tenants) mailboxesToVerify(ctx context.Context, tenantID, address string) ([]domain.Mailbox, error) {
	if address != "" {
		m, err := s.Store.GetMailbox(ctx, tenantID, address)
		if domain.IsCorrupt(err) {
			return []domain.Mailbox{domain.DamagedMailbox(tenantID, address, "mailbox record")}, nil
		}
		if err != nil {
			if domain.IsNotFound(err) {
				return nil, domain.NotFound("mailbox %s is not registered to tenant %q", address, tenantID)
			}
			return nil, internal(err, "reading the mailbox")
		}
		return []domain.Mailbox{m}, nil
	}
	var all []domain.Mailbox
	cursor := ""
	for {
		ms, next, err := s.Store.ListMailboxes(ctx, tenantID, domain.MailboxQuery{Cursor: cursor, Limit: MaxPageLimit})
		if err != nil {
			return nil, internal(err, "listing mailboxes")
		}
		for _, m := range ms {
			if m.TenantID == tenantID {
				all = append(all, m)
			}
		}
		if next == "" || next == cursor || len(ms) == 0 {
			return all, nil
		}
		cursor = next
	}
}

// checkAll runs the access checks with bounded concurrency. A delegate
// tenant's checks all draw on the service account's EWS budget, so they
// are bounded by its MaxConcurrentJobs. Checks that ctx's end prevented
// are returned as notChecked, not as failures.
func (s *Tenants) checkAll(ctx context.Context, t domain.Tenant, ms []domain.Mailbox, cred domain.Credential) (reports []domain.AccessReport, notChecked []string) {
	limit := s.VerifyConcurrency
	if limit <= 0 {
		limit = defaultVerifyConcurrency
	}
	if t.AccessMode.Delegated() && t.MaxConcurrentJobs > 0 {
		limit = min(limit, t.MaxConcurrentJobs)
	}
	out := make([]domain.AccessReport, len(ms))
	checked := make([]bool, len(ms))
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i, m := range ms {
		sem <- struct{}{}
		if ctx.Err() != nil {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i], checked[i] = s.checkOne(ctx, t, m, cred)
		}()
	}
	wg.Wait()
	for i, m := range ms {
		if checked[i] {
			reports = append(reports, out[i])
		} else {
			notChecked = append(notChecked, m.Address)
		}
	}
	slices.SortFunc(reports, func(a, b domain.AccessReport) int { return strings.Compare(a.Mailbox, b.Mailbox) })
	slices.Sort(notChecked)
	return reports, notChecked
}

// checkOne checks one mailbox; ok is false when ctx ended before an answer.
func (s *Tenants) checkOne(ctx context.Context, t domain.Tenant, m domain.Mailbox, cred domain.Credential) (rep domain.AccessReport, ok bool) {
	// A check runs on its own goroutine, where a panic would end the
	// process: report it as this mailbox's error instead.
	defer func() {
		if p := recover(); p != nil {
			s.logger(ctx).Error("verify: access check panicked", "tenantId", t.ID, "mailbox", m.Address,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			rep, ok = domain.AccessReport{Mailbox: m.Address, Status: domain.MailboxError, Detail: "the access check failed unexpectedly"}, true
		}
	}()
	if m.Status == domain.MailboxDamaged {
		// Its stored record cannot be trusted (or read): reported as it
		// is, not checked; only adding it again mends it.
		return domain.AccessReport{Mailbox: m.Address, Status: m.Status, Detail: m.LastError, Hint: m.Hint}, true
	}
	rep, err := s.checkAccess(ctx, t, m, cred)
	if err != nil && ctx.Err() != nil {
		return domain.AccessReport{}, false
	}
	if err != nil {
		// The cause may name hosts and addresses; it goes to the log only.
		s.logger(ctx).Warn("verify: access check failed", "tenantId", t.ID, "mailbox", m.Address, "error", err.Error())
		return domain.AccessReport{
			Mailbox: m.Address,
			Status:  domain.MailboxError,
			Detail:  "the access check could not complete",
			Hint:    checkIncompleteHint,
		}, true
	}
	rep.Mailbox = m.Address
	return rep, true
}

// checkAccess runs the access check and writes its fix hint: the checker
// reports what it found, the hint's text comes from hints.go only.
func (s *Tenants) checkAccess(ctx context.Context, t domain.Tenant, m domain.Mailbox, cred domain.Credential) (domain.AccessReport, error) {
	rep, err := s.Checker.CheckAccess(ctx, t, m, cred)
	if err != nil {
		return rep, err
	}
	if rep.Status == domain.MailboxStatusUnknown {
		rep.Status = domain.MailboxError
	}
	rep.Detail = ReportDetail(t, rep)
	// The detail quotes what a server said: whatever the checker did, it
	// leaves here scrubbed of the credential and bounded, as it is both
	// returned and stored.
	rep.Detail = redact.ForCredential(cred).Clean(rep.Detail, redact.MaxDetail)
	rep.Hint = ReportHint(t, m, cred, rep)
	return rep, nil
}

// record stores each mailbox's outcome. It re-reads the mailbox first so a
// concurrent sync's LastSync is kept, and skips mailboxes removed meanwhile.
func (s *Tenants) record(ctx context.Context, tenantID string, reports []domain.AccessReport) {
	now := s.now()
	for _, r := range reports {
		if r.Status == domain.MailboxDamaged {
			continue // recorded already, and nothing was checked
		}
		m, err := s.Store.GetMailbox(ctx, tenantID, r.Mailbox)
		if err != nil {
			if !domain.IsNotFound(err) {
				s.logger(ctx).Error("verify: reading mailbox", "tenantId", tenantID, "mailbox", r.Mailbox, "error", err.Error())
			}
			continue
		}
		m.Status = r.Status
		m.UnreadableFolders = r.UnreadableFolders
		m.Hint = r.Hint
		m.LastError = ""
		if r.Status != domain.MailboxOK {
			m.LastError = redact.Text(r.Detail, redact.MaxDetail)
		}
		if r.Mode != "" {
			m.EffectiveMode = r.Mode
		}
		m.UpdatedAt = now
		if err := s.Store.PutMailbox(ctx, m); err != nil {
			s.logger(ctx).Error("verify: recording mailbox status", "tenantId", tenantID, "mailbox", r.Mailbox, "error", err.Error())
		}
	}
}
