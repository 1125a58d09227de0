package ewsmailbox

import (
	"context"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
)

// PeopleConnector is domain.PeopleConnector over EWS ResolveNames: the
// directory (ambiguous name resolution: any part of a name or an address)
// and the mailbox's own contacts, one call, at most 100 matches from
// Exchange. No match is ErrorNameResolutionNoResults (an empty answer);
// several are ErrorNameResolutionMultipleResults, a warning with the
// matches.
type PeopleConnector struct {
	clients *ClientCache
}

// NewPeopleConnector returns a PeopleConnector building clients with opts.
func NewPeopleConnector(opts Options) *PeopleConnector {
	return &PeopleConnector{clients: NewClientCache(opts, maxCachedClients)}
}

var _ domain.PeopleConnector = (*PeopleConnector)(nil)

// ConnectPeople returns the tenant's directory. It does no network I/O.
func (c *PeopleConnector) ConnectPeople(_ context.Context, t domain.Tenant, cred domain.Credential) (domain.PeopleDirectory, error) {
	tc := c.clients.For(t, cred)
	if _, err := tc.Client(t.EWSURL); err != nil {
		return nil, clientConfigError(err)
	}
	return people{clients: tc}, nil
}

type people struct{ clients TenantClients }

// FindPeople resolves q as mailbox m (its contacts are searched too).
func (p people) FindPeople(ctx context.Context, m domain.MailboxRef, q string, limit int) ([]domain.Person, error) {
	cl, t, err := p.clients.Target(m)
	if err != nil {
		return nil, err
	}
	res, err := cl.ResolveNames(ctx, t, q)
	if err != nil {
		return nil, classify(useRead, err, "")
	}
	out := make([]domain.Person, 0, min(len(res), limit))
	seen := map[string]bool{}
	for _, r := range res {
		addr := strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(r.Mailbox.EmailAddress, "SMTP:"), "smtp:"))
		if addr == "" || seen[addr] || len(out) == limit {
			continue
		}
		seen[addr] = true
		name := r.Mailbox.Name
		if name == "" && r.Contact != nil {
			name = r.Contact.DisplayName
		}
		out = append(out, domain.Person{DisplayName: name, Address: addr, Kind: personKind(r), JobTitle: r.JobTitle, Department: r.Department})
	}
	return out, nil
}

// personKind reads EWS's MailboxType. ResolveNames does not tell a room
// from a user (both are "Mailbox"), so rooms are reported as users;
// GET /tenants/{id}/rooms lists them.
func personKind(r ews.Resolution) domain.PersonKind {
	switch r.Mailbox.MailboxType {
	case "PublicDL", "PrivateDL", "GroupMailbox":
		return domain.PersonGroup
	case "Contact", "OneOff":
		return domain.PersonContact
	}
	if r.ContactSource == "Store" {
		return domain.PersonContact
	}
	return domain.PersonUser
}
