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

// DirectoryUser is the part of a user Mailbridge reads in a directory
// look-up.
type DirectoryUser struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Mail        string `json:"mail"`
	JobTitle    string `json:"jobTitle"`
	Department  string `json:"department"`
}

// maxFindUsers bounds FindUsers ($top; Graph allows up to 999).
const maxFindUsers = 100

// FindUsers looks users up by the start of their name or address:
// GET /users?$filter=startswith(displayName,'q') or startswith(givenName,'q')
// or startswith(surname,'q') or startswith(mail,'q')&$select=...&$top=top
// (one page, at most 100). It needs User.Read.All; a directory call, not
// counted against a mailbox's concurrency. The People API's $search would
// rank by relevance but works only for the signed-in user, which an
// app-only token has none of.
func (c *Client) FindUsers(ctx context.Context, prefix string, top int) ([]DirectoryUser, error) {
	const op = "FindUsers"
	if prefix == "" || top < 1 || top > maxFindUsers {
		return nil, invalidArg(op, "a prefix and 1-%d results are required", maxFindUsers)
	}
	q := odataString(prefix)
	filter := "startswith(displayName," + q + ") or startswith(givenName," + q + ") or startswith(surname," + q + ") or startswith(mail," + q + ")"
	resp, err := c.do(ctx, request{op: op, method: "GET", url: withQuery(c.path("users"), query{
		{"$filter", filter}, {"$select", "id,displayName,mail,jobTitle,department"}, {"$top", fmt.Sprint(top)},
	})})
	if err != nil {
		return nil, err
	}
	var page struct {
		Value *[]DirectoryUser `json:"value"`
	}
	if err := decode(op, resp, &page); err != nil {
		return nil, err
	}
	if page.Value == nil {
		return nil, &Error{Layer: LayerProtocol, Op: op, HTTPStatus: resp.status, RequestID: resp.requestID,
			ClientRequestID: resp.clientRequestID, Err: fmt.Errorf("%w: no value array", ErrMalformedResponse)}
	}
	return *page.Value, nil
}
