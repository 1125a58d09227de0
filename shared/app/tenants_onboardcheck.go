package app

import (
	"context"
	"fmt"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// CredentialCheck is what onboarding does with the new tenant's
// credential before creating it.
type CredentialCheck string

const (
	// CheckReport (the default) checks the credential on a probe mailbox
	// and creates the tenant whatever the outcome; the answer carries the
	// check, so a wrong password is seen at once.
	CheckReport CredentialCheck = "report"
	// CheckStrict creates the tenant only if the check succeeds.
	CheckStrict CredentialCheck = "strict"
	// CheckOff skips the check (Exchange unreachable from here yet).
	CheckOff CredentialCheck = "off"
)

// OnboardChecked is Onboard with the credential checked first on the
// probe mailbox. (Not on the service account's own mailbox by default: it
// often has none, and "not found" there would read as a problem.) The
// check runs on the validated
// settings, before anything is stored. The report is nil when no check
// ran (CheckOff), and says what to do when there was nothing to check it
// on. With CheckStrict a failed check is an error (as a refused rotation:
// CodeUpstream, CodeUnavailable when throttled) and nothing is created.
func (s *Tenants) OnboardChecked(ctx context.Context, in NewTenant, probe string, mode CredentialCheck) (domain.Tenant, *domain.AccessReport, error) {
	switch mode {
	case "":
		mode = CheckReport
	case CheckReport, CheckStrict, CheckOff:
	default:
		return domain.Tenant{}, nil, domain.Invalid("credentialCheck", "credentialCheck must be report, strict or off")
	}
	if probe != "" {
		addr, verr := NormalizeAddress("probeMailbox", probe)
		if verr != nil {
			return domain.Tenant{}, nil, verr
		}
		probe = addr
	}
	if mode == CheckOff {
		t, err := s.Onboard(ctx, in)
		return t, nil, err
	}
	// Validated (URLs included) before Exchange is called with them.
	checked := in
	if err := s.validateNew(ctx, &checked); err != nil {
		return domain.Tenant{}, nil, err
	}
	if probe == "" {
		if mode == CheckStrict {
			return domain.Tenant{}, nil, domain.Invalid("probeMailbox", "credentialCheck strict needs a probeMailbox to check the credentials on")
		}
		rep := &domain.AccessReport{Status: domain.MailboxPending, Hint: NoProbeHint}
		t, err := s.Onboard(ctx, in)
		return t, rep, err
	}
	candidate := domain.Tenant{
		ID: checked.ID, EWSURL: checked.EWSURL, ExchangeVersion: checked.ExchangeVersion, Protocol: checked.Protocol,
		GraphURL: checked.GraphURL, IDFormat: idFormatFor(checked.Protocol), AuthKind: checked.Credential.Kind,
		AccessMode: checked.AccessMode, AllowFallback: checked.AllowFallback, Folders: checked.Folders,
		CalendarWindow: checked.CalendarWindow, BodyFormat: checked.BodyFormat, Status: domain.TenantActive,
	}
	mb := domain.Mailbox{TenantID: checked.ID, Address: probe, Status: domain.MailboxPending}
	rep, err := s.checkAccess(ctx, candidate, mb, checked.Credential)
	if err != nil {
		s.logger(ctx).Warn("onboard: access check failed", "tenantId", checked.ID, "mailbox", probe, "error", err.Error())
		rep = domain.AccessReport{Mailbox: probe, Status: domain.MailboxError, Detail: "the access check could not complete", Hint: checkIncompleteHint}
	}
	rep.Mailbox = probe
	if mode == CheckStrict && rep.Status != domain.MailboxOK {
		return domain.Tenant{}, &rep, onboardRefused(rep)
	}
	t, err := s.Onboard(ctx, in)
	if err != nil {
		return t, nil, err
	}
	s.audit(ctx, t, "verify-credentials", rep)
	return t, &rep, nil
}

func onboardRefused(rep domain.AccessReport) *domain.Error {
	msg := fmt.Sprintf("the credentials did not work on %s: %s", rep.Mailbox, rep.Status)
	if rep.Detail != "" {
		msg += " (" + rep.Detail + ")"
	}
	msg += "; nothing was created"
	if rep.Hint != "" {
		msg += ". " + rep.Hint
	}
	code := domain.CodeUpstream
	if rep.Status == domain.MailboxThrottled {
		code = domain.CodeUnavailable
	}
	return &domain.Error{Code: code, Field: "credentials", Message: msg}
}
