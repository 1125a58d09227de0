package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// RotateCredential replaces a tenant's credential after checking it against
// Exchange on one mailbox: probe if given, else a registered mailbox
// (preferring one whose access last worked). On failure the old credential
// stays and the error says what Exchange answered and how to fix it.
func (s *Tenants) RotateCredential(ctx context.Context, id string, c domain.Credential, probe string) (domain.Tenant, domain.AccessReport, error) {
	if err := ValidateTenantID(id); err != nil {
		return domain.Tenant{}, domain.AccessReport{}, err
	}
	if err := ValidateCredential(c); err != nil {
		return domain.Tenant{}, domain.AccessReport{}, err
	}
	if c.Authority != "" {
		if err := s.checkURL(ctx, "credentials.authority", c.Authority); err != nil {
			return domain.Tenant{}, domain.AccessReport{}, err
		}
	}
	t, err := s.active(ctx, id)
	if err != nil {
		return domain.Tenant{}, domain.AccessReport{}, err
	}
	switched := t
	switched.AuthKind = c.Kind
	if err := validateProtocol(&switched, true); err != nil {
		return domain.Tenant{}, domain.AccessReport{}, err
	}
	mb, err := s.probeMailbox(ctx, t, probe)
	if err != nil {
		return domain.Tenant{}, domain.AccessReport{}, err
	}

	candidate := t
	candidate.AuthKind = c.Kind
	rep, err := s.checkAccess(ctx, candidate, mb, c)
	if err != nil {
		s.logger(ctx).Warn("rotate: access check failed", "tenantId", id, "mailbox", mb.Address, "error", err.Error())
		rep = domain.AccessReport{Mailbox: mb.Address, Status: domain.MailboxError, Detail: "the access check could not complete"}
	}
	s.audit(ctx, t, "verify-credentials", rep)
	if rep.Status != domain.MailboxOK {
		return domain.Tenant{}, rep, rotationRefused(rep)
	}

	// The secret is written under a lease recorded on the active tenant,
	// so an offboarding meanwhile does not purge it while this write may
	// still land (see Onboard and Offboard).
	if t, err = s.leaseSecretWrite(ctx, id, nil); err != nil {
		return domain.Tenant{}, rep, err
	}
	if err := s.putUnderLease(ctx, t, c); err != nil {
		return domain.Tenant{}, rep, internal(err, "storing the credentials")
	}
	// The secret is replaced; record its fingerprint and end the lease. A
	// crash here leaves the old fingerprint showing until the rotation is
	// repeated.
	t, err = s.update(ctx, id, func(t *domain.Tenant) error {
		if t.Status != domain.TenantActive {
			return errOffboardedMeanwhile
		}
		t.AuthKind = c.Kind
		t.CredentialFingerprint = c.Fingerprint()
		t.SecretWriteUntil = time.Time{}
		return nil
	})
	if errors.Is(err, errOffboardedMeanwhile) || domain.IsNotFound(err) {
		return domain.Tenant{}, rep, s.abandonRotation(ctx, id, c)
	}
	if err != nil {
		return domain.Tenant{}, rep, err
	}
	s.logger(ctx).Info("tenant credentials rotated", "tenantId", id, "authKind", c.Kind, "probeMailbox", mb.Address)
	return t, rep, nil
}

var errOffboardedMeanwhile = errors.New("offboarded meanwhile")

// abandonRotation ends a rotation whose tenant was offboarded while it
// wrote the secret: the offboarding may have deleted the secret before
// this write, so the secret it wrote is deleted, unless a tenant of the id
// is active again (its secret, written after this lease, is its own).
func (s *Tenants) abandonRotation(ctx context.Context, id string, c domain.Credential) error {
	if !s.activeNow(ctx, id) {
		stored, err := s.Secrets.GetCredential(ctx, id)
		switch {
		case err == nil && stored.MemoryKey() == c.MemoryKey():
			if derr := s.Secrets.DeleteCredential(ctx, id); derr != nil && !domain.IsNotFound(derr) {
				return internal(derr, "removing the credentials of a tenant offboarded while they were rotated")
			}
		case err != nil && !domain.IsNotFound(err):
			return internal(err, "reading the credentials of a tenant offboarded while they were rotated")
		}
		s.releaseSecretWrite(ctx, id)
	}
	s.logger(ctx).Info("rotate: the tenant was offboarded while its credentials were rotated; the new secret is removed", "tenantId", id)
	return domain.Conflict("tenant %q was offboarded while its credentials were rotated; nothing was kept", id)
}

func rotationRefused(rep domain.AccessReport) *domain.Error {
	msg := fmt.Sprintf("the new credentials did not work on %s: %s", rep.Mailbox, rep.Status)
	if rep.Detail != "" {
		msg += " (" + rep.Detail + ")"
	}
	msg += "; the old credentials are kept"
	if rep.Hint != "" {
		msg += ". " + rep.Hint
	}
	code := domain.CodeUpstream
	if rep.Status == domain.MailboxThrottled {
		code = domain.CodeUnavailable
	}
	return &domain.Error{Code: code, Field: "credentials", Message: msg}
}

func (s *Tenants) probeMailbox(ctx context.Context, t domain.Tenant, probe string) (domain.Mailbox, error) {
	if probe != "" {
		addr, verr := NormalizeAddress("probeMailbox", probe)
		if verr != nil {
			return domain.Mailbox{}, verr
		}
		m, err := s.Store.GetMailbox(ctx, t.ID, addr)
		if err == nil {
			return m, nil
		}
		if !domain.IsNotFound(err) {
			return domain.Mailbox{}, internal(err, "reading the probe mailbox")
		}
		return domain.Mailbox{TenantID: t.ID, Address: addr, Status: domain.MailboxPending}, nil
	}
	for _, status := range []domain.MailboxStatus{domain.MailboxOK, domain.MailboxStatusUnknown} {
		ms, _, err := s.Store.ListMailboxes(ctx, t.ID, domain.MailboxQuery{Status: status, Limit: 1})
		if err != nil {
			return domain.Mailbox{}, internal(err, "listing mailboxes")
		}
		if len(ms) > 0 && ms[0].TenantID == t.ID {
			return ms[0], nil
		}
	}
	return domain.Mailbox{}, domain.Invalid("probeMailbox", "the tenant has no mailboxes yet; name a probeMailbox to check the new credentials against")
}
