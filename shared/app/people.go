package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// This file is the people lookup use case (GET /tenants/{id}/mailboxes/
// {address}/people?q=): directory and contact entries for picking
// invitees, looked up in Exchange as a registered mailbox on each call.
// Nothing is stored but an audit entry.

// Bounds of a lookup: what a person types into an invitee picker, and a
// page of suggestions.
const (
	MaxPeopleQueryLen = 100
	MaxPeopleResults  = 25
)

// People answers people lookups.
type People struct {
	Store     domain.Store
	Secrets   domain.SecretStore
	Connector domain.PeopleConnector
	Clock     domain.Clock
	Log       *slog.Logger
}

// Find looks q up as mailbox address of the tenant: at most
// MaxPeopleResults entries. caller is who asked (the API's caller), for
// the audit trail.
//
// The audit entry records who asked, as which mailbox, how long q was and
// how many entries were answered, not q itself: a query is usually a
// person's name, which the audit trail (kept for its retention period and
// readable by every holder of the tenant's API access) need not hold.
func (p *People) Find(ctx context.Context, tenantID, address, q, caller string) ([]domain.Person, error) {
	q = strings.TrimSpace(q)
	if verr := validatePeopleQuery(q); verr != nil {
		return nil, verr
	}
	addr, verr := NormalizeAddress("address", address)
	if verr != nil {
		return nil, verr
	}
	t, err := (&Tenants{Store: p.Store}).active(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	mb, err := p.Store.GetMailbox(ctx, tenantID, addr)
	switch {
	case domain.IsNotFound(err):
		return nil, domain.NotFound("mailbox %q is not registered to tenant %q", addr, tenantID)
	case err != nil:
		return nil, internal(err, "reading the mailbox")
	}
	cred, err := p.Secrets.GetCredential(ctx, tenantID)
	if err != nil {
		if domain.IsNotFound(err) {
			return nil, domain.Conflict("tenant %q has no stored credentials; PUT /tenants/%s/credentials first", tenantID, tenantID)
		}
		return nil, internal(err, "reading the credentials")
	}
	mode := mailboxMode(t, mb)
	found, err := p.find(ctx, t, cred, domain.MailboxRef{Address: mb.Address, Mode: mode, EWSURL: mb.EWSURL}, q)
	result := fmt.Sprintf("found %d", len(found))
	if err != nil {
		result = "failed: " + string(domain.AccessErrorOf(err).Kind)
	}
	p.audit(ctx, domain.AuditEntry{TenantID: tenantID, Mailbox: mb.Address, AccessMode: mode,
		Operation: fmt.Sprintf("people.find (q: %d characters) by %s", utf8.RuneCountInString(q), callerName(caller)),
		Result:    result, At: p.Clock.Now().UTC(), RequestID: RequestID(ctx)})
	if err != nil {
		return nil, p.exchangeError(ctx, tenantID, cred, err)
	}
	return found, nil
}

func (p *People) find(ctx context.Context, t domain.Tenant, cred domain.Credential, m domain.MailboxRef, q string) ([]domain.Person, error) {
	dir, err := p.Connector.ConnectPeople(ctx, t, cred)
	if err != nil {
		return nil, err
	}
	found, err := dir.FindPeople(ctx, m, q, MaxPeopleResults)
	if err != nil {
		return nil, err
	}
	if len(found) > MaxPeopleResults {
		found = found[:MaxPeopleResults]
	}
	if found == nil {
		found = []domain.Person{}
	}
	return found, nil
}

// validatePeopleQuery: 1-100 characters of text, no control characters.
func validatePeopleQuery(q string) *domain.Error {
	switch {
	case q == "":
		return domain.Invalid("q", "q is required: a name or an address, or the start of one")
	case !utf8.ValidString(q):
		return domain.Invalid("q", "q must be valid UTF-8")
	case utf8.RuneCountInString(q) > MaxPeopleQueryLen:
		return domain.Invalid("q", "q must be at most %d characters", MaxPeopleQueryLen)
	}
	for _, r := range q {
		if unicode.IsControl(r) || r == '\uFFFE' || r == '\uFFFF' {
			return domain.Invalid("q", "q must not contain control characters")
		}
	}
	return nil
}

// callerName is the caller as the audit trail names it.
func callerName(caller string) string {
	if caller == "" {
		return "an unauthenticated caller" // the local run without API keys
	}
	return caller
}

func (p *People) audit(ctx context.Context, e domain.AuditEntry) {
	if err := p.Store.AppendAudit(ctx, e); err != nil {
		p.logger(ctx).Error("people lookup: audit append failed", "tenantId", e.TenantID, "error", err.Error())
	}
}

func (p *People) logger(ctx context.Context) *slog.Logger { return requestLogger(ctx, p.Log) }

// peopleFailure words a failed people lookup (liveFailure).
var peopleFailure = liveFailure{subject: "people lookup", denied: "Exchange refused the lookup",
	grant: "; on Graph the app needs the User.Read.All application permission", failed: "Exchange could not look people up"}

func (p *People) exchangeError(ctx context.Context, tenantID string, cred domain.Credential, err error) error {
	return peopleFailure.answer(ctx, p.Log, tenantID, cred, err)
}
