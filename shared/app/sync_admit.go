// sync_admit.go owns a sync job's admission: the job's tenant and
// mailbox are checked and loaded, tenant isolation is enforced (a job may
// only name its tenant's own mailboxes, and a refusal is audited), and the
// tenant's credential opens the mailbox access, read afresh once when a
// cached credential was rotated.

package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// IsRejectedJob reports whether err says the job itself is wrong (unknown
// tenant, mailbox not registered to it, offboarded tenant, malformed job):
// running it again cannot help, so the runtime drops it after logging.
func IsRejectedJob(err error) bool {
	if domain.IsCorrupt(err) {
		// A stored record that does not decode stays so until the
		// mailbox is added again (skipDamaged reported it).
		return true
	}
	switch domain.ErrorCodeOf(err) {
	case domain.CodeInvalid, domain.CodeNotFound, domain.CodeForbidden:
		return true
	}
	return false
}

// auditRefused is the audit result of a job refused by tenant isolation.
const auditRefused = "refused: mailbox not registered to tenant"

// admit checks the job and loads its tenant and mailbox record (from snap
// when given). A refusal is a rejected job (IsRejectedJob).
func (s *Syncer) admit(ctx context.Context, job domain.SyncJob, snap *domain.SyncSnapshot, res *SyncResult) (domain.Tenant, domain.Mailbox, error) {
	if err := ValidateTenantID(job.TenantID); err != nil {
		return domain.Tenant{}, domain.Mailbox{}, err
	}
	addr, verr := NormalizeAddress("mailbox", job.Mailbox)
	if verr != nil {
		return domain.Tenant{}, domain.Mailbox{}, verr
	}
	res.Mailbox = addr
	t, err := s.loadTenant(ctx, job.TenantID)
	if err != nil {
		return t, domain.Mailbox{}, err
	}
	var m domain.Mailbox
	if snap != nil {
		m = snap.Mailbox
		if !snap.Found {
			err = domain.ErrNotFound
		}
		if snap.Damaged != nil {
			return t, m, snap.Damaged
		}
	} else {
		m, err = s.Store.GetMailbox(ctx, t.ID, addr)
	}
	if err != nil && !domain.IsNotFound(err) {
		return t, m, fmt.Errorf("sync: reading mailbox: %w", err)
	}
	if err != nil || (m.TenantID != "" && m.TenantID != t.ID) {
		// Tenant isolation: a job may only name the tenant's own
		// mailboxes. The refusal is audited.
		s.audit(ctx, res, t, addr, t.AccessMode, auditRefused)
		return t, m, &domain.Error{Code: domain.CodeForbidden, Message: fmt.Sprintf("mailbox %s is not registered to tenant %q", addr, t.ID)}
	}
	return t, m, nil
}

// loadTenant reads the job's tenant; an offboarded tenant is refused.
func (s *Syncer) loadTenant(ctx context.Context, id string) (domain.Tenant, error) {
	tenants := s.Tenants
	if tenants == nil {
		tenants = s.Store
	}
	t, err := tenants.GetTenant(ctx, id)
	if err != nil {
		if domain.IsNotFound(err) {
			return t, domain.NotFound("tenant %q does not exist", id)
		}
		return t, fmt.Errorf("sync: reading tenant: %w", err)
	}
	if t.Status == domain.TenantOffboarded {
		return t, &domain.Error{Code: domain.CodeForbidden, Message: fmt.Sprintf("tenant %q is offboarded", t.ID)}
	}
	return t, nil
}

// connect reads the tenant's credential and opens the mailbox access. No
// stored credential is an auth failure, recorded on the mailbox.
func (r *syncRun) connect(ctx context.Context) (domain.Credential, error) {
	cred, err := r.s.Secrets.GetCredential(ctx, r.tenant.ID)
	if err != nil {
		if domain.IsNotFound(err) {
			return cred, &domain.AccessError{Kind: domain.AccessAuth, Code: domain.AccessCodeNoStoredCredentials}
		}
		return cred, fmt.Errorf("sync: reading credentials: %w", err)
	}
	r.account = AccountOf(cred)
	r.cred, r.content = cred, nil
	r.access, err = r.s.Connector.Connect(ctx, r.tenant, cred)
	return cred, err
}

// reconnectIfRotated handles an auth failure: the credential may be a
// cached one that was rotated since, so it is read afresh and, if it
// changed, the access is opened with it (renewed: sync once more).
// secretcache.Cache has Forget; an uncached store needs nothing.
func (r *syncRun) reconnectIfRotated(ctx context.Context, cred domain.Credential) (renewed bool, err error) {
	f, ok := r.s.Secrets.(interface{ Forget(tenantID string) })
	if !ok {
		return false, nil
	}
	f.Forget(r.tenant.ID)
	fresh, ferr := r.s.Secrets.GetCredential(ctx, r.tenant.ID)
	if ferr != nil || fresh.MemoryKey() == cred.MemoryKey() {
		return false, nil
	}
	if r.access, err = r.s.Connector.Connect(ctx, r.tenant, fresh); err != nil {
		return false, err
	}
	r.cred, r.content = fresh, nil
	return true, nil
}

// auditDamaged is the audit result of a sync skipped over a damaged record.
const auditDamaged = "skipped: stored record damaged"

// skipDamaged reports a sync that cannot run because a stored record of
// the mailbox does not decode (err, a *domain.CorruptRecordError): it is
// logged by its key and audited, and a damaged checkpoint is recorded on
// the mailbox (status damaged, what to do), which the scheduler then
// skips. A damaged mailbox record is not written over: the listing
// already shows it as damaged, and what is left of it stays for
// inspection. The other mailboxes of the job are not affected.
func (s *Syncer) skipDamaged(ctx context.Context, res *SyncResult, t domain.Tenant, m domain.Mailbox, err error) error {
	var ce *domain.CorruptRecordError
	if !errors.As(err, &ce) || ce.Record == "tenant" {
		// The tenant's own record: the scheduler reports it.
		s.logger().Error("sync skipped: the tenant's stored record is damaged", "tenantId", res.TenantID, "error", err.Error())
		return err
	}
	s.logger().Error("sync skipped: a stored record of the mailbox is damaged; remove the mailbox and add it again",
		"tenantId", t.ID, "mailbox", res.Mailbox, "error", err.Error())
	s.audit(ctx, res, t, res.Mailbox, t.AccessMode, auditDamaged)
	res.Status = domain.MailboxDamaged
	if ce.Record != "sync state" || m.Address == "" || m.Status == domain.MailboxDamaged {
		return err
	}
	d := domain.DamagedMailbox(t.ID, m.Address, "sync checkpoint")
	m.Status, m.LastError, m.Hint, m.UpdatedAt = d.Status, d.LastError, d.Hint, s.now()
	if perr := s.Store.PutMailbox(ctx, m); perr != nil {
		s.logger().Error("sync: recording the damaged checkpoint on the mailbox failed", "tenantId", t.ID, "mailbox", m.Address, "error", perr.Error())
	}
	return err
}
