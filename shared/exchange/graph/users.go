package graph

import (
	"context"
	"fmt"
)

// User is the part of Graph's user Mailbridge reads.
type User struct {
	ID                string `json:"id"`
	Mail              string `json:"mail,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
}

// GetUser reads GET /users/{user}?$select=id,mail,userPrincipalName: does
// the user exist in the tenant's directory (Request_ResourceNotFound when
// not). It needs User.Read.All and says nothing about the mailbox; see
// ProbeMailbox. Directory calls do not count against a mailbox's
// concurrency.
func (c *Client) GetUser(ctx context.Context, user string) (*User, error) {
	const op = "GetUser"
	if user == "" {
		return nil, invalidArg(op, "user is empty")
	}
	resp, err := c.do(ctx, request{op: op, method: "GET",
		url: withQuery(c.path("users", user), query{{"$select", "id,mail,userPrincipalName"}})})
	if err != nil {
		return nil, err
	}
	var u User
	if err := decode(op, resp, &u); err != nil {
		return nil, err
	}
	if u.ID == "" {
		return nil, &Error{Layer: LayerProtocol, Op: op, HTTPStatus: resp.status, RequestID: resp.requestID,
			ClientRequestID: resp.clientRequestID, Err: fmt.Errorf("%w: user without id", ErrMalformedResponse)}
	}
	return &u, nil
}

// ProbeMailbox checks that the app can read the user's mailbox, as
// cheaply as Graph allows: GET /users/{user}/mailFolders/inbox?$select=id.
// nil means access works; otherwise Classify says why (ClassAccessDenied
// when RBAC for Applications leaves the mailbox out, ClassMailboxNotFound
// for no Exchange Online mailbox, ...).
func (c *Client) ProbeMailbox(ctx context.Context, user string) error {
	const op = "ProbeMailbox"
	if user == "" {
		return invalidArg(op, "user is empty")
	}
	resp, err := c.do(ctx, request{op: op, method: "GET", mailbox: user,
		url: withQuery(c.path("users", user, "mailFolders", "inbox"), query{{"$select", "id"}})})
	if err != nil {
		return err
	}
	var f MailFolder
	return decode(op, resp, &f)
}
