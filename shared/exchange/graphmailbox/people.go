package graphmailbox

import (
	"context"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/graph"
)

var _ domain.PeopleConnector = (*Connector)(nil)

// ConnectPeople returns the tenant's directory look-up. It does no
// network I/O.
func (c *Connector) ConnectPeople(_ context.Context, t domain.Tenant, cred domain.Credential) (domain.PeopleDirectory, error) {
	cl, err := c.client(t, cred)
	if err != nil {
		return nil, err
	}
	return people{client: cl}, nil
}

type people struct{ client *graph.Client }

// FindPeople looks the organisation's users up by the start of a name or
// an address (GET /users?$filter=startswith(...), User.Read.All). Over
// Graph every match is a user: the directory does not say which users are
// rooms, and the mailbox's contacts and groups are not searched (the
// People API that would include them ranks only for a signed-in user).
// Users without a mail address cannot be invited and are left out.
func (p people) FindPeople(ctx context.Context, _ domain.MailboxRef, q string, limit int) ([]domain.Person, error) {
	users, err := p.client.FindUsers(ctx, q, limit)
	if err != nil {
		return nil, classify(err, useMailbox, "")
	}
	out := make([]domain.Person, 0, len(users))
	for _, u := range users {
		if u.Mail == "" || len(out) == limit {
			continue
		}
		out = append(out, domain.Person{DisplayName: u.DisplayName, Address: strings.ToLower(u.Mail), Kind: domain.PersonUser,
			JobTitle: u.JobTitle, Department: u.Department})
	}
	return out, nil
}
